#!/usr/bin/env bash
# plot.sh - charts of one message size with gnuplot (gnuplot-nox) and
# bench/plot.gp: direct vs mount round trips/s per transport, log scale
# (rates.png), and given --cdf's file the one-way latency CDF of every
# row (cdf.png). E.g.:
#   direct --format csv --cdf /tmp/cdf.csv > /tmp/bench.csv
#   bench/plot.sh -o /tmp/plots /tmp/bench.csv /tmp/cdf.csv
#
# usage: bench/plot.sh [-s SIZE] [-o DIR] CSV [CDF]
#   -s  the message size in bytes (default: the smallest in CSV)
#   -o  where the PNGs go (default .)
# Exit status: 0 drawn, 1 gnuplot failed or no data, 2 usage, 77 no gnuplot.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

size= out=.
parse_opts "s:size o:out" "$@"
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 [-s SIZE] [-o DIR] CSV [CDF]" 2
csv=$1 cdf=${2:-}
command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox)" 77
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# columns by name from the header, so that new columns do not matter
cols='NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }'
if [ -z "$size" ]; then
	size=$(awk -F, "$cols"' $c["mode"] == "pingpong" { print $c["size"] }' "$csv" |
		sort -n | head -n 1)
fi
[ -n "$size" ] || die "$csv: no ping-pong rows"
cpus=$(awk -F, "$cols"' { print $c["cpus"]; exit }' "$csv")
what="ping-pong, $size B, --cpus $cpus"

# transport  direct  mount, in the order of first appearance
awk -F, -v size="$size" "$cols"'
	$c["mode"] != "pingpong" || $c["size"] != size { next }
	{
		t = $c["transport"]; road = $c["road"]
		if (!(t in seen)) { seen[t] = 1; order[++n] = t }
		if ($c["status"] == "ok" || $c["status"] == "error")
			v[t, road == "direct" ? "d" : "m"] = $c["msg_per_s"]
	}
	END {
		for (i = 1; i <= n; i++) {
			t = order[i]
			d = ((t, "d") in v) ? v[t, "d"] : "?"
			m = ((t, "m") in v) ? v[t, "m"] : "?"
			print t, d, m
		}
	}' "$csv" >"$tmp/rates.dat"
[ -s "$tmp/rates.dat" ] || die "$csv: no rows of size $size"
args=(-e "rates='$tmp/rates.dat'; out_rates='$out/rates.png'; what='$what'")

if [ -n "$cdf" ]; then
	# one block per transport and road, in the same order in both files
	# (transports with only a mount row come last), so colours match
	order=$(cut -d' ' -f1 "$tmp/rates.dat" | tr '\n' ' ')
	for road in direct mount; do
		awk -F, -v size="$size" -v road="$road" -v order="$order" '
			NR == 1 { next }
			# the floor is drawn with the mount road
			($1 == road || (road == "mount" && $1 == "floor")) &&
			$3 == size { p[$2] = p[$2] $4 " " $5 "\n"; r[$2] = $1 }
			END {
				n = split(order, o, " ")
				for (i = 1; i <= n; i++)
					if (o[i] in p) {
						if (k++) printf "\n\n"
						printf "%s_%s\n%s", o[i], r[o[i]], p[o[i]]
					}
			}' "$cdf" >"$tmp/cdf_$road.dat"
	done
	nd=$(grep -c '_direct$' "$tmp/cdf_direct.dat" || true)
	nm=$(grep -c -e '_mount$' -e '_floor$' "$tmp/cdf_mount.dat" || true)
	[ $((nd + nm)) -gt 0 ] || die "$cdf: no rows of size $size"
	args+=(-e "cdf_d='$tmp/cdf_direct.dat'; cdf_m='$tmp/cdf_mount.dat'")
	args+=(-e "nd=$nd; nm=$nm; out_cdf='$out/cdf.png'")
fi
gnuplot "${args[@]}" "$(dirname "$0")/plot.gp"
for f in "$out/rates.png" ${cdf:+"$out/cdf.png"}; do
	[ -s "$f" ] || die "$f was not written"
	echo "$f"
done
