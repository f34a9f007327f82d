#!/usr/bin/env bash
# A/B of two coapgw binaries on the same load, in one run: a previous build
# (A) and this one (B) take turns behind the same minimal CoAP server
# (coap_hello), so that both see the machine in the same state. Three
# setups, each round A then B then B then A (ABBA, so a drift of the
# machine weighs on both alike):
#   (b) cache off, one URL (coalesced)   (c) cache on   (d) every URL distinct
# Prints every round and, per setup, the mean requests/s of A and B and B/A.
# Series (bench/lib.sh, $CSV_DIR): ab.csv, one row per wrk run (setup,
# round,build,requests_per_s).
# usage: bench/run-ab.sh PREVIOUS_BUILD_DIR [SECONDS] [ROUNDS]
#        (BUILD_DIR for B, default build/; NSTART 32)
set -euo pipefail
cd "$(dirname "$0")/.."
PREV=${1:?usage: bench/run-ab.sh PREVIOUS_BUILD_DIR [SECONDS] [ROUNDS]}
DUR=${2:-5}
ROUNDS=${3:-3}
BUILD=${BUILD_DIR:-build}
NSTART=${NSTART:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$PREV/coapgw" ] || { echo "no coapgw in $PREV" >&2; exit 1; }
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw coap_hello >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

CP=$(port udp)
"$BUILD/coap_hello" "127.0.0.1:$CP" &
PIDS+=($!)
# gateway NAME BINARY CACHE: starts it, records its port in $TMP/NAME.port
gateway() {
    local p
    p=$(port tcp)
    cat >"$TMP/$1.json" <<JSON
{"http": {"listen": "127.0.0.1:$p"}, "coap": {"listen": "127.0.0.1:0"},
 "devices": {"hello": "coap://127.0.0.1:$CP"}, "cache": {"enabled": $3}, "log_level": "warn"}
JSON
    "$2" --config "$TMP/$1.json" --coap-nstart "$NSTART" &
    PIDS+=($!)
    echo "$p" >"$TMP/$1.port"
    wait_http "http://127.0.0.1:$p/devices/hello/hello"
}
gateway A_off "$PREV/coapgw" false
gateway A_on "$PREV/coapgw" true
gateway B_off "$BUILD/coapgw" false
gateway B_on "$BUILD/coapgw" true

# rps NAME [WRK-ARGS...]: requests/s of one wrk run against gateway NAME
rps() {
    local name=$1
    shift
    wrk -t1 -c64 -d"${DUR}s" "$@" "http://127.0.0.1:$(cat "$TMP/$name.port")/devices/hello/hello" |
        awk '/^Requests\/sec/ {print $2}'
}

echo "wrk -t1 -c64 -d${DUR}s, keep-alive, loopback; $ROUNDS ABBA rounds per setup"
printf '%-34s %s\n' "setup" "A (previous) / B (this build), requests/s"
csv ab setup round build requests_per_s
for setup in b c d; do
    case $setup in
    b) off=off extra=() label="(b) cache off, one URL" ;;
    c) off=on extra=() label="(c) cache on" ;;
    d) off=off extra=(-s bench/distinct.lua) label="(d) cache off, every URL distinct" ;;
    esac
    : >"$TMP/$setup.A"
    : >"$TMP/$setup.B"
    for round in $(seq 1 "$ROUNDS"); do
        for who in A B B A; do
            rps "${who}_$off" "${extra[@]}" >>"$TMP/$setup.$who"
            csv_row ab "$setup" "$round" "$who" "$(tail -n 1 "$TMP/$setup.$who")"
        done
    done
    mean() { awk '{s += $1; n++} END {printf "%.0f", s / n}' "$1"; }
    a=$(mean "$TMP/$setup.A")
    b=$(mean "$TMP/$setup.B")
    printf '%-34s A: %s\n' "$label" "$(tr '\n' ' ' <"$TMP/$setup.A")"
    printf '%-34s B: %s\n' "" "$(tr '\n' ' ' <"$TMP/$setup.B")"
    printf '%-34s mean A %s, B %s, B/A %s\n' "" "$a" "$b" "$(awk -v x="$b" -v y="$a" 'BEGIN {printf "%.3f", x / y}')"
done
