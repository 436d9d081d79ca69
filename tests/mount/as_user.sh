#!/usr/bin/env bash
# as_user.sh TEST_SCRIPT [ARGS...] - run one real-mount test (a
# tests/mount/test_*.sh) with its shell, its clients and the daemon all as
# an unprivileged user, as on a stock machine where /dev/fuse is 0666 and
# fusermount3 is setuid root.
#
# Nothing outside the test changes: in a private mount namespace a tmpfs
# holds a 0666 node for the FUSE device (10,229) that is bind-mounted over
# /dev/fuse there only; the mounts vanish with the namespace.
#
# The user is made for the run (useradd --system, no home; removed at exit,
# whatever the exit). A uid without a passwd entry is not enough:
# fusermount3 stops with "could not determine username". A fresh user also
# starts with empty per-user budgets (pipe pages, mqueue bytes, processes)
# that no other test or agent on the machine is spending.
#
# Its TMPDIR, HOME and XDG_RUNTIME_DIR are fresh 0700 directories of its
# own under one /tmp/ipcfs-uPID.XXXXXX, removed at exit (the test's scratch
# is kept there when it fails, as lib.sh does).
#
# Exit: the test's status; 77 (SKIP) when not root, when unshare, mknod or
# setpriv cannot do their part, or when the user cannot reach the build.
set -u
export LC_ALL=C

NAME=as_user
say() { printf '%s: %s\n' "$NAME" "$*"; }
skip() { say "SKIP: $*"; exit 77; }

# --- inside the namespace (root still): device node, then become the user
if [ "${IPCFS_AS_USER_STAGE:-}" = ns ]; then
	unset IPCFS_AS_USER_STAGE
	# copies of other tests' FUSE mounts: held here, they would keep those
	# daemons from seeing their unmount until this test ends
	awk '$3 ~ /^fuse/ { print $2 }' /proc/self/mounts | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	dev=$IPCFS_AS_USER_BASE/dev
	mount -t tmpfs -o mode=0755,size=64k ipcfs-dev "$dev" ||
		{ say "SKIP: mount tmpfs failed"; exit 77; }
	mknod -m 0666 "$dev/fuse" c 10 229 ||
		{ say "SKIP: mknod failed"; exit 77; }
	mount --bind "$dev/fuse" /dev/fuse ||
		{ say "SKIP: bind mount on /dev/fuse failed"; exit 77; }
	# where lib.sh's mqueue_init can see the queues (a user cannot mount)
	mkdir "$dev/mqueue" && mount -t mqueue ipcfs-test "$dev/mqueue" &&
		export IPCFS_MQUEUE_DIR=$dev/mqueue
	# meson's IPCFS* and sanitizer settings pass through; only the
	# user's own variables change
	exec setpriv --reuid="$IPCFS_AS_USER_UID" --regid="$IPCFS_AS_USER_GID" \
		--clear-groups env -u IPCFS_AS_USER_UID -u IPCFS_AS_USER_GID \
		-u IPCFS_AS_USER_BASE -u IPCFS_AS_USER_NAME \
		-u SUDO_USER -u SUDO_UID -u SUDO_GID \
		HOME="$IPCFS_AS_USER_BASE/home" \
		TMPDIR="$IPCFS_AS_USER_BASE/tmp" \
		XDG_RUNTIME_DIR="$IPCFS_AS_USER_BASE/run" \
		USER="$IPCFS_AS_USER_NAME" LOGNAME="$IPCFS_AS_USER_NAME" \
		"$@"
fi

