#!/usr/bin/env bash
# Instructions per operation, counted by valgrind's callgrind: unlike
# requests per second they do not move with the machine's load, so they
# show what a change costs on a noisy 2-core machine (the same binary and
# inputs give the same count within a fraction of a percent). perf stat
# would be faster, but this kernel does not expose the counters
# ("<not supported> instructions"). Only the program under test runs
# under callgrind; the load and the peers run natively.
#
# Each measurement: start the program under callgrind, warm it up, dump
# (callgrind's counters restart at each dump), run N operations, dump
# again: the second dump's total over N is the cost of one operation, the
# event loop's own work included. A dump is taken when the program next
# runs, so a request after each one makes sure it happened before going on.
#
#   (a) anchor: bench/mhd_hello, libmicrohttpd answering a fixed body
#   (b) coapgw, HTTP GET proxied to CoAP, cache off, every URL distinct
#   (c) coapgw, HTTP GET answered from the cache
#   (d) coapgw, CoAP request with Proxy-Uri forwarded to HTTP (origin: mhd_hello)
#   (e) coapgw, one SSE event delivered to one subscriber, shape B
#       (100 targets x SSE_SUBS/100 subscribers; SSE_TARGETS=1: shape A,
#       one target x SSE_SUBS)
#   (h) coapgw, HTTP GET proxied to CoAP, cache off, one URL, COALESCE_CONNS
#       (default 16) wrk connections for COALESCE_S seconds (default 10):
#       identical GETs in flight share one exchange (ops: the requests the
#       gateway counted; the exchanges they took are printed)
#   (f) the engine answering a CoAP GET (bench/coap_hello)
#   (g) anchor: libcoap's coap-server-notls answering a CoAP GET
# Prints instructions per operation and the ratio to its anchor; writes
# $CSV_DIR/instr.csv (setup,label,ops,instructions_per_op,anchor_ratio).
# usage: bench/run-instr.sh [N]   (N requests per case, default 2000;
#   BUILD_DIR, SSE_SUBS (default 1000), CSV_DIR overridable; CASES=d, or
#   any letters of abcdefgh, runs those cases only (CASES=e SSE_SUBS=10000
#   for (e) alone; the anchor ratio needs (a) or (g)); CG_KEEP=DIR keeps
#   the callgrind dumps there, for callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
BUILD=${BUILD_DIR:-build}
SSE_SUBS=${SSE_SUBS:-1000}
SSE_TARGETS=${SSE_TARGETS:-100}
CASES=${CASES:-abcdefg}
want() { [[ $CASES == *"$1"* ]]; }
for t in valgrind callgrind_control curl; do
    command -v $t >/dev/null || { echo "$t is missing: apt-get install valgrind curl" >&2; exit 1; }
done
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw mhd_hello coap_hello coap_load sse_load sse_device >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

# cg NAME CMD...: CMD under callgrind, its PID in $CG_PID
cg() {
    local name=$1
    shift
    valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$TMP/$name.cg" "$@" >"$TMP/$name.log" 2>&1 &
    CG_PID=$!
    PIDS+=("$CG_PID")
}
ndumps() { find "$TMP" -name "$1.cg.*" | wc -l; }
# dump NAME POKE-CMD...: a dump, made sure of by one more operation
dump() {
    local name=$1 before
    shift
    before=$(ndumps "$name")
    callgrind_control -d "$CG_PID" >/dev/null 2>&1
    local _
    for _ in $(seq 1 100); do
        "$@" >/dev/null 2>&1 || true
        [ "$(ndumps "$name")" -gt "$before" ] && return 0
        sleep 0.1
    done
    echo "callgrind did not dump $name" >&2
    exit 1
}
# total NAME: the instructions of the last dump
total() { grep -h '^totals:' "$TMP/$1.cg.$(ndumps "$1")" | awk '{print $2}'; }
# urls FILE URL [distinct]: a curl config of N requests to URL (?i=K appended
# with "distinct"), one keep-alive connection
urls() {
    local f=$1 url=$2 i
    for ((i = 0; i < N; i++)); do
        if [ "${3:-}" ]; then echo "url = \"$url?i=$i\""; else echo "url = \"$url\""; fi
        echo 'output = "/dev/null"'
    done >"$f"
}
get() { curl -s -o /dev/null "$1"; }
RESULTS=()
result() { # result KEY LABEL OPS INSTRUCTIONS
    local per
    per=$(awk -v i="$4" -v n="$3" 'BEGIN {printf "%.0f", i / n}')
    RESULTS+=("$1|$2|$3|$per")
}

echo "callgrind, $N operations per case; load average $(cut -d' ' -f1-3 /proc/loadavg) (does not matter here)"

# (a) libmicrohttpd
if want a; then
    HP=$(port tcp)
    cg a "$BUILD/mhd_hello" "$HP"
    wait_http "http://127.0.0.1:$HP/"
    urls "$TMP/a.cfg" "http://127.0.0.1:$HP/"
    get "http://127.0.0.1:$HP/"
    dump a get "http://127.0.0.1:$HP/"
    curl -s -K "$TMP/a.cfg"
    dump a get "http://127.0.0.1:$HP/"
    result a "libmicrohttpd, fixed body (anchor)" "$N" "$(total a)"
    kill "$CG_PID"
    wait "$CG_PID" 2>/dev/null || true
