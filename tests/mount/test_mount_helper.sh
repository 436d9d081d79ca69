#!/usr/bin/env bash
# test_mount_helper.sh - the mount(8) form: `mount -t fuse.ipcfs ipcfs DIR`
# runs mount.fuse3, which runs `ipcfs ipcfs DIR -o rw,dev,suid` (no -f:
# the daemon goes to the background once mounted). Checks: mount returns
# 0 with the mount ready; the channels and stats work; options given to
# mount (-o allow_other,noatime) are accepted; `umount DIR` ends the daemon
# and leaves no channel objects.
#
# mount(8) runs helpers with a fixed PATH, so `ipcfs` is made visible as
# /usr/local/sbin/ipcfs by a bind mount inside a private mount namespace
# (unshare -m): nothing changes outside this test. Without unshare, the
# test calls mount.fuse3 directly, as mount(8) would.
if [ -z "${IPCFS_IN_NS:-}" ] && unshare -m --propagation private true 2>/dev/null; then
	exec unshare -m --propagation private env IPCFS_IN_NS=1 "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

need_fuse
command -v mount.fuse3 >/dev/null || { echo "SKIP: no mount.fuse3"; exit 77; }
mqueue_init

# daemon_of DIR: pid of the ipcfs serving DIR (not our child: it forked)
daemon_of() {
	local p c

	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case $c in
		*ipcfs\ *" $1 "*) echo "${p#/proc/}"; return ;;
		esac
	done
}

# helper_mount DIR [OPTS]: mount -t fuse.ipcfs (or mount.fuse3 directly)
helper_mount() {
	if [ -n "${IPCFS_IN_NS:-}" ]; then
		timeout -k 2 20 mount -t fuse.ipcfs ${2:+-o "$2"} ipcfs "$1"
	else
		PATH=$(dirname "$IPCFS"):$PATH timeout -k 2 20 \
			mount.fuse3 ipcfs "$1" -t fuse.ipcfs -o "rw${2:+,$2}"
	fi
}

if [ -n "${IPCFS_IN_NS:-}" ]; then
	mkdir "$SCRATCH/sbin" && ln -s "$IPCFS" "$SCRATCH/sbin/ipcfs" &&
	mount --bind "$SCRATCH/sbin" /usr/local/sbin ||
		die "cannot bind $SCRATCH/sbin on /usr/local/sbin"
	PLAIN_MOUNTS+=(/usr/local/sbin)
	say "in a private mount namespace, ipcfs as /usr/local/sbin/ipcfs"
else
	say "note: no unshare; calling mount.fuse3 directly"
fi

for opts in "" allow_other,noatime; do
	D=$(mktemp -d "$SCRATCH/mnt.XXXXXX")
	MOUNTS+=("$D")
	if helper_mount "$D" "$opts" 2>"$SCRATCH/err"; then
		pass "mount -t fuse.ipcfs${opts:+ -o $opts}: status 0"
	else
		fail "mount -t fuse.ipcfs${opts:+ -o $opts} failed: $(head -3 "$SCRATCH/err")"
		continue
	fi
	mountpoint -q "$D" && pass "mounted at once" || fail "not mounted after mount returned"
	pid=$(daemon_of "$D")
	[ -n "$pid" ] && pass "daemon pid $pid" || fail "no ipcfs process serving $D"
	grep -q " $D .* fuse.ipcfs " /proc/self/mountinfo && pass "type fuse.ipcfs" ||
		fail "mountinfo: $(grep " $D " /proc/self/mountinfo)"
	for t in $(transports_in "$D"); do
		timeout -k 1 5 sh -c "echo helper > $D/$t"
		[ "$(timeout -k 1 5 cat "$D/$t")" = helper ] || fail "$t does not work"
	done
	expect "stats lines" "$(timeout -k 1 5 cat "$D/stats" | wc -l)" \
		"$(find "$D" -mindepth 1 -maxdepth 1 -type f ! -name stats | wc -l)"
	rundir=$(rundir_of "$D")
	if timeout -k 2 10 umount "$D"; then
		pass "umount"
	else
		fail "umount $D failed"
		timeout -k 2 10 fusermount3 -u "$D"
	fi
	if [ -n "$pid" ]; then
		wait_for 10 eval "! alive $pid" && pass "the daemon ended after umount" ||
			fail "daemon $pid still runs 10 s after umount"
		left=$(leftovers "$pid" "$rundir")
		[ -z "$left" ] && pass "no objects left" || fail "left behind: $(echo $left)"
	fi
done

finish
