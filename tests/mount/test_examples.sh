#!/usr/bin/env bash
# test_examples.sh - run every example on a real mount, so none rots:
#  - chat.sh: a line alice sends reaches bob, who starts later;
#  - throughput.sh: every byte transport moves 16 MiB and reports MB/s;
#  - messages.sh: its output is exactly the one its header promises;
#  - watch_stats.sh: the queue fills to a parked write, 12 messages read,
#    the counters go back to 0;
#  - outside.sh: a FIFO write and an nc datagram from outside come out of
#    the mount; afterwards both channels still work through the mount and
#    st_size/queued stay sane;
#  - pingpong (C): 500 checked round trips through every transport;
# and the root holds only its own files again at the end.
. "$(dirname "$0")/lib.sh"

need_fuse
EX=${IPCFS_EXAMPLES:-$(cd "$(dirname "$0")/../../examples" && pwd)}
PP=${IPCFS_PINGPONG:-}
[ -x "$EX/chat.sh" ] || die "examples not found in $EX (set IPCFS_EXAMPLES)"
# plainmem too, as the bench mounts; outside.sh sends to udp from nc
mount_ipcfs -o control,outsiders
M=$MNT
root_set=$(cd "$M" && ls | tr '\n' ' ')

# run NAME SECONDS CMD...: run an example, output in $SCRATCH/NAME
run() {
	local name=$1 secs=$2 rc
	shift 2
	timeout -k 2 "$secs" "$@" >"$SCRATCH/$name" 2>"$SCRATCH/$name.err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$name ran"
	else
		fail "$name: status $rc:"
		sed 's/^/    /' "$SCRATCH/$name" "$SCRATCH/$name.err" | head -20 >&2
	fi
	return "$rc"
}

# chat: alice talks first, bob joins later and gets the line
# (input by redirection, not a pipe: run must count failures in this shell)
run chat-alice 10 "$EX/chat.sh" "$M" alice bob < <(printf 'hello bob\n')
run chat-bob 10 "$EX/chat.sh" "$M" bob alice < <(sleep 1)
expect "chat: bob got alice's line" "$(cat "$SCRATCH/chat-bob")" "<alice> hello bob"
for d in alice bob; do
	expect "rmdir chat dir $d" "$(timeout -k 1 5 rmdir "$M/$d" 2>&1 && echo OK)" OK
done

if run throughput 120 "$EX/throughput.sh" "$M" 16; then
	n=$(awk 'NR > 1 && $2 == 16 && $4 > 0' "$SCRATCH/throughput" | wc -l)
	want=$(for t in pipe fifo unix tcp shm mmap file; do [ -f "$M/$t" ] && echo; done | wc -l)
	expect "throughput: lines with MB/s" "$n" "$want"
	sed 's/^/    /' "$SCRATCH/throughput"
fi

if run messages 30 "$EX/messages.sh" "$M"; then
	expect "messages.sh output" "$(cat "$SCRATCH/messages")" "\
mqueue: read 1 -> 'one' (3 bytes)
mqueue: read 2 -> 'three' (5 bytes)
mqueue: read 3 -> 'fifteen' (7 bytes)
pipe:   one read -> 'onethreefifteen' (15 bytes)
mqueue: dd bs=4 -> 'abcd', then -> 'efghijk'
mqueue: 8193 bytes -> dd: error writing '$M/mqueue': Message too long"
fi

if run watch_stats 30 "$EX/watch_stats.sh" "$M"; then
	grep -q 'parked_writes=1 ' "$SCRATCH/watch_stats" &&
		pass "watch_stats: the writer was seen parked" ||
		fail "watch_stats: never saw parked_writes=1"
	expect "watch_stats: reader" "$(grep '^reader' "$SCRATCH/watch_stats")" \
		"reader got 12 messages"
	last=$(tail -1 "$SCRATCH/watch_stats")
	case $last in
	*queued=0*parked_writes=0*st_size=0) pass "watch_stats: all back to 0" ;;
	*) fail "watch_stats: last line '$last'" ;;
	esac
fi

if ! command -v nc >/dev/null; then
	say "note: nc is not installed; outside.sh skipped"
elif run outside 30 "$EX/outside.sh" "$M"; then
	grep -qx 'read from MOUNT/fifo: hello through the FIFO' "$SCRATCH/outside" &&
		pass "outside: FIFO write came out of MOUNT/fifo" ||
		fail "outside: $(cat "$SCRATCH/outside")"
	grep -qx 'read from MOUNT/udp: hello over UDP' "$SCRATCH/outside" &&
		pass "outside: nc datagram came out of MOUNT/udp" ||
		fail "outside: $(cat "$SCRATCH/outside")"
	# an outsider must not break the channel's accounting
	for t in fifo udp; do
		expect "$t: st_size after the outsider" "$(size_of "$M/$t" 2>&1)" 0
		expect "$t: queued after the outsider" "$(stat_of "$M" "$t" queued)" 0
		timeout -k 1 5 sh -c "echo inside > $M/$t" 2>/dev/null
		expect "$t: works through the mount after the outsider" \
			"$(timeout -k 1 5 cat "$M/$t" 2>&1)" inside
	done
fi

if [ -x "$PP" ]; then
	for t in $(transports_in "$M"); do
		if run "pingpong-$t" 60 "$PP" "$M" "$t" 500 100; then
			out=$(tail -1 "$SCRATCH/pingpong-$t")
			[[ $out == "$t: 500 round trips in "*" round trips/s"* ]] &&
				pass "pingpong $t:${out#*:}" || fail "pingpong $t: $out"
		fi
	done
	run pingpong-big 60 "$PP" "$M" pipe 200 100000 &&
		pass "pingpong pipe, 100000 bytes:$(tail -1 "$SCRATCH/pingpong-big" | cut -d: -f2-)"
else
	fail "pingpong not built (set IPCFS_PINGPONG)"
fi

check_alive
expect "the root holds only its own files" "$(cd "$M" && ls | tr '\n' ' ')" "$root_set"
unmount_ipcfs
finish
