#!/usr/bin/env bash
# test_peer_link.sh - the link between the hosts fails in the middle of
# two transfers, one each way (B -> A through net/a/pipe, A -> B through
# net/a/fifo), each a stream of numbered lines "rec N":
#  - B's end of the veth set down for 3 s, then up;
#  - then an nftables table in B dropping all traffic to and from A for
#    3 s, then removed;
# both shorter than peer_timeout (10 s here): the transfers go on once
# the link is back, and each reader gets every line exactly once, in
# order, then EOF. B's peer is up and has nothing in flight at the end.
PEER_TIMEOUT=10
. "$(dirname "$0")/lib.sh"

need_fuse
command -v nft >/dev/null || skip "nft is not installed (Debian: nftables)"
two_hosts
pass "peer a is up"

# numbered lines until SCRATCH/stop.ID exists; the count in count.ID
gen() {
	local i=0

	while [ ! -e "$SCRATCH/stop.$1" ]; do
		i=$((i + 1))
		printf 'rec %d\n' "$i"
	done
	echo "$i" >"$SCRATCH/count.$1"
}

# transfer ID FROM TO: reader of TO first, then gen | dd into FROM
transfer() {
	timeout -k 1 120 cat "$3" >"$SCRATCH/out.$1" &
	eval "reader_$1=\$!"
	( gen "$1" | timeout -k 1 120 dd of="$2" bs=4096 iflag=fullblock \
		status=none ) &
	eval "writer_$1=\$!"
}

size_of_out() { stat -c %s "$SCRATCH/out.$1" 2>/dev/null || echo 0; }

# both outputs grow past what they held when called
both_grow() {
	local s1 s2

	s1=$(size_of_out ab) s2=$(size_of_out ba)
	wait_for 60 eval "[ \$(size_of_out ab) -gt $s1 ] && [ \$(size_of_out ba) -gt $s2 ]"
}

transfer ab "$MNT_B/net/a/pipe" "$MNT_A/pipe"
transfer ba "$MNT_A/fifo" "$MNT_B/net/a/fifo"
both_grow || die "the transfers do not move"
pass "both transfers run"

for outage in link nft; do
	alive "$writer_ab" && alive "$writer_ba" || die "a writer ended early"
	if [ $outage = link ]; then
		link_down
		sleep 3
		link_up
	else
		nft_drop "$NS_B"
		sleep 3
		nft_pass "$NS_B"
	fi
	both_grow && pass "both transfers go on after the $outage outage" ||
		fail "a transfer is stuck after the $outage outage" \
		     "(peer a: $(peer_stat state) err=$(peer_stat err))"
done

touch "$SCRATCH/stop.ab" "$SCRATCH/stop.ba"
for id in ab ba; do
	eval "w=\$writer_$id r=\$reader_$id"
	wait_gone "$w" 60 && wait "$w" || fail "$id: the writer failed"
	wait_gone "$r" 60 && wait "$r" || fail "$id: the reader failed or got no EOF"
	want=$(cat "$SCRATCH/count.$id" 2>/dev/null)
	if awk -v want="$want" '
		$0 != "rec " NR { printf "line %d is \"%s\"\n", NR, $0; bad = 1; exit }
		END { if (!bad && NR != want) { printf "%d lines, want %d\n", NR, want; bad = 1 }
		      exit bad }' "$SCRATCH/out.$id" >"$SCRATCH/check.$id"; then
		pass "$id: all $want lines once, in order, then EOF"
	else
		fail "$id: $(cat "$SCRATCH/check.$id")"
	fi
done
peer_is up || fail "peer a is $(peer_stat state) at the end"
expect "nothing in flight" "$(peer_stat inflight)" 0
alive "$PID_A" || fail "A's daemon died"
check_b

finish
