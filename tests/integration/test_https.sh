#!/usr/bin/env bash
# HTTPS front end (issue #15): curl and openssl against coapgw's
# libmicrohttpd + GnuTLS listener, with keys and certificates made here
# (openssl): a test CA, server certificates for 127.0.0.1 (serials 1001
# and 2002), a client certificate from the CA and one from another CA.
#
# Gateway A: HTTP and HTTPS side by side, header deadline 1 s, at most 4
# connections per address. Gateway B: HTTPS only (http.listen off), with
# client certificates (http.tls_client_ca) and a token.
. "$(dirname "$0")/lib.sh"
need curl openssl python3
HERE=$(cd "$(dirname "$0")" && pwd)
PKI=$TMP/pki
mkdir -p "$PKI"
tls_cert "$PKI" ca "coapgw test CA" 100 ca
tls_cert "$PKI" server 127.0.0.1 1001 server ca
tls_cert "$PKI" server2 127.0.0.1 2002 server ca
tls_cert "$PKI" client "a client" 3 client ca
tls_cert "$PKI" other "another CA" 200 ca
tls_cert "$PKI" stranger "a stranger" 4 client other
# what gateway A reads: replaced by server2 for the reload
cp -p "$PKI/server.crt" "$PKI/live.crt"
cp -p "$PKI/server.key" "$PKI/live.key"

SIM_PORT=$(free_port)
HA=$(free_port tcp)
SA=$(free_port tcp)
SB=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 300
TOKEN=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
cat >"$TMP/a.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HA", "listen_tls": "127.0.0.1:$SA",
            "tls_cert": "$PKI/live.crt", "tls_key": "$PKI/live.key",
            "header_timeout_ms": 1000, "max_connections_per_ip": 4 },
  "coap": { "listen": "127.0.0.1:0" }, "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
