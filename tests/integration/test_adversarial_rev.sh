#!/usr/bin/env bash
# Adversarial pass over what the reverse proxy keeps between requests
# (issue #19): curl easy handles reused without a reset, the last Proxy-Uri
# parses, the forward states, and the HTTP server's one-run unsuspended
# wait. A CoAP client on loopback (libcoap's coap-client-notls) sends
# Proxy-Uri requests; an origin logs what reaches it (log_origin.py); raw
# HTTP clients (http_burst.py) reach a device (coapgw-sim) through the
# HTTP side.
. "$(dirname "$0")/lib.sh"
need coap-client-notls python3 curl
HERE=$(cd "$(dirname "$0")" && pwd)
ORIGIN=$(free_port tcp)
OTHER=$(free_port tcp)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
SIM_PORT=$(free_port)
SILENT=$(free_port) # a device that never answers
start origin python3 "$HERE/log_origin.py" "$ORIGIN"
start other python3 "$HERE/log_origin.py" "$OTHER" # not in the allowlist
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 500
start silent python3 -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $SILENT))
time.sleep(300)"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "silent": "coap://127.0.0.1:$SILENT" },
  "proxy": { "allow_origins": ["http://127.0.0.1:$ORIGIN"], "timeout_ms": 3000,
             "max_redirects": 2 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
wait_for "coapgw" curl -sf "http://127.0.0.1:$HTTP_PORT/healthz"
wait_for "origin" curl -sf "http://127.0.0.1:$ORIGIN/up"
wait_for "other origin" curl -sf "http://127.0.0.1:$OTHER/up"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post
O=http://127.0.0.1:$ORIGIN

# ask URL [coap-client args]: the response code and payload, one line
ask() {
    local url=$1
    shift
    coap-client-notls -v 6 -B 5 "$@" -P "coap://127.0.0.1:$GW_COAP" "$url" >"$TMP/ask" 2>&1 || true
    local code
    code=$(grep -o 'c:[0-9]\.[0-9][0-9]' "$TMP/ask" | tail -1 | cut -c3- || true)
    echo "$code $(grep -v '^v:\|^[A-Z][a-z][a-z] [0-9]' "$TMP/ask" | tr -d '\n' || true)"
}
# seen PATH: the origin's log line of the last request to PATH
seen() { grep "^REQ [A-Z]* $1 " "$TMP/origin.log" | tail -1; }

# --- 1. kept curl handles (http/client.c, http/call.c) ---

# A plain GET's handle is kept without curl_easy_reset when it went out on
# a kept connection, and the next call takes it. After each request that
# sets something of its own (credentials in the URL, Accept and an ETag, a
# POST with a body and a type, a PUT, a DELETE), the plain GET that follows
# reaches the origin with none of it.
plain_after() { # plain_after PATH: the GET to PATH arrived bare
    local line
    [[ "$(ask "$O$1")" == "2.05 ok" ]] || return 1
    line=$(seen "$1")
    [[ "$line" == "REQ GET $1 [Host=127.0.0.1:$ORIGIN|Accept=*/*] body=b''" ]] || { echo "$line"; return 1; }
}
kept_handles() {
    ask "$O/k0" >/dev/null # the connection, so the next calls reuse it
    ask "http://user:secret@127.0.0.1:$ORIGIN/k1" >/dev/null
    [[ "$(seen /k1)" == *"Authorization=Basic"* ]] || { echo "k1: $(seen /k1)"; return 1; }
    plain_after /k1b || return 1
    ask "$O/k2" -A 50 -O 4,0xab12 >/dev/null
    [[ "$(seen /k2)" == *"Accept=application/json|If-None-Match"* ]] || { echo "k2: $(seen /k2)"; return 1; }
    plain_after /k2b || return 1
    ask "$O/k3" -m post -e postbody -t 0 >/dev/null
    [[ "$(seen /k3)" == *"Content-Type=text/plain"*"body=b'postbody'" ]] || { echo "k3: $(seen /k3)"; return 1; }
    plain_after /k3b || return 1
    ask "$O/k4" -m put -e putbody >/dev/null
    [ -n "$(seen /k4)" ] && plain_after /k4b || return 1
    ask "$O/k5" -m delete >/dev/null
    [ -n "$(seen /k5)" ] && plain_after /k5b
}
check "kept handles: credentials, Accept, If-None-Match, a POST's body and type, PUT, DELETE reach no later GET" kept_handles

# The Proxy-Uri's password is sent to the origin (above) but never logged:
# the log line names the request with "***" instead (http_url_shown).
password_not_logged() {
    grep -q "coap->http GET http://user:\*\*\*@127.0.0.1:$ORIGIN/k1 -> 200" "$TMP/gw.log" ||
        { echo "no redacted line: $(grep '/k1 ' "$TMP/gw.log")"; return 1; }
    ! grep -q "secret" "$TMP/gw.log" || { echo "logged: $(grep secret "$TMP/gw.log")"; return 1; }
}
check "a password in Proxy-Uri is not logged (user:***@)" password_not_logged

# --- 2. kept Proxy-Uri parses (http/url.c http_url_parse_memo) ---

# With the memo warm for the allowed origin's URI, URIs that differ from it
# in a way that names another origin are refused, and those that name the
# same origin another way are fetched there: the memo is found by the
# exact text only, and the origin checks run on every parse handed out.
memo_variants() {
    local got u
    ask "$O/m" >/dev/null
    ask "$O/m" >/dev/null # a memo hit
    for u in "http://127.0.0.2:$ORIGIN/m" "http://127.0.0.1.:$ORIGIN/m" \
        "http://127.0.0.1:$ORIGIN@127.0.0.2:$ORIGIN/m" "http://127.0.0.1:$((ORIGIN + 1))/m" \
        "http://[::ffff:127.0.0.1]:$ORIGIN/m" "ftp://127.0.0.1:$ORIGIN/m"; do
        got=$(ask "$u")
        [[ "$got" == 4.03* || "$got" == 5.05* ]] || { echo "$u: $got"; return 1; }
    done
    for u in "HTTP://127.0.0.1:$ORIGIN/m2" "http://127.0.0.1:0$ORIGIN/m3" "http://u@127.0.0.1:$ORIGIN/m4" \
        "http://2130706433:$ORIGIN/m5"; do
        got=$(ask "$u")
        [[ "$got" == "2.05 ok" ]] || { echo "$u: $got"; return 1; }
    done
    [ -n "$(seen /m4)" ] && [ -n "$(seen /m5)" ]
}
check "Proxy-Uri memo warm: another host, a trailing dot, userinfo naming another host, another port, a mapped address, another scheme: refused; case, a 0-padded port, userinfo, 127.0.0.1 as one number: the same origin" memo_variants

# A NUL byte in Proxy-Uri (no URI holds one, RFC 3986 §2): the memo and
# the fetch read the option as a C string, so the text after it would be
# dropped; the CoAP server refuses control bytes in it first.
nul_in_proxy_uri() {
    local got
    got=$(python3 "$HERE/coap_raw.py" --opt "35=$O/n1\\x00@127.0.0.2/" 127.0.0.1 127.0.0.1 "$GW_COAP")
    [[ "$got" == 4.00\ * ]] || { echo "got: $got"; return 1; } # 4.00
    [ -z "$(seen /n1)" ] || { echo "fetched: $(seen /n1)"; return 1; }
}
check "a NUL byte in Proxy-Uri: 4.00, nothing fetched" nul_in_proxy_uri

# A redirect to an origin not allowed, from a URI whose parse is in the
# memo (and whose connection and handle are kept): every hop is parsed
# anew and checked, the refused one is never fetched.
redirect_memo_warm() {
    local got u="$O/goto?u=http%3A%2F%2F127.0.0.1%3A$OTHER%2Fr"
    ask "$O/k0" >/dev/null
    for _ in 1 2; do
        got=$(ask "$u")
        [[ "$got" == 4.03*"redirect from"*refused* ]] || { echo "got: $got"; return 1; }
    done
    ! grep -q "^REQ GET /r " "$TMP/other.log" || { echo "fetched: $(cat "$TMP/other.log")"; return 1; }
}
check "a redirect to an origin not allowed, memo warm, twice: 4.03, never fetched" redirect_memo_warm

# --- 2b/3. a reload (SIGHUP) that removes the origin ---


# With its parse in the memo, a fresh answer in the cache and a kept-alive
# connection to it, an origin removed by a reload is refused at the very
# next request: nothing of the three is used.
reload_removes_origin() {
    local got before
    ask "$O/cached" >/dev/null
    [[ "$(ask "$O/cached")" == "2.05 ok" ]] || return 1
    [ "$(grep -c "^REQ GET /cached " "$TMP/origin.log")" = 1 ] || { echo "not cached"; return 1; }
    before=$(grep -c "^REQ " "$TMP/origin.log")
    sed -i "s#\"http://127.0.0.1:$ORIGIN\"#\"http://127.0.0.1:$((ORIGIN + 1))\"#" "$TMP/gw.json"
    reload || return 1
    for u in "$O/cached" "$O/k0" "$O/m"; do
        got=$(ask "$u")
        [[ "$got" == 4.03* ]] || { echo "$u: $got"; return 1; }
    done
    [ "$(grep -c "^REQ " "$TMP/origin.log")" = "$before" ] || { echo "fetched"; return 1; }
    sed -i "s#\"http://127.0.0.1:$((ORIGIN + 1))\"#\"http://127.0.0.1:$ORIGIN\"#" "$TMP/gw.json"
    reload && [[ "$(ask "$O/k0")" == "2.05 ok" ]]
}
check "SIGHUP removing the origin: its memoised parse, cached answer and kept connection are not used: 4.03 at once, nothing fetched" reload_removes_origin

# --- 4. the HTTP server's one-run unsuspended wait (http/server.c) ---

# Requests whose device answers within a loop turn go out without a
# suspend; those that reset their connection within 0-4 ms of sending
# (across that run), pipelined ones on one keep-alive connection (the
# first waiting while the next are already read), and many connections
# at once: each answer is its own request's, and the gateway lives on.
pipelined() { python3 "$HERE/http_burst.py" "$HTTP_PORT" pipeline 8; }
check "HTTP: 8 POSTs pipelined in one send on one connection: 8 answers, each its own body, in order" pipelined
resets() {
    python3 "$HERE/http_burst.py" "$HTTP_PORT" close 200 &&
        python3 "$HERE/http_burst.py" "$HTTP_PORT" many 60 &&
        curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null
}
check "HTTP: 200 clients resetting within 0-4 ms of their request, then 60 at once: the 60 answered, each with its own body" resets
head_and_stream() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$HTTP_PORT/devices/demo/echo")
    [ "$code" = 400 ] || { echo "HEAD: $code"; return 1; } # 4.05 from the device
    timeout 3 curl -sN -H 'Accept: text/event-stream' \
        "http://127.0.0.1:$HTTP_PORT/devices/demo/sensors/temperature?observe" >"$TMP/sse" || true
    grep -q '^data:' "$TMP/sse" || { echo "stream: $(head -c 300 "$TMP/sse")"; return 1; }
    python3 "$HERE/http_burst.py" "$HTTP_PORT" pipeline 2
}
check "HTTP: HEAD and an event stream, then pipelined POSTs again: answered" head_and_stream

# A request that is still waiting a run later is suspended, whatever the
# connection holds besides: pipelined requests behind it, a half-closed
# connection, a body after Expect: 100-continue, HTTP/1.0, a chunked body,
# bytes that are no request. None makes the loop spin on MHD's ready list
# (MHD_get_timeout 0) while the device stays silent.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID_gw/stat"; }
no_spin() {
    local before after
    python3 "$HERE/http_burst.py" "$HTTP_PORT" silent 2 &
    local burst=$!
    sleep 0.5
    before=$(cpu_ticks)
    sleep 1
    after=$(cpu_ticks)
    wait "$burst" || true
    [ $((after - before)) -lt 30 ] || { echo "$((after - before)) ticks in 1 s"; return 1; }
}
check "HTTP: requests waiting on a silent device, behind them pipelined ones, a half-close, Expect, HTTP/1.0, chunked, garbage: no busy loop (under 30 of 100 ticks a second)" no_spin

# Under an ASan build (COAPGW_SANITIZE), any report ends the gateway and
# is in its log.
no_sanitizer_report() { ! grep -q "Sanitizer" "$TMP/gw.log" && kill -0 "$PID_gw"; }
check "the gateway is alive and its log has no sanitizer report" no_sanitizer_report

finish
