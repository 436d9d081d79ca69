#!/usr/bin/env bash
# test_size_stats.sh - st_size and the stats file, every transport:
#  - st_size and stats' queued are the bytes waiting: 0, 5, 11, then 0
#    once read; bytes and msgs counters follow (written/read, by key);
#  - readers= and writers= count open files; parked_reads=1 while a cat
#    waits, parked_writes=1 while a dd waits on the full channel, and
#    st_size then equals queued;
#  - object= names the real thing and it exists (FIFO, socket, port,
#    /dev/mqueue, /dev/shm, file, zmq endpoint; may be empty);
#  - a mkdir'ed directory has its own stats, untouched by the root's.
. "$(dirname "$0")/lib.sh"

need_fuse
mqueue_init
mount_ipcfs -o control	# plainmem too, as the bench mounts
M=$MNT

# until SECONDS T KEY VALUE: wait for stats of T to show KEY=VALUE
until_stat() { wait_for "$1" eval "[ \"\$(stat_of $M $2 $3)\" = \"$4\" ]"; }

# written/read pair of counters as "small big", whatever the key names mean
pair() {
	local a b
	a=$(stat_of "$M" "$1" "${2}_in") b=$(stat_of "$M" "$1" "${2}_out")
	if [ "${a:-x}" -le "${b:-x}" ] 2>/dev/null; then echo "$a $b"; else echo "$b $a"; fi
}

lines=$(timeout -k 1 5 cat "$M/stats" | wc -l)
expect "stats has one line per file but itself" "$lines" \
	"$(find "$M" -mindepth 1 -maxdepth 1 -type f ! -name stats | wc -l)"

for t in $(transports_in "$M"); do
	f=$M/$t
	expect "$t: st_size of the fresh channel" "$(size_of "$f")" 0
	expect "$t: queued of the fresh channel" "$(stat_of "$M" "$t" queued)" 0

	timeout -k 1 5 sh -c "printf hello > $f"
	until_stat 2 "$t" queued 5
	expect "$t: st_size after 5 bytes" "$(size_of "$f")" 5
	expect "$t: queued after 5 bytes" "$(stat_of "$M" "$t" queued)" 5
	expect "$t: bytes counters after writing 5" "$(pair "$t" bytes)" "0 5"
	is_msg "$t" && expect "$t: msgs counters after one message" "$(pair "$t" msgs)" "0 1"
	timeout -k 1 5 sh -c "printf world! > $f"
	until_stat 2 "$t" queued 11
	expect "$t: st_size after 11 bytes" "$(size_of "$f")" 11

	exec 3<"$f"
	expect "$t: readers with one open" "$(stat_of "$M" "$t" readers)" 1
	exec 4>>"$f"
	expect "$t: writers with one open" "$(stat_of "$M" "$t" writers)" 1
	exec 3<&- 4>&-
	until_stat 2 "$t" writers 0
	expect "$t: readers after close" "$(stat_of "$M" "$t" readers)" 0
	expect "$t: writers after close" "$(stat_of "$M" "$t" writers)" 0

	expect "$t: read back" "$(timeout -k 1 5 cat "$f")" "helloworld!"
	expect "$t: st_size once read" "$(size_of "$f")" 0
	expect "$t: queued once read" "$(stat_of "$M" "$t" queued)" 0
	expect "$t: bytes counters once read" "$(pair "$t" bytes)" "11 11"

	# a waiting reader is a parked read
	timeout -k 1 10 cat "$f" >/dev/null &
	pid=$!
	until_stat 3 "$t" parked_reads 1
	expect "$t: parked_reads while cat waits" "$(stat_of "$M" "$t" parked_reads)" 1
	timeout -k 1 5 sh -c "echo x > $f"
	wait "$pid"
	expect "$t: parked_reads after" "$(stat_of "$M" "$t" parked_reads)" 0

	# a writer waiting on the full channel is a parked write
	timeout -k 1 20 dd if=/dev/zero of="$f" bs=1000 status=none \
		2>"$SCRATCH/dd.$t.err" &
	pid=$!
	until_stat 10 "$t" parked_writes 1 ||
		say "$t: dd $(kill -0 "$pid" 2>/dev/null && echo runs ||
			echo ended): $(cat "$SCRATCH/dd.$t.err")" >&2
	expect "$t: parked_writes while dd waits" "$(stat_of "$M" "$t" parked_writes)" 1
	q=$(stat_of "$M" "$t" queued) s=$(size_of "$f")
	if [ "$q" -gt 0 ] 2>/dev/null && [ "$s" = "$q" ]; then
		pass "$t: full channel: st_size = queued = $q"
	else
		fail "$t: full channel: st_size $s, queued $q"
	fi
	kill -TERM "$pid"
	wait "$pid"
	until_stat 3 "$t" parked_writes 0 ||
		fail "$t: parked_writes stays $(stat_of "$M" "$t" parked_writes)" \
		     "after the writer died"
	timeout -k 1 20 cat "$f" >/dev/null
	expect "$t: st_size once drained" "$(size_of "$f")" 0

	obj=$(stat_of "$M" "$t" object)
	case $t in
	fifo) [ -p "$obj" ] ;;
	unix | unixdgram) [ -z "$obj" ] || [ -S "$obj" ] ;;
	tcp | udp) [[ $obj =~ ^127\.0\.0\.1:[0-9]+$ ]] ;;
	mqueue) [[ $obj == /dev/mqueue/ipcfs.* ]] &&
		{ [ -z "$MQUEUE_DIR" ] || [ -e "$MQUEUE_DIR/${obj#/dev/mqueue/}" ]; } ;;
	shm) [[ $obj == /dev/shm/* ]] && [ -e "$obj" ] ;;
	mmap | file) [ -f "$obj" ] ;;
	zmq) [[ $obj =~ ^(tcp://127\.0\.0\.1:[0-9]+|ipc://.+)$ ]] ;;
	*) true ;;
	esac && pass "$t: object=$obj" || fail "$t: object='$obj' is not a live $t object"
	check_alive
done

# a directory's stats are its own
timeout -k 1 5 mkdir "$M/d" || die "mkdir $M/d failed"
expect "d/stats names the same channels" \
	"$(timeout -k 1 5 cat "$M/d/stats" | awk '{print $1}' | sort | tr '\n' ' ')" \
	"$(timeout -k 1 5 cat "$M/stats" | awk '{print $1}' | sort | tr '\n' ' ')"
root_before=$(stat_of "$M" pipe bytes_in)
timeout -k 1 5 sh -c "printf abc > $M/d/pipe"
expect "d/stats counts d/pipe" "$(stat_of "$M/d" pipe queued)" 3
expect "d/pipe st_size" "$(size_of "$M/d/pipe")" 3
expect "root stats untouched" \
	"$(stat_of "$M" pipe queued) $(stat_of "$M" pipe bytes_in)" "0 $root_before"
expect "d/pipe read back" "$(timeout -k 1 5 cat "$M/d/pipe")" abc
timeout -k 1 5 rmdir "$M/d" || fail "rmdir $M/d failed"

unmount_ipcfs
finish
