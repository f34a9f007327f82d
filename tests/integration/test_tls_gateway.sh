#!/usr/bin/env bash
# CoAP over TLS (coaps+tcp://, RFC 8323 §9) in the gateway: coaps+tcp://
# targets with the credentials of "credentials" (libcoap's
# coap-server-gnutls on TLS, PSK and X.509: /hc/, a configured device,
# PUT 200 KiB, Observe through SSE, /.well-known/core; none is 502), the
# gateway's own TLS listener (coap.listen_tls with the dtls.* credentials:
# coap-client-gnutls through the forward proxy and into the Resource
# Directory), and a simulated device that connects out over TLS with a
# PSK identity of dtls.identities, is reached back over its own
# connection (offline and 504 when it drops, served again when it
# returns), listening nowhere; an identity dtls.identities does not allow
# is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dtls_keys.sh"
need coap-client-gnutls coap-server-gnutls curl openssl python3 ss
K=$TMP/keys
make_keys "$K" || { echo "cannot make the test keys"; exit 1; }
chmod 600 "$K"/*.key "$K"/*.pem
printf 'secret' >"$K/secret.psk"
printf 'devkey' >"$K/dev1.psk"
chmod 600 "$K"/*.psk
C=coap-client-gnutls
# tls_port: a TCP port P for libcoap's -p whose P + 1 (its TLS port) is
# free too; prints P + 1
tls_port() {
    local tcp
    while :; do
        tcp=$(free_port tcp)
        python3 -c "import socket; socket.socket().bind(('127.0.0.1', $((tcp + 1))))" 2>/dev/null && break
    done
    echo $((tcp + 1))
}
SP=$(tls_port) # libcoap, PSK
SX=$(tls_port) # libcoap, X.509
SW=$(tls_port) # libcoap, a PSK other than the gateway's
start spsk coap-server-gnutls -A 127.0.0.1 -p $((SP - 1)) -k secret -v 7
start swrong coap-server-gnutls -A 127.0.0.1 -p $((SW - 1)) -k other
start sx509 coap-server-gnutls -A 127.0.0.1 -p $((SX - 1)) -c "$K/server.crt" -j "$K/server.key" -C "$K/ca.crt"
HP=$(free_port tcp)
G=http://127.0.0.1:$HP
TLP=$(free_port tcp) # the gateway's coap.listen_tls
L=coaps+tcp://127.0.0.1:$TLP
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" },
  "coap": { "listen": "127.0.0.1:$(free_port)", "listen_tls": "127.0.0.1:$TLP" },
  "state": { "path": "" },
  "proxy": { "allow_targets": ["localhost"] },
  "dtls": { "cert": "$K/server.crt", "key": "$K/server.key", "client_ca": "$K/ca.crt",
            "identities": [
              { "psk": "dev1", "key_file": "$K/dev1.psk", "names": ["dev1"], "proxy": "read" },
              { "x509": "CN=device-1", "names": ["x509dev"], "proxy": "read" } ] },
  "devices": { "tlsdev": "coaps+tcp://127.0.0.1:$SP", "nocreds": "coaps+tcp://127.0.0.2:$SP" },
  "credentials": {
    "127.0.0.1": { "psk_identity": "device-1", "psk_key_file": "$K/secret.psk" },
    "localhost": { "cert": "$K/client.crt", "key": "$K/client.key", "ca": "$K/ca.crt" } } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
wait_for "the gateway" curl -sf "$G/healthz"
wait_for "coap-server-gnutls on TLS (PSK)" "$BUILD/coapgw-client" -T 1 -k secret -u device-1 "coaps+tcp://127.0.0.1:$SP/"
wait_for "coap-server-gnutls on TLS (X.509)" "$BUILD/coapgw-client" -T 1 -c "$K/client.crt" -j "$K/client.key" \
    -C "$K/ca.crt" "coaps+tcp://localhost:$SX/"

# --- coaps+tcp:// targets ---
dev_get() { [ "$(status "$TMP/b" "$G/devices/tlsdev/")" = 200 ] && grep -q libcoap "$TMP/b" || { cat "$TMP/b"; return 1; }; }
check "configured coaps+tcp:// device (PSK): GET /devices/tlsdev/" dev_get
hc_wk() {
    [ "$(status "$TMP/b" "$G/hc/coaps+tcp://127.0.0.1:$SP/.well-known/core")" = 200 ] && grep -q '</time>' "$TMP/b"
}
check "/hc/coaps+tcp:// (PSK): /.well-known/core of libcoap's server" hc_wk
x509_get() {
    [ "$(status "$TMP/b" "$G/hc/coaps+tcp://localhost:$SX/")" = 200 ] && grep -q libcoap "$TMP/b" ||
        { cat "$TMP/b"; return 1; }
}
check "/hc/coaps+tcp://localhost (X.509 both ways, the server's name checked): GET" x509_get
put_big() {
    head -c 153600 /dev/urandom | base64 -w0 >"$TMP/big"
    [ "$(stat -c %s "$TMP/big")" -ge 204800 ] || return 1
    local u st
    for u in "coaps+tcp://127.0.0.1:$SP" "coaps+tcp://localhost:$SX"; do
        st=$(status "$TMP/b" -X PUT -H 'Content-Type: text/plain' --data-binary @"$TMP/big" "$G/hc/$u/example_data")
        [ "${st:0:1}" = 2 ] || { echo "PUT $u: $st $(head -c 200 "$TMP/b")"; return 1; }
        [ "$(status "$TMP/back" "$G/hc/$u/example_data")" = 200 ] && cmp -s "$TMP/big" "$TMP/back" ||
            { echo "GET $u back differs"; return 1; }
    done
}
check "PUT 200 KiB to coaps+tcp:// (PSK and X.509), GET it back equal" put_big
events_in() { grep -c '^event: notification' "$TMP/$1.log" || true; }
sse_observe() {
    start sse1 timeout 5 curl -sN -H 'Accept: text/event-stream' "$G/devices/tlsdev/time"
    wait "$PID_sse1" 2>/dev/null || true
    [ "$(events_in sse1)" -ge 3 ] || { echo "$(events_in sse1) notifications"; return 1; }
}
check "Observe over TLS through SSE: libcoap's /time, several notifications" sse_observe
no_creds() {
    [ "$(status "$TMP/b" "$G/devices/nocreds/")" = 502 ] && grep -q "no credentials for coaps+tcp://127.0.0.2" "$TMP/b" ||
        { cat "$TMP/b"; return 1; }
}
check "a coaps+tcp:// target without credentials: 502 naming it, no connection" no_creds
wrong_key() { # the entry for 127.0.0.1 has another PSK than this server's
    [ "$(status "$TMP/b" "$G/hc/coaps+tcp://127.0.0.1:$SW/")" = 502 ] &&
        grep -q "TLS handshake with coaps+tcp://127.0.0.1:$SW failed: .*pre-shared key" "$TMP/b" ||
        { cat "$TMP/b"; return 1; }
}
check "a failed TLS handshake: 502 naming the target" wrong_key
api_disc() {
    curl -s "$G/api/devices" >"$TMP/devs.json"
    python3 - "$TMP/devs.json" <<'PY' || { cat "$TMP/devs.json"; return 1; }
import json, sys
d = {x["name"]: x for x in json.load(open(sys.argv[1]))}
assert d["tlsdev"]["uri"].startswith("coaps+tcp://127.0.0.1:") and d["tlsdev"]["auth"] == "tls-psk"
assert d["nocreds"]["auth"] == "tls-none"
PY
    [ "$(status "$TMP/b" "$G/api/devices/tlsdev")" = 200 ] && grep -q '"href":"/time"' "$TMP/b" || { cat "$TMP/b"; return 1; }
}
check "the API: coaps+tcp:// devices listed (auth tls-psk, tls-none after their credentials), discovery over TLS" api_disc
itself() { [ "$(status "$TMP/b" "$G/hc/coaps+tcp://127.0.0.1:$TLP/rd")" = 403 ] && grep -q itself "$TMP/b"; }
check "coaps+tcp:// to the gateway's own TLS listener: 403" itself

# --- the TLS listener: libcoap's client, forward proxy and RD ---
fwd() { # Proxy-Uri (35) to a coaps+tcp:// target, over TLS with an identity allowed to read
    "$C" -B 5 -k devkey -u dev1 -O "35,coaps+tcp://127.0.0.1:$SP/" "$L/" >"$TMP/fwd" 2>&1 &&
        grep -q libcoap "$TMP/fwd" || { cat "$TMP/fwd"; return 1; }
}
check "coap-client coaps+tcp:// (PSK) -> gateway: the forward proxy to a coaps+tcp:// target" fwd
wk() {
    "$C" -B 5 -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" "coaps+tcp://localhost:$TLP/.well-known/core" \
        >"$TMP/wk" 2>&1 && grep -q '</rd>' "$TMP/wk" || { cat "$TMP/wk"; return 1; }
}
check "coap-client coaps+tcp:// (X.509) -> gateway: /.well-known/core lists /rd" wk
rd_reg() {
    "$C" -B 5 -v 6 -c "$K/client.crt" -j "$K/client.key" -C "$K/ca.crt" -m post -t 40 -e '</x>;rt="t"' \
        "coaps+tcp://localhost:$TLP/rd?ep=x509dev&lt=60" >"$TMP/reg" 2>&1 || true
    grep -q 'c:2.01' "$TMP/reg" || { cat "$TMP/reg"; return 1; }
    curl -s "$G/api/devices/x509dev" | grep -q '"uri":"coaps+tcp://127.0.0.1:' ||
        { curl -s "$G/api/devices/x509dev"; return 1; }
}
check "coap-client registers over TLS as CN=device-1: the device's URI is coaps+tcp://ITS-SOURCE" rd_reg
refused_name() { # an identity may register its names only
    "$C" -B 5 -v 6 -k devkey -u dev1 -m post -t 40 -e '</x>' "$L/rd?ep=other&lt=60" >"$TMP/reg2" 2>&1 || true
    grep -q 'c:4.03' "$TMP/reg2" || { cat "$TMP/reg2"; return 1; }
}
check "an identity registers a name dtls.identities does not give it: 4.03" refused_name

no_base() { # the device is where its connection is: no base over TLS
    "$C" -B 5 -v 6 -k devkey -u dev1 -m post -t 40 -e '</x>' "$L/rd?ep=dev1&lt=60&base=coap://127.0.0.1:9999" \
        >"$TMP/reg4" 2>&1 || true
    grep -q 'c:4.00' "$TMP/reg4" && [ "$(status "$TMP/b" "$G/api/devices/dev1")" = 404 ] || { cat "$TMP/reg4"; return 1; }
}
check "a registration over TLS with a base: 4.00, nothing registered" no_base
unlisted_cert() { # a certificate from the CA, of a subject not in dtls.identities: no rights
    "$C" -B 5 -v 6 -c "$K/othername.crt" -j "$K/othername.key" -C "$K/ca.crt" -m post -t 40 -e '</x>' \
        "coaps+tcp://localhost:$TLP/rd?ep=x509dev&lt=60" >"$TMP/reg3" 2>&1 || true
    grep -q 'c:4.03' "$TMP/reg3" && grep -q "established as x509:CN=elsewhere (not in dtls.identities: no rights)" "$TMP/gw.log" ||
        { cat "$TMP/reg3"; return 1; }
}
check "a certificate of a subject not in dtls.identities: 4.03, logged as having no rights" unlisted_cert

# --- a device that connects out over TLS ---
. "$(dirname "$0")/connect_out.sh"
simout() { start simout "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "$L" --name dev1 \
    --period-ms 300 -k devkey -u dev1; }
simout
connected_out() {
    wait_for "dev1 registered" served || { cat "$TMP/simout.log"; return 1; }
    grep -q "coaps+tcp: connecting out only" "$TMP/simout.log" && online true &&
        curl -s "$G/api/devices/dev1" | grep -q '"uri":"coaps+tcp://127.0.0.1:' &&
        grep -q "tls: listener: connection with 127.0.0.1:[0-9]* established as psk:dev1" "$TMP/gw.log"
}
check "coapgw-sim --register coaps+tcp:// -k -u: registered as psk:dev1, read over its connection" connected_out
# the sim's sockets: its UDP --listen, and one TCP connection, none listening on TCP
nothing_listens() {
    ! ss -Htlnp | grep -q "pid=$PID_simout," &&
        [ "$(ss -Htnp state established | grep -c "pid=$PID_simout,")" = 1 ]
}
check "the device listens on no TCP port: one connection, out" nothing_listens
check "the connected-out device observed over SSE" out_sse
dropped() { dropped_saying "TLS connection it registered over"; }
check "its connection dropped: offline, 504 saying why, event: error on its stream" dropped
back() { simout && wait_for "dev1 back" served && online true; }
check "it connects and registers again: served again" back
sim_needs_creds() {
    local rc=0
    "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "$L" --name x >"$TMP/sc.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "coaps+tcp:// --register need" "$TMP/sc.out" || { echo "exit $rc: $(cat "$TMP/sc.out")"; return 1; }
}
check "coapgw-sim --register coaps+tcp:// without credentials: exit 2" sim_needs_creds
refused_id() { # a PSK identity the gateway knows nothing of: no handshake, no registration
    start simbad "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "$L" --name dev9 \
        -k devkey -u stranger
    told() { grep -q "tls: listener: handshake with .* failed" "$TMP/gw.log"; }
    wait_for "the refusal" told || return 1
    [ "$(status "$TMP/d" "$G/api/devices/dev9")" = 404 ]
}
check "an identity not in dtls.identities: handshake refused, nothing registered" refused_id

# SIGHUP reads dtls.cert and dtls.key again: new handshakes on the TLS
# listener get them, a device's connection goes on
subject() {
    openssl s_client -connect "127.0.0.1:$TLP" -alpn coap </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null
}
reload_cert() {
    original() { subject | grep -q "CN *= *localhost"; }
    wait_for "the certificate in force" original || { echo "before: $(subject)"; return 1; }
    cp "$K/othername.crt" "$K/server.crt"
    cp "$K/othername.key" "$K/server.key"
    kill -HUP "$PID_gw"
    renewed() { subject | grep -q "CN *= *elsewhere"; }
    wait_for "the new certificate" renewed || { echo "after: $(subject)"; return 1; }
    served || { echo "the device after the reload: $(cat "$TMP/d")"; return 1; }
}
check "SIGHUP: the TLS listener's new handshakes get the new dtls.cert; the device's connection goes on" reload_cert

# --- the key ---
DHP=$(free_port tcp)
start gwdef env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "127.0.0.1:$DHP" --coap-listen "127.0.0.1:$(free_port)" \
    --set state.path=
wait_for "the default gateway" curl -sf "http://127.0.0.1:$DHP/healthz"
listener() {
    grep -q "CoAP over TLS on 127.0.0.1:$TLP" "$TMP/gw.log" && ! grep -q "CoAP over TLS" "$TMP/gwdef.log"
}
effect coap.listen_tls "a TLS listener where set, none by default (off)" listener

no_creds_exit() {
    local rc=0
    env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "127.0.0.1:$(free_port tcp)" --coap-listen "127.0.0.1:$(free_port)" \
        --set state.path= --set coap.listen_tls="127.0.0.1:$(free_port tcp)" >"$TMP/nc.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "coap.listen_tls: the TLS listener needs credentials" "$TMP/nc.out" ||
        { echo "exit $rc: $(cat "$TMP/nc.out")"; return 1; }
}
check "coap.listen_tls without dtls.* credentials: exit 2 naming them" no_creds_exit

tls_limit() { # coap.tcp_max_connections 1 on a TLS listener: a connection that holds it, then ours
    local hp tp
    hp=$(free_port tcp)
    tp=$(free_port tcp)
    start gw5 env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "127.0.0.1:$hp" --coap-listen "127.0.0.1:$(free_port)" \
        --set state.path= --set coap.listen_tls="127.0.0.1:$tp" --set coap.tcp_max_connections=1 \
        --set dtls.identities='[{"psk": "dev1", "key_file": "'"$K/dev1.psk"'", "names": ["dev1"]}]'
    wait_for "gw5" curl -sf "http://127.0.0.1:$hp/healthz" || return 1
    "$C" -B 3 -k devkey -u dev1 "coaps+tcp://127.0.0.1:$tp/.well-known/core" | grep -q '</rd>' || { echo "alone"; return 1; }
    start holder python3 -c "import socket, time; s = socket.create_connection(('127.0.0.1', $tp)); print('held', flush=True); time.sleep(30)"
    wait_for "the first connection" grep -q held "$TMP/holder.log" || return 1
    sleep 0.3 # accepted by the gateway
    "$C" -B 3 -k devkey -u dev1 "coaps+tcp://127.0.0.1:$tp/.well-known/core" 2>/dev/null | grep -q '</rd>' &&
        { echo "a second connection was served"; return 1; }
    curl -s "http://127.0.0.1:$hp/metrics" |
        grep -q 'coapgw_tcp_connections_total{side="tls_server",result="refused"} [1-9]' || return 1
    stop holder
    stop gw5
}
check "coap.tcp_max_connections bounds the TLS listener: a second connection is closed at once" tls_limit

metrics() {
    curl -s "$G/metrics" >"$TMP/m"
    grep -q 'coapgw_tcp_connections{side="tls_server"} [1-9]' "$TMP/m" &&
        grep -q 'coapgw_tcp_connections_total{side="tls_client",result="connected"} [1-9]' "$TMP/m" ||
        { grep coapgw_tcp "$TMP/m"; return 1; }
}
check "/metrics: coapgw_tcp_* with sides tls_server and tls_client" metrics

restart_only() {
    sed -i "s/\"listen_tls\": \"127.0.0.1:$TLP\"/\"listen_tls\": \"127.0.0.1:$(free_port tcp)\"/" "$TMP/gw.json"
    kill -HUP "$PID_gw"
    wait_for "the reload" grep -q "reload: coap.listen_tls changed: takes effect after a restart" "$TMP/gw.log" &&
        "$C" -B 5 -k devkey -u dev1 "$L/.well-known/core" 2>/dev/null | grep -q '</rd>'
}
check "SIGHUP: coap.listen_tls waits for a restart (the listener stays)" restart_only

finish
