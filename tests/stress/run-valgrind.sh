#!/usr/bin/env bash
# run-valgrind.sh - the ipcfs daemon (-o control) under valgrind
# --leak-check=full across bench/direct --road mount over every transport
# and the control, 100 B, round trips adding up to 100,000 messages (and a
# directory made and removed per row); then unmounted (a clean exit) and
# valgrind's error and leak summaries printed.
#
# usage: tests/stress/run-valgrind.sh [-m MESSAGES] [-s SIZE] [-t LIST]
# Daemon: $IPCFS, the bench: $DIRECT, else build/ (BUILD=dir), else $PATH.
# Exit status: 0 no error and no definite or indirect leak, 1 otherwise.
set -euo pipefail
# a pass or a fail, not a figure: a test; the bench is its load
. "$(dirname "$0")/../../bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

messages=100000 size=100 list=
parse_opts "m:messages s:size t:list" "$@"
command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install valgrind)"
direct=$(find_daemon direct "${DIRECT:-}" "$BUILD/bench/direct")
log=$(mktemp /tmp/ipcfs-valgrind.XXXXXX)

BENCH_MOUNT_WAIT=60	# valgrind starts slowly
DAEMON_OPTS=(-o control)
bench_mount ipcfs "$(ipcfs_exe)" valgrind --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect \
	--log-file="$log"
# the transports: every one the daemon has, from its own root
[ -n "$list" ] || list=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^name=/) {
	sub(/^name=/, "", $i); printf "%s%s", n++ ? "," : "", $i } }' "$MNT/stats")
n=$(echo "$list" | tr ',' '\n' | grep -c .)
count=$(( (messages + 2 * n - 1) / (2 * n) ))
echo "# ipcfs under valgrind (pid $DAEMON_PID) on $MNT; log $log"
echo "# $direct --via $MNT --road mount -t $list -s $size -c $count"
echo "# = $n rows x $count round trips x 2 = $((n * count * 2)) messages"
start=$SECONDS
"$direct" --via "$MNT" --road mount -t "$list" -s "$size" -c "$count" --cpus none |
	grep -v '^#' || say "the bench reported failures (above)"
echo "# bench took $((SECONDS - start)) s; unmounting"
fusermount3 -u "$MNT"
! alive "$DAEMON_PID" 60 || die "the daemon did not exit after the unmount"
wait "$DAEMON_PID" && st=0 || st=$?
echo "# daemon exit status $st; valgrind's summaries:"
sed -n 's/^==[0-9]*== //; /HEAP SUMMARY/,$p' "$log"
grep -q 'ERROR SUMMARY: 0 errors' "$log"
