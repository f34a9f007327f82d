#!/usr/bin/env bash
# The gateway as a DTLS server (issue #15): libcoap's DTLS clients
# (coap-client-gnutls and coap-client-openssl) against coap.listen_dtls.
#  - Resource Directory registration with each credential form (PSK from a
#    file and from a variable, X.509, raw public key), bound to the
#    identity: a name not listed for it is 4.03; another identity and
#    plaintext cannot read, update or remove it (4.03), nor take a name an
#    identity may register; /api/devices shows how each authenticated.
#  - The forward proxy over DTLS: read scope GETs, its PUT is 4.03; an
#    identity without scope gets 4.03; read-write PUTs.
#  - The cookie exchange: a ClientHello without a cookie gets a
#    HelloVerifyRequest and creates no state; garbage is counted (/metrics).
#  - A device behind NAT (a network namespace of its own, private address,
#    iptables MASQUERADE to other ports): coapgw-sim registers over DTLS
#    and is read and observed through its own session; once the session
#    is gone, a 502 that says so, also on the event stream.
#  - Both directions in one gateway: a coaps:// device (coapgw-sim's DTLS
#    listener) reached with its "credentials" (auth dtls-psk), also by a
#    DTLS client of the listener through the forward proxy (answered on
#    the listener, within its identity's scope); the listener's own port
#    is no target (403, 4.03); one set of coapgw_dtls_* families with a
#    side label for each (failed handshakes by reason too).
#  - A reload that removes an identity removes its registrations.
# Runs in a network namespace (root, unshare, iptables needed).
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dtls_keys.sh"
need coap-client-gnutls coap-client-openssl coap-client-notls openssl python3 curl iptables nsenter
HERE=$(cd "$(dirname "$0")" && pwd)
K=$TMP/keys
make_keys "$K" || { echo "cannot make the test keys"; exit 1; }
printf 'node1-secret\n' >"$TMP/node1.key" # a trailing newline (echo) is not part of the key
chmod 600 "$TMP/node1.key"
RPK_FP=$(cat "$K/rpk-client.sha256")
HELLO="python3 $HERE/dtls_hello.py"

# --- the device behind NAT: its own namespace, 192.168.50.2 on its loopback,
# reaching the gateway's 10.77.0.1 over a veth pair through MASQUERADE to
# ports 40000-40999 (the gateway has no route to 192.168.50.0/24) ---
unshare -n sleep 3600 &
NS=$!
PIDS+=("$NS")
sleep 0.2
ip link add vg type veth peer name vd netns "/proc/$NS/ns/net"
ip addr add 10.77.0.1/24 dev vg
ip link set vg up
in_dev() { nsenter -t "$NS" -n "$@"; }
in_dev ip link set lo up
in_dev ip addr add 10.77.0.2/24 dev vd
in_dev ip link set vd up
in_dev ip addr add 192.168.50.2/32 dev lo
in_dev ip route add default dev vd
in_dev iptables -t nat -A POSTROUTING -o vd -p udp -j MASQUERADE --to-ports 40000-40999 ||
    { echo "SKIP: iptables cannot NAT here"; exit 77; }

# --- the gateway ---
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:8080" },
  "coap": { "listen": "127.0.0.1:5683", "listen_dtls": "0.0.0.0:5684" },
  "dtls": { "cert": "$K/server.crt", "key": "$K/server.key", "client_ca": "$K/ca.crt",
            "identities": [
              { "psk": "node1", "key_file": "$TMP/node1.key", "names": ["node1", "sensor-*"],
                "proxy": "read" },
              { "psk": "node2", "key_env": "COAPGW_PSK_NODE2", "names": ["node2"] },
              { "x509": "CN=device-1", "names": ["x509dev"], "proxy": "read-write" } ] },
  "devices": { "demo": "coap://127.0.0.1:5783", "secdev": "coaps://127.0.0.1:5785" },
  "credentials": { "127.0.0.1": { "psk_identity": "gw", "psk_key_env": "COAPGW_PSK_SECDEV" } } }
