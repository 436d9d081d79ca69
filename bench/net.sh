#!/usr/bin/env bash
# net.sh - the net road: two hosts on this machine, made and removed as
# the peering tests make them (tests/hosts/lib.sh: network namespaces
# joined by a veth pair, keys by `ipcfs --genkey`, A exporting its tree
# with -o listen=, B importing it as MNT_B/net/a with -o peer=). Then
# bench/direct --road net, the parent on A and the child on B: ping-pong
# (100 B, 1K) and stream (1M), directly (zmq, tcp) and through the two
# mounts (A's file, B's net/a/ view of it), with the control row; then
# each daemon's CPU over 10 idle seconds of the peering (/proc/PID/stat;
# NET_IDLE_S seconds).
#
# usage: bench/net.sh [DIRECT OPTIONS...]   (added to both runs, e.g.
#   -d 3 or -t zmq,tcp,pipe,unix; default -t zmq,tcp,pipe). Needs root.
# Programs: $IPCFS and $DIRECT, else those of build/ (BUILD=dir).
top=$(cd "$(dirname "$0")/.." && pwd)
export IPCFS=${IPCFS:-${BUILD:-$top/build}/fs/ipcfs}
direct=${DIRECT:-${BUILD:-$top/build}/bench/direct}
args=("$@")
set --	# tests/mount/lib.sh would take $1 for the daemon
. "$top/tests/hosts/lib.sh"

need_fuse
[ -x "$direct" ] || die "$direct: not built (DIRECT=path)"
two_hosts
road=(--road net --net "$NS_A=$HOST_A,$NS_B=$HOST_B" --via "$MNT_A" --peer "$MNT_B/net/a")
"$direct" "${road[@]}" -t zmq,tcp,pipe "${args[@]}" || fail "direct (ping-pong) failed"
"$direct" "${road[@]}" --mode stream -s 1M -t zmq,tcp,pipe "${args[@]}" ||
	fail "direct (stream) failed"

# cpu_ticks PID: user + system time of all its threads so far [ticks]
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
declare -A pid=([A]=$PID_A [B]=$PID_B) t0
for h in A B; do t0[$h]=$(cpu_ticks "${pid[$h]}"); done
sleep "${NET_IDLE_S:=10}"
hz=$(getconf CLK_TCK)
for h in A B; do
	ticks=$(($(cpu_ticks "${pid[$h]}") - ${t0[$h]}))
	say "daemon $h ($(peer_stat state) peering, idle): $((ticks * 1000 / hz)) ms of CPU in $NET_IDLE_S s ($ticks ticks of 1/$hz s)"
done
check_b
finish
