#!/usr/bin/env bash
# Event streams across restarts (issue #17): event IDs, Last-Event-ID and
# the "resumed" status, the retry: field (sse.retry_ms) and the limit of
# streams per target (sse.max_per_target), each against a gateway A with
# the defaults. An EventSource-like client (sse_client.py) stays on while
# gateway B is stopped with SIGTERM, then with kill -9, and started again.
# curl and sse_client.py -> coapgw -> coapgw-sim.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
HA=$(free_port tcp)
HB=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 200
config() { # config PORT EXTRA-JSON
    cat <<JSON
{ "http": { "listen": "127.0.0.1:$1" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" }, "state": { "path": "" } $2 }
JSON
}
config "$HA" "" >"$TMP/a.json"
config "$HB" ', "sse": { "retry_ms": 400, "max_per_target": 1 }' >"$TMP/b.json"
start gwa "$BUILD/coapgw" --config "$TMP/a.json"
start gwb "$BUILD/coapgw" --config "$TMP/b.json"
A=http://127.0.0.1:$HA
B=http://127.0.0.1:$HB
T=/devices/demo/sensors/temperature # a new value every 200 ms
H=/devices/demo/sensors/humidity
wait_for "coapgw A" curl -sf "$A/healthz"
wait_for "coapgw B" curl -sf "$B/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"

stream() { # stream FILE SECONDS URL [CURL-ARGS]: the stream's first seconds
    local out=$1 secs=$2 url=$3
    shift 3
    curl -sN -m "$secs" -H 'Accept: text/event-stream' "$@" "$url" >"$out" || true
}
metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
REFUSED='coapgw_sse_refused_total{limit="sse.max_per_target"}'

retry_field() {
    stream "$TMP/ra" 1 "$A$T"
    stream "$TMP/rb" 1 "$B$T"
    [ "$(head -1 "$TMP/ra")" = "retry: 3000" ] || { echo "A: $(head -1 "$TMP/ra")"; return 1; }
    [ "$(head -1 "$TMP/rb")" = "retry: 400" ] || { echo "B: $(head -1 "$TMP/rb")"; return 1; }
}
effect sse.retry_ms "B's streams start with retry: 400, A's with retry: 3000" retry_field

# Every notification has an id:, the IDs grow, and seq rides in the data.
ids() {
    stream "$TMP/ids" 2 "$A$T"
    local n
    n=$(grep -c '^event: notification' "$TMP/ids" || true)
    [ "$n" -ge 3 ] || { echo "$n notifications"; return 1; }
    [ "$(grep -A1 '^event: notification' "$TMP/ids" | grep -c '^id: [0-9]\{16\}$')" = "$n" ] ||
        { echo "a notification without a 16-digit id"; return 1; }
    grep '^id: ' "$TMP/ids" | cut -d' ' -f2 | sort -c -n -u || { echo "ids not increasing"; return 1; }
    ! grep -A1 '^event: status' "$TMP/ids" | grep -q '^id:' || { echo "a status with an id"; return 1; }
}
check "every notification carries an id: (16 digits, increasing); status events none" ids

per_target() {
    local before after c
    before=$(metric "$B" "$REFUSED")
    start first timeout 4 curl -sN -H 'Accept: text/event-stream' "$B$T"
    wait_for "the first stream" grep -q '^event: notification' "$TMP/first.log" || return 1
    c=$(status "$TMP/body" -m 1 -H 'Accept: text/event-stream' "$B$T" || true)
    [ "$c" = 503 ] || { echo "second stream of the target on B: $c"; return 1; }
    [ "$(hdr Retry-After)" = 1 ] || { echo "Retry-After: $(hdr Retry-After)"; return 1; }
    grep -q 'sse.max_per_target = 1' "$TMP/body" || { echo "body: $(cat "$TMP/body")"; return 1; }
    grep -q "$T.*503.*event stream refused: sse.max_per_target" "$TMP/gwb.log" || { echo "no log line"; return 1; }
    # /events: that target gets event: error 503, the other one streams
    stream "$TMP/ev" 2 "$B/events?target=$T&target=$H"
    grep -A1 '^event: error' "$TMP/ev" | grep '"status":503' | grep -q 'sensors/temperature' ||
        { echo "no event: error 503 for the temperature"; return 1; }
    grep -q 'sensors/humidity","seq' "$TMP/ev" || { echo "no humidity on /events"; return 1; }
    ! grep -q 'sensors/temperature","seq' "$TMP/ev" || { echo "temperature streamed twice"; return 1; }
    grep -q 'event stream: .*too many streams of this target' "$TMP/gwb.log" || { echo "no log line for /events"; return 1; }
    after=$(metric "$B" "$REFUSED")
    [ "$after" = $((before + 2)) ] || { echo "refused counter $before -> $after"; return 1; }
    # a different target still streams on B; A takes two streams of one target
    [ "$(status /dev/null -m 1 -H 'Accept: text/event-stream' "$B/devices/demo/actuators/led" || true)" = 200 ] ||
        { echo "B refused another target"; return 1; }
    start a1 timeout 3 curl -sN -H 'Accept: text/event-stream' "$A$T"
    stream "$TMP/a2" 1 "$A$T"
    grep -q '^event: notification' "$TMP/a2" || { echo "A refused a second stream"; return 1; }
    [ "$(metric "$A" "$REFUSED")" = 0 ] || { echo "A counted a refusal"; return 1; }
    stop first
    stop a1
}
effect sse.max_per_target "B (1): a second stream of a target 503 + Retry-After, logged, counted; event: error on /events; another target streams; A (1000) takes both" per_target

# Last-Event-ID without a restart: resumed, not restarted, then the value.
resumed_same_run() {
    stream "$TMP/r1" 1.5 "$A$T"
    local last
    last=$(grep '^id: ' "$TMP/r1" | tail -1 | cut -d' ' -f2)
    [ -n "$last" ] || { echo "no id"; return 1; }
    start keep timeout 3 curl -sN -H 'Accept: text/event-stream' "$A$T" # keeps the value cached
    sleep 0.5
    stream "$TMP/r2" 0.5 "$A$T" -H "Last-Event-ID: $last"
    stop keep
    sed -n 3,4p "$TMP/r2" | grep -q '^event: status$' || { cat "$TMP/r2"; return 1; }
    grep -q "\"state\":\"resumed\",\"last_event_id\":\"$last\",\"restarted\":false" "$TMP/r2" ||
        { echo "no resumed status"; return 1; }
    # the cached value at once, right after the status
    sed -n 6p "$TMP/r2" | grep -q '^event: notification$' || { echo "no value right after it"; return 1; }
    # lastEventId on /events does the same
    stream "$TMP/r3" 1 "$A/events?target=$T&lastEventId=42"
    grep -q '"state":"resumed","last_event_id":"42","restarted":true' "$TMP/r3" || return 1
}
check "Last-Event-ID of this run: status resumed (restarted false), the cached value at once; lastEventId on /events" resumed_same_run

injected() {
    stream "$TMP/inj" 1 "$A/events?target=$T&lastEventId=1%22%0Aevent%3A%20evil%0Adata%3A%20x"
    grep -qF '"last_event_id":"1\"\nevent: evil\ndata: x"' "$TMP/inj" || { cat "$TMP/inj"; return 1; }
    ! grep -q '^event: evil' "$TMP/inj" || { echo "an injected event line"; return 1; }
}
check "a Last-Event-ID with a quote and a newline comes back escaped: no injected event" injected

# restart HOW: gateway B ends (SIGTERM or SIGKILL) and starts again while
# sse_client.py, an EventSource, is on; it reconnects with Last-Event-ID.
restart() {
    local how=$1
    # the streams before have ended (a closed one is noticed at its next event)
    wait_for "no stream on B" eval '[ "$(metric "$B" coapgw_sse_subscribers)" = 0 ]' || return 1
    start es python3 "$HERE/sse_client.py" "$B$H" 12
    wait_for "events" grep -q '"event": "notification"' "$TMP/es.log" || return 1
    kill "-$how" "$PID_gwb"
    wait "$PID_gwb" 2>/dev/null || true
    sleep 0.5 # the client finds nobody there and tries again after retry: 400 ms
    start gwb "$BUILD/coapgw" --config "$TMP/b.json"
    wait_for "the resumed status" grep -qF 'restarted\":true' "$TMP/es.log" || { cat "$TMP/es.log"; return 1; }
    wait_for "a value after it" python3 - "$TMP/es.log" <<'PY' || { cat "$TMP/es.log"; return 1; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
resumed = [i for i, l in enumerate(lines) if '"resumed"' in l.get("data", "")]
i = resumed[0]
before = [int(l["id"]) for l in lines[:i] if l.get("id")]
after = [l for l in lines[i:] if l.get("event") == "notification"]
assert after and after[0]["conn"] == lines[i]["conn"] > 1, "no value after resuming"
assert int(after[0]["id"]) > max(before), "ids went back"
assert json.loads(lines[i]["data"])["last_event_id"] == str(max(before))
PY
    stop es
}
check "SIGTERM: an EventSource reconnects with Last-Event-ID: resumed (restarted true), then the value" restart TERM
check "kill -9: the same" restart KILL

stop gwa
stop gwb
finish
