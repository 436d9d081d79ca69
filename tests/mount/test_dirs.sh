#!/usr/bin/env bash
# test_dirs.sh - mkdir and rmdir:
#  - mkdir NAME makes a directory with the same transport files and stats
#    as the root, each channel independent of the root's and of other
#    directories' (pipe, mqueue, shm, tcp, file checked);
#  - mkdir of an existing name says EEXIST;
#  - rmdir with a file open in it (idle, or a waiting reader) says EBUSY and
#    the directory keeps working; with nothing open (even with data queued)
#    it succeeds, the name is gone and its channel objects are removed;
#  - mkdir again of the same name gives fresh, empty channels;
#  - 40 directories at once: every mkdir and rmdir succeeds, the pipe of
#    each works, the daemon survives;
#  - -o max_user_dirs=N: a user's mkdir past N says EDQUOT; -o max_dirs=N:
#    any mkdir past N says ENOSPC; rmdir frees a place;
#  - -o max_user_parked=1 / -o max_parked=1 (MiB): with one 1 MiB write
#    waiting on a full pipe, a second one fails with EDQUOT / ENOSPC.
. "$(dirname "$0")/lib.sh"

need_fuse
client fo fsops
mount_ipcfs
M=$MNT

root_set=$(cd "$M" && ls | tr '\n' ' ')
expect "mkdir a" "$("$fo" mkdir "$M/a")" OK
expect "mkdir b" "$("$fo" mkdir "$M/b")" OK
expect "a holds the root's file set" "$(cd "$M/a" && ls | tr '\n' ' ')" \
	"$(echo "$root_set" | tr ' ' '\n' | grep -vx -e a -e b -e '' | tr '\n' ' ')"
expect "mkdir of an existing name" "$("$fo" mkdir "$M/a")" EEXIST
[ -d "$M/a" ] && pass "a is a directory" || fail "a is not a directory"

for t in pipe mqueue shm tcp file; do
	[ -f "$M/$t" ] || continue
	timeout -k 1 5 sh -c "echo in-a > $M/a/$t; echo in-b > $M/b/$t; echo in-root > $M/$t"
	expect "$t: a/$t is its own" "$(timeout -k 1 5 cat "$M/a/$t")" in-a
	expect "$t: b/$t is its own" "$(timeout -k 1 5 cat "$M/b/$t")" in-b
	expect "$t: root $t is its own" "$(timeout -k 1 5 cat "$M/$t")" in-root
done

# a file open in b: EBUSY
exec 3<"$M/b/pipe"
expect "rmdir b with b/pipe open" "$("$fo" rmdir "$M/b")" EBUSY
exec 3<&-
timeout -k 1 20 cat "$M/b/fifo" >"$SCRATCH/waiter" &
waiter=$!
wait_for 3 eval "[ \"\$(stat_of $M/b fifo parked_reads)\" = 1 ]"
expect "rmdir b with a reader waiting in it" "$("$fo" rmdir "$M/b")" EBUSY
timeout -k 1 5 sh -c "echo wake > $M/b/fifo"
wait "$waiter"
expect "the waiting reader still got its line" "$(cat "$SCRATCH/waiter")" wake

# nothing open, data queued: rmdir works and removes the objects
timeout -k 1 5 sh -c "echo left > $M/b/pipe"
objs=$(objects_of "$M/b")
expect "rmdir b with nothing open" "$("$fo" rmdir "$M/b")" OK
[ -e "$M/b" ] && fail "b still exists after rmdir" || pass "b is gone"
for o in $objs; do
	[ -e "$o" ] && fail "object $o of b is left after rmdir"
done
pass "b's objects removed: $(echo $objs)"
expect "rmdir of a missing directory" "$("$fo" rmdir "$M/b")" ENOENT
expect "rmdir of a transport file" "$("$fo" rmdir "$M/pipe")" ENOTDIR

expect "mkdir b again" "$("$fo" mkdir "$M/b")" OK
expect "b/pipe is fresh" "$(size_of "$M/b/pipe")" 0
timeout -k 1 1 cat "$M/b/pipe" >/dev/null
expect "b/pipe has nothing (reader waits)" "$?" 124
expect "a/pipe untouched" "$(size_of "$M/a/pipe")" 0

