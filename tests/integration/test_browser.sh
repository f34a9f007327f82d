#!/usr/bin/env bash
# The device browser (web/, served at /): its headers with curl, then the
# page end to end in Debian's chromium, headless, driven by playwright-core
# (tests/browser/browser.test.mjs) against coapgw and coapgw-sim, the
# EventSource reconnecting by itself across a restart of the gateway, and the
# charts of live values; then a
# device's active content (tests/browser/active.test.mjs): an XHTML page
# with a script must not run, by default nor with inline_active_content;
# then the page again over HTTPS (an HTTPS-only gateway, its certificate
# made here with openssl and pinned for chromium by its key).
# Installs what it needs (as root): chromium and Node.js through
# tools/deps.sh, playwright-core with npm ci.
# COAPGW_UPDATE_SCREENSHOT=1 copies the test's screenshot to docs/screenshot.png.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIM_PORT=$(free_port)
SILENT_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 700
start silent python3 "$HERE/udp_peer.py" silent "$SILENT_PORT"
XHTML_PORT=$(free_port)
start xhtml python3 "$HERE/udp_peer.py" xhtml "$XHTML_PORT"
TOKEN=rw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
RO_TOKEN=ro-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
# gw_json TOKENS: the configuration, with the tokens in one of two spellings
gw_json() {
    cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "silent": "coap://127.0.0.1:$SILENT_PORT",
               "sensors": "coap://127.0.0.1:$SIM_PORT/sensors" },
  "proxy": { "timeout_ms": 1500 }, "sse": { "retry_ms": 1000 },
  "tokens": $1 }
JSON
}
# Token scopes as docs/configuration.md spells them; a gateway without
# --check-config takes the older {"write": true} form.
gw_json "[ { \"token\": \"$TOKEN\", \"name\": \"admin\", \"scope\": \"read-write\" },
            { \"token\": \"$RO_TOKEN\", \"name\": \"viewer\", \"scope\": \"read\" } ]"
if ! "$BUILD/coapgw" --check-config "$TMP/gw.json" >/dev/null 2>&1; then
    gw_json "[ { \"token\": \"$TOKEN\", \"name\": \"admin\", \"write\": true },
              { \"token\": \"$RO_TOKEN\", \"name\": \"viewer\", \"write\": false } ]"
fi
# on sockets sd_launch.py passes in (socket activation), so that the page
# can see its live values go on across a restart of the gateway
start gw python3 "$HERE/sd_launch.py" --tcp "127.0.0.1:$HTTP_PORT" --udp "127.0.0.1:$GW_COAP" \
    --names http:coap --pidfile "$TMP/gw.pid" -- "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/humidity"
AUTH="Authorization: Bearer $TOKEN"


page_headers() {
    [ "$(curl -s -o "$TMP/index" -D "$TMP/headers" -w '%{http_code}' "$G/")" = 200 ] || return 1
    grep -q '<script src="/app.js"' "$TMP/index" || return 1
    ! grep -q '<script>' "$TMP/index" || return 1 # no inline script: the CSP forbids it
    [ "$(hdr Content-Type)" = "text/html; charset=utf-8" ] || return 1
    hdr Content-Security-Policy | grep -q "^default-src 'self'" || return 1
    [ "$(hdr Cache-Control)" = no-cache ] || return 1
    [ -n "$(hdr ETag)" ]
}
check "/ is the page: text/html, CSP default-src 'self', no-cache, an ETag" page_headers

assets() {
    curl -s -o "$TMP/js" -D "$TMP/headers" "$G/app.js" || return 1
    [ "$(hdr Content-Type)" = "text/javascript; charset=utf-8" ] || return 1
    cmp -s "$TMP/js" "$ROOT/web/app.js" || return 1 # embedded at build time, byte for byte
    curl -s -o "$TMP/chart" -D "$TMP/headers" "$G/chart.js" || return 1
    [ "$(hdr Content-Type)" = "text/javascript; charset=utf-8" ] || return 1
    cmp -s "$TMP/chart" "$ROOT/web/chart.js" || return 1
    curl -s -o "$TMP/resource" -D "$TMP/headers" "$G/resource.js" || return 1
    [ "$(hdr Content-Type)" = "text/javascript; charset=utf-8" ] || return 1
    cmp -s "$TMP/resource" "$ROOT/web/resource.js" || return 1
    curl -s -o "$TMP/css" -D "$TMP/headers" "$G/style.css" || return 1
    [ "$(hdr Content-Type)" = "text/css; charset=utf-8" ] || return 1
    cmp -s "$TMP/css" "$ROOT/web/style.css"
}
check "/app.js, /chart.js, /resource.js and /style.css: their types, the files of web/" assets

revalidate() {
    curl -s -o /dev/null -D "$TMP/headers" "$G/app.js" || return 1
    local etag
    etag=$(hdr ETag)
    [ "$(curl -s -o "$TMP/b304" -w '%{http_code}' -H "If-None-Match: $etag" "$G/app.js")" = 304 ] || return 1
    [ ! -s "$TMP/b304" ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$G/app.js")" = 200 ] || return 1
    [ "$(curl -s -I -o /dev/null -w '%{http_code}' "$G/")" = 200 ]
}
check "If-None-Match with the ETag: 304 without a body; another tag: 200; HEAD" revalidate

help_text() {
    curl -s "$G/help" | grep -q '/devices/NAME/PATH' || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$G/nothing.js")" = 404 ]
}
check "/help keeps the plain-text list of URLs; unknown files are 404" help_text

# The page holds no data: it loads without a token (a browser cannot put one
# on <script src>); what it fetches then needs one.
page_is_public() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/app.js")" = 200 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/chart.js")" = 200 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/resource.js")" = 200 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/help")" = 200 ] || return 1 # the footer's link
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/api/devices")" = 401 ]
}
check "with tokens: the page and /help load without one, the API does not" page_is_public

