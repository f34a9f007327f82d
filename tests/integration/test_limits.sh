#!/usr/bin/env bash
# Limits against overload (issue #17; docs/security.md, "Limits against
# denial of service"): coap.max_exchanges and coap.max_pending_per_peer
# reached once from every way a request goes towards devices (a proxied
# HTTP request, the forward proxy, an event stream, discovery), and
# http.max_connections; each with its answer (503 + Retry-After, 5.03 +
# Max-Age, event: error 503), its counter and its log line, compared with
# a gateway that has the defaults. Slow clients: test_slowloris.sh.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
S1=$(free_port)
S2=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500
start s1 python3 "$HERE/udp_peer.py" silent "$S1"
start s2 python3 "$HERE/udp_peer.py" silent "$S2"
# gateway NAME COAP_KEYS HTTP_KEYS: a gateway whose silent devices hold
# requests for 3 s; its ports in HP and CP
gateway() {
    HP=$(free_port tcp)
    CP=$(free_port)
    cat >"$TMP/$1.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" $3 }, "coap": { "listen": "127.0.0.1:$CP" $2 },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "s1": "coap://127.0.0.1:$S1",
               "s2": "coap://127.0.0.1:$S2" },
  "proxy": { "timeout_ms": 3000 } }
JSON
    start "$1" "$BUILD/coapgw" --config "$TMP/$1.json" --log-level debug
}
gateway lim ', "max_exchanges": 3, "max_pending_per_peer": 1' ', "max_connections": 4'
HL=$HP CL=$CP
gateway dflt '' ''
HD=$HP
L=http://127.0.0.1:$HL
D=http://127.0.0.1:$HD
wait_for "coapgw (limits)" curl -sf "$L/healthz"
wait_for "coapgw (defaults)" curl -sf "$D/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"

metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
# hold NAME GW PATH: a request in the background (answered 504 after 3 s)
hold() { start "$1" curl -s -o /dev/null -w '%{http_code}' "$2$3"; }
# busy GW PATH KEY: 503 with Retry-After and a body that names KEY
busy() {
    local c
    c=$(status "$TMP/body" -m 5 "$1$2")
    [ "$c" = 503 ] || { echo "  $2: $c, not 503"; return 1; }
    [ "$(hdr Retry-After)" = 1 ] || { echo "  $2: no Retry-After: 1"; return 1; }
    grep -q "$3" "$TMP/body" || { echo "  $2: the body does not name $3"; return 1; }
}
# quiet GW: nothing in flight any more
quiet() { wait_for "no request in flight" metric_is "$1" coapgw_coap_requests_open 0; }

# NSTART 1: s1's first request is on the wire (never answered), its second
# waits behind it; a third would wait too: coap.max_pending_per_peer 1.
pending() {
    hold a "$1" /devices/s1/a
    wait_for "one request open" metric_is "$1" coapgw_coap_requests_open 1 || return 1
    hold b "$1" /devices/s1/b
    wait_for "two requests open" metric_is "$1" coapgw_coap_requests_open 2 || return 1
    busy "$1" /devices/s1/c coap.max_pending_per_peer
}
pending_effect() {
    pending "$L" || return 1
    metric_is "$L" 'coapgw_coap_refused_total{limit="coap.max_pending_per_peer"}' 1 || return 1
    grep -q "limit: request to coap://127.0.0.1:$S1/c refused: coap.max_pending_per_peer = 1 reached" \
        "$TMP/lim.log" || { echo "  no log line"; return 1; }
    # another device's queue is its own
    hold c "$L" /devices/s2/x
    wait_for "three requests open" metric_is "$L" coapgw_coap_requests_open 3
}
effect coap.max_pending_per_peer "a third request to one silent device (NSTART 1) gets 503, Retry-After, the key; counted, logged" pending_effect

