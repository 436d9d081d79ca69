#!/usr/bin/env bash
# test_outsiders.sh - an outsider's hang-up or empty message, written into
# a channel's real object, is never the channel's end of file and never
# freezes the daemon (transport local mode, docs/DESIGN.md): one empty
# ZeroMQ message pushed to the zmq endpoint, an empty D-Bus message (and
# one on another interface) sent to the dbus channel, a zero-length record
# appended to the file channel's file, the `closed` word set in the
# rings' headers (shm, mmap, eventfd, uring through their files, sysvshm
# through shmat of its segment). After each, a read gets the next real data,
# and the mount keeps answering; also after a ring's head or tail moved,
# and (EIO on that channel) after its file was truncated. Who may send at all: by default a UDP
# datagram from another socket never reaches the udp channel (it is
# connected to the daemon's sender), nor another port's netlink message;
# with -o outsiders they do. Object names cannot be taken first: a random
# part makes them unpredictable, and a runtime directory someone else
# made first is passed over. An outsider that drains a fifo or queue
# directly leaves the readers their EOF.
. "$(dirname "$0")/lib.sh"

need_fuse
client out outsider
mount_ipcfs
M=$MNT

# one read(2) of up to 64 KiB from a channel file, within 5 s. A daemon
# that spins never answers, and its reader cannot be killed: kill the
# daemon then (the read fails with ENOTCONN) and stop the test.
read_one() {
	local out pid

	out=$(mktemp "$SCRATCH/read.XXXXXX")
	timeout -k 1 5 dd if="$1" of="$out" bs=64K count=1 status=none &
	pid=$!
	if ! wait_gone "$pid" 8; then
		kill -9 "$DAEMON_PID"
		die "$1: a read still waits after 8 s: the daemon froze"
	fi
	wait "$pid" || true
	cat "$out"
}

# stats reports and never makes: read it twice, nothing exists after
timeout -k 1 5 cat "$M/stats" "$M/stats" >/dev/null || fail "cat stats"
expect "stats made no object" \
	"$(timeout -k 1 5 cat "$M/stats" | tr ' ' '\n' | grep -c '^object=.')" 0
expect "nothing in /dev/shm after stats" \
	"$(ls /dev/shm | grep -c "^ipcfs\.$DAEMON_PID\.")" 0

# make the channels (at first open), then find their objects
for t in zmq dbus file shm mmap eventfd uring sysvshm udp; do
	[ -e "$M/$t" ] && { timeout -k 1 5 true < "$M/$t" || fail "open $t"; }
done

if [ -e "$M/zmq" ] && [ -x "$IPCFS_CLIENTS/zmq_push" ]; then
	ep=$(stat_of "$M" zmq object)
	timeout -k 1 10 "$IPCFS_CLIENTS/zmq_push" "$ep" "" "after" ||
		fail "zmq_push to $ep"
	expect "zmq: the message after an outsider's empty one" \
		"$(read_one "$M/zmq")" after
	expect "zmq: stats counts the dropped message" \
		"$(stat_of "$M" zmq dropped)" 1
	check_alive
else
	say "zmq not built: its case skipped"
fi

# memfd: an empty datagram (its hang-up) is passed over; a sealed memfd
# from an outsider is a message like ours
if [ -e "$M/memfd" ]; then
	obj=$(stat_of "$M" memfd object)
	timeout -k 1 5 "$IPCFS_CLIENTS/outsider" unix "$obj" 0 1 >/dev/null ||
		fail "memfd: send an empty datagram"
	timeout -k 1 5 "$IPCFS_CLIENTS/fd_outsider" "$obj" good after >/dev/null ||
		fail "memfd: send a sealed memfd"
	expect "memfd: an outsider's sealed memfd after its empty datagram" \
		"$(read_one "$M/memfd")" after
	expect "memfd: stats counts the dropped datagram" \
		"$(stat_of "$M" memfd dropped)" 1
	check_alive
fi

