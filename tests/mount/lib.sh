# lib.sh - what every real-mount test shares; sourced by tests/mount/test_*.sh.
#
# A test calls mount_ipcfs: it starts the daemon with -f in the background
# on a fresh `mktemp -d`, polls `mountpoint -q` against a deadline and fails
# early if the daemon died. `trap cleanup EXIT` then makes sure that, however
# the test ends, background jobs are killed, every mount is gone
# (fusermount3 -u, then -uz), the daemon is reaped, its exit status is 0 and
# its stderr holds no sanitizer report, and the temp dirs are removed.
#
# Checks do not stop the test: `fail` counts, `finish` exits 1 if any
# failed, so one run lists every misbehaviour. `die` stops at once.
#
# Environment (meson sets it; set it yourself to run a test by hand):
#   IPCFS           the daemon (or the test's $1)
#   IPCFS_CLIENTS   directory holding the client programs (poll_client...)
#   IPCFS_EXAMPLES  the examples/ source directory
#   IPCFS_PINGPONG  the built examples/pingpong
# e.g. IPCFS=/tmp/b/fs/ipcfs IPCFS_CLIENTS=/tmp/b/tests/mount \
#	tests/mount/test_basic.sh

set -u
export LC_ALL=C

# drop_foreign_fuse: in a private mount namespace of our own, let go of the
# copies of other tests' FUSE mounts it was made with; held here, they keep
# those daemons from seeing their unmount until this test ends.
drop_foreign_fuse() {
	local m

	awk '$3 ~ /^fuse/ { print $2 }' /proc/self/mounts | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
}
[ -n "${IPCFS_IN_NS:-}" ] && drop_foreign_fuse

IPCFS=${1:-${IPCFS:-}}
IPCFS_CLIENTS=${IPCFS_CLIENTS:-}
TEST_NAME=$(basename "$0" .sh)

# every transport the spec knows; zmq may be left out of a build
ALL_TRANSPORTS="pipe fifo unix unixdgram tcp udp mqueue shm mmap sysvshm eventfd uring zmq dbus signal file sysvmsg cma netlink vmsplice memfd mpi plainmem"
MSG_TRANSPORTS="mqueue unixdgram udp zmq dbus signal sysvmsg cma netlink memfd mpi"

FAILS=0
MOUNTS=()		# FUSE mount points we made (and may have to unmount)
PLAIN_MOUNTS=()		# other mounts we made (mqueue, bind), for umount
DAEMONS=()		# daemon pids still to reap
DAEMON_PID=
DAEMON_ERR=
CLEANUP_HOOKS=()	# functions cleanup calls after the daemons are reaped
MNT=
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ipcfs-$TEST_NAME.XXXXXX") || exit 1

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
pass() { say "ok: $*"; }
fail() {
	say "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
die() {
	say "FATAL: $*" >&2
	FAILS=$((FAILS + 1))
	exit 1
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		say "$FAILS check(s) failed" >&2
		exit 1
	fi
	say "all checks passed"
	exit 0
}

# is_msg T: does transport T keep message boundaries?
is_msg() {
	case " $MSG_TRANSPORTS " in *" $1 "*) return 0 ;; esac
	return 1
}

# msg_max T: the largest message transport T takes whole through the
# mount ("" where msg_client cannot know it)
msg_max() {
	case $1 in
	mqueue) echo 8192 ;;
	sysvmsg) cat /proc/sys/kernel/msgmax ;;
	udp) echo 65507 ;;
	zmq) echo 1040384 ;;	# what one FUSE write always carries whole
	cma) echo 65536 ;;
	# SO_SNDBUF less netlink's 32 bytes and the nlmsghdr
	netlink) echo $(($(cat /proc/sys/net/core/wmem_default) - 48)) ;;
	memfd) echo 1040384 ;;	# as zmq, under its 1 MiB max_msg
	dbus) echo 65536 ;;
	esac
}

