#!/usr/bin/env bash
# Operations: /healthz, /readyz, /metrics (checked by a strict parser of the
# Prometheus text format), JSON log lines, graceful shutdown on SIGTERM and
# SIGINT, and `coapgw --healthcheck URL`.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
PROM="python3 $HERE/promparse.py"
SIM_PORT=$(free_port)
SILENT_PORT=$(free_port)
RST_PORT=$(free_port)
SLOW_PORT=$(free_port)
LATE_PORT=$(free_port)
COAP_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 300
start silent python3 "$HERE/udp_peer.py" silent "$SILENT_PORT"
start rst python3 "$HERE/udp_peer.py" rst "$RST_PORT"
start slow python3 "$HERE/udp_peer.py" delay "$SLOW_PORT" 800  # answers within the grace
start late python3 "$HERE/udp_peer.py" delay "$LATE_PORT" 5000 # answers after it

# gateway NAME HTTP-PORT COAP-PORT [FLAGS]: a gateway with every peer as a device
gateway() {
    local name=$1 hp=$2 cp=$3
    shift 3
    cat >"$TMP/$name.json" <<JSON
{ "http": { "listen": "127.0.0.1:$hp" }, "coap": { "listen": "127.0.0.1:$cp" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "silent": "coap://127.0.0.1:$SILENT_PORT",
               "rst": "coap://127.0.0.1:$RST_PORT", "slow": "coap://127.0.0.1:$SLOW_PORT",
               "late": "coap://127.0.0.1:$LATE_PORT" },
  "proxy": { "timeout_ms": 3500 } }
JSON
    start "$name" "$BUILD/coapgw" --config "$TMP/$name.json" "$@"
    wait_for "$name" curl -sf "http://127.0.0.1:$hp/healthz"
}
gateway gw "$HTTP_PORT" "$COAP_PORT" --log-format json
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
# value FILE SERIES: a sample's value in a scraped exposition ("absent" if none)
value() { $PROM "$1" --value "$2" || true; }

check "the Prometheus text parser passes its self-test" $PROM --self-test

probes() {
    [ "$(code "$G/healthz")" = 200 ] && grep -qx '{"status":"ok"}' "$TMP/body" || return 1
    [ "$(code "$G/readyz")" = 200 ] && grep -qx '{"status":"ready"}' "$TMP/body"
}
check "/healthz 200 ok, /readyz 200 ready" probes

metrics_format() {
    curl -s -D "$TMP/mh" -o "$TMP/m0" "$G/metrics" || return 1
    grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$TMP/mh" || return 1
    $PROM --require-meta "$TMP/m0" || return 1
    [ "$(value "$TMP/m0" 'coapgw_build_info{version="0.1.0"}')" = 1 ] || return 1
    [ "$(value "$TMP/m0" process_resident_memory_bytes)" -gt 100000 ] || return 1
    [ "$(value "$TMP/m0" process_open_fds)" -ge 5 ] || return 1
    python3 -c 'import sys, time; cpu, start = map(float, sys.argv[1:]); sys.exit(not (0 <= cpu < 60 and abs(time.time() - start) < 300))' \
        "$(value "$TMP/m0" process_cpu_seconds_total)" "$(value "$TMP/m0" process_start_time_seconds)"
}
check "/metrics: text format 0.0.4, HELP and TYPE everywhere, process gauges" metrics_format

start sse1 curl -sN "$G/events?target=/devices/demo/sensors/temperature"
REG_PORT=$(free_port)
start simreg "$BUILD/coapgw-sim" --listen "127.0.0.1:$REG_PORT" --name opsreg \
    --register "coap://127.0.0.1:$COAP_PORT"
