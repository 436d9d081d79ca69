# lib.sh - what the bench's shell scripts share (dd-floor.sh, rss.sh,
# valgrind-leak.sh); sourced, not run.
#
# bench_mount NAME EXE [WRAPPER...]: start `WRAPPER... EXE -f DIR` in the
# background on a fresh mktemp -d, poll `mountpoint -q` against a deadline
# ($BENCH_MOUNT_WAIT s, default 10) and stop early if the daemon died.
# Sets MNT and DAEMON_PID (the wrapper's pid when there is one). Every
# mount is remembered: bench_cleanup, run from `trap ... EXIT`, unmounts
# (fusermount3 -u, then -uz), ends the daemons (SIGTERM, then SIGKILL) and
# removes the dirs, however the script ends (errors, ^C).
#
# Daemons: $IPCFS, else the build tree's ($BUILD, default build/ at the
# top of the source tree), else ipcfs in $PATH; $NULLFS likewise.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$BENCH_TOP/build}
BENCH_MOUNT_WAIT=${BENCH_MOUNT_WAIT:-10}
BENCH_MOUNTS=()
BENCH_PIDS=()
BENCH_JOBS=()		# other background pids to kill at the end
MNT=
DAEMON_PID=
ME=$(basename "$0")

say() { printf '%s: %s\n' "$ME" "$*"; }
die() { say "$*" >&2; exit 1; }

# find_daemon NAME ENVVALUE BUILT: the path of an executable, or die
find_daemon() {
	local name=$1 given=$2 built=$3
	if [ -n "$given" ]; then
		[ -x "$given" ] || die "$given: not an executable"
		echo "$given"
	elif [ -x "$built" ]; then
		echo "$built"
	elif command -v "$name" >/dev/null; then
		command -v "$name"
	else
		die "no $name: set \$${name^^} or build into $BUILD"
	fi
}

ipcfs_exe() { find_daemon ipcfs "${IPCFS:-}" "$BUILD/fs/ipcfs"; }
nullfs_exe() { find_daemon nullfs "${NULLFS:-}" "$BUILD/bench/nullfs"; }

bench_cleanup() {
	local i m pid
	for pid in "${BENCH_JOBS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for i in "${!BENCH_MOUNTS[@]}"; do
		m=${BENCH_MOUNTS[$i]}
		pid=${BENCH_PIDS[$i]}
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null ||
				fusermount3 -uz "$m" 2>/dev/null ||
				say "could not unmount $m" >&2
		fi
		# the daemon exits on unmount; make sure of it
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			sleep 1
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
		rmdir "$m" 2>/dev/null
	done
	BENCH_MOUNTS=()
	BENCH_PIDS=()
}

# bench_mount NAME EXE [WRAPPER...]
bench_mount() {
	local name=$1 exe=$2 deadline
	shift 2
	MNT=$(mktemp -d "/tmp/$name-bench.XXXXXX") || die "mktemp failed"
	"$@" "$exe" -f "$MNT" &
	DAEMON_PID=$!
	BENCH_MOUNTS+=("$MNT")
	BENCH_PIDS+=("$DAEMON_PID")
	deadline=$((SECONDS + BENCH_MOUNT_WAIT))
	until mountpoint -q "$MNT"; do
		kill -0 "$DAEMON_PID" 2>/dev/null ||
			die "$name ($* $exe -f $MNT) died before the mount was up"
		[ $SECONDS -lt $deadline ] ||
			die "$name: not mounted on $MNT after $BENCH_MOUNT_WAIT s"
		sleep 0.05
	done
}

# daemon_of MOUNT: the pid of the ipcfs serving MOUNT, from the object
# names in its stats ("ipcfs.<pid>.<n>.<kind>")
daemon_of() {
	sed -n 's/.*object=[^ ]*ipcfs\.\([0-9][0-9]*\)\.[0-9].*/\1/p' \
		"$1/stats" | head -n 1
}

# rss_kib PID: resident set size in KiB
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