cat >"$TMP/b.json" <<JSON
{ "http": { "listen": "off", "listen_tls": "127.0.0.1:$SB", "tls_cert": "$PKI/server.crt",
            "tls_key": "$PKI/server.key", "tls_client_ca": "$PKI/ca.crt" },
  "coap": { "listen": "127.0.0.1:0" }, "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "tokens": [ { "token": "$TOKEN", "scope": "read-write" } ] }
JSON
start gwA "$BUILD/coapgw" --config "$TMP/a.json"
start gwB "$BUILD/coapgw" --config "$TMP/b.json"
A=https://127.0.0.1:$SA
B=https://127.0.0.1:$SB
TLS=(--cacert "$PKI/ca.crt")
MTLS=(--cacert "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key")
AUTH="Authorization: Bearer $TOKEN"
wait_for "gateway A (HTTPS)" curl -sf "${TLS[@]}" "$A/healthz"
wait_for "gateway B (HTTPS)" curl -sf "${MTLS[@]}" "$B/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"

code() { status "$TMP/body" "$@"; } # code CURL-ARGS...: the status; body in $TMP/body
is() {                              # is WANT CURL-ARGS...: the status is WANT
    local got
    got=$(code "${@:2}")
    [ "$got" = "$1" ] || { echo "  ${*: -1}: $got, not $1 ($(head -c 200 "$TMP/body"))"; return 1; }
}
says() { grep -q "$1" "$TMP/body" || { echo "  the answer does not say $1: $(head -c 300 "$TMP/body")"; return 1; }; }
serial() { # serial PORT: the serial number of the certificate the server there presents
    openssl s_client -connect "127.0.0.1:$1" -CAfile "$PKI/ca.crt" </dev/null 2>/dev/null |
        openssl x509 -noout -serial | cut -d= -f2
}

side_by_side() {
    is 200 "${TLS[@]}" "$A/devices/demo/sensors/temperature" || return 1
    grep -Eq '^-?[0-9]+(\.[0-9]+)?$' "$TMP/body" || return 1
    is 200 "http://127.0.0.1:$HA/devices/demo/sensors/temperature" || return 1
    grep -q "HTTP on 127.0.0.1:$HA (port $HA), HTTPS on 127.0.0.1:$SA (port $SA)" "$TMP/gwA.log" &&
        grep -q "HTTPS certificate: subject CN=127.0.0.1, serial 1001, valid until" "$TMP/gwA.log"
}
check "curl --cacert: HTTPS GET /devices/demo/... is 200, HTTP beside it too; the log names both and the certificate" side_by_side

plain_on_tls() {
    local rc=0 out
    rm -f "$TMP/body"
    out=$(curl -s -m 3 -o "$TMP/body" -w '%{http_code}' "http://127.0.0.1:$SA/healthz") || rc=$?
    echo "  curl http:// on the HTTPS port: exit $rc, status $out"
    [ "$rc" != 0 ] && [ "$out" = 000 ] && [ ! -s "$TMP/body" ] || return 1
    is 200 "${TLS[@]}" "$A/healthz" # and it goes on
}
check "plain HTTP on the HTTPS port: no HTTP answer, the connection closes; HTTPS goes on" plain_on_tls

https_only() {
    grep -q "HTTP off, HTTPS on 127.0.0.1:$SB (port $SB)" "$TMP/gwB.log" || return 1
    is 200 "${MTLS[@]}" -H "$AUTH" "$B/devices/demo/sensors/temperature"
}
check "HTTPS only (http.listen off): the log says so, HTTPS serves" https_only

events() { grep -c '^event: notification' "$TMP/$1.log" || true; }
sse_over_tls() {
    start s1 timeout 3 curl -sN "${TLS[@]}" -H 'Accept: text/event-stream' "$A/devices/demo/sensors/temperature"
    start s2 timeout 3 curl -sN "${MTLS[@]}" "$B/events?target=/devices/demo/sensors/humidity&access_token=$TOKEN"
    wait "$PID_s1" "$PID_s2" || true
    echo "  notifications: A $(events s1), B (/events, access_token) $(events s2)"
    [ "$(events s1)" -ge 3 ] && [ "$(events s2)" -ge 3 ] &&
        grep -q '"payload":' "$TMP/s1.log" && grep -q 'sensors/humidity' "$TMP/s2.log"
}
check "SSE over HTTPS: Accept: text/event-stream and /events (token as access_token) receive notifications" sse_over_tls

https_requests() { # on A, seen from its HTTP side
    curl -s "http://127.0.0.1:$HA/metrics" | awk '$1 == "coapgw_https_requests_total" { print $2 }'
}
sse_ended_on_a() { # the gateway saw s1's client go (at its next event) and counted the request
    [ "$(curl -s "http://127.0.0.1:$HA/metrics" | awk '$1 == "coapgw_sse_subscribers" { print $2 }')" = 0 ]
}
ops_over_tls() {
    local n0 n1
    within 10 sse_ended_on_a || { echo "  the stream of the check before still open on A"; return 1; }
    n0=$(https_requests)
    is 200 "${TLS[@]}" "$A/healthz" && says '"ok"' || return 1
    is 200 "${TLS[@]}" "$A/metrics" && grep -q '^coapgw_https_requests_total ' "$TMP/body" || return 1
    n1=$(https_requests)
    echo "  coapgw_https_requests_total $n0, then $n1"
    [ "$n1" = $((n0 + 2)) ] || return 1
    is 200 "${TLS[@]}" "$A/api/devices" && says '"name":"demo"' || return 1
    is 200 "${TLS[@]}" "$A/" && grep -q '<script src="/app.js"' "$TMP/body" || return 1
    hdr Content-Security-Policy | grep -q "^default-src 'self'"
}
check "/healthz, /metrics (coapgw_https_requests_total), /api and the page over HTTPS" ops_over_tls

guards_over_tls() {
    local post=(-X POST -H 'Content-Type: text/plain' -d hi)
    is 200 "${TLS[@]}" "${post[@]}" -H "Origin: https://127.0.0.1:$SA" "$A/devices/demo/echo" || return 1
    [ "$(cat "$TMP/body")" = hi ] || return 1
    is 403 "${TLS[@]}" "${post[@]}" -H 'Origin: https://evil.example' "$A/devices/demo/echo" &&
        says http.trusted_origins || return 1
    # the same host and port under the other scheme is another origin
    is 403 "${TLS[@]}" "${post[@]}" -H "Origin: http://127.0.0.1:$SA" "$A/devices/demo/echo" || return 1
    is 421 "${TLS[@]}" -H 'Host: evil.example' "$A/devices/demo/sensors/temperature" || return 1
    is 200 "${TLS[@]}" "$A/devices/demo/sensors/temperature" || return 1
    [ "$(hdr X-Content-Type-Options)" = nosniff ] &&
        [ "$(hdr Content-Security-Policy)" = "default-src 'none'; sandbox" ]
}
check "on HTTPS: Origin https://127.0.0.1:PORT passes, https://evil.example and http://127.0.0.1:PORT get 403; Host check 421; nosniff and CSP" guards_over_tls

subscribers() { curl -s "http://127.0.0.1:$HA/metrics" | awk '$1 == "coapgw_sse_subscribers" { print $2 }'; }
per_ip_over_tls() {
    wait_for "the event streams to end" eval '[ "$(subscribers)" = 0 ]' || return 1
    COAPGW_CAFILE=$PKI/ca.crt python3 "$HERE/http_conns.py" per_ip "$SA" 4 >"$TMP/perip.out"
    sed 's/^/  /' "$TMP/perip.out"
    grep -qx 'extra refused' "$TMP/perip.out" && grep -qx 'held answered 4/4' "$TMP/perip.out"
}
check "http.max_connections_per_ip 4 on HTTPS: a fifth connection is refused, the four are served" per_ip_over_tls

stalled_handshake() {
    python3 "$HERE/http_conns.py" tls_stall "$SA" 3 >"$TMP/stall.out"
    sed 's/^/  /' "$TMP/stall.out"
    [ "$(grep -Ec '^stall closed after (0\.9|1\.[0-8])' "$TMP/stall.out")" = 2 ] || return 1
    is 200 "${TLS[@]}" "$A/healthz"
}
check "a TLS handshake that stalls (nothing, or half a ClientHello) is closed after http.header_timeout_ms (1 s)" stalled_handshake

mutual() {
    is 403 "${TLS[@]}" -H "$AUTH" "$B/devices/demo/sensors/temperature" &&
        says 'no client certificate was presented' || return 1
    is 403 --cacert "$PKI/ca.crt" --cert "$PKI/stranger.crt" --key "$PKI/stranger.key" -H "$AUTH" \
        "$B/devices/demo/sensors/temperature" && says 'NOT trusted' || return 1
    is 200 "${MTLS[@]}" -H "$AUTH" "$B/devices/demo/sensors/temperature" || return 1
    is 401 "${MTLS[@]}" "$B/devices/demo/sensors/temperature" # a certificate is not a token
}
check "mutual TLS: no client certificate 403, one from another CA 403 (NOT trusted), the CA's 200; tokens still apply (401)" mutual

reload() {
    start live timeout 30 curl -sN "${TLS[@]}" -H 'Accept: text/event-stream' "$A/devices/demo/sensors/temperature"
    wait_for "events on the stream" eval '[ "$(events live)" -ge 2 ]' || return 1
    [ "$(serial "$SA")" = 1001 ] || { echo "  serial before: $(serial "$SA")"; return 1; }
    cp -p "$PKI/server2.crt" "$PKI/live.crt"
    cp -p "$PKI/server2.key" "$PKI/live.key"
    kill -HUP "$PID_gwA"
    wait_for "the reload" grep -q 'reload: HTTPS certificate: subject CN=127.0.0.1, serial 2002' "$TMP/gwA.log" || return 1
    local n0 got
    n0=$(events live)
    got=$(serial "$SA")
    echo "  serial after SIGHUP: $got"
    [ "$got" = 2002 ] || return 1
    is 200 "${TLS[@]}" "$A/devices/demo/sensors/temperature" || return 1
    sleep 1.5
    echo "  the stream opened before: $n0 events at the reload, $(events live) now"
    [ "$(events live)" -ge $((n0 + 3)) ] && ! grep -q '^event: error' "$TMP/live.log"
}
check "SIGHUP re-reads the certificate: a new connection sees serial 2002; a stream opened before goes on" reload

bad_reload() {
    echo "not a certificate" >"$PKI/live.crt"
    kill -HUP "$PID_gwA"
    wait_for "the refusal" grep -q 'reload refused: http.tls_cert, http.tls_key: certificate .*live.crt' "$TMP/gwA.log" || return 1
    [ "$(serial "$SA")" = 2002 ] || return 1 # what was in force stays
    cp -p "$PKI/server2.crt" "$PKI/live.crt"
    chmod 644 "$PKI/live.key"
    kill -HUP "$PID_gwA"
    wait_for "the refusal" grep -q "reload refused: http.tls_key: $PKI/live.key is open to other users (mode 0644)" "$TMP/gwA.log" || return 1
    chmod 600 "$PKI/live.key"
    is 200 "${TLS[@]}" "$A/healthz"
}
check "a reload with a broken certificate, or a key others may read, is refused; the certificate in force stays" bad_reload

# refused PATTERN ARGS...: coapgw ARGS exits 2 and says PATTERN
refused() {
    local rc=0
    timeout 5 "$BUILD/coapgw" --set coap.listen=127.0.0.1:0 "${@:2}" >"$TMP/refused.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q -- "$1" "$TMP/refused.out" || { echo "  exit $rc: $(cat "$TMP/refused.out")"; return 1; }
}
start_refusals() {
    local tls=(--set http.listen=127.0.0.1:0 --https-listen 127.0.0.1:0)
    cp -p "$PKI/server.key" "$PKI/open.key"
    chmod 640 "$PKI/open.key" # a group may read it, not others
    "$BUILD/coapgw" --check-config "$TMP/a.json" --set "http.tls_key=$PKI/open.key" \
        --set "http.tls_cert=$PKI/server.crt" >/dev/null || { echo "  mode 0640 refused"; return 1; }
    chmod 604 "$PKI/open.key"
    refused "http.tls_key: $PKI/open.key is open to other users (mode 0604): a private key must not be (chmod o-rwx $PKI/open.key)" \
        "${tls[@]}" --set "http.tls_cert=$PKI/server.crt" --set "http.tls_key=$PKI/open.key" || return 1
    refused "private key $PKI/server2.key is not the key of the certificate" \
        "${tls[@]}" --set "http.tls_cert=$PKI/server.crt" --set "http.tls_key=$PKI/server2.key" || return 1
    refused "private key $PKI/server2.key is not the key" --check-config "$TMP/a.json" \
        --set "http.tls_cert=$PKI/server.crt" --set "http.tls_key=$PKI/server2.key" || return 1
    refused "http.tls_client_ca: CA certificates $PKI/ca.key" --check-config "$TMP/b.json" \
        --set "http.tls_client_ca=$PKI/ca.key" || return 1
    refused "http.listen_tls: HTTPS needs http.tls_cert and http.tls_key" "${tls[@]}" || return 1
    refused "http.listen and http.listen_tls are both off" --set http.listen=off
}
check "start and --check-config refuse (exit 2): a key others may read, a key not the certificate's, a bad CA file, HTTPS without a certificate, no listener" start_refusals

finish
