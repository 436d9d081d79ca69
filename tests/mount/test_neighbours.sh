#!/usr/bin/env bash
# test_neighbours.sh - outsiders at every object ipcfs publishes, one
# table of attacks (empty, garbage, oversize, flood), on a mount made with
# -o outsiders (the widest door: the udp and zmq ports open too), while:
#  - a checked transfer runs through another directory (8 MiB of random
#    bytes through x/pipe, compared at the end), and
#  - a watchdog stat()s the mount every 100 ms: any answer slower than 1 s,
#    or none, fails the test.
# Afterwards the transfer arrived intact, every channel of x answers, the
# root lists and reports, and the daemon is alive. What an outsider writes
# into a channel it may read back as garbage: that is not checked.
. "$(dirname "$0")/lib.sh"

need_fuse
client out outsider
client sv sysvmsg_client
client fdo fd_outsider
mount_ipcfs -o outsiders
M=$MNT
mkdir "$M/x" || die "mkdir x"

# the watchdog: one line in $SCRATCH/slow per late or missing answer
watchdog() {
	local t0 d

	while :; do
		t0=$(now)
		timeout -k 1 5 stat "$M" >/dev/null ||
			echo "stat of the mount failed" >>"$SCRATCH/slow"
		d=$(secs_since "$t0")
		lt "$d" 1 || echo "stat took $d s" >>"$SCRATCH/slow"
		sleep 0.1
	done
}
watchdog &
dog=$!

head -c $((8 << 20)) /dev/urandom >"$SCRATCH/big"
timeout -k 1 120 cat "$M/x/pipe" >"$SCRATCH/got" &
rd=$!
timeout -k 1 120 dd if="$SCRATCH/big" of="$M/x/pipe" bs=64k status=none &
wr=$!

# a second ipcfs, whose daemon the memfd attack stops (MNT, DAEMON_PID and
# DAEMON_ERR go back to the first one's, for check_alive)
M2=
if [ -n "$(IPCFS_ONLY=memfd transports_in "$M")" ]; then
	M1=$MNT P1=$DAEMON_PID E1=$DAEMON_ERR
	mount_ipcfs
	M2=$MNT P2=$DAEMON_PID
	MNT=$M1 DAEMON_PID=$P1 DAEMON_ERR=$E1
fi

# the root's channels, made at first open, and what they publish
for t in $(transports_in "$M"); do
	timeout -k 1 5 true <"$M/$t" 2>/dev/null
done
obj() { stat_of "$M" "$1" object; }
rand() { head -c "$1" /dev/urandom; }

# attack NAME CMD...: run one attack, bounded; it may fail, never hang
attack() {
	local name=$1

	shift
	if timeout -k 1 20 "$@" >/dev/null 2>&1; then
		say "attack: $name"
	else
		say "attack: $name (refused or cut short: $?)"
	fi
}

