#!/usr/bin/env bash
# Durable state: the cost of committing every registration (state.path).
#   (1) bench/store_bench: the SQLite store alone, one registration per
#       transaction at 1,000/s, with PRAGMA synchronous=FULL and =NORMAL (WAL):
#       the figures behind GW_STORE_SYNC (docs/rd.md, "Durability")
#   (2) bench/rd_load.py -> coapgw: new registrations at 1,000/s with a state
#       file, and with state.path "" as the baseline; registrations a second,
#       the device's round trip, and the commit time as the gateway measured
#       it around each commit (/metrics coapgw_state_commit_seconds: p50/p99
#       as the bucket bound they fall in, max exact)
# Series (bench/lib.sh, $CSV_DIR): state_store.csv (1) and
# state_gateway.csv (2), the key-value lines below as columns.
# usage: bench/run-state.sh [SECONDS] [RATE]   (BUILD_DIR overridable; the
# state files go to a temporary folder on the disk of /var/tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
RATE=${2:-1000}
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw store_bench >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh
DISK=$(mktemp -d /var/tmp/coapgw-state-bench.XXXXXX)
trap 'cleanup; rm -rf "$DISK"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; state files on $(df --output=source "$DISK" | tail -1)"
echo "(1) the SQLite store alone, ${RATE}/s for ${DUR}s, one registration per transaction:"
for sync in full normal; do
    "$BUILD/store_bench" "$DISK/$sync.db" "$sync" "$RATE" "$DUR" | tee "$TMP/store"
    csv_kv state_store "$sync" "$(cat "$TMP/store")"
done

# commit_quantiles: p50 and p99 bucket bounds and the max, from /metrics
commit_quantiles() {
    curl -s "$1/metrics" | python3 -c '
import sys
b, count, mx = [], 0, 0.0
for line in sys.stdin:
    if line.startswith("coapgw_state_commit_seconds_bucket"):
        le = line.split("le=\"")[1].split("\"")[0]
        b.append((float("inf") if le == "+Inf" else float(le), int(line.split()[-1])))
    elif line.startswith("coapgw_state_commit_seconds_count"):
        count = int(line.split()[-1])
    elif line.startswith("coapgw_state_commit_max_seconds"):
        mx = float(line.split()[-1])
q = lambda p: next((le for le, c in b if c >= p * count), float("inf")) * 1e3 if count else float("nan")
print("commits %d p50_ms<=%g p99_ms<=%g max_ms %.2f" % (count, q(0.5), q(0.99), mx * 1e3))'
}

printf '\n(2) rd_load.py -> coapgw, %s new registrations/s for %ss (log.level warn)\n' "$RATE" "$DUR"
printf '%-26s %s\n' "state.path" "result"
for mode in file memory; do
    HP=$(port tcp)
    CP=$(port udp)
    state=""
    [ "$mode" = file ] && state=$DISK/gw.db
    COAPGW_STATE_PATH=$state "$BUILD/coapgw" --http-listen "127.0.0.1:$HP" --coap-listen "127.0.0.1:$CP" \
        --log-level warn --set rd.max_registrations=1000000 --set rd.max_per_source=1000000 \
        2>"$TMP/gw-$mode.log" &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$HP/healthz"
    load=$(python3 bench/rd_load.py 127.0.0.1 "$CP" "$RATE" "$DUR")
    csv_kv state_gateway "$mode" "$load"
    if [ "$mode" = file ]; then
        printf '%-26s %s; in the gateway: %s\n' "a file (WAL, NORMAL)" "$load" "$(commit_quantiles "http://127.0.0.1:$HP")"
    else
        printf '%-26s %s\n' '"" (memory only)' "$load"
    fi
    kill "${PIDS[-1]}"
    wait "${PIDS[-1]}" 2>/dev/null || true
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
