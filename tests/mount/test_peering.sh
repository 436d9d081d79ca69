#!/usr/bin/env bash
# test_peering.sh - two daemons on this host, A exporting (-o listen=) and
# B importing it as net/a (-o peer=), over 127.0.0.1 with CURVE keys from
# `ipcfs --genkey` (tests/hosts/ does the same across two namespaces):
#  - net/ lists the peer, net/a lists A's files, B's stats says state=up;
#  - a line written on B to net/a/T is read on A from T, and the other
#    way, for the stream and message transports checked;
#  - EOF across hosts: a reader on B ends when A's writer closes;
#  - poll_client nonblock and intr on B's net/a files (EAGAIN, poll, a
#    full channel, EINTR of a waiting read and write);
#  - 4 writers and 4 readers, half on each host, on one message channel:
#    every record arrives once;
#  - mkdir and rmdir in net/a act on A; mkdir in net/ itself is EPERM;
#  - (not as root) a file A's user may not write: B's open says EACCES;
#  - a peer whose key A does not trust: A logs the refusal, its stats say
#    state=connecting err=EACCES, ls net/a says EHOSTUNREACH;
#  - a peer nobody listens for: the mount works, state=connecting;
#  - A killed -9 while a read on B waits: the read fails with ETIMEDOUT,
#    B's stats say state=lost, B's own files still work; the next daemon
#    sweeps what A left.
. "$(dirname "$0")/lib.sh"

need_fuse
"$IPCFS" --help | grep -q 'listen=' ||
	{ echo "SKIP: ipcfs built without ZeroMQ (no peering)"; exit 77; }
client pc poll_client
client fo fsops

K=$SCRATCH/keys
mkdir -m 700 "$K"
for k in a b w; do
	"$IPCFS" --genkey "$K/$k" >/dev/null || die "ipcfs --genkey $K/$k"
done
echo "b $(cat "$K/b.pub")" >"$K/trust.a"
echo "a $(cat "$K/a.pub")" >"$K/trust.b"
chmod 600 "$K"/trust.*
port=$((20000 + RANDOM % 20000))

mount_ipcfs -o listen=127.0.0.1:$port,key=$K/a,trust=$K/trust.a,peer_timeout=3
A=$MNT A_PID=$DAEMON_PID A_ERR=$DAEMON_ERR
mount_ipcfs -o peer=a=127.0.0.1:$port,key=$K/b,trust=$K/trust.b,peer_timeout=3
B=$MNT
N=$B/net/a

peer_state() { grep "^peer a " "$1/stats" | sed -n 's/.* state=\([a-z]*\).*/\1/p'; }
wait_for 20 eval '[ "$(peer_state "$B")" = up ]' ||
	fail "B's peer a is not up after 20 s: $(grep '^peer' "$B/stats")"
expect "net/ lists the peer" "$(ls "$B/net")" a
expect "net/a lists A's files" "$(ls "$N" | tr '\n' ' ')" \
	"$(ls "$A" | tr '\n' ' ')"

for t in pipe fifo unix unixdgram mqueue sysvmsg tcp; do
	[ -f "$A/$t" ] || continue
	timeout -k 1 10 cat "$A/$t" >"$SCRATCH/got.$t" &
	r=$!
	timeout -k 1 10 sh -c "echo from-b-$t > $N/$t"
	wait "$r"
	expect "$t: B writes, A reads" "$(cat "$SCRATCH/got.$t")" "from-b-$t"
	timeout -k 1 10 cat "$N/$t" >"$SCRATCH/got.$t" &
	r=$!
	timeout -k 1 10 sh -c "echo from-a-$t > $A/$t"
	wait "$r"
	expect "$t: A writes, B reads (and EOF)" "$?:$(cat "$SCRATCH/got.$t")" \
		"0:from-a-$t"
done

"$pc" nonblock "$N/fifo" >"$SCRATCH/pc" 2>&1
expect "nonblock and poll on net/a/fifo" "$?" 0
"$pc" intr "$N/pipe" >>"$SCRATCH/pc" 2>&1
expect "EINTR on net/a/pipe" "$?" 0
grep -i fail "$SCRATCH/pc" >&2

