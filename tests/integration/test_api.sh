#!/usr/bin/env bash
# curl -> coapgw /api/ -> coapgw-sim / libcoap's coap-server: the JSON
# discovery API (docs/api.md): device list, resources parsed from each
# device's /.well-known/core (RFC 6690; block-wise when long), the cache
# and its coalescing, JSON errors.
. "$(dirname "$0")/lib.sh"
need curl coap-server-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
LIB_PORT=$(free_port)
SILENT_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
REG_PORT=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500
start libcoap coap-server-notls -A 127.0.0.1 -p "$LIB_PORT" -d 40 -v 0
start silent python3 "$HERE/udp_peer.py" silent "$SILENT_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "lib": "coap://127.0.0.1:$LIB_PORT/base",
               "silent": "coap://127.0.0.1:$SILENT_PORT" },
  "proxy": { "timeout_ms": 1500 },
  "discovery": { "refresh_s": 3 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post
wait_for "coap-server" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$LIB_PORT/"

# json FILE PYTHON-EXPRESSION: the expression, on the parsed file as d, is true
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

# libcoap's listing grows past one block (1024 bytes) with dynamic
# resources of long names: the gateway has to follow Block2.
for i in $(seq 1 24); do
    "$BUILD/coapgw-client" -T 2 -m put -e x "coap://127.0.0.1:$LIB_PORT/dynamic-resource-with-a-rather-long-name-$i" >/dev/null
done

device_list() {
    [ "$(status "$TMP/l" "$G/api/devices")" = 200 ] && [ "$(hdr Content-Type)" = application/json ] || return 1
    json "$TMP/l" '[x["name"] for x in d] == ["demo", "lib", "silent"]' || return 1
    json "$TMP/l" 'd[0] == {"name": "demo", "uri": "coap://127.0.0.1:'"$SIM_PORT"'", "source": "config",
                            "auth": "none", "online": d[0]["online"], "last_seen": d[0]["last_seen"],
                            "href": "/api/devices/demo"}' || return 1
    json "$TMP/l" 'd[1]["uri"].endswith("/base") and d[2]["last_seen"] is None and not d[2]["online"]' || return 1
    [ "$(status "$TMP/l2" "$G/api/devices/")" = 200 ] && cmp -s "$TMP/l" "$TMP/l2"
}
check "GET /api/devices lists every configured device" device_list

sim_resources() {
    [ "$(status "$TMP/d" "$G/api/devices/demo")" = 200 ] || return 1
    json "$TMP/d" 'd["name"] == "demo" and d["online"] is True and d["last_seen"].endswith("Z")' || return 1
    json "$TMP/d" '{r["href"] for r in d["resources"]} >= {"/sensors/temperature", "/sensors/humidity", "/actuators/led", "/firmware", "/echo"}' || return 1
    json "$TMP/d" '[r for r in d["resources"] if r["href"] == "/sensors/temperature"][0] ==
        {"href": "/sensors/temperature", "rt": ["temperature-c"], "if": ["sensor"],
         "ct": [{"format": 0, "type": "text/plain;charset=utf-8"}], "obs": True, "title": "Temperature"}' || return 1
    json "$TMP/d" '[r for r in d["resources"] if r["href"] == "/firmware"][0]["sz"] == 65536' || return 1
    json "$TMP/d" '[r for r in d["resources"] if r["href"] == "/sensors/humidity"][0]["ct"] == [{"format": 50, "type": "application/json"}]' || return 1
    # the list now shows the device online, with an RFC 3339 time
    status "$TMP/l3" "$G/api/devices" >/dev/null
    json "$TMP/l3" 'd[0]["online"] and len(d[0]["last_seen"]) == 20'
}
check "GET /api/devices/demo: coapgw-sim's resources with rt, if, ct, obs, sz, title" sim_resources

