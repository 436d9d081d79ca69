#!/usr/bin/env bash
# test_peer_restart.sh - A killed -9 and started again at once, well
# within B's peer_timeout (10 s here): the new A answers with a session B
# does not know, so
#  - B's read that was waiting on the old A fails with ECONNRESET (not
#    ETIMEDOUT: B need not wait out peer_timeout);
#  - a file B opened on the old A fails with ECONNRESET at its next write;
#  - a new open on B works with the new A, and stats says state=up;
#  - the new A swept the old one's objects.
PEER_TIMEOUT=10
. "$(dirname "$0")/lib.sh"

need_fuse
two_hosts
pass "peer a is up"

timeout -k 1 60 cat "$MNT_B/net/a/pipe" >/dev/null 2>"$SCRATCH/read.err" &
reader=$!
# bash, not dash: dash says "I/O error" for any failed write
bash -c 'exec 8>"$1"; while [ ! -e "$2" ]; do sleep 0.05; done; echo x >&8' \
	bash "$MNT_B/net/a/fifo" "$SCRATCH/go" 2>"$SCRATCH/holder.err" &
holder=$!
wait_for 10 eval '[ "$(stat_of "$MNT_A" pipe parked_reads)" = 1 ]' ||
	fail "B's read is not parked on A"
wait_for 10 eval '[ "$(stat_of "$MNT_A" fifo writers)" = 1 ]' ||
	fail "B's open of fifo is not a writer on A"

old=$PID_A
rundir=$(rundir_of "$MNT_A")
kill -KILL "$PID_A"
reap_daemon "$PID_A" "$ERR_A" 137
start_a
pass "a new A runs"
wait_gone "$reader" 30 && pass "B's waiting read ended" ||
	fail "B's waiting read still waits 30 s after A restarted"
grep -q "Connection reset by peer" "$SCRATCH/read.err" &&
	pass "... with ECONNRESET" ||
	fail "... saying '$(cat "$SCRATCH/read.err")', want Connection reset by peer"
touch "$SCRATCH/go"
wait_gone "$holder" 30 || fail "the write on the old file still waits"
wait "$holder" && fail "a write on a file opened on the old A worked" ||
	pass "a write on a file opened on the old A fails"
grep -q "Connection reset by peer" "$SCRATCH/holder.err" &&
	pass "... with ECONNRESET" ||
	fail "... saying '$(cat "$SCRATCH/holder.err")', want Connection reset by peer"

wait_for 20 peer_is up && pass "stats: state=up with the new A" ||
	fail "stats: state=$(peer_stat state) with the new A"
timeout -k 1 10 sh -c "echo new-a > $MNT_B/net/a/pipe"
expect "a new open reaches the new A" "$(timeout -k 1 10 cat "$MNT_A/pipe")" new-a
left=$( (leftovers "$old" "$rundir"; processes_of "$old") | sort -u)
[ -z "$left" ] && pass "the new A swept the old one's objects" ||
	fail "the old A's objects are left: $(echo $left)"
check_b

finish
