#!/usr/bin/env bash
# compare-perf.sh - pipe ping-pong three ways with the same placement, to
# hold bench/direct against a yardstick: `perf bench sched pipe` (two
# processes, 4 bytes each way; usecs/op = the mean round trip, fork
# included, no warm-up), `direct -t pipe -s 4` (the library) and its
# --baseline pipe(classic) (raw fds); round trip = 1 / msg/s.
#
# usage: bench/compare-perf.sh [-d DIRECT] [-n LOOPS] [-r REPEATS]
#                              [-p same|none] [-c CPUS]
#   -d  the direct binary (default $DIRECT, else build/bench/direct)
#   -n  round trips per measurement (default 200000)
#   -r  measurements of each, interleaved; medians are compared (default 3)
#   -p  same: all on one CPU (taskset -c CPU, direct --cpus same); none:
#       unpinned within CPUS (--cpus none). No "split": perf cannot put
#       its two processes on two given CPUs.
#   -c  CPU (same) or CPU list (none); default: the first allowed CPU, or
#       every allowed CPU
# Prints each measurement, then the medians and the ratios to perf.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

direct=${DIRECT:-build/bench/direct} loops=200000 repeats=3 place=same cpus=
parse_opts "d:direct n:loops r:repeats p:place c:cpus" "$@"
[ -x "$direct" ] || die "no direct binary at '$direct' (use -d or DIRECT=)" 2
command -v perf >/dev/null || die "perf not found (Debian: apt-get install linux-perf)" 77
command -v taskset >/dev/null || die "taskset not found (util-linux)" 77
case $loops in ''|*[!0-9]*|0) die "-n: '$loops' is not a count" 2 ;; esac
case $repeats in ''|*[!0-9]*|0) die "-r: '$repeats' is not a count" 2 ;; esac

# the CPUs we may use, as taskset prints them: "0,1" or "0-3"
allowed=$(taskset -cp $$ | sed 's/.*: *//')
case $place in
same) cpus=${cpus:-${allowed%%[-,]*}}
      case $cpus in *[!0-9]*) die "-c: '$cpus' is not one CPU" 2 ;; esac ;;
none) cpus=${cpus:-$allowed} ;;
*) die "-p: '$place' is not a placement (same, none)" 2 ;;
esac

echo "# pipe ping-pong, 4 bytes each way, $loops round trips x $repeats"
echo "# placement: $place (taskset -c $cpus for perf and direct; direct --cpus $place)"
echo "# $(uname -sr); $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1);" \
	"$(perf version 2>/dev/null)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "KIND RTT_US" lines: perf, pipe, pipe(classic)
for i in $(seq "$repeats"); do
	taskset -c "$cpus" perf bench sched pipe -l "$loops" >"$tmp/perf" 2>&1 ||
		{ cat "$tmp/perf" >&2; die "perf bench sched pipe failed"; }
	us=$(awk '/usecs\/op/ { print $1 }' "$tmp/perf")
	[ -n "$us" ] || { cat "$tmp/perf" >&2; die "no usecs/op from perf"; }
	echo "perf $us" >"$tmp/run"
	taskset -c "$cpus" "$direct" --road direct --transport pipe --size 4 --count "$loops" \
		--cpus "$place" --baseline --format csv >"$tmp/direct" || die "direct failed (exit $?)"
	# mode,transport,size,warmup,count,seconds,msg_per_s,...,status (21)
	awk -F, 'NR > 1 && $21 == "ok" { printf "%s %.4f\n", $2, 1e6 / $7 }' \
		"$tmp/direct" >>"$tmp/run"
	[ "$(grep -c '^pipe' "$tmp/run")" -ge 2 ] || die "direct printed no pipe rows"
	awk -v i="$i" '{ v[$1] = $2 } END { printf "run %d: perf %.3f us, direct pipe %.3f us, " \
		"pipe(classic) %.3f us (round trip)\n", i, v["perf"], v["pipe"], v["pipe(classic)"] }' \
		"$tmp/run"
	cat "$tmp/run" >>"$tmp/all"
done

printf '\n%-28s %12s %14s %9s\n' "median of runs" "RTT [us]" "round trips/s" "vs perf"
p=$(awk '$1 == "perf" { print $2 }' "$tmp/all" | median)
for k in perf pipe "pipe(classic)"; do
	m=$(awk -v k="$k" '$1 == k { print $2 }' "$tmp/all" | median)
	[ "$k" = perf ] && name="perf bench sched pipe" || name="direct $k"
	awk -v n="$name" -v m="$m" -v p="$p" 'BEGIN { printf "%-28s %12.3f %14.0f %9.2f\n", n, m, 1e6 / m, m / p }'
done
