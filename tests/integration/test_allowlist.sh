#!/usr/bin/env bash
# The allowlist refuses public targets (no open proxy). This test names
# documentation addresses (192.0.2.1, 2001:db8::1), so it runs inside a
# network namespace that has only loopback: nothing can leave the machine
# even if the check under test were wrong.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
need curl python3
HTTP_PORT=$(free_port tcp)
SIM_PORT=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
start gw "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP_PORT" --coap-listen 127.0.0.1:0 \
    --allow-target 198.51.100.0/24
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"

code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

refused() {
    local t
    for t in "coap://192.0.2.1/x" "coap://[2001:db8::1]/x" "coap://8.8.8.8:5683/x" \
        "coap://203.0.113.9/x" "coap://[::ffff:192.0.2.1]/x" "coap://example.com/x"; do
        [ "$(code "$G/hc/$t")" = 403 ] || { echo "not refused: $t"; return 1; }
        grep -q "not allowed" "$TMP/body" || return 1
    done
}
check "public targets are refused with 403" refused

allowed() {
    [ "$(code "$G/hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature")" = 200 ] || return 1
    # listed with --allow-target: allowed, then fails for lack of a route
    # (inside this namespace there is none), which is not a 403
    local c
    c=$(code -m 60 "$G/hc/coap://198.51.100.7/x")
    [ "$c" = 502 ] || [ "$c" = 504 ] || { echo "got $c"; return 1; }
}
check "loopback and --allow-target ranges are allowed" allowed

stop gw
finish