fi

# the CoAP device and the HTTP origin, native
CP=$(port udp)
"$BUILD/coap_hello" "127.0.0.1:$CP" &
PIDS+=($!)
OP=$(port tcp)
"$BUILD/mhd_hello" "$OP" &
PIDS+=($!)
DP=$(port udp) # for (e): 100 observable targets notified every 2 s
"$BUILD/sse_device" "127.0.0.1:$DP" 100 2000 &
PIDS+=($!)
wait_http "http://127.0.0.1:$OP/"
ulimit -n "$(ulimit -Hn)" # (e) holds SSE_SUBS connections

# gateway NAME CACHE: a coapgw under callgrind
gateway() {
    GP=$(port tcp)
    GC=$(port udp)
    cat >"$TMP/$1.json" <<JSON
{"http": {"listen": "127.0.0.1:$GP", "max_connections_per_ip": 100000, "max_connections": 100000,
          "header_timeout_ms": 600000},
 "coap": {"listen": "127.0.0.1:$GC", "max_pending_per_peer": 65536}, "sse": {"max_subscribers": 1000000, "max_per_target": 1000000},
 "devices": {"hello": "coap://127.0.0.1:$CP", "sse": "coap://127.0.0.1:$DP"}, "cache": {"enabled": $2},
 "proxy": {"allow_origins": ["http://127.0.0.1:$OP"]}, "log": {"level": "warn"}}
JSON
    cg "$1" "$BUILD/coapgw" --config "$TMP/$1.json"
    local _
    for _ in $(seq 1 300); do get "http://127.0.0.1:$GP/healthz" && return 0; sleep 0.1; done
    echo "coapgw did not start" >&2
    exit 1
}

# (b) proxied, every URL distinct
if want b || want d || want h; then
    gateway b false
    if want b; then
        U="http://127.0.0.1:$GP/devices/hello/hello"
        urls "$TMP/b.cfg" "$U" distinct
        get "$U?warm"
        dump b get "http://127.0.0.1:$GP/healthz"
        curl -s -K "$TMP/b.cfg"
        dump b get "http://127.0.0.1:$GP/healthz"
        result b "coapgw HTTP->CoAP, cache off, distinct URLs" "$N" "$(total b)"
    fi

    # (h) on the same gateway: one URL, many in flight, coalesced
    if want h; then
        command -v wrk >/dev/null || { echo "(h) needs wrk" >&2; exit 1; }
        U="http://127.0.0.1:$GP/devices/hello/hello"
        metric() { # summed over its labels
            curl -s "http://127.0.0.1:$GP/metrics" |
                awk -v m="$1" 'index($1, m "{") == 1 || $1 == m {s += $2} END {print s + 0}'
        }
        get "$U"
        dump b get "http://127.0.0.1:$GP/healthz"
        R0=$(metric coapgw_http_requests_total)
        X0=$(metric coapgw_coap_exchanges_total)
        wrk -t1 -c"${COALESCE_CONNS:-16}" -d"${COALESCE_S:-10}s" "$U" >"$TMP/h.wrk"
        R1=$(metric coapgw_http_requests_total)
        X1=$(metric coapgw_coap_exchanges_total)
        dump b get "http://127.0.0.1:$GP/healthz"
        # between the dumps: the wrk requests, four /metrics (two of them
        # in R1 - R0) and the poke
        HN=$((R1 - R0 + 3))
        echo "(h): $HN requests, $((X1 - X0)) CoAP exchanges"
        result h "coapgw HTTP->CoAP, cache off, one URL coalesced" "$HN" "$(total b)"
    fi

    # (d) on the same gateway: CoAP -> HTTP, one request in flight
    if want d; then
        get "http://127.0.0.1:$GP/healthz"
        "$BUILD/coap_load" -P "127.0.0.1:$GC" -c 1 -d 1 "http://127.0.0.1:$OP/" >/dev/null
        dump b get "http://127.0.0.1:$GP/healthz"
        "$BUILD/coap_load" -P "127.0.0.1:$GC" -c 1 -d 10 "http://127.0.0.1:$OP/" >"$TMP/d.out"
        dump b get "http://127.0.0.1:$GP/healthz"
        DN=$(awk '{for (i = 1; i < NF; i++) if ($i == "ok") print $(i + 1)}' "$TMP/d.out")
        result d "coapgw CoAP->HTTP (Proxy-Uri, libcurl)" "$DN" "$(total b)"
    fi
    kill "$CG_PID"
    wait "$CG_PID" 2>/dev/null || true
fi

