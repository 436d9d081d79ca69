# lib.sh - two hosts on one machine, for the peering tests
# (tests/hosts/test_*.sh); everything of tests/mount/lib.sh too.
#
# hosts_up makes two network namespaces, ipcfsA.PID and ipcfsB.PID,
# joined by a veth pair (169.254.77.1/24 in A, .2/24 in B, lo up in
# both); nothing of them is in the machine's own namespace, so all the
# test's traffic stays between the two. keys_make makes a CURVE key pair
# per host with `ipcfs --genkey` and the trust files. start_a mounts a
# daemon in A that exports its tree (-o listen=); start_b one in B that
# imports it as MNT_B/net/a (-o peer=a=). Both mounts are in the test's
# own mount namespace (nsenter enters the network namespace only), so the
# test's cat, dd and clients use either directly.
#
# Teardown is mount/lib.sh's cleanup (trap EXIT, also on failure and on
# SIGTERM): background jobs, mounts and daemons first, then hosts_down:
# nftables tables, the namespaces (the veth pair goes with them).
#
# Skips (77) with the reason where `ip netns add` fails, as without root.
. "$(dirname "${BASH_SOURCE[0]}")/../mount/lib.sh"

HOST_A=169.254.77.1
HOST_B=169.254.77.2
PORT=7700			# inside A's namespace: no clash with the machine
NS_A=ipcfsA.$$
NS_B=ipcfsB.$$
VETH_A=ipcfsA$$			# at most 15 characters
VETH_B=ipcfsB$$
NFT_TABLE=ipcfs_test
PEER_TIMEOUT=${PEER_TIMEOUT:-3}	# seconds: -o peer_timeout= of B
NETNS_MADE=()
NFT_MADE=()			# namespaces holding our nftables table
KEYS=
MNT_A= MNT_B= PID_A= PID_B= ERR_A= ERR_B=

skip() {
	echo "SKIP: $*"
	exit 77
}

# in_ns NS CMD...: run CMD in network namespace NS only
in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

# need_netns: skip where namespaces cannot be made here
need_netns() {
	local c

	[ "$(id -u)" -eq 0 ] || skip "needs root (ip netns add, veth, nft)"
	for c in ip nsenter socat; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
	if ! ip netns add "$NS_A" 2>"$SCRATCH/netns.err"; then
		skip "ip netns add fails: $(head -1 "$SCRATCH/netns.err")"
	fi
	NETNS_MADE+=("$NS_A")
	CLEANUP_HOOKS+=(hosts_down)
}

# hosts_up: both namespaces, the veth pair between them, addresses up
hosts_up() {
	local ns dev addr

	need_netns
	ip netns add "$NS_B" || die "ip netns add $NS_B"
	NETNS_MADE+=("$NS_B")
	ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" \
		netns "$NS_B" || die "ip link add veth"
	for ns in A B; do
		if [ $ns = A ]; then
			ns=$NS_A dev=$VETH_A addr=$HOST_A
		else
			ns=$NS_B dev=$VETH_B addr=$HOST_B
		fi
		ip -n "$ns" link set lo up &&
			ip -n "$ns" addr add "$addr/24" dev "$dev" &&
			ip -n "$ns" link set "$dev" up ||
			die "cannot set up $dev in $ns"
	done
	wait_for 10 link_ready || die "the veth pair did not come up in 10 s"
}

# link_ready: both ends carry traffic
link_ready() {
	ip -n "$NS_A" link show "$VETH_A" | grep -q 'state UP' &&
		ip -n "$NS_B" link show "$VETH_B" | grep -q 'state UP'
}

# hosts_down: drop what hosts_up and nft_drop made (cleanup's hook)
hosts_down() {
	local ns

	for ns in "${NFT_MADE[@]+"${NFT_MADE[@]}"}"; do
		in_ns "$ns" nft delete table inet "$NFT_TABLE" 2>/dev/null
	done
	for ns in "${NETNS_MADE[@]+"${NETNS_MADE[@]}"}"; do
		ip netns delete "$ns" || fail "ip netns delete $ns failed"
	done
	NETNS_MADE=()
}

# link_down / link_up: B's end of the veth (A's goes NO-CARRIER too)
link_down() { ip -n "$NS_B" link set "$VETH_B" down || fail "link down"; }
link_up() {
	ip -n "$NS_B" link set "$VETH_B" up || fail "link up"
	wait_for 10 link_ready || fail "the veth pair did not come back in 10 s"
}

