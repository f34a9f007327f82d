#!/usr/bin/env bash
# coapgw-client (and a client sending several requests over one DTLS
# transport, dtls_driver) against libcoap's DTLS servers,
# coap-server-gnutls and coap-server-openssl: PSK, X.509, raw public keys;
# a GET, a Block2 download, Observe; each wrong credential named, exit 4;
# one handshake for many requests; idle close; a server that restarts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dtls_keys.sh"
need coap-server-gnutls coap-server-openssl openssl python3
K=$TMP/keys
make_keys "$K" || { echo "cannot make the test keys"; exit 1; }
C="$BUILD/coapgw-client"
head -c 30000 /dev/urandom >"$TMP/big.bin"

# server NAME OPTIONS...: (re)starts libcoap's server NAME; DTLS on $PORT
# (libcoap listens for DTLS on its UDP port + 1)
server() {
    local name=$1
    shift
    if [ -n "${PID_srv:-}" ]; then stop srv; fi
    local udp
    while :; do
        udp=$(free_port)
        PORT=$((udp + 1))
        python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('127.0.0.1', $PORT))" 2>/dev/null && break
    done
    U=coaps://127.0.0.1:$PORT
    start srv "$name" -A 127.0.0.1 -p "$udp" -d 10 "$@"
    SRV_ARGS=("$name" -A 127.0.0.1 -p "$udp" -d 10 "$@")
    sleep 0.3
}

# exercise CREDENTIALS...: GET, a Block1 upload and its Block2 download, Observe
exercise() {
    "$C" "$@" "$U/" | grep -q "libcoap" || { echo "GET /"; return 1; }
    "$C" "$@" -m put -f "$TMP/big.bin" "$U/big" || { echo "PUT"; return 1; }
    "$C" "$@" "$U/big" | cmp -s - "$TMP/big.bin" || { echo "Block2"; return 1; }
    "$C" "$@" -s 3 "$U/time" >"$TMP/obs" || { echo "observe"; return 1; }
    local n
    n=$(grep -c . "$TMP/obs")
    [ "$n" -ge 3 ] || { echo "observe: only $n notifications"; return 1; }
}

for s in coap-server-gnutls coap-server-openssl; do
    server $s -k secret
    check "$s, PSK: GET, Block2, Observe" exercise -k secret -u device-1
    server $s -c "$K/server.crt" -j "$K/server.key" -C "$K/ca.crt"
    check "$s, X.509: GET, Block2, Observe" \
        exercise -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt"
done
server coap-server-gnutls -M "$K/rpk-server.pem"
check "coap-server-gnutls, RPK: GET, Block2, Observe" \
    exercise -M "$K/rpk-client.pem" --rpk-pin "$(cat "$K/rpk-server.sha256")"

# refused WANT-EXIT REASON CLIENT-ARGS...: coapgw-client exits so, naming it
refused() {
    local want=$1 reason=$2 rc=0
    shift 2
    "$C" -T 4 "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" = "$want" ] || { echo "exit $rc, not $want: $(cat "$TMP/err")"; return 1; }
    grep -q "$reason" "$TMP/err" || { echo "stderr: $(cat "$TMP/err")"; return 1; }
}
server coap-server-gnutls -k secret
check "wrong PSK (coap-server-gnutls drops our Finished): exit 4, 'pre-shared key'" \
    refused 4 "the pre-shared key does not match" -k wrong -u device-1 "$U/"
server coap-server-openssl -c "$K/rogue.crt" -j "$K/rogue.key" -C "$K/ca.crt"
check "server certificate from an unknown CA: exit 4, 'not trusted'" \
    refused 4 "certificate not trusted" -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" "$U/"
server coap-server-openssl -c "$K/expired.crt" -j "$K/expired.key" -C "$K/ca.crt"
check "expired server certificate: exit 4, 'expired'" \
    refused 4 "certificate expired" -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" "$U/"
server coap-server-gnutls -c "$K/othername.crt" -j "$K/othername.key" -C "$K/ca.crt"
check "server certificate for another name: exit 4, 'name mismatch'" \
    refused 4 "name mismatch" -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" "$U/"
