#!/usr/bin/env bash
# test_writers.sh - many writers and readers at once on every transport
# (clients/writers_client.c):
#  - 16 writers, 1 reader, records of 16..4096 (PIPE_BUF) bytes: every
#    record whole (never interleaved with another writer's bytes), once,
#    in its writer's order;
#  - 8 writers, 4 readers: every record (message transports) or every byte
#    (byte transports, counted by value) delivered exactly once in total;
#  - byte transports, 4 writers of up to 60000 bytes, 3 readers: every byte
#    exactly once (big writes may interleave).
. "$(dirname "$0")/lib.sh"

need_fuse
client wc_ writers_client
mount_ipcfs -o control	# plainmem too, as the bench mounts

run() {
	local what=$1 t0
	shift
	t0=$(now)
	if timeout -k 2 120 "$wc_" "$@" >"$SCRATCH/out" 2>&1; then
		pass "$what: $(tail -1 "$SCRATCH/out") ($(secs_since "$t0") s)"
	else
		fail "$what: writers_client $* failed (status $?):"
		sed 's/^/    /' "$SCRATCH/out" | head -20 >&2
	fi
}

for t in $(transports_in "$MNT"); do
	f=$MNT/$t
	m=
	is_msg "$t" && m=msg
	n=300
	[ "$t" = signal ] && n=40	# 7 bytes a signal: keep it short
	run "$t: 16 writers, 1 reader" "$f" 16 $n 4096 1 $m
	run "$t: 8 writers, 4 readers" "$f" 8 $((n / 2)) 4096 4 $m
	[ -z "$m" ] && run "$t: big writes, 3 readers" "$f" 4 50 60000 3
	check_alive
done

unmount_ipcfs
finish