traffic() {
    [ "$(code "$G/devices/demo/sensors/temperature")" = 200 ] || return 1
    [ "$(code "$G/devices/demo/sensors/temperature")" = 200 ] || return 1 # from the cache
    [ "$(code "$G/nope")" = 404 ] || return 1
    [ "$(code -X POST "$G/nope")" = 404 ] || return 1
    [ "$(code -X BREW "$G/nope")" = 404 ] || return 1
    [ "$(code "$G/devices/rst/x")" = 502 ] || return 1
    [ "$(code "$G/devices/silent/x")" = 504 ] || return 1 # 3.5 s: one retransmission or more
    python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"\x40", ("127.0.0.1", int(sys.argv[1])))' "$COAP_PORT"
    sleep 0.3
    curl -s -o "$TMP/m1" "$G/metrics" && $PROM --require-meta "$TMP/m1"
}
check "traffic: a proxied GET, a cache hit, 404s, an RST, a timeout, a bad datagram, a stream, an RD registration" traffic

# moved NAME SERIES MIN: the series grew by at least MIN between m0 and m1
moved() {
    local a b
    a=$(value "$TMP/m0" "$2")
    b=$(value "$TMP/m1" "$2")
    [ "$a" = absent ] && a=0
    [ "$b" != absent ] && python3 -c 'import sys; sys.exit(not float(sys.argv[2]) - float(sys.argv[1]) >= float(sys.argv[3]))' "$a" "$b" "$3" ||
        { echo "  $2: $a -> $b, expected +$3"; return 1; }
}
counters() {
    local ok=0
    moved "" 'coapgw_http_requests_total{method="GET",code="200"}' 2 || ok=1
    moved "" 'coapgw_http_requests_total{method="GET",code="404"}' 1 || ok=1
    moved "" 'coapgw_http_requests_total{method="POST",code="404"}' 1 || ok=1
    moved "" 'coapgw_http_requests_total{method="other",code="404"}' 1 || ok=1
    moved "" 'coapgw_http_requests_total{method="GET",code="504"}' 1 || ok=1
    moved "" 'coapgw_coap_exchanges_total{code="2.05"}' 1 || ok=1
    moved "" 'coapgw_coap_exchanges_total{code="timeout"}' 1 || ok=1
    moved "" 'coapgw_coap_exchanges_total{code="reset"}' 1 || ok=1
    moved "" 'coapgw_coap_rst_total{direction="received"}' 1 || ok=1
    moved "" coapgw_coap_retransmissions_total 1 || ok=1
    moved "" coapgw_coap_malformed_datagrams_total 1 || ok=1
    moved "" coapgw_cache_hits_total 1 || ok=1
    moved "" coapgw_cache_misses_total 1 || ok=1
    moved "" coapgw_http_to_coap_duration_seconds_count 3 || ok=1
    moved "" 'coapgw_http_to_coap_duration_seconds_bucket{le="10"}' 3 || ok=1
    [ "$(value "$TMP/m1" coapgw_sse_subscribers)" = 1 ] || { echo "  subscribers"; ok=1; }
    [ "$(value "$TMP/m1" coapgw_observations_active)" = 1 ] || { echo "  observations"; ok=1; }
    [ "$(value "$TMP/m0" coapgw_rd_registrations)" = 0 ] || { echo "  RD before"; ok=1; }
    [ "$(value "$TMP/m1" coapgw_rd_registrations)" = 1 ] || { echo "  RD registrations"; ok=1; }
    return $ok
}
check "the counters moved: requests by method and status, CoAP codes, RST, timeouts, cache, histogram, RD" counters

json_logs() {
    # A path with control bytes and invalid UTF-8, and a very long one: each
    # still gets its line, with the status.
    python3 - "$HTTP_PORT" <<'PY'
import socket, sys
for path in (b"/bad\x1b[31m\xc3\xa9\xff", b"/long" + "\u00e9".encode() * 1100):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    s.recv(4096)
    s.close()
PY
    sleep 0.3
    python3 - "$TMP/gw.log" <<'PY'
import json, re, sys
ts = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
lines = open(sys.argv[1]).read().splitlines()
seen404 = seen200 = seen_bad = seen_long = False
for n, line in enumerate(lines, 1):
    o = json.loads(line)  # every line is one JSON object
    assert ts.match(o["ts"]) and o["level"] in ("debug", "info", "warn", "error") and o["msg"], n
    if o.get("path") == "/nope" and o.get("status") == 404 and o.get("method") == "GET":
        seen404 = isinstance(o["duration_ms"], float) and o["client"].startswith("127.0.0.1:")
    if o.get("status") == 200 and o.get("target", "").endswith("/sensors/temperature"):
        seen200 = o["path"] == "/devices/demo/sensors/temperature"
    if o.get("status") == 404 and o.get("path", "").startswith("/bad\\x1b[31m\\xc3"):
        seen_bad = "\x1b" not in line
    if o.get("status") == 404 and o.get("path", "").startswith("/long\\xc3\\xa9"):
        seen_long = o["path"].endswith("...") and o["msg"].endswith("404 " + o["msg"].split(" 404 ")[-1])
assert seen404 and seen200 and seen_bad and seen_long, (seen404, seen200, seen_bad, seen_long)
PY
}
check "--log-format json: every line is JSON with ts (RFC 3339), level, msg; request lines" json_logs

