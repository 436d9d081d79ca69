#!/bin/bash
# test_stress.sh - the short soak that `meson test` runs: 4 writers x 4
# readers (fewer where a transport allows fewer, see stress.c), up to 3000
# numbered, checksummed records per writer (10 s for all runs at most),
# every transport, directly and
# through a fresh ipcfs mount. Fails on any record lost, duplicated,
# corrupted or out of order, on a hang, and on a sanitizer report from
# the daemon. Without FUSE only the direct road runs, then SKIP (77).
#
# By hand: IPCFS=build/fs/ipcfs IPCFS_STRESS=build/tests/stress/stress \
#	tests/stress/test_stress.sh

args=("$@")
set --
. "$(dirname "$0")/../mount/lib.sh"
set -- "${args[@]+"${args[@]}"}"

STRESS=${IPCFS_STRESS:-}
[ -x "$STRESS" ] || die "no stress program: set IPCFS_STRESS"
SHORT=(--writers 4 --readers 4 --records 3000 --seconds 10 --size 1000 --timeout 60)

if ! skip=$(need_fuse); then
	"$STRESS" --road direct "${SHORT[@]}" || die "direct road failed"
	echo "$skip; the direct road passed, the mount road did not run"
	exit 77
fi

mount_ipcfs -o control	# plainmem too: the mount road runs it
if "$STRESS" --road both --via "$MNT" "${SHORT[@]}"; then
	pass "every record exactly once, intact, in order"
else
	fail "stress found lost, duplicated, corrupted or reordered records"
fi
check_alive
unmount_ipcfs
finish
