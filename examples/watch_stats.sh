#!/usr/bin/env bash
# watch_stats.sh - watch `stats` while a message queue fills up and drains.
#
# Shows: a writer with nobody reading fills the queue (10 messages by
# default) and then waits: the stats line shows queued bytes growing, then
# parked_writes=1 (backpressure, nothing dropped); st_size (ls -l) is the
# queued bytes too. A reader then takes all 12 messages and the numbers go
# back to 0. Works in a directory of its own (mkdir), removed at the end.
#
# Run:	examples/watch_stats.sh /mnt/ipc
#
# What you should see (abridged; msgs_out counts what went in, msgs_in
# what came out):
#	0.0s   msgs_in=0 msgs_out=1 queued=10 ... parked_writes=0 st_size=10
#	0.6s   msgs_in=0 msgs_out=10 queued=100 ... parked_writes=1 st_size=100
#	reader got 12 messages
#	end    msgs_in=12 msgs_out=12 queued=0 ... parked_writes=0 st_size=0
set -eu
M=${1:?usage: watch_stats.sh MOUNTPOINT}

[ -f "$M/stats" ] || { echo "watch_stats.sh: $M is not an ipcfs mount" >&2; exit 1; }
D=$M/watch.$$
mkdir "$D"
trap 'rmdir "$D" 2>/dev/null' EXIT

show() {
	local line
	line=$(grep '^name=mqueue ' "$D/stats" | tr ' ' '\n' |
	       grep -E '^(queued|msgs_in|msgs_out|readers|writers|parked_writes)=' | tr '\n' ' ')
	printf '%-6s %sst_size=%s\n' "$1" "$line" "$(stat -c %s "$D/mqueue")"
}

# 12 messages of 10 bytes, one write() each, from one writer
( for i in $(seq 1 12); do printf 'message %02d' "$i"; sleep 0.05; done ) \
	| dd of="$D/mqueue" bs=10 iflag=fullblock status=none &
writer=$!

t0=$(date +%s%N)
for _ in $(seq 1 8); do
	show "$(awk -v ns=$(( $(date +%s%N) - t0 )) 'BEGIN { printf "%.1fs", ns / 1e9 }')"
	sleep 0.2
done
echo "reader got $(timeout 10 cat "$D/mqueue" | grep -o 'message' | wc -l) messages"
wait "$writer"
show end