one_line_per_request() {
    [ "$(grep -c '"path":"/devices/rst/x"' "$TMP/gw.log")" -eq 1 ]
}
check "one log line per HTTP request" one_line_per_request

# A request libmicrohttpd refuses itself (a 20 KB header: 431) never reaches
# the gateway's handler, yet it is logged and counted.
refused_by_mhd() {
    curl -s -o "$TMP/r0" "$G/metrics" || return 1
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' \
        -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$G/devices/demo/big")
    sleep 0.3
    curl -s -o "$TMP/r1" "$G/metrics" || return 1
    echo "  status $code"
    [ "$code" = 431 ] &&
        [ "$(value "$TMP/r1" coapgw_http_rejected_total)" -eq \
            $(($(value "$TMP/r0" coapgw_http_rejected_total) + 1)) ] &&
        grep -q '"path":"/devices/demo/big".*refused by libmicrohttpd' "$TMP/gw.log"
}
check "a request libmicrohttpd refuses (431) is logged and counted (coapgw_http_rejected_total)" refused_by_mhd

coap_event_log() { # the message layer's counters are looked at every 5 s
    wait_for "the malformed datagram in the log" grep -q 'malformed' "$TMP/gw.log"
}
check "a malformed datagram is logged" coap_event_log

healthcheck() {
    "$BUILD/coapgw" --healthcheck "$G/healthz" >"$TMP/hc0" || return 1
    grep -q '^healthy: .* HTTP 200' "$TMP/hc0" || return 1
    local rc=0
    "$BUILD/coapgw" --healthcheck "$G/nope" >"$TMP/hc1" || rc=$?
    [ "$rc" = 1 ] && grep -q '^unhealthy: .* HTTP 404' "$TMP/hc1" || return 1
    rc=0
    "$BUILD/coapgw" --healthcheck "http://127.0.0.1:$(free_port tcp)/healthz" >"$TMP/hc2" || rc=$?
    [ "$rc" = 1 ] && grep -q '^unhealthy: ' "$TMP/hc2"
}
check "--healthcheck URL: exit 0 on 2xx, 1 on 404 and on a refused connection" healthcheck

# keepalive PORT: /readyz on one kept-alive connection before and after
# $TMP/go appears (the test sends SIGTERM in between); the second asks
# ?store=optional, which must not hide a drain
keepalive() {
    python3 - "$1" "$TMP/go" <<'PY'
import http.client, os, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", "/readyz"); r = c.getresponse(); r.read()
print(r.status, flush=True)
end = time.time() + 5
while not os.path.exists(sys.argv[2]) and time.time() < end:
    time.sleep(0.01)
c.request("GET", "/readyz?store=optional"); r = c.getresponse()
print(r.status, r.getheader("Connection"), r.read().decode(), flush=True)
PY
}

