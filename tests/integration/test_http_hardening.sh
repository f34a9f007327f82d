#!/usr/bin/env bash
# The HTTP front end against hostile clients and devices (issue #13; rows of
# docs/security.md, "HTTP side"): the sandboxing headers on every proxied
# answer and stream, active device content as a download, the Host check
# (DNS rebinding), unsafe cross-site requests (CSRF), Location-Path mapped
# under the gateway's own URLs, the request header deadline (slowloris) and
# the connection limit per address. The browser's side of active content is
# in test_browser.sh.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
SILENT_PORT=$(free_port)
XHTML_PORT=$(free_port)
LOC_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500
start silent python3 "$HERE/udp_peer.py" silent "$SILENT_PORT"
start xhtml python3 "$HERE/udp_peer.py" xhtml "$XHTML_PORT"
start loc python3 "$HERE/udp_peer.py" location "$LOC_PORT"
# udp_bound PORT: a peer has bound it (binding it again fails)
udp_bound() {
    ! python3 -c 'import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
for p in "$SILENT_PORT" "$XHTML_PORT" "$LOC_PORT"; do wait_for "the peer on $p" udp_bound "$p"; done
# gw_json EXTRA: the configuration, with EXTRA keys in "http"
gw_json() {
    cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT", "header_timeout_ms": 1000 $1 },
  "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "silent": "coap://127.0.0.1:$SILENT_PORT",
               "evil": "coap://127.0.0.1:$XHTML_PORT", "loc": "coap://127.0.0.1:$LOC_PORT",
               "locb": "coap://127.0.0.1:$LOC_PORT/base", "locx": "coap://127.0.0.1:$LOC_PORT/other" },
  "proxy": { "timeout_ms": 1000 } }
JSON
}
gw_json ""
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"
reloads() { grep -c 'configuration reloaded' "$TMP/gw.log" || true; }
more_reloads_than() { [ "$(reloads)" -gt "$1" ]; }
# reload EXTRA: new "http" keys through SIGHUP, waits until applied
reload() {
    local n
    n=$(reloads)
    gw_json "$1"
    kill -HUP "$PID_gw"
    wait_for "the reload" more_reloads_than "$n"
}

