#!/usr/bin/env bash
# test_pipe_budget.sh - an unprivileged daemon past its pipe budget (issue
# 10, item 3). A normal user's pipes may take pipe-user-pages-soft pages
# (16,384 by default: 64 pipes of 1 MiB); beyond it F_SETPIPE_SZ(1 MiB)
# fails with EPERM and the kernel gives new pipes 2 pages. The daemon
# must then keep the smaller pipe, not refuse the channel:
#  - in each of soft/256 + 16 directories (80 by default) `echo > D/pipe;
#    cat D/pipe` and the same on D/fifo give the line back; every channel
#    stays made (a channel's pipe lives until rmdir or unmount), so the
#    later ones are all past the budget;
#  - stats' capacity of every pipe and fifo channel is positive, of the
#    first directory's 1 MiB and of the last one's below 1 MiB;
#  - the first directories still work afterwards, the daemon survives.
# Run as a normal user only (tests/mount/as_user.sh): root has no budget.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -eq 0 ]; then
	echo "SKIP: root has no pipe budget; run it through as_user.sh"
	exit 77
fi
soft=$(cat /proc/sys/fs/pipe-user-pages-soft 2>/dev/null) || soft=0
if [ "${soft:-0}" -eq 0 ]; then
	echo "SKIP: no pipe-user-pages-soft limit here"
	exit 77
fi
need_fuse
mount_ipcfs
M=$MNT
MIB=1048576
n=$((soft * 4096 / MIB + 16))

# use D T I: a line through D/T comes back; 0 if it did
use() {
	local got

	timeout -k 1 5 sh -c "echo $2-$3 > $1/$2" 2>"$SCRATCH/err" ||
		{ echo "write: $(cat "$SCRATCH/err")"; return 1; }
	got=$(timeout -k 1 5 cat "$1/$2" 2>"$SCRATCH/err") ||
		{ echo "read: $(cat "$SCRATCH/err")"; return 1; }
	[ "$got" = "$2-$3" ] || { echo "read '$got'"; return 1; }
}

bad=0
for ((i = 1; i <= n; i++)); do
	d=$M/d$i
	mkdir "$d" || { fail "mkdir d$i"; bad=$((bad + 1)); continue; }
	for t in pipe fifo; do
		if ! why=$(use "$d" $t "$i"); then
			[ "$bad" -lt 5 ] && fail "d$i/$t: $why"
			bad=$((bad + 1))
		fi
	done
done
[ "$bad" -eq 0 ] && pass "$n directories: pipe and fifo each gave the line back" ||
	fail "$bad of $((2 * n)) channels failed (first 5 shown)"

low=0 bad=0
for ((i = 1; i <= n; i++)); do
	for t in pipe fifo; do
		c=$(stat_of "$M/d$i" $t capacity)
		if ! [ "${c:-0}" -gt 0 ] 2>/dev/null; then
			[ "$bad" -lt 5 ] && fail "d$i/$t: capacity '$c'"
			bad=$((bad + 1))
		fi
		[ "${c:-0}" -lt "$MIB" ] 2>/dev/null && low=$((low + 1))
	done
done
[ "$bad" -eq 0 ] || fail "$bad channels without a capacity (first 5 shown)"
expect "d1/pipe: capacity" "$(stat_of "$M/d1" pipe capacity)" "$MIB"
c=$(stat_of "$M/d$n" pipe capacity)
if [ "${c:-0}" -gt 0 ] 2>/dev/null && [ "$c" -lt "$MIB" ]; then
	pass "d$n/pipe: capacity $c, below 1 MiB past the budget ($low channels below)"
else
	fail "d$n/pipe: capacity '$c', want 0 < c < $MIB"
fi

for i in 1 2 3; do
	for t in pipe fifo; do
		why=$(use "$M/d$i" $t "again$i") && pass "d$i/$t works again" ||
			fail "d$i/$t again: $why"
	done
done
check_alive
unmount_ipcfs
finish
