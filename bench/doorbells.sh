#!/usr/bin/env bash
# doorbells.sh - one ring, five ways to wake up: the README's doorbell
# table. The same single-producer/single-consumer ring (transports/ring.c)
# ping-pongs 100 B directly between two processes, woken by spinning
# (shm --spin), a futex (shm), an eventfd (eventfd), a System V semaphore
# (sysvshm) or an io_uring MSG_RING (uring), on one CPU (--cpus same) and
# on two (--cpus split). Rows: rt/s, one-way p50/p99 and the CPU both
# processes used per round trip (parent + child). With -w sleep (the
# default) every wait sleeps on its doorbell at once (--sleep), so a row
# is what its doorbell costs; with -w default a waiter spins ~1 us and
# yields ~50 us first, as the rings normally do, and seldom rings at all.
#
# usage: bench/doorbells.sh [-d SECONDS] [-s SIZE] [-r RUNS] [-w sleep|default]
#   -d  timed seconds per row (default 2)    -s  message size (default 100)
#   -r  runs of each row, the one with the median rt/s kept (default 1)
# Prints a Markdown table. The bench: $BUILD/bench/direct (default build/).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

secs=2 size=100 runs=1 wait=sleep
parse_opts "d:secs s:size r:runs w:wait" "$@"
direct=$BUILD/bench/direct
[ -x "$direct" ] || die "no $direct: build first (BUILD=dir)"
case $wait in
sleep) how=--sleep ;;
default) how= ;;
*) die "-w: '$wait' is neither sleep nor default" 2 ;;
esac

# row TRANSPORT CPUS [FLAG]: the CSV line of the run with the median rt/s
row() {
	local i
	for i in $(seq "$runs"); do
		"$direct" -t "$1" -s "$size" -d "$secs" --road direct \
			--cpus "$2" --format csv ${3:+"$3"} 2>/dev/null | sed -n 2p
	done | sort -t, -k7,7g | sed -n "$(((runs + 1) / 2))p"
}

echo "| doorbell | transport | cpus | rt/s | one-way p50 / p99 [us] | CPU [us] per rt |"
echo "|---|---|---|---:|---:|---:|"
for cpus in same split; do
	for spec in "spin:shm:--spin" "futex:shm:$how" "eventfd:eventfd:$how" \
		    "SysV semaphore:sysvshm:$how" "MSG_RING:uring:$how"; do
		IFS=: read -r name t flag <<<"$spec"
		# mode,transport,size,warmup,count,seconds,msg_per_s,mb_per_s,
		# avg,min,p50,p99,p999,max,cpu_us_per_msg,...,status (21)
		row "$t" "$cpus" "$flag" | awk -F, -v n="$name" -v t="$t" \
			-v c="$cpus" -v f="${flag:+ $flag}" '$21 == "ok" {
			printf "| %s | %s%s | %s | %d | %.2f / %.2f | %.2f |\n",
				n, t, f, c, $7, $11, $12, $15 }'
	done
done
