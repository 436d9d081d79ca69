#!/usr/bin/env bash
# test_nonblock.sh - O_NONBLOCK and readiness on every transport file
# (clients/poll_client.c nonblock): EAGAIN on an empty channel and on a
# full one, poll/select/epoll report POLLIN when there is data and POLLOUT
# when there is room, a waiting poll() is woken by another process, the
# bytes written until EAGAIN all come back in order, then EOF.
. "$(dirname "$0")/lib.sh"

need_fuse
client pc poll_client
mount_ipcfs

for t in $(transports_in "$MNT"); do
	if timeout -k 2 60 "$pc" nonblock "$MNT/$t" >"$SCRATCH/out" 2>&1; then
		pass "$t: $(grep -c '^ok:' "$SCRATCH/out") nonblock/poll checks"
	else
		fail "$t: poll_client nonblock failed (status $?):"
		grep -v '^ok:' "$SCRATCH/out" | sed 's/^/    /' >&2
	fi
	check_alive
done

unmount_ipcfs
finish
