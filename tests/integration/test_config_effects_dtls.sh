#!/usr/bin/env bash
# The DTLS listener's configuration keys change what the gateway does
# (the rest of test_config_effects.sh, split from it). Gateway A is
# `coapgw` with no configuration (no DTLS listener); E, F and G set the
# DTLS keys (keys and certificates made by dtls_keys.sh). What each check
# observes:
#
#   coap.listen_dtls             E answers coaps:// (PSK) there and logs it; A logs no DTLS listener, answers no ClientHello
#   dtls.cert                    E's X.509 handshake verifies against the test CA (coap-client-openssl -C); F (none) fails it
#   dtls.key                     E's handshake proves it; E with rogue.key for server.crt: exit 2 naming the keys
#   dtls.client_ca               E: a client certificate from the CA registers as x509:CN=device-1; one from another CA is refused
#   dtls.rpk_key                 F: coap-client-gnutls -M (raw public keys) is answered; E refuses that handshake
#   dtls.identities              E: psk:sim-e (key in a variable) registers, auth shown; an unlisted PSK identity is refused
#   dtls.max_sessions            1 (F): with coapgw-sim's session open, a second client is refused "session table full"
#   dtls.max_handshakes          1 (E, last): a handshake held open by a silent client; a second is refused "handshake table full"
#   dtls.idle_s                  2 (E): coapgw-sim's idle session is closed after 2 s (closed{reason="idle"}); F's (300) stays
#   dtls.handshakes_per_s        1 (G): of 4 quick handshakes from one address some are refused (refused{reason="rate"}); E none
#
# Runs in a network namespace of its own (root and unshare needed, else
# skipped), so that A can take the default ports.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
need curl coap-client-gnutls coap-client-openssl python3 openssl
HERE=$(cd "$(dirname "$0")" && pwd)
GW=$BUILD/coapgw

metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
says() { grep -q "$1" "$TMP/coap.out" || { echo "  the answer does not say $1"; return 1; }; }

# No COAPGW_* variable of the caller's may change what a gateway runs with
# (but the state file lib.sh's start gives each gateway).
CLEAN_ENV=(env)
for v in $(compgen -e | grep '^COAPGW_' | grep -vx COAPGW_STATE_PATH || true); do CLEAN_ENV+=(-u "$v"); done
start gwA "${CLEAN_ENV[@]}" "$GW"
wait_for "gateway A" curl -sf http://127.0.0.1:8080/healthz