# need_fuse: skip (77) where no FUSE mount can be made
need_fuse() {
	if [ ! -c /dev/fuse ]; then
		echo "SKIP: /dev/fuse is missing (no FUSE in this kernel or container)"
		exit 77
	fi
	if ! { exec 9<>/dev/fuse; } 2>/dev/null; then
		echo "SKIP: cannot open /dev/fuse"
		exit 77
	fi
	exec 9>&-
	command -v fusermount3 >/dev/null ||
		{ echo "SKIP: fusermount3 not installed"; exit 77; }
	[ -n "$IPCFS" ] || die "no daemon: pass it as \$1 or set IPCFS"
	[ -x "$IPCFS" ] || die "daemon $IPCFS is not executable"
}

# client VAR NAME: set VAR to the path of the built client program NAME
client() {
	local c="$IPCFS_CLIENTS/$2"

	[ -x "$c" ] || die "client $c not built (set IPCFS_CLIENTS)"
	printf -v "$1" '%s' "$c"
}

now() { date +%s.%N; }
# secs_since T0: elapsed seconds, 2 decimals
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# lt A B: is the decimal A < B?
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# alive PID: the process exists and is not a zombie
alive() {
	local st

	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st%% *}" != Z ]
}

# mounted DIR: is DIR a mount point in our namespace (even a dead FUSE one,
# where `mountpoint` cannot stat it)?
mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds; 1 on timeout
wait_for() {
	local end

	end=$(awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + t }')
	shift
	while ! "$@"; do
		lt "$(now)" "$end" || return 1
		sleep 0.05
	done
}

# wait_gone PID SECONDS: wait for a child to exit; 1 if it did not in time
wait_gone() {
	local pid=$1 t=$2

	wait_for "$t" eval "! alive $pid"
}

# mount_ipcfs [DAEMON ARGS...]: mount on a new temp dir; sets MNT,
# DAEMON_PID and DAEMON_ERR. Dies if the mount does not appear in 10 s.
# With DAEMON_NETNS=NAME the daemon runs in network namespace NAME (its
# mount stays in ours: nsenter enters the network namespace only).
mount_ipcfs() {
	local dir=${MOUNT_DIR:-}

	[ -n "$dir" ] || dir=$(mktemp -d "$SCRATCH/mnt.XXXXXX") ||
		die "mktemp"
	DAEMON_ERR=$(mktemp "$SCRATCH/daemon.err.XXXXXX")
	# as if started in the foreground: a background job of a script
	# would otherwise inherit SIGINT ignored, and libfuse keeps it so
	env --default-signal=INT,QUIT \
		${DAEMON_NETNS:+nsenter --net=/run/netns/"$DAEMON_NETNS"} \
		"$IPCFS" -f "$@" "$dir" 2>"$DAEMON_ERR" &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID:$DAEMON_ERR:$dir")
	MOUNTS+=("$dir")
	MNT=$dir
	# libfuse's wait_for_mount: the daemon must live until it is mounted
	local end=$(( $(date +%s) + 10 ))
	while ! mountpoint -q "$dir"; do
		if ! alive "$DAEMON_PID"; then
			say "the daemon's stderr:" >&2
			head -c 2000 "$DAEMON_ERR" | sed 's/^/    /' >&2
			reap_daemon "$DAEMON_PID" "$DAEMON_ERR" any
			die "the daemon exited before it mounted $dir"
		fi
		[ "$(date +%s)" -lt "$end" ] ||
			die "no mount on $dir after 10 s"
		sleep 0.05
	done
}

# sanitizer_check FILE: fail if a daemon's stderr holds a sanitizer report
sanitizer_check() {
	local re='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer'

	if grep -qE "$re|ThreadSanitizer|runtime error" "$1" 2>/dev/null; then
		fail "sanitizer report in the daemon's stderr:"
		sed 's/^/    /' "$1" | head -60 >&2
	fi
}

