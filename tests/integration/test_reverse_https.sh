#!/usr/bin/env bash
# The reverse direction to https:// origins: a CoAP client -> coapgw's
# forward proxy -> libcurl over TLS (its GnuTLS flavour since issue #19,
# tools/deps.sh) -> an HTTPS origin. libcurl checks the origin's
# certificate against the system's CA bundle; the gateway runs in a mount
# namespace of its own where the test's CA is bind-mounted over that file,
# so nothing outside the test sees it.
. "$(dirname "$0")/lib.sh"
need python3 curl openssl unshare
unshare -m true 2>/dev/null || { echo "skip: no mount namespace here"; exit 77; }
BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -f "$BUNDLE" ] || { echo "skip: no $BUNDLE"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
tls_cert "$TMP" ca "coapgw test CA" 01 ca
tls_cert "$TMP" origin "origin" 02 server ca
tls_cert "$TMP" other-ca "another CA" 03 ca
tls_cert "$TMP" stranger "stranger" 04 server other-ca
TRUSTED=$(free_port tcp)
UNTRUSTED=$(free_port tcp)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
ORIGIN_TLS=$TMP/origin.crt:$TMP/origin.key start origin python3 "$HERE/http_origin.py" "$TRUSTED"
ORIGIN_TLS=$TMP/stranger.crt:$TMP/stranger.key start stranger python3 "$HERE/http_origin.py" "$UNTRUSTED"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "proxy": { "allow_origins": ["https://127.0.0.1:$TRUSTED", "https://127.0.0.1:$UNTRUSTED"],
             "timeout_ms": 3000 } }
JSON
# exec keeps the PID start records: stopping it stops the gateway
# shellcheck disable=SC2016 # $1, $2 and $@ are the inner shell's
start gw unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh \
    "$TMP/ca.crt" "$BUNDLE" "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
wait_for "coapgw" curl -sf "http://127.0.0.1:$HTTP_PORT/healthz"
wait_for "origin" curl -sf --cacert "$TMP/ca.crt" "https://127.0.0.1:$TRUSTED/hello"
P=127.0.0.1:$GW_COAP
O=https://127.0.0.1:$TRUSTED
C=$BUILD/coapgw-client

get() {
    [ "$("$C" -P "$P" "$O/hello")" = hello ] || return 1
    "$C" -v -P "$P" "$O/hello" 2>"$TMP/v" >/dev/null
    grep -q "2.05 Content" "$TMP/v" && grep -q "ETag: 61623132" "$TMP/v"
}
check "GET https:// through the proxy: 2.05 over TLS, the origin's certificate checked" get

post() {
    [ "$("$C" -P "$P" -m post -t application/json -e '{"a":1}' "$O/echo")" = 'POST {"a":1}' ]
}
check "POST with a body to an https:// origin" post

big() {
    curl -s --cacert "$TMP/ca.crt" -o "$TMP/big.ref" "$O/big"
    "$C" -P "$P" "$O/big" >"$TMP/big.ours" || return 1
    cmp -s "$TMP/big.ref" "$TMP/big.ours"
}
check "300 KiB over TLS, block-wise to the client, byte for byte" big

untrusted() {
    local rc=0
    "$C" -P "$P" "https://127.0.0.1:$UNTRUSTED/hello" 2>"$TMP/u" >"$TMP/ub" || rc=$?
    # the body is curl's reason (its wording depends on curl's TLS library)
    [ $rc -eq 1 ] && grep -q "5.02" "$TMP/u" && grep -qi certificate "$TMP/ub" && ! grep -qx hello "$TMP/ub"
}
check "an origin whose certificate no trusted CA signed -> 5.02 naming the certificate, nothing of its answer" untrusted

stop gw
finish