if [ -e "$M/dbus" ] && [ -x "$IPCFS_CLIENTS/dbus_send" ]; then
	obj=$(stat_of "$M" dbus object)
	timeout -k 1 10 "$IPCFS_CLIENTS/dbus_send" "$obj" "" "!other" "after" ||
		fail "dbus_send to $obj"
	expect "dbus: the message after an outsider's empty one" \
		"$(read_one "$M/dbus")" after
	expect "dbus: stats counts the dropped message" \
		"$(stat_of "$M" dbus dropped)" 1
	check_alive
else
	say "dbus not built: its case skipped"
fi

obj=$(stat_of "$M" file object)
printf '\0\0\0\0' >> "$obj" || fail "append to $obj"
timeout -k 1 5 sh -c "echo hi > $M/file" || fail "write file"
expect "file: data after an outsider's zero record" "$(read_one "$M/file")" hi
check_alive

# struct ring_hdr (transports/ring.c): head, tail and the wait words on
# their own 64-byte lines, then hup at 136 and closed at 140
for t in shm mmap eventfd uring sysvshm; do
	[ -e "$M/$t" ] || continue
	obj=$(stat_of "$M" "$t" object)
	case $obj in
	shm:*)	# sysvshm: shm:ID,sem:ID
		obj=${obj#shm:}
		"$out" shm "${obj%%,*}" 136 =0100000001000000 >/dev/null ||
			fail "$t: write the header" ;;
	*)
		[ -f "$obj" ] || { fail "$t: no object file '$obj'"; continue; }
		printf '\1\0\0\0\1\0\0\0' |
			dd of="$obj" bs=1 seek=136 conv=notrunc status=none ||
			fail "$t: write the header" ;;
	esac
	timeout -k 1 5 sh -c "echo hi > $M/$t" || fail "write $t"
	expect "$t: data after an outsider set closed" "$(read_one "$M/$t")" hi
	check_alive
done

# head or tail (offsets 0 and 64) moved by an outsider, and then a write
# for a waiting reader: the reader's position has no data behind it, so it
# waits on (that channel's stream is the outsider's to spoil), and the
# daemon answers. Before, it spun looking for the data: 100% CPU, no
# channel answered, and only SIGKILL ended it.
for off in 0 64; do
	mkdir "$M/moved$off" || fail "mkdir moved$off"
	for t in shm mmap eventfd uring sysvshm; do
		[ -e "$M/moved$off/$t" ] || continue
		timeout -k 1 10 cat "$M/moved$off/$t" >/dev/null 2>&1 &
		rd=$!
		wait_for 5 eval '[ "$(stat_of "$M/moved$off" "$t" parked_reads)" = 1 ]' ||
			fail "$t: the reader is not waiting"
		obj=$(stat_of "$M/moved$off" "$t" object)
		case $obj in
		shm:*)	obj=${obj#shm:}
			"$out" shm "${obj%%,*}" $off =6400000000000000 >/dev/null ||
				fail "$t: write the header" ;;
		*)	printf '\144\0\0\0\0\0\0\0' |
			dd of="$obj" bs=1 seek=$off conv=notrunc status=none ||
				fail "$t: write the header" ;;
		esac
		timeout -k 1 5 sh -c "echo hi > $M/moved$off/$t" ||
			fail "$t: write after an outsider moved byte $off"
		if ! timeout -k 1 5 stat "$M/stats" >/dev/null; then
			kill -9 "$DAEMON_PID"
			die "$t: the daemon froze once an outsider moved byte $off of its header"
		fi
		pass "$t: the mount answers after an outsider moved byte $off of the header"
		kill "$rd" 2>/dev/null
		wait "$rd" 2>/dev/null
	done
done

