#!/usr/bin/env bash
# test_peer_flow.sh - a local file's rules across the wire (net/a on B):
#  - EOF: a reader on B ends when the last writer closes, whichever host
#    it is on: not while a writer on B still holds the file open after
#    A's writer closed;
#  - backpressure: a writer on B of 16 MiB into A's pipe with no reader
#    waits once A's channel is full; B's daemon does not take the bytes
#    in (its memory stays within a few MiB); then a reader on A gets all
#    16 MiB and the writer ends;
#  - Ctrl-C: SIGINT ends a remote read waiting on an empty channel and a
#    remote write waiting on a full one; A's parked requests go back to
#    0 and the channel works after; clients/poll_client.c intr: EINTR,
#    nothing lost;
#  - O_NONBLOCK: clients/poll_client.c nonblock through net/a;
#  - 4 writers x 4 readers split across the hosts (two of each on A, two
#    on B, clients/writers_client.c), every record (message transports)
#    or every byte (byte transports) exactly once; on byte transports
#    also 4 writers across the hosts and one reader on B, every record
#    whole (up to PIPE_BUF), once, in its writer's order.
. "$(dirname "$0")/lib.sh"

need_fuse
client pc poll_client
client wc_ writers_client
two_hosts
pass "peer a is up"
A=$MNT_A B=$MNT_B/net/a

# --- EOF across hosts
timeout -k 1 30 cat "$B/fifo" >"$SCRATCH/eof.out" &
reader=$!
sleep 30 >"$B/fifo" &
writer_b=$!
timeout -k 1 10 sh -c "echo from-a > $A/fifo"
wait_for 10 eval '[ -s "$SCRATCH/eof.out" ]' ||
	fail "the reader on B did not get A's line"
alive "$reader" && pass "no EOF on B while B's own writer holds the file" ||
	fail "B's reader ended while a writer on B still had the file open"
kill "$writer_b"
wait "$writer_b" 2>/dev/null
wait_gone "$reader" 10 && pass "EOF on B once the last writer (on B) closed" ||
	fail "B's reader still waits after every writer closed"
expect "B's reader got A's line" "$(cat "$SCRATCH/eof.out")" from-a

timeout -k 1 30 cat "$A/pipe" >"$SCRATCH/eof2.out" &
reader=$!
timeout -k 1 10 sh -c "echo from-b > $B/pipe"
wait_gone "$reader" 10 && pass "EOF on A once B's writer closed" ||
	fail "A's reader still waits after B's writer closed"
expect "A's reader got B's line" "$(cat "$SCRATCH/eof2.out")" from-b

# --- backpressure
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
rss0=$(rss_kb "$PID_B")
timeout -k 1 60 dd if=/dev/zero of="$B/pipe" bs=64K count=256 status=none &
writer=$!
cap=$(stat_of "$A" pipe capacity)
wait_for 20 eval '[ "$(stat_of "$A" pipe queued)" -ge "$cap" ] 2>/dev/null' &&
	pass "B's writer filled A's pipe ($cap bytes)" ||
	fail "A's pipe holds $(stat_of "$A" pipe queued) of $cap bytes"
wait_for 10 eval '[ "$(stat_of "$A" pipe parked_writes)" = 1 ]' &&
	pass "B's write is parked on A, as a local one" ||
	fail "A's pipe has parked_writes=$(stat_of "$A" pipe parked_writes)"
alive "$writer" && pass "the writer on B waits" || fail "the writer on B did not wait"
grow=$(( $(rss_kb "$PID_B") - rss0 ))
[ "$grow" -lt 8192 ] && pass "B's daemon holds no backlog (RSS +$grow KiB)" ||
	fail "B's daemon grew by $grow KiB while its writer waited"
n=$(timeout -k 1 60 cat "$A/pipe" | wc -c)
expect "A's reader got all 16 MiB" "$n" $((64 * 1024 * 256))
wait_gone "$writer" 10 && pass "the writer on B ended" || fail "the writer on B still waits"

# --- Ctrl-C of remote requests
timeout -k 2 -s INT 1 cat "$B/fifo" >/dev/null
expect "SIGINT ends a remote read waiting on an empty channel" "$?" 124
# a local writer on A fills the fifo and waits; then B's write waits too
cap=$(stat_of "$A" fifo capacity)
timeout -k 2 30 dd if=/dev/zero of="$A/fifo" bs=64K \
	count=$((cap / 65536 + 4)) status=none 2>/dev/null &
filler=$!
wait_for 10 eval '[ "$(stat_of "$A" fifo parked_writes)" = 1 ]' ||
	fail "A's fifo ($cap bytes) is not full: parked_writes=$(stat_of "$A" fifo parked_writes)"
timeout -k 2 -s INT 1 dd if=/dev/zero of="$B/fifo" bs=1000 status=none 2>/dev/null
expect "SIGINT ends a remote write waiting on a full channel" "$?" 124
kill_tree "$filler"
wait "$filler" 2>/dev/null
timeout -k 1 20 cat "$A/fifo" >/dev/null
for k in parked_reads parked_writes; do
	wait_for 10 eval "[ \"\$(stat_of \"$A\" fifo $k)\" = 0 ]" &&
		pass "A's fifo: $k back to 0" ||
		fail "A's fifo: $k=$(stat_of "$A" fifo $k) after the interrupts"
done
timeout -k 1 10 sh -c "echo after > $B/fifo"
expect "the channel works after" "$(timeout -k 1 10 cat "$A/fifo")" after
for mode in intr nonblock; do
	if timeout -k 2 60 "$pc" $mode "$B/pipe" >"$SCRATCH/pc.out" 2>&1; then
		pass "poll_client $mode through net/a: $(grep -c '^ok:' "$SCRATCH/pc.out") checks"
	else
		fail "poll_client $mode through net/a failed:"
		grep -v '^ok:' "$SCRATCH/pc.out" | sed 's/^/    /' >&2
	fi
done

# --- 4 writers x 4 readers, two of each on either host
split_one() {
	local t=$1 m= n=100

	is_msg "$t" && m=msg
	[ "$t" = signal ] && n=20	# 7 bytes a signal: keep it short
	if timeout -k 2 90 "$wc_" "$A/$t,$B/$t" 4 $n 4096 4 $m \
	   >"$SCRATCH/wc.$t" 2>&1; then
		pass "$t: 4x4 across hosts: $(tail -1 "$SCRATCH/wc.$t")"
	else
		fail "$t: 4x4 across hosts failed:"
		sed 's/^/    /' "$SCRATCH/wc.$t" | head -20 >&2
	fi
	[ -n "$m" ] && return
	# a byte stream's records are only whole for one reader: on B
	if timeout -k 2 90 "$wc_" "$B/$t,$A/$t" 4 $n 4096 1 \
	   >"$SCRATCH/wc1.$t" 2>&1; then
		pass "$t: 4 writers across hosts, 1 reader on B: $(tail -1 "$SCRATCH/wc1.$t")"
	else
		fail "$t: 4 writers across hosts, 1 reader on B failed:"
		sed 's/^/    /' "$SCRATCH/wc1.$t" | head -20 >&2
	fi
}
each_transport split_one $(remote_transports)
expect "nothing left in flight" "$(peer_stat inflight)" 0
alive "$PID_A" || fail "A's daemon died"
check_b

finish