# reap_daemon PID ERRFILE [WANT_STATUS]: wait up to 10 s for the daemon to
# exit, check its status (default 0) and its stderr. Kills it if it hangs,
# after writing its threads' stacks to $IPCFS_HANG_DUMP.PID if that is set.
reap_daemon() {
	local pid=$1 errf=$2 want=${3:-0} st

	if ! wait_gone "$pid" 10; then
		fail "daemon $pid still running 10 s after unmount; killing it"
		[ -n "${IPCFS_HANG_DUMP:-}" ] && gdb -batch -p "$pid" \
			-ex "thread apply all bt 12" >"$IPCFS_HANG_DUMP.$pid" 2>&1
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	st=$?
	if [ "$want" != any ] && [ "$st" -ne "$want" ]; then
		fail "daemon $pid exited with status $st, want $want"
		sed 's/^/    /' "$errf" | head -20 >&2
	fi
	sanitizer_check "$errf"
	# forget it: cleanup must not reap it twice
	local d keep=()
	for d in "${DAEMONS[@]}"; do
		[ "${d%%:*}" = "$pid" ] || keep+=("$d")
	done
	DAEMONS=("${keep[@]+"${keep[@]}"}")
	return 0
}

# unmount_ipcfs [DIR]: fusermount3 -u (it must succeed) and reap the daemon
unmount_ipcfs() {
	local dir=${1:-$MNT} d

	if ! timeout -k 2 10 fusermount3 -u "$dir"; then
		fail "fusermount3 -u $dir failed"
		timeout -k 2 10 fusermount3 -uz "$dir"
	fi
	for d in "${DAEMONS[@]}"; do
		case $d in *":$dir") reap_daemon "${d%%:*}" "$(echo "$d" | cut -d: -f2)" ;; esac
	done
}

# kill_tree PID: SIGKILL a process we started and its children (the
# command under a `timeout`), children first
kill_tree() {
	local c

	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		kill_tree "$c"
	done
	kill -KILL "$1" 2>/dev/null
}