# a ring's file truncated by an outsider under a waiting reader: the next
# write faults (SIGBUS) and fails with EIO, so does the reader, and
# the daemon and every other channel go on (before: the daemon died of
# SIGBUS and every channel with it). sysvshm's segment cannot shrink.
mkdir "$M/cut" || fail "mkdir cut"
for t in shm mmap eventfd uring; do
	[ -e "$M/cut/$t" ] || continue
	timeout -k 1 10 cat "$M/cut/$t" >/dev/null 2>"$SCRATCH/cut.$t" &
	rd=$!
	wait_for 5 eval '[ "$(stat_of "$M/cut" "$t" parked_reads)" = 1 ]' ||
		fail "$t: the reader is not waiting"
	obj=$(stat_of "$M/cut" "$t" object)
	[ -f "$obj" ] || { fail "$t: no object file '$obj'"; continue; }
	truncate -s 0 "$obj" || fail "$t: truncate $obj"
	echo hi | timeout -k 1 5 dd of="$M/cut/$t" status=none \
		2>"$SCRATCH/cut.w.$t" &&
		fail "$t: a write into a truncated ring succeeded"
	alive "$DAEMON_PID" || die "$t: the daemon died once its ring was truncated"
	wait "$rd"
	expect "$t: the waiting reader's error (status $?)" \
		"$(grep -c 'Input/output error' "$SCRATCH/cut.$t")" 1
	expect "$t: the writer's error" \
		"$(grep -c 'Input/output error' "$SCRATCH/cut.w.$t")" 1
	timeout -k 1 5 sh -c "echo ok > $M/$t" || fail "$t: write the root's"
	expect "$t: the root's channel still works" "$(read_one "$M/$t")" ok
	check_alive
done

# an outsider drains the object while a reader has the file open: that
# reader still gets end of file once the writer is gone, and st_size is 0
for t in fifo mqueue; do
	obj=$(stat_of "$M" $t object)
	exec 3<"$M/$t"
	timeout -k 1 5 sh -c "printf abc > $M/$t" || fail "$t: write"
	case $t in
	fifo) got=$(timeout -k 1 5 dd if="$obj" bs=64k count=1 status=none) ;;
	mqueue) got=$(timeout -k 1 5 "$IPCFS_CLIENTS/mq_drain" "$obj") ;;
	esac
	expect "$t: the outsider took it" "$got" "$([ $t = fifo ] && echo abc || echo 3)"
	expect "$t: st_size once drained from outside" "$(size_of "$M/$t")" 0
	got=$(timeout -k 1 5 cat <&3)
	rc=$?
	expect "$t: the open reader gets end of file (status $rc)" "$rc:$got" "0:"
	exec 3<&-
	check_alive
done

# a mapping never takes a channel's data: map and touch, then read
for t in pipe mqueue shm; do
	timeout -k 1 5 sh -c "echo kept > $M/$t" || fail "$t: write"
	r=$(timeout -k 1 5 "$IPCFS_CLIENTS/mmap_touch" "$M/$t") ||
		fail "$t: mmap_touch failed"
	expect "$t: the data is still there after '$r'" "$(read_one "$M/$t")" kept
done

# every channel still answers
for t in $(transports_in "$M"); do
	timeout -k 1 5 sh -c "echo ok > $M/$t" || fail "$t: write"
	[ "$(read_one "$M/$t")" = ok ] || fail "$t stopped working"
done
pass "every transport still works"

# with every channel made, the daemon listens on no TCP port: nobody can
# connect to it and take its descriptors (zmq is ipc://, tcp's listener
# closes once the pair is connected)
if command -v ss >/dev/null; then
	expect "TCP ports the daemon listens on" \
		"$(ss -Hltnp 2>/dev/null | grep -c "pid=$DAEMON_PID,")" 0
fi

# names another user could take first: the old, predictable object names
# of the daemon's next channels, made by someone else before first use
mqueue_init
squat=$(mktemp -d "$SCRATCH/squat.XXXXXX")
mkdir "$M/sq" || fail "mkdir sq"
# the next numbers: after the highest of the objects made so far (a few
# only: each queue costs the user's RLIMIT_MSGQUEUE budget)
last=$(timeout -k 1 5 cat "$M/stats" | tr ' ' '\n' | sed -n 's/^object=//p' |
       sed -n "s/.*ipcfs\.$DAEMON_PID\.\([0-9]*\)\..*/\1/p" | sort -n | tail -1)
for n in $(seq $((last + 1)) $((last + 3))); do
	REMOVE_AT_EXIT+=("/dev/shm/ipcfs.$DAEMON_PID.$n.shm")
	: >"/dev/shm/ipcfs.$DAEMON_PID.$n.shm"
	if [ -n "$MQUEUE_DIR" ]; then
		REMOVE_AT_EXIT+=("$MQUEUE_DIR/ipcfs.$DAEMON_PID.$n.mq")
		: >"$MQUEUE_DIR/ipcfs.$DAEMON_PID.$n.mq"
	fi
