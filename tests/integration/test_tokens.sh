#!/usr/bin/env bash
# Access tokens (RFC 6750 bearer tokens, docs/api.md): 401 without or with
# a wrong token (and WWW-Authenticate), 403 for a read-only token writing,
# access_token in the URL on event streams and the page only (and never
# forwarded to the device), the probes open, JSON errors under /api/.
. "$(dirname "$0")/lib.sh"
need curl python3
SIM_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
READ=r3ad-0nly.token_~x
WRITE=wr1te/token+abc=
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 300
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "tokens": [ { "token": "$READ", "name": "dashboard" },
              { "token": "$WRITE", "name": "operator", "scope": "read-write" } ] }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post

status() { # status BODYFILE CURL-ARGS...: the HTTP status; headers in $TMP/headers
    local out=$1
    shift
    curl -g -s -o "$out" -D "$TMP/headers" -w '%{http_code}' "$@"
}
hdr() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
T=/devices/demo/sensors/temperature

without_token() {
    [ "$(status "$TMP/a1" "$G$T")" = 401 ] || return 1
    [ "$(hdr WWW-Authenticate)" = 'Bearer realm="coapgw"' ] || return 1
    [ "$(status "$TMP/a2" -H "Authorization: Basic dXNlcjpwYXNz" "$G$T")" = 401 ] || return 1
    [ "$(status "$TMP/a3" -X PUT -d on "$G/devices/demo/actuators/led")" = 401 ] || return 1
    # the page, its assets and /help load without one (a browser cannot add a token
    # to <script src>); the page sends its token on what it fetches
    [ "$(status "$TMP/a4" "$G/")" = 200 ] && [ "$(status "$TMP/a7" "$G/app.js")" = 200 ] || return 1
    [ "$(status "$TMP/a8" "$G/help")" = 200 ] || return 1 # static text, no data
    [ "$(status "$TMP/a5" "$G/events?target=$T")" = 401 ] || return 1
    # under /api/ the error is JSON
    [ "$(status "$TMP/a6" "$G/api/devices")" = 401 ] && [ "$(hdr Content-Type)" = application/json ] || return 1
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["status"] != 401)' "$TMP/a6"
}
check "401 and WWW-Authenticate: Bearer without a token" without_token

wrong_token() {
    [ "$(status "$TMP/b1" -H "Authorization: Bearer nope" "$G$T")" = 401 ] || return 1
    [ "$(hdr WWW-Authenticate)" = 'Bearer realm="coapgw", error="invalid_token"' ] || return 1
    # a prefix of a token, a token with more after it, an empty one
    [ "$(status "$TMP/b2" -H "Authorization: Bearer ${READ%?}" "$G$T")" = 401 ] || return 1
    [ "$(status "$TMP/b3" -H "Authorization: Bearer ${READ}x" "$G$T")" = 401 ] || return 1
    [ "$(status "$TMP/b4" -H "Authorization: Bearer " "$G$T")" = 401 ] || return 1
    local long
    long=$(head -c 3000 /dev/zero | tr '\0' a)
    [ "$(status "$TMP/b5" -H "Authorization: Bearer $long" "$G$T")" = 401 ]
}
check "401 with error=\"invalid_token\" for a wrong token" wrong_token

read_token() {
    [ "$(status "$TMP/c1" -H "Authorization: Bearer $READ" "$G$T")" = 200 ] || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/c1" || return 1
    # the scheme is case-insensitive (RFC 9110 §11.1)
    [ "$(status "$TMP/c2" -H "Authorization: bearer $READ" "$G/api/devices")" = 200 ] || return 1
    [ "$(status "$TMP/c3" -I -H "Authorization: Bearer $READ" "$G$T")" = 200 ] || return 1
    [ "$(status "$TMP/c4" -X OPTIONS -H "Authorization: Bearer $READ" "$G$T")" = 204 ]
}
check "a read-only token reads: GET, HEAD, OPTIONS, the API" read_token