JSON
chmod 600 "$K"/*.key "$K"/*.pem
start sim "$BUILD/coapgw-sim" --listen 127.0.0.1:5783 --period-ms 300
start secsim "$BUILD/coapgw-sim" --listen 127.0.0.1:5784 --listen-dtls 127.0.0.1:5785 \
    -k secdev-secret -u gw
start gw env COAPGW_PSK_NODE2=node2-secret COAPGW_PSK_SECDEV=secdev-secret "$BUILD/coapgw" \
    --config "$TMP/gw.json"
wait_for "the gateway" curl -sf http://127.0.0.1:8080/healthz
G=coaps://127.0.0.1:5684
PSK1=(-k node1-secret -u node1)
PSK2=(-k node2-secret -u node2)
X509=(-c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt")
RPK=(-M "$K/rpk-client.pem")

# coap CLIENT ARGS...: the code of the last response ("-" for none); the
# output in $TMP/coap.out
coap() {
    "$@" -B 3 -v 6 >"$TMP/coap.out" 2>&1 || true
    local c
    c=$(grep -o 't:ACK c:[0-9.]*\|t:\(CON\|NON\) c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://')
    echo "${c:--}"
}
coap_is() { # coap_is WANT CLIENT ARGS...
    local got
    got=$(coap "${@:2}")
    [ "$got" = "$1" ] || { echo "  ${*: -1}: $got, not $1"; grep -v '^v:1' "$TMP/coap.out" | tail -3; return 1; }
}
says() { grep -q "$1" "$TMP/coap.out" || { echo "  the answer does not say $1"; return 1; }; }
# register CLIENT NAME CREDENTIALS...: 2.01; the registration's path in $LOC
register() {
    local c=$1 name=$2
    shift 2
    coap_is 2.01 "$c" "$@" -m post -t 40 -e '</sensors/temp>;rt="t"' "$G/rd?ep=$name&lt=300" || return 1
    LOC=$(grep -o 'Location-Path:[^,]*, Location-Path:[^ ]*' "$TMP/coap.out" | tail -1 |
        sed 's/Location-Path://g; s/, /\//')
    [ -n "$LOC" ]
}
# auth_is NAME AUTH: /api/devices/NAME says so
auth_is() {
    curl -s "http://127.0.0.1:8080/api/devices/$1" >"$TMP/dev.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d.get("auth") != sys.argv[2])' \
        "$TMP/dev.json" "$2" || { echo "  $1: $(cat "$TMP/dev.json")"; return 1; }
}
metric() { curl -s http://127.0.0.1:8080/metrics | awk -v n="$1" '$1 == n { print $2 }'; }
PROM="python3 $HERE/promparse.py"

# --- registration with each credential form ---
for c in coap-client-gnutls coap-client-openssl; do
    check "$c, PSK (key from a file): registers node1, auth psk:node1" \
        eval 'register $c node1 "${PSK1[@]}" && auth_is node1 psk:node1'
    check "$c, PSK (key from a variable): registers node2" \
        eval 'register $c node2 "${PSK2[@]}" && auth_is node2 psk:node2'
    check "$c, X.509: registers x509dev, auth x509:CN=device-1" \
        eval 'register $c x509dev "${X509[@]}" && auth_is x509dev x509:CN=device-1'
done
# Raw public keys on a listener of their own: GnuTLS gives a client that
# offers both certificate types (libcoap's -M does) the X.509 certificate
# when the listener has one (docs/configuration.md, dtls.rpk_key).
cat >"$TMP/gw2.json" <<JSON
{ "http": { "listen": "127.0.0.1:8081" },
  "coap": { "listen": "127.0.0.1:5693", "listen_dtls": "127.0.0.1:5694" },
  "dtls": { "rpk_key": "$K/rpk-server.pem",
            "identities": [ { "rpk": "$RPK_FP", "names": ["rpkdev"] } ] }, "devices": {} }
JSON
start gw2 "$BUILD/coapgw" --config "$TMP/gw2.json"
wait_for "the second gateway" curl -sf http://127.0.0.1:8081/healthz
rpk() {
    coap_is 2.01 coap-client-gnutls "${RPK[@]}" -m post -t 40 -e '</x>' "coaps://127.0.0.1:5694/rd?ep=rpkdev" &&
        curl -s http://127.0.0.1:8081/api/devices | grep -q "\"auth\":\"rpk:$RPK_FP\""
}
check "coap-client-gnutls, RPK: registers rpkdev, auth rpk:SHA256" rpk
check "PSK: a name matching sensor-* (node1's) registers" register coap-client-gnutls sensor-7 "${PSK1[@]}"
not_listed() {
    coap_is 4.03 coap-client-gnutls "${PSK2[@]}" -m post -t 40 -e '</x>' "$G/rd?ep=node9" &&
        says 'psk:node2 may not register "node9"'
}
check "a name not listed for the identity: 4.03 naming it" not_listed
unknown_x509() { # a client certificate from the CA whose subject is in no identity
    coap_is 4.03 coap-client-gnutls -c "$K/othername.crt" -j "$K/othername.key" -C "$K/ca.crt" \
        -m post -t 40 -e '</x>' "$G/rd?ep=x509dev" &&
        wait_for "the log" grep -q 'as x509:CN=elsewhere (not in dtls.identities: no rights)' "$TMP/gw.log"
}
check "a certificate of an unlisted subject: 4.03, logged as having no rights" unknown_x509
wrong_key() {
    local f0
    f0=$(metric 'coapgw_dtls_handshake_failures_total{side="server",reason="psk"}')
    coap-client-openssl -B 3 -k wrong -u node1 "$G/.well-known/core" >"$TMP/wrong.out" 2>&1 || true
    grep -qi decrypt "$TMP/wrong.out" &&
        wait_for "the warning" grep -q 'warn .*dtls: 127.0.0.1:[0-9]*: handshake failed: .*key' "$TMP/gw.log" &&
        [ "$(metric 'coapgw_dtls_handshake_failures_total{side="server",reason="psk"}')" = $((f0 + 1)) ]
}
check "a wrong PSK: decrypt_error alert, a warning naming the peer and the reason, counted (reason psk)" wrong_key

# --- the binding: nobody else reads, updates or removes ---
register coap-client-gnutls node1 "${PSK1[@]}"
N1=$LOC
bound() {
    local m
    for m in get post delete; do
        coap_is 4.03 coap-client-gnutls "${PSK2[@]}" -m $m "$G/$N1" || return 1
        coap_is 4.03 coap-client-notls -m $m "coap://127.0.0.1:5683/$N1" || return 1
    done
    coap_is 2.05 coap-client-openssl "${PSK1[@]}" "$G/$N1" && says sensors/temp &&
        coap_is 2.04 coap-client-openssl "${PSK1[@]}" -m post "$G/$N1?lt=200"
}
check "another identity and plaintext (even loopback): GET, POST, DELETE of node1's registration are 4.03; node1's own work" bound
plain_taken() {
    coap_is 4.03 coap-client-notls -m post -t 40 -e '</x>' "coap://127.0.0.1:5683/rd?ep=node1" &&
        coap_is 4.03 coap-client-notls -m post -t 40 -e '</x>' "coap://127.0.0.1:5683/rd?ep=sensor-99" &&
        says 'kept for a DTLS identity' &&
        coap_is 2.01 coap-client-notls -m post -t 40 -e '</x>' "coap://127.0.0.1:5683/rd?ep=plain1" &&
        auth_is plain1 none && auth_is demo none
}
check "plaintext cannot take node1 or a name sensor-* matches (4.03); plain1 registers, auth none" plain_taken
dtls_deletes() {
    register coap-client-gnutls sensor-8 "${PSK1[@]}" &&
        coap_is 2.02 coap-client-gnutls "${PSK1[@]}" -m delete "$G/$LOC" &&
        [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/devices/sensor-8)" = 404 ]
}
check "its identity removes its registration (2.02)" dtls_deletes
wk() {
    coap_is 2.05 coap-client-openssl "${PSK2[@]}" "$G/.well-known/core" && says 'core.rd'
}
check "/.well-known/core over DTLS lists the directory" wk

# --- the forward proxy over DTLS ---
T=coap://127.0.0.1:5783
proxy() {
    coap_is 2.05 coap-client-gnutls "${PSK1[@]}" -P "$G" "$T/sensors/temperature" || return 1
    coap_is 4.03 coap-client-gnutls "${PSK1[@]}" -P "$G" -m put -e on "$T/actuators/led" || return 1
    coap_is 4.03 coap-client-openssl "${PSK2[@]}" -P "$G" "$T/sensors/temperature" || return 1
    coap_is 2.04 coap-client-openssl "${X509[@]}" -P "$G" -m put -e on "$T/actuators/led" || return 1
    wait_for "the log" grep -q 'coap proxy: 4.03 to .* as psk:node1: read scope' "$TMP/gw.log"
}
check "proxy: read scope GETs (2.05), its PUT is 4.03; no scope 4.03; read-write PUTs (2.04)" proxy

# --- both directions: the gateway as a DTLS client too ---
S=coaps://127.0.0.1:5785
secdev() {
    [ "$(status "$TMP/secdev" http://127.0.0.1:8080/devices/secdev/sensors/temperature)" = 200 ] &&
        grep -Eq '^[0-9.]+$' "$TMP/secdev" && auth_is secdev dtls-psk && auth_is demo none
}
check "a coaps:// device with its credentials: GET over the gateway's DTLS client (200), auth dtls-psk" secdev
cross() { # a DTLS client of the listener, through the proxy, to a coaps:// device
    coap_is 2.05 coap-client-gnutls "${PSK1[@]}" -P "$G" "$S/sensors/temperature" || return 1
    coap_is 4.03 coap-client-gnutls "${PSK1[@]}" -P "$G" -m put -e on "$S/actuators/led" || return 1
    coap_is 2.04 coap-client-openssl "${X509[@]}" -P "$G" -m put -e on "$S/actuators/led"
}
check "proxy over the listener to Proxy-Uri coaps://: read scope GETs (2.05), PUT 4.03; read-write PUTs (2.04)" cross
itself() {
    [ "$(status "$TMP/self" "http://127.0.0.1:8080/hc/coaps://127.0.0.1:5684/rd")" = 403 ] &&
        grep -q 'target is the gateway itself' "$TMP/self" &&
        [ "$(status "$TMP/self" "http://127.0.0.1:8080/hc/coaps://[::1]:5684/rd")" = 403 ] &&
        [ "$(status "$TMP/self" "http://127.0.0.1:8080/hc/coap://127.0.0.1:5683/rd")" = 403 ] || return 1
    coap_is 4.03 coap-client-openssl "${X509[@]}" -P "$G" "coaps://127.0.0.1:5684/.well-known/core" &&
        says 'target is the gateway itself'
}
check "the listener's own port is no coaps:// target (403; 4.03 through the proxy), nor coap.listen's a coap:// one" itself
metrics() {
    curl -s -o "$TMP/m" http://127.0.0.1:8080/metrics && $PROM --require-meta "$TMP/m" >/dev/null || return 1
    # libcoap's clients end their sessions as they exit: handshakes, not sessions, on the server side
    [ "$(grep -c '^# TYPE coapgw_dtls_sessions ' "$TMP/m")" = 1 ] &&
        [ "$($PROM "$TMP/m" --value 'coapgw_dtls_handshakes_total{side="server",result="full"}')" -ge 10 ] &&
        [ "$($PROM "$TMP/m" --value 'coapgw_dtls_handshakes_total{side="client",result="full"}')" -ge 1 ] &&
        [ "$($PROM "$TMP/m" --value 'coapgw_dtls_sessions{side="client"}')" -ge 1 ] &&
        [ "$($PROM "$TMP/m" --value 'coapgw_dtls_handshake_failures_total{side="server",reason="psk"}')" -ge 1 ] &&
        $PROM "$TMP/m" --value 'coapgw_dtls_handshake_failures_total{side="client",reason="psk"}' >/dev/null
}
check "/metrics: each coapgw_dtls_* family once (HELP, TYPE), series for both sides" metrics

# --- the cookie exchange and garbage, on the listener ---
cookie() {
    local c0 h0 s0 d0 answer
    c0=$(metric 'coapgw_dtls_cookies_sent_total{side="server"}')
    h0=$(metric 'coapgw_dtls_handshakes_in_progress{side="server"}')
    s0=$(metric 'coapgw_dtls_sessions{side="server"}')
    d0=$(metric 'coapgw_dtls_dropped_total{side="server",reason="malformed"}')
    answer=$($HELLO 127.0.0.1 5684 hello)
    [[ $answer == hvr* ]] || { echo "  answer: $answer"; return 1; }
    $HELLO 127.0.0.1 5684 garbage
    sleep 0.2
    echo "  cookies $c0 -> $(metric 'coapgw_dtls_cookies_sent_total{side="server"}')"
    [ "$(metric 'coapgw_dtls_cookies_sent_total{side="server"}')" = $((c0 + 1)) ] &&
        [ "$(metric 'coapgw_dtls_handshakes_in_progress{side="server"}')" = "$h0" ] &&
        [ "$(metric 'coapgw_dtls_sessions{side="server"}')" = "$s0" ] &&
        [ "$(metric 'coapgw_dtls_dropped_total{side="server",reason="malformed"}')" = $((d0 + 1)) ]
}
check "a ClientHello without a cookie: a HelloVerifyRequest, no handshake, no session; garbage counted" cookie

# --- a device behind NAT, reached back through its own session ---
start dev nsenter -t "$NS" -n "$BUILD/coapgw-sim" --listen 192.168.50.2:5783 \
    --listen-dtls 192.168.50.2:5684 -k node1-secret -u node1 \
    --register coaps://10.77.0.1:5684 --name sensor-1 --period-ms 200
wait_for "sensor-1's registration" grep -q 'rd: registered sensor-1 at coaps://10.77.0.2:40' "$TMP/gw.log"
D=http://127.0.0.1:8080/devices/sensor-1
natted() {
    auth_is sensor-1 psk:node1 || return 1
    grep -q '"uri":"coaps://10.77.0.2:40[0-9][0-9][0-9]"' "$TMP/dev.json" || { cat "$TMP/dev.json"; return 1; }
    [ "$(status "$TMP/get" "$D/sensors/temperature")" = 200 ] && grep -Eq '^[0-9.]+$' "$TMP/get" || return 1
    ! in_dev ss -uln | grep -q ':4[0-9]\{4\} ' # it listens on no port of the NAT's
}
check "behind NAT: registered from 10.77.0.2:40xxx (MASQUERADE), auth psk:node1; GET through its session (200)" natted
sse() {
    curl -s -N -m 3 -H 'Accept: text/event-stream' "$D/sensors/temperature" >"$TMP/sse" || true
    [ "$(grep -c '^event: notification' "$TMP/sse")" -ge 3 ] || { head -20 "$TMP/sse"; return 1; }
}
check "behind NAT: SSE (Observe) through its session, notifications stream" sse
{ # a power loss: no deregistration, no close_notify
    kill -9 "$PID_dev"
    wait "$PID_dev" || true
} 2>/dev/null
gone() {
    [ "$(status "$TMP/gone" "$D/sensors/temperature")" = 502 ] || { cat "$TMP/gone"; return 1; }
    grep -q 'that session is gone' "$TMP/gone" || { cat "$TMP/gone"; return 1; }
    curl -s -N -m 5 -H 'Accept: text/event-stream' "$D/sensors/humidity" >"$TMP/sse2" || true
    grep -q '^event: error' "$TMP/sse2" && grep -q '"status":502' "$TMP/sse2" &&
        grep -q 'session is gone' "$TMP/sse2" || { cat "$TMP/sse2"; return 1; }
}
check "the device stopped: its session is gone, 502 saying so (GET and the event stream)" gone

# --- a reload that removes an identity ---
python3 - "$TMP/gw.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["dtls"]["identities"] = [i for i in c["dtls"]["identities"] if i.get("psk") != "node2"]
json.dump(c, open(sys.argv[1], "w"))
PY
removed() {
    kill -HUP "$PID_gw"
    wait_for "the reload" grep -q 'rd: reload: its identity is no longer in dtls.identities: removed node2' "$TMP/gw.log" &&
        [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/devices/node2)" = 404 ] &&
        auth_is node1 psk:node1 || return 1
    coap-client-gnutls -B 3 "${PSK2[@]}" "$G/.well-known/core" >"$TMP/gone2" 2>&1 || true
    grep -qi 'unknown.*identity\|alert' "$TMP/gone2" || { cat "$TMP/gone2"; return 1; }
}
check "SIGHUP removing psk:node2: its registration goes, its handshakes fail; node1's stays" removed
finish
