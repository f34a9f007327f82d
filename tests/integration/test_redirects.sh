#!/usr/bin/env bash
# Redirects from HTTP origins in the reverse direction (proxy.max_redirects):
# libcoap's coap-client-notls sends Proxy-Uri requests to coapgw's CoAP
# port; the origin answers 3xx. Followed up to the limit, each hop checked
# against proxy.allow_origins before it is fetched; 303 turns into GET,
# 307 keeps method and body; a hop to a refused origin is 4.03 and never
# fetched; one redirect too many is 5.02.
. "$(dirname "$0")/lib.sh"
need coap-client-notls python3 curl
HERE=$(cd "$(dirname "$0")" && pwd)
ORIGIN=$(free_port tcp)
OTHER=$(free_port tcp)
HTTP_PORT=$(free_port tcp)
HTTP0=$(free_port tcp)
GW_COAP=$(free_port)
GW0_COAP=$(free_port)
start origin python3 "$HERE/http_origin.py" "$ORIGIN"
ORIGIN_LOG=1 start other python3 "$HERE/http_origin.py" "$OTHER" # not in the allowlist
# gw: max_redirects 2; gw0: the default (0)
for g in gw:$HTTP_PORT:$GW_COAP:2 gw0:$HTTP0:$GW0_COAP:; do
    IFS=: read -r name hp cp max <<<"$g"
    cat >"$TMP/$name.json" <<JSON
{ "http": { "listen": "127.0.0.1:$hp" }, "coap": { "listen": "127.0.0.1:$cp" },
  "proxy": { "allow_origins": ["http://127.0.0.1:$ORIGIN"], "timeout_ms": 3000
             ${max:+, \"max_redirects\": $max} } }
JSON
    start "$name" "$BUILD/coapgw" --config "$TMP/$name.json" --log-level debug
done
wait_for "coapgw" curl -sf "http://127.0.0.1:$HTTP_PORT/healthz"
wait_for "coapgw (default)" curl -sf "http://127.0.0.1:$HTTP0/healthz"
wait_for "origin" curl -sf "http://127.0.0.1:$ORIGIN/hello"
wait_for "other origin" curl -sf "http://127.0.0.1:$OTHER/hello"
O=http://127.0.0.1:$ORIGIN

# ask PORT URL [coap-client args]: the response code and payload, one line
ask() {
    local port=$1 url=$2
    shift 2
    coap-client-notls -v 6 -B 5 "$@" -P "coap://127.0.0.1:$port" "$url" >"$TMP/ask" 2>&1 || true
    local code
    code=$(grep -o 'c:[0-9]\.[0-9][0-9]' "$TMP/ask" | tail -1 | cut -c3-)
    echo "$code $(grep -v '^v:\|^[A-Z][a-z][a-z] [0-9]' "$TMP/ask" | tr -d '\n')"
}

chain_of_two() {
    local got
    got=$(ask "$GW_COAP" "$O/redir/2")
    [[ "$got" == "2.05 "*arrived* ]] || { echo "got: $got"; return 1; }
}
check "a chain of 2 redirects with proxy.max_redirects 2: followed, 2.05 from the last" chain_of_two

chain_of_three() {
    local got
    got=$(ask "$GW_COAP" "$O/redir/3")
    [[ "$got" == "5.02 "*"too many redirects"* ]] || { echo "got: $got"; return 1; }
}
check "a chain of 3 with max 2: 5.02 \"too many redirects\"" chain_of_three

refused_hop() {
    local got before
    before=$(grep -c "^GET /hello" "$TMP/other.log" || true)
    got=$(ask "$GW_COAP" "$O/goto?u=http%3A%2F%2F127.0.0.1%3A$OTHER%2Fhello")
    [[ "$got" == "4.03 "*"refused"*"proxy.allow_origins"* ]] || { echo "got: $got"; return 1; }
    [ "$(grep -c "^GET /hello" "$TMP/other.log" || true)" = "$before" ] ||
        { echo "the refused origin was fetched"; return 1; }
}
check "a hop to an origin not in proxy.allow_origins: 4.03 naming it, never fetched" refused_hop

see_other() {
    local got
    got=$(ask "$GW_COAP" "$O/see-other" -m post -e payload)
    [[ "$got" == "2.04 "*">>GET " ]] || { echo "got: $got"; return 1; } # /echo: the method, no body
}
check "303 See Other: followed as GET without the body (RFC 9110 §15.4.4)" see_other

keep_method() {
    local got
    got=$(ask "$GW_COAP" "$O/keep-method" -m post -e payload)
    [[ "$got" == "2.04 "*">>POST payload" ]] || { echo "got: $got"; return 1; }
}
check "307: followed with the same method and body" keep_method

not_followed() {
    local a b
    a=$(ask "$GW0_COAP" "$O/redir/1")
    b=$(ask "$GW_COAP" "$O/redir/1")
    [[ "$a" == "5.02"* ]] && [[ "$b" == "2.05 "*arrived* ]] || { echo "default: $a; max 2: $b"; return 1; }
}
effect proxy.max_redirects "0 (default) maps the 302 as 5.02, 2 follows it to 2.05" not_followed

finish
