#!/usr/bin/env bash
# Slow clients (issue #17; docs/security.md, "Limits against denial of
# service"): a request header sent a byte a second (http.header_timeout_ms),
# a request body trickled a byte every half second (whole within
# http.idle_timeout_s of its header), and event stream subscribers that
# never read (closed once nothing moves for http.idle_timeout_s): each is
# closed within a measured, bounded time, with its log line and counter,
# and a gateway with the defaults does not close the trickled body.
#
# Runs in a network namespace of its own, where the TCP send buffer is
# capped (net.ipv4.tcp_wmem is per namespace), so the gateway's socket to
# a subscriber that stops reading fills in a second.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
sysctl -qw net.ipv4.tcp_wmem="4096 16384 32768"
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
HS=$(free_port tcp)
HD=$(free_port tcp)
# A fast device: a stalled subscriber's socket buffers fill within a second.
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 10
cat >"$TMP/slow.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HS", "idle_timeout_s": 2, "header_timeout_ms": 3000 },
  "coap": { "listen": "127.0.0.1:0" }, "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
cat >"$TMP/dflt.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HD" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
start slow "$BUILD/coapgw" --config "$TMP/slow.json" --log-level debug
start dflt "$BUILD/coapgw" --config "$TMP/dflt.json" --log-level debug
S=http://127.0.0.1:$HS
wait_for "coapgw (slow)" curl -sf "$S/healthz"
wait_for "coapgw (defaults)" curl -sf "http://127.0.0.1:$HD/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"

metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
# in_range S LOW HIGH: S (seconds) in [LOW, HIGH)
in_range() { awk -v s="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(s >= lo && s < hi) }'; }
now() { date +%s.%N; }

header() {
    python3 "$HERE/slow_clients.py" header "$HS" 1 8 >"$TMP/header.out"
    sed 's/^/    /' "$TMP/header.out"
    read -r _ what _ secs <"$TMP/header.out"
    [ "$what" = closed ] && in_range "$secs" 2.9 4 || return 1
    [ "$(metric "$S" 'coapgw_http_closed_total{reason="header_timeout"}')" = 1 ] || return 1
    # the request line never came, so no access line: the server's own line
    grep -q 'http: closed 1 connection(s): no complete request header in time' "$TMP/slow.log"
}
check "a header sent a byte a second is closed after http.header_timeout_ms (3 s), counted, logged" header

body_on() { # body_on PORT: a body of 8 bytes, one every 0.5 s
    python3 "$HERE/slow_clients.py" body "$1" /devices/demo/echo 8 0.5 8
}
body() {
    body_on "$HS" >"$TMP/body.out"
    sed 's/^/    /' "$TMP/body.out"
    read -r _ what _ secs <"$TMP/body.out"
    [ "$what" = closed ] && in_range "$secs" 2 2.9 || return 1
    [ "$(metric "$S" 'coapgw_http_closed_total{reason="body_timeout"}')" = 1 ] || return 1
    grep -q 'POST /devices/demo/echo 0 .* closed: request body not complete within 2000 ms' "$TMP/slow.log" ||
        return 1
    # with the default (60 s) the same body arrives whole and is answered
    body_on "$HD" >"$TMP/body_dflt.out"
    sed 's/^/    defaults: /' "$TMP/body_dflt.out"
    grep -q '^body answered 2' "$TMP/body_dflt.out"
}
effect http.idle_timeout_s "2: a body trickled a byte every 0.5 s is closed 2 s after its header, counted, logged (defaults: answered)" body

# Event streams that read nothing: the gateway's socket fills, nothing
# moves, and after http.idle_timeout_s they are closed. Memory: what 20 of
# them cost at most, measured while they are stalled.
stalled() {
    local rss0 peak=0 t0 n r secs
    rss0=$(metric "$S" process_resident_memory_bytes)
    t0=$(now)
    start stall python3 "$HERE/slow_clients.py" stall "$HS" /devices/demo/sensors/temperature 20 30
    for _ in $(seq 1 150); do
        n=$(metric "$S" coapgw_sse_subscribers)
        r=$(metric "$S" process_resident_memory_bytes)
        [ "$r" -gt "$peak" ] && peak=$r
        [ "$n" = 0 ] && [ "$(metric "$S" 'coapgw_http_closed_total{reason="idle_timeout"}')" = 20 ] && break
        sleep 0.1
    done
    secs=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
    echo "    20 stalled streams closed after ${secs} s; resident memory $rss0 -> peak $peak" \
        "($(((peak - rss0) / 20 / 1024)) KiB a stream); events dropped for them:" \
        "$(metric "$S" coapgw_sse_dropped_events_total)"
    stop stall
    [ "$n" = 0 ] && in_range "$secs" 2 6 || return 1
    # AddressSanitizer's quarantine keeps freed memory: the bound is for real builds
    grep -q '^COAPGW_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null ||
        [ $(((peak - rss0) / 20)) -lt $((64 * 1024)) ] || return 1
    [ "$(grep -c 'event stream; closed: idle for 2 s' "$TMP/slow.log")" = 20 ]
}
check "20 event streams that read nothing: closed 2-6 s after they start (http.idle_timeout_s 2), under 64 KiB each (not under ASan), counted, logged" stalled

reader() { # a subscriber that reads is never idle
    timeout 5 curl -sN -H 'Accept: text/event-stream' "$S/devices/demo/sensors/temperature" >"$TMP/reader.out" || true
    [ "$(grep -c '^event: notification' "$TMP/reader.out")" -ge 100 ]
}
check "a subscriber that reads stays 5 s (past http.idle_timeout_s)" reader
finish