# --- what a browser may do with a device's bytes --------------------------
sandboxed() { # the headers of the last `status`
    [ "$(hdr X-Content-Type-Options)" = nosniff ] &&
        [ "$(hdr Content-Security-Policy)" = "default-src 'none'; sandbox" ]
}
sandbox_headers() {
    local url code
    for url in "200 /devices/demo/sensors/temperature" "200 /hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature" \
        "404 /devices/nosuch/x" "504 /devices/silent/x" "403 /hc/coap://not-allowed.example/x" \
        "400 /hc/http://127.0.0.1/x" "400 /events" "405 /api/devices"; do
        code=${url%% *}
        [ "$(status "$TMP/b" -X "$([ "$code" = 405 ] && echo DELETE || echo GET)" "$G${url#* }")" = "$code" ] ||
            { echo "  ${url#* }: not $code"; return 1; }
        sandboxed || { echo "  ${url#* }: headers missing"; return 1; }
    done
}
check "nosniff and CSP sandbox on /devices, /hc and error answers (404, 504, 403, 400, 405)" sandbox_headers

sse_headers() {
    local url
    for url in "/devices/demo/sensors/temperature" "/events?target=/devices/demo/sensors/humidity"; do
        curl -s -o /dev/null -D "$TMP/headers" -m 1 -H 'Accept: text/event-stream' "$G$url" || true
        grep -qi '^content-type: text/event-stream' "$TMP/headers" || return 1
        sandboxed || { echo "  $url: headers missing"; return 1; }
        [ "$(grep -ci '^content-security-policy:' "$TMP/headers")" = 1 ] || return 1 # once
    done
}
check "event streams (Accept: text/event-stream, /events) carry them too, once" sse_headers

page_keeps_its_policy() {
    [ "$(status "$TMP/p" "$G/")" = 200 ] || return 1
    [ "$(grep -ci '^content-security-policy:' "$TMP/headers")" = 1 ] || return 1
    hdr Content-Security-Policy | grep -q "^default-src 'self'"
}
check "the page keeps its own policy (default-src 'self'), alone" page_keeps_its_policy

attachment() {
    local url
    for url in /devices/evil/page "/hc/coap://127.0.0.1:$XHTML_PORT/page" /devices/evil/page; do # the last from the cache
        [ "$(status "$TMP/x" "$G$url")" = 200 ] || return 1
        grep -q '<script>' "$TMP/x" || return 1
        [ "$(hdr Content-Type)" = application/xml ] && [ "$(hdr Content-Disposition)" = attachment ] &&
            sandboxed || { echo "  $url"; return 1; }
    done
    [ "$(status "$TMP/t" "$G/devices/demo/sensors/temperature")" = 200 ] || return 1
    [ -z "$(hdr Content-Disposition)" ] # text is shown inline
}
check "a device's XML (CF 41) is served as an attachment, from the device and from the cache" attachment

# --- Host (DNS rebinding) ----------------------------------------------------
T=/devices/demo/sensors/temperature
host_is() { # host_is STATUS HOST-HEADER...
    local want=$1 h
    shift
    for h in "$@"; do
        [ "$(status "$TMP/h" -H "Host: $h" "$G$T")" = "$want" ] || { echo "  Host: $h: not $want"; return 1; }
    done
}
hosts() {
    host_is 421 attacker.example "attacker.example:$HTTP_PORT" gw.example localhost.attacker.example || return 1
    grep -q 'http.allowed_hosts' "$TMP/h" && sandboxed || return 1
    host_is 200 "127.0.0.1:$HTTP_PORT" 127.0.0.2 "[::1]:$HTTP_PORT" "[::ffff:127.0.0.1]" localhost "localhost:$HTTP_PORT" \
        "app.localhost:$HTTP_PORT" || return 1
    [ "$(status "$TMP/h0" -0 -H 'Host:' "$G$T")" = 200 ] # HTTP/1.0 without Host
}
check "Host: a name not allowed gets 421 naming http.allowed_hosts; IP literals, localhost, none: 200" hosts

allowed_hosts() {
    reload ', "allowed_hosts": ["gw.example", "*.lan.example"]' || return 1
    host_is 200 gw.example "GW.Example:$HTTP_PORT" a.lan.example || return 1
    host_is 421 attacker.example lan.example || return 1
    reload ', "allowed_hosts": ["*"]' || return 1
    host_is 200 attacker.example || return 1
    reload "" || return 1
    host_is 421 gw.example
}
check "http.allowed_hosts: names, *.domain, \"*\"; SIGHUP applies it" allowed_hosts

# --- unsafe cross-site requests (CSRF) ---------------------------------------
post() { # post STATUS CURL-ARGS...: POST text/plain to demo's echo
    local want=$1
    shift
    [ "$(status "$TMP/c" -X POST -H 'Content-Type: text/plain' -d hi "$@" "$G/devices/demo/echo")" = "$want" ] ||
        { echo "  $*: not $want"; return 1; }
}
cross_site() {
    post 403 -H 'Sec-Fetch-Site: cross-site' -H 'Origin: http://evil.example' || return 1
    grep -q 'http.trusted_origins' "$TMP/c" && sandboxed || return 1
    post 403 -H 'Origin: http://evil.example' || return 1
    post 403 -H 'Origin: null' || return 1
    post 403 -H "Origin: http://127.0.0.1:$((HTTP_PORT + 1))" || return 1
    post 403 -H 'Sec-Fetch-Site: same-site' -H "Origin: http://localhost:$HTTP_PORT" || return 1
    [ "$(status "$TMP/c2" -X DELETE -H 'Origin: http://evil.example' "$G/devices/demo/x")" = 403 ] || return 1
    [ "$(status "$TMP/c3" -X POST -H 'Origin: http://evil.example' "$G/api/devices")" = 403 ] || return 1
    post 200 -H 'Sec-Fetch-Site: same-origin' -H "Origin: http://127.0.0.1:$HTTP_PORT" || return 1
    post 200 -H "Origin: http://127.0.0.1:$HTTP_PORT" || return 1
    post 200 || return 1 # curl: no Origin
    [ "$(cat "$TMP/c")" = hi ] || return 1
    [ "$(status "$TMP/c4" -H 'Sec-Fetch-Site: cross-site' -H 'Origin: http://evil.example' "$G$T")" = 200 ] # GET is safe
}
check "cross-site POST/DELETE (Sec-Fetch-Site or a foreign Origin, null too) get 403; same-origin and GET pass" cross_site

trusted_origins() {
    reload ', "trusted_origins": ["http://dash.example:9000"]' || return 1
    post 200 -H 'Sec-Fetch-Site: cross-site' -H 'Origin: http://DASH.example:9000' || return 1
    post 403 -H 'Sec-Fetch-Site: cross-site' -H 'Origin: http://dash.example:9001' || return 1
    reload "" || return 1
    post 403 -H 'Sec-Fetch-Site: cross-site' -H 'Origin: http://dash.example:9000'
}
check "http.trusted_origins lets one origin through; SIGHUP applies it" trusted_origins

# --- Location-Path ------------------------------------------------------------
location_is() { # location_is PATH WANT: POST to PATH, its Location
    [ "$(status "$TMP/l" -X POST "$G$1")" = 201 ] || { echo "  $1: not 201"; return 1; }
    [ "$(hdr Location)" = "$2" ] || { echo "  $1: Location $(hdr Location)"; return 1; }
}
locations() {
    location_is /devices/loc/a "/devices/loc//evil.example/x" || return 1
    location_is "/hc/coap://127.0.0.1:$LOC_PORT/a" "/hc/coap://127.0.0.1:$LOC_PORT//evil.example/x" || return 1
    location_is /devices/locx/a "/hc/coap://127.0.0.1:$LOC_PORT//evil.example/x" || return 1
    location_is /devices/locb/q "/devices/locb/new%20item/a%2Fb?x=1%262&y" || return 1
    location_is "/hc/coap://127.0.0.1:$LOC_PORT/base/q" \
        "/hc/coap://127.0.0.1:$LOC_PORT/base/new%20item/a%2Fb?x=1%262&y"
}
check "Location-Path \"\", evil.example, x: under /devices/NAME or /hc/, never //evil.example" locations

# --- connections ---------------------------------------------------------------
slowloris() {
    start slow_sse timeout 5 curl -sN -H 'Accept: text/event-stream' "$G$T"
    sleep 0.5
    python3 "$HERE/http_conns.py" slowloris "$HTTP_PORT" 5 3.5 >"$TMP/slow.out"
    sed 's/^/    /' "$TMP/slow.out"
    local rc=0
    wait "$PID_slow_sse" || rc=$?
    [ "$rc" = 124 ] || { echo "  the event stream ended ($rc)"; return 1; } # still open at its timeout
    [ "$(grep -c '^event: notification' "$TMP/slow_sse.log")" -ge 7 ] || return 1
    [ "$(grep -c '^trickle closed after [01]\.[0-9]*$' "$TMP/slow.out")" = 5 ] || return 1 # 1.0 to 1.99 s
    grep -Eq '^keepalive ([0-9]+)/\1 same-connection$' "$TMP/slow.out" || return 1
    grep -q 'closed: request header not complete within 1000 ms' "$TMP/gw.log"
}
check "slowloris: headers trickled past header_timeout_ms (1 s) are closed; a stream and a keep-alive client go on" slowloris

# A second gateway: 4 connections per address, tokens.
HTTP2=$(free_port tcp)
TOKEN=rw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
cat >"$TMP/gw2.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP2", "max_connections_per_ip": 4 },
  "coap": { "listen": "127.0.0.1:0" }, "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "tokens": [ { "token": "$TOKEN", "scope": "read-write" } ] }
JSON
start gw2 "$BUILD/coapgw" --config "$TMP/gw2.json" --log-level debug
G2=http://127.0.0.1:$HTTP2
wait_for "the second coapgw" curl -sf "$G2/healthz"

per_ip() {
    python3 "$HERE/http_conns.py" per_ip "$HTTP2" 4 >"$TMP/perip.out"
    sed 's/^/    /' "$TMP/perip.out"
    grep -qx 'extra refused' "$TMP/perip.out" && grep -qx 'held answered 4/4' "$TMP/perip.out"
}
check "http.max_connections_per_ip 4: a fifth connection is refused, the four are served" per_ip

before_tokens() {
    [ "$(status "$TMP/t1" -X POST -H 'Origin: http://evil.example' "$G2/devices/demo/echo")" = 403 ] || return 1
    grep -q 'http.trusted_origins' "$TMP/t1" || return 1
    [ "$(status "$TMP/t2" -X POST -H "Origin: $G2" "$G2/devices/demo/echo")" = 401 ] || return 1
    [ "$(status "$TMP/t3" -H 'Host: attacker.example' -H "Authorization: Bearer $TOKEN" "$G2$T")" = 421 ]
}
check "with tokens: the Host and cross-site checks come first (421/403, not 401)" before_tokens

stop gw
stop gw2
finish
