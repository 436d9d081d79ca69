#!/usr/bin/env bash
# test_cleanup.sh - the daemon ends cleanly, status 0 and no mount left,
# on `fusermount3 -u`, `umount`, SIGTERM and SIGINT (the last two with a
# reader and a writer still waiting, who then end too), and removes every
# channel object: nothing of its pid in /dev/shm, the mqueue file system
# or its runtime dir, none of the object= paths of stats, and no process
# it started (the dbus channels' bus) still runs.
. "$(dirname "$0")/lib.sh"

need_fuse
mqueue_init
[ -n "$MQUEUE_DIR" ] || say "note: no mqueue file system to look in; queues not checked"

for how in fusermount umount SIGTERM SIGINT; do
	mount_ipcfs -o control
	M=$MNT pid=$DAEMON_PID err=$DAEMON_ERR
	timeout -k 1 5 mkdir "$M/d"
	for t in $(transports_in "$M"); do
		timeout -k 1 5 sh -c "echo data > $M/$t; echo data > $M/d/$t"
	done
	rundir=$(rundir_of "$M")
	objs=$( (objects_of "$M"; objects_of "$M/d") | sort -u)
	n=$(leftovers "$pid" "$rundir" | wc -l)
	[ "$n" -ge 10 ] || fail "$how: only $n named objects of the daemon found"
	! transports_in "$M" | grep -qx dbus || [ -n "$(processes_of "$pid")" ] ||
		fail "$how: no bus daemon of $pid found"
	waiters=()
	case $how in
	fusermount) timeout -k 2 10 fusermount3 -u "$M" || fail "fusermount3 -u failed" ;;
	umount) timeout -k 2 10 umount "$M" || fail "umount failed" ;;
	SIG*)
		timeout -k 1 30 cat "$M/d/fifo" >/dev/null 2>&1 &
		waiters+=($!)
		timeout -k 1 30 dd if=/dev/zero of="$M/d/pipe" bs=4k status=none 2>/dev/null &
		waiters+=($!)
		wait_for 5 eval "[ \"\$(stat_of $M/d pipe parked_writes)\" = 1 ]" ||
			fail "$how: the writer did not park"
		kill -"${how#SIG}" "$pid"
		;;
	esac
	if wait_gone "$pid" 10; then
		pass "$how: the daemon ended"
	else
		fail "$how: the daemon still runs 10 s later"
	fi
	reap_daemon "$pid" "$err" 0
	for w in "${waiters[@]+"${waiters[@]}"}"; do
		wait_gone "$w" 5 || fail "$how: a waiting reader/writer still hangs"
	done
	wait_for 3 eval "! mounted $M" || fail "$how: $M is still mounted"
	left=$( (leftovers "$pid" "$rundir"; processes_of "$pid"
		 for o in $objs; do [ -e "$o" ] && echo "$o"; done) | sort -u)
	[ -z "$left" ] && pass "$how: no objects left ($(echo "$objs" | wc -l) were there)" ||
		fail "$how: left behind: $(echo $left)"
done

finish