[ $# -ge 1 ] || { echo "usage: $0 TEST_SCRIPT [ARGS...]" >&2; exit 2; }
NAME="as_user $(basename "$1" .sh)"
[ "$(id -u)" -eq 0 ] || skip "needs root (to make a user and a private /dev/fuse)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing (no FUSE in this kernel or container)"
for c in unshare setpriv useradd userdel mknod fusermount3 pkill; do
	command -v "$c" >/dev/null || skip "$c is not installed"
done
[ -u "$(command -v fusermount3)" ] ||
	skip "fusermount3 is not setuid: a normal user cannot mount"
SELF=$(readlink -f "$0")
SCRIPT=$(readlink -f "$1") || skip "no test script $1"
shift

U=ipcfs-u$$
BASE=
MADE=
CHILD=

# reachable PATH: can the user get to PATH? Else say which directory stops it.
reachable() {
	local p=$1

	setpriv --reuid="$UID_" --regid="$GID_" --clear-groups \
		test -r "$p" 2>/dev/null && return 0
	while [ "$p" != / ]; do
		p=$(dirname "$p")
		if ! setpriv --reuid="$UID_" --regid="$GID_" --clear-groups \
		     test -x "$p" 2>/dev/null; then
			say "$p ($(stat -c '%A %U' "$p")) is closed to other users"
			return 1
		fi
	done
	say "$1 is not readable by other users"
	return 1
}

finish_run() {
	local rc=$?

	trap - EXIT INT TERM
	if [ -n "$CHILD" ]; then
		# stopped from outside: let the test's own cleanup unmount first
		kill -TERM "$CHILD" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$CHILD" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ -n "$MADE" ]; then
		# the uid is this run's alone: whatever still runs as it is ours
		for _ in $(seq 100); do
			pgrep -u "$UID_" >/dev/null || break
			pkill -KILL -u "$UID_" 2>/dev/null
			sleep 0.1
		done
		pgrep -u "$UID_" >/dev/null &&
			say "processes of $U outlived SIGKILL for 10 s" >&2
		[ -n "$CHILD" ] && wait "$CHILD" 2>/dev/null
		userdel -f "$U" 2>/dev/null || say "could not remove user $U" >&2
	fi
	if [ -n "$BASE" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] &&
		   [ -n "$(ls -A "$BASE/tmp" 2>/dev/null)" ]; then
			say "the test's scratch files are kept in $BASE/tmp" >&2
			rm -rf "${BASE:?}/dev" "${BASE:?}/home" "${BASE:?}/run"
		else
			rm -rf "$BASE"
		fi
	fi
	exit "$rc"
}
trap finish_run EXIT
trap 'exit 130' INT TERM

# a run killed with SIGKILL could not remove its user and files: do it
# for it when its process is gone and nothing runs as the user
for u in $(getent passwd | sed -n 's/^\(ipcfs-u[0-9]*\):.*/\1/p'); do
	kill -0 "${u#ipcfs-u}" 2>/dev/null || pgrep -u "$u" >/dev/null ||
		{ userdel -f "$u" 2>/dev/null && rm -rf /tmp/"$u".??????; }
done

BASE=$(mktemp -d "/tmp/$U.XXXXXX") || exit 1
chmod 0711 "$BASE"
# useradd locks /etc/passwd: retry if a parallel run holds it
for _ in 1 2 3 4 5; do
	if useradd --system --no-create-home --shell /usr/sbin/nologin \
	   "$U" 2>"$BASE/useradd.err"; then
		MADE=1
		break
	fi
	sleep 1
done
[ -n "$MADE" ] || skip "useradd $U: $(cat "$BASE/useradd.err")"
rm -f "$BASE/useradd.err"
UID_=$(id -u "$U") && GID_=$(id -g "$U") || exit 1
mkdir -m 0700 "$BASE/home" "$BASE/tmp" "$BASE/run" && mkdir "$BASE/dev" &&
	chown "$UID_:$GID_" "$BASE/home" "$BASE/tmp" "$BASE/run" || exit 1

# a build the user cannot reach (a clone under root's 0700 home, say) is
# copied to a directory it can: the scripts, the daemon, the clients
closed=
for p in "$SCRIPT" "$(dirname "$SCRIPT")/lib.sh" ${IPCFS:+"$IPCFS"} \
	 ${IPCFS_CLIENTS:+"$IPCFS_CLIENTS"} ${IPCFS_EXAMPLES:+"$IPCFS_EXAMPLES"} \
	 ${IPCFS_PINGPONG:+"$IPCFS_PINGPONG"}; do
	reachable "$p" || closed=1
done
if [ -n "$closed" ]; then
	S=$BASE/stage
	say "staging a copy the user can reach in $S"
	mkdir -p "$S/mount" && cp -p "$(dirname "$SCRIPT")"/*.sh "$S/mount/" ||
		skip "cannot stage the test scripts"
	SCRIPT=$S/mount/${SCRIPT##*/}
	if [ -n "${IPCFS:-}" ]; then
		cp -p "$IPCFS" "$S/ipcfs" && export IPCFS=$S/ipcfs
	fi
	if [ -n "${IPCFS_CLIENTS:-}" ]; then
		cp -rp "$IPCFS_CLIENTS" "$S/clients" &&
			export IPCFS_CLIENTS=$S/clients
	fi
	if [ -n "${IPCFS_EXAMPLES:-}" ]; then
		cp -rp "$IPCFS_EXAMPLES" "$S/examples" &&
			export IPCFS_EXAMPLES=$S/examples
	fi
	if [ -n "${IPCFS_PINGPONG:-}" ]; then
		cp -p "$IPCFS_PINGPONG" "$S/pingpong" &&
			export IPCFS_PINGPONG=$S/pingpong
	fi
	chmod -R a+rX "$S"
	for p in "$SCRIPT" ${IPCFS:+"$IPCFS"} ${IPCFS_CLIENTS:+"$IPCFS_CLIENTS"}; do
		reachable "$p" || skip "user $U cannot reach $p, even staged"
	done
fi
unshare -m --propagation private true 2>/dev/null ||
	skip "unshare -m fails (no private mount namespace here)"

say "running as $U (uid $UID_) in a private mount namespace"
IPCFS_AS_USER_STAGE=ns IPCFS_AS_USER_BASE=$BASE IPCFS_AS_USER_UID=$UID_ \
	IPCFS_AS_USER_GID=$GID_ IPCFS_AS_USER_NAME=$U \
	unshare -m --propagation private "$BASH" "$SELF" "$SCRIPT" "$@" &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=
exit "$rc"
