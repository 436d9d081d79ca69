#!/usr/bin/env bash
# test_peer_faults.sh - peers that are not there, not trusted, or killed:
#  - unreachable at start: B mounts without A; its stats says
#    state=connecting (or lost) with an errno, `ls net/a` fails at once
#    with EHOSTUNREACH, B's own files work; once A starts, B gets through
#    by itself;
#  - a peer with a key A does not trust: refused, and A logs it with the
#    peer's address and key; that peer's net/a stays EHOSTUNREACH;
#  - 64 KiB of garbage, and a ZeroMQ client without CURVE, at A's port:
#    A logs the refusal, lives on, and B's peering still works;
#  - 20 connections to A's port that never say a word: A drops them
#    within its peer_timeout (10 s) and a margin, not libzmq's 30 s,
#    while the client still holds them;
#  - A stopped (SIGSTOP): a write on B is answered early, its close(2)
#    waits, a signal ends that wait (before the peer could time out), and
#    once A goes on the write reaches it and the reader gets EOF;
#  - A killed with SIGKILL while B has a read and a write waiting on it:
#    both fail with ETIMEDOUT within peer_timeout (and a margin); a write
#    made on B just after is answered at once (early: A had room) and
#    its close(2) waits for it and reports ETIMEDOUT; one whose close(2)
#    a signal cut short fails with nobody to tell: B logs it and counts
#    it (stats lost=1); then
#    net/a is EHOSTUNREACH and stats says state=lost; B keeps serving its
#    own files; the next daemon sweeps the dead A's objects.
. "$(dirname "$0")/lib.sh"

need_fuse
client zp zmq_push
client fo fsops
hosts_up
keys_make

# --- A not there yet
start_b
pass "B mounts while A is unreachable"
wait_for 10 eval 'peer_is connecting || peer_is lost' &&
	pass "stats: peer a state=$(peer_stat state) err=$(peer_stat err)" ||
	fail "stats: peer a state='$(peer_stat state)', want connecting or lost"
[ -n "$(peer_stat err)" ] || fail "stats: peer a has no err="
err=$(errno_of timeout -k 1 5 ls "$MNT_B/net/a")
case $err in
*"No route to host"*) pass "ls net/a: $err" ;;
*) fail "ls net/a while A is unreachable: '$err', want No route to host" ;;
esac
timeout -k 1 5 sh -c "echo local > $MNT_B/pipe"
expect "B's own files work meanwhile" "$(timeout -k 1 5 cat "$MNT_B/pipe")" local
start_a
wait_for 30 peer_is up && pass "peer a up once A started" ||
	fail "peer a still $(peer_stat state) 30 s after A started"
timeout -k 1 10 sh -c "echo late > $MNT_B/net/a/pipe"
expect "net/a works then" "$(timeout -k 1 10 cat "$MNT_A/pipe")" late

# --- a key A does not trust
"$IPCFS" --genkey "$KEYS/c" >/dev/null || die "ipcfs --genkey c"
echo "a $(cat "$KEYS/a.pub")" >"$KEYS/trust.c"
DAEMON_NETNS=$NS_B mount_ipcfs -o "peer=a=$HOST_A:$PORT,key=$KEYS/c" \
	-o "trust=$KEYS/trust.c,peer_timeout=$PEER_TIMEOUT"
MNT_C=$MNT
line="$HOST_B: key $(cat "$KEYS/c.pub")"
wait_for 20 grep -qF "$line" "$ERR_A" &&
	pass "A refused and logged the untrusted key: $(grep -F "$line" "$ERR_A" | head -1)" ||
	fail "A's log has no refusal of $line"
st=$(MNT_B=$MNT_C peer_stat state)
case $st in
connecting|lost) pass "the untrusted peer's stats: state=$st" ;;
*) fail "the untrusted peer's stats: state='$st'" ;;
esac
err=$(errno_of timeout -k 1 5 ls "$MNT_C/net/a")
case $err in
*"No route to host"*) pass "the untrusted peer's net/a: $err" ;;
*) fail "the untrusted peer's ls net/a: '$err', want No route to host" ;;
esac
unmount_ipcfs "$MNT_C"
peer_is up || fail "B's trusted peering suffered: $(peer_stat state)"

