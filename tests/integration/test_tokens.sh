#!/usr/bin/env bash
# Access tokens (RFC 6750 bearer tokens, docs/api.md): 401 without or with
# a wrong token (and WWW-Authenticate), 403 for a read-only token writing,
# access_token in the URL on event streams and the page only (and never
# forwarded to the device), one method per request (400), the probes open,
# JSON errors under /api/; a reload ends the event streams of revoked tokens
# (and, once tokens appear, the streams opened without one); a second
# gateway cannot share the HTTP port.
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
    # on a stream, the parameter is never forwarded either
    grep -q 'GET /devices/demo/sensors/temperature -> coap://[0-9.:]*/sensors/temperature' "$TMP/gw.log" || return 1
    ! grep -q 'sensors/temperature?access_token' "$TMP/gw.log"
}
check "access_token in the URL is refused elsewhere (401) and never forwarded" query_token_refused

two_methods() {
    # RFC 6750 §2: one method per request; the header and the parameter is a 400
    [ "$(status "$TMP/m1" -H "Authorization: Bearer $READ" "$G/devices/demo/sensors/humidity?access_token=$READ")" = 400 ] || return 1
    [ "$(hdr WWW-Authenticate)" = 'Bearer realm="coapgw", error="invalid_request"' ] || return 1
    [ "$(status "$TMP/m2" -H "Authorization: Bearer $READ" "$G/events?target=$T&access_token=$READ")" = 400 ] || return 1
    [ "$(status "$TMP/m3" -H "Authorization: Bearer $READ" "$G/api/devices?access_token=x")" = 400 ] || return 1
    [ "$(hdr Content-Type)" = application/json ] || return 1
    ! grep -q "$READ" "$TMP/m1" "$TMP/m3"
}
check "a token in both the header and access_token: 400 error=\"invalid_request\"" two_methods

probes_open() {
    [ "$(status "$TMP/h1" "$G/healthz")" = 200 ]
}
check "/healthz needs no token" probes_open

NEW=n3w-t0ken-after-reload
reloaded() {
    # SIGHUP replaces the tokens: the next request sees the new ones
    local new=$NEW
    sed -i "s|\"$READ\"|\"$new\"|" "$TMP/gw.json"
    kill -HUP "$PID_gw"
    wait_for "the new token" curl -sf -o /dev/null -H "Authorization: Bearer $new" "$G$T" || return 1
    [ "$(status "$TMP/i1" -H "Authorization: Bearer $READ" "$G$T")" = 401 ] || return 1
    [ "$(status "$TMP/i2" -X PUT -H 'Content-Type: text/plain' -d on \
        -H "Authorization: Bearer $new" "$G/devices/demo/actuators/led")" = 403 ]
}
check "a reload (SIGHUP) replaces the tokens" reloaded

notified() { # notified NAME...: each stream's log holds a notification
    local n
    for n in "$@"; do grep -q '^event: notification' "$TMP/$n.log" || return 1; done
}
ended() { ! kill -0 "$1" 2>/dev/null; }
# ended_401 NAME: the stream got {"status":401,...} as `event: error`, then closed
ended_401() {
    local var="PID_$1"
    wait_for "stream $1 to close" ended "${!var}" || return 1
    grep -A1 '^event: error$' "$TMP/$1.log" | grep -q '^data: {"status":401,"message":"' || return 1
    [ "$(tail -c 2 "$TMP/$1.log" | od -An -c | tr -d ' ')" = '\n\n' ] # a whole event last
}

revoked_streams() {
    # streams opened with a token that a reload removes end; the others go on
    start rs_gone timeout 40 curl -sN "$G/events?target=$T&access_token=$NEW"
    start rs_gone2 timeout 40 curl -sN -H "Authorization: Bearer $NEW" -H 'Accept: text/event-stream' "$G$T"
    start rs_kept timeout 40 curl -sN -H "Authorization: Bearer $WRITE" "$G/events?target=$T"
    wait_for "notifications on the streams" notified rs_gone rs_gone2 rs_kept || return 1
    sed -i "s|\"$NEW\"|\"an0ther-read-t0ken\"|" "$TMP/gw.json"
    kill -HUP "$PID_gw"
    ended_401 rs_gone && ended_401 rs_gone2 || return 1
    ! grep -q "$NEW" "$TMP/rs_gone.log" "$TMP/rs_gone2.log" || return 1
    grep -q 'reload: 2 event stream(s) closed: token revoked' "$TMP/gw.log" || return 1
    local before
    before=$(grep -c '^event: notification' "$TMP/rs_kept.log")
    sleep 1.5 # notifications every 0.3 s
    kill -0 "$PID_rs_kept" && [ "$(grep -c '^event: notification' "$TMP/rs_kept.log")" -gt "$before" ] || return 1
    ! grep -q '^event: error' "$TMP/rs_kept.log" || return 1
    stop rs_kept
}
check "SIGHUP: a stream of a removed token gets event: error 401 and closes; others go on" revoked_streams

# --- a gateway without tokens, then with ---
HTTP2=$(free_port tcp)
G2=http://127.0.0.1:$HTTP2
open_config() {
    cat <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP2" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } $1 }
JSON
}
open_config "" >"$TMP/gw2.json"
start gw2 "$BUILD/coapgw" --config "$TMP/gw2.json" --log-level debug
wait_for "coapgw 2" curl -sf "$G2/healthz"

tokens_appear() {
    start os1 timeout 40 curl -sN "$G2/events?target=$T"
    wait_for "a notification" notified os1 || return 1
    open_config ", \"tokens\": [ { \"token\": \"$READ\" } ]" >"$TMP/gw2.json"
    kill -HUP "$PID_gw2"
    ended_401 os1 || return 1
    [ "$(status "$TMP/o1" "$G2$T")" = 401 ]
}
check "SIGHUP: tokens where there were none end the streams opened without one" tokens_appear

second_instance() {
    # no SO_REUSEPORT: a second gateway (here without tokens) cannot take the port
    local rc=0
    timeout 20 "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP2" --coap-listen 127.0.0.1:0 \
        >"$TMP/second.out" 2>&1 || rc=$?
    [ $rc -eq 1 ] || { echo "exit $rc"; return 1; }
    grep -q "^coapgw: cannot listen for HTTP on 127.0.0.1:$HTTP2: address in use$" "$TMP/second.out" || return 1
    local i
    for i in 1 2 3 4 5 6; do # every request still meets the first gateway's tokens
        [ "$(status "$TMP/p$i" "$G2$T")" = 401 ] || return 1
    done
}
check "a second gateway on the same HTTP port exits 1: address in use" second_instance

bad_config() {
    local rc=0
    printf '{ "tokens": [ { "token": "has space, sixteen+" } ] }' >"$TMP/bad.json"
    "$BUILD/coapgw" --config "$TMP/bad.json" >"$TMP/bad.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q 'tokens\[0\]' "$TMP/bad.out"
}
check "a malformed token in the configuration stops the gateway (exit 2)" bad_config

finish
