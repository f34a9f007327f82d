#!/usr/bin/env bash
# Targets no range opens (issue #13, RFC 7252 §11.5): ports below 1024 and
# the cloud metadata addresses (169.254.169.254, fd00:ec2::254, and their
# IPv4-mapped forms), on every way to a CoAP target: /hc/, /devices/,
# /events, the CoAP forward proxy and Resource Directory bases. Peers
# listen on those addresses inside a network namespace that has only
# loopback, and their logs show that a refused request never left.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip addr add fd00:ec2::254/128 dev lo nodad
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
C=$BUILD/coapgw-client

# Peers that log every datagram: DNS's port, the metadata service (both
# families), a device on a low port and one on the metadata address.
start dns python3 "$HERE/coap_logger.py" 127.0.0.1 53
start dns54 python3 "$HERE/coap_logger.py" 127.0.0.1 54
start meta4 python3 "$HERE/coap_logger.py" 169.254.169.254 5683
start meta6 python3 "$HERE/coap_logger.py" fd00:ec2::254 5683
start low python3 "$HERE/coap_logger.py" 127.0.0.1 99
start metadev python3 "$HERE/coap_logger.py" 169.254.169.254 5684
for p in dns dns54 meta4 meta6 low metadev; do wait_for "$p" grep -q ready "$TMP/$p.log"; done
received() { grep -c datagram "$TMP/$1.log" || true; }

# start_gw NAME ARGS...: a gateway on fresh ports; sets G (HTTP) and P
# (CoAP, host:port).
start_gw() {
    local name=$1
    shift
    HTTP_PORT=$(free_port tcp)
    GW_COAP=$(free_port)
    start "$name" "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP_PORT" \
        --coap-listen "127.0.0.1:$GW_COAP" --set proxy.timeout_ms=3000 "$@"
    G=http://127.0.0.1:$HTTP_PORT
    P=127.0.0.1:$GW_COAP
    wait_for "coapgw $name" curl -sf "$G/healthz"
}
http() { curl -g -s -o "$TMP/body" -w '%{http_code}' "$@"; }
# coap_code ARGS...: libcoap's client; prints the code of the last answer
coap_code() {
    coap-client-notls -v 6 -B 5 "$@" >"$TMP/coap.out" 2>&1 || true
    grep -o 't:ACK c:[0-9.]*\|t:CON c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://'
}

# --- broad ranges and the defaults open neither ---
start_gw gw1 --allow-target 0.0.0.0/0 --allow-target ::/0 --allow-target 169.254.0.0/16 \
    --device low=coap://127.0.0.1:99 --device meta=coap://169.254.169.254:5684

