#!/usr/bin/env bash
# test_basic.sh - every transport file driven by cat, echo and dd:
#  - a default mount's root holds one file per IPC transport and `stats`,
#    nothing else: no plainmem file, stats line or lookup, in a mkdir'ed
#    directory neither; with -o control the root and a mkdir'ed directory
#    hold plainmem (the bench's control) too; the rest runs with it;
#  - `echo hi > f; cat f` prints hi and exits (data stays after the writer);
#  - two writes with nobody reading both stay, in order;
#  - `cat f` started first waits, gets what `echo` writes, and exits;
#  - `cat f` on an empty channel with no writer keeps waiting;
#  - a writer open before `cat f` that leaves without writing ends the
#    cat (EOF), and one that comes and goes while another writer stays
#    does not;
#  - dd of 4 MiB (byte transports) or 256 KiB in 4 KiB messages (message
#    transports) through the channel arrives unchanged (cmp);
#  - big and odd-sized writes and reads (1 MiB, 777777 and 300001 bytes),
#    both orders of start, arrive unchanged through pipe and fifo (the
#    splice roads: pages move from the writer's request into the kernel
#    pipe and out into the reader's) and unix (the copying road).
. "$(dirname "$0")/lib.sh"

need_fuse

# a default mount: IPC files and stats, no control
mount_ipcfs
ls_default=$(ls "$MNT" | tr '\n' ' ')
case " $ls_default " in
*" plainmem "*) fail "plainmem in a default mount's ls: $ls_default" ;;
*" pipe "*" stats "*) pass "default ls: $ls_default" ;;
*) fail "default ls: $ls_default" ;;
esac
[ -e "$MNT/plainmem" ] && fail "a default mount looks plainmem up" ||
	pass "no plainmem to look up in a default mount"
stat_of "$MNT" plainmem name | grep -q . &&
	fail "a default mount's stats has a plainmem line" ||
	pass "no plainmem line in a default mount's stats"
timeout -k 1 5 mkdir "$MNT/d" || fail "mkdir d"
[ -e "$MNT/d/plainmem" ] && fail "plainmem in a default mount's mkdir'ed dir"
expect "d holds the root's files" "$(ls "$MNT/d" | tr '\n' ' ')" \
	"$ls_default"
unmount_ipcfs

mount_ipcfs -o control
M=$MNT
case " $(ls "$M" | tr '\n' ' ') " in
*" plainmem "*) pass "-o control: plainmem in ls" ;;
*) fail "-o control: no plainmem in ls: $(ls "$M" | tr '\n' ' ')" ;;
esac
timeout -k 1 5 mkdir "$M/d" && [ -f "$M/d/plainmem" ] &&
	pass "-o control: plainmem in a mkdir'ed dir" ||
	fail "-o control: no plainmem in a mkdir'ed dir"
expect "-o control: a plainmem stats line" "$(stat_of "$M" plainmem name)" \
	plainmem
timeout -k 1 5 rmdir "$M/d" || fail "rmdir d"
S=$SCRATCH

present=" $(transports_in "$M" | tr '\n' ' ') "
[ -f "$M/stats" ] && pass "stats is in the root" || fail "no stats file in the root"
for f in "$M"/*; do
	f=${f##*/}
	case " $ALL_TRANSPORTS stats " in
	*" $f "*) ;;
	*) fail "unexpected entry '$f' in the root (the spec lists $ALL_TRANSPORTS stats)" ;;
	esac
done
for t in $ALL_TRANSPORTS; do
	case $present in
	*" $t "*) ;;
	*) if [ "$t" = zmq ] || [ -n "${IPCFS_ONLY:-}" ]; then say "no $t: skipped"; else
		fail "no $t file in the root (have:$present)"; fi ;;
	esac
done

head -c $((4 << 20)) /dev/urandom >"$S/big"
head -c $((256 << 10)) /dev/urandom >"$S/msgs"