# --- the browser ---------------------------------------------------------
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        finish
        echo "SKIP: chromium, node or npm missing (tools/deps.sh test, as root, installs them)"
        exit 77
    fi
    bash "$ROOT/tools/deps.sh" test
fi
# npm ci only when the lock file changed since the last install.
if ! cmp -s "$ROOT/tests/browser/package-lock.json" "$ROOT/tests/browser/node_modules/.coapgw-lock"; then
    (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 ||
        { cat "$TMP/npm.log"; fail "npm ci in tests/browser"; finish; exit 1; }
    cp "$ROOT/tests/browser/package-lock.json" "$ROOT/tests/browser/node_modules/.coapgw-lock"
fi

browser() {
    COAPGW_URL=$G COAPGW_SILENT=silent COAPGW_SCREENSHOT="$TMP/screenshot.png" CHROMIUM=$CHROMIUM \
        COAPGW_TOKEN=$TOKEN COAPGW_RO_TOKEN=$RO_TOKEN COAPGW_BASE_PATH_DEVICE=sensors \
        COAPGW_RD="coap://127.0.0.1:$GW_COAP" COAPGW_SIM="coap://127.0.0.1:$SIM_PORT" \
        COAPGW_CLIENT="$BUILD/coapgw-client" COAPGW_RESTART_PID=$PID_gw \
        timeout 240 node "$ROOT/tests/browser/browser.test.mjs" >"$TMP/browser.log" 2>&1
    local rc=$?
    sed 's/^/    /' "$TMP/browser.log"
    return $rc
}
check "in chromium: token, demo listed, resources, read, write, live values change and chart, errors shown, base paths, hostile hrefs, live values resume after a gateway restart" browser

# Two gateways without tokens, with a device that answers XHTML (CF 41)
# with a script: one with the defaults, one with inline_active_content.
active_gw() { # active_gw NAME PORT INLINE
    cat >"$TMP/$1.json" <<JSON
{ "http": { "listen": "127.0.0.1:$2", "inline_active_content": $3 },
  "coap": { "listen": "127.0.0.1:0" }, "devices": { "evil": "coap://127.0.0.1:$XHTML_PORT" } }
JSON
    start "$1" "$BUILD/coapgw" --config "$TMP/$1.json"
}
ATTACH_PORT=$(free_port tcp)
INLINE_PORT=$(free_port tcp)
active_gw gw_attach "$ATTACH_PORT" false
active_gw gw_inline "$INLINE_PORT" true
GA=http://127.0.0.1:$ATTACH_PORT
GI=http://127.0.0.1:$INLINE_PORT
wait_for "the gateway with defaults" curl -sf "$GA/healthz"
wait_for "the gateway with inline_active_content" curl -sf "$GI/healthz"

active_headers() {
    [ "$(status "$TMP/a1" "$GA/devices/evil/page")" = 200 ] || return 1
    [ "$(hdr Content-Disposition)" = attachment ] && [ "$(hdr X-Content-Type-Options)" = nosniff ] || return 1
    [ "$(hdr Content-Security-Policy)" = "default-src 'none'; sandbox" ] || return 1
    [ "$(status "$TMP/a2" "$GI/devices/evil/page")" = 200 ] || return 1
    [ -z "$(hdr Content-Disposition)" ] && [ "$(hdr Content-Security-Policy)" = "default-src 'none'; sandbox" ]
}
check "a device's XHTML (CF 41): attachment by default, inline with inline_active_content; CSP sandbox both" active_headers

active() {
    COAPGW_ATTACH_URL=$GA COAPGW_INLINE_URL=$GI COAPGW_ACTIVE_PATH=/devices/evil/page CHROMIUM=$CHROMIUM \
        timeout 120 node "$ROOT/tests/browser/active.test.mjs" >"$TMP/active.log" 2>&1
    local rc=$?
    sed 's/^/    /' "$TMP/active.log"
    return $rc
}
check "in chromium: a device's XHTML with a script is downloaded (default) or shown, and its script never runs" active

# HTTPS only, the same devices, no token; chromium accepts exactly this
# certificate's key (its SPKI hash), so the page is a secure context.
need openssl
HTTPS_PORT=$(free_port tcp)
mkdir -p "$TMP/pki"
tls_cert "$TMP/pki" ca "coapgw test CA" 100 ca
tls_cert "$TMP/pki" server 127.0.0.1 1001 server ca
cat "$TMP/pki/server.crt" "$TMP/pki/ca.crt" >"$TMP/pki/chain.crt"
cat >"$TMP/https.json" <<JSON
{ "http": { "listen": "off", "listen_tls": "127.0.0.1:$HTTPS_PORT",
            "tls_cert": "$TMP/pki/chain.crt", "tls_key": "$TMP/pki/server.key" },
  "coap": { "listen": "127.0.0.1:0" }, "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
start gw_https "$BUILD/coapgw" --config "$TMP/https.json"
GS=https://127.0.0.1:$HTTPS_PORT
wait_for "the HTTPS gateway" curl -sf --cacert "$TMP/pki/ca.crt" "$GS/healthz"
SPKI=$(openssl x509 -in "$TMP/pki/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)

browser_https() {
    COAPGW_URL=$GS COAPGW_SPKI=$SPKI CHROMIUM=$CHROMIUM \
        timeout 240 node "$ROOT/tests/browser/browser.test.mjs" >"$TMP/browser_https.log" 2>&1
    local rc=$?
    sed 's/^/    /' "$TMP/browser_https.log"
    return $rc
}
check "in chromium over HTTPS (HTTPS only): a secure context, demo listed, read, write, live values change" browser_https

if [ "${COAPGW_UPDATE_SCREENSHOT:-}" = 1 ] && [ -s "$TMP/screenshot.png" ]; then
    cp "$TMP/screenshot.png" "$ROOT/docs/screenshot.png"
    echo "updated docs/screenshot.png"
fi
finish
