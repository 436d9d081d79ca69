#!/usr/bin/env bash
# dd-floor.sh - bulk bandwidth of ipcfs's pipe file against the FUSE floor
# (nullfs's one file, writes discarded, reads give zeros) with dd, 1 MiB
# blocks (-b): a writer dd and a reader dd to end of file (on the floor the
# reader stops after N MiB). MB/s = N MiB in 10^6-byte MB over the wall
# time of both. Prints each run, the medians and pipe/floor (target >= 80%).
#
# usage: bench/dd-floor.sh [-n MIB] [-r RUNS] [-b BS] [-p split|none] [MOUNT]
#   MOUNT  an ipcfs mount to use; default: mount one on a temp dir
#   -n     MiB per run (default 512)   -r  runs of each (default 3)
#   -b     dd's block size, both sides: 4k, 64k, 1M... (default 1M)
#   -p     split (default, with 2 CPUs or more): writer dd on CPU 0, reader
#          on CPU 1, daemons unpinned; none: all to the scheduler (see
#          docs/DESIGN.md, "bench: dd placement")
# Daemons: $IPCFS, $NULLFS, else build/ (BUILD=dir), else $PATH.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

mib=512 runs=3 place=split bs=1M
parse_opts "n:mib r:runs b:bs p:place" "$@"
shift $((OPTIND - 1))
[[ $bs =~ ^[1-9][0-9]{0,6}[kKM]?$ ]] || die "-b: '$bs' is not a block size (4k, 64k, 1M)"
bytes=$(numfmt --from=iec "${bs^^}")
[ $((mib * 1048576 % bytes)) = 0 ] || die "-b: $bs does not divide $mib MiB"
blocks=$((mib * 1048576 / bytes))
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
	[ "$1" = pipe ] || file=$null/null count=(count="$blocks" iflag=fullblock)
	rlog=$(mktemp)
	t0=$(date +%s.%N)
	"${rd[@]}" dd if="$file" of=/dev/null bs="$bytes" "${count[@]}" 2>"$rlog" &
	rpid=$!
	BENCH_JOBS+=("$rpid")
	"${wr[@]}" dd if=/dev/zero of="$file" bs="$bytes" count="$blocks" 2>/dev/null
	wait "$rpid"
	t1=$(date +%s.%N)
	got=$(awk '/bytes/ { print $1; exit }' "$rlog")
	rm -f "$rlog"
	[ "$got" = "$want" ] || die "$1: the reader got ${got:-?} bytes of $want"
	awk -v b="$want" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f\n", b / 1e6 / (t1 - t0) }'
}

echo "# dd bs=$bs, $mib MiB per run, $runs runs each, interleaved; MB = 10^6 B"
echo "# pipe: $ipc/pipe (writer dd -> ipcfs -> pipe(2) -> ipcfs -> reader dd)"
echo "# floor: $null/null (nullfs: writes discarded, reads give zeros)"
how="split: writer dd on CPU 0, reader dd on CPU 1, daemons unpinned"
[ "$place" = split ] || how="none (dd, dd and the daemon unpinned)"
echo "# placement: $how; $(nproc) CPUs"
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
