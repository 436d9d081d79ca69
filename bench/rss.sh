#!/usr/bin/env bash
# rss.sh - the ipcfs daemon's resident set size (VmRSS): idle, with 1,000
# readers parked (`cat CHANNEL` on an empty channel with no writer, in
# MOUNT/rss.<pid>), and after one writer's 1,000 lines and close have
# ended them all (each sees the writer come and go: end of file). Every
# line must come out and no parked request stay behind in stats.
#
# usage: bench/rss.sh [-t TRANSPORT] [-n READERS] [MOUNT]
#   MOUNT  an ipcfs mount (its daemon is found from the object names in
#          its stats); default: mount one on a temp dir, unmounted at the end
#   -t     the channel (default pipe)   -n  readers (default 1000)
# Daemon: $IPCFS, else build/ (BUILD=dir), else ipcfs in $PATH.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

t=pipe n=1000
parse_opts "t:t n:n" "$@"
shift $((OPTIND - 1))
ipcfs_mount "$@"
mnt=$MNT pid=${DAEMON_PID:-$(daemon_of "$MNT")}
[ -n "$pid" ] || die "$mnt: no daemon pid in its stats objects"
dir=$mnt/rss.$$
out=$(mktemp)
readers=()

rss_cleanup() {
	local p
	for p in "${readers[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${readers[@]}"; do wait "$p" 2>/dev/null || true; done
	rmdir "$dir" 2>/dev/null || true
	rm -f "$out"
}
trap 'rss_cleanup; bench_cleanup' EXIT

# stat_of KEY: the value of KEY on our channel's stats line
stat_of() {
	awk -v t="$t" -v k="$1" '{ delete v; for (i = 1; i <= NF; i++) { split($i, p, "="); v[p[1]] = p[2] } }
		v["name"] == t { print v[k] }' "$dir/stats"
}

# status KEY: a line of /proc/PID/status, in KiB or a count
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }

show() {
	printf '%-30s VmRSS %7s KiB   VmHWM %7s KiB   threads %s   fds %s\n' "$1" \
		"$(status VmRSS)" "$(status VmHWM)" "$(status Threads)" "$(ls "/proc/$pid/fd" | wc -l)"
}

echo "# ipcfs pid $pid on $mnt; channel $dir/$t; $n readers"
show "idle:"
mkdir "$dir"
show "idle, one more directory:"
for _ in $(seq "$n"); do
	cat "$dir/$t" >>"$out" &
	readers+=($!)
done
deadline=$((SECONDS + 60))
while [ "$(stat_of parked_reads)" != "$n" ]; do
	[ $SECONDS -lt $deadline ] || die "only $(stat_of parked_reads) of $n reads parked after 60 s"
	sleep 0.2
done
show "$n readers parked:"
seq 1 "$n" | sed 's/^/line /' >"$dir/$t"
failed=0
for p in "${readers[@]}"; do wait "$p" || failed=$((failed + 1)); done
readers=()
got=$(wc -l <"$out")
show "all readers gone:"
echo "# lines read: $got of $n; readers that failed: $failed;" \
	"parked reads left: $(stat_of parked_reads); readers left: $(stat_of readers)"
[ "$got" -eq "$n" ] && [ "$failed" -eq 0 ] || die "lost lines or failed readers"
