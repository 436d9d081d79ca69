#!/usr/bin/env bash
# test_bench_cpu.sh - bench/direct counts the CPU of the daemon that
# served a row: in CSV, a mount or floor row of its own mounts has
# cpu_daemon_s and daemon_cpu_us_per_msg (the daemon answered every
# request of the row, so above 0, and the one is the other per message),
# a direct row has them empty; JSON says null there; with --via the
# ipcfs is not the bench's and is not counted (the floor's nullfs still
# is); the table has a cpu column per road. The bench's own mounts use $IPCFS and the build's
# nullfs.
#
# Environment (meson sets it): IPCFS, IPCFS_BUILD (the build directory).
. "$(dirname "$0")/lib.sh"
need_fuse
direct=${IPCFS_BUILD:-}/bench/direct
[ -x "$direct" ] || die "$direct is not built (IPCFS_BUILD)"
export NULLFS=$IPCFS_BUILD/bench/nullfs
run=(-t pipe -s 100 -c 300 -w 10)

# csv_check FILE WANT: each row's daemon figures by road; WANT "ours"
# (measured on mount and floor rows) or "via" (on floor rows only)
csv_check() {
	awk -F, -v want="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{
			road = $c["road"]; s = $c["cpu_daemon_s"]; us = $c["daemon_cpu_us_per_msg"]
			n = $c["count"]; rows[road]++
			if ($c["status"] != "ok") { print road " " $2 ": status " $c["status"]; bad++ }
			else if (road == "direct" || (want == "via" && road == "mount")) {
				if (s != "" || us != "") { print road " " $2 ": daemon CPU " s " " us; bad++ }
			} else if (!(s > 0) || !(us > 0)) {
				print road " " $2 ": no daemon CPU (" s ", " us ")"; bad++
			} else if (us < 0.99 * s / n * 1e6 || us > 1.01 * s / n * 1e6) {
				print road " " $2 ": " us " us/msg is not " s " s over " n; bad++
			}
		}
		END {
			if ((want == "ours" && !rows["direct"]) || !rows["mount"] || !rows["floor"]) {
				print "missing roads: direct " rows["direct"] ", mount " rows["mount"] \
				      ", floor " rows["floor"]; bad++
			}
			exit bad > 0
		}' "$1"
}

if "$direct" "${run[@]}" --format csv >"$SCRATCH/ours.csv" 2>"$SCRATCH/ours.err" &&
   out=$(csv_check "$SCRATCH/ours.csv" ours); then
	pass "CSV: the daemon's CPU on the mount and floor rows, empty on the direct one"
else
	fail "CSV of our own mounts: ${out:-direct failed: $(head -c 500 "$SCRATCH/ours.err")}"
fi

if "$direct" "${run[@]}" --format json >"$SCRATCH/ours.json" 2>/dev/null &&
   grep -q '"road": "direct".*"daemon_cpu_us_per_msg": null' "$SCRATCH/ours.json" &&
   grep -q '"road": "mount".*"daemon_cpu_us_per_msg": [0-9]' "$SCRATCH/ours.json"; then
	pass "JSON: daemon_cpu_us_per_msg null on the direct road, a figure on the mount"
else
	fail "JSON: $(grep -o '"road": "[a-z]*".*"daemon_cpu_us_per_msg": [^,}]*' "$SCRATCH/ours.json")"
fi

if "$direct" "${run[@]}" >"$SCRATCH/ours.txt" 2>/dev/null &&
   grep -q 'dir cpu  mnt cpu$' "$SCRATCH/ours.txt" && ! grep -q 'not counted' "$SCRATCH/ours.txt"; then
	pass "table: a cpu column per road"
else
	fail "table: $(grep -E '^transport|cpu' "$SCRATCH/ours.txt")"
fi

mount_ipcfs -o control
if "$direct" "${run[@]}" --road mount --via "$MNT" --format csv >"$SCRATCH/via.csv" \
	2>"$SCRATCH/via.err" && out=$(csv_check "$SCRATCH/via.csv" via) &&
   "$direct" "${run[@]}" --road mount --via "$MNT" 2>/dev/null | grep -q 'not ours (--via): not counted'; then
	pass "--via: ipcfs is not ours, its CPU is not counted, and the table says so"
else
	fail "--via: ${out:-direct failed: $(head -c 500 "$SCRATCH/via.err")}"
fi
finish
