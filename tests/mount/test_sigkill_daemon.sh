#!/usr/bin/env bash
# test_sigkill_daemon.sh - a daemon killed with SIGKILL:
#  - a reader waiting on the mount ends (with an error) instead of hanging;
#  - the dead mount answers ENOTCONN, and a new daemon refuses it (status 1,
#    one line);
#  - `fusermount3 -u` removes it and a new daemon mounts the same dir;
#  - the new daemon sweeps the dead one's objects (/dev/shm, mqueue,
#    runtime dir ipcfs.<pid>.*), works, and leaves nothing when unmounted;
#  - no process the dead one started (the dbus channels' bus) survives it.
# Where /dev/mqueue is not mounted the daemon cannot list queues to sweep
# them; the test then only notes the dead one's queues and removes them
# itself through a private mqueue mount.
. "$(dirname "$0")/lib.sh"

need_fuse
mqueue_init
mount_ipcfs -o control
M=$MNT
dead=$DAEMON_PID deaderr=$DAEMON_ERR

timeout -k 1 5 mkdir "$M/d"
for t in $(transports_in "$M"); do
	timeout -k 1 5 sh -c "echo data > $M/$t; echo data > $M/d/$t"
done
rundir=$(rundir_of "$M")
objs=$( (objects_of "$M"; objects_of "$M/d") | sort -u)
n=$(leftovers "$dead" "$rundir" | wc -l)
[ "$n" -gt 0 ] && pass "the daemon has $n named objects" ||
	fail "no named objects of the daemon found (rundir $rundir)"
! transports_in "$M" | grep -qx dbus || [ -n "$(processes_of "$dead")" ] ||
	fail "no bus daemon of the daemon found"

timeout -k 1 30 cat "$M/d/fifo" >/dev/null 2>&1 &
waiter=$!
wait_for 3 eval "[ \"\$(stat_of $M/d fifo parked_reads)\" = 1 ]"

kill -KILL "$dead"
reap_daemon "$dead" "$deaderr" 137
if wait_gone "$waiter" 5; then
	pass "a waiting reader ended when the daemon died"
else
	fail "a waiting reader still hangs 5 s after the daemon died"
fi

err=$(timeout -k 1 5 ls "$M" 2>&1)
case $err in
*"not connected"*) pass "dead mount: $err" ;;
*) fail "dead mount: ls said '$err', want 'Transport endpoint is not connected'" ;;
esac
mounted "$M" && pass "the dead mount is still there" || fail "the dead mount vanished by itself"

timeout -k 2 10 "$IPCFS" -f "$M" >/dev/null 2>"$SCRATCH/err"
rc=$?
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$SCRATCH/err")" -eq 1 ]; then
	pass "a new daemon on the dead mount refuses: $(cat "$SCRATCH/err")"
else
	fail "a new daemon on the dead mount: status $rc, stderr:"
	sed 's/^/    /' "$SCRATCH/err" >&2
fi

timeout -k 2 10 fusermount3 -u "$M" && pass "fusermount3 -u removed the dead mount" ||
	fail "fusermount3 -u of the dead mount failed"
mounted "$M" && die "$M still mounted"

MOUNT_DIR=$M mount_ipcfs -o control
pass "a new daemon mounted $M"
left=$( (leftovers "$dead" "$rundir"; processes_of "$dead"
	 for o in $objs; do [ -e "$o" ] && echo "$o"; done) | sort -u)
if [ -n "$MQUEUE_DIR" ] && [ "$MQUEUE_DIR" != /dev/mqueue ]; then
	q=$(echo "$left" | grep "^$MQUEUE_DIR/")
	left=$(echo "$left" | grep -v "^$MQUEUE_DIR/")
	if [ -n "$q" ]; then
		say "note: /dev/mqueue is not mounted, so the daemon could not sweep" \
		    "$(echo "$q" | wc -l) queue(s) of the dead one; removing them"
		rm -f $q
	fi
fi
[ -z "$left" ] && pass "the dead daemon's objects were swept" ||
	fail "the dead daemon's objects are left: $(echo $left)"
for t in $(transports_in "$M"); do
	timeout -k 1 5 sh -c "echo new > $M/$t"
	expect "$t works on the new mount" "$(timeout -k 1 5 cat "$M/$t")" new
done
new=$DAEMON_PID
unmount_ipcfs
left=$(leftovers "$new" "$rundir"; processes_of "$new")
[ -z "$left" ] && pass "nothing left after unmount" || fail "left after unmount: $(echo $left)"

finish
