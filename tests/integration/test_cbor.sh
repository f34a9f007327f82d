#!/usr/bin/env bash
# CBOR and SenML CBOR seen as JSON (docs/api.md): curl -> coapgw ->
# coapgw-sim's /cbor, /senml and /cbor-intkey, and JSON bodies sent on as CBOR.
. "$(dirname "$0")/lib.sh"
need curl python3
SIM_PORT=$(free_port)
RD_SIM_PORT=$(free_port)
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "sim": "coap://127.0.0.1:$SIM_PORT" }, "proxy": { "timeout_ms": 2000 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
D=$G/devices/sim
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/cbor"

hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
# jq_py FILE EXPR: python's verdict on the JSON in FILE (d is the value)
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

as_json() {
    [ "$(status "$TMP/b" -H 'Accept: application/json' "$D/cbor")" = 200 ] || return 1
    [ "$(hdr content-type)" = application/json ] && [ "$(hdr x-coapgw-converted)" = application/cbor ] ||
        return 1
    hdr vary | grep -qi accept || return 1
    jq_py "$TMP/b" 'set(d) == {"temperature","humidity","led","raw","ticks","at"} and
        d["raw"] == "yv4" and d["at"] == d["ticks"] and isinstance(d["temperature"], float)'
}
check "Accept: application/json gets CBOR as JSON (base64url bytes, tag 1 as its number) + X-Coapgw-Converted" as_json

from_cache() {
    local hits
    status "$TMP/b1" -H 'Accept: application/json' -H 'Cache-Control: no-cache' "$D/cbor" >/dev/null
    hits=$(grep -c "/cbor 200 .* cache$" "$TMP/gw.log" || true)
    [ "$(status "$TMP/b2" -H 'Accept: application/json' "$D/cbor")" = 200 ] || return 1
    [ "$(grep -c "/cbor 200 .* cache$" "$TMP/gw.log" || true)" -gt "$hits" ] || return 1
    [ "$(hdr x-coapgw-converted)" = application/cbor ] && jq_py "$TMP/b2" '"temperature" in d'
}
check "a cached CBOR answer is converted again for the next JSON client" from_cache

as_cbor() {
    local accept
    for accept in 'application/cbor' '*/*' 'application/json, application/cbor;q=0.1' 'application/*'; do
        [ "$(status "$TMP/b" -H "Accept: $accept" "$D/cbor")" = 200 ] || return 1
        [ "$(hdr content-type)" = application/cbor ] && [ -z "$(hdr x-coapgw-converted)" ] || {
            echo "Accept: $accept -> $(hdr content-type)"
            return 1
        }
        [ "$(hex "$TMP/b" | cut -c1-2)" = a6 ] || return 1 # a map of 6
    done
}
check "Accept naming CBOR (or */*, application/*) gets the bytes unconverted" as_cbor

senml() {
    [ "$(status "$TMP/b" -H 'Accept: application/senml+json' "$D/senml")" = 200 ] || return 1
    [ "$(hdr content-type)" = application/senml+json ] &&
        [ "$(hdr x-coapgw-converted)" = application/senml+cbor ] || return 1
    jq_py "$TMP/b" 'd[0]["bn"] == "urn:dev:sim:" and d[0]["n"] == "temperature" and
        d[0]["u"] == "Cel" and "v" in d[0] and d[2] == {"n": "led", "vb": False}'
}
check "SenML CBOR becomes SenML JSON with the labels of RFC 8428 §6" senml

senml_cbor() {
    [ "$(status "$TMP/b" -H 'Accept: application/senml+cbor' "$D/senml")" = 200 ] || return 1
    [ "$(hdr content-type)" = application/senml+cbor ] && [ "$(hex "$TMP/b" | cut -c1-8)" = 83a4206c ]
}
check "Accept: application/senml+cbor gets the pack as it is" senml_cbor

intkey() {
    [ "$(status "$TMP/b" -H 'Accept: application/json' "$D/cbor-intkey")" = 406 ] || return 1
    grep -q "not a text string" "$TMP/b" || return 1
    [ "$(status "$TMP/b" -H 'Accept: application/cbor' "$D/cbor-intkey")" = 200 ] || return 1
    [ "$(hex "$TMP/b")" = a101636f6e65 ]
}
check "a non-string map key: 406 for JSON, the bytes for Accept: application/cbor" intkey

malformed() {
    [ "$(status "$TMP/b" -H 'Accept: application/json' "$D/cbor-bad")" = 502 ] || return 1
    grep -q "malformed" "$TMP/b" || return 1
    [ "$(status "$TMP/b" -H 'Accept: application/cbor' "$D/cbor-bad")" = 200 ] || return 1
    [ "$(hex "$TMP/b")" = 8201 ]
}
check "malformed CBOR from the device: 502 for JSON, the bytes for Accept: application/cbor" malformed

sse() {
    timeout 3 curl -sN -H 'Accept: text/event-stream' "$D/cbor" >"$TMP/sse.log" || true
    local line
    line=$(grep -m1 '^data: .*"seq"' "$TMP/sse.log" | cut -c7-) || return 1
    echo "$line" >"$TMP/ev.json"
    jq_py "$TMP/ev.json" 'd["converted_from"] == "application/cbor" and d["content_format"] == 60
        and d["payload"]["raw"] == "yv4" and "payload_base64" not in d'
}
check "SSE notifications carry CBOR as a JSON value with converted_from" sse

sse_base64() {
    timeout 3 curl -sN -H 'Accept: text/event-stream' "$D/cbor-intkey" >"$TMP/sse2.log" || true
    grep -m1 '^data: .*"seq"' "$TMP/sse2.log" | cut -c7- >"$TMP/ev2.json"
    jq_py "$TMP/ev2.json" 'd["payload_base64"] == "oQFjb25l" and "converted_from" not in d'
}
check "SSE: CBOR without a JSON form comes as payload_base64" sse_base64

echo_ct() {
    # POST JSON with ?coap-ct=60: the sim's /echo returns what arrived
    [ "$(status "$TMP/b" -H 'Content-Type: application/json' -H 'Accept: application/cbor' \
        --data '{"a":1,"b":[true,null,1.5]}' "$D/echo?x=1&coap-ct=60")" = 200 ] || return 1
    [ "$(hdr content-type)" = application/cbor ] && [ "$(hex "$TMP/b")" = a2616101616283f5f6f93e00 ] ||
        return 1
    status "$TMP/b" -H 'Content-Type: application/json' --data '1' "$D/echo?a=1&coap-ct=60&b=2" >/dev/null
    [ "$(hdr content-type)" = application/cbor ] && [ "$(hex "$TMP/b")" = 01 ] || return 1
    # the parameter is not forwarded: the targets in the access log keep the rest
    grep -q "coap://127.0.0.1:$SIM_PORT/echo?x=1 " "$TMP/gw.log" || return 1
    grep -q "coap://127.0.0.1:$SIM_PORT/echo?a=1&b=2 " "$TMP/gw.log" || return 1
    ! grep "coap://127.0.0.1:$SIM_PORT/echo?" "$TMP/gw.log" | grep -q coap-ct
}
check "?coap-ct=60: a JSON body goes as CBOR, the parameter not forwarded" echo_ct

echo_back() {
    [ "$(status "$TMP/b" -H 'Content-Type: application/json' -H 'Accept: application/json' \
        --data '{"a":[1,-2,"x"]}' "$D/echo?coap-ct=60")" = 200 ] || return 1
    [ "$(hdr x-coapgw-converted)" = application/cbor ] && [ "$(cat "$TMP/b")" = '{"a":[1,-2,"x"]}' ]
}
check "JSON -> CBOR at the device -> JSON again for a JSON client" echo_back

senml_put() {
    [ "$(status "$TMP/b" -H 'Content-Type: application/senml+json' -H 'Accept: application/senml+cbor' \
        --data '[{"n":"a","v":1,"vd":"AQI"}]' "$D/echo?coap-ct=112")" = 200 ] || return 1
    [ "$(hex "$TMP/b")" = 81a3006161020108420102 ]
}
check "?coap-ct=112: SenML JSON goes as SenML CBOR (integer labels, vd as bytes)" senml_put

advertised() {
    # before the links are known the body goes as it is (JSON)
    status "$TMP/b" -X PUT -H 'Content-Type: application/json' -H 'Accept: */*' \
        --data '{"led":true}' "$D/cbor" >/dev/null
    [ "$(hdr content-type)" = application/json ] || return 1
    curl -sf "$G/api/devices/sim" >/dev/null || return 1 # fetches /.well-known/core
    [ "$(status "$TMP/b" -X PUT -H 'Content-Type: application/json' -H 'Accept: application/cbor' \
        --data '{"led":true}' "$D/cbor")" = 200 ] || return 1
    [ "$(hdr content-type)" = application/cbor ] && [ "$(hex "$TMP/b")" = a1636c6564f5 ]
}
check "a JSON PUT to a resource whose links advertise only ct=60 goes as CBOR" advertised

registered() {
    # a device registered with the Resource Directory: its registered links say ct=60
    start rdsim "$BUILD/coapgw-sim" --listen "127.0.0.1:$RD_SIM_PORT" \
        --register "coap://127.0.0.1:$GW_COAP" --name rdsim
    wait_for "rdsim registered" curl -sf -o /dev/null "$G/devices/rdsim/cbor" || return 1
    [ "$(status "$TMP/b" -X PUT -H 'Content-Type: application/json' -H 'Accept: application/cbor' \
        --data '[1.5,"x"]' "$G/devices/rdsim/cbor")" = 200 ] || return 1
    [ "$(hdr content-type)" = application/cbor ] && [ "$(hex "$TMP/b")" = 82f93e006178 ]
}
check "a JSON PUT to a registered device's ct=60 resource goes as CBOR (its RD links)" registered

invalid() {
    [ "$(status "$TMP/b" -H 'Content-Type: application/json' --data '{"a": tru}' \
        "$D/echo?coap-ct=60")" = 400 ] || return 1
    grep -q "invalid JSON at offset" "$TMP/b" || return 1
    [ "$(status "$TMP/b" -H 'Content-Type: application/json' --data '{}' "$D/echo?coap-ct=61")" = 400 ]
}
check "invalid JSON: 400 naming the offset; coap-ct other than 60/112: 400" invalid

stop rdsim
stop gw
finish
