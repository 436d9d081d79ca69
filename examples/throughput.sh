#!/usr/bin/env bash
# throughput.sh - dd through every byte-stream transport of an ipcfs mount.
#
# Shows: how fast bytes go through each mechanism plus the FUSE hop, with
# nothing but dd: one dd writes MiB blocks into MOUNT/TRANSPORT while
# another reads them back out, and the time of the pair gives MB/s.
# Message transports (mqueue, udp, ...) are left out: they take one
# message per write, at most a few KiB to 64 KiB.
#
# Run:	examples/throughput.sh /mnt/ipc [MiB per transport, default 256]
#
# What you should see: one line per transport, e.g.
#	transport       MiB   seconds      MB/s
#	pipe            256      0.45       596
# (numbers depend on the machine; every line must say the bytes arrived).
set -eu
M=${1:?usage: throughput.sh MOUNTPOINT [MiB]}
MIB=${2:-256}

[ -f "$M/stats" ] || { echo "throughput.sh: $M is not an ipcfs mount" >&2; exit 1; }
printf '%-10s %8s %9s %9s\n' transport MiB seconds MB/s
for t in pipe fifo unix tcp shm mmap file; do
	[ -f "$M/$t" ] || continue
	out=$(mktemp)
	t0=$(date +%s%N)
	dd if="$M/$t" of=/dev/null bs=1M 2>"$out" &
	reader=$!
	dd if=/dev/zero of="$M/$t" bs=1M count="$MIB" status=none
	wait "$reader"
	t1=$(date +%s%N)
	# dd's last line: "N bytes (...) copied, S s, R MB/s"
	got=$(awk '/copied/ { print $1 }' "$out")
	rm -f "$out"
	if [ "$got" != $((MIB << 20)) ]; then
		echo "throughput.sh: $t: read $got of $((MIB << 20)) bytes" >&2
		exit 1
	fi
	awk -v t="$t" -v m="$MIB" -v ns=$((t1 - t0)) 'BEGIN {
		s = ns / 1e9
		printf "%-10s %8d %9.2f %9.0f\n", t, m, s, m * 1048576 / s / 1e6 }'
done
