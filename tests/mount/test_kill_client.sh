#!/usr/bin/env bash
# test_kill_client.sh - kill -9 of a reader or writer in the middle of a
# request, every transport:
#  - a reader parked on the empty channel, killed: parked_reads and readers
#    drop to 0, and the next line goes to the next reader;
#  - a writer parked on the full channel (1 MiB writes on byte transports),
#    killed: parked_writes and writers drop to 0, the channel drains and
#    works;
#  - a streaming dd pair, the reader killed mid-stream, then the writer:
#    the channel drains and works;
# and each time another channel keeps working.
. "$(dirname "$0")/lib.sh"

need_fuse
mount_ipcfs -o control	# plainmem too, as the bench mounts
M=$MNT

# readall FILE: cat with NUL bytes shown as @ (leftover zeros must show)
readall() { timeout -k 1 5 cat "$1" | tr '\0' @; }

until_stat() { wait_for "$1" eval "[ \"\$(stat_of $M $2 $3)\" = \"$4\" ]"; }

# other_ok T: a channel other than T still works
other_ok() {
	local o=pipe
	[ "$1" = pipe ] && o=tcp
	timeout -k 1 5 sh -c "echo other > $M/$o"
	[ "$(timeout -k 1 5 cat "$M/$o")" = other ] || fail "$1: $o stopped working"
}

# settled T: nobody left on T
settled() {
	for k in parked_reads parked_writes readers writers; do
		until_stat 3 "$1" $k 0 ||
			fail "$1: $k is $(stat_of "$M" "$1" $k) after the kill, want 0"
	done
}

# each transport in a directory of its own, other_ok's channel too, so
# that four run side by side
kill_one() {
	local t=$1 M=$MNT/k_$1 f pid wpid rpid bs n

	timeout -k 1 5 mkdir "$M" || { fail "$t: mkdir $M"; return; }
	f=$M/$t

	# no `timeout` in front: the kill must hit the reader itself
	cat "$f" >/dev/null &
	pid=$!
	until_stat 3 "$t" parked_reads 1 || fail "$t: the reader did not park"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	settled "$t"
	other_ok "$t"
	timeout -k 1 5 sh -c "echo after-reader > $f"
	expect "$t: the next reader gets the next line" "$(timeout -k 1 5 cat "$f")" after-reader

	bs=1M
	is_msg "$t" && bs=1000
	dd if=/dev/zero of="$f" bs=$bs status=none 2>/dev/null &
	pid=$!
	until_stat 10 "$t" parked_writes 1 || fail "$t: the writer did not park"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	settled "$t"
	other_ok "$t"
	n=$(timeout -k 1 20 cat "$f" | tr -d '\0' | wc -c)
	expect "$t: drained only zeros" "$n" 0
	timeout -k 1 5 sh -c "echo after-writer > $f"
	expect "$t: works after the killed writer" "$(readall "$f")" after-writer

	dd if=/dev/zero of="$f" bs=$bs status=none 2>/dev/null &
	wpid=$!
	dd if="$f" of=/dev/null bs=4k status=none &
	rpid=$!
	sleep 0.2
	alive "$rpid" && alive "$wpid" || fail "$t: the stream ended by itself"
	kill -KILL "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	sleep 0.1
	kill -KILL "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	settled "$t"
	other_ok "$t"
	timeout -k 1 20 cat "$f" >/dev/null
	timeout -k 1 5 sh -c "echo after-stream > $f"
	expect "$t: works after a killed stream" "$(readall "$f")" after-stream
	check_alive
}

each_transport kill_one $(transports_in "$MNT")

unmount_ipcfs
finish