done
chown 65534:65534 "${REMOVE_AT_EXIT[@]}" 2>/dev/null
for t in shm mqueue; do
	timeout -k 1 5 sh -c "echo mine > $M/sq/$t" 2>"$squat/err" ||
		fail "$t: a squatter's name stopped the channel: $(cat "$squat/err")"
	expect "$t: works whatever names others took" "$(read_one "$M/sq/$t")" mine
done
rm -f "${REMOVE_AT_EXIT[@]}"

# the runtime directory made first by someone else: the daemon starts
# anyway, in a fresh private one beside it (root only: it plays the other
# user with chown)
if [ "$(id -u)" -eq 0 ]; then
	xdg=$(mktemp -d "$SCRATCH/xdg.XXXXXX")
	mkdir -m 0777 "$xdg/ipcfs" && chown 65534:65534 "$xdg/ipcfs" ||
		fail "squat $xdg/ipcfs"
	saved_xdg=${XDG_RUNTIME_DIR-}
	export XDG_RUNTIME_DIR=$xdg
	mount_ipcfs
	export XDG_RUNTIME_DIR=$saved_xdg
	obj=$(stat_of "$MNT" fifo object)
	case $obj in
	"$xdg"/ipcfs.??????/*) pass "a squatted runtime dir: objects go to ${obj%/*}" ;;
	*) fail "fifo object '$obj' with $xdg/ipcfs squatted" ;;
	esac
	expect "nothing in the squatter's directory" "$(ls -A "$xdg/ipcfs")" ""
	timeout -k 1 5 sh -c "echo fine > $MNT/fifo" || fail "write fifo"
	expect "the fifo works" "$(read_one "$MNT/fifo")" fine
	unmount_ipcfs "$MNT"
fi

# stranger MOUNT: a datagram from another socket to MOUNT's udp port
stranger() {
	local port

	port=$(stat_of "$1" udp object)
	port=${port##*:}
	printf stranger >"/dev/udp/127.0.0.1/$port" || fail "send to $port"
}
stranger "$M"
timeout -k 1 5 sh -c "echo ours > $M/udp" || fail "write udp"
expect "udp: a stranger's datagram never arrives" "$(read_one "$M/udp")" ours
# netlink: the kernel refuses another port's unicast (the RX is connected)
if [ -e "$M/netlink" ]; then
	expect "netlink: a stranger's message is refused" \
		"$("$IPCFS_CLIENTS/outsider" netlink "$(stat_of "$M" netlink object)" 5 1)" \
		"sent 0 refused 1"
	timeout -k 1 5 sh -c "echo ours > $M/netlink" || fail "write netlink"
	expect "netlink: ours arrives" "$(read_one "$M/netlink")" ours
fi
unmount_ipcfs "$M"

mount_ipcfs -o outsiders
M=$MNT
timeout -k 1 5 true < "$M/udp" || fail "open udp"
stranger "$M"
expect "udp with -o outsiders: the stranger's datagram arrives" \
	"$(read_one "$M/udp")" stranger
if [ -e "$M/netlink" ]; then
	o=$(stat_of "$M" netlink object)
	"$IPCFS_CLIENTS/outsider" netlink-raw "$o" 7 1 >/dev/null
	"$IPCFS_CLIENTS/outsider" netlink "$o" 5 1 >/dev/null
	expect "netlink with -o outsiders: a stranger's message arrives (bytes)" \
		"$(read_one "$M/netlink" | wc -c)" 5
	expect "netlink: its unframed datagram is dropped" \
		"$(stat_of "$M" netlink dropped)" 1
fi
case $(stat_of "$M" zmq object) in
tcp://127.0.0.1:[0-9]* | "") pass "zmq with -o outsiders listens on tcp://" ;;
*) fail "zmq with -o outsiders: object '$(stat_of "$M" zmq object)'" ;;
esac
finish