# nft_drop NS / nft_pass NS: drop every packet to and from the other host
# in namespace NS (a table of NS alone), and remove it again
nft_drop() {
	local ns=$1

	command -v nft >/dev/null || die "nft is not installed (nftables)"
	NFT_MADE+=("$ns")
	in_ns "$ns" nft -f - <<-EOF || die "nft in $ns failed"
		table inet $NFT_TABLE {
			chain input_drop {
				type filter hook input priority 0; policy accept;
				ip saddr 169.254.77.0/24 drop
			}
			chain output_drop {
				type filter hook output priority 0; policy accept;
				ip daddr 169.254.77.0/24 drop
			}
		}
	EOF
}
nft_pass() { in_ns "$1" nft delete table inet "$NFT_TABLE" || fail "nft delete in $1"; }

# can_connect NS ADDR PORT: a TCP connection from NS gets through
can_connect() {
	in_ns "$1" timeout -k 1 3 socat -T 2 /dev/null \
		"TCP:$2:$3,connect-timeout=2" 2>/dev/null
}

# keys_make: KEYS/a, KEYS/b (+ .pub) by ipcfs --genkey; trust files
# KEYS/trust.a (knows b) and KEYS/trust.b (knows a)
keys_make() {
	local h

	KEYS=$(mktemp -d "$SCRATCH/keys.XXXXXX") || die "mktemp"
	for h in a b; do
		"$IPCFS" --genkey "$KEYS/$h" >"$KEYS/$h.out" 2>&1 ||
			die "ipcfs --genkey: $(cat "$KEYS/$h.out")"
	done
	echo "b $(cat "$KEYS/b.pub")" >"$KEYS/trust.a"
	echo "a $(cat "$KEYS/a.pub")" >"$KEYS/trust.b"
	chmod 644 "$KEYS/trust.a" "$KEYS/trust.b"
}

# start_a [OPTS]: A's daemon, exporting; sets MNT_A, PID_A, ERR_A
start_a() {
	DAEMON_NETNS=$NS_A mount_ipcfs -o control \
		-o "listen=$HOST_A:$PORT,key=$KEYS/a,trust=$KEYS/trust.a" "$@"
	MNT_A=$MNT PID_A=$DAEMON_PID ERR_A=$DAEMON_ERR
}

# start_b [OPTS]: B's daemon, importing A as net/a; MNT_B, PID_B, ERR_B
start_b() {
	DAEMON_NETNS=$NS_B mount_ipcfs -o control \
		-o "peer=a=$HOST_A:$PORT,key=$KEYS/b,trust=$KEYS/trust.b" \
		-o "peer_timeout=$PEER_TIMEOUT" "$@"
	MNT_B=$MNT PID_B=$DAEMON_PID ERR_B=$DAEMON_ERR
}

# check_b: B's daemon still answers on its mount (check_alive on B)
check_b() {
	DAEMON_PID=$PID_B MNT=$MNT_B DAEMON_ERR=$ERR_B check_alive
}

# peer_stat KEY [NAME]: KEY of B's `peer NAME ...` stats line (NAME: a)
peer_stat() {
	timeout -k 1 5 cat "$MNT_B/stats" 2>/dev/null |
		awk -v n="${2:-a}" -v k="$1" '$1 == "peer" && $2 == n {
			for (i = 3; i <= NF; i++)
				if (index($i, k "=") == 1) {
					print substr($i, length(k) + 2)
					exit
				}
		}'
}

peer_is() { [ "$(peer_stat state)" = "$1" ]; }

# two_hosts: namespaces, keys, both daemons, peer a up (dies otherwise)
two_hosts() {
	hosts_up
	keys_make
	start_a
	start_b
	wait_for 20 peer_is up ||
		die "peer a not up after 20 s: $(peer_stat state) err=$(peer_stat err)"
	[ -d "$MNT_B/net/a" ] || die "no $MNT_B/net/a"
}

# remote_transports: A's transport files, as B sees them in net/a
remote_transports() { transports_in "$MNT_B/net/a"; }

# errno_of CMD...: CMD's stderr, for the message of its errno
errno_of() { "$@" 2>&1 >/dev/null | tail -1; }
