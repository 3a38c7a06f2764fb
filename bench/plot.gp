# Chart of the latest bench run; called by report.py as
#   gnuplot -e "rundat='...'; opsdat='...'; out='...png'" plot.gp
# Left: `run` /bin/true median, p95 and cold median for every runtime and
# the floors.
# Right: medians of the split operations for the OCI runtimes.
# Missing values are "?" in the data files and leave a gap.
set terminal pngcairo size 1200,520 font "DejaVu Sans,10"
set output out
set datafile missing "?"
set datafile columnheaders
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set ylabel "ms"
set yrange [0:*]
set multiplot layout 1,2 title "husk bench: lower is better"

set title "run /bin/true"
set xrange [-0.6:4.6]
# Three bars per cluster, gap 1: bar centres at -1/4, 0, +1/4.
plot rundat using 2:xtic(1) title "median" lc rgb "#3b7dd8", \
     '' using 3 title "p95" lc rgb "#a6c4ef", \
     '' using 4 title "cold median" lc rgb "#e07b39", \
     '' using ($0 - 0.25):2:(sprintf("%.1f", $2)) with labels offset 0,0.6 font ",8" notitle, \
     '' using ($0):3:(sprintf("%.1f", $3)) with labels offset 0,0.6 font ",8" notitle, \
     '' using ($0 + 0.25):4:(sprintf("%.1f", $4)) with labels offset 0,0.6 font ",8" notitle, \
     '' using 0:(0):5 with labels offset 0,1 notitle

set title "operation medians (OCI runtimes)"
set xrange [-0.6:4.6]
plot for [i=2:4] opsdat using i:xtic(1) title columnheader(i)

unset multiplot
