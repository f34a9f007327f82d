#!/usr/bin/env bash
# The charts of docs/performance.md, as SVG, from the CSV series the
# benchmarks write (bench/lib.sh: $CSV_DIR):
#   sse_latency.csv (bench/run-sse.sh)        -> sse_latency.svg
#   http.csv (bench/run-http.sh)              -> http_rps.svg
#   http_conns.csv (bench/run-http.sh sweep)  -> http_conns.svg
# A chart whose CSV is missing is skipped, with a note.
# usage: bench/charts.sh [CSV_DIR [OUT_DIR]]
#   (defaults docs/charts/data and docs/charts: the committed series)
# Needs gnuplot (Debian: apt-get install gnuplot-nox).
set -euo pipefail
cd "$(dirname "$0")/.."
IN=${1:-docs/charts/data}
OUT=${2:-docs/charts}
command -v gnuplot >/dev/null || { echo "gnuplot is missing: apt-get install gnuplot-nox" >&2; exit 1; }
mkdir -p "$OUT"

# Common settings: SVG of a fixed size (no time stamp in the output, so the
# same CSV gives the same file), comma-separated data, "#" lines skipped.
HEAD="set terminal svg size 800,450 font 'sans,12' background rgb 'white'
set datafile separator ','
set datafile commentschars '#'
set grid
set key top left"

# chart NAME CSV GNUPLOT-COMMANDS: gnuplot with the CSV as 'data'
chart() {
    local name=$1 csv=$IN/$2
    if [ ! -s "$csv" ]; then
        echo "skipped $name: no $csv" >&2
        return 0
    fi
    gnuplot <<GP
$HEAD
data = '$csv'
set output '$OUT/$name.svg'
$3
GP
    echo "$OUT/$name.svg"
}

chart sse_latency sse_latency.csv "
set title 'Observe over SSE: latency distribution, coapgw and nginx + nchan'
set xlabel 'percentile'
set ylabel 'latency, ms (log scale)'
set logscale y
set xrange [0:100]
set xtics 10
plot data using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'coapgw, A: 1 target', \\
     data using 1:3 with lines lw 2 dt 2 lc rgb '#1f77b4' title 'nchan, A: 1 channel', \\
     data using 1:4 with lines lw 2 lc rgb '#d62728' title 'coapgw, B: 100 targets', \\
     data using 1:5 with lines lw 2 dt 2 lc rgb '#d62728' title 'nchan, B: 100 channels'"

chart http_rps http.csv "
set title 'HTTP front end: requests/s of each setup (wrk, 64 connections)'
set ylabel 'requests/s'
set yrange [0:*]
set style fill solid 0.7 border -1
set boxwidth 0.6
set key off
set xtics scale 0 font ',10'
plot data using 0:3:xtic(sprintf('(%s) %s', stringcolumn(1), stringcolumn(2))) with boxes lc rgb '#1f77b4', \\
     data using 0:3:(sprintf('%.0f', column(3))) with labels offset 0,0.8 notitle"

chart http_conns http_conns.csv "
set title 'HTTP front end: throughput against connections (wrk, one thread)'
set xlabel 'connections (log scale)'
set ylabel 'requests/s'
set logscale x 2
set yrange [0:*]
set key top right
plot data using 1:2 with linespoints lw 2 pt 7 lc rgb '#7f7f7f' title '(a) libmicrohttpd, epoll thread', \\
     data using 1:4 with linespoints lw 2 pt 5 dt 2 lc rgb '#7f7f7f' title '(p) libmicrohttpd, poll thread', \\
     data using 1:6 with linespoints lw 2 pt 9 lc rgb '#d62728' title '(b) coapgw, cache off', \\
     data using 1:8 with linespoints lw 2 pt 11 lc rgb '#1f77b4' title '(c) coapgw, cache on'"
