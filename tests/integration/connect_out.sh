# shellcheck shell=bash
# Checks of a device that connected out to the gateway at $G and
# registered as dev1 (coapgw-sim started as "simout"), reached back over
# that connection: shared by test_tcp_gateway.sh and test_tls_gateway.sh.
# Sourced after lib.sh; the test defines status() and events_in().

online() { curl -s "$G/api/devices/dev1" | grep -q "\"online\":$1"; }
served() { [ "$(status "$TMP/d" "$G/devices/dev1/sensors/temperature")" = 200 ] && grep -Eq '^[0-9]+\.[0-9]$' "$TMP/d"; }
out_sse() {
    start sse2 timeout 4 curl -sN -H 'Accept: text/event-stream' "$G/devices/dev1/ticks"
    wait "$PID_sse2" 2>/dev/null || true
    [ "$(events_in sse2)" -ge 3 ] || { echo "$(events_in sse2) notifications"; return 1; }
}
# dropped_saying WHY: the device killed (no deregistration, its connection
# just ends): offline, event: error 504 on its stream, a GET 504 saying WHY
dropped_saying() {
    start sse3 timeout 8 curl -sN -H 'Accept: text/event-stream' "$G/devices/dev1/ticks"
    notified() { [ "$(events_in sse3)" -ge 1 ]; }
    wait_for "a notification" notified || return 1
    kill -KILL "$PID_simout"
    wait "$PID_simout" 2>/dev/null || true
    wait_for "dev1 offline" online false || return 1
    stream_told() { grep -q '^event: error' "$TMP/sse3.log" && grep -q '"status":504' "$TMP/sse3.log"; }
    wait_for "the stream told" stream_told || { cat "$TMP/sse3.log"; return 1; }
    [ "$(status "$TMP/d" "$G/devices/dev1/sensors/temperature")" = 504 ] && grep -q "$1" "$TMP/d" ||
        { cat "$TMP/d"; return 1; }
}