# --- the DTLS listener -----------------------------------------------------------
# E: certificate, client CA, identities (PSK key in a variable, x509),
# idle_s 2, max_handshakes 1; F: a raw public key and a PSK identity,
# max_sessions 1; G: a PSK identity, handshakes_per_s 1.
. "$HERE/dtls_keys.sh"
DK=$TMP/dk
make_keys "$DK" || { echo "cannot make the DTLS test keys"; exit 1; }
chmod 600 "$DK"/*.key "$DK"/*.pem
DE=$(free_port)
DF=$(free_port)
DG=$(free_port)
SIM_E=$(free_port)
SIM_F=$(free_port)
dtls_gw() { # dtls_gw NAME HTTP-PORT DTLS-PORT DTLS-JSON: starts gateway NAME
    cat >"$TMP/$1.json" <<JSON
{ "http": { "listen": "127.0.0.1:$2" }, "coap": { "listen": "127.0.0.1:0", "listen_dtls": "127.0.0.1:$3" },
  "devices": {}, "dtls": $4 }
JSON
    start "$1" "${CLEAN_ENV[@]}" COAPGW_PSK_SIM=sim-secret "$GW" --config "$TMP/$1.json"
    wait_for "gateway $1" curl -sf "http://127.0.0.1:$2/healthz"
}
HE=$(free_port tcp)
HF=$(free_port tcp)
HG=$(free_port tcp)
dtls_gw gwE "$HE" "$DE" "{ \"cert\": \"$DK/server.crt\", \"key\": \"$DK/server.key\",
  \"client_ca\": \"$DK/ca.crt\", \"idle_s\": 2, \"max_handshakes\": 1,
  \"identities\": [ { \"psk\": \"sim-e\", \"key_env\": \"COAPGW_PSK_SIM\", \"names\": [\"sim-*\"] },
                    { \"x509\": \"CN=device-1\", \"names\": [\"x509dev\"] } ] }"
dtls_gw gwF "$HF" "$DF" "{ \"rpk_key\": \"$DK/rpk-server.pem\", \"max_sessions\": 1,
  \"identities\": [ { \"psk\": \"sim-f\", \"key_env\": \"COAPGW_PSK_SIM\", \"names\": [\"sim-*\"] } ] }"
dtls_gw gwG "$HG" "$DG" "{ \"handshakes_per_s\": 1,
  \"identities\": [ { \"psk\": \"sim-g\", \"key_env\": \"COAPGW_PSK_SIM\", \"names\": [] } ] }"
E=http://127.0.0.1:$HE
F=http://127.0.0.1:$HF
G=http://127.0.0.1:$HG
# coaps CLIENT PORT PATH ARGS...: libcoap's DTLS client to 127.0.0.1:PORT;
# prints the code of the last response; output in $TMP/coap.out
coaps() {
    local c=$1 port=$2 path=$3
    shift 3
    "$c" -B 3 -v 6 "$@" "coaps://127.0.0.1:$port$path" >"$TMP/coap.out" 2>&1 || true
    grep -o 't:ACK c:[0-9.]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://'
}
coaps_is() { # coaps_is WANT CLIENT PORT PATH ARGS...
    local got
    got=$(coaps "${@:2}")
    [ "$got" = "$1" ] || { echo "  $2 to $3$4: ${got:-no answer}, not $1"; return 1; }
}
SIMK=(-k sim-secret)
X509=(-c "$DK/client.crt" -j "$DK/client.key" -C "$DK/ca.crt")

listen_dtls() {
    coaps_is 2.05 coap-client-gnutls "$DE" /.well-known/core "${SIMK[@]}" -u sim-e && says core.rd || return 1
    grep -q "CoAP over DTLS on 127.0.0.1:$DE (port $DE, 2 identities)" "$TMP/gwE.log" || return 1
    ! grep -q 'CoAP over DTLS' "$TMP/gwA.log" &&
        [ "$(python3 "$HERE/dtls_hello.py" 127.0.0.1 5684 hello)" = none ]
}
effect coap.listen_dtls "E answers coaps:// on 127.0.0.1:$DE and logs it; A has no DTLS listener" listen_dtls
dtls_cert() {
    coaps_is 2.05 coap-client-openssl "$DE" /.well-known/core "${X509[@]}" || return 1
    [ -z "$(coaps coap-client-openssl "$DF" /.well-known/core "${X509[@]}")" ]
}
effect dtls.cert "E's certificate verifies against the test CA (X.509 handshake); F without one: no X.509 handshake" dtls_cert
dtls_key() {
    coaps_is 2.05 coap-client-gnutls "$DE" /.well-known/core "${X509[@]}" || return 1
    local rc=0
    "${CLEAN_ENV[@]}" COAPGW_PSK_SIM=x timeout 5 "$GW" --config "$TMP/gwE.json" --set "dtls.key=$DK/rogue.key" \
        --set http.listen=127.0.0.1:0 --set coap.listen_dtls=127.0.0.1:0 >"$TMP/dtlskey.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q 'dtls.key' "$TMP/dtlskey.out" || { cat "$TMP/dtlskey.out"; return 1; }
}
effect dtls.key "E's handshake proves its key; server.crt with rogue.key: exit 2 naming the keys" dtls_key
client_ca() {
    coaps_is 2.01 coap-client-gnutls "$DE" "/rd?ep=x509dev" "${X509[@]}" -m post -t 40 -e '</x>' || return 1
    curl -s "$E/api/devices/x509dev" | grep -q '"auth":"x509:CN=device-1"' || return 1
    [ -z "$(coaps coap-client-openssl "$DE" /.well-known/core -c "$DK/rogue-client.crt" \
        -j "$DK/rogue-client.key" -C "$DK/ca.crt")" ]
}
effect dtls.client_ca "E: a client certificate from the CA registers as x509:CN=device-1; one from another CA is refused" client_ca
rpk_key() {
    coaps_is 2.05 coap-client-gnutls "$DF" /.well-known/core -M "$DK/rpk-client.pem" || return 1
    [ -z "$(coaps coap-client-gnutls "$DE" /.well-known/core -M "$DK/rpk-client.pem")" ]
}
effect dtls.rpk_key "F answers a raw-public-key client (coap-client-gnutls -M); E refuses that handshake" rpk_key
identities() {
    coaps_is 2.01 coap-client-openssl "$DE" "/rd?ep=sim-1" "${SIMK[@]}" -u sim-e -m post -t 40 -e '</x>' || return 1
    curl -s "$E/api/devices/sim-1" | grep -q '"auth":"psk:sim-e"' || return 1
    [ -z "$(coaps coap-client-openssl "$DE" /.well-known/core "${SIMK[@]}" -u stranger)" ] &&
        wait_for "the warning" grep -q 'unknown PSK identity "stranger"' "$TMP/gwE.log"
}
effect dtls.identities "E: psk:sim-e registers sim-1 (auth shown); the unlisted PSK identity \"stranger\" is refused" identities
start simE "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_E" --listen-dtls 127.0.0.1:0 -k sim-secret -u sim-e \
    --register "coaps://127.0.0.1:$DE" --name sim-e1
start simF "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_F" --listen-dtls 127.0.0.1:0 -k sim-secret -u sim-f \
    --register "coaps://127.0.0.1:$DF" --name sim-f1
wait_for "sim-e1" grep -q 'registered sim-e1' "$TMP/gwE.log"
wait_for "sim-f1" grep -q 'registered sim-f1' "$TMP/gwF.log"
max_sessions() {
    [ -z "$(coaps coap-client-gnutls "$DF" /.well-known/core "${SIMK[@]}" -u sim-f)" ] &&
        wait_for "the refusal" grep -q 'handshake refused: session table full (1)' "$TMP/gwF.log"
}
effect dtls.max_sessions "1 (F): with coapgw-sim's session open, another client is refused \"session table full\"" max_sessions
idle() {
    sleep 2.5
    metric_is "$E" 'coapgw_dtls_closed_total{side="server",reason="idle"}' 1 &&
        metric_is "$F" 'coapgw_dtls_closed_total{side="server",reason="idle"}' 0 &&
        metric_is "$F" 'coapgw_dtls_sessions{side="server"}' 1 &&
        grep -q 'session as psk:sim-e closed: idle for 2000 ms' "$TMP/gwE.log"
}
effect dtls.idle_s "2 (E): coapgw-sim's idle session closes after 2 s; F's (300) stays open" idle
rate() {
    local i
    for i in 1 2 3 4; do coaps coap-client-gnutls "$DG" /.well-known/core "${SIMK[@]}" -u sim-g >/dev/null; done
    for i in 1 2 3 4; do coaps coap-client-gnutls "$DE" /.well-known/core "${SIMK[@]}" -u sim-e >/dev/null; done
    local g
    g=$(metric "$G" 'coapgw_dtls_refused_total{side="server",reason="rate"}')
    echo "  G refused $g"
    [ "$g" -ge 1 ] && metric_is "$E" 'coapgw_dtls_refused_total{side="server",reason="rate"}' 0
}
effect dtls.handshakes_per_s "1 (G): of 4 quick handshakes from one address some are refused; E (10) refuses none" rate
max_handshakes() {
    python3 "$HERE/dtls_hello.py" 127.0.0.1 "$DE" hold 4 >"$TMP/hold.out" &
    local hold=$!
    wait_for "the held handshake" grep -q flight "$TMP/hold.out" || return 1
    [ -z "$(coaps coap-client-gnutls "$DE" /.well-known/core "${SIMK[@]}" -u sim-e)" ] || return 1
    wait "$hold"
    grep -q 'handshake refused: handshake table full (1)' "$TMP/gwE.log"
}
effect dtls.max_handshakes "1 (E): with a handshake held open by a silent client, another is refused" max_handshakes
stop simE
stop simF

finish
