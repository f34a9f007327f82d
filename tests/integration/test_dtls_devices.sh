#!/usr/bin/env bash
# The gateway as a DTLS client (issue #15): coaps:// devices behind
# libcoap's DTLS servers, coap-server-gnutls and coap-server-openssl, with
# PSK, X.509 and raw public keys (RPK: the GnuTLS build only; Debian's
# OpenSSL build has none), reached through /hc/coaps://..., /devices/NAME,
# SSE (Observe over DTLS), the API's discovery and the CoAP forward proxy;
# a Block2 download through the cache; one handshake for many requests;
# a device that restarts; each failure named (502, 5.02, event: error);
# no credentials, no handshake; credentials reloaded on SIGHUP; a key file
# others may read refused. Keys made here with openssl (dtls_keys.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dtls_keys.sh"
need coap-server-gnutls coap-server-openssl coap-client-notls curl openssl python3
HERE=$(cd "$(dirname "$0")" && pwd)
PROM="python3 $HERE/promparse.py"
K=$TMP/keys
make_keys "$K" || { echo "cannot make the test keys"; exit 1; }
chmod 600 "$K"/*.key "$K"/*.pem
printf 'secret\n' >"$K/secret.psk"
printf 'wrong' >"$K/wrong.psk"
printf 'wrong' >"$K/rot.psk"
chmod 600 "$K"/*.psk

# dtls_port: a UDP port P for libcoap's -p whose P + 1 (its DTLS port) is
# free too; prints P + 1
dtls_port() {
    local udp
    while :; do
        udp=$(free_port)
        python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('127.0.0.1', $((udp + 1))))" \
            2>/dev/null && break
    done
    echo $((udp + 1))
}
# serve NAME PROGRAM DTLS-PORT OPTIONS...: libcoap's server NAME, DTLS on DTLS-PORT
serve() {
    local name=$1 prog=$2 port=$3
    shift 3
    start "$name" "$prog" -A 127.0.0.1 -p $((port - 1)) -d 70 "$@"
    eval "ARGS_$name=(\"\$prog\" -A 127.0.0.1 -p $((port - 1)) -d 70 \"\$@\")"
}
GP=$(dtls_port) # gnutls, PSK
GX=$(dtls_port) # gnutls, X.509
GR=$(dtls_port) # gnutls, RPK
OP=$(dtls_port) # openssl, PSK
OX=$(dtls_port) # openssl, X.509
PN=$(dtls_port) # the failures: restarted with what each needs
PX=$(free_port) # nobody speaking DTLS, on 127.0.0.3
serve gpsk coap-server-gnutls "$GP" -k secret
serve gx509 coap-server-gnutls "$GX" -c "$K/server.crt" -j "$K/server.key" -C "$K/ca.crt"
serve grpk coap-server-gnutls "$GR" -M "$K/rpk-server.pem"
serve opsk coap-server-openssl "$OP" -k secret
serve ox509 coap-server-openssl "$OX" -c "$K/server.crt" -j "$K/server.key" -C "$K/ca.crt"
serve neg coap-server-gnutls "$PN" -k pnkey
# counts what reaches 127.0.0.3:PX (there must be nothing)
start silent python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", int(sys.argv[1])))
while True:
    s.recvfrom(2048)
    print("datagram", flush=True)' "$PX"

HTTP=$(free_port tcp)
CP=$(free_port)
G=http://127.0.0.1:$HTTP
export COAPGW_TEST_OPSK=secret
# 127.0.0.1 and localhost are host entries (any port); the others are
# named after devices
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP" }, "coap": { "listen": "127.0.0.1:$CP" },
  "proxy": { "timeout_ms": 5000 }, "log": { "level": "debug" },
  "devices": { "gpsk": "coaps://127.0.0.1:$GP", "opsk": "coaps://127.0.0.1:$OP",
               "gx509": "coaps://localhost:$GX", "ox509": "coaps://127.0.0.1:$OX",
               "grpk": "coaps://127.0.0.1:$GR", "badpsk": "coaps://127.0.0.1:$PN",
               "untrusted": "coaps://127.0.0.1:$PN", "rot": "coaps://127.0.0.1:$PN" },
  "credentials": {
    "127.0.0.1": { "psk_identity": "device-1", "psk_key_file": "$K/secret.psk" },
    "opsk": { "psk_identity": "device-2", "psk_key_env": "COAPGW_TEST_OPSK" },
    "localhost": { "cert": "$K/client.crt", "key": "$K/client.key", "ca": "$K/ca.crt" },
    "ox509": { "cert": "$K/client.crt", "key": "$K/client.key", "ca": "$K/ca.crt" },
    "grpk": { "rpk_key": "$K/rpk-client.pem", "rpk_pin": "$(cat "$K/rpk-server.sha256")" },
    "badpsk": { "psk_identity": "device-1", "psk_key_file": "$K/wrong.psk" },
    "untrusted": { "cert": "$K/client.crt", "key": "$K/client.key", "ca": "$K/ca.crt" },
    "rot": { "psk_identity": "device-1", "psk_key_file": "$K/rot.psk" } } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
wait_for "the gateway" curl -sf "$G/healthz"

code() { curl -s -o "$TMP/body" -w '%{http_code}' -H 'Cache-Control: no-cache' "$@"; }
is() { # is WANT URL...: the status is WANT
    local got
    got=$(code "${@:2}")
    [ "$got" = "$1" ] || { echo "  ${*: -1}: $got, not $1: $(head -c 300 "$TMP/body")"; return 1; }
}
says() { grep -q "$1" "$TMP/body" || { echo "  the body does not say $1: $(head -c 300 "$TMP/body")"; return 1; }; }
metric() { curl -s -o "$TMP/m" "$G/metrics" && $PROM "$TMP/m" --value "$1"; }
handshakes() { # full and resumed, so far
    echo $(($(metric 'coapgw_dtls_handshakes_total{side="client",result="full"}') + \
        $(metric 'coapgw_dtls_handshakes_total{side="client",result="resumed"}')))
}
failed() { metric "coapgw_dtls_handshake_failures_total{side=\"client\",reason=\"$1\"}"; }
a_time() { is 200 "$@" && grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$TMP/body"; }

# --- every form against both servers -----------------------------------------
check "gnutls, PSK (host entry 127.0.0.1): /hc/coaps://127.0.0.1:PORT/time and /devices/gpsk/time" \
    eval 'a_time "$G/hc/coaps://127.0.0.1:$GP/time" && a_time "$G/devices/gpsk/time"'
# sessions are per address: /hc/ to the same port then goes over device-2's
check "openssl, PSK (the device's entry, key from a variable): /devices/opsk/time" \
    eval 'a_time "$G/devices/opsk/time" && grep -q "session with 127.0.0.1:$OP established (full handshake), PSK identity device-2" "$TMP/gw.log"'
check "openssl, PSK: /hc/coaps://127.0.0.1:PORT/time" a_time "$G/hc/coaps://127.0.0.1:$OP/time"
check "gnutls, X.509 (host entry localhost): /devices/gx509/time and /hc/coaps://localhost:PORT/time" \
    eval 'a_time "$G/devices/gx509/time" && a_time "$G/hc/coaps://localhost:$GX/time"'
many() { # the first X.509 exchange with the openssl server: one handshake for all
    local h0 i
    h0=$(handshakes)
    for i in $(seq 1 20); do a_time "$G/devices/ox509/time" || return 1; done
    echo "  handshakes for 20 requests: $(($(handshakes) - h0))"
    [ $(($(handshakes) - h0)) = 1 ] && grep -q "session with 127.0.0.1:$OX established (full handshake), certificate CN=localhost" "$TMP/gw.log"
}
check "openssl, X.509 (the device's entry, name 127.0.0.1): 20 requests, one handshake (metrics)" many
check "gnutls, RPK (pinned): /devices/grpk/time" a_time "$G/devices/grpk/time"
api() {
    is 200 "$G/api/devices/grpk" && says '"uri":"coaps://127.0.0.1:'"$GR"'"' && says '"href":"/time"'
}
check "the API's discovery over DTLS: /api/devices/grpk lists /time" api
auth() { # /api/devices: how the gateway authenticates each, after its entry's form
    is 200 "$G/api/devices" || return 1
    python3 - "$TMP/body" <<'PY'
import json, sys
auth = {d["name"]: d["auth"] for d in json.load(open(sys.argv[1]))}
want = {"gpsk": "dtls-psk", "opsk": "dtls-psk", "gx509": "dtls-x509", "ox509": "dtls-x509",
        "grpk": "dtls-rpk", "untrusted": "dtls-x509"}
bad = {n: (auth.get(n), a) for n, a in want.items() if auth.get(n) != a}
sys.exit(print("  got, wanted:", bad) if bad else 0)
PY
}
check "/api/devices: auth dtls-psk, dtls-x509, dtls-rpk after each device's credentials entry" auth

# --- block-wise, cache, Observe ----------------------------------------------------
head -c 65536 /dev/urandom >"$TMP/big.bin"
block2() {
    is 201 -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/big.bin" \
        "$G/devices/gpsk/big" || return 1
    is 200 "$G/devices/gpsk/big" && cmp -s "$TMP/body" "$TMP/big.bin" || return 1
    curl -s -o "$TMP/again" "$G/devices/gpsk/big" && cmp -s "$TMP/again" "$TMP/big.bin" &&
        grep -q "GET /devices/gpsk/big -> coaps://127.0.0.1:$GP/big 200 .* cache$" "$TMP/gw.log"
}
check "64 KiB PUT (Block1) then GET (Block2) over DTLS; the second GET from the cache" block2
observe() {
    timeout 4 curl -sN -H 'Accept: text/event-stream' "$G/devices/opsk/time" >"$TMP/sse" || true
    local n
    n=$(grep -c '^event: notification' "$TMP/sse" || true)
    echo "  $n notifications in 4 s"
    [ "$n" -ge 2 ] && grep -q "\"target\":\"coaps://127.0.0.1:$OP/time\"" "$TMP/sse"
}
check "SSE on /devices/opsk/time: Observe over DTLS (openssl)" observe
not_cached() { # coap:// to the port of a cached coaps:// resource: not from the cache
    local rc=0
    curl -s -o /dev/null -m 1 "$G/hc/coap://127.0.0.1:$GP/big" || rc=$?
    [ "$rc" = 28 ] && curl -sf -o /dev/null -m 1 "$G/hc/coaps://127.0.0.1:$GP/big"
}
check "coap:// and coaps:// to one address are different targets: no cached coaps:// answer for coap://" not_cached

# --- the forward proxy ---------------------------------------------------------------
proxied() { # proxied URI: through the gateway's CoAP port; output in $TMP/coap
    timeout 20 coap-client-notls -P "coap://127.0.0.1:$CP" "$1" >"$TMP/coap" 2>&1 || true
}
fwd() { proxied "coaps://127.0.0.1:$GP/time" && grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$TMP/coap"; }
check "forward proxy: Proxy-Uri coaps://127.0.0.1:PORT/time (coap-client-notls -P) answered" fwd

# --- failures, each named ----------------------------------------------------------
nocreds() {
    local h0 f0
    h0=$(handshakes)
    f0=$(failed no_credentials)
    is 502 "$G/hc/coaps://127.0.0.3:$PX/x" || return 1
    says "no credentials for coaps://127.0.0.3:$PX (see credentials in docs/configuration.md)" || return 1
    proxied "coaps://127.0.0.3:$PX/x"
    grep -q "5.02 no credentials for coaps://127.0.0.3:$PX" "$TMP/coap" || { cat "$TMP/coap"; return 1; }
    sleep 0.3
    [ "$(handshakes)" = "$h0" ] && [ "$(failed no_credentials)" = "$f0" ] && ! grep -q datagram "$TMP/silent.log"
}
check "no credentials: 502 (and 5.02 on the forward proxy) naming credentials; nothing sent" nocreds

restart_neg() { # restart_neg OPTIONS...: the server on PN, with other credentials
    stop neg
    serve neg coap-server-gnutls "$PN" "$@"
    # listening, not just started: under load a fixed pause was too short
    # (a handshake to nobody ran into proxy.timeout_ms: 504, not 502)
    wait_for "coap-server-gnutls on $PN" eval "ss -Huln 'sport = :$PN' | grep -q ."
}
# A wrong PSK, three ways at once on one handshake (the server, like
# libcoap's servers do, ignores the address for seconds after it): an
# event stream, the forward proxy (the host entry's key), a GET.
wrong_psk() {
    timeout 15 curl -sN "$G/events?target=/devices/badpsk/time" >"$TMP/sse_err" &
    local sse=$!
    proxied "coaps://127.0.0.1:$PN/time" &
    local fwd=$!
    sleep 0.2
    is 502 "$G/devices/badpsk/time" || return 1
    wait "$sse" "$fwd" || true
}
wrong_psk_http() {
    says "DTLS handshake with coaps://127.0.0.1:$PN failed: the pre-shared key does not match" &&
        grep -q "warn  dtls: handshake with 127.0.0.1:$PN failed: DTLS handshake failed: the pre-shared key" "$TMP/gw.log" &&
        [ "$(failed psk)" -ge 1 ]
}
check "wrong PSK: 502 'DTLS handshake with coaps://...: the pre-shared key does not match', a warn line, counted" \
    eval 'wrong_psk && wrong_psk_http'
check "... SSE on it: event: error 502 naming the reason, and the stream ends" \
    eval 'grep -A1 "^event: error" "$TMP/sse_err" | grep "\"status\":502" | grep -q "the pre-shared key does not match"'
fwd_psk() {
    grep -q "5.02 DTLS handshake with coaps://127.0.0.1:$PN failed: the pre-shared key does not match" "$TMP/coap" ||
        { sed 's/^/  coap-client: /' "$TMP/coap"; return 1; }
}
check "... the forward proxy (Proxy-Uri coaps://): 5.02 with the reason" fwd_psk
restart_neg -c "$K/rogue.crt" -j "$K/rogue.key" -C "$K/ca.crt"
check "untrusted certificate: 502 'certificate not trusted'" \
    eval 'is 502 "$G/devices/untrusted/time" && says "DTLS handshake with coaps://127.0.0.1:$PN failed: certificate not trusted" && [ "$(failed untrusted)" -ge 1 ]'
restart_neg -c "$K/othername.crt" -j "$K/othername.key" -C "$K/ca.crt"
check "a certificate for another name: 502 'certificate name mismatch'" \
    eval 'is 502 "$G/devices/untrusted/time" && says "failed: certificate name mismatch"'

# --- SIGHUP: credentials for new sessions; a key others may read --------------------
restart_neg -k pnkey
reloaded() { [ "$(grep -c "configuration reloaded\|reload refused" "$TMP/gw.log")" -ge "$1" ]; }
rotate() {
    is 502 "$G/devices/rot/time" && says "pre-shared key does not match" || return 1
    restart_neg -k pnkey # not a server that ignores us for seconds after
    printf 'pnkey' >"$K/rot.psk"
    kill -HUP "$PID_gw"
    wait_for "the reload" reloaded 1 || return 1
    a_time "$G/devices/rot/time" && grep -q "configuration reloaded: .*, 8 credentials" "$TMP/gw.log"
}
check "SIGHUP reads the credentials again: a new key file is used by the next handshake" rotate
session_stays() {
    printf 'wrong' >"$K/rot.psk"
    kill -HUP "$PID_gw"
    wait_for "the reload" reloaded 2 || return 1
    a_time "$G/devices/rot/time" # over the session opened with the key before
}
check "... and a session open before a reload goes on with what it started with" session_stays
open_key() {
    chmod 644 "$K/rot.psk"
    kill -HUP "$PID_gw"
    wait_for "the refusal" reloaded 3 || return 1
    grep -q "reload refused: credentials.rot.psk_key_file: $K/rot.psk is open to other users (mode 0644)" "$TMP/gw.log" &&
        a_time "$G/devices/rot/time" # the credentials in force stay
}
check "a reload with a key file others may read is refused; the credentials in force stay" open_key
start_refused() {
    local rc=0
    "$BUILD/coapgw" --check-config "$TMP/gw.json" >"$TMP/check.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "credentials.rot.psk_key_file: $K/rot.psk is open to other users" "$TMP/check.out" || return 1
    rc=0
    timeout 5 "$BUILD/coapgw" --config "$TMP/gw.json" --set http.listen=127.0.0.1:0 \
        --set coap.listen=127.0.0.1:0 >"$TMP/start.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "rot.psk is open to other users" "$TMP/start.out" || return 1
    chmod 600 "$K/rot.psk"
    "$BUILD/coapgw" --check-config "$TMP/gw.json" | grep -q ": ok$"
}
check "start and --check-config refuse it too (exit 2, naming the file)" start_refused

# --- a device that restarts ----------------------------------------------------------
restarted() {
    a_time "$G/devices/gpsk/time" || return 1
    local lost0 fails=0 i
    lost0=$(metric 'coapgw_dtls_closed_total{side="client",reason="lost"}')
    kill -9 "$PID_gpsk"
    wait "$PID_gpsk" 2>/dev/null || true
    start gpsk "${ARGS_gpsk[@]}"
    # listening, not a fixed 0.3 s (as in restart_neg)
    wait_for "coap-server-gnutls on $GP" eval "ss -Huln 'sport = :$GP' | grep -q ." || return 1
    for i in 1 2 3; do
        if a_time "$G/devices/gpsk/time"; then break; fi
        fails=$((fails + 1))
    done
    echo "  failed requests before one succeeded: $fails"
    [ "$fails" -le 1 ] && a_time "$G/devices/gpsk/time" &&
        [ "$(metric 'coapgw_dtls_closed_total{side="client",reason="lost"}')" -gt "$lost0" ]
}
check "the device restarts (SIGKILL): at most one failed request, a new handshake (closed lost)" restarted
# Observe over DTLS when the device restarts: notifications stop; after
# Max-Age (1 s) and the margin (5 s) in silence the hub registers again,
# whose retransmission brings a new handshake (the rebooted-peer rule).
notifications() { grep -c '^event: notification' "$TMP/sse_re" || true; }
reregister() {
    timeout 60 curl -sN -H 'Accept: text/event-stream' "$G/devices/gpsk/time" >"$TMP/sse_re" &
    local curl=$! n deadline
    wait_for "a notification" eval '[ "$(notifications)" -ge 1 ]' || return 1
    kill -9 "$PID_gpsk"
    wait "$PID_gpsk" 2>/dev/null || true
    start gpsk "${ARGS_gpsk[@]}"
    n=$(notifications)
    # by the clock (the stream's curl lives longer), not a count of polls
    deadline=$((SECONDS + 30))
    while [ "$(notifications)" -le $((n + 1)) ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    kill "$curl" 2>/dev/null
    wait "$curl" 2>/dev/null || true
    echo "  notifications: $n before the restart, $(notifications) in all"
    [ "$(notifications)" -gt $((n + 1)) ]
}
check "SSE over DTLS: the device restarts; after silence the hub registers again, notifications go on" reregister
check "/metrics parses (HELP and TYPE everywhere); sessions open counted" \
    eval 'curl -s -o "$TMP/m" "$G/metrics" && $PROM --require-meta "$TMP/m" >/dev/null && [ "$($PROM "$TMP/m" --value "coapgw_dtls_sessions{side=\"client\"}")" -ge 5 ]'
finish
