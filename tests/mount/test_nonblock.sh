#!/usr/bin/env bash
# test_nonblock.sh - O_NONBLOCK and readiness on every transport file
# (clients/poll_client.c nonblock): EAGAIN on an empty channel and on a
# full one, poll/select/epoll report POLLIN when there is data and POLLOUT
# when there is room, a waiting poll() is woken by another process, the
# bytes written until EAGAIN all come back in order, then EOF;
# big O_NONBLOCK writes (300 KiB, the last one short; pages spliced into
# pipe and fifo, copied into unix) into a channel that fills: dd stops at
# EAGAIN, and exactly the bytes it was told were written come out, in
# order.
. "$(dirname "$0")/lib.sh"

need_fuse
client pc poll_client
mount_ipcfs -o control	# plainmem too, as the bench mounts

nonblock_one() {
	local t=$1 out=$SCRATCH/out.$1

	if timeout -k 2 60 "$pc" nonblock "$MNT/$t" >"$out" 2>&1; then
		pass "$t: $(grep -c '^ok:' "$out") nonblock/poll checks"
	else
		fail "$t: poll_client nonblock failed (status $?):"
		grep -v '^ok:' "$out" | sed 's/^/    /' >&2
	fi
	check_alive
}

each_transport nonblock_one $(transports_in "$MNT")

head -c $((8 << 20)) /dev/urandom >"$SCRATCH/src"
for t in pipe fifo unix; do
	f=$MNT/$t
	dd if="$SCRATCH/src" of="$f" bs=300K iflag=fullblock oflag=nonblock \
		2>"$SCRATCH/dd.err"
	rc=$?
	grep -q "Resource temporarily unavailable" "$SCRATCH/dd.err" && [ $rc -ne 0 ] ||
		fail "$t: dd oflag=nonblock did not stop at EAGAIN (status $rc):" \
		     "$(head -2 "$SCRATCH/dd.err")"
	acked=$(awk '/bytes/ { print $1; exit }' "$SCRATCH/dd.err")
	timeout -k 1 10 cat "$f" >"$SCRATCH/got"
	if [ "${acked:-0}" -gt 0 ] && head -c "$acked" "$SCRATCH/src" | cmp -s - "$SCRATCH/got"; then
		pass "$t: O_NONBLOCK 300 KiB writes: EAGAIN after $acked bytes, all of them read back"
	else
		fail "$t: O_NONBLOCK 300 KiB writes: $acked acknowledged, $(stat -c %s "$SCRATCH/got") read back," \
		     "$(head -c "${acked:-0}" "$SCRATCH/src" | cmp - "$SCRATCH/got" 2>&1 | head -1)"
	fi
	check_alive
done

unmount_ipcfs
finish
