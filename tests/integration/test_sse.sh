#!/usr/bin/env bash
# Observe over Server-Sent Events: curl -N -> coapgw -> coapgw-sim.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
RE_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500
start reorder python3 "$HERE/udp_peer.py" reorder "$RE_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "re": "coap://127.0.0.1:$RE_PORT" },
  "proxy": { "timeout_ms": 1500 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"

# sse NAME SECONDS URL [CURL-ARGS]: a subscriber in the background
sse() {
    local name=$1 secs=$2 url=$3
    shift 3
    start "$name" timeout "$secs" curl -sN -H 'Accept: text/event-stream' "$@" "$url"
}
events_in() { grep -c '^event: notification' "$TMP/$1.log" || true; }

headers() {
    curl -s -o /dev/null -D "$TMP/h" -m 2 -H 'Accept: text/event-stream' "$G/devices/demo/sensors/temperature" || true
    grep -qi '^content-type: text/event-stream' "$TMP/h" && grep -qi '^cache-control: no-cache' "$TMP/h"
}
check "Accept: text/event-stream opens a stream (text/event-stream, no-cache)" headers

# On plain HTTP a sleeping stream's events are written straight to its
# socket (http/stream.c), so its body is not chunked: the close ends it.
close_delimited() {
    grep -qi '^connection: close' "$TMP/h" && ! grep -qi '^transfer-encoding' "$TMP/h" &&
        head -1 "$TMP/h" | grep -q '^HTTP/1.1 200'
}
check "a stream on HTTP: HTTP/1.1 200, Connection: close, not chunked" close_delimited

# Twenty streams of one target, each woken per event: every one gets
# every event (consecutive Observe sequence numbers), each one whole (a
# JSON data line, then the blank line that ends it).
fan_out() {
    local i f
    for i in $(seq 1 20); do sse "f$i" 3.5 "$G/devices/demo/sensors/temperature"; done
    sleep 4
    for i in $(seq 1 20); do
        f=$TMP/f$i.log
        grep -o '"seq":[0-9]*' "$f" | cut -d: -f2 >"$f.seq"
        [ "$(wc -l <"$f.seq")" -ge 5 ] || { echo "f$i: $(wc -l <"$f.seq") events"; return 1; }
        [ "$(awk 'NR > 1 && $1 != p + 1 { g++ } { p = $1 } END { print g + 0 }' "$f.seq")" = 0 ] ||
            { echo "f$i: a gap"; return 1; }
        awk '/^data: / { if ($0 !~ /}$/) bad++; getline; if ($0 != "") bad++ } END { exit bad > 0 }' \
            "$f" || { echo "f$i: a broken event"; return 1; }
    done
}
check "twenty subscribers of one target each get every event, whole" fan_out

shared() {
    local before after
    sleep 1 # the stream of the check before has ended (noticed at its next event)
    before=$(grep -c "GET /sensors/temperature (observe)" "$TMP/sim.log" || true)
    sse s1 4 "$G/devices/demo/sensors/temperature"
    sleep 0.3
    sse s2 4 "$G/hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature"
    sleep 3
    after=$(grep -c "GET /sensors/temperature (observe)" "$TMP/sim.log" || true)
    [ $((after - before)) -eq 1 ] || { echo "registrations: $((after - before))"; return 1; }
    [ "$(events_in s1)" -ge 4 ] && [ "$(events_in s2)" -ge 4 ] || return 1
    head -1 "$TMP/s1.log" | grep -q '^retry: '
}
check "two subscribers, one upstream observation; retry: first" shared

deregister() {
    sleep 1.5 # s1 and s2 ended with their timeout
    grep -q "GET /sensors/temperature (deregister)" "$TMP/sim.log"
}
check "the last subscriber leaving deregisters upstream (Observe 1)" deregister

first_at_once() {
    sse late0 3 "$G/devices/demo/sensors/humidity"
    sleep 1
    local t0 t1
    t0=$(date +%s%N)
    timeout 3 curl -sN -H 'Accept: text/event-stream' "$G/devices/demo/sensors/humidity" |
        grep -m1 '^event: notification' >/dev/null
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -lt 1000 ]  # at once: the sensor's period is seconds; 1 s allows for a loaded CI machine
}
check "a new subscriber gets the latest value at once" first_at_once

json_payload() {
    grep -A2 '^event: notification' "$TMP/late0.log" | grep -m1 '^data:' | grep -q '"payload":{"value":'
}
check "JSON payloads are embedded as JSON values" json_payload

stale() {
    timeout 3 curl -sN "$G/events?target=/devices/re/x" >"$TMP/re.out" || true
    local got
    got=$(grep -o '"payload":"[a-z0-9]*"' "$TMP/re.out" | head -4 | tr '\n' ' ')
    [ "$got" = '"payload":"a" "payload":"c" "payload":"d" "payload":"e0" ' ] || { echo "got $got"; return 1; }
}
check "stale (reordered) notifications are not sent" stale

multiplex() {
    timeout 2 curl -sN "$G/events?target=/devices/demo/sensors/temperature&target=coap://127.0.0.1:$SIM_PORT/sensors/humidity" >"$TMP/mx.out" || true
    grep -q '"target":"coap://127.0.0.1:'"$SIM_PORT"'/sensors/temperature"' "$TMP/mx.out" &&
        grep -q '"target":"coap://127.0.0.1:'"$SIM_PORT"'/sensors/humidity"' "$TMP/mx.out"
}
check "/events multiplexes two targets on one stream" multiplex

not_observable() {
    timeout 5 curl -sN -H 'Accept: text/event-stream' "$G/devices/demo/firmware" >"$TMP/fw.out"
    local rc=$?
    [ $rc -eq 0 ] && grep -q '^event: error' "$TMP/fw.out" && grep -q '"status":502' "$TMP/fw.out"
}
check "a resource that is not observable yields event: error and the stream closes" not_observable

refused() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' "$G/devices/nosuch/x")" = 404 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/events?target=/devices/nosuch/x")" = 404 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/events")" = 400 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/events?target=http://127.0.0.1/")" = 400 ]
}
check "unknown device 404, missing or bad target 400, before any stream" refused

recovery() {
    sse rec 14 "$G/devices/demo/sensors/temperature"
    sleep 1
    kill -STOP "$PID_sim"
    sleep 7.5 # Max-Age 1 s + 5 s margin, then a 1.5 s re-registration timeout
    kill -CONT "$PID_sim"
    within 4 notified_after_reconnecting ||
        { grep -q '"state":"reconnecting"' "$TMP/rec.log" || echo "no reconnecting"; return 1; }
}
notified_after_reconnecting() { # a notification on the stream after its first "reconnecting"
    local n_before n_after
    n_before=$(grep -n '"state":"reconnecting"' "$TMP/rec.log" | head -1 | cut -d: -f1)
    n_after=$(grep -n '^event: notification' "$TMP/rec.log" | tail -1 | cut -d: -f1)
    [ -n "$n_before" ] && [ "${n_after:-0}" -gt "$n_before" ]
}
check "a silent device yields status reconnecting, then recovery" recovery

stop gw
finish