# --- not ZeroMQ, or ZeroMQ without CURVE, at A's port
# (garbage that is not ZMTP, libzmq drops unseen: nothing to log; which
# side of a mechanism mismatch hangs up first is a race: A logs "not
# CURVE (mechanism mismatch)" or "a handshake ... failed")
head -c 65536 /dev/urandom |
	in_ns "$NS_B" timeout -k 1 10 socat -u - "TCP:$HOST_A:$PORT" 2>/dev/null
refusals() { grep -cE "ipcfs: net: (refused|a handshake)" "$ERR_A"; }
n=$(refusals)
in_ns "$NS_B" timeout -k 1 10 "$zp" "tcp://$HOST_A:$PORT" hello &
wait_for 20 eval '[ "$(refusals)" -gt "$n" ]' &&
	pass "A refused and logged a client without CURVE: $(tail -1 "$ERR_A")" ||
	fail "A's log has no refusal of a client without CURVE"
alive "$PID_A" && pass "A survives 64 KiB of garbage at its port" ||
	die "A died of garbage at its port: $(tail -3 "$ERR_A")"
timeout -k 1 10 sh -c "echo still-up > $MNT_B/net/a/pipe"
expect "B's peering works after" "$(timeout -k 1 10 cat "$MNT_A/pipe")" still-up

# --- silent connections at A's port cost A a descriptor each: not for long
a_conns() {
	in_ns "$NS_A" ss -Htn state established "( sport = :$PORT )" | wc -l
}
base=$(a_conns)
touch "$SCRATCH/hold"	# the client holds its connections while it is there
in_ns "$NS_B" timeout -k 1 60 bash -c "for i in \$(seq 20); do
	exec {fd}<>/dev/tcp/$HOST_A/$PORT || exit 1; done
	while [ -e '$SCRATCH/hold' ]; do sleep 0.1; done" &
silent=$!
wait_for 10 eval '[ "$(a_conns)" -ge $((base + 20)) ]' ||
	fail "A holds $(a_conns) connections, want $base + 20 silent ones"
t0=$(now)
wait_for 20 eval '[ "$(a_conns)" -le "$base" ]' &&
	pass "A dropped 20 silent connections $(secs_since "$t0") s later" ||
	fail "A still holds $(a_conns) connections 20 s later ($base before)"
alive "$silent" || fail "the silent client did not hold its connections"
rm -f "$SCRATCH/hold"
wait "$silent"
peer_is up || fail "B's peering suffered: $(peer_stat state)"

# --- close(2) waits for a write answered early; a signal ends the wait
# (A stopped: B still counts it as up for peer_timeout, which none of
# these steps comes near)
mkfifo "$SCRATCH/go1"
"$fo" writeclose "$MNT_B/net/a/unix" stopped <"$SCRATCH/go1" \
	>"$SCRATCH/stopped.out" 2>&1 &
closer=$!
exec 7>"$SCRATCH/go1"
wait_for 10 eval '[ "$(stat_of "$MNT_A" unix writers)" = 1 ]' ||
	fail "B's writer of unix is not open on A"
kill -STOP "$PID_A"
echo go >&7
exec 7>&-
wait_for 10 eval 'grep -q OK "$SCRATCH/stopped.out"' &&
	pass "a write to a stopped A is answered early" ||
	fail "the write to a stopped A said '$(cat "$SCRATCH/stopped.out")'"
alive "$closer" && pass "its close(2) waits for it" ||
	fail "close(2) did not wait for the early write"
kill -TERM "$closer"	# (SIGINT: ignored by a background job here)
wait_gone "$closer" 10 || fail "SIGTERM did not end close(2)'s wait"
peer_is up && pass "SIGTERM ended close(2)'s wait, not the peer's timeout" ||
	fail "close(2) waited until the peer was $(peer_stat state)"
kill -CONT "$PID_A"
expect "the early write reached A once it went on, then EOF" \
	"$(timeout -k 1 10 cat "$MNT_A/unix")" stopped

