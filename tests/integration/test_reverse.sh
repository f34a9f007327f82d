#!/usr/bin/env bash
# The reverse direction: coapgw-client -P and libcoap's coap-client -P ->
# coapgw's CoAP port -> an HTTP origin (and coap:// to coapgw-sim).
. "$(dirname "$0")/lib.sh"
need coap-client-notls python3 curl
HERE=$(cd "$(dirname "$0")" && pwd)
ORIGIN=$(free_port tcp)
OTHER=$(free_port tcp)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
SIM_PORT=$(free_port)
start origin python3 "$HERE/http_origin.py" "$ORIGIN"
start other python3 "$HERE/http_origin.py" "$OTHER"
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "proxy": { "allow_origins": ["http://127.0.0.1:$ORIGIN"], "timeout_ms": 1500 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
wait_for "coapgw" curl -sf "http://127.0.0.1:$HTTP_PORT/healthz"
wait_for "origin" curl -sf "http://127.0.0.1:$ORIGIN/hello"
P=127.0.0.1:$GW_COAP
O=http://127.0.0.1:$ORIGIN
C=$BUILD/coapgw-client

get() {
    [ "$("$C" -P "$P" "$O/hello")" = hello ] || return 1
    "$C" -v -P "$P" "$O/hello" 2>"$TMP/v" >/dev/null
    grep -q "2.05 Content" "$TMP/v" && grep -q "Max-Age: 30" "$TMP/v" && grep -q "ETag: 61623132" "$TMP/v"
}
check "GET through coapgw-client -P: 2.05, Max-Age from Cache-Control, ETag" get

libcoap_get() {
    coap-client-notls -B 5 -P "coap://$P" "$O/hello" | grep -q hello
}
check "libcoap's coap-client -P sends Proxy-Uri; coapgw answers" libcoap_get

methods() {
    [ "$("$C" -P "$P" -m post -t application/json -e '{"a":1}' "$O/echo")" = 'POST {"a":1}' ] || return 1
    "$C" -v -P "$P" -m post -t application/json -e '{"a":1}' "$O/echo" 2>"$TMP/pv" >/dev/null
    grep -q "Content-Format: 50" "$TMP/pv" && grep -q "2.04 Changed" "$TMP/pv" || return 1
    [ "$("$C" -P "$P" -m put -t text/plain -e x "$O/echo")" = 'PUT x' ] || return 1
    "$C" -v -P "$P" -m delete "$O/item" 2>"$TMP/dv" >/dev/null
    grep -q "2.02 Deleted" "$TMP/dv"
}
check "POST with a JSON body, PUT, DELETE (2.02)" methods

cached() {
    "$C" -P "$P" "$O/hello" >/dev/null
    "$C" -P "$P" "$O/hello" >/dev/null
    local n
    n=$(grep -c "coap->http GET $O/hello -> 200" "$TMP/gw.log")
    # the first check fetched it once; everything after came from the cache
    [ "$n" -eq 1 ] || { echo "origin asked $n times"; return 1; }
}
check "a cacheable response (max-age=30) is served from the cache" cached

location() {
    "$C" -v -P "$P" -m post -e x "$O/create" 2>"$TMP/loc" >/dev/null || return 1
    grep -q "2.01 Created" "$TMP/loc" && grep -q "Location-Path: items" "$TMP/loc" &&
        grep -q "Location-Path: 7" "$TMP/loc" && grep -q "Location-Query: x=1" "$TMP/loc"
}
check "201 with Location -> 2.01 with Location-Path and Location-Query" location

statuses() {
    local rc=0
    "$C" -P "$P" "$O/status/404" 2>"$TMP/s1" >/dev/null || rc=$?
    [ $rc -eq 1 ] && grep -q "4.04" "$TMP/s1" || return 1
    rc=0
    "$C" -P "$P" "$O/status/500" 2>"$TMP/s2" >/dev/null || rc=$?
    [ $rc -eq 1 ] && grep -q "5.00" "$TMP/s2"
}
check "origin 404 -> 4.04, 500 -> 5.00" statuses

slow() {
    local rc=0
    "$C" -P "$P" "$O/slow" 2>"$TMP/slow" >/dev/null || rc=$?
    [ $rc -eq 1 ] && grep -q "5.04" "$TMP/slow"
}
check "an origin slower than the timeout -> 5.04" slow

big() {
    curl -s -o "$TMP/big.ref" "$O/big"
    "$C" -P "$P" "$O/big" >"$TMP/big.ours" || return 1
    cmp -s "$TMP/big.ref" "$TMP/big.ours" || return 1
    coap-client-notls -B 10 -P "coap://$P" -o "$TMP/big.lib" "$O/big" || return 1
    cmp -s "$TMP/big.ref" "$TMP/big.lib"
}
check "300 KiB response block-wise, byte for byte (ours and libcoap's)" big

refused() {
    local rc=0
    "$C" -P "$P" "http://127.0.0.1:$OTHER/hello" 2>"$TMP/r" >"$TMP/rb" || rc=$?
    [ $rc -eq 1 ] && grep -q "4.03" "$TMP/r" && grep -q "allow_origins" "$TMP/rb"
}
check "an origin not in proxy.allow_origins -> 4.03 naming the setting" refused

hop_limit() {
    local rc=0
    "$C" -P "$P" -O 16,1 "$O/hello" 2>"$TMP/h" >/dev/null || rc=$?
    [ $rc -eq 1 ] && grep -q "5.08" "$TMP/h" || return 1
    [ "$("$C" -P "$P" -O 16,5 "$O/hello")" = hello ]
}
check "Hop-Limit 1 -> 5.08 Hop Limit Reached; 5 passes" hop_limit

coap_forward() {
    "$C" -P "$P" "coap://127.0.0.1:$SIM_PORT/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$' || return 1
    [ "$("$C" -P "$P" -m post -e hi "coap://127.0.0.1:$SIM_PORT/echo")" = hi ]
}
check "coap:// in Proxy-Uri is forwarded with the CoAP client (to coapgw-sim)" coap_forward

forward_to_itself() { # to its own port it would pass for a loopback client
    local rc=0
    "$C" -P "$P" -m post "coap://127.0.0.1:$GW_COAP/rd?ep=x" >"$TMP/self" 2>&1 || rc=$?
    [ $rc -eq 1 ] && grep -q "4.03" "$TMP/self" && grep -q "gateway itself" "$TMP/self"
}
check "coap:// to the gateway's own CoAP port -> 4.03" forward_to_itself

schemes() {
    local rc=0
    "$C" -P "$P" "coaps://127.0.0.1:5684/x" 2>"$TMP/c1" >"$TMP/c1.body" || rc=$?
    [ $rc -eq 1 ] && grep -q "5.02" "$TMP/c1" &&
        grep -q "no credentials for coaps://127.0.0.1:5684" "$TMP/c1.body" || return 1
    rc=0
    "$C" -P "$P" "ftp://127.0.0.1/x" 2>"$TMP/c2" >/dev/null || rc=$?
    [ $rc -eq 1 ] && grep -q "5.05" "$TMP/c2"
}
check "coaps:// without credentials -> 5.02 naming them; unknown schemes -> 5.05 Proxying Not Supported" schemes

stop gw
finish
