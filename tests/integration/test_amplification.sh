#!/usr/bin/env bash
# The amplification bound (RFC 7252 §11.3, RFC 9175 §2.4): an answer to a
# CoAP peer whose address is not verified is at most 3 times its request,
# datagram for datagram. A larger one is first a 4.01 with an Echo option;
# the same request with that Echo gets the whole answer; a wrong, foreign
# or stale Echo is challenged again. Requests come from fresh UDP ports of
# 127.0.0.1 (coap_echo.py), as a forged source's would: /.well-known/core
# (the gateway's own, small when filtered, and coapgw-sim's, large, on the same engine),
# a Resource Directory read (GET /rd/ID) and a forward-proxy GET of a large
# HTTP origin answer. libcoap's coap-client follows the Echo by itself,
# and so does the gateway's client role when a device asks for one.
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
ORIGIN=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
start origin python3 "$HERE/http_origin.py" "$ORIGIN"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "proxy": { "allow_origins": ["http://127.0.0.1:$ORIGIN"] } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post
wait_for "the origin" curl -sf "http://127.0.0.1:$ORIGIN/hello"

# ask PORT ARGS...: coap_echo.py to 127.0.0.1:PORT; its lines in $TMP/ask
# ("CODE ANSWER_LEN REQUEST_LEN PAYLOAD_LEN ECHO_HEX" per answer).
ask() {
    local port=$1
    shift
    python3 "$HERE/coap_echo.py" 127.0.0.1 "$port" "$@" >"$TMP/ask" 2>&1
    cat "$TMP/ask" >>"$TMP/asks.log"
}
line() { sed -n "${1}p" "$TMP/ask"; }
# challenged N: answer N is a 4.01 with a 12-byte Echo, no more than 3 times its request
challenged() {
    local code alen rlen plen echo
    read -r code alen rlen plen echo <<<"$(line "$1")"
    [ "$code" = 4.01 ] && [ "$alen" -le $((3 * rlen)) ] && [ "$plen" = 0 ] && [ ${#echo} = 24 ]
}
# answered N CODE MINPAYLOAD: answer N has that code and at least that payload
answered() {
    local code alen rlen plen echo
    read -r code alen rlen plen echo <<<"$(line "$1")"
    [ "$code" = "$2" ] && [ "$plen" -ge "$3" ]
}
echo_of() { line "$1" | cut -d' ' -f5; }

# A source port kept for the stale-Echo check at the end (30 s later).
STALE_PORT=$(free_port)
ask "$SIM_PORT" --path .well-known/core --sport "$STALE_PORT"
STALE_ECHO=$(echo_of 1)
STALE_AT=$(date +%s)

gateway_wellknown() {
    # filtered to </rd> it is within 3x: answered at once
    ask "$GW_COAP" --path .well-known/core --query rt=core.rd || return 1
    answered 1 2.05 20 || return 1
    read -r _ alen rlen _ <<<"$(line 1)"
    [ "$alen" -le $((3 * rlen)) ] || return 1
    # whole, with the lookup interfaces (RFC 9176 §6), it is over 3x
    ask "$GW_COAP" --path .well-known/core --then same || return 1
    challenged 1 && answered 2 2.05 100
}
check "the gateway's /.well-known/core: within 3x (?rt=core.rd) answered at once from a fresh port; whole, Echo first" \
    gateway_wellknown

wellknown_echo() {
    ask "$SIM_PORT" --path .well-known/core --then same || return 1
    challenged 1 && answered 2 2.05 300
}
check "a large /.well-known/core from a fresh port: 4.01 with Echo within 3x, then the whole answer with the Echo" \
    wellknown_echo

wrong_echo() {
    ask "$SIM_PORT" --path .well-known/core --then wrong || return 1
    challenged 1 && challenged 2
}
check "a wrong Echo (one bit changed) is challenged again" wrong_echo

foreign_echo() {
    ask "$SIM_PORT" --path .well-known/core --then other || return 1
    challenged 1 && challenged 2
}
check "an Echo from another port of the same address is challenged again" foreign_echo

libcoap_follows() {
    coap-client-notls -v 9 -B 5 "coap://127.0.0.1:$SIM_PORT/.well-known/core" >"$TMP/libcoap.out" 2>&1 || return 1
    grep -q 'c:4.01.*Echo:0x' "$TMP/libcoap.out" || return 1
    grep -q 'c:GET.*Echo:0x' "$TMP/libcoap.out" || return 1
    grep -q 'c:2.05' "$TMP/libcoap.out" && grep -q '</slow>;rt="slow"' "$TMP/libcoap.out"
}
check "libcoap's coap-client-notls gets the whole /.well-known/core, following the Echo itself" \
    libcoap_follows

# A registration with ~700 bytes of links, read back from fresh ports.
LINKS=$(for i in $(seq 1 14); do printf '</sensors/s%02d>;rt="temperature-c";if="sensor",' "$i"; done)
LINKS=${LINKS%,}
rd_read() {
    coap-client-notls -v 6 -B 5 -m post -t 40 -e "$LINKS" \
        "coap://127.0.0.1:$GW_COAP/rd?ep=big&lt=300" >"$TMP/reg.out" 2>&1 || return 1
    local id
    id=$(grep 'c:2.01' "$TMP/reg.out" | grep -o 'Location-Path:[^], ]*' | tail -1 | cut -d: -f2)
    [ -n "$id" ] || return 1
    ask "$GW_COAP" --path "rd/$id" --then wrong || return 1
    challenged 1 && challenged 2 || return 1
    ask "$GW_COAP" --path "rd/$id" --then same || return 1
    challenged 1 && answered 2 2.05 "${#LINKS}"
}
check "GET /rd/ID (700 bytes of links) from a fresh port: 4.01 with Echo within 3x; a wrong Echo again; the right one gets the links" \
    rd_read

proxy_big() {
    ask "$GW_COAP" --proxy-uri "http://127.0.0.1:$ORIGIN/big" --then same || return 1
    challenged 1 && answered 2 2.05 1024
}
check "a forward-proxy GET of a 300 KiB origin answer from a fresh port: 4.01 with Echo within 3x, then block 0" \
    proxy_big

device_echo() {
    [ "$(curl -s -o "$TMP/wk" -w '%{http_code}' "$G/devices/demo/.well-known/core")" = 200 ] || return 1
    grep -q '</slow>' "$TMP/wk" || return 1
    curl -s "$G/metrics" >"$TMP/metrics" || return 1
    grep -Eq '^coapgw_coap_echo_followed_total [1-9]' "$TMP/metrics"
}
check "the gateway's client follows a device's 4.01 with Echo (coapgw_coap_echo_followed_total)" \
    device_echo

metrics() {
    curl -s "$G/metrics" >"$TMP/metrics" || return 1
    grep -Eq '^coapgw_coap_echo_total\{result="challenged"\} [2-9]' "$TMP/metrics" || return 1
    grep -Eq '^coapgw_coap_echo_total\{result="verified"\} [2-9]' "$TMP/metrics" || return 1
    grep -Eq '^coapgw_coap_echo_total\{result="refused"\} 1$' "$TMP/metrics"
}
check "/metrics: coapgw_coap_echo_total counts the challenges, verifications and refusals" metrics

stale_echo() {
    local wait=$((STALE_AT + 32 - $(date +%s)))
    [ "$wait" -le 0 ] || sleep "$wait"
    ask "$SIM_PORT" --path .well-known/core --sport "$STALE_PORT" --echo "$STALE_ECHO" || return 1
    challenged 1 && [ "$(echo_of 1)" != "$STALE_ECHO" ]
}
check "an Echo older than 30 s is stale: challenged again with a new one" stale_echo

finish