low_port_http() {
    [ "$(http "$G/hc/coap://127.0.0.1:53/x")" = 403 ] || return 1
    grep -q "target port 53 is below 1024 (RFC 7252 §11.5): name it in proxy.allow_targets as ADDR:PORT" "$TMP/body" || return 1
    [ "$(http "$G/hc/coap://[::ffff:127.0.0.1]:53/x")" = 403 ] || return 1
    [ "$(http "$G/hc/?target_uri=coap%3A%2F%2F127.0.0.1%3A53%2Fx")" = 403 ] || return 1
    [ "$(http -H 'Accept: text/event-stream' "$G/hc/coap://127.0.0.1:53/x")" = 403 ] || return 1
    [ "$(http "$G/events?target=coap://127.0.0.1:53/x")" = 403 ] || return 1
    grep -q "below 1024" "$TMP/body"
}
check "/hc/ and /events to 127.0.0.1:53 -> 403 (below 1024), even with 0.0.0.0/0 listed" low_port_http

metadata_http() {
    local t
    for t in "coap://169.254.169.254:5683/x" "coap://169.254.169.254/x" \
        "coap://[::ffff:169.254.169.254]:5683/x" "coap://[fd00:ec2::254]:5683/x"; do
        [ "$(http "$G/hc/$t")" = 403 ] || { echo "not refused: $t"; return 1; }
        grep -q "is a cloud metadata address" "$TMP/body" || return 1
    done
    [ "$(http "$G/events?target=coap://169.254.169.254:5683/x")" = 403 ]
}
check "/hc/ and /events to 169.254.169.254, ::ffff:169.254.169.254, fd00:ec2::254 -> 403" metadata_http

forward_proxy() {
    local rc=0
    "$C" -T 5 -P "$P" "coap://127.0.0.1:53/x" >"$TMP/fp.body" 2>"$TMP/fp.err" || rc=$?
    [ $rc -eq 1 ] && grep -q "4.03" "$TMP/fp.err" && grep -q "below 1024" "$TMP/fp.body" || return 1
    rc=0
    "$C" -T 5 -P "$P" "coap://169.254.169.254:5683/x" >/dev/null 2>"$TMP/fp.err" || rc=$?
    [ $rc -eq 1 ] && grep -q "4.03" "$TMP/fp.err" || return 1
    coap-client-notls -B 5 -P "coap://$P" "coap://127.0.0.1:53/x" >"$TMP/lib.out" 2>&1 || true
    grep -q "4.03" "$TMP/lib.out"
}
check "CoAP forward proxy (coapgw-client and libcoap -P) to coap://127.0.0.1:53 and the metadata -> 4.03" forward_proxy

rd_bases() {
    [ "$(coap_code -m post "coap://$P/rd?ep=n1&base=coap://127.0.0.1:53")" = 4.03 ] || return 1
    grep -q "below 1024" "$TMP/coap.out" || return 1
    [ "$(coap_code -m post "coap://$P/rd?ep=n2&base=coap://169.254.169.254:5683")" = 4.03 ] || return 1
    [ "$(coap_code -m post "coap://$P/rd?ep=n3&base=coap://[fd00:ec2::254]:5683")" = 4.03 ] || return 1
    # without a base, the source address and port are the base
    [ "$(coap_code -p 100 -m post "coap://$P/rd?ep=n6")" = 4.03 ] || return 1
    grep -q "below 1024" "$TMP/coap.out" || return 1
    # an ordinary base still registers
    [ "$(coap_code -m post "coap://$P/rd?ep=n4&base=coap://127.0.0.1:5999")" = 2.01 ]
}
check "RD registrations with base coap://127.0.0.1:53, a metadata address, or from source port 100 -> 4.03" rd_bases

device_low_port() {
    [ "$(http "$G/devices/low/x")" = 200 ] && [ "$(cat "$TMP/body")" = seen ] || return 1
    [ "$(http "$G/hc/coap://127.0.0.1:99/x")" = 200 ] || return 1
    [ "$(http "$G/hc/coap://127.0.0.1:98/x")" = 403 ] # the device named port 99 only
}
check "a configured device on port 99 works (its URI names it), port 98 beside it does not" device_low_port

device_metadata() {
    [ "$(http "$G/devices/meta/x")" = 200 ] && [ "$(cat "$TMP/body")" = seen ] || return 1
    [ "$(received metadev)" = 1 ]
}
check "a configured device on 169.254.169.254:5684 works (its URI names it)" device_metadata

nothing_sent() {
    local p
    for p in dns dns54 meta4 meta6; do
        [ "$(received $p)" = 0 ] || { echo "$p received $(received $p) datagrams"; return 1; }
    done
}
check "the DNS port and the metadata service received nothing" nothing_sent
stop gw1

# --- named exactly: that port, that address ---
start_gw gw2 --allow-target 127.0.0.1:53 --allow-target 169.254.169.254 \
    --allow-target '[fd00:ec2::254]:5683'

named_exactly() {
    [ "$(http "$G/hc/coap://127.0.0.1:53/x")" = 200 ] && [ "$(cat "$TMP/body")" = seen ] || return 1
    [ "$(received dns)" = 1 ] || return 1
    [ "$(http "$G/hc/coap://127.0.0.1:54/x")" = 403 ] || return 1
    [ "$(http "$G/hc/coap://169.254.169.254:5683/x")" = 200 ] || return 1
    [ "$(http "$G/hc/coap://[::ffff:169.254.169.254]:5683/x")" = 200 ] || return 1
    [ "$(http "$G/hc/coap://169.254.169.254:80/x")" = 403 ] || return 1 # a low port needs ADDR:PORT
    [ "$(http "$G/hc/coap://[fd00:ec2::254]:5683/x")" = 200 ] || return 1
    [ "$(received meta4)" = 2 ] && [ "$(received meta6)" = 1 ] && [ "$(received dns54)" = 0 ]
}
check "--allow-target 127.0.0.1:53, 169.254.169.254, [fd00:ec2::254]:5683 open exactly those" named_exactly

named_everywhere() {
    [ "$("$C" -T 5 -P "$P" "coap://127.0.0.1:53/x")" = seen ] || return 1
    [ "$(coap_code -m post "coap://$P/rd?ep=n5&base=coap://127.0.0.1:53")" = 2.01 ] || return 1
    [ "$(http "$G/devices/n5/x")" = 200 ]
}
check "the named port also passes the forward proxy and an RD base" named_everywhere

bad_syntax() {
    local rc=0
    "$BUILD/coapgw" --allow-target sensor.lan:53 --version >"$TMP/bad.out" 2>&1 || rc=$?
    [ $rc -eq 2 ] && grep -q "host names take no port" "$TMP/bad.out" || return 1
    rc=0
    "$BUILD/coapgw" --allow-target 10.0.0.0/8:53 --version >"$TMP/bad.out" 2>&1 || rc=$?
    [ $rc -eq 2 ] && grep -q "bad ADDR:PORT" "$TMP/bad.out"
}
check "a port on a range or a host name is refused at start (exit 2)" bad_syntax

stop gw2
finish
