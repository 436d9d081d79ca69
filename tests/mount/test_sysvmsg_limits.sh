#!/usr/bin/env bash
# test_sysvmsg_limits.sh - sysvmsg at the System V limits, in a private
# IPC namespace (unshare -i) whose limits are lowered; the host's are
# never touched:
#  - kernel.msgmni = 3: three directories' sysvmsg channels open, the
#    fourth fails with ENOSPC (msgget's errno), `stats` says so, the made
#    ones keep their messages, and a queue freed by rmdir lets it open;
#  - kernel.msgmax = 512: a write of 512 bytes is one message, 513 fail
#    with EMSGSIZE (never clamped);
#  - after unmount no queue is left in the namespace.
# Without the right to make an IPC namespace it is skipped (77).
if [ -z "${IPCFS_IN_IPCNS:-}" ]; then
	unshare -i true 2>/dev/null || { echo "no IPC namespace: skipped"; exit 77; }
	exec unshare -i env IPCFS_IN_IPCNS=1 "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

need_fuse
echo 3 >/proc/sys/kernel/msgmni && echo 512 >/proc/sys/kernel/msgmax ||
	die "cannot lower msgmni/msgmax in the namespace"
queues() { tail -n +2 /proc/sysvipc/msg | wc -l; }

mount_ipcfs
for i in 1 2 3 4; do
	mkdir "$MNT/q$i" || die "mkdir q$i"
done
for i in 1 2 3; do
	timeout -k 1 5 sh -c "echo m$i > $MNT/q$i/sysvmsg" || fail "q$i: write"
done
err=$(timeout -k 1 5 dd if=/dev/zero of="$MNT/q4/sysvmsg" bs=1 count=1 \
      status=none 2>&1)
case $err in
*"No space left on device"*) pass "msgmni 3: the fourth queue: $err" ;;
*) fail "msgmni 3: the fourth queue: got '$err', want ENOSPC" ;;
esac
expect "q4: stats" "$(timeout -k 1 5 cat "$MNT/q4/stats" |
	sed -n 's/^name=sysvmsg .*error=//p')" "No space left on device"
for i in 1 2 3; do
	expect "q$i keeps its message" "$(timeout -k 1 5 cat "$MNT/q$i/sysvmsg")" "m$i"
done
rmdir "$MNT/q1" || fail "rmdir q1"
timeout -k 1 5 sh -c "echo m4 > $MNT/q4/sysvmsg" &&
	expect "q4 opens once q1's queue is gone" \
	       "$(timeout -k 1 5 cat "$MNT/q4/sysvmsg")" m4 ||
	fail "q4: still refused after rmdir q1"

head -c 512 /dev/zero >"$SCRATCH/512"
head -c 513 /dev/zero >"$SCRATCH/513"
timeout -k 1 5 dd if="$SCRATCH/512" of="$MNT/q2/sysvmsg" bs=512 status=none ||
	fail "msgmax 512: a 512-byte write"
expect "msgmax 512: one message of 512 bytes" \
       "$(timeout -k 1 5 dd if="$MNT/q2/sysvmsg" bs=64k count=1 status=none | wc -c)" 512
err=$(timeout -k 1 5 dd if="$SCRATCH/513" of="$MNT/q2/sysvmsg" bs=513 \
      status=none 2>&1)
case $err in
*"Message too long"*) pass "msgmax 512: 513 bytes: $err" ;;
*) fail "msgmax 512: 513 bytes: got '$err', want EMSGSIZE" ;;
esac
check_alive
unmount_ipcfs
expect "no queue left after unmount" "$(queues)" 0
finish
