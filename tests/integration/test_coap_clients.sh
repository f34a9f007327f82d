#!/usr/bin/env bash
# The CoAP forward proxy serves proxy.coap_clients only (RFC 7252 §11.2,
# §11.3): a PUT with Proxy-Uri to coapgw-sim's LED from 10.9.0.1 gets a
# bare 4.03 and changes nothing; from 127.0.0.1 it works; the list applies
# on reload; with tokens, proxy.coap_clients beyond loopback needs
# proxy.coap_clients_trusted at start (exit 2) and on reload (refused with a
# log line). The source 10.9.0.1 is an address outside loopback, so this
# runs inside a network namespace with only loopback and a dummy interface
# (or, where the dummy driver is missing, the address on lo).
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
if ip link add d0 type dummy 2>/dev/null; then
    ip link set d0 up
    ip addr add 10.9.0.1/24 dev d0
else
    ip addr add 10.9.0.1/32 dev lo
fi
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
TOKEN=0123456789abcdef0123
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
# gw_config CLIENTS [TRUSTED [EXTRA]]: the gateway's file with
# proxy.coap_clients = CLIENTS, proxy.coap_clients_trusted = TRUSTED
gw_config() {
    cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": {}, "proxy": { "coap_clients": [$1], "coap_clients_trusted": ${2:-false} } ${3:-} }
JSON
}
gw_config '"127.0.0.0/8", "::1"'
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
LED=coap://127.0.0.1:$SIM_PORT/actuators/led
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "$LED"

# proxy_put FROM VALUE: PUT VALUE to the LED through the gateway's proxy
# from source address FROM with libcoap's client; prints the code, keeps
# the message log in $TMP/coap.out
proxy_put() {
    coap-client-notls -v 6 -B 3 -a "$1" -m put -e "$2" -P "coap://127.0.0.1:$GW_COAP" "$LED" \
        >"$TMP/coap.out" 2>&1 || true
    grep -o 't:ACK c:[0-9.]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://'
}
led() { "$BUILD/coapgw-client" -T 2 "$LED"; }
# no payload in the 4.03 (libcoap prints one as " :: '...'")
bare_403() { grep 'c:4.03' "$TMP/coap.out" | grep -vq '::'; }

outsider_refused() {
    [ "$(led)" = off ] || return 1
    [ "$(proxy_put 10.9.0.1 on)" = 4.03 ] || return 1
    bare_403 || return 1
    [ "$(led)" = off ] # nothing reached the device
}
check "PUT with Proxy-Uri from 10.9.0.1 (not in proxy.coap_clients): bare 4.03, LED unchanged" outsider_refused

amplification() { # RFC 7252 §11.3: the answer is no larger than the request
    python3 "$HERE/coap_raw.py" 10.9.0.1 127.0.0.1 "$GW_COAP" --non --code 1 \
        --opt "35=coap://127.0.0.1:$SIM_PORT/.well-known/core" >"$TMP/raw.out" || return 1
    local code plen alen rlen _
    read -r code plen alen rlen _ <"$TMP/raw.out"
    [ "$code" = 4.03 ] && [ "$plen" = 0 ] && [ "$alen" -le "$rlen" ]
}
check "a NON GET /.well-known/core through the proxy from 10.9.0.1: 4.03 smaller than the request" amplification

loopback_served() {
    [ "$(proxy_put 127.0.0.1 on)" = 2.04 ] || return 1
    [ "$(led)" = on ] || return 1
    # coapgw-client as the proxy client too
    "$BUILD/coapgw-client" -T 3 -P "127.0.0.1:$GW_COAP" -m put -e off "$LED" || return 1
    [ "$(led)" = off ]
}
check "the same PUT from 127.0.0.1 (libcoap, coapgw-client -P) works" loopback_served

reload_widens() {
    gw_config '"127.0.0.0/8", "10.9.0.0/24"'
    reload || return 1
    [ "$(proxy_put 10.9.0.1 on)" = 2.04 ] && [ "$(led)" = on ] || return 1
    gw_config '"127.0.0.0/8"'
    reload || return 1
    [ "$(proxy_put 10.9.0.1 off)" = 4.03 ] && [ "$(led)" = on ] || return 1
    [ "$(proxy_put 127.0.0.1 off)" = 2.04 ] && [ "$(led)" = off ]
}
check "proxy.coap_clients applies on SIGHUP (widened, then narrowed again)" reload_widens

TOKENS=', "tokens": [{"token": "'$TOKEN'", "scope": "read-write"}]'
reload_refused() {
    gw_config '"10.0.0.0/8"' false "$TOKENS"
    reload || return 1
    grep 'reload refused' "$TMP/gw.log" | tail -1 | grep -q 'proxy.coap_clients_trusted' || return 1
    [ "$(proxy_put 10.9.0.1 on)" = 4.03 ] && [ "$(led)" = off ] # the old list stays
}
check "a reload to tokens + proxy.coap_clients 10.0.0.0/8 is refused with a log line" reload_refused
stop gw

start_refused() {
    gw_config '"10.0.0.0/8"' false "$TOKENS"
    local rc=0
    timeout 10 "$BUILD/coapgw" --config "$TMP/gw.json" >"$TMP/refused.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] || { echo "exit $rc"; return 1; }
    grep -q 'proxy.coap_clients_trusted' "$TMP/refused.out"
}
check "tokens + proxy.coap_clients 10.0.0.0/8: start refused (exit 2) naming proxy.coap_clients_trusted" start_refused

start_trusted() {
    gw_config '"10.0.0.0/8"' true "$TOKENS"
    start gw "$BUILD/coapgw" --config "$TMP/gw.json"
    wait_for "coapgw with coap_clients_trusted" curl -s -o /dev/null "$G/healthz" || return 1
    [ "$(proxy_put 10.9.0.1 on)" = 2.04 ] && [ "$(led)" = on ] || return 1
    [ "$(proxy_put 127.0.0.1 off)" = 4.03 ] # not in 10.0.0.0/8
}
check "... accepted with proxy.coap_clients_trusted true; 10.9.0.1 is served" start_trusted
stop gw
finish