# (c) the cache
if want c || want e; then
    gateway c true
    if want c; then
        U="http://127.0.0.1:$GP/devices/hello/hello"
        urls "$TMP/c.cfg" "$U"
        get "$U"
        dump c get "$U"
        curl -s -K "$TMP/c.cfg"
        dump c get "$U"
        result c "coapgw HTTP->CoAP, from the cache" "$N" "$(total c)"
    fi

    # (e) SSE, shape B, on the same gateway
    if want e; then
        # under callgrind the gateway takes a while to accept thousands of
        # streams (hence fewer handshakes at a time, and the long header
        # deadline above)
        SUBWAIT=$((60 + SSE_SUBS / 50))
        "$BUILD/sse_load" sub -d $((60 + SUBWAIT)) -w 5 -g 3 -c "$SUBWAIT" -b 50 -n "$SSE_TARGETS" 127.0.0.1 "$GP" \
            "/devices/sse/t/%d" "$SSE_SUBS" \
            >"$TMP/e.out" 2>&1 &
        SUBPID=$!
        PIDS+=("$SUBPID")
        events() { curl -s "http://127.0.0.1:$GP/metrics" | awk '$1 == "coapgw_sse_events_total" {print $2}'; }
        subs() { curl -s "http://127.0.0.1:$GP/metrics" | awk '$1 == "coapgw_sse_subscribers" {print $2}'; }
        for _ in $(seq 1 $((SUBWAIT * 10))); do [ "$(subs)" = "$SSE_SUBS" ] && break; sleep 0.1; done
        [ "$(subs)" = "$SSE_SUBS" ] || {
            echo "(e): $(subs) of $SSE_SUBS subscribers" >&2
            tail -n 5 "$TMP/e.out" "$TMP/c.log" >&2
            exit 1
        }
        sleep 3
        dump c get "http://127.0.0.1:$GP/healthz"
        E0=$(events)
        sleep 20
        E1=$(events)
        dump c get "http://127.0.0.1:$GP/healthz"
        # coapgw_sse_events_total counts notifications turned into events (once
        # per target); each reaches the target's SSE_SUBS/SSE_TARGETS subscribers
        EV=$(((E1 - E0) * SSE_SUBS / SSE_TARGETS))
        SHAPE=B
        [ "$SSE_TARGETS" != 1 ] || SHAPE=A
        result e "coapgw SSE, one event to one subscriber (shape $SHAPE)" "$EV" "$(total c)"
    fi
    [ -z "${SUBPID:-}" ] || kill "$SUBPID" 2>/dev/null || true
    kill "$CG_PID"
    wait "$CG_PID" 2>/dev/null || true
fi

# (f), (g): CoAP servers, one request in flight for 10 s
coap_case() { # KEY LABEL URI CMD...
    local key=$1 label=$2 uri=$3
    shift 3
    cg "$key" "$@"
    sleep 2
    "$BUILD/coap_load" -c 1 -d 2 "$uri" >/dev/null
    dump "$key" "$BUILD/coap_load" -c 1 -d 0.2 "$uri"
    "$BUILD/coap_load" -c 1 -d 10 "$uri" >"$TMP/$key.out"
    dump "$key" "$BUILD/coap_load" -c 1 -d 0.2 "$uri"
    local n
    n=$(awk '{for (i = 1; i < NF; i++) if ($i == "ok") print $(i + 1)}' "$TMP/$key.out")
    result "$key" "$label" "$n" "$(total "$key")"
    kill "$CG_PID"
    wait "$CG_PID" 2>/dev/null || true
}
FP=$(port udp)
if want f; then
    coap_case f "engine: bench/coap_hello answers GET" "coap://127.0.0.1:$FP/hello" \
        "$BUILD/coap_hello" "127.0.0.1:$FP"
fi
if want g && command -v coap-server-notls >/dev/null; then
    LP=$(port udp)
    coap_case g "libcoap coap-server-notls answers GET (anchor)" "coap://127.0.0.1:$LP/" \
        coap-server-notls -A 127.0.0.1 -p "$LP"
fi

csv instr setup label ops instructions_per_op anchor_ratio
printf '\n%-4s %-52s %8s %14s %8s\n' case setup ops "instr/op" "x anchor"
per_of() { local r; for r in "${RESULTS[@]}"; do [ "${r%%|*}" = "$1" ] && { echo "${r##*|}"; return; }; done; true; }
for r in "${RESULTS[@]}"; do
    IFS='|' read -r key label ops per <<<"$r"
    case $key in f | g) anchor=$(per_of g) ;; *) anchor=$(per_of a) ;; esac
    ratio=$(awk -v x="$per" -v y="${anchor:-0}" 'BEGIN {if (y > 0) printf "%.2f", x / y; else print "-"}')
    printf '(%s)  %-52s %8s %14s %8s\n' "$key" "$label" "$ops" "$per" "$ratio"
    csv_row instr "$key" "$label" "$ops" "$per" "$ratio"
done
echo "anchors: (a) for the HTTP cases, (g) for the engine; lower is better"
[ -z "${CG_KEEP:-}" ] || { mkdir -p "$CG_KEEP" && cp "$TMP"/*.cg.* "$CG_KEEP"/; }
