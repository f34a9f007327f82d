#!/usr/bin/env bash
# The Resource Directory's rules (RFC 9176 §7) and the CoAP port's
# defences against a few datagrams, with real peers (libcoap's
# coap-client, coapgw-sim): Block1 uploads from a refused source reserve
# nothing, so a device's large registration still goes through; a
# registration is read by its owner alone (4.03 without payload to others,
# NON or CON); rd.max_lifetime_s (4.00) and rd.max_per_source (the 17th is
# refused); configured names in any case; control bytes in a Uri-Path.
# Sources outside loopback (10.9.0.x, 192.0.2.5) need a network namespace
# with only loopback, and a dummy interface (or lo where the dummy driver
# is missing).
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
DEV=lo
if ip link add d0 type dummy 2>/dev/null; then
    ip link set d0 up
    DEV=d0
fi
for a in 10.9.0.1 10.9.0.2 10.9.0.3; do ip addr add "$a/32" dev "$DEV"; done
ip addr add 192.0.2.5/32 dev lo # in no allowlist: not a target, not a coap client
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=$(free_port)
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
RD=coap://127.0.0.1:$GW_COAP
wait_for "coapgw" curl -sf "$G/healthz"

# coap FROM ARGS...: libcoap's client from source address FROM; prints the
# code of the last response, keeps the message log in $TMP/coap.out
coap() {
    local from=$1
    shift
    coap-client-notls -a "$from" -v 6 -B 5 "$@" >"$TMP/coap.out" 2>&1 || true
    grep -o 't:ACK c:[0-9.]*\|t:\(CON\|NON\) c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://'
}
location() { grep 'c:2.01' "$TMP/coap.out" | tail -1 | grep -o 'Location-Path:[^], ]*' | tail -1 | cut -d: -f2; }
# raw FROM ARGS...: one hand-built request (coap_raw.py), its answer line
raw() {
    local from=$1
    shift
    python3 "$HERE/coap_raw.py" "$from" 127.0.0.1 "$GW_COAP" "$@"
}
http() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

block1_flood() {
    # 70 block-0 uploads, each with its own Request-Tag, from a source that
    # may not register, and 8 from an allowed LAN host
    local blank
    blank=$(head -c 1024 /dev/zero | tr '\0' ' ')
    raw 192.0.2.5 --code 2 --path rd --query ep=flood --uint 12=40 --block1 0,1,6 \
        --payload "$blank" --count 70 >"$TMP/flood.out"
    raw 10.9.0.3 --code 2 --path rd --query ep=busy --block1 0,1,6 --payload "$blank" \
        --count 8 >"$TMP/busy.out"
    # a device's registration with a large link payload (Block1) still passes
    local i
    for i in $(seq 1 60); do printf '</sensors/s%02d>;rt="temperature-c";if="core.s";obs,' "$i"; done |
        sed 's/,$//' >"$TMP/links.txt"
    [ "$(coap 10.9.0.1 -m post -t 40 -b 1024 -f "$TMP/links.txt" "$RD/rd?ep=big&lt=300")" = 2.01 ] ||
        { grep -o 'c:[0-9.]*' "$TMP/coap.out" | sort | uniq -c; return 1; }
    grep -q 'Block1' "$TMP/coap.out" || return 1 # it was block-wise
    curl -s "$G/api/devices/big" | grep -q 's60' || return 1
    # the refused source: each a bare 4.03, no upload slot taken
    [ "$(grep -c '^4.03 0 ' "$TMP/flood.out")" = 70 ] || { head -3 "$TMP/flood.out"; return 1; }
    # the allowed host: 4 uploads at once at most (coap.max_uploads_per_peer),
    # beyond them 5.03 with a short Max-Age (a retry hint)
    [ "$(grep -c '^2.31 ' "$TMP/busy.out")" = 4 ] || { cat "$TMP/busy.out"; return 1; }
    grep '^5.03 ' "$TMP/busy.out" | awk '$5 < 1 || $5 > 10 { bad = 1 } END { exit bad || NR != 4 }'
}
check "70 Block1 uploads from a refused source do not stop a large Block1 registration" block1_flood

read_by_owner() {
    [ "$(coap 10.9.0.1 -m post -t 40 -e '</a>;rt="x"' "$RD/rd?ep=own&lt=300")" = 2.01 ] || return 1
    local id from
    id=$(location)
    [ -n "$id" ] || return 1
    for from in 10.9.0.2 192.0.2.5; do
        [ "$(coap "$from" -m get "$RD/rd/$id")" = 4.03 ] || return 1
        grep 'c:4.03' "$TMP/coap.out" | grep -vq '::' || return 1 # no payload
        [ "$(coap "$from" -N -m get "$RD/rd/$id")" = 4.03 ] || return 1
        grep 'c:4.03' "$TMP/coap.out" | grep -vq '::' || return 1
        # the bytes: a NON 4.03 no larger than the NON request
        raw "$from" --non --path "rd/$id" >"$TMP/raw.out"
        awk '{ exit !($1 == "4.03" && $2 == 0 && $3 <= $4) }' "$TMP/raw.out" || return 1
    done
    [ "$(coap 10.9.0.1 -m get "$RD/rd/$id")" = 2.05 ] || return 1
    grep -q 'rt="x"' "$TMP/coap.out" || return 1
    [ "$(coap 10.9.0.1 -N -m get "$RD/rd/$id")" = 2.05 ] || return 1
    [ "$(coap 127.0.0.1 -m get "$RD/rd/$id")" = 2.05 ] # proxy.coap_clients: loopback
}
check "GET /rd/ID from another source (CON and NON): 4.03 without payload; from the owner: 2.05" read_by_owner