basic_one() {
	local t=$1 f=$M/$1 got rc cat_pid t0 src bs sent

	# writer first: the data waits for the reader, who then gets EOF
	timeout -k 1 5 sh -c "echo hi > $f" || fail "$t: echo hi > f failed"
	got=$(timeout -k 1 5 cat "$f")
	rc=$?
	expect "$t: echo then cat" "$got (rc $rc)" "hi (rc 0)"

	timeout -k 1 5 sh -c "echo one > $f; echo two > $f" ||
		fail "$t: two writes failed"
	got=$(timeout -k 1 5 cat "$f" | tr '\n' ' ')
	expect "$t: two writes kept for a later reader" "$got" "one two "

	# reader first: it waits, gets the line, and exits once the writer left
	timeout -k 1 10 cat "$f" >"$S/out.$t" &
	cat_pid=$!
	sleep 0.3
	alive "$cat_pid" || fail "$t: cat of an empty channel did not wait"
	t0=$(now)
	timeout -k 1 5 sh -c "echo hi > $f" || fail "$t: echo hi > f (reader waiting) failed"
	wait_gone "$cat_pid" 5 || fail "$t: waiting cat did not end after the writer left"
	wait "$cat_pid"
	rc=$?
	expect "$t: cat then echo" "$(cat "$S/out.$t") (rc $rc)" "hi (rc 0)"
	lt "$(secs_since "$t0")" 3 || fail "$t: waiting cat took $(secs_since "$t0") s to end"

	# no writer, no data: a reader waits (timeout ends it with 124)
	timeout -k 1 1 cat "$f" >/dev/null
	expect "$t: cat of an empty channel waits" "$?" 124

	# a writer that was there first leaves: EOF, but only with no writer
	# (4>&-: the children must not inherit our writer)
	exec 4>>"$f"
	timeout -k 1 10 cat "$f" >"$S/out.$t" 4>&- &
	cat_pid=$!
	sleep 0.2
	timeout -k 1 5 sh -c ": >> $f" 4>&-	# a second writer comes and goes
	sleep 0.3
	alive "$cat_pid" || fail "$t: cat ended while a writer still had the file open"
	exec 4>&-
	wait_gone "$cat_pid" 5 || fail "$t: cat did not end when the last writer left"
	wait "$cat_pid"
	expect "$t: EOF once the last writer left" "$(cat "$S/out.$t") (rc $?)" " (rc 0)"

	# bulk data, reader started first
	if is_msg "$t"; then
		src=$S/msgs bs=4096
	else
		src=$S/big bs=65536
	fi
	rm -f "$S/got.$t"
	timeout -k 1 60 cat "$f" >"$S/got.$t" &
	cat_pid=$!
	t0=$(now)
	timeout -k 1 60 dd if="$src" of="$f" bs=$bs status=none ||
		fail "$t: dd into the channel failed"
	wait "$cat_pid" || fail "$t: cat of the dd stream ended with $?"
	sent=$(stat -c %s "$src")
	if cmp -s "$src" "$S/got.$t"; then
		pass "$t: dd of $sent bytes (bs $bs) arrived unchanged in $(secs_since "$t0") s"
	else
		fail "$t: dd stream differs: sent $sent, got $(stat -c %s "$S/got.$t") bytes;" \
		     "$(cmp "$src" "$S/got.$t" 2>&1 | head -1)"
	fi
	check_alive
}

each_transport basic_one $present

head -c $((24 << 20)) /dev/urandom >"$S/huge"
for t in pipe fifo unix; do
	f=$M/$t
	case $present in *" $t "*) ;; *) continue ;; esac
	for sizes in "1M 1M" "777777 300001" "300001 1M"; do
		set -- $sizes
		for first in reader writer; do
			rm -f "$S/got"
			if [ $first = writer ]; then
				timeout -k 1 60 dd if="$S/huge" of="$f" bs=$1 \
					status=none &
				wr_pid=$!
				sleep 0.2
			fi
			timeout -k 1 60 dd if="$f" of="$S/got" bs=$2 \
				status=none &
			rd_pid=$!
			if [ $first = reader ]; then
				timeout -k 1 60 dd if="$S/huge" of="$f" bs=$1 \
					status=none &
				wr_pid=$!
			fi
			wait "$wr_pid" || fail "$t: dd bs=$1 into the channel failed"
			wait "$rd_pid" || fail "$t: dd bs=$2 out of the channel failed"
			if cmp -s "$S/huge" "$S/got"; then
				pass "$t: 24 MiB in writes of $1, reads of $2, $first first: unchanged"
			else
				fail "$t: writes of $1, reads of $2, $first first: got" \
				     "$(stat -c %s "$S/got") bytes;" \
				     "$(cmp "$S/huge" "$S/got" 2>&1 | head -1)"
			fi
		done
	done
	check_alive
done

unmount_ipcfs
finish
