#!/usr/bin/env bash
# plot.sh - the bench's charts with gnuplot (gnuplot-nox) and plot.gp,
# from `direct --format csv` (installed: ipcfs-bench-plot). Each is drawn
# when CSV has what it needs, and its path printed:
#   rates.png         round trips/s direct vs mount per transport at one
#                     size (log), the control and the floor marked across
#   cdf.png           given --cdf's file: one panel per transport, its
#                     direct and mount latency CDFs and the control's,
#                     all on the same axes
#   sweep.png         ping-pong at 3 sizes or more (--size sweep): one-way
#                     p50 against size, log-log, a line per transport,
#                     a panel per road
#   sweep-stream.png  the same for --mode stream: MB/s against size
# E.g.:
#   direct --format csv --cdf /tmp/cdf.csv > /tmp/bench.csv
#   plot.sh -o /tmp/plots /tmp/bench.csv /tmp/cdf.csv
#   direct --size sweep -t pipe,shm --format csv | plot.sh -
#
# usage: plot.sh [-s SIZE] [-o DIR] CSV|- [CDF]
#   -s  the size in bytes of rates.png and cdf.png (default: the smallest)
#   -o  where the PNGs go (default .)
# Exit status: 0 drawn, 1 gnuplot failed or no data, 2 usage, 77 no gnuplot.
set -euo pipefail
# installed, we are run through a link in bindir: our files are beside us
here=$(dirname "$(readlink -f "$0")")
. "$here/lib.sh"

size= out=.
parse_opts "s:size o:out" "$@"
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $ME [-s SIZE] [-o DIR] CSV|- [CDF]" 2
csv=$1 cdf=${2:-}
command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox)" 77
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$csv" = - ]; then	# straight from the bench: read twice below
	cat >"$tmp/stdin.csv"
	csv=$tmp/stdin.csv
fi

# columns by name from the header, so that new columns do not matter;
# the control and the floor are references, not transports
cols='NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }'
refs='function ref(t) { return t == "plainmem" || t ~ /^floor/ }'
# "16", "1K", "64K", "1M": bench_size_str's labels
label='function label(s) {
	if (s >= 1048576 && s % 1048576 == 0) return s / 1048576 "M"
	if (s >= 1024 && s % 1024 == 0) return s / 1024 "K"
	return s
}'
good='($c["status"] == "ok" || $c["status"] == "error") && $c["count"] > 0'

# sizes MODE: the sizes of MODE's rows, ascending, one a line
sizes() {
	awk -F, -v mode="$1" "$cols"' $c["mode"] == mode { print $c["size"] }' "$csv" | sort -nu
}

# rates.dat, "transport direct mount" at $size, and refs: the control's
# and the floors' rates as gnuplot assignments
rates_data() {
	awk -F, -v size="$size" -v dat="$tmp/rates.dat" "$cols $refs"'
		$c["mode"] != "pingpong" || $c["size"] != size || !('"$good"') { next }
		{ t = $c["transport"]; v = $c["msg_per_s"] }
		t == "plainmem" { print "ctl=" v; next }
		t == "floor" { print "flo=" v; next }
		t == "floor-1p" { print "f1p=" v; next }
		{
			if (!(t in seen)) { seen[t] = 1; order[++n] = t }
			r[t, $c["road"]] = v
		}
		END {
			for (i = 1; i <= n; i++) {
				t = order[i]
				d = ((t, "direct") in r) ? r[t, "direct"] : "?"
				m = ((t, "mount") in r) ? r[t, "mount"] : "?"
				print t, d, m > dat
			}
		}' "$csv"
}

# cdf_data: one file per transport and road (cdf/T.direct, cdf/T.mount,
# cdf/control) of "percentile oneway_us" at $size, in rates.dat's order;
# prints the gnuplot lists of names and which roads each has
cdf_data() {
	mkdir "$tmp/cdf"
	awk -F, -v size="$size" -v dir="$tmp/cdf" \
		-v order="$(cut -d' ' -f1 "$tmp/rates.dat" | tr '\n' ' ')" \
		"$refs"'
		NR == 1 || $3 != size { next }
		$2 == "plainmem" { print $4, $5 > (dir "/control"); ctl = 1 }
		ref($2) { next }
		{ print $4, $5 > (dir "/" $2 "." $1); has[$2, $1] = 1 }
		{ if (!lo || $5 < lo) lo = $5; if ($5 > hi) hi = $5 }
		END {
			n = split(order, o, " ")
			for (i = 1; i <= n; i++) {
				if (!((o[i], "direct") in has) && !((o[i], "mount") in has))
					continue
				names = names " " o[i]
				hd = hd " " (((o[i], "direct") in has) ? 1 : 0)
				hm = hm " " (((o[i], "mount") in has) ? 1 : 0)
			}
			printf "cdf_names=\"%s\"; cdf_d=\"%s\"; cdf_m=\"%s\"; ", names, hd, hm
			printf "cdf_ctl=%d; cdf_lo=%g; cdf_hi=%g;\n", ctl, lo, hi
		}' "$cdf"
}

