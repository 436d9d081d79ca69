# plot.gp - the bench's two charts, from the data bench/plot.sh extracts.
# rates: "transport direct mount" lines ("?": not run), a log-scale bar
# chart; cdf_d, cdf_m: one block per transport (a title line, then
# "percentile oneway_us"), direct dashed, mount solid. Set with gnuplot -e:
# rates, out_rates, cdf_d, cdf_m, nd, nm, out_cdf, what; a chart whose
# output is not set is left out.

set datafile missing "?"
set encoding utf8
if (exists("out_rates")) {
	set terminal pngcairo size 1200,600 noenhanced font ",10"
	set output out_rates
	set title "round trips per second, direct vs through the mount (" . what . ")"
	set style data histogram
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set logscale y
	set yrange [100:*]
	set format y "%.0s%c"
	set ylabel "round trips/s (log)"
	set grid ytics
	set xtics rotate by -30
	set key top right
	plot rates using 2:xtic(1) title "direct" lc rgb "#3465a4", \
	     '' using 3 title "mount" lc rgb "#cc0000"
	unset output
	reset
}
if (exists("out_cdf")) {
	set terminal pngcairo size 1000,650 noenhanced font ",10"
	set output out_cdf
	set datafile missing "?"
	set title "one-way latency CDF (RTT/2), direct dashed, mount solid (" . what . ")"
	set logscale x
	set xlabel "one-way latency [us] (log)"
	set ylabel "percentile"
	set yrange [0:100]
	set grid
	set key bottom right font ",8"
	plot for [i=0:nd-1] cdf_d index i using 2:1 with lines dt 2 lw 1.5 \
		lc i+1 title columnheader(1), \
	     for [i=0:nm-1] cdf_m index i using 2:1 with lines dt 1 lw 1.5 \
		lc i+1 title columnheader(1)
	unset output
}
