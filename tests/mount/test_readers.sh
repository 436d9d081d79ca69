#!/usr/bin/env bash
# test_readers.sh - 1000 readers waiting at once (pipe, then mqueue):
# 1000 `head -c 10` wait on the empty channel (stats shows 1000 parked
# reads, the mount still answers), then one writer writes 1000 lines of 10
# bytes, one write() each: every reader ends with exactly one line and
# every line is delivered exactly once in total. Then the same with 1000
# `cat` on the pipe: all end (EOF) once the writer leaves, and together
# they printed every line exactly once, each some of them.
. "$(dirname "$0")/lib.sh"

need_fuse
N=${READERS:-1000}
mount_ipcfs
ulimit -n 4096 2>/dev/null

parked() { [ "$(stat_of "$MNT" "$1" parked_reads)" = "$N" ]; }

for round in pipe mqueue cat; do
	t=$round reader=(head -c 10)
	[ "$round" = cat ] && t=pipe reader=(cat)
	f=$MNT/$t
	out=$SCRATCH/$round
	mkdir -p "$out"
	t0=$(now)
	pids=()
	for i in $(seq 1 "$N"); do
		timeout -k 2 60 "${reader[@]}" "$f" >"$out/$i" &
		pids+=($!)
	done
	if wait_for 30 parked "$t"; then
		pass "$t: $N readers parked after $(secs_since "$t0") s"
	else
		fail "$t: parked_reads is $(stat_of "$MNT" "$t" parked_reads), want $N"
	fi
	expect "$t: readers in stats" "$(stat_of "$MNT" "$t" readers)" "$N"
	# the mount answers while they wait
	timeout -k 1 5 sh -c "echo x > $MNT/tcp" && [ "$(timeout -k 1 5 cat "$MNT/tcp")" = x ] ||
		fail "$t: another channel stopped working with $N readers waiting"

	t0=$(now)
	timeout -k 2 60 bash -c "for i in \$(seq 1 $N); do printf '%09d\n' \$i; done > $f" ||
		fail "$t: the writer of $N lines failed"
	bad=0
	for p in "${pids[@]}"; do
		wait "$p" || bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ] || fail "$t: $bad readers ended with an error or timed out"
	pass "$t: $N ${reader[0]} done $(secs_since "$t0") s after the writer started"
	if [ "$round" = cat ]; then
		expect "$t: cat that got data" "$(find "$out" -type f -size +0 | wc -l)" "$N"
	else
		short=$(find "$out" -type f ! -size 10c | wc -l)
		expect "$t: readers that did not get exactly one line" "$short" 0
	fi
	got=$(cat "$out"/* | sort | md5sum)
	want=$(for i in $(seq 1 "$N"); do printf '%09d\n' "$i"; done | md5sum)
	expect "$t: every line delivered exactly once" "$got" "$want"
	for k in parked_reads readers queued; do
		expect "$t: $k back to 0" "$(stat_of "$MNT" "$t" $k)" 0
	done
	check_alive
done

unmount_ipcfs
finish
