#!/usr/bin/env bash
# readme-plots.sh - run the bench for the README's pictures and draw them:
# one command when the transports change. Into docs/ (or -o DIR), each
# picture next to the CSV it is drawn from:
#   pingpong.csv, pingpong-cdf.csv  `direct --format csv --cdf`: every
#       transport, 100 B and 1 KiB, both roads -> rates.png, cdf.png (100 B)
#   sweep.csv         `direct --size sweep` -> sweep.png
#   sweep-stream.csv  `direct --mode stream --size sweep` -> sweep-stream.png
# Builds first, as run-bench does. With -d 1 (the bench's default) it
# takes about 13 minutes for 22 transports; the machine should be
# otherwise idle.
#
# usage: bench/readme-plots.sh [-d SECONDS] [-o DIR]
#   -d  timed seconds per row (default 1)
#   -o  where the CSVs and PNGs go (default docs/ of this tree)
# Exit status: 0 all drawn, 1 a run or a chart failed, 2 usage.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
. "$here/../scripts/setup.sh"
. "$here/lib.sh"

secs=1 out=$here/../docs
parse_opts "d:secs o:out" "$@"
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
ipcfs_install_deps
ipcfs_build "$BUILD"
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME ARGS...: direct ARGS --format csv into NAME.csv, or die
run() {
	local name=$1
	shift
	say "direct $* -d $secs --format csv > $out/$name.csv"
	"$BUILD/bench/direct" "$@" -d "$secs" --format csv >"$tmp/$name.csv" ||
		die "direct $* failed"
	mv "$tmp/$name.csv" "$out/$name.csv"
}

run pingpong --cdf "$tmp/pingpong-cdf.csv"
mv "$tmp/pingpong-cdf.csv" "$out/pingpong-cdf.csv"
run sweep --size sweep
run sweep-stream --mode stream --size sweep

# each CSV's charts, then only the README's: a sweep draws rates.png too
"$here/plot.sh" -s 100 -o "$out" "$out/pingpong.csv" "$out/pingpong-cdf.csv"
"$here/plot.sh" -o "$tmp/sweep" "$out/sweep.csv" >/dev/null
"$here/plot.sh" -o "$tmp/sweep" "$out/sweep-stream.csv" >/dev/null
mv "$tmp/sweep/sweep.png" "$tmp/sweep/sweep-stream.png" "$out/"
ls -l "$out"/{rates,cdf,sweep,sweep-stream}.png
