#!/usr/bin/env bash
# Soak test (issue #17; not in CI): one gateway and one simulated device
# under steady, moderate load for MINUTES (default 30): HTTP requests,
# SSE subscribers joining and leaving, Resource Directory registrations
# with short lifetimes that are removed or expire (bench/soak_load.py).
# Every minute: the gateway's RSS, open fds and counters from /metrics.
# Fails (exit 1) if RSS or open fds at any later minute exceed the value
# at minute 5 by more than 5 %, or if the gateway dies.
# usage: bench/soak.sh [MINUTES]   (BUILD_DIR, RPS, STREAMS, REGS overridable)
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-30}
BUILD=${BUILD_DIR:-build}
RPS=${RPS:-50}
STREAMS=${STREAMS:-20}
REGS=${REGS:-2}
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw coapgw-sim >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

SIM=$(port udp)
HP=$(port tcp)
CP=$(port udp)
"$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM" --period-ms 500 >"$TMP/sim.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/gw.json" <<JSON
{"http": {"listen": "127.0.0.1:$HP"}, "coap": {"listen": "127.0.0.1:$CP", "nstart": 4},
 "devices": {"sim": "coap://127.0.0.1:$SIM"},
 "rd": {"max_registrations": 5000, "max_per_source": 5000},
 "state": {"path": "$TMP/state.db"}, "log": {"level": "warn"}}
JSON
"$BUILD/coapgw" --config "$TMP/gw.json" >"$TMP/gw.log" 2>&1 &
GW=$!
PIDS+=($GW)
wait_http "http://127.0.0.1:$HP/devices/sim/sensors/temperature"
python3 bench/soak_load.py "$HP" "$CP" sim --rps "$RPS" --streams "$STREAMS" --regs "$REGS" \
    >"$TMP/load.log" 2>&1 &
PIDS+=($!)

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$GW/status"; }
fds() { find "/proc/$GW/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# metric NAME: its value, summed over its labels
metric() { awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d", s }' "$TMP/metrics"; }
echo "soak: $MIN min, ${RPS} req/s, $STREAMS event streams joining and leaving, $REGS registrations/s (lt 5-30 s)"
printf '%4s %9s %5s %10s %9s %8s %7s %s\n' min rss_kib fds http_req coap_exch streams rd_regs load
base_rss=0 base_fds=0 worst=0
for m in $(seq 1 "$MIN"); do
    sleep 60
    kill -0 "$GW" 2>/dev/null || { echo "FAIL: the gateway died"; tail "$TMP/gw.log"; exit 1; }
    curl -s "http://127.0.0.1:$HP/metrics" >"$TMP/metrics"
    r=$(rss) f=$(fds)
    printf '%4d %9d %5d %10s %9s %8s %7s %s\n' "$m" "$r" "$f" \
        "$(metric coapgw_http_requests_total)" "$(metric coapgw_coap_exchanges_total)" \
        "$(metric coapgw_sse_subscribers)" "$(metric coapgw_rd_registrations)" \
        "$(tail -1 "$TMP/load.log")"
    if [ "$m" = 5 ]; then base_rss=$r base_fds=$f; fi
    if [ "$m" -gt 5 ]; then
        if [ $((r * 100)) -gt $((base_rss * 105)) ] || [ $((f * 100)) -gt $((base_fds * 105)) ]; then
            worst=1
            echo "  above minute 5's ($base_rss KiB, $base_fds fds) by more than 5 %"
        fi
    fi
done
if [ "$MIN" -le 5 ]; then
    echo "soak: fewer than 6 minutes: nothing compared"
elif [ "$worst" = 0 ]; then
    echo "PASS: RSS and open fds stayed within 5 % of minute 5's ($base_rss KiB, $base_fds fds)"
else
    echo "FAIL: RSS or open fds grew by more than 5 % after minute 5"
    exit 1
fi
