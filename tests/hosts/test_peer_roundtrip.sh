#!/usr/bin/env bash
# test_peer_roundtrip.sh - B reads and writes A's channels through
# MNT_B/net/a, every transport:
#  - B's stats has `peer a addr=169.254.77.1:7700 state=up ... inflight=0`;
#    net/a lists what A's root lists;
#  - a line written on B is read on A and one written on A is read on B
#    (echo, cat);
#  - byte transports: 256 KiB by dd each way (readers with
#    iflag=fullblock), byte for byte;
#  - message transports: clients/msg_client.c through net/a (one write one
#    message, short reads, EOF; EMSGSIZE past the transport's bound);
#  - a file open on B is a reader of A's channel (A's stats) until closed;
#  - mkdir/rmdir in net/a act on A, and a channel of the new directory
#    works across; net/ itself takes no mkdir.
. "$(dirname "$0")/lib.sh"

need_fuse
client mc msg_client
hosts_up
keys_make
start_a
start_b
wait_for 20 peer_is up ||
	die "peer a not up after 20 s: state=$(peer_stat state) err=$(peer_stat err)"
pass "peer a is up"
expect "stats: addr of peer a" "$(peer_stat addr)" "$HOST_A:$PORT"
[[ $(peer_stat rtt_us) =~ ^[0-9]+$ ]] && pass "stats: rtt_us=$(peer_stat rtt_us)" ||
	fail "stats: rtt_us='$(peer_stat rtt_us)', want a number"
expect "stats: nothing in flight" "$(peer_stat inflight)" 0
expect "net/ holds the peer only" "$(ls "$MNT_B/net" | tr '\n' ' ')" "a "
expect "net/a lists A's root" "$(ls "$MNT_B/net/a" | tr '\n' ' ')" \
	"$(ls "$MNT_A" | tr '\n' ' ')"
[ -n "$(remote_transports)" ] || die "no transport files in net/a"

roundtrip_one() {
	local t=$1 a=$MNT_A/$1 b=$MNT_B/net/a/$1 r max

	timeout -k 1 10 sh -c "echo b-to-a > $b" || fail "$t: echo > net/a/$t failed"
	expect "$t: B's line read on A" "$(timeout -k 1 10 cat "$a")" b-to-a
	timeout -k 1 10 sh -c "echo a-to-b > $a" || fail "$t: echo > $t on A failed"
	expect "$t: A's line read on B" "$(timeout -k 1 10 cat "$b")" a-to-b

	if ! is_msg "$t"; then
		head -c 262144 /dev/urandom >"$SCRATCH/src.$t"
		for dir in b-to-a a-to-b; do
			local from=$b to=$a
			[ $dir = a-to-b ] && from=$a to=$b
			timeout -k 1 30 dd if="$to" of="$SCRATCH/dst.$t" bs=64K \
				iflag=fullblock status=none &
			r=$!
			timeout -k 1 30 dd if="$SCRATCH/src.$t" of="$from" bs=64K \
				status=none || fail "$t: dd $dir: writer failed"
			wait "$r" || fail "$t: dd $dir: reader failed"
			cmp -s "$SCRATCH/src.$t" "$SCRATCH/dst.$t" &&
				pass "$t: 256 KiB by dd $dir" ||
				fail "$t: dd $dir: $(stat -c %s "$SCRATCH/dst.$t") bytes read, not the 262144 written"
		done
	else
		max=$(msg_max "$t")
		if timeout -k 2 60 "$mc" "$b" $max >"$SCRATCH/mc.$t" 2>&1; then
			pass "$t: msg_client through net/a: $(grep -c '^ok:' "$SCRATCH/mc.$t") checks${max:+ (limit $max)}"
		else
			fail "$t: msg_client through net/a failed:"
			grep -v '^ok:' "$SCRATCH/mc.$t" | sed 's/^/    /' >&2
		fi
	fi
}
each_transport roundtrip_one $(remote_transports)

# an open on B is a handle on A
sleep 60 <"$MNT_B/net/a/pipe" &
holder=$!
wait_for 10 eval '[ "$(stat_of "$MNT_A" pipe readers)" = 1 ]' &&
	pass "a reader open on B counts as a reader on A" ||
	fail "A's pipe has readers=$(stat_of "$MNT_A" pipe readers) while B holds it open"
expect "net/a/stats says the same" "$(stat_of "$MNT_B/net/a" pipe readers)" 1
kill "$holder"
wait "$holder" 2>/dev/null
wait_for 10 eval '[ "$(stat_of "$MNT_A" pipe readers)" = 0 ]' &&
	pass "closed on B, released on A" ||
	fail "A's pipe still has readers=$(stat_of "$MNT_A" pipe readers) after B closed"

# directories
timeout -k 1 5 mkdir "$MNT_B/net/a/d1" && pass "mkdir net/a/d1" || fail "mkdir net/a/d1 failed"
[ -d "$MNT_A/d1" ] && pass "... made d1 on A" || fail "... but A has no d1"
timeout -k 1 10 sh -c "echo in-d1 > $MNT_B/net/a/d1/pipe"
expect "a channel of the new directory works across" \
	"$(timeout -k 1 10 cat "$MNT_A/d1/pipe")" in-d1
timeout -k 1 5 rmdir "$MNT_B/net/a/d1" && pass "rmdir net/a/d1" || fail "rmdir net/a/d1 failed"
if [ ! -e "$MNT_A/d1" ]; then
	pass "... removed d1 on A"
elif wait_for 3 eval '[ ! -e "$MNT_A/d1" ]'; then
	fail "... but A's kernel kept d1 until its entry timed out (A must" \
	     "invalidate its own mount's entry when a peer removes one)"
else
	fail "... but A still has d1"
fi
timeout -k 1 5 mkdir "$MNT_B/net/x" 2>/dev/null && fail "mkdir in net/ itself worked" ||
	pass "net/ takes no mkdir"
expect "nothing left in flight" "$(peer_stat inflight)" 0
[ "$(peer_stat early)" -gt 0 ] 2>/dev/null &&
	pass "writes answered early (A had room): $(peer_stat early)" ||
	fail "no write was answered early: early=$(peer_stat early)"
check_b

finish