# 4 writers, 4 readers, half on each host
msgs=300
for i in 0 1 2 3; do
	f=$A/unixdgram
	[ $((i % 2)) = 1 ] && f=$N/unixdgram
	timeout -k 1 60 cat "$f" >"$SCRATCH/r$i" &
	eval "reader$i=\$!"
done
wait_for 10 eval "[ \"\$(stat_of $A unixdgram readers)\" = 4 ]" ||
	fail "4 readers not open on A: $(stat_of "$A" unixdgram readers)"
for i in 0 1 2 3; do
	f=$A/unixdgram
	[ $((i % 2)) = 1 ] && f=$N/unixdgram
	timeout -k 1 60 sh -c "for j in \$(seq 1 $msgs); do echo w$i-\$j; done > $f" &
	eval "writer$i=\$!"
done
for i in 0 1 2 3; do eval "wait \$writer$i"; done
for i in 0 1 2 3; do eval "wait \$reader$i"; done
want=$(for i in 0 1 2 3; do seq -f "w$i-%g" 1 $msgs; done | sort)
expect "4x4 across hosts: every record once" \
	"$(cat "$SCRATCH"/r? | sort | cmp -s - <(echo "$want") && echo same)" same

expect "mkdir net/a/d" "$("$fo" mkdir "$N/d")" OK
[ -d "$A/d" ] && pass "the directory is A's" || fail "no $A/d"
expect "rmdir net/a/d" "$("$fo" rmdir "$N/d")" OK
# at once: A's kernel keeps no entry of a directory a peer may remove
[ -e "$A/d" ] && fail "$A/d still there" || pass "rmdir acted on A"
expect "mkdir in net/ itself" "$("$fo" mkdir "$B/net/x")" EPERM

# a peer acts as A's mounting user, by A's modes (root may do anything)
if [ "$(id -u)" != 0 ]; then
	chmod 400 "$A/fifo"
	expect "A's fifo 0400: B's write open" \
		"$("$fo" write "$N/fifo" x)" open:EACCES
	chmod 600 "$A/fifo"
fi

# a key A does not trust, and a peer nobody listens for
echo "a $(cat "$K/a.pub")" >"$K/trust.w"
chmod 600 "$K/trust.w"
mount_ipcfs -o peer=a=127.0.0.1:$port,key=$K/w,trust=$K/trust.w
W=$MNT
wait_for 20 grep -q 'err=EACCES' "$W/stats" ||
	fail "untrusted key: $(grep '^peer' "$W/stats")"
expect "untrusted key: state" "$(peer_state "$W")" connecting
expect "untrusted key: ls net/a" \
	"$(LC_ALL=C ls "$W/net/a" 2>&1 | grep -o 'No route to host')" \
	"No route to host"
wait_for 10 grep -q 'refused' "$A_ERR" &&
	pass "A logged: $(grep refused "$A_ERR" | head -1)" ||
	fail "A logged no refusal"
unmount_ipcfs "$W"
mount_ipcfs -o peer=a=127.0.0.1:$((port + 1)),key=$K/b,trust=$K/trust.b
expect "nobody listening: state" "$(peer_state "$MNT")" connecting
unmount_ipcfs "$MNT"

# A killed -9 while B waits
mqueue_init
rundir=$(rundir_of "$A")
timeout -k 1 30 cat "$N/fifo" >/dev/null 2>"$SCRATCH/lost" &
r=$!
wait_for 5 eval "[ \"\$(stat_of $A fifo parked_reads)\" = 1 ]" ||
	fail "B's read is not parked on A"
kill -KILL "$A_PID"
reap_daemon "$A_PID" "$A_ERR" 137
timeout -k 2 10 fusermount3 -uz "$A"
wait_gone "$r" 15 && pass "the waiting read ended" ||
	fail "the waiting read still hangs 15 s after A died"
expect "its error" "$(grep -o 'timed out' "$SCRATCH/lost")" "timed out"
expect "B's stats after" "$(peer_state "$B")" lost
timeout -k 1 10 sh -c "echo local > $B/pipe" &
expect "B's own files still work" "$(timeout -k 1 10 cat "$B/pipe")" local

# the next daemon sweeps what A left, as for any daemon killed -9
mount_ipcfs
left=$( (leftovers "$A_PID" "$rundir"; processes_of "$A_PID") | sort -u)
[ -z "$left" ] && pass "the dead A's objects were swept" ||
	fail "the dead A's objects are left: $(echo $left)"
finish
