#!/usr/bin/env bash
# curl -> coapgw -> coapgw-sim / libcoap's coap-server: the HTTP->CoAP
# front end (RFC 8075), its cache, its errors and its allowlist.
. "$(dirname "$0")/lib.sh"
need curl coap-server-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
LIB_PORT=$(free_port)
SILENT_PORT=$(free_port)
RST_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500 --slow-ms 300
start libcoap coap-server-notls -A 127.0.0.1 -p "$LIB_PORT" -d 20 -v 0
start silent python3 "$HERE/udp_peer.py" silent "$SILENT_PORT"
start rst python3 "$HERE/udp_peer.py" rst "$RST_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "lib": "coap://127.0.0.1:$LIB_PORT",
               "silent": "coap://127.0.0.1:$SILENT_PORT", "rst": "coap://127.0.0.1:$RST_PORT",
               "named": "coap://localhost:$SIM_PORT" },
  "proxy": { "timeout_ms": 1500, "max_body_bytes": 262144 },
  "cache": { "enabled": true, "max_entries": 100, "max_bytes": 100000 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post


url_forms() {
    [ "$(status "$TMP/a" "$G/devices/demo/sensors/temperature")" = 200 ] || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/a" || return 1
    [ "$(status "$TMP/b" "$G/hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature")" = 200 ] || return 1
    local enc
    enc=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' \
        "coap://127.0.0.1:$SIM_PORT/sensors/humidity")
    [ "$(status "$TMP/c" "$G/hc/?target_uri=$enc")" = 200 ] || return 1
    grep -q '"unit"' "$TMP/c" || return 1
    [ "$(status "$TMP/d" "$G/hc/$enc")" = 200 ] || return 1
    [ "$(status "$TMP/e" "$G/devices/named/sensors/humidity")" = 200 ]
}
check "URL forms: /devices/NAME, /hc/coap://, ?target_uri=, encoded, named host" url_forms

ipv6_literal() {
    # coap-server on ::1 for the bracketed form
    local p6
    p6=$(free_port)
    start lib6 coap-server-notls -A ::1 -p "$p6" -v 0
    sleep 0.3
    [ "$(status "$TMP/v6" "$G/hc/coap://[::1]:$p6/")" = 200 ] || return 1
    grep -q "test server" "$TMP/v6" || return 1
    [ "$(status "$TMP/v6b" "$G/hc/coap://%5B::1%5D:$p6/")" = 200 ]
}
check "IPv6 literal targets, brackets plain and percent-encoded" ipv6_literal

query_options() {
    [ "$(status "$TMP/q" "$G/devices/lib/.well-known/core?rt=core*")" = 200 ] || return 1
    [ "$(status "$TMP/q2" "$G/devices/demo/.well-known/core?rt=temperature-c")" = 200 ] || return 1
    grep -q '/sensors/temperature' "$TMP/q2" && ! grep -q '/firmware' "$TMP/q2"
}
check "query parameters become Uri-Query options" query_options

methods() {
    [ "$(status "$TMP/m1" -X POST -H 'Content-Type: application/json' -d '{"a":1}' "$G/devices/demo/echo")" = 200 ] || return 1
    [ "$(cat "$TMP/m1")" = '{"a":1}' ] && [ "$(hdr Content-Type)" = application/json ] || return 1
    [ "$(status "$TMP/m2" -X PUT -H 'Content-Type: text/plain' -d on "$G/devices/demo/actuators/led")" = 204 ] || return 1
    [ "$(status "$TMP/m3" "$G/devices/demo/actuators/led")" = 200 ] && [ "$(cat "$TMP/m3")" = on ] || return 1
    [ "$(status "$TMP/m4" -X FETCH -H 'Content-Type: text/plain' -d x "$G/devices/demo/echo")" = 200 ] || return 1
    [ "$(status "$TMP/m5" -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{}' "$G/devices/demo/echo")" = 200 ] || return 1
    [ "$(hdr Content-Type)" = application/merge-patch+json ] || return 1
    [ "$(status "$TMP/m6" -X PATCH -H 'X-CoAP-Method: iPATCH' -H 'Content-Type: text/plain' -d i "$G/devices/demo/echo")" = 200 ] || return 1
    [ "$(status "$TMP/m7" -X PUT -d hi -H 'Content-Type: text/plain' "$G/devices/lib/it-del")" = 201 ] || return 1
    [ "$(status "$TMP/m8" -X DELETE "$G/devices/lib/it-del")" = 204 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -I "$G/devices/demo/sensors/temperature")" = "200 0" ] || return 1
    [ "$(status "$TMP/m10" -X OPTIONS "$G/devices/demo/echo")" = 204 ] && hdr Allow | grep -q FETCH || return 1
    [ "$(status "$TMP/m11" -X BREW "$G/devices/demo/echo")" = 501 ]
}
check "GET, POST, PUT, DELETE, FETCH, PATCH, iPATCH, HEAD, OPTIONS, unknown (501)" methods

status_table() {
    [ "$(status "$TMP/s1" "$G/devices/demo/nope")" = 404 ] || return 1
    [ "$(status "$TMP/s2" -X DELETE "$G/devices/demo/echo")" = 400 ] || return 1
    grep -qi "method not allowed" "$TMP/s2" || return 1
    [ "$(status "$TMP/s3" -X PUT -H 'Content-Type: text/plain' -d blink "$G/devices/demo/actuators/led")" = 400 ] || return 1
    grep -q 'on' "$TMP/s3" && [ "$(hdr Content-Type)" = "text/plain;charset=utf-8" ] || return 1
    [ "$(status "$TMP/s4" -X PUT -H 'Content-Type: text/plain' -d x "$G/devices/lib/it-new")" = 201 ] || return 1
    [ "$(status "$TMP/s5" -X PUT -H 'Content-Type: text/plain' -d y "$G/devices/lib/it-new")" = 204 ]
}
check "status mapping: 4.04->404, 4.05->400, 4.00->400 with diagnostic, 2.01->201, 2.04->204" status_table

content_types() {
    [ "$(status "$TMP/ct1" -X POST -H 'Content-Type: image/png' -d x "$G/devices/demo/echo")" = 415 ] || return 1
    [ "$(status "$TMP/ct2" -X POST -H 'Content-Type: application/vnd.foo+json' -d '{}' "$G/devices/demo/echo")" = 200 ] || return 1
    [ "$(hdr Content-Type)" = application/json ] || return 1
    [ "$(status "$TMP/ct3" -H 'Accept: application/json' "$G/devices/demo/sensors/humidity")" = 200 ] || return 1
    [ "$(status "$TMP/ct4" "$G/devices/demo/.well-known/core")" = 200 ] && [ "$(hdr Content-Type)" = application/link-format ]
}
check "Content-Type <-> Content-Format, loose fallback, 415, Accept" content_types

etags() {
    [ "$(status "$TMP/fw" "$G/devices/demo/firmware")" = 200 ] || return 1
    local tag
    tag=$(hdr ETag)
    [ -n "$tag" ] || return 1
    [ "$(stat -c %s "$TMP/fw")" -eq 65536 ] || return 1
    "$BUILD/coapgw-client" "coap://127.0.0.1:$SIM_PORT/firmware" | cmp -s - "$TMP/fw" || return 1
    [ "$(status "$TMP/fw2" -H "If-None-Match: $tag" "$G/devices/demo/firmware")" = 304 ] || return 1
    [ ! -s "$TMP/fw2" ]
}
check "64 KiB /firmware block-wise byte for byte, ETag, If-None-Match -> 304" etags

big_put() {
    head -c 204800 /dev/urandom >"$TMP/up"
    [ "$(status "$TMP/upr" -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/up" "$G/devices/demo/echo")" = 200 ] || return 1
    cmp -s "$TMP/up" "$TMP/upr"
}
check "200 KiB PUT with Block1, echoed back with Block2" big_put

cache() {
    local n0 n1 n2
    status "$TMP/c1" -H 'Cache-Control: no-cache' "$G/devices/demo/sensors/temperature" >/dev/null
    grep -q 'max-age=1' "$TMP/headers" || return 1 # the simulator's Max-Age: 2 periods
    n0=$(grep -c "GET /sensors/temperature from" "$TMP/sim.log")
    status "$TMP/c2" "$G/devices/demo/sensors/temperature" >/dev/null
    cmp -s "$TMP/c1" "$TMP/c2" || return 1
    n1=$(grep -c "GET /sensors/temperature from" "$TMP/sim.log")
    [ "$n1" -eq "$n0" ] && grep -q "sensors/temperature 200 .* cache$" "$TMP/gw.log" || return 1
    status "$TMP/c3" -H 'Cache-Control: no-cache' "$G/devices/demo/sensors/temperature" >/dev/null
    sleep 1.2 # stale now: the next GET goes to the device
    status "$TMP/c4" "$G/devices/demo/sensors/temperature" >/dev/null
    n2=$(grep -c "GET /sensors/temperature from" "$TMP/sim.log")
    [ "$n2" -eq $((n1 + 2)) ]
}
check "cache: fresh hit within Max-Age, no-cache bypasses" cache

revalidate() {
    # the simulator's LED has an ETag and Max-Age 2
    status "$TMP/r1" -H 'Cache-Control: no-cache' "$G/devices/demo/actuators/led" >/dev/null
    status "$TMP/r2" "$G/devices/demo/actuators/led" >/dev/null
    grep -q "actuators/led 200 .* cache$" "$TMP/gw.log" || return 1
    sleep 2.2
    [ "$(status "$TMP/r3" "$G/devices/demo/actuators/led")" = 200 ] || return 1
    cmp -s "$TMP/r1" "$TMP/r3" && grep -q "actuators/led 200 .* revalidated$" "$TMP/gw.log"
}
check "cache: a stale entry is revalidated with its ETag (2.03 refreshes it)" revalidate

# Hits are answered with a response built once per Max-Age value (issue
# #19): the same headers as the device's own answer (Date and the order
# aside), max-age counting down, HEAD with the same length.
headers_of() { grep -v -i '^date:' "$TMP/headers" | tr -d '\r' | sed '/^$/d' | sort >"$1"; }
cache_headers() {
    local led="$G/devices/demo/actuators/led" n # Max-Age 2, an ETag
    status "$TMP/h1" -H 'Cache-Control: no-cache' "$led" >/dev/null
    headers_of "$TMP/hd1"
    status "$TMP/h2" "$led" >/dev/null
    headers_of "$TMP/hd2"
    status "$TMP/h3" "$led" >/dev/null
    headers_of "$TMP/hd3"
    cmp -s "$TMP/h1" "$TMP/h3" && cmp -s "$TMP/hd2" "$TMP/hd3" || { echo "hits differ" >&2; return 1; }
    diff <(grep -v -i '^cache-control:' "$TMP/hd1") <(grep -v -i '^cache-control:' "$TMP/hd2") >&2 ||
        return 1
    grep -qx 'Cache-Control: max-age=[12]' "$TMP/hd2" || { cat "$TMP/hd2" >&2; return 1; }
    [ "$(status /dev/null -I "$led")" = 200 ] || return 1
    grep -qi "^content-length: $(wc -c <"$TMP/h1")" "$TMP/headers" || { echo HEAD >&2; return 1; }
    n=$(grep -c "GET /actuators/led from" "$TMP/sim.log")
    sleep 1.1 # one second less of freshness: built again (or stale by now on a loaded machine)
    status "$TMP/h5" "$led" >/dev/null
    hdr Cache-Control | grep -qx 'max-age=1' ||
        { [ "$(grep -c "GET /actuators/led from" "$TMP/sim.log")" -gt "$n" ] &&
            hdr Cache-Control | grep -qx 'max-age=2'; }
}
check "cache: hits carry the device answer's headers, max-age counting down, HEAD" cache_headers

invalidate() {
    curl -s -o /dev/null -X PUT -H 'Content-Type: text/plain' -d off "$G/devices/demo/actuators/led"
    [ "$(curl -s "$G/devices/demo/actuators/led")" = off ] || return 1
    [ "$(curl -s "$G/devices/demo/actuators/led")" = off ] || return 1 # now cached
    curl -s -o /dev/null -X PUT -H 'Content-Type: text/plain' -d on "$G/devices/demo/actuators/led"
    [ "$(curl -s "$G/devices/demo/actuators/led")" = on ] # the PUT dropped the cached "off"
}
check "cache: an unsafe method invalidates the cached entry" invalidate

cache_bytes() {
    # cache.max_bytes is 100000: one 64 KiB firmware fits, a second variant
    # (another Accept) pushes the least recently used one out
    local fw="$G/devices/demo/firmware" n
    curl -s -o /dev/null -H 'Cache-Control: no-cache' "$fw" # fetched and kept
    n=$(grep -c "GET /firmware from" "$TMP/sim.log")
    curl -s -o /dev/null "$fw" # from the cache
    [ "$(grep -c "GET /firmware from" "$TMP/sim.log")" -eq "$n" ] || return 1
    curl -s -o /dev/null -H 'Accept: application/octet-stream' "$fw" # kept: the first goes
    n=$(grep -c "GET /firmware from" "$TMP/sim.log")
    curl -s -o /dev/null "$fw" # from the device again
    [ "$(grep -c "GET /firmware from" "$TMP/sim.log")" -gt "$n" ]
}
check "cache: cache.max_bytes bounds the bodies kept, least recently used out first" cache_bytes

libcoap() {
    [ "$(status "$TMP/l1" "$G/devices/lib/")" = 200 ] && grep -q "test server" "$TMP/l1"
}
check "GET through to libcoap's server" libcoap

coalesce() {
    local i pids=()
    for i in 1 2 3 4 5; do
        curl -s -o "$TMP/slow$i" -D "$TMP/slowh$i" "$G/devices/demo/slow" &
        pids+=($!)
    done
    wait "${pids[@]}"
    for i in 1 2 3 4 5; do [ "$(cat "$TMP/slow$i")" = finally ] || return 1; done
    # one answer built for all five (issue #19): the same headers, Date aside
    for i in 1 2 3 4 5; do
        grep -v -i '^date:' "$TMP/slowh$i" | tr -d '\r' | sort >"$TMP/slowh$i.s"
        cmp -s "$TMP/slowh1.s" "$TMP/slowh$i.s" || return 1
    done
    grep -qi '^content-type: text/plain' "$TMP/slowh1.s" && grep -qi '^cache-control:' "$TMP/slowh1.s" &&
        grep -qi '^content-security-policy:' "$TMP/slowh1.s" || return 1
    [ "$(grep -c "GET /slow" "$TMP/sim.log")" -eq 1 ]
}
check "five identical GETs in flight share one CoAP exchange, with the same answer" coalesce

errors() {
    [ "$(status "$TMP/e1" "$G/devices/silent/x")" = 504 ] || return 1
    [ "$(status "$TMP/e2" "$G/devices/rst/x")" = 502 ] || return 1
    local dead
    dead=$(free_port)
    [ "$(status "$TMP/e3" "$G/hc/coap://127.0.0.1:$dead/x")" = 502 ] || return 1
    [ "$(status "$TMP/e4" "$G/hc/coap://[::1/x")" = 400 ] || return 1
    [ "$(status "$TMP/e5" "$G/hc/http://127.0.0.1/x")" = 400 ] || return 1
    [ "$(status "$TMP/e6" "$G/devices/nosuch/x")" = 404 ] || return 1
    head -c 300000 /dev/zero >"$TMP/big"
    [ "$(status "$TMP/e7" -X PUT --data-binary @"$TMP/big" "$G/devices/demo/echo")" = 413 ] || return 1
    [ "$(status "$TMP/e8" "$G/hc/")" = 400 ] || return 1
    grep -q "did not answer" "$TMP/e1" && grep -q "RST" "$TMP/e2" && grep -q "unknown device" "$TMP/e6"
}
check "errors: 504 silent, 502 RST, 502 ICMP, 400 bad URI/scheme, 404 device, 413 body" errors

flags() {
    # every flag parses (--version, last, exits 0 after the others were read)
    "$BUILD/coapgw" --http-conn-memory 4096 --allow-origin http://127.0.0.1:9 \
        --allow-target 10.9.0.0/16 --coap-nstart 4 --log-level warn --version | grep -q coapgw || return 1
    local rc=0
    "$BUILD/coapgw" --no-such-flag x 2>"$TMP/flag.err" || rc=$?
    [ $rc -eq 2 ] && grep -q "unknown option" "$TMP/flag.err" || return 1
    rc=0
    "$BUILD/coapgw" --http-conn-memory 100 --version 2>/dev/null || rc=$?
    [ $rc -eq 2 ]
}
check "command-line flags parse; unknown or bad ones exit 2" flags

wellknown() {
    [ "$(curl -s "$G/.well-known/core")" = '</hc/>;rt="core.hc";hct="/hc/{+tu}"' ]
}
check "/.well-known/core advertises the /hc/ template" wellknown

stop gw
finish
