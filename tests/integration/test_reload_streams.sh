#!/usr/bin/env bash
# A reload (SIGHUP) checks the targets of open event streams, not only
# their tokens (docs/security.md): a stream of a device the reload removes
# ends with `event: error` 404, one whose target the allowlist no longer
# allows (an address taken out of proxy.allow_targets, or a device entry
# that moved, leaving its old address unlisted) with 403; the others go
# on. Addresses of TEST-NET-1 (192.0.2.0/24, in no default range) on lo,
# so it runs in a network namespace of its own.
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl python3
ip link set lo up
for a in 1 2; do ip addr add "192.0.2.$a/32" dev lo; done
HTTP_PORT=$(free_port tcp)
G=http://127.0.0.1:$HTTP_PORT
P=$(free_port)
start listed "$BUILD/coapgw-sim" --listen "192.0.2.1:$P" --period-ms 300
start moving "$BUILD/coapgw-sim" --listen "192.0.2.2:$P" --period-ms 300
start kept "$BUILD/coapgw-sim" --listen "127.0.0.1:$P" --period-ms 300
P2=$(free_port)
start gonesim "$BUILD/coapgw-sim" --listen "127.0.0.1:$P2" --period-ms 300
config() { # config ALLOW DEVICES: the gateway's configuration
    cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0" },
  "proxy": { "allow_targets": [$1] }, "devices": { $2 } }
JSON
}
config '"192.0.2.1"' "\"moving\": \"coap://192.0.2.2:$P\", \"gone\": \"coap://127.0.0.1:$P2\", \"kept\": \"coap://127.0.0.1:$P\""
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
wait_for "coapgw" curl -sf "$G/healthz"

notified() { # notified NAME...: each stream's log holds a notification
    local n
    for n in "$@"; do grep -q '^event: notification' "$TMP/$n.log" || return 1; done
}
ended() { ! kill -0 "$1" 2>/dev/null; }
# ended_with NAME STATUS: the stream got {"target":...,"status":STATUS,...}
# as `event: error`, then closed after a whole event
ended_with() {
    local var="PID_$1"
    wait_for "stream $1 to close" ended "${!var}" || return 1
    grep -A1 '^event: error$' "$TMP/$1.log" | grep -q "^data: {.*\"status\":$2," || return 1
    [ "$(tail -c 2 "$TMP/$1.log" | od -An -c | tr -d ' ')" = '\n\n' ]
}
stream() { # stream NAME PATH
    start "$1" timeout 40 curl -sN -H 'Accept: text/event-stream' "$G$2"
}

rechecked() {
    stream s_listed "/hc/coap://192.0.2.1:$P/sensors/temperature"
    stream s_moving /devices/moving/sensors/humidity
    stream s_gone /devices/gone/sensors/temperature
    stream s_kept /devices/kept/sensors/humidity
    start s_events timeout 40 curl -sN "$G/events?target=/devices/gone/ticks&target=/devices/kept/ticks"
    wait_for "notifications on the streams" notified s_listed s_moving s_gone s_kept s_events || return 1
    # 192.0.2.1 leaves the allowlist, "moving" moves to 192.0.2.3 (its old
    # address is no longer listed), "gone" is removed
    config '' "\"moving\": \"coap://192.0.2.3:$P\", \"kept\": \"coap://127.0.0.1:$P\""
    kill -HUP "$PID_gw"
    ended_with s_listed 403 && ended_with s_moving 403 && ended_with s_gone 404 || return 1
    grep -q '"message":"device gone was removed"' "$TMP/s_gone.log" || return 1
    grep -q 'reload: 3 event stream(s) closed: device removed or target not allowed' "$TMP/gw.log" || return 1
    # the /events stream loses its removed device's target and goes on
    # with the other, as the kept device's stream does
    wait_for "the /events stream's error" grep -q '"status":404' "$TMP/s_events.log" || return 1
    local before events
    before=$(grep -c '^event: notification' "$TMP/s_kept.log")
    events=$(grep -c '^event: notification' "$TMP/s_events.log")
    sleep 1.5 # notifications every 0.3 s
    kill -0 "$PID_s_kept" && kill -0 "$PID_s_events" || return 1
    [ "$(grep -c '^event: notification' "$TMP/s_kept.log")" -gt "$before" ] || return 1
    [ "$(grep -c '^event: notification' "$TMP/s_events.log")" -gt "$events" ] || return 1
    ! grep -q '^event: error' "$TMP/s_kept.log" || return 1
    # a new stream to the address no longer allowed is refused as well
    [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'Accept: text/event-stream' \
        "$G/hc/coap://192.0.2.1:$P/sensors/temperature")" = 403 ]
}
check "SIGHUP: streams end with event: error 404 for a removed device, 403 for an address out of the allowlist or a device whose old address is no longer allowed; logged; the others go on" rechecked
stop s_kept
stop s_events

finish
