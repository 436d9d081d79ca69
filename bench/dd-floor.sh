#!/usr/bin/env bash
# dd-floor.sh - bulk bandwidth of the pipe file of ipcfs against the FUSE
# floor, with dd and 1 MiB writes:
#
#   pipe   dd if=/dev/zero of=MOUNT/pipe bs=1M count=N, while
#          dd if=MOUNT/pipe of=/dev/null bs=1M reads it to end of file
#   floor  the same pair on nullfs's one file (writes discarded, reads
#          answered with zeros; the reader stops after N MiB)
#
# MB/s = N MiB (10^6-byte MB) over the wall time from starting both dd to
# the end of both. Prints each run, the medians and pipe/floor (the target
# is >= 80%).
#
# Placement (-p): split (default, with 2 CPUs or more) runs the writer dd
# on CPU 0 and the reader dd on CPU 1, the daemons unpinned; none leaves
# all three to the scheduler (see docs/DESIGN.md, "bench: dd placement").
#
# usage: bench/dd-floor.sh [-n MIB] [-r RUNS] [-p split|none] [MOUNT]
#   MOUNT  an ipcfs mount to use; default: mount one on a temp dir
#   -n     MiB per run (default 512)   -r  runs of each (default 3)
# Daemons: $IPCFS, $NULLFS, else build/ (BUILD=dir), else $PATH.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

mib=512 runs=3 place=split
while getopts n:r:p:h opt; do
	case $opt in
	n) mib=$OPTARG ;;
	r) runs=$OPTARG ;;
	p) place=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
wr=(env) rd=(env)
case $place in
split)	if [ "$(nproc)" -ge 2 ]; then wr=(taskset -c 0) rd=(taskset -c 1); else place=none; fi ;;
none)	;;
*)	die "-p: '$place' is neither split nor none" ;;
esac
ipcfs_mount "$@"
ipc=$MNT
bench_mount nullfs "$(nullfs_exe)"
null=$MNT

# one_run ROAD: "MB/s" of one transfer; checks the reader got every byte
one_run() {
	local file=$ipc/pipe count=() t0 t1 rpid got want=$((mib * 1048576)) rlog
	# the floor never ends a read: the reader stops after N MiB
	[ "$1" = pipe ] || file=$null/null count=(count="$mib" iflag=fullblock)
	rlog=$(mktemp)
	t0=$(date +%s.%N)
	"${rd[@]}" dd if="$file" of=/dev/null bs=1M "${count[@]}" 2>"$rlog" &
	rpid=$!
	BENCH_JOBS+=("$rpid")
	"${wr[@]}" dd if=/dev/zero of="$file" bs=1M count="$mib" 2>/dev/null
	wait "$rpid"
	t1=$(date +%s.%N)
	got=$(awk '/bytes/ { print $1; exit }' "$rlog")
	rm -f "$rlog"
	[ "$got" = "$want" ] || die "$1: the reader got ${got:-?} bytes of $want"
	awk -v b="$want" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f\n", b / 1e6 / (t1 - t0) }'
}

echo "# dd bs=1M, $mib MiB per run, $runs runs each, interleaved; MB = 10^6 B"
echo "# pipe: $ipc/pipe (writer dd -> ipcfs -> pipe(2) -> ipcfs -> reader dd)"
echo "# floor: $null/null (nullfs: writes discarded, reads give zeros)"
if [ "$place" = split ]; then
	echo "# placement: split: writer dd on CPU 0, reader dd on CPU 1, daemons unpinned; $(nproc) CPUs"
else
	echo "# placement: none (dd, dd and the daemon unpinned); $(nproc) CPUs"
fi
pipe_all=() floor_all=()
for i in $(seq "$runs"); do
	p=$(one_run pipe)
	f=$(one_run floor)
	pipe_all+=("$p") floor_all+=("$f")
	printf 'run %d: pipe %8.1f MB/s   floor %8.1f MB/s\n' "$i" "$p" "$f"
done
p=$(printf '%s\n' "${pipe_all[@]}" | median)
f=$(printf '%s\n' "${floor_all[@]}" | median)
awk -v p="$p" -v f="$f" 'BEGIN {
	printf "median: pipe %.1f MB/s, floor %.1f MB/s, pipe/floor = %.1f%% (target >= 80%%)\n",
		p, f, 100 * p / f }'