for t in $(transports_in "$M"); do
	o=$(obj "$t")
	case $t in
	fifo)
		attack "fifo: 1 MiB of garbage" sh -c "head -c 1M /dev/urandom >'$o'"
		attack "fifo: open and close, 100 times" sh -c \
			"for i in \$(seq 100); do : >'$o'; done" ;;
	unixdgram)
		attack "unixdgram: 200 empty" "$out" unix "$o" 0 200
		attack "unixdgram: 2000 of 100 B" "$out" unix "$o" 100 2000
		attack "unixdgram: oversize" "$out" unix "$o" 200000 3 ;;
	udp)
		attack "udp: 200 empty" "$out" udp "$o" 0 200
		attack "udp: 5000 of 100 B" "$out" udp "$o" 100 5000
		attack "udp: 50 of 65507 B" "$out" udp "$o" 65507 50 ;;
	mqueue)
		attack "mqueue: 20 empty" "$out" mq "$o" 0 20
		attack "mqueue: full of 8 KiB" "$out" mq "$o" 8192 20 ;;
	sysvmsg)
		attack "sysvmsg: 200 empty" "$sv" send "$o" 0 200
		attack "sysvmsg: full of 8 KiB" "$sv" send "$o" 8192 20
		attack "sysvmsg: 200 of mtype 7" "$sv" send "$o" 100 200 7
		attack "sysvmsg: a 2 s flood while cat reads" bash -c \
			"timeout -k 1 4 cat '$M/$t' >/dev/null & '$sv' send '$o' 100 0; wait" ;;
	zmq)
		[ -x "$IPCFS_CLIENTS/zmq_push" ] &&
		attack "zmq: empty, small, 2 MiB" "$IPCFS_CLIENTS/zmq_push" "$o" \
			"" "" @100 @2000000 "" ;;
	dbus)
		[ -x "$IPCFS_CLIENTS/dbus_send" ] &&
		attack "dbus: empty, other interface, small, 2 MiB" \
			"$IPCFS_CLIENTS/dbus_send" "$o" "" "!x" @100 @2000000 &&
		attack "dbus: 1000 of 100 B" "$IPCFS_CLIENTS/dbus_send" "$o" "#1000" ;;
	shm | mmap | eventfd | uring)
		attack "$t: garbage header" sh -c \
			"head -c 256 /dev/urandom | dd of='$o' bs=256 count=1 conv=notrunc status=none" ;;
	sysvshm)	# shm:ID,sem:ID
		s=${o#shm:}
		attack "sysvshm: garbage header" "$out" shm "${s%%,*}" 0 256
		attack "sysvshm: 1000 posts to each semaphore, then ipcrm" \
			"$out" sem "${o##*sem:}" 0 1000 ;;
	file)
		attack "file: garbage records" sh -c "head -c 4096 /dev/urandom >>'$o'"
		attack "file: empty records" sh -c "head -c 4096 /dev/zero >>'$o'" ;;
	netlink)
		attack "netlink: 200 empty" "$out" netlink-raw "$o" 0 200
		attack "netlink: 500 unframed" "$out" netlink-raw "$o" 100 500
		attack "netlink: 2000 of 100 B" "$out" netlink "$o" 100 2000
		attack "netlink: oversize" "$out" netlink "$o" 300000 3 ;;
	cma)	# within the ring only: its capacity from stats
		attack "cma: garbage over the ring, 20 times" "$out" cma "$o" \
			"$(stat_of "$M" cma capacity)" 20 ;;
	memfd)
		# a reader, so that the daemon takes what arrives
		timeout -k 1 60 cat "$M/memfd" >/dev/null 2>&1 &
		mr=$!
		attack "memfd: 200 empty" "$out" unix "$o" 0 200
		attack "memfd: 2000 of 100 B, no fd" "$out" unix "$o" 100 2000
		attack "memfd: every bad fd, 20 rounds" "$fdo" "$o" bad 20
		# closing it waits for that daemon's FLUSH: not in our loop
		[ -n "$M2" ] && attack "memfd: a file of a stopped FUSE daemon" \
			"$fdo" "$o" fuse "$M2/stats" "$P2"
		kill "$mr" 2>/dev/null
		wait "$mr" 2>/dev/null ;;
	signal)
		attack "signal: 100 stray kill(2)s of its number" bash -c \
			"for i in \$(seq 100); do kill -s ${o#SIG} $DAEMON_PID; done" ;;
	esac
	check_alive
done

wait "$wr" || fail "the transfer's writer failed"
wait "$rd" || fail "the transfer's reader failed"
cmp -s "$SCRATCH/big" "$SCRATCH/got" &&
	pass "8 MiB through x/pipe arrived intact during the attacks" ||
	fail "x/pipe: the transfer differs ($(stat -c %s "$SCRATCH/got") bytes)"
for t in $(transports_in "$M/x"); do
	timeout -k 1 5 sh -c "echo ok > $M/x/$t" || fail "x/$t: write"
	[ "$(timeout -k 1 5 dd if="$M/x/$t" bs=64k count=1 status=none)" = ok ] ||
		fail "x/$t stopped working"
done
pass "every channel of x still answers"
timeout -k 1 5 ls "$M" >/dev/null && timeout -k 1 5 cat "$M/stats" >/dev/null ||
	fail "the root does not list or report"
kill "$dog" 2>/dev/null
wait "$dog" 2>/dev/null
if [ -s "$SCRATCH/slow" ]; then
	fail "the mount was slow or silent: $(sort | uniq -c <"$SCRATCH/slow" | head -5)"
else
	pass "the mount answered stat within 1 s every 100 ms throughout"
fi
check_alive
unmount_ipcfs
[ -n "$M2" ] && unmount_ipcfs "$M2"
finish
