#!/usr/bin/env bash
# test_messages.sh - message transports (clients/msg_client.c): one write()
# is one message, one read() returns at most one, a short read leaves the
# rest for the next read; a write over the limit fails with EMSGSIZE and
# sends nothing (mqueue 8192 bytes, udp 65507, dbus 65536), one at the
# limit arrives whole. Byte transports are checked for the opposite: two
# writes may be read back by one read.
. "$(dirname "$0")/lib.sh"

need_fuse
client mc msg_client
mount_ipcfs -o control	# plainmem too, as the bench mounts

for t in $(transports_in "$MNT"); do
	is_msg "$t" || continue
	max=$(msg_max "$t")
	if timeout -k 2 60 "$mc" "$MNT/$t" $max >"$SCRATCH/out" 2>&1; then
		pass "$t: $(grep -c '^ok:' "$SCRATCH/out") message checks${max:+ (limit $max)}"
	else
		fail "$t: msg_client failed (status $?):"
		grep -v '^ok:' "$SCRATCH/out" | sed 's/^/    /' >&2
	fi
	check_alive
done

# the message limit through the shell: dd reports "Message too long"
for spec in mqueue:8192 udp:65507 dbus:65536; do
	t=${spec%:*} max=${spec#*:}
	[ -f "$MNT/$t" ] || continue
	# one read of /dev/zero is one block: never a write split by a pipe
	err=$(timeout -k 1 5 dd if=/dev/zero of="$MNT/$t" bs=$((max + 1)) \
	      count=1 status=none 2>&1)
	case $err in
	*"Message too long"*) pass "$t: dd of $((max + 1)) bytes: Message too long" ;;
	*) fail "$t: dd of $((max + 1)) bytes: got '$err', want Message too long" ;;
	esac
done

# a byte stream has no boundaries: two writes, then one read gets both
timeout -k 1 5 sh -c "printf ab > $MNT/pipe; printf cd > $MNT/pipe"
got=$(timeout -k 1 5 dd if="$MNT/pipe" bs=64k count=1 status=none)
expect "pipe: two writes come back in one read" "$got" abcd

unmount_ipcfs
finish
