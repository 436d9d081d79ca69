#!/usr/bin/env bash
# test_netns.sh - the two-host harness itself (lib.sh), so that the
# peering tests' faults are real faults and leave nothing behind:
#  - the veth pair joins A and B, and nothing of it (interfaces,
#    addresses) is in the machine's own namespace;
#  - a TCP connection from B to A gets through; not while B's nftables
#    table drops 169.254.77.0/24 (a table in B only: the machine's own
#    nft ruleset does not show it), nor while B's end of the link is
#    down; again once they are undone;
#  - a daemon started in A's namespace mounts in ours;
#  - a test that dies, and one stopped by SIGTERM (meson's timeout),
#    leave no namespace, mount, daemon or listener behind.
. "$(dirname "$0")/lib.sh"

# a child run of this script: set up everything, then fail or wait to
# be stopped; tell the parent what to look for
if [ -n "${HOSTS_SELFTEST:-}" ]; then
	need_fuse
	hosts_up
	nft_drop "$NS_B"
	in_ns "$NS_A" socat TCP-LISTEN:7701,bind=$HOST_A,reuseaddr,fork \
		EXEC:/bin/true &
	DAEMON_NETNS=$NS_A mount_ipcfs
	echo "$$ $DAEMON_PID $! $MNT $SCRATCH" >"$HOSTS_SELFTEST_OUT"
	[ "$HOSTS_SELFTEST" = die ] && die "deliberate failure"
	while :; do
		sleep 0.1
	done
fi

need_fuse
hosts_up

[ -z "$(ip -o link show | grep -e "$VETH_A" -e "$VETH_B")" ] &&
	pass "no veth end in the machine's namespace" ||
	fail "a veth end is in the machine's namespace"
ip -o addr show | grep -q '169\.254\.77\.' &&
	fail "169.254.77.x is on an interface of the machine's namespace" ||
	pass "no 169.254.77.x address in the machine's namespace"

in_ns "$NS_A" socat TCP-LISTEN:7701,bind=$HOST_A,reuseaddr,fork \
	EXEC:/bin/true 2>"$SCRATCH/socat.err" &
wait_for 10 can_connect "$NS_B" $HOST_A 7701 &&
	pass "B connects to A over the veth" ||
	die "B cannot connect to A: $(cat "$SCRATCH/socat.err")"

nft_drop "$NS_B"
can_connect "$NS_B" $HOST_A 7701 && fail "B connects to A through the nft drop" ||
	pass "B's nft table drops the traffic to A"
in_ns "$NS_B" nft list tables | grep -q "$NFT_TABLE" &&
	pass "the table is in B" || fail "no table $NFT_TABLE in B"
nft list tables 2>/dev/null | grep -q "$NFT_TABLE" &&
	fail "table $NFT_TABLE is in the machine's own ruleset" ||
	pass "the machine's own ruleset has no $NFT_TABLE"
nft_pass "$NS_B"
wait_for 10 can_connect "$NS_B" $HOST_A 7701 &&
	pass "B connects again once the table is gone" ||
	fail "B cannot connect after nft_pass"

link_down
can_connect "$NS_B" $HOST_A 7701 && fail "B connects to A with the link down" ||
	pass "link down cuts B off"
link_up
wait_for 10 can_connect "$NS_B" $HOST_A 7701 &&
	pass "B connects again once the link is up" ||
	fail "B cannot connect after link up"

DAEMON_NETNS=$NS_A mount_ipcfs
timeout -k 1 5 sh -c "echo in-A > $MNT/pipe"
expect "a daemon in A's namespace serves our mount" \
	"$(timeout -k 1 5 cat "$MNT/pipe")" in-A
unmount_ipcfs

# children that fail or are stopped must leave nothing
leftover_of() {
	local out=$1 child daemon listener mnt scratch

	read -r child daemon listener mnt scratch <"$out" || {
		fail "the child said nothing"
		return
	}
	ip netns list | grep -q "ipcfs[AB]\.$child\b" &&
		fail "$2: its namespaces are left: $(ip netns list | grep "\.$child\b")"
	alive "$daemon" && fail "$2: its daemon $daemon still runs"
	alive "$listener" && fail "$2: its listener $listener still runs"
	mounted "$mnt" && fail "$2: $mnt is still mounted"
	rm -rf "$scratch"
	pass "$2: nothing left (namespaces, mount, daemon, listener)"
}
HOSTS_SELFTEST=die HOSTS_SELFTEST_OUT=$SCRATCH/die.out \
	timeout -k 5 60 "$BASH" "$0" >"$SCRATCH/die.log" 2>&1
rc=$?
expect "a failing child exits 1" "$rc" 1
leftover_of "$SCRATCH/die.out" "a failing test"

HOSTS_SELFTEST=wait HOSTS_SELFTEST_OUT=$SCRATCH/term.out \
	"$BASH" "$0" >"$SCRATCH/term.log" 2>&1 &
child=$!
wait_for 30 test -s "$SCRATCH/term.out" || fail "the child did not start"
kill -TERM "$child"
wait_gone "$child" 30 || fail "the child did not end 30 s after SIGTERM"
wait "$child"
leftover_of "$SCRATCH/term.out" "a test stopped by SIGTERM"

finish
