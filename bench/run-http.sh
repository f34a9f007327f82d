#!/usr/bin/env bash
# HTTP front-end throughput, in one run on loopback, with wrk (64 keep-alive
# connections):
#   (a) mhd_hello: libmicrohttpd answering a fixed 5-byte body (the ceiling)
#   (b) coapgw -> coap_hello (a minimal CoAP server), cache off
#   (c) the same with the cache on
# Prints requests/s and p99 latency for each and the ratios b/a and c/a.
# With "sweep", then (a), (b), (c) and (p), mhd_hello with a poll() thread
# (see bench/mhd_hello.c: its epoll thread mostly stalls at 128
# connections and more), again at each connection count of CONNS (default
# 8 16 32 64 128 256): throughput against connections.
# Series: $CSV_DIR/http.csv (setup,label,requests_per_s,p99_ms,ratio) and,
# with sweep, $CSV_DIR/http_conns.csv (connections, then requests/s and
# p99 ms of each of a, p, b, c); see bench/lib.sh.
# usage: bench/run-http.sh [SECONDS] [sweep]
#   (BUILD_DIR, NSTART, THREADS, CONNS, CSV_DIR overridable)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
BUILD=${BUILD_DIR:-build}
NSTART=${NSTART:-32}
THREADS=${THREADS:-1}
SWEEP=${2:-}
case $SWEEP in "" | sweep) ;; *) echo "usage: bench/run-http.sh [SECONDS] [sweep]" >&2; exit 2 ;; esac
CONNS=${CONNS:-8 16 32 64 128 256}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw mhd_hello coap_hello >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

# run NAME URL [WRK-ARGS...]: wrk with $NCONN connections, then "rps p99ms"
# into $TMP/NAME
NCONN=64
# ticks PID: user and system CPU ticks the process has used so far
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
# run NAME URL [WRK-ARGS...]: wrk against URL; with SERVER=PID set, also
# the server's user and system CPU per request (from /proc/PID/stat), which
# tells what a path costs in the process and what in the kernel for it
SERVER=
run() {
    local name=$1 url=$2 u0=0 s0=0 u1=0 s1=0
    shift 2
    [ -z "$SERVER" ] || read -r u0 s0 < <(ticks "$SERVER")
    wrk -t"$THREADS" -c"$NCONN" -d"${DUR}s" --latency "$@" "$url" >"$TMP/$name.wrk"
    [ -z "$SERVER" ] || read -r u1 s1 < <(ticks "$SERVER")
    local rps p99
    rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/$name.wrk")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$TMP/$name.wrk")
    local errs
    errs=$(awk '/Non-2xx|Socket errors/' "$TMP/$name.wrk")
    echo "$rps $p99" >"$TMP/$name"
    awk -v r="$rps" -v d="$DUR" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { n = r * d; printf "%.2f %.2f\n", n ? u * 1e6 / hz / n : 0, n ? s * 1e6 / hz / n : 0 }' \
        >"$TMP/$name.cpu"
    [ -z "$errs" ] || echo "  $name: $errs" >&2
}

http_servers "$NSTART"

echo "wrk -t$THREADS -c64 -d${DUR}s, keep-alive, loopback; coapgw --coap-nstart $NSTART;" \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
SERVER=$PID_MHD run a "http://127.0.0.1:$HP/"
SERVER=$PID_GW1 run b "http://127.0.0.1:$GP1/devices/hello/hello"
SERVER=$PID_GW2 run c "http://127.0.0.1:$GP2/devices/hello/hello"
SERVER=$PID_GW1 run d "http://127.0.0.1:$GP1/devices/hello/hello" -s bench/distinct.lua
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.2f", x / y}'; }
read -r ra pa <"$TMP/a"
read -r rb pb <"$TMP/b"
read -r rc pc <"$TMP/c"
read -r rd pd <"$TMP/d"
printf '%-44s %12s %10s %8s\n' "setup" "requests/s" "p99 ms" "ratio"
printf '%-44s %12.0f %10.2f %8s\n' "(a) libmicrohttpd, fixed 5-byte body" "$ra" "$pa" "1.00"
printf '%-44s %12.0f %10.2f %8.2f\n' "(b) coapgw -> CoAP server, cache off" "$rb" "$pb" "$(awk -v x="$rb" -v y="$ra" 'BEGIN {print x / y}')"
printf '%-44s %12.0f %10.2f %8.2f\n' "(c) coapgw -> CoAP server, cache on" "$rc" "$pc" "$(awk -v x="$rc" -v y="$ra" 'BEGIN {print x / y}')"
printf '%-44s %12.0f %10.2f %8.2f\n' "(d) as (b), every URL distinct: no coalescing" "$rd" "$pd" "$(awk -v x="$rd" -v y="$ra" 'BEGIN {print x / y}')"
echo "issue #19 targets: b/a >= 0.8, d/a >= 0.7, c/a >= 1.0 ((d): one CoAP exchange per request)"
echo "the server's CPU per request (mhd_hello for (a), coapgw for the others; /proc/PID/stat):"
for n in a b c d; do
    read -r u s <"$TMP/$n.cpu"
    printf '  (%s) user %5.2f us  system %5.2f us  total %5.2f us\n' "$n" "$u" "$s" "$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')"
done
csv http setup label requests_per_s p99_ms ratio
csv_row http a "libmicrohttpd fixed body" "$ra" "$pa" 1.00
csv_row http b "coapgw cache off" "$rb" "$pb" "$(ratio "$rb" "$ra")"
csv_row http c "coapgw cache on" "$rc" "$pc" "$(ratio "$rc" "$ra")"
csv_row http d "coapgw every URL distinct" "$rd" "$pd" "$(ratio "$rd" "$ra")"
[ "$SWEEP" = sweep ] || exit 0

echo
echo "throughput against connections (wrk -t$THREADS -d${DUR}s each)"
PP=$(port tcp)
"$BUILD/mhd_hello" "$PP" poll &
PIDS+=($!)
wait_http "http://127.0.0.1:$PP/"
printf '%11s' connections
for s in a p b c; do printf ' %11s %8s' "($s) req/s" "p99 ms"; done
echo
csv http_conns connections a_rps a_p99_ms p_rps p_p99_ms b_rps b_p99_ms c_rps c_p99_ms
for NCONN in $CONNS; do
    run a "http://127.0.0.1:$HP/"
    run p "http://127.0.0.1:$PP/"
    run b "http://127.0.0.1:$GP1/devices/hello/hello"
    run c "http://127.0.0.1:$GP2/devices/hello/hello"
    row=("$NCONN")
    printf '%11s' "$NCONN"
    for s in a p b c; do
        read -r r p <"$TMP/$s"
        printf ' %11.0f %8.2f' "$r" "$p"
        row+=("$r" "$p")
    done
    echo
    csv_row http_conns "${row[@]}"
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