# unmount whatever is still mounted, then reap every daemon
cleanup() {
	local rc=$? d dir pid errf

	trap - EXIT
	# our own background jobs (readers, writers) would keep a mount busy
	for pid in $(jobs -p); do
		case " ${DAEMONS[*]+"${DAEMONS[*]}"} " in
		*" $pid:"*) ;;		# daemons are unmounted, not killed
		*) kill_tree "$pid" ;;
		esac
	done
	for dir in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
		if mounted "$dir"; then
			timeout -k 2 10 fusermount3 -u "$dir" 2>/dev/null ||
				timeout -k 2 10 fusermount3 -uz "$dir" ||
				timeout -k 2 10 umount -l "$dir"
		fi
	done
	for d in "${DAEMONS[@]+"${DAEMONS[@]}"}"; do
		pid=${d%%:*}
		errf=$(echo "$d" | cut -d: -f2)
		reap_daemon "$pid" "$errf"
	done
	for pid in $(jobs -p); do
		wait "$pid" 2>/dev/null
	done
	# files a test made outside SCRATCH (kernel objects by name)
	for d in "${REMOVE_AT_EXIT[@]+"${REMOVE_AT_EXIT[@]}"}"; do
		rm -f "$d"
	done
	for ((d = ${#PLAIN_MOUNTS[@]} - 1; d >= 0; d--)); do
		umount "${PLAIN_MOUNTS[d]}" || fail "umount ${PLAIN_MOUNTS[d]} failed"
	done
	# what a test made besides (network namespaces), once daemons are gone
	for d in "${CLEANUP_HOOKS[@]+"${CLEANUP_HOOKS[@]}"}"; do
		"$d"
	done
	for dir in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
		mounted "$dir" && fail "$dir is still mounted after cleanup"
	done
	[ "$rc" -eq 0 ] && [ "$FAILS" -ne 0 ] && rc=1
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
		rm -rf "$SCRATCH"
	else
		say "scratch files kept in $SCRATCH" >&2
		rm -rf "$SCRATCH"/mnt.* 2>/dev/null
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mqueue_init: set MQUEUE_DIR to where POSIX message queues can be seen:
# /dev/mqueue if it is mounted, else IPCFS_MQUEUE_DIR if that is a mount
# (as_user.sh makes one: a normal user cannot), else a private mqueue
# mount in SCRATCH (unmounted by cleanup), else empty. Call it in the
# test's own shell, not in $(...), so that cleanup knows of the mount.
MQUEUE_DIR=
mqueue_init() {
	if mounted /dev/mqueue; then
		MQUEUE_DIR=/dev/mqueue
	elif [ -n "${IPCFS_MQUEUE_DIR:-}" ] && mounted "$IPCFS_MQUEUE_DIR"; then
		MQUEUE_DIR=$IPCFS_MQUEUE_DIR
	elif mkdir -p "$SCRATCH/mqueue" &&
	     mount -t mqueue ipcfs-test "$SCRATCH/mqueue" 2>/dev/null; then
		MQUEUE_DIR=$SCRATCH/mqueue
		PLAIN_MOUNTS+=("$MQUEUE_DIR")
	fi
}

# objects_of DIR: the paths of DIR's channel objects that live in a file
# system we can see (mqueue ones through MQUEUE_DIR, if any)
objects_of() {
	local t

	# channels are made at first open, not by reading stats
	for t in $(transports_in "$1"); do
		timeout -k 1 5 true <"$1/$t" 2>/dev/null
	done
	timeout -k 1 5 cat "$1/stats" | tr ' ' '\n' | sed -n 's/^object=//p' |
	while read -r o; do
		case $o in
		/dev/mqueue/*) [ -n "$MQUEUE_DIR" ] &&
			printf '%s\n' "$MQUEUE_DIR/${o#/dev/mqueue/}" ;;
		/*) printf '%s\n' "$o" ;;
		esac
	done
}

# leftovers PID RUNDIR: named objects of daemon PID that still exist
leftovers() {
	local f

	for f in /dev/shm/ipcfs."$1".* ${MQUEUE_DIR:+"$MQUEUE_DIR"/ipcfs."$1".*} \
		 "$2"/ipcfs."$1".*; do
		[ -e "$f" ] && printf '%s\n' "$f"
	done
	sysvmsg_left "$1" "$2"
	sysv_leftovers "$1"
}

# sysvmsg_left PID RUNDIR: PID's System V queues, "sysvmsg:N". A queue has
# no name: its key is FNV-1a of its marker's name (transports/sysv.c),
# remembered while the marker is there; or PID sent or received last.
sysvmsg_left() {
	local f s c i h keys="$SCRATCH/sysvmsg-keys.$1"

	touch "$keys"
	for f in "$2"/ipcfs."$1".*.sysvmsg; do
		[ -e "$f" ] || continue
		s=${f##*/} h=2166136261
		for ((i = 0; i < ${#s}; i++)); do
			printf -v c '%d' "'${s:i:1}"
			h=$(( ((h ^ c) * 16777619) & 0xffffffff ))
		done
		echo $(( h == 0 ? 1 : h >= 2147483648 ? h - 4294967296 : h ))
	done >>"$keys"
	[ -r /proc/sysvipc/msg ] || return 0
	awk -v pid="$1" 'NR == FNR { k[$1]; next }
		FNR > 1 && ($1 in k || $6 == pid || $7 == pid) { print "sysvmsg:" $2 }' \
		"$keys" /proc/sysvipc/msg
}

# sysv_leftovers PID: System V segments made by PID (creator pid in
# /proc/sysvipc/shm), and semaphore sets whose last operation was PID's
# (sysvshm stamps its pid on both semaphores at create; the daemon never
# sleeps on them), that still exist, as sysvshm:ID and sysvsem:ID
sysv_leftovers() {
	local id

	[ -r /proc/sysvipc/shm ] &&
		awk -v p="$1" 'NR > 1 && $5 == p { print "sysvshm:" $2 }' /proc/sysvipc/shm
	[ -r /proc/sysvipc/sem ] && command -v ipcs >/dev/null || return 0
	for id in $(awk 'NR > 1 && $4 == 2 { print $2 }' /proc/sysvipc/sem); do
		ipcs -s -i "$id" 2>/dev/null | awk -v p="$1" -v id="$id" '
			$1 == "semnum" { rows = 1; next }
			rows && NF == 5 && $5 == p { print "sysvsem:" id; exit }'
	done
}

# sysv_mode sysvshm:ID|sysvsem:ID|sysvmsg:ID: the object's permission bits ("600")
sysv_mode() {
	local f=/proc/sysvipc/shm

	case $1 in
	sysvsem:*) f=/proc/sysvipc/sem ;;
	sysvmsg:*) f=/proc/sysvipc/msg ;;
	esac
	awk -v id="${1#*:}" 'NR > 1 && $2 == id { print substr($3, length($3) - 2) }' "$f"
}

# processes_of PID: processes daemon PID started that still run: its
# dbus-daemons, named by their --config-file (transports/dbus_bus.c)
processes_of() {
	grep -lsa "ipcfs\.$1\.[0-9]*\.[0-9a-f]*\.bus\.conf" /proc/[0-9]*/cmdline |
		sed 's|^/proc/\([0-9]*\)/cmdline$|dbus-daemon:\1|'
}

# rundir_of DIR: the runtime directory of DIR's daemon (from the fifo)
rundir_of() { dirname "$(stat_of "$1" fifo object)"; }

# transports_in DIR: the spec's transport files present in DIR (readdir
# order); IPCFS_ONLY="pipe zmq" narrows it down when debugging
transports_in() {
	local f

	for f in "$1"/*; do
		[ -f "$f" ] || continue
		f=${f##*/}
		case " ${IPCFS_ONLY:-$ALL_TRANSPORTS} " in
		*" $f "*) printf '%s\n' "$f" ;;
		esac
	done
}

# stat_of DIR NAME KEY: KEY's value in DIR/stats for channel NAME
stat_of() {
	# an object exists once its channel is made, at the file's first open
	[ "$3" = object ] && timeout -k 1 5 true <"$1/$2" 2>/dev/null
	timeout -k 1 5 cat "$1/stats" | awk -v n="$2" -v k="$3" '
		{ split("", kv)
		  for (i = 1; i <= NF; i++) {
			p = index($i, "=")
			if (p) kv[substr($i, 1, p - 1)] = substr($i, p + 1)
		  }
		  if (kv["name"] == n) { print kv[k]; exit } }'
}

# size_of FILE: st_size
size_of() { timeout -k 1 5 stat -c %s "$1"; }

# expect WHAT GOT WANT (a long GOT is cut in the message)
expect() {
	local got=$2

	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		[ ${#got} -le 300 ] || got="${got:0:150}...(${#2} chars)...${got: -100}"
		fail "$1: got '$got', want '$3'"
	fi
}

# alive_mount: the daemon still answers on $MNT
check_alive() {
	alive "$DAEMON_PID" || die "the daemon died:" "$(tail -5 "$DAEMON_ERR")"
	timeout -k 1 5 stat "$MNT/stats" >/dev/null ||
		die "the mount does not answer any more"
}

# each_transport FN T...: run `FN T` for every T, IPCFS_JOBS (4) at a
# time, each in a subshell of its own; print their output in T's order and
# count their failures here. Channels are independent, so side by side is
# also a check that one waiting channel holds up no other. FN must keep
# its scratch files per transport.
each_transport() {
	local fn=$1 t p done n live=()
	shift
	for t in "$@"; do
		# only our jobs: a bare `wait` would wait for the daemon too
		while [ "${#live[@]}" -ge "${IPCFS_JOBS:-4}" ]; do
			wait -n -p done "${live[@]}"
			for p in "${!live[@]}"; do
				[ "${live[p]}" = "$done" ] && unset 'live[p]'
			done
			live=("${live[@]}")
		done
		( FAILS=0; "$fn" "$t"; echo "$FAILS" >"$SCRATCH/each.$t.fails" ) \
			>"$SCRATCH/each.$t.out" 2>&1 &
		live+=($!)
	done
	for p in "${live[@]}"; do
		wait "$p"
	done
	for t in "$@"; do
		cat "$SCRATCH/each.$t.out"
		# no count: the subshell died (die() exits with the count unsaid)
		n=$(cat "$SCRATCH/each.$t.fails" 2>/dev/null || echo 1)
		[ "$n" -eq 0 ] || FAILS=$((FAILS + n))
	done
}
