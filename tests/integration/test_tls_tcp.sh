#!/usr/bin/env bash
# CoAP over TLS (coaps+tcp://, RFC 8323 §9) against libcoap, both ways:
# coap-client-gnutls against coapgw-sim --listen-tls (our server role, PSK
# and X.509), and coapgw-client against coap-server-gnutls listening on
# TLS (our client role: PSK, X.509, RPK); wrong keys and certificates
# refused with their reasons.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dtls_keys.sh"
need coap-client-gnutls coap-server-gnutls openssl python3
K=$TMP/keys
make_keys "$K" || { echo "cannot make the test keys"; exit 1; }
C=coap-client-gnutls
PORT=$(free_port)
TPORT=$(free_port tcp)
U=coaps+tcp://127.0.0.1:$TPORT
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$PORT" --listen-tls "127.0.0.1:$TPORT" \
    --period-ms 300 -k secret -u device-1
wait_for "coapgw-sim on TLS" "$BUILD/coapgw-client" -T 1 -k secret -u device-1 "$U/sensors/temperature"

# --- libcoap's client against our server role ---
get() { "$C" -B 3 -k secret -u device-1 "$U/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$'; }
check "libcoap -> sim over TLS (PSK): GET /sensors/temperature" get

identity() { grep -q "tls: established 127.0.0.1:[0-9]*: TLS1\.[23], identity device-1" "$TMP/sim.log"; }
check "the sim logs the session's PSK identity" identity

put_big() {
    head -c 204800 /dev/urandom | base64 -w0 | head -c 204800 >"$TMP/big"
    "$C" -B 10 -k secret -u device-1 -m put -f "$TMP/big" -o "$TMP/big.back" "$U/echo" || return 1
    cmp -s "$TMP/big" "$TMP/big.back"
}
check "libcoap -> sim over TLS: PUT 200 KiB to /echo comes back equal" put_big

observe() {
    "$C" -v 7 -B 3 -s 2 -k secret -u device-1 "$U/ticks" >"$TMP/obs" 2>&1 || true
    local n
    n=$(grep -c "c:2.05 .*Observe:" "$TMP/obs" || true)
    [ "$n" -ge 3 ] || { echo "only $n notifications"; tail -5 "$TMP/obs"; return 1; }
}
check "libcoap -> sim over TLS: Observe /ticks -s 2, several notifications" observe

wrong_psk() {
    "$C" -B 3 -k wrong -u device-1 "$U/sensors/temperature" >"$TMP/wrong.out" 2>&1 || true
    ! grep -Eq '^[0-9]+\.[0-9]$' "$TMP/wrong.out" &&
        grep -q "tls: handshake failed .*a different pre-shared key" "$TMP/sim.log"
}
check "libcoap with a wrong PSK: refused, the sim names a different pre-shared key" wrong_psk

ours_to_sim() {
    "$BUILD/coapgw-client" -k secret -u device-1 -m put -e on "$U/actuators/led" >/dev/null &&
        [ "$("$BUILD/coapgw-client" -k secret -u device-1 "$U/actuators/led")" = on ]
}
check "coapgw-client -> sim over TLS: PUT then GET /actuators/led" ours_to_sim
stop sim

X509_PORT=$(free_port tcp)
start simx "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --listen-tls "127.0.0.1:$X509_PORT" \
    -c "$K/server.crt" -j "$K/server.key" -C "$K/ca.crt"
wait_for "coapgw-sim on TLS (X.509)" "$BUILD/coapgw-client" -T 1 -c "$K/client.crt" \
    -j "$K/client.key" -C "$K/ca.crt" "coaps+tcp://127.0.0.1:$X509_PORT/sensors/temperature"
x509_sim() {
    "$C" -B 3 -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" \
        "coaps+tcp://127.0.0.1:$X509_PORT/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$' &&
        grep -q "tls: established .*identity CN=" "$TMP/simx.log"
}
check "libcoap -> sim over TLS (X.509 both ways): GET, the client's subject as identity" x509_sim
stop simx

# --- our client role against libcoap's server (TLS on its TCP port + 1) ---
server() {
    if [ -n "${PID_srv:-}" ]; then stop srv; fi
    local tcp
    while :; do
        tcp=$(free_port tcp)
        SPORT=$((tcp + 1))
        python3 -c "import socket; socket.socket().bind(('127.0.0.1', $SPORT))" 2>/dev/null && break
    done
    S=coaps+tcp://127.0.0.1:$SPORT
    start srv coap-server-gnutls -A 127.0.0.1 -p "$tcp" "$@"
    sleep 0.3
}

# exercise CREDENTIALS...: GET, a Block1 upload and its Block2 download, Observe
exercise() {
    "$BUILD/coapgw-client" "$@" "$S/" | grep -q "libcoap" || { echo "GET /"; return 1; }
    "$BUILD/coapgw-client" "$@" -m put -f "$TMP/big" "$S/example_data" || { echo PUT; return 1; }
    "$BUILD/coapgw-client" "$@" "$S/example_data" | cmp -s - "$TMP/big" || { echo GET; return 1; }
    timeout 20 "$BUILD/coapgw-client" "$@" -s 3 "$S/time" >"$TMP/time" || { echo observe; return 1; }
    [ "$(grep -c . "$TMP/time")" -ge 2 ] || { echo "observe: $(cat "$TMP/time")"; return 1; }
}

server -k secret
check "coapgw-client -> coap-server-gnutls over TLS, PSK: GET, PUT 200 KiB, GET, Observe" \
    exercise -k secret -u device-1
server -c "$K/server.crt" -j "$K/server.key" -C "$K/ca.crt"
check "coapgw-client -> coap-server-gnutls over TLS, X.509: GET, PUT 200 KiB, GET, Observe" \
    exercise -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt"
server -M "$K/rpk-server.pem"
check "coapgw-client -> coap-server-gnutls over TLS, raw public keys (pinned): GET, PUT, GET, Observe" \
    exercise -M "$K/rpk-client.pem" --rpk-pin "$(cat "$K/rpk-server.sha256")"

# refused WANT-EXIT REASON CLIENT-ARGS...: coapgw-client exits so, naming it
refused() {
    local want=$1 reason=$2 rc=0
    shift 2
    "$BUILD/coapgw-client" -T 4 "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" = "$want" ] || { echo "exit $rc, not $want: $(cat "$TMP/err")"; return 1; }
    grep -q "$reason" "$TMP/err" || { echo "stderr: $(cat "$TMP/err")"; return 1; }
}
server -k secret
check "wrong PSK: exit 4, 'TLS handshake ... pre-shared key'" \
    refused 4 "TLS handshake with .*pre-shared key" -k wrong -u device-1 "$S/"
server -c "$K/othername.crt" -j "$K/othername.key" -C "$K/ca.crt"
check "server certificate for another name: exit 4, 'name mismatch'" \
    refused 4 "name mismatch" -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" "$S/"
server -c "$K/rogue.crt" -j "$K/rogue.key" -C "$K/ca.crt"
check "server certificate from an unknown CA: exit 4, 'not trusted'" \
    refused 4 "certificate not trusted" -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" "$S/"
server -M "$K/rpk-server.pem"
check "raw public key other than the pinned one: exit 4, 'pinned'" \
    refused 4 "pinned" -M "$K/rpk-client.pem" --rpk-pin "$(cat "$K/rpk-other.sha256")" "$S/"
check "a coaps+tcp:// URI without credentials: exit 2" refused 2 "needs credentials" "$S/"

finish