lifetime_limit() {
    [ "$(coap 10.9.0.1 -m post "$RD/rd?ep=long&lt=604801")" = 4.00 ] || return 1
    grep -q 'rd.max_lifetime_s' "$TMP/coap.out" || return 1
    [ "$(coap 10.9.0.1 -m post "$RD/rd?ep=long&lt=4294967295")" = 4.00 ] || return 1
    [ "$(http "$G/api/devices/long")" = 404 ] || return 1
    [ "$(coap 10.9.0.1 -m post "$RD/rd?ep=long&lt=604800")" = 2.01 ] || return 1
    [ "$(coap 10.9.0.1 -m delete "$RD/rd/$(location)")" = 2.02 ]
}
check "an lt over rd.max_lifetime_s (604800) is 4.00 naming the limit" lifetime_limit

per_source() { # 10.9.0.2 holds none yet; 16 are allowed (rd.max_per_source)
    local i
    for i in $(seq 1 16); do
        [ "$(coap 10.9.0.2 -m post "$RD/rd?ep=p$i&lt=300")" = 2.01 ] || { echo "p$i"; return 1; }
    done
    [ "$(coap 10.9.0.2 -m post "$RD/rd?ep=p17&lt=300")" = 4.03 ] || return 1
    grep -q 'rd.max_per_source' "$TMP/coap.out" || return 1
    [ "$(http "$G/api/devices/p17")" = 404 ] || return 1
    [ "$(coap 10.9.0.2 -m post "$RD/rd?ep=p16&lt=300")" = 2.01 ] || return 1 # its own again
    [ "$(coap 10.9.0.3 -m post "$RD/rd?ep=p17&lt=300")" = 2.01 ]             # another source
}
check "the 17th registration from one address is refused (4.03, rd.max_per_source)" per_source

configured_names() {
    local n
    for n in DEMO Demo dEmO; do
        [ "$(coap 10.9.0.1 -m post "$RD/rd?ep=$n")" = 4.03 ] || return 1
        grep -q 'configured' "$TMP/coap.out" || return 1
    done
    [ "$(http "$G/api/devices/DEMO")" = 404 ]
}
check "a configured device's name cannot be registered in another case" configured_names

# (the padding leaves room for the diagnostic: the server's own refusals
# are never larger than the request, RFC 7252 §11.3)
PAD=pad=0123456789012345678901234567890123456789
control_bytes() {
    raw 127.0.0.1 --code 2 --path 'rd\x00\r\n' --query ep=ctl --query "$PAD" >"$TMP/raw.out"
    awk '{ exit !($1 == "4.00") }' "$TMP/raw.out" || { cat "$TMP/raw.out"; return 1; }
    grep -q 'control byte in Uri-Path' "$TMP/raw.out" || return 1
    [ "$(http "$G/api/devices/ctl")" = 404 ] || return 1
    raw 127.0.0.1 --code 2 --path rd --query 'ep=ctl\x00' --query "$PAD" >"$TMP/raw.out"
    grep -q '^4.00 .*control byte in Uri-Query' "$TMP/raw.out"
}
check "Uri-Path rd\\0\\r\\n is 4.00 (not /rd), a control byte in Uri-Query too" control_bytes

sim_registers() { # a real device from an allowed LAN address, end to end
    start simlan "$BUILD/coapgw-sim" --listen "10.9.0.1:$SIM_PORT" --register "$RD" --name lan --lifetime 60
    wait_for "the simulator's registration" curl -sf "$G/devices/lan/sensors/temperature"
}
check "coapgw-sim registers from 10.9.0.1 and is reachable" sim_registers
stop simlan

reload_limits() { # rd.max_* apply on SIGHUP; longer lifetimes are cut
    cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "rd": { "max_lifetime_s": 60, "max_per_source": 1 } }
JSON
    kill -HUP "$PID_gw"
    wait_for "the reload" grep -q "configuration reloaded" "$TMP/gw.log" || return 1
    grep -q "lifetime of p1 (/rd/[0-9a-f]*) cut to 60 s" "$TMP/gw.log" || return 1
    [ "$(coap 10.9.0.3 -m post "$RD/rd?ep=p18")" = 4.03 ] || return 1 # holds p17 already
    [ "$(coap 10.9.0.3 -m post "$RD/rd?ep=p17&lt=61")" = 4.00 ] || return 1
    [ "$(coap 10.9.0.3 -m post "$RD/rd?ep=p17")" = 2.01 ] || return 1 # no lt: cut to 60 s
    grep -q "re-registered p17 .* lifetime 60 s" "$TMP/gw.log"
}
check "a reload lowering rd.max_lifetime_s and rd.max_per_source applies at once" reload_limits
stop gw
finish