graceful() {
    start ka keepalive "$HTTP_PORT"
    wait_for "the kept-alive connection" grep -q 200 "$TMP/ka.log" || return 1
    start inflight curl -s -o "$TMP/inflight.body" -w '%{http_code}' "$G/devices/slow/x"
    wait_for "the slow request in flight" grep -q "request from" "$TMP/slow.log" || return 1
    local t0 t1 rc=0
    t0=$(date +%s%N)
    kill -TERM "$PID_gw"
    touch "$TMP/go"
    wait "$PID_gw" || rc=$?
    t1=$(date +%s%N)
    wait "$PID_inflight" || true
    wait "$PID_ka" || true
    echo "  stopped in $(((t1 - t0) / 1000000)) ms, exit $rc"
    [ "$rc" = 0 ] && [ $((t1 - t0)) -lt 2000000000 ] || return 1
    [ "$(cat "$TMP/inflight.log")" = 200 ] && [ "$(cat "$TMP/inflight.body")" = late ] || {
        echo "  in-flight request: $(cat "$TMP/inflight.log")"
        return 1
    }
    grep -q '^503 close {"status":"shutting down"}' "$TMP/ka.log" || { cat "$TMP/ka.log"; return 1; }
    wait_for "the stream's end" grep -q '"message":"gateway shutting down"' "$TMP/sse1.log" || return 1
    grep -B1 '"message":"gateway shutting down"' "$TMP/sse1.log" | grep -q '^event: error' || return 1
    grep -q 'GET /sensors/temperature (deregister)' "$TMP/sim.log" || return 1
    grep -q '"msg":"shutdown: done in' "$TMP/gw.log"
}
check "SIGTERM: in-flight request finishes, /readyz 503 (?store=optional too), event: error, deregistration, exit 0 < 2 s" graceful

HTTP2=$(free_port tcp)
COAP2=$(free_port)
gateway gw2 "$HTTP2" "$COAP2" --shutdown-grace-ms 500
grace_over() {
    start late1 curl -s -D "$TMP/late1.h" -o "$TMP/late1.body" -w '%{http_code}' "http://127.0.0.1:$HTTP2/devices/late/x"
    wait_for "the late request in flight" grep -q "request from" "$TMP/late.log" || return 1
    local t0 t1 rc=0 crc=0
    t0=$(date +%s%N)
    kill -TERM "$PID_gw2"
    sleep 0.2
    # no new connection; the CoAP port answers 5.03
    curl -s -m 2 "http://127.0.0.1:$HTTP2/healthz" >/dev/null || crc=$?
    "$BUILD/coapgw-client" -v -T 1 "coap://127.0.0.1:$COAP2/x" >/dev/null 2>"$TMP/coap503" || true
    wait "$PID_gw2" || rc=$?
    t1=$(date +%s%N)
    wait "$PID_late1" || true
    echo "  stopped in $(((t1 - t0) / 1000000)) ms, exit $rc, new connection: curl exit $crc"
    [ "$rc" = 0 ] && [ $((t1 - t0)) -lt 1500000000 ] && [ $((t1 - t0)) -ge 450000000 ] || return 1
    [ "$crc" = 7 ] || return 1 # connection refused
    grep -q '5\.03' "$TMP/coap503" || { cat "$TMP/coap503"; return 1; }
    [ "$(cat "$TMP/late1.log")" = 503 ] && grep -qi '^connection: close' "$TMP/late1.h" || return 1
    grep -q 'grace period over; 1 request(s) answered 503' "$TMP/gw2.log"
}
check "--shutdown-grace-ms 500 over: 503 for what is left, no new connections, CoAP 5.03, exit 0" grace_over

HTTP3=$(free_port tcp)
gateway gw3 "$HTTP3" "$(free_port)"
second_signal() {
    local before
    before=$(grep -c "request from" "$TMP/late.log")
    start late2 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP3/devices/late/y"
    wait_for "the late request in flight" \
        bash -c "[ \$(grep -c 'request from' '$TMP/late.log') -gt $before ]" || return 1
    local t0 t1 rc=0
    t0=$(date +%s%N)
    kill -INT "$PID_gw3"
    sleep 0.1
    kill -INT "$PID_gw3"
    wait "$PID_gw3" || rc=$?
    t1=$(date +%s%N)
    wait "$PID_late2" || true
    echo "  stopped in $(((t1 - t0) / 1000000)) ms, exit $rc"
    [ "$rc" = 0 ] && [ $((t1 - t0)) -lt 600000000 ] && [ "$(cat "$TMP/late2.log")" = 503 ] &&
        grep -q "GET /devices/late/y .* 503 " "$TMP/gw3.log" # logged as answered, not 499
}
check "a second SIGINT stops at once (still exit 0, 503 for what was in flight)" second_signal

finish