# --- A killed while B waits on it
timeout -k 1 60 cat "$MNT_B/net/a/pipe" >/dev/null 2>"$SCRATCH/read.err" &
reader=$!
timeout -k 1 60 dd if=/dev/zero of="$MNT_B/net/a/fifo" bs=64K count=64 \
	status=none 2>"$SCRATCH/write.err" &
writer=$!
wait_for 10 eval '[ "$(stat_of "$MNT_A" pipe parked_reads)" = 1 ]' ||
	fail "B's read is not parked on A"
wait_for 10 eval '[ "$(stat_of "$MNT_A" fifo parked_writes)" = 1 ]' ||
	fail "B's write is not parked on A"
mkfifo "$SCRATCH/go"
timeout -k 1 60 "$fo" writeclose "$MNT_B/net/a/unix" early \
	<"$SCRATCH/go" >"$SCRATCH/early.out" 2>&1 &
late=$!
exec 7>"$SCRATCH/go"
mkfifo "$SCRATCH/go2"
"$fo" writeclose "$MNT_B/net/a/tcp" cut <"$SCRATCH/go2" \
	>"$SCRATCH/cut.out" 2>&1 &
cut=$!
exec 8>"$SCRATCH/go2"
wait_for 10 eval '[ "$(stat_of "$MNT_A" unix writers)" = 1 ]' ||
	fail "B's writer of unix is not open on A"
wait_for 10 eval '[ "$(stat_of "$MNT_A" tcp writers)" = 1 ]' ||
	fail "B's writer of tcp is not open on A"
rundir=$(rundir_of "$MNT_A")
kill -KILL "$PID_A"
echo go >&7	# well within peer_timeout: B still counts A as up
exec 7>&-
echo go >&8
exec 8>&-
wait_for 10 eval 'grep -q OK "$SCRATCH/cut.out"' ||
	fail "the write to a dead A said '$(cat "$SCRATCH/cut.out")'"
kill -TERM "$cut"	# its close(2) waits: cut it short
wait_gone "$cut" 10 || fail "SIGTERM did not end close(2)'s wait"
peer_is up || fail "the peer was $(peer_stat state) before the close was cut"
reap_daemon "$PID_A" "$ERR_A" 137
t0=$(now)
limit=$((PEER_TIMEOUT + 10))
wait_gone "$reader" $limit && wait_gone "$writer" $limit &&
	pass "B's waiting read and write ended $(secs_since "$t0") s after A died" ||
	fail "B's waiters still wait $limit s after A died"
wait_gone "$late" $limit || fail "the late writer's close still waits"
expect "a write after A died is answered early; its close says ETIMEDOUT" \
	"$(tr '\n' ' ' <"$SCRATCH/early.out")" "OK ETIMEDOUT "
for f in read write; do
	grep -q "Connection timed out" "$SCRATCH/$f.err" &&
		pass "the waiting $f failed with ETIMEDOUT" ||
		fail "the waiting $f said '$(cat "$SCRATCH/$f.err")', want Connection timed out"
done
wait_for 10 peer_is lost && pass "stats: state=lost err=$(peer_stat err)" ||
	fail "stats: state=$(peer_stat state) after A died"
expect "a write answered early whose close was cut short is counted lost" \
	"$(peer_stat lost)" 1
grep -q "answered early, failed after its file was closed" "$ERR_B" &&
	pass "and logged" || fail "the lost write is not in B's log"
err=$(errno_of timeout -k 1 5 ls "$MNT_B/net/a")
case $err in
*"No route to host"*) pass "ls net/a after: $err" ;;
*) fail "ls net/a after A died: '$err', want No route to host" ;;
esac
timeout -k 1 5 sh -c "echo still > $MNT_B/pipe"
expect "B's own files still work" "$(timeout -k 1 5 cat "$MNT_B/pipe")" still
check_b

# the next daemon on the machine sweeps what A left, as for any daemon
# killed -9 (tests/mount/test_sigkill_daemon.sh)
mount_ipcfs
left=$( (leftovers "$PID_A" "$rundir"; processes_of "$PID_A") | sort -u)
[ -z "$left" ] && pass "the dead A's objects were swept" ||
	fail "the dead A's objects are left: $(echo $left)"

finish