# sweep_data MODE COLUMN: sweep_ROAD.dat for each road, a block of "size
# value" lines per transport that has rows; prints the gnuplot lists of
# blocks and styles: a transport keeps its style in both panels, the
# control and floors theirs
sweep_data() {
	awk -F, -v mode="$1" -v col="$2" -v dir="$tmp" -v sz="$(sizes "$1")" "$cols $refs $label"'
		$c["mode"] != mode || !('"$good"') { next }
		{
			t = $c["transport"]; road = $c["road"] == "floor" ? "mount" : $c["road"]
			if (!ref(t) && !(t in style)) style[t] = ++nstyles
			if (!((road, t) in seen)) { seen[road, t] = 1; names[road] = names[road] " " t }
			v[road, t, $c["size"]] = $c[col]; had[$c["size"]] = 1
			if ($c[col] > 0 && (!lo || $c[col] < lo)) lo = $c[col]
			if ($c[col] > hi) hi = $c[col]
		}
		END {
			n = split(sz, all, "\n")	# ascending; those with figures
			for (k = 1; k <= n; k++) if (all[k] in had) sizes[++ns] = all[k]
			style["plainmem"] = 101; style["floor"] = 102; style["floor-1p"] = 103
			for (r = 1; r <= 2; r++) {
				road = r == 1 ? "direct" : "mount"
				f = dir "/sweep_" road ".dat"
				n = split(names[road], tt, " ")
				for (i = 1; i <= n; i++) {
					for (k = 1; k <= ns; k++)
						if ((road, tt[i], sizes[k]) in v) print sizes[k], v[road, tt[i], sizes[k]] > f
					print "\n" > f
				}
				st = ""
				for (i = 1; i <= n; i++) st = st " " style[tt[i]]
				printf "sw_%s_n=%d; sw_%s_st=\"%s\"; ", road, n, road, st
			}
			keys = ""
			for (t1 in style) if (style[t1] <= nstyles) key[style[t1]] = t1
			for (i = 1; i <= nstyles; i++) keys = keys " " key[i]
			tics = ""
			for (k = 1; k <= ns; k++)
				tics = tics (k > 1 ? ", " : "") "\"" label(sizes[k]) "\" " sizes[k]
			printf "sw_keys=\"%s\"; sw_tics=%c%s%c; sw_lo=%g; sw_hi=%g;\n",
			       keys, 39, tics, 39, lo, hi
		}' "$csv"
}

cpus=$(awk -F, "$cols"' { print $c["cpus"]; exit }' "$csv")
args=()
drawn=()
pp_sizes=$(sizes pingpong)
st_sizes=$(sizes stream)
[ -n "$pp_sizes$st_sizes" ] || die "$csv: no rows"

if [ -n "$pp_sizes" ]; then
	[ -n "$size" ] || size=$(head -n 1 <<<"$pp_sizes")
	grep -qx -- "$size" <<<"$pp_sizes" || die "$csv: no ping-pong rows of size $size"
	what="ping-pong, $size B, --cpus $cpus"
	args+=(-e "$(rates_data | tr '\n' ';') rates='$tmp/rates.dat'")
	args+=(-e "out_rates='$out/rates.png'; what='$what'")
	drawn+=("$out/rates.png")
	if [ -n "$cdf" ]; then
		args+=(-e "$(cdf_data) cdf_dir='$tmp/cdf'; out_cdf='$out/cdf.png'")
		grep -q '^cdf_names=" ' <<<"${args[-1]}" || die "$cdf: no rows of size $size"
		drawn+=("$out/cdf.png")
	fi
elif [ -n "$cdf" ]; then
	die "$cdf: a CDF needs the ping-pong rows of the same run"
fi
if [ "$(wc -l <<<"$pp_sizes")" -ge 3 ]; then
	args+=(-e "$(sweep_data pingpong oneway_p50_us) out_sweep='$out/sweep.png'")
	args+=(-e "sweep_what='ping-pong, --cpus $cpus'")
	drawn+=("$out/sweep.png")
fi
if [ "$(wc -l <<<"$st_sizes")" -ge 3 ]; then
	# a chart of its own: one gnuplot run per sweep (each sets its xtics)
	gnuplot -e "$(sweep_data stream mb_per_s) out_sweep='$out/sweep-stream.png'" \
		-e "sweep_what='stream, --cpus $cpus'; stream=1; sw_dir='$tmp'" "$here/plot.gp"
	drawn+=("$out/sweep-stream.png")
fi
[ ${#drawn[@]} -gt 0 ] || die "$csv: nothing to draw (ping-pong rows, or 3 sizes of stream rows)"
if [ ${#args[@]} -gt 0 ]; then
	gnuplot "${args[@]}" -e "sw_dir='$tmp'" "$here/plot.gp"
fi
for f in "${drawn[@]}"; do
	[ -s "$f" ] || die "$f was not written"
	echo "$f"
done