# Three open (s1 twice, s2): the fourth, to any device and by any way, is refused.
exchanges() {
    busy "$L" /devices/demo/sensors/temperature coap.max_exchanges || return 1
    busy "$L" "/hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature" coap.max_exchanges || return 1
    # discovery (the API fetches /.well-known/core)
    [ "$(status "$TMP/api" -m 5 "$L/api/devices/demo")" = 503 ] || { echo "  api: not 503"; return 1; }
    [ "$(hdr Retry-After)" = 1 ] && grep -q coap.max_exchanges "$TMP/api" || return 1
    # the forward proxy: 5.03 with Max-Age 1 and the key
    python3 "$HERE/coap_raw.py" --opt "35=coap://127.0.0.1:$SIM_PORT/sensors/temperature" \
        127.0.0.1 127.0.0.1 "$CL" >"$TMP/fwd.out"
    read -r code _ _ _ maxage payload <"$TMP/fwd.out"
    [ "$code" = 5.03 ] && [ "$maxage" = 1 ] && [[ "$payload" == *coap.max_exchanges* ]] ||
        { echo "  forward proxy: $(cat "$TMP/fwd.out")"; return 1; }
    # an event stream: event: error with status 503
    curl -sN -m 3 -H 'Accept: text/event-stream' "$L/devices/demo/sensors/humidity" >"$TMP/sse.out" || true
    grep -q '^event: error' "$TMP/sse.out" && grep -q '"status":503' "$TMP/sse.out" &&
        grep -q coap.max_exchanges "$TMP/sse.out" || { echo "  stream: $(head -c 300 "$TMP/sse.out")"; return 1; }
    metric_is "$L" 'coapgw_coap_refused_total{limit="coap.max_exchanges"}' 5 ||
        { echo "  counted $(metric "$L" 'coapgw_coap_refused_total{limit="coap.max_exchanges"}')"; return 1; }
    grep -q 'limit: request to .* refused: coap.max_exchanges = 3 reached' "$TMP/lim.log"
}
effect coap.max_exchanges "3 in flight: a 4th (/devices, /hc, API discovery, forward proxy 5.03 Max-Age 1, event stream event: error 503) is refused, counted, logged" exchanges

after() { # the held ones end with 504 (proxy.timeout_ms); then all is allowed again
    quiet "$L" || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$L/devices/demo/sensors/temperature")" = 200 ] || return 1
    python3 "$HERE/coap_raw.py" --opt "35=coap://127.0.0.1:$SIM_PORT/sensors/temperature" \
        127.0.0.1 127.0.0.1 "$CL" | grep -q '^2.05 '
}
check "once they end, requests go through again (HTTP 200, forward proxy 2.05)" after

# The same load on a gateway with the defaults: nothing refused.
defaults() {
    pending "$D" >/dev/null && return 1 # the third is not refused there
    busy "$D" /devices/demo/sensors/temperature coap.max_exchanges >/dev/null && return 1
    metric_is "$D" 'coapgw_coap_refused_total{limit="coap.max_pending_per_peer"}' 0 &&
        metric_is "$D" 'coapgw_coap_refused_total{limit="coap.max_exchanges"}' 0
}
check "with the defaults (4096, 64) the same requests are all served" defaults

# http.max_connections 4: a fifth connection gets 503 at its header and is
# closed; the four are served. The default gateway serves the fifth.
max_connections() {
    python3 "$HERE/slow_clients.py" conns "$HL" 4 >"$TMP/conns.out"
    sed 's/^/    /' "$TMP/conns.out"
    grep -qx 'extra 503 1 too many connections (http.max_connections = 4); try again later' \
        "$TMP/conns.out" && grep -qx 'held answered 4/4' "$TMP/conns.out" || return 1
    metric_is "$L" 'coapgw_http_refused_total{limit="http.max_connections"}' 1 || return 1
    grep -q 'GET /healthz 503 .*refused: too many connections' "$TMP/lim.log" || return 1
    python3 "$HERE/slow_clients.py" conns "$HD" 4 >"$TMP/conns_dflt.out"
    grep -q '^extra 200 ' "$TMP/conns_dflt.out"
}
effect http.max_connections "4: a fifth connection gets 503, Retry-After, the key, and is closed; counted, logged (defaults: served)" max_connections

# SIGHUP: the new limits apply to new requests; http.max_connections waits for a restart.
reload() {
    sed -i 's/"max_exchanges": 3/"max_exchanges": 1/; s/"max_connections": 4/"max_connections": 9/' "$TMP/lim.json"
    kill -HUP "$PID_lim"
    wait_for "the reload" grep -q 'reload: http.max_connections changed: takes effect after a restart' "$TMP/lim.log" || return 1
    hold r "$L" /devices/s1/r
    wait_for "one request open" metric_is "$L" coapgw_coap_requests_open 1 || return 1
    busy "$L" /devices/demo/sensors/temperature 'coap.max_exchanges = 1'
}
check "SIGHUP: coap.max_exchanges 1 applies to new requests; http.max_connections is restart-only (logged)" reload
finish