read_token_writes() {
    [ "$(status "$TMP/d1" -X PUT -H 'Content-Type: text/plain' -d on \
        -H "Authorization: Bearer $READ" "$G/devices/demo/actuators/led")" = 403 ] || return 1
    [ "$(hdr WWW-Authenticate)" = 'Bearer realm="coapgw", error="insufficient_scope"' ] || return 1
    grep -q "read-only" "$TMP/d1" || return 1
    [ "$(status "$TMP/d2" -X POST -H 'Content-Type: text/plain' -d x \
        -H "Authorization: Bearer $READ" "$G/devices/demo/echo")" = 403 ] || return 1
    [ "$(status "$TMP/d3" -X DELETE -H "Authorization: Bearer $READ" "$G/api/devices/demo")" = 403 ] || return 1
    [ "$(hdr Content-Type)" = application/json ]
}
check "403 with error=\"insufficient_scope\" for a read-only token writing" read_token_writes

write_token() {
    [ "$(status "$TMP/e1" -X PUT -H 'Content-Type: text/plain' -d on \
        -H "Authorization: Bearer $WRITE" "$G/devices/demo/actuators/led")" = 204 ] || return 1
    [ "$(status "$TMP/e2" -H "Authorization: Bearer $WRITE" "$G/devices/demo/actuators/led")" = 200 ] || return 1
    [ "$(cat "$TMP/e2")" = on ]
}
check "a read-write token writes (PUT 2xx) and reads" write_token

sse_query_token() {
    # EventSource cannot send headers: ?access_token= on /events ...
    curl -s -N --max-time 4 "$G/events?target=$T&access_token=$READ" >"$TMP/f1" || true
    grep -q '^event: notification' "$TMP/f1" || return 1
    # ... and on a device URL asked for as a stream; the token does not reach the device
    curl -s -N --max-time 4 -H 'Accept: text/event-stream' "$G$T?access_token=$READ" >"$TMP/f2" || true
    grep -q '^event: notification' "$TMP/f2" || return 1
    ! grep -q access_token "$TMP/f2" || return 1
    # the page takes it too
    [ "$(status "$TMP/f3" "$G/?access_token=$READ")" = 200 ] || return 1
    [ "$(status "$TMP/f4" "$G/events?target=$T&access_token=wrong")" = 401 ]
}
check "access_token in the URL on streams (/events, Accept: text/event-stream) and the page" sse_query_token

query_token_refused() {
    [ "$(status "$TMP/g1" "$G$T?access_token=$READ")" = 401 ] || return 1
    hdr WWW-Authenticate | grep -q 'error="invalid_request"' || return 1
    [ "$(status "$TMP/g2" "$G/api/devices?access_token=$READ")" = 401 ] || return 1
    [ "$(status "$TMP/g3" -X PUT -d on "$G/devices/demo/actuators/led?access_token=$WRITE")" = 401 ] || return 1
    # with the header, a stray access_token parameter is dropped, not forwarded
    [ "$(status "$TMP/g4" -H "Authorization: Bearer $READ" "$G/devices/demo/sensors/humidity?access_token=$READ")" = 200 ] || return 1
    grep -q 'GET /devices/demo/sensors/humidity -> coap://[0-9.:]*/sensors/humidity 200' "$TMP/gw.log"
}
check "access_token in the URL is refused elsewhere (401) and never forwarded" query_token_refused

probes_open() {
    [ "$(status "$TMP/h1" "$G/healthz")" = 200 ]
}
check "/healthz needs no token" probes_open

reloaded() {
    # SIGHUP replaces the tokens: the next request sees the new ones
    local new=n3w-t0ken-after-reload
    sed -i "s|\"$READ\"|\"$new\"|" "$TMP/gw.json"
    kill -HUP "$PID_gw"
    wait_for "the new token" curl -sf -o /dev/null -H "Authorization: Bearer $new" "$G$T" || return 1
    [ "$(status "$TMP/i1" -H "Authorization: Bearer $READ" "$G$T")" = 401 ] || return 1
    [ "$(status "$TMP/i2" -X PUT -H 'Content-Type: text/plain' -d on \
        -H "Authorization: Bearer $new" "$G/devices/demo/actuators/led")" = 403 ]
}
check "a reload (SIGHUP) replaces the tokens" reloaded

bad_config() {
    local rc=0
    printf '{ "tokens": [ { "token": "has space, sixteen+" } ] }' >"$TMP/bad.json"
    "$BUILD/coapgw" --config "$TMP/bad.json" >"$TMP/bad.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q 'tokens\[0\]' "$TMP/bad.out"
}
check "a malformed token in the configuration stops the gateway (exit 2)" bad_config

finish
