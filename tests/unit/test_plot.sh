#!/bin/sh
# test_plot.sh - bench/plot.sh draws every chart from small checked-in
# samples of direct's --format csv and --cdf output (tests/unit/data):
# rates.png and cdf.png from a run at one size, sweep.png from a
# --size sweep ping-pong, sweep-stream.png from a stream sweep. Skips (77)
# without gnuplot.
#
# usage: test_plot.sh PLOT_SH DATA_DIR
set -eu
plot=$1
data=$2
if ! command -v gnuplot >/dev/null; then
	echo "SKIP: gnuplot is not installed (Debian: gnuplot-nox)"
	exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# is_png FILE: there and a PNG (the signature: \211 P N G)
is_png() {
	if [ ! -s "$1" ]; then
		echo "FAIL: $1 is missing or empty"
		exit 1
	fi
	if [ "$(od -An -c -N4 "$1" | tr -d ' ')" != '211PNG' ]; then
		echo "FAIL: $1 is not a PNG"
		exit 1
	fi
	echo "ok: $(basename "$1"), $(wc -c <"$1") bytes"
}

# run DIR ARGS...: plot.sh into DIR; it must name exactly what it drew
run() {
	d=$1
	shift
	mkdir -p "$d"
	"$plot" -o "$d" "$@" >"$d/list" || { echo "FAIL: plot.sh $*"; exit 1; }
	for f in "$d"/*.png; do
		grep -qx "$f" "$d/list" || { echo "FAIL: $f drawn but not named"; exit 1; }
	done
}

run "$out/one" "$data/bench-sample.csv" "$data/bench-sample-cdf.csv"
is_png "$out/one/rates.png"
is_png "$out/one/cdf.png"
[ ! -e "$out/one/sweep.png" ] || { echo "FAIL: a sweep from one size"; exit 1; }

run "$out/sweep" "$data/sweep-sample.csv"
is_png "$out/sweep/sweep.png"
is_png "$out/sweep/rates.png"
run "$out/stream" "$data/sweep-stream-sample.csv"
is_png "$out/stream/sweep-stream.png"

# a size the sample does not have is an error, not an empty chart
if "$plot" -s 12345 -o "$out" "$data/bench-sample.csv" 2>/dev/null; then
	echo "FAIL: -s 12345 drew a chart from no rows"
	exit 1
fi
echo "ok: no rows of size 12345 refused"
