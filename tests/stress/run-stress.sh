#!/bin/bash
# run-stress.sh - the long soak: every transport, N writers x M readers
# (8 x 8 unless told), directly and through a fresh ipcfs mount, for a
# bounded time and record count; prints one line of figures per transport
# and road (see tests/stress/stress.c for what each column checks) and
# exits 1 on any lost, duplicated, corrupted or reordered record.
#
# Usage: tests/stress/run-stress.sh [--build DIR] [--seconds S]
#	 [--records R] [--writers N] [--readers M] [STRESS OPTIONS...]
#   --build DIR   the meson build directory (default: build)
#   --seconds S   time for all runs together (default 30)
#   --records R   most records per writer (default: the time decides)
# Anything else goes to the stress program (--transport pipe,mqueue,
# --road direct, --size 4000, --free-readers ...). The mount is unmounted
# on any exit, ^C included (tests/mount/lib.sh).

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
seconds=30
pass_on=(--writers 8 --readers 8)
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) pass_on+=("$1"); shift ;;
	esac
done

set --
IPCFS=$build/fs/ipcfs
. "$src/tests/mount/lib.sh"
STRESS=$build/tests/stress/stress
[ -x "$STRESS" ] || die "$STRESS not built (ninja -C $build)"

mount_ipcfs -o control	# plainmem too: the mount road runs it
say "ipcfs on $MNT (pid $DAEMON_PID), $(nproc) CPUs, unpinned"
"$STRESS" --road both --via "$MNT" --seconds "$seconds" "${pass_on[@]}" ||
	fail "stress: some run lost, duplicated, corrupted or reordered records"
check_alive
unmount_ipcfs
finish
