#!/usr/bin/env bash
# CoAP -> HTTP forwarding throughput, in one run on loopback:
#   (a) wrk straight at the HTTP origin (bench/mhd_hello), 64 connections
#   (b) bench/coap_load -> coapgw (Proxy-Uri http://origin/) -> the same
#       origin, 64 requests in flight
# Series (bench/lib.sh, $CSV_DIR): reverse.csv (setup,label,requests_per_s,
# p99 with its unit,answered,failed).
# usage: bench/run-reverse.sh [SECONDS]   (BUILD_DIR, CSV_DIR overridable)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
BUILD=${BUILD_DIR:-build}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw mhd_hello coap_load >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

OP=$(port tcp)
"$BUILD/mhd_hello" "$OP" &
PIDS+=($!)
GP=$(port tcp)
CP=$(port udp)
"$BUILD/coapgw" --http-listen "127.0.0.1:$GP" --coap-listen "127.0.0.1:$CP" \
    --allow-origin "http://127.0.0.1:$OP" --log-level warn &
PIDS+=($!)
wait_http "http://127.0.0.1:$GP/healthz"

echo "loopback, ${DUR}s each; origin: bench/mhd_hello (5-byte body)"
wrk -t1 -c64 -d"${DUR}s" --latency "http://127.0.0.1:$OP/" >"$TMP/wrk"
ra=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk")
pa=$(awk '$1 == "99%" {print $2}' "$TMP/wrk")
"$BUILD/coap_load" -P "127.0.0.1:$CP" -c 64 -d "$DUR" "http://127.0.0.1:$OP/" >"$TMP/load"
read -r _ _ _ ok _ failed _ _ _ rb _ _ _ pb _ <"$TMP/load"
printf '%-48s %12s %10s %8s\n' "setup" "requests/s" "p99" "ratio"
printf '%-48s %12.0f %10s %8s\n' "(a) wrk -> HTTP origin directly" "$ra" "$pa" "1.00"
printf '%-48s %12.0f %10s %8.2f\n' "(b) coap_load -> coapgw -> HTTP origin" "$rb" "${pb}ms" \
    "$(awk -v x="$rb" -v y="$ra" 'BEGIN {print x / y}')"
echo "coap_load: $ok answered, $failed failed"
csv reverse setup label requests_per_s p99 answered failed
csv_row reverse a "wrk to the HTTP origin" "$ra" "$pa" "" ""
csv_row reverse b "coap_load to coapgw to the origin" "$rb" "${pb}ms" "$ok" "$failed"