server coap-server-gnutls -M "$K/rpk-server.pem"
check "raw public key other than the pinned one: exit 4, 'pinned'" \
    refused 4 "pinned fingerprint" -M "$K/rpk-client.pem" --rpk-pin "$(cat "$K/rpk-other.sha256")" "$U/"
check "a coaps:// URI without credentials: exit 2" refused 2 "needs credentials" "$U/"
check "-M without --rpk-pin or -n: exit 2" refused 2 "rpk-pin" -M "$K/rpk-client.pem" "$U/"

# Against our own simulator, which checks identities and sends alerts.
SIMPORT=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --listen-dtls "127.0.0.1:$SIMPORT" \
    -k secret -u device-1
wait_for "coapgw-sim" grep -q "listening on coaps" "$TMP/sim.log"
S=coaps://127.0.0.1:$SIMPORT
check "unknown identity: exit 4, 'unknown PSK identity'; the sim names it" \
    refused 4 "unknown PSK identity" -k secret -u intruder "$S/sensors/temperature"
check "... and the sim's event names the identity" grep -q 'unknown PSK identity "intruder"' "$TMP/sim.log"
fast_psk() { # the sim answers a wrong key with decrypt_error: no wait
    local t0=$SECONDS
    refused 4 "the pre-shared key does not match" -k wrong -u device-1 "$S/sensors/temperature" &&
        [ $((SECONDS - t0)) -le 1 ]
}
check "wrong PSK against the sim: exit 4 at once (decrypt_error alert)" fast_psk

# coapgw-sim registers over DTLS from its DTLS listener (libcoap's server
# makes /rd when asked to, with -d).
register() {
    server coap-server-gnutls -k secret
    start reg "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" \
        --listen-dtls "127.0.0.1:$(free_port)" -k secret -u device-1 --register "$U"
    wait_for "a registration over DTLS" grep -q "rd: registered as" "$TMP/reg.log" &&
        grep -q "established 127.0.0.1:$PORT" "$TMP/reg.log"
    local rc=$?
    stop reg
    return $rc
}
check "coapgw-sim --register coaps://: registers over DTLS from its listener" register

# Several requests over one transport (dtls_driver).
D="$BUILD/dtls_driver"
server coap-server-gnutls -k secret
reuse() {
    "$D" -k secret -u device-1 --count 10 "$U/time" >"$TMP/reuse" 2>"$TMP/reuse.err" || return 1
    [ "$(grep -c ' ok 2.05' "$TMP/reuse")" -eq 10 ] && grep -q "handshakes_ok=1 " "$TMP/reuse"
}
check "10 requests, one handshake" reuse
idle() { # close_notify when idle; the sim resumes the session with a ticket
    "$D" -k secret -u device-1 --count 3 --interval-ms 700 --idle-ms 300 \
        "$S/sensors/temperature" >"$TMP/idle" 2>"$TMP/idle.err" || return 1
    [ "$(grep -c ' ok 2.05' "$TMP/idle")" -eq 3 ] && grep -q "handshakes_ok=3 handshakes_resumed=2 " "$TMP/idle" &&
        grep -q "closed_idle=2 " "$TMP/idle" && grep -q "closed .*close_notify from the peer" "$TMP/sim.log"
}
check "idle sessions closed with close_notify, then resumed" idle

# A device that restarts and forgets the session: SIGKILL, started again on
# the same port. The next request gets through after at most one failure,
# with one new handshake.
restart() {
    rm -f "$TMP/resume"
    "$D" -k secret -u device-1 --count 3 --pause-after 1 --resume-file "$TMP/resume" \
        "$U/time" >"$TMP/restart" 2>"$TMP/restart.err" &
    local drv=$!
    wait_for "the first answer" grep -q paused "$TMP/restart" || return 1
    kill -9 "$PID_srv"
    wait "$PID_srv" 2>/dev/null || true
    start srv "${SRV_ARGS[@]}"
    sleep 0.3
    touch "$TMP/resume"
    wait "$drv" || return 1
    cat "$TMP/restart"
    [ "$(grep -c ' ok 2.05' "$TMP/restart")" -ge 2 ] && [ "$(grep -c ' error ' "$TMP/restart")" -le 1 ] &&
        grep -q "handshakes_ok=2 " "$TMP/restart"
}
check "the server restarts (SIGKILL): next request succeeds, one new handshake" restart
finish
