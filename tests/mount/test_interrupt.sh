#!/usr/bin/env bash
# test_interrupt.sh - Ctrl-C on a waiting reader or writer, every transport:
#  - `timeout -s INT 1 cat f` on an empty channel ends after ~1 s, while a
#    second reader keeps waiting and then gets the next line;
#  - `timeout -s INT 1 dd of=f` blocked on a full channel ends after ~1 s
#    (bs=1000, and on pipe and fifo bs=300K, parked half spliced);
#    the channel drains and works afterwards;
#  - clients/poll_client.c intr: read and write interrupted by a SIGALRM
#    handler return EINTR, nothing is lost or consumed by the interrupted
#    request.
. "$(dirname "$0")/lib.sh"

need_fuse
client pc poll_client
mount_ipcfs -o control	# plainmem too, as the bench mounts

interrupt_one() {
	local t=$1 f=$MNT/$1 other t0 rc dt bss bs n k

	# another reader waits the whole time
	timeout -k 1 20 cat "$f" >"$SCRATCH/other.$t" &
	other=$!
	t0=$(now)
	timeout -k 2 -s INT 1 cat "$f" >/dev/null
	rc=$? dt=$(secs_since "$t0")
	if [ "$rc" -eq 124 ] && lt "$dt" 2.5; then
		pass "$t: SIGINT ended a waiting cat after $dt s"
	else
		fail "$t: timeout -s INT 1 cat: status $rc after $dt s (want 124, ~1 s)"
	fi
	alive "$other" || fail "$t: the other waiting reader ended too"
	timeout -k 1 5 sh -c "echo next > $f"
	wait_gone "$other" 5 || fail "$t: the other reader did not get the line"
	wait "$other"
	expect "$t: the other reader got the next line" "$(cat "$SCRATCH/other.$t")" next

	# a writer blocked on a full channel; on pipe and fifo also one whose
	# big writes are spliced in and parked half-way
	bss=1000
	case $t in pipe|fifo) bss="1000 300K" ;; esac
	for bs in $bss; do
		t0=$(now)
		timeout -k 2 -s INT 1 dd if=/dev/zero of="$f" bs=$bs status=none 2>/dev/null
		rc=$? dt=$(secs_since "$t0")
		if [ "$rc" -eq 124 ] && lt "$dt" 2.5; then
			pass "$t: SIGINT ended a writer (bs=$bs) blocked on the full channel after $dt s"
		else
			fail "$t: timeout -s INT 1 dd of=f bs=$bs: status $rc after $dt s (want 124, ~1 s)"
		fi
		n=$(timeout -k 1 20 cat "$f" | tr -d '\0' | wc -c)
		expect "$t: drained the zeros dd wrote (bs=$bs)" "$n" 0
	done
	timeout -k 1 5 sh -c "echo again > $f"
	expect "$t: the channel works after" "$(timeout -k 1 5 cat "$f")" again

	if timeout -k 2 30 "$pc" intr "$f" >"$SCRATCH/out.$t" 2>&1; then
		pass "$t: EINTR of a waiting read and write" \
		     "($(grep -c '^ok:' "$SCRATCH/out.$t") checks)"
	else
		fail "$t: poll_client intr failed (status $?):"
		grep -v '^ok:' "$SCRATCH/out.$t" | sed 's/^/    /' >&2
	fi
	for k in parked_reads parked_writes readers writers; do
		expect "$t: $k back to 0" "$(stat_of "$MNT" "$t" $k)" 0
	done
	check_alive
}

each_transport interrupt_one ${ONLY:-$(transports_in "$MNT")}

unmount_ipcfs
finish
