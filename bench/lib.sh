# lib.sh - what the bench's scripts share; sourced, not run. Daemons:
# $IPCFS, else the build tree's ($BUILD, default build/ at the top of the
# source tree), else ipcfs in $PATH; $NULLFS likewise.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$BENCH_TOP/build}
BENCH_MOUNT_WAIT=${BENCH_MOUNT_WAIT:-10}
BENCH_MOUNTS=() BENCH_PIDS=() BENCH_JOBS=()	# jobs: other pids to kill
DAEMON_OPTS=()
ME=$(basename "$0")

say() { printf '%s: %s\n' "$ME" "$*"; }
die() { say "$*" >&2; exit "${2:-1}"; }
# usage: the script's header comment, up to `set -e`; exit 2
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

# parse_opts "L:VAR..." ARGS...: getopts; each -L's value into VAR; -h or
# an unknown option: usage. The caller then does shift $((OPTIND - 1)).
parse_opts() {
	local spec=$1 opt pair letters=
	shift
	for pair in $spec; do letters+=${pair%%:*}:; done
	while getopts "${letters}h" opt; do
		for pair in $spec; do
			[ "$opt" != "${pair%%:*}" ] || { printf -v "${pair#*:}" %s "$OPTARG"; continue 2; }
		done
		usage
	done
}

# find_daemon NAME ENVVALUE BUILT: the path of an executable, or die
find_daemon() {
	if [ -n "$2" ]; then
		[ -x "$2" ] || die "$2: not an executable"
		echo "$2"
	elif [ -x "$3" ]; then
		echo "$3"
	else
		command -v "$1" || die "no $1: set \$${1^^} or build into $BUILD"
	fi
}
ipcfs_exe() { find_daemon ipcfs "${IPCFS:-}" "$BUILD/fs/ipcfs"; }
nullfs_exe() { find_daemon nullfs "${NULLFS:-}" "$BUILD/bench/nullfs"; }

# alive PID SECONDS: true while PID still runs after up to SECONDS
alive() {
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null
}

# bench_cleanup (trap ... EXIT): unmount each bench_mount (fusermount3 -u,
# then -uz), end its daemon (SIGTERM, then SIGKILL), remove its dir
bench_cleanup() {
	local i m pid
	for pid in "${BENCH_JOBS[@]}"; do kill "$pid" 2>/dev/null; done
	for i in "${!BENCH_MOUNTS[@]}"; do
		m=${BENCH_MOUNTS[$i]} pid=${BENCH_PIDS[$i]}
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null ||
				say "could not unmount $m" >&2
		fi
		if alive "$pid" 5; then	# the daemon exits on unmount
			kill -TERM "$pid" 2>/dev/null
			alive "$pid" 1 && kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
		rmdir "$m" 2>/dev/null
	done
	BENCH_MOUNTS=() BENCH_PIDS=()
}

# bench_mount NAME EXE [WRAPPER...]: `WRAPPER... EXE -f $DAEMON_OPTS DIR` on
# a fresh mktemp -d, up within $BENCH_MOUNT_WAIT s; sets MNT and DAEMON_PID
bench_mount() {
	local name=$1 exe=$2 deadline
	shift 2
	MNT=$(mktemp -d "/tmp/$name-bench.XXXXXX") || die "mktemp failed"
	"$@" "$exe" -f "${DAEMON_OPTS[@]}" "$MNT" &
	DAEMON_PID=$!
	BENCH_MOUNTS+=("$MNT") BENCH_PIDS+=("$DAEMON_PID")
	deadline=$((SECONDS + BENCH_MOUNT_WAIT))
	until mountpoint -q "$MNT"; do
		kill -0 "$DAEMON_PID" 2>/dev/null ||
			die "$name ($* $exe -f $MNT) died before the mount was up"
		[ $SECONDS -lt $deadline ] || die "$name: not mounted on $MNT after $BENCH_MOUNT_WAIT s"
		sleep 0.05
	done
}

# ipcfs_mount [MOUNT]: MOUNT if it is an ipcfs mount, else mount one; sets MNT
ipcfs_mount() {
	if [ $# -ge 1 ]; then
		mountpoint -q "$1" && [ -e "$1/stats" ] || die "$1: not an ipcfs mount"
		MNT=$1 DAEMON_PID=
	else
		bench_mount ipcfs "$(ipcfs_exe)"
	fi
}

# daemon_of MOUNT: the pid of the ipcfs serving MOUNT, from the object
# names in its stats ("ipcfs.<pid>.<n>.<kind>")
daemon_of() { sed -n 's/.*object=[^ ]*ipcfs\.\([0-9][0-9]*\)\.[0-9].*/\1/p' "$1/stats" | head -n 1; }

# median: of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
