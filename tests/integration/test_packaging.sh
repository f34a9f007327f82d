#!/usr/bin/env bash
# packaging/: the systemd units (issue #17). systemd-analyze verify finds
# no error and no warning (an unknown key is only a warning to systemd),
# the service's hardening scores "OK" or better offline, and the sockets
# are where coapgw's defaults listen, named as coapgw matches them.
# No running systemd is needed.
. "$(dirname "$0")/lib.sh"
need systemd-analyze
SRC=$(cd "$(dirname "$0")/../.." && pwd)
U=$TMP/units
mkdir -p "$U"
cp "$SRC"/packaging/*.service "$SRC"/packaging/*.socket "$U/"
# verify checks that ExecStart's program exists: the one just built
sed -i "s|^ExecStart=/usr/local/bin/coapgw|ExecStart=$BUILD/coapgw|" "$U/coapgw.service"

verify() {
    (cd "$U" && systemd-analyze verify ./coapgw.socket ./coapgw-coap.socket ./coapgw.service) \
        >"$TMP/verify.log" 2>&1 || { cat "$TMP/verify.log"; return 1; }
    [ ! -s "$TMP/verify.log" ] || { cat "$TMP/verify.log"; return 1; }
}
check "systemd-analyze verify: the service and its two sockets, no error, no warning" verify

exposure() {
    (cd "$U" && systemd-analyze security --offline=yes ./coapgw.service) >"$TMP/sec.log" 2>&1 || true
    local score
    score=$(sed -n 's/.*Overall exposure level for coapgw.service: \([0-9.]*\).*/\1/p' "$TMP/sec.log")
    echo "  exposure level $score (systemd-analyze security --offline=yes)"
    awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
}
check "systemd-analyze security: exposure 2.0 or lower (OK)" exposure

hardened() {
    local k
    for k in User=coapgw Group=coapgw DynamicUser=yes StateDirectory=coapgw NoNewPrivileges=yes ProtectSystem=strict \
        'Sockets=coapgw.socket coapgw-coap.socket' 'ExecReload=/bin/kill -HUP $MAINPID'; do
        grep -qxF "$k" "$U/coapgw.service" || { echo "no $k"; return 1; }
    done
}
check "the service: user coapgw (the package's, else a dynamic one), DynamicUser, StateDirectory=coapgw (state.path's /var/lib/coapgw), NoNewPrivileges, ProtectSystem=strict, both sockets, SIGHUP reload" hardened

defaults() {
    grep -qx 'ListenStream=8080' "$U/coapgw.socket" && grep -qx 'FileDescriptorName=http' "$U/coapgw.socket" &&
        grep -qx 'ListenDatagram=5683' "$U/coapgw-coap.socket" &&
        grep -qx 'FileDescriptorName=coap' "$U/coapgw-coap.socket" || return 1
    "$BUILD/coapgw" --help | grep -q 'default 0.0.0.0:8080' && "$BUILD/coapgw" --help | grep -q 'default 0.0.0.0:5683'
}
check "the sockets: HTTP 8080 named http, CoAP 5683 named coap (coapgw's defaults)" defaults
finish
