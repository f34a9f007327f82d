#!/usr/bin/env bash
# The limits of the event streams (issue #13): sse.max_subscribers,
# sse.queue_events, sse.max_observations, and a SIGHUP that changes them.
# curl -N and a subscriber that stops reading -> coapgw -> coapgw-sim.
#
# Runs in a network namespace of its own: there, the TCP send buffer is
# capped (net.ipv4.tcp_wmem is per namespace), so the gateway's socket to
# a subscriber that stops reading fills in seconds; on loopback's 64 KiB
# MSS it would first grow to megabytes.
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
HTTP_PORT=$(free_port tcp)
# A fast device: a stalled subscriber's socket buffers fill within seconds.
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 10
config() { # config MAX_SUBSCRIBERS MAX_OBSERVATIONS
    cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "sse": { "max_subscribers": $1, "queue_events": 2, "max_observations": $2 } }
JSON
}
config 2 2
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
D=$G/devices/demo
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"

# sse NAME SECONDS URL: a subscriber in the background
sse() { start "$1" timeout "$2" curl -sN -H 'Accept: text/event-stream' "$3"; }
metric() { curl -s "$G/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# opens URL as a stream for at most a second; prints the status
try_stream() { status "$TMP/body" -m 1 -H 'Accept: text/event-stream' "$1" || true; }
# refused URL KEY: 503 with Retry-After and a body that names KEY
refused() {
    local c
    c=$(try_stream "$1")
    [ "$c" = 503 ] || { echo "$1: $c, not 503"; return 1; }
    [ "$(hdr Retry-After)" -ge 1 ] 2>/dev/null || { echo "$1: no Retry-After"; return 1; }
    grep -q "$2" "$TMP/body" || { echo "$1: the body does not name $2"; return 1; }
}
accepted() { [ "$(try_stream "$1")" = 200 ] || { echo "$1: not accepted"; return 1; }; }
# idle: every stream closed and every observation deregistered
idle() {
    wait_for "no stream" metric_is coapgw_sse_subscribers 0 &&
        wait_for "no observation" metric_is coapgw_observations_active 0
}

max_subscribers() {
    sse a 30 "$D/sensors/temperature"
    sse b 30 "$G/events?target=/devices/demo/sensors/temperature"
    wait_for "two streams" metric_is coapgw_sse_subscribers 2 || return 1
    refused "$D/sensors/temperature" sse.max_subscribers || return 1
    refused "$G/hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature" sse.max_subscribers || return 1
    refused "$G/events?target=/devices/demo/sensors/humidity" sse.max_subscribers || return 1
    metric_is 'coapgw_sse_refused_total{limit="sse.max_subscribers"}' 3
}
check "sse.max_subscribers 2: a third stream (/devices, /hc, /events) gets 503, Retry-After, the key" max_subscribers

freed() {
    stop a
    wait_for "one stream" metric_is coapgw_sse_subscribers 1 || return 1
    accepted "$D/sensors/temperature"
}
check "sse.max_subscribers: once a stream closes, a new one is accepted" freed


# after_last_gap SEQS / gaps SEQS: in a file of events' Observe sequence
# numbers (data's "seq"; the id: of an event is a timestamp), one a line, how
# many follow the last gap in the sequence / how many gaps there are
after_last_gap() { awk 'NR > 1 && $1 != p + 1 { n = 0 } { n++; p = $1 } END { print n }' "$1"; }
gaps() { awk 'NR > 1 && $1 != p + 1 { g++ } { p = $1 } END { print g + 0 }' "$1"; }

queue() {
    stop b
    idle || return 1
    local before
    before=$(metric coapgw_sse_dropped_events_total)
    start stall python3 "$HERE/sse_stall.py" "$HTTP_PORT" /devices/demo/sensors/temperature "$TMP/go"
    sse reader 40 "$D/sensors/temperature"
    # the stalled socket fills, then its queue, then the oldest events drop
    local _
    for _ in $(seq 1 200); do # 20 s at most
        [ "$(metric coapgw_sse_dropped_events_total)" -ge $((before + 20)) ] && break
        sleep 0.1
    done
    [ "$(metric coapgw_sse_dropped_events_total)" -ge $((before + 20)) ] || { echo "nothing dropped"; return 1; }
    kill -STOP "$PID_sim" # no new event: the queue is what it is
    sleep 0.5
    touch "$TMP/go"
    wait "$PID_stall" || true
    stop reader
    kill -CONT "$PID_sim"
    sed -n 's/^data: {.*"seq":\([0-9]*\),.*/\1/p' "$TMP/reader.log" >"$TMP/reader.ids"
    [ "$(gaps "$TMP/reader.ids")" = 0 ] || { echo "the reader lost events"; return 1; }
    [ "$(wc -l <"$TMP/reader.ids")" -ge 20 ] || { echo "the reader got too few events"; return 1; }
    [ "$(gaps "$TMP/stall.log")" -ge 1 ] || { echo "the stalled subscriber lost nothing"; return 1; }
    # the newest events stay (the oldest drop first): both end on the same id
    [ "$(tail -1 "$TMP/stall.log")" = "$(tail -1 "$TMP/reader.ids")" ] ||
        { echo "last ids: $(tail -1 "$TMP/stall.log") vs $(tail -1 "$TMP/reader.ids")"; return 1; }
    # what waited in the queue: at most 2 events (+ the one being sent)
    local queued
    queued=$(after_last_gap "$TMP/stall.log")
    [ "$queued" -le 3 ] || { echo "$queued events after the last gap"; return 1; }
}
check "sse.queue_events 2: a stalled subscriber loses its oldest events (counted), a reader loses none" queue

max_observations() {
    idle || return 1
    sse mx 30 "$G/events?target=/devices/demo/sensors/temperature&target=/devices/demo/sensors/humidity&target=/devices/demo/actuators/led"
    wait_for "two observations" metric_is coapgw_observations_active 2 || return 1
    refused "$D/actuators/led" sse.max_observations || return 1
    refused "$G/events?target=/devices/demo/actuators/led" sse.max_observations || return 1
    accepted "$D/sensors/humidity" || return 1 # already observed: never counted
    wait_for "events on both targets" eval "grep -q 'sensors/humidity\",\"seq' '$TMP/mx.log' && grep -q 'sensors/temperature\",\"seq' '$TMP/mx.log'" ||
        return 1
    grep -A1 '^event: error' "$TMP/mx.log" | grep '"status":503' | grep -q 'actuators/led' ||
        { echo "no event: error 503 for the led"; return 1; }
    ! grep '^data:' "$TMP/mx.log" | grep -q 'actuators/led","seq' || { echo "the led was observed"; return 1; }
    metric_is 'coapgw_sse_refused_total{limit="sse.max_observations"}' 3
}
check "sse.max_observations 2: a third target gets 503 alone, event: error 503 on /events while two stream" max_observations

reloaded=0
reload() { # reload MAX_SUBSCRIBERS MAX_OBSERVATIONS: waits for the log line
    config "$1" "$2"
    reloaded=$((reloaded + 1))
    kill -HUP "$PID_gw"
    wait_for "reload" eval '[ "$(grep -c "configuration reloaded" "$TMP/gw.log")" -ge $reloaded ]'
}

reload_raise() {
    if [ -n "${PID_mx:-}" ]; then stop mx; fi
    idle || return 1
    sse r1 30 "$D/sensors/temperature"
    sse r2 30 "$D/sensors/humidity"
    wait_for "two streams" metric_is coapgw_sse_subscribers 2 || return 1
    refused "$D/actuators/led" sse.max_subscribers || return 1
    reload 4 3 || return 1
    sse r3 30 "$D/actuators/led"
    wait_for "three streams" metric_is coapgw_sse_subscribers 3 || return 1
    wait_for "three observations" metric_is coapgw_observations_active 3
}
check "SIGHUP raising sse.max_subscribers and sse.max_observations lets a new stream in" reload_raise

# A new stream on targets observed already gets retry: and each target's
# latest value at once, queued before it can send any: with queue_events
# 2 and three targets that is 4 events, and none may be dropped.
opening() {
    local before
    before=$(metric coapgw_sse_dropped_events_total)
    start op timeout 2 curl -sN "$G/events?target=/devices/demo/sensors/temperature&target=/devices/demo/sensors/humidity&target=/devices/demo/actuators/led"
    wait "$PID_op" || true
    grep -q '^retry:' "$TMP/op.log" || { echo "no retry: field"; return 1; }
    local t
    for t in sensors/temperature sensors/humidity actuators/led; do
        grep -q "$t\",\"seq" "$TMP/op.log" || { echo "no value of $t"; return 1; }
    done
    metric_is coapgw_sse_dropped_events_total "$before"
}
check "sse.queue_events 2: a new stream's opening events (retry: and 3 latest values) all arrive" opening


reload_lower() {
    reload 1 1 || return 1
    local n
    n=$(grep -c '^event: notification' "$TMP/r1.log")
    refused "$D/sensors/temperature" sse.max_subscribers || return 1
    sleep 0.5
    metric_is coapgw_sse_subscribers 3 || { echo "streams closed by the reload"; return 1; }
    [ "$(grep -c '^event: notification' "$TMP/r1.log")" -gt "$n" ] || { echo "r1 stopped"; return 1; }
}
check "SIGHUP lowering sse.max_subscribers closes no open stream; new ones get 503" reload_lower

stop gw
finish
