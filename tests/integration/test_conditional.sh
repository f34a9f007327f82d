#!/usr/bin/env bash
# Conditional requests answered by the engine's server role (RFC 7252
# §5.10.8): coapgw-sim declares the current ETag of /actuators/led (its
# state, one byte) and /firmware; If-Match and If-None-Match are evaluated
# before the handler runs, and a failed condition is 4.12 Precondition
# Failed that never reaches the handler (the sim logs every request its
# handlers see). Clients: libcoap's coap-client-notls (-O 1,0x.. for
# If-Match, -O 5 for If-None-Match) and HTTP through the gateway.
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls
SIM_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
LED=coap://127.0.0.1:$SIM_PORT/actuators/led
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "$LED"

puts_seen() { grep -c "PUT /actuators/led" "$TMP/sim.log" || true; }
# code ARGS...: the response code coap-client-notls shows (-v 6 logs it)
code() { coap-client-notls -v 6 -B 3 "$@" 2>&1 | grep -o 'c:[0-9]\.[0-9][0-9]' | tail -1 | cut -c3-; }

if_match_current() {
    [ "$(code -m put -e on -O 1,0x00 "$LED")" = 2.04 ] || return 1
    [ "$("$BUILD/coapgw-client" -T 2 "$LED")" = on ]
}
check "If-Match with the current ETag (0x00: off): 2.04, the LED is on" if_match_current

if_match_stale() {
    local before
    before=$(puts_seen)
    [ "$(code -m put -e off -O 1,0x00 "$LED")" = 4.12 ] || return 1
    [ "$("$BUILD/coapgw-client" -T 2 "$LED")" = on ] || return 1
    [ "$(puts_seen)" = "$before" ] || { echo "the handler saw the PUT"; return 1; }
}
check "If-Match with an old ETag: 4.12, unchanged, the handler never called" if_match_stale

if_match_any() {
    [ "$(code -m put -e on -O 1,0x07 -O 1,0x01 "$LED")" = 2.04 ] # one of the listed
}
check "If-Match listing several ETags: met when one is current" if_match_any

if_none_match() {
    local before
    before=$(puts_seen)
    [ "$(code -m put -e off -O 5 "$LED")" = 4.12 ] || return 1
    [ "$(puts_seen)" = "$before" ]
}
check "If-None-Match on a resource that exists: 4.12, the handler never called" if_none_match

through_gateway() {
    local s
    s=$(status "$TMP/b" -X PUT -H 'If-Match: "00"' -H 'Content-Type: text/plain' --data-binary off "$G/devices/demo/actuators/led")
    [ "$s" = 412 ] || { echo "stale: $s"; return 1; }
    s=$(status "$TMP/b" -X PUT -H 'If-Match: "01"' -H 'Content-Type: text/plain' --data-binary off "$G/devices/demo/actuators/led")
    [ "${s:0:1}" = 2 ] || { echo "current: $s"; return 1; }
    [ "$("$BUILD/coapgw-client" -T 2 "$LED")" = off ]
}
check "HTTP If-Match through the gateway: 412 for an old ETag, 2xx for the current one" through_gateway

finish
