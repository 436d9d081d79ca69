#!/bin/sh
# test_plot.sh - bench/plot.sh draws both charts (rates.png, cdf.png) from
# a small checked-in sample of direct's --format csv and --cdf output.
# Skips (77) without gnuplot.
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
"$plot" -o "$out" "$data/bench-sample.csv" "$data/bench-sample-cdf.csv"
for f in rates.png cdf.png; do
	if [ ! -s "$out/$f" ]; then
		echo "FAIL: $f is missing or empty"
		exit 1
	fi
	# the PNG signature: \211 P N G
	if [ "$(od -An -c -N4 "$out/$f" | tr -d ' ')" != '211PNG' ]; then
		echo "FAIL: $f is not a PNG"
		exit 1
	fi
	echo "ok: $f, $(wc -c <"$out/$f") bytes"
done
# a size the sample does not have is an error, not an empty chart
if "$plot" -s 12345 -o "$out" "$data/bench-sample.csv" 2>/dev/null; then
	echo "FAIL: -s 12345 drew a chart from no rows"
	exit 1
fi
echo "ok: no rows of size 12345 refused"
