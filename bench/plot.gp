# plot.gp - the bench's charts, from the data plot.sh extracts; a chart
# whose output is not set (gnuplot -e) is left out.
#   rates.png: rates ("transport direct mount" lines, "?": not run), what;
#     ctl, flo, f1p: the control's and the floors' rates, when measured
#   cdf.png: cdf_dir/T.direct, T.mount, control ("percentile us" lines);
#     cdf_names, and per name cdf_d, cdf_m (1: that road has a file);
#     cdf_ctl; cdf_lo, cdf_hi: the x range shared by every panel
#   sweep.png (stream=1: MB/s): sw_dir/sweep_direct.dat, sweep_mount.dat
#     (a block of "size value" lines per transport); sw_ROAD_n, sw_ROAD_st:
#     their blocks' styles; sw_keys: the transports by style; sw_tics, sw_lo, sw_hi

set datafile missing "?"
set encoding utf8

# a transport's style i: 12 colours, then again dashed, with a point each;
# the control (black), the floor (grey, dashed), floor-1p (grey, dotted);
# cdf.png's roads. A string, to set again after each chart's reset.
colours = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #17becf " . \
	  "#bcbd22 #393b79 #7f3b08 #637939"
points = "7 5 9 11 13 6 4 8 10 12 1 2"
styles = 'do for [i=1:48] { dash = (i-1)/12 % 2 + 1; ' . \
	 'set style line i lc rgb word(colours, (i-1)%12+1) ' . \
	 'pt int(word(points, (i-1)%12+1)) dt dash lw 1.5 ps 0.8 }; ' . \
	 'set style line 101 lc rgb "black" lw 2.5 pt 7 ps 0.6 dt 1; ' . \
	 'set style line 102 lc rgb "#888888" lw 1.5 pt 1 ps 0.6 dt 2; ' . \
	 'set style line 103 lc rgb "#888888" lw 1.5 pt 2 ps 0.6 dt 3; ' . \
	 'set style line 111 lc rgb "#3465a4" lw 1.5 dt 2; ' . \
	 'set style line 112 lc rgb "#cc0000" lw 1.5 dt 1; ' . \
	 'set style line 113 lc rgb "#555555" lw 1 dt 3; ' . \
	 'set datafile missing "?"'
eval styles
ref_name(s) = s == 101 ? "control (plainmem)" : s == 102 ? "floor (nullfs)" : "floor-1p"

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
	# the references as lines across the bars, in the key with their rates
	rt(v) = v >= 1000 ? sprintf("%.1fk rt/s", v / 1000) : sprintf("%.0f rt/s", v)
	cmd = "rates using 2:xtic(1) title 'direct' lc rgb '#3465a4', " . \
	      "'' using 3 title 'mount' lc rgb '#cc0000'"
	do for [i=1:3] {
		v = word("ctl flo f1p", i)
		if (exists(v)) {
			cmd = cmd . sprintf(", %g with lines ls %d title '%s: %s'", value(v), \
				100 + i, ref_name(100 + i), rt(value(v)))
		}
	}
	eval "plot " . cmd
	unset output
	reset
	eval styles
}

if (exists("out_cdf")) {
	n = words(cdf_names)
	cols = n <= 4 ? n : n <= 9 ? 3 : n <= 16 ? 4 : n <= 25 ? 5 : 6
	rows = (n + cols - 1) / cols
	width = 330 * cols < 900 ? 900 : 330 * cols
	set terminal pngcairo size width,260*rows + 50 noenhanced font ",9"
	set output out_cdf
	set multiplot layout rows,cols title "one-way latency CDF (RTT/2) per transport, " . \
		"the same axes in every panel (" . what . ")\ndirect: blue dashed, " . \
		"mount: red, control (plainmem, mount): grey dotted"
	set logscale x
	set xrange [cdf_lo / 1.3 : cdf_hi * 1.3]
	set yrange [0:100]
	set xtics font ",8"
	set ytics 25 font ",8"
	set grid
	set xlabel "one-way [us] (log)" font ",8" offset 0,0.5
	set ylabel "percentile" font ",8" offset 1.5,0
	do for [i=1:n] {
		t = word(cdf_names, i)
		set title t font ",10" offset 0,-0.5
		if (i == 1) { set key bottom right font ",7" samplen 2 } else { unset key }
		# only the files there are: an empty iteration still opens its file
		cmd = ""
		has = word(cdf_d, i) . word(cdf_m, i) . (cdf_ctl ? "1" : "0")
		do for [k=1:3] {
			file = k == 3 ? "control" : t . (k == 1 ? ".direct" : ".mount")
			if (has[k:k] eq "1") {
				cmd = cmd . sprintf('"%s/%s" using 2:1 with lines ls %d title "%s", ', \
					cdf_dir, file, 110 + k, word("direct mount control", k))
			}
		}
		eval "plot " . cmd[1:strlen(cmd) - 2]
	}
	unset multiplot
	unset output
	reset
	eval styles
}

if (exists("out_sweep")) {
	stream = exists("stream") ? stream : 0
	set terminal pngcairo size 1400,620 noenhanced font ",10"
	set output out_sweep
	set multiplot title (stream ? "one-way bandwidth against message size" : \
		"one-way p50 latency (RTT/2) against message size") . \
		", a line per transport (" . sweep_what . ")"
	set logscale xy
	eval "set xtics (" . sw_tics . ")"
	set xrange [*:*] noextend
	set yrange [sw_lo / 1.5 : sw_hi * 1.5]
	set format y stream ? "%.0f" : "%g"
	set xlabel "message size [B] (log)"
	set grid
	unset key
	set bmargin at screen 0.1
	set tmargin at screen 0.88
	do for [r=1:2] {
		road = r == 1 ? "direct" : "mount"
		ncol = value("sw_" . road . "_n")
		st = value("sw_" . road . "_st")
		set lmargin at screen (r == 1 ? 0.06 : 0.47)
		set rmargin at screen (r == 1 ? 0.43 : 0.84)
		set ylabel (r == 1 ? (stream ? "MB/s (log)" : "one-way p50 [us] (log)") : "")
		set title road . (r == 1 ? ": the transports library between two processes" : \
			": through the files of an ipcfs mount")
		if (ncol > 0) {
			plot for [i=1:ncol] sw_dir . "/sweep_" . road . ".dat" index i-1 \
				with linespoints ls int(word(st, i))
		} else {
			set label 1 "not run" at graph 0.5, graph 0.5 center
			plot NaN notitle
			unset label 1
		}
	}
	# the key, a panel of its own: the same style in both panels
	set lmargin at screen 0.85
	set rmargin at screen 0.99
	unset title; unset logscale; unset border; unset tics; unset xlabel; unset ylabel
	unset grid
	set xrange [0:1]
	set yrange [0:1]
	set key inside left top vertical samplen 3 spacing 1.1 font ",10"
	refs = (strstrt(sw_mount_st, "101") ? "101 " : "") . \
	       (strstrt(sw_mount_st, "102") ? "102 " : "") . \
	       (strstrt(sw_mount_st, "103") ? "103" : "")
	plot for [i=1:words(sw_keys)] NaN with linespoints ls i title word(sw_keys, i), \
	     for [i=1:words(refs)] NaN with linespoints ls int(word(refs, i)) \
		title ref_name(int(word(refs, i)))
	unset multiplot
	unset output
}