libcoap_resources() {
    [ "$(status "$TMP/c" "$G/api/devices/lib")" = 200 ] || return 1
    json "$TMP/c" 'len(d["resources"]) >= 28' || return 1
    json "$TMP/c" '[r for r in d["resources"] if r["href"] == "/time"][0] ==
        {"href": "/time", "if": ["clock"], "rt": ["ticks"], "title": "Internal Clock",
         "ct": [{"format": 0, "type": "text/plain;charset=utf-8"}], "obs": True}' || return 1
    json "$TMP/c" '"/dynamic-resource-with-a-rather-long-name-24" in [r["href"] for r in d["resources"]]' || return 1
    # the listing was long enough to need Block2
    [ "$("$BUILD/coapgw-client" "coap://127.0.0.1:$LIB_PORT/.well-known/core" | wc -c)" -gt 1024 ]
}
check "GET /api/devices/lib: libcoap's coap-server, listing over 1024 bytes (Block2)" libcoap_resources

has() { # has FILE N: the listing in FILE has dynamic resource N
    json "$1" '"/dynamic-resource-with-a-rather-long-name-'"$2"'" in [r["href"] for r in d["resources"]]'
}
cached() {
    # a fresh copy now, then a resource goes: the listing is served from the
    # cache for discovery.refresh_s (3 s here)...
    [ "$(status "$TMP/k0" -H 'Cache-Control: no-cache' "$G/api/devices/lib")" = 200 ] || return 1
    "$BUILD/coapgw-client" -T 2 -m delete "coap://127.0.0.1:$LIB_PORT/dynamic-resource-with-a-rather-long-name-1" >/dev/null
    status "$TMP/k1" "$G/api/devices/lib" >/dev/null
    has "$TMP/k1" 1 || return 1
    # ...unless the client asks for a fresh copy
    [ "$(status "$TMP/k2" -H 'Cache-Control: no-cache' "$G/api/devices/lib")" = 200 ] || return 1
    ! has "$TMP/k2" 1 || return 1
    # and once the interval is over, a plain GET fetches again
    "$BUILD/coapgw-client" -T 2 -m delete "coap://127.0.0.1:$LIB_PORT/dynamic-resource-with-a-rather-long-name-2" >/dev/null
    sleep 3.2
    status "$TMP/k3" "$G/api/devices/lib" >/dev/null
    ! has "$TMP/k3" 2
}
check "resources are cached for discovery.refresh_s; Cache-Control: no-cache refetches" cached

five_504() { [ "$(cat "$TMP"/s[1-5].code 2>/dev/null)" = 504504504504504 ]; }
coalesced() {
    # five requests at once for the silent device: one CoAP exchange, five 504s
    local before after i
    before=$(grep -c "api: silent: GET" "$TMP/gw.log" || true)
    for i in 1 2 3 4 5; do
        curl -s -o "$TMP/s$i" -w '%{http_code}' "$G/api/devices/silent" >"$TMP/s$i.code" &
    done
    wait_for "five answers" five_504 || return 1
    after=$(grep -c "api: silent: GET" "$TMP/gw.log" || true)
    [ $((after - before)) -eq 1 ]
}
check "concurrent requests for one device share one fetch" coalesced

errors() {
    [ "$(status "$TMP/e1" "$G/api/devices/silent")" = 504 ] && [ "$(hdr Content-Type)" = application/json ] || return 1
    json "$TMP/e1" 'd["status"] == 504 and "silent" in d["error"]' || return 1
    [ "$(status "$TMP/e2" "$G/api/devices/nosuch")" = 404 ] || return 1
    json "$TMP/e2" 'd["status"] == 404 and "nosuch" in d["error"]' || return 1
    [ "$(status "$TMP/e3" "$G/api/nothing")" = 404 ] && json "$TMP/e3" 'd["status"] == 404' || return 1
    [ "$(status "$TMP/e4" "$G/api/devices/demo/extra")" = 404 ] && json "$TMP/e4" 'd["status"] == 404' || return 1
    [ "$(status "$TMP/e5" "$G/api")" = 404 ] && json "$TMP/e5" 'd["status"] == 404' || return 1
    [ "$(status "$TMP/e6" -X POST -d x "$G/api/devices")" = 405 ] && [ "$(hdr Allow)" = "GET, HEAD, OPTIONS" ] || return 1
    json "$TMP/e6" 'd["status"] == 405' || return 1
    [ "$(status "$TMP/e7" -X DELETE "$G/api/devices/demo")" = 405 ] && json "$TMP/e7" 'd["status"] == 405' || return 1
    [ "$(status "$TMP/e8" -X OPTIONS "$G/api/devices/demo")" = 204 ] && [ "$(hdr Allow)" = "GET, HEAD, OPTIONS" ] || return 1
    [ "$(status "$TMP/e9" "$G/api/devices/%ZZ")" = 404 ] || return 1
    [ "$(status "$TMP/e10" -I "$G/api/devices")" = 200 ]
}
check "errors are JSON: 504 silent device, 404 unknown device and path, 405 with Allow" errors

registered() {
    # a device registered through the Resource Directory (RFC 9176) is
    # described by the links it registered, without a fetch
    start reg "$BUILD/coapgw-sim" --listen "127.0.0.1:$REG_PORT" --register "coap://127.0.0.1:$GW_COAP" --name reg
    wait_for "the registration" curl -sf "$G/api/devices/reg" || return 1
    status "$TMP/r1" "$G/api/devices" >/dev/null
    json "$TMP/r1" '[x["source"] for x in d if x["name"] == "reg"] == ["rd"]' || return 1
    [ "$(status "$TMP/r2" "$G/api/devices/reg")" = 200 ] || return 1
    json "$TMP/r2" 'd["source"] == "rd" and d["auth"] == "none" and d["href"] == "/api/devices/reg"' || return 1
    json "$TMP/r2" '[r for r in d["resources"] if r["href"] == "/sensors/humidity"][0]["rt"] == ["humidity"]' || return 1
    ! grep -q "api: reg: GET" "$TMP/gw.log"
}
check "a registered device (RFC 9176): source rd, auth none (plaintext), resources from its registration" registered

removed_meanwhile() {
    # the device leaves the configuration (SIGHUP) while its listing is
    # being fetched: the waiting request learns it is gone
    curl -s -o "$TMP/m1" -w '%{http_code}' "$G/api/devices/silent" >"$TMP/m1.code" &
    sleep 0.4
    python3 - "$TMP/gw.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
del c["devices"]["silent"]
json.dump(c, open(sys.argv[1], "w"))
PY
    kill -HUP "$PID_gw"
    wait_for "the answer" test -s "$TMP/m1.code" || return 1
    [ "$(cat "$TMP/m1.code")" = 404 ] && json "$TMP/m1" '"removed" in d["error"]' || return 1
    [ "$(status "$TMP/m2" "$G/api/devices/silent")" = 404 ]
}
check "a device removed by a reload while its listing is fetched: 404" removed_meanwhile

stop libcoap
lib_gone() {
    # the device is gone (ICMP port unreachable on loopback): 502 after a
    # forced refresh, and offline in the list
    [ "$(status "$TMP/g1" -H 'Cache-Control: no-cache' "$G/api/devices/lib")" = 502 ] || return 1
    json "$TMP/g1" 'd["status"] == 502' || return 1
    status "$TMP/g2" "$G/api/devices" >/dev/null
    json "$TMP/g2" 'd[1]["name"] == "lib" and d[1]["online"] is False and d[1]["last_seen"] is not None'
}
check "a device that goes away: 502, then offline with its last_seen kept" lib_gone

finish