# many directories
bad=0
for i in $(seq 1 40); do
	r=$("$fo" mkdir "$M/many$i")
	[ "$r" = OK ] || { bad=$((bad + 1)); say "mkdir many$i: $r"; }
done
expect "40 mkdir" "$bad" 0
bad=0
for i in $(seq 1 40); do
	timeout -k 1 5 sh -c "echo $i > $M/many$i/pipe" &&
	[ "$(timeout -k 1 5 cat "$M/many$i/pipe")" = "$i" ] || bad=$((bad + 1))
done
expect "pipes of 40 directories" "$bad" 0
check_alive
bad=0
for i in $(seq 1 40); do
	r=$("$fo" rmdir "$M/many$i")
	[ "$r" = OK ] || { bad=$((bad + 1)); say "rmdir many$i: $r"; }
done
expect "40 rmdir" "$bad" 0
expect "a and b rmdir" "$("$fo" rmdir "$M/a") $("$fo" rmdir "$M/b")" "OK OK"
expect "the root is as it was" "$(cd "$M" && ls | tr '\n' ' ')" \
	"$(echo "$root_set" | tr ' ' '\n' | grep -vx -e a -e b -e '' | tr '\n' ' ')"
check_alive
unmount_ipcfs

# bounds: EDQUOT past one user's own directories, ENOSPC past the mount's
mount_ipcfs -o max_dirs=3,max_user_dirs=2
M=$MNT
expect "mkdir within the bounds" \
	"$("$fo" mkdir "$M/q1") $("$fo" mkdir "$M/q2")" "OK OK"
expect "mkdir past the user's bound" "$("$fo" mkdir "$M/q3")" EDQUOT
expect "nothing made" "$(ls "$M" | grep -c '^q')" 2
expect "rmdir frees a place" "$("$fo" rmdir "$M/q1") $("$fo" mkdir "$M/q3")" \
	"OK OK"
check_alive
unmount_ipcfs
mount_ipcfs -o max_dirs=2
M=$MNT
expect "mkdir past the mount's bound" \
	"$("$fo" mkdir "$M/r1") $("$fo" mkdir "$M/r2") $("$fo" mkdir "$M/r3")" \
	"OK OK ENOSPC"
expect "-o max_dirs=0 is refused" \
	"$(timeout -k 1 10 "$IPCFS" -f -o max_dirs=0 "$SCRATCH" 2>&1)" \
	"ipcfs: bad max_dirs '0' (1 to 1000000)"
unmount_ipcfs

# parked writes' copies: a write that must wait past -o max_user_parked
# MiB of one user's fails with EDQUOT, past -o max_parked in all ENOSPC
# park_one D: fill D/pipe, then a 1 MiB write waits on it (a background job)
park_one() {
	mkdir "$M/$1" || fail "mkdir $1"
	timeout -k 1 10 dd if=/dev/zero of="$M/$1/pipe" bs=1M count=1 \
		status=none || fail "$1: fill the pipe"
	timeout -k 1 60 dd if=/dev/zero of="$M/$1/pipe" bs=1M count=1 \
		status=none 2>"$SCRATCH/park.$1" &
	PARKED+=($!)
}
# over MOUNT_OPTS ERRNO-TEXT: the second parked write fails with it
over() {
	local p

	PARKED=()
	mount_ipcfs -o "$1"
	M=$MNT
	park_one p1
	wait_for 10 eval "[ \"\$(stat_of $M/p1 pipe parked_writes)\" = 1 ]" ||
		fail "$1: the first write did not park"
	park_one p2
	wait_gone "${PARKED[1]}" 10 || fail "$1: the second write waits too"
	case $(cat "$SCRATCH/park.p2") in
	*"$2"*) pass "-o $1: the second parked write fails: $2" ;;
	*) fail "-o $1: got '$(cat "$SCRATCH/park.p2")', want $2" ;;
	esac
	alive "${PARKED[0]}" || fail "$1: the first parked write ended"
	for p in "${PARKED[@]}"; do
		kill_tree "$p"
		wait "$p" 2>/dev/null || true
	done
	check_alive
	unmount_ipcfs
}
over max_user_parked=1 "Disk quota exceeded"
over max_parked=1 "No space left on device"
finish
