#!/usr/bin/env bash
# The Resource Directory (RFC 9176 §5) on the gateway's CoAP port:
# registration, refresh, expiry and removal with libcoap's coap-client as
# the registering client, then with coapgw-sim --register; the refusals
# (4.00, 4.03, 4.13, 4.15). Registered devices are reached with curl as
# /devices/NAME/... This test names documentation addresses (192.0.2.x)
# as bases and sources, so it runs inside a network namespace that has
# only loopback.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip addr add 192.0.2.5/32 dev lo # a source outside the allowlist
ip addr add 198.51.100.7/32 dev lo # a device in a range a reload removes
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3
SIM_PORT=$(free_port)
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
RD=coap://127.0.0.1:$GW_COAP
SIM=coap://127.0.0.1:$SIM_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "$SIM/echo" -m post

# coap ARGS...: libcoap's client with the message log; prints the code of
# the last response ("2.01") and keeps the log in $TMP/coap.out.
coap() {
    coap-client-notls -v 6 -B 5 "$@" >"$TMP/coap.out" 2>&1 || true
    grep -o 't:ACK c:[0-9.]*\|t:CON c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://'
}
# The registration ID from the Location-Path options of the last 2.01.
location() { grep 'c:2.01' "$TMP/coap.out" | tail -1 | grep -o 'Location-Path:[^], ]*' | tail -1 | cut -d: -f2; }
http() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
LINKS='</sensors/temperature>;rt="temperature-c";obs,</actuators/led>;rt="light"'

discovery() {
    [ "$(coap -m get "$RD/.well-known/core?rt=core.rd")" = 2.05 ] || return 1
    grep -q '</rd>;rt="core.rd";ct=40' "$TMP/coap.out"
}
check "GET /.well-known/core?rt=core.rd advertises </rd>" discovery

registration() {
    [ "$(coap -m post -t 40 -e "$LINKS" "$RD/rd?ep=node1&lt=60&base=$SIM")" = 2.01 ] || return 1
    grep -q 'Location-Path:rd, Location-Path:' "$TMP/coap.out" || return 1
    ID1=$(location)
    [ -n "$ID1" ] || return 1
    [ "$(http "$G/devices/node1/sensors/temperature")" = 200 ] || return 1
    grep -Eq '^[0-9]+\.[0-9]$' "$TMP/body" || return 1
    [ "$(coap -m get "$RD/rd/$ID1")" = 2.05 ] && grep -q 'rt="light"' "$TMP/coap.out"
}
check "coap-client registers node1 (2.01, Location-Path rd/ID), curl reaches it" registration

# gone URL: the device disappears within 6 s (404)
gone() {
    local _
    for _ in $(seq 1 60); do
        [ "$(http "$1")" = 404 ] && return 0
        sleep 0.1
    done
    return 1
}

refresh_and_expiry() {
    [ "$(coap -m post -t 40 -e "$LINKS" "$RD/rd?ep=short&lt=3&base=$SIM")" = 2.01 ] || return 1
    local id
    id=$(location)
    sleep 2
    [ "$(coap -m post "$RD/rd/$id?lt=3")" = 2.04 ] || return 1
    sleep 1.5 # past the first lifetime: the refresh kept it
    [ "$(http "$G/devices/short/sensors/temperature")" = 200 ] || return 1
    gone "$G/devices/short/sensors/temperature" || return 1 # no refresh: gone
    grep -q "expired short" "$TMP/gw.log" || return 1
    [ "$(coap -m post "$RD/rd/$id")" = 4.04 ]
}
check "a refresh (POST /rd/ID) extends the lifetime; past it the device is gone" refresh_and_expiry

update_links() {
    [ "$(coap -m post -t 40 -e '</x>' "$RD/rd/$ID1")" = 2.04 ] || return 1
    [ "$(coap -m get "$RD/rd/$ID1")" = 2.05 ] && grep -q '</x>' "$TMP/coap.out"
}
check "an update with a payload replaces the links" update_links

reregistration() { # RFC 9176 §5: the same endpoint registering again replaces
    [ "$(coap -m post -t 40 -e "$LINKS" "$RD/rd?ep=node1&lt=60&base=$SIM")" = 2.01 ] || return 1
    [ "$(location)" = "$ID1" ] && [ "$(http "$G/devices/node1/sensors/humidity")" = 200 ]
}
check "registering the same endpoint again replaces its registration" reregistration

deletion() {
    [ "$(coap -m delete "$RD/rd/$ID1")" = 2.02 ] || return 1
    [ "$(http "$G/devices/node1/sensors/temperature")" = 404 ] || return 1
    [ "$(coap -m delete "$RD/rd/$ID1")" = 4.04 ]
}
check "DELETE /rd/ID removes the device (2.02, then 404 and 4.04)" deletion

bad_requests() {
    [ "$(coap -m post -t 40 -e '</a>' "$RD/rd?lt=60")" = 4.00 ] || return 1
    grep -q "ep" "$TMP/coap.out" || return 1
    [ "$(coap -m post "$RD/rd?ep=bad%20name")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/rd?ep=n&lt=0")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/rd?ep=n&base=coap://localhost:5683")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/rd?ep=n&base=http://127.0.0.1:80")" = 4.00 ] || return 1
    [ "$(coap -m post -t 0 -e '</a>' "$RD/rd?ep=n")" = 4.15 ] || return 1
    [ "$(coap -m get "$RD/rd")" = 4.05 ]
}
check "no ep, a bad name, lt=0, a host name or http:// base: 4.00; text/plain: 4.15" bad_requests

forbidden() {
    [ "$(coap -m post -e '</a>' "$RD/rd?ep=demo&base=$SIM")" = 4.03 ] || return 1
    grep -q "configured" "$TMP/coap.out" || return 1
    [ "$(coap -m post -e '</a>' "$RD/rd?ep=open&base=coap://192.0.2.1:5683")" = 4.03 ] || return 1
    grep -q "allowlist" "$TMP/coap.out" || return 1
    [ "$(coap -a 192.0.2.5 -m post -e '</a>' "$RD/rd?ep=open")" = 4.03 ] || return 1
    [ "$(coap -a 192.0.2.5 -m post -e '</a>' "$RD/rd?ep=open&base=$SIM")" = 4.03 ] || return 1
    [ "$(http "$G/devices/open/x")" = 404 ] || return 1
    # a name another host registered, and its registration, are not anyone's
    [ "$(coap -m post "$RD/rd?ep=mine&base=$SIM")" = 2.01 ] || return 1
    local id
    id=$(location)
    [ "$(coap -a 127.0.0.2 -m post "$RD/rd?ep=mine&base=coap://127.0.0.2:5683")" = 4.03 ] || return 1
    # naming the same base proves nothing: still not the owner
    [ "$(coap -a 127.0.0.2 -m post "$RD/rd?ep=mine&base=$SIM")" = 4.03 ] || return 1
    [ "$(coap -a 127.0.0.2 -m delete "$RD/rd/$id")" = 4.03 ] || return 1
    [ "$(coap -m delete "$RD/rd/$id")" = 2.02 ]
}
check "4.03: a configured name, a base or source outside the allowlist, another host's name" forbidden

too_large() {
    head -c 5000 /dev/zero | tr '\0' 'a' | sed 's/^/</' >"$TMP/big.txt"
    [ "$(coap -m post -t 40 -b 1024 -f "$TMP/big.txt" "$RD/rd?ep=big&base=$SIM")" = 4.13 ] || return 1
    grep -q 'Size1:4096' "$TMP/coap.out" || return 1
    [ "$(http "$G/devices/big/x")" = 404 ]
}
check "a link payload over 4096 bytes is 4.13 with Size1" too_large

link_format() { # the whole document is checked (RFC 6690 §2)
    [ "$(coap -m post -t 40 -e '<' "$RD/rd?ep=lf&base=$SIM")" = 4.00 ] || return 1
    grep -q "not link-format" "$TMP/coap.out" || return 1
    [ "$(coap -m post -t 40 -e '</a>;title="x' "$RD/rd?ep=lf&base=$SIM")" = 4.00 ] || return 1
    grep -q "quoted string" "$TMP/coap.out" || return 1
    [ "$(http "$G/api/devices/lf")" = 404 ] || return 1
    # RFC 9176 §5: an endpoint with no resources registers no links
    [ "$(coap -m post -t 40 "$RD/rd?ep=lf&base=$SIM")" = 2.01 ] || return 1
    [ "$(http "$G/api/devices/lf")" = 200 ] || return 1
    [ "$(coap -m delete "$RD/rd/$(location)")" = 2.02 ]
}
check "malformed link-format is 4.00 with where; an empty payload registers no links" link_format

dot_names() { # URLs resolve "." and ".." away: /devices/../x
    [ "$(coap -m post "$RD/rd?ep=..&base=$SIM")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/rd?ep=.&base=$SIM")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/rd?ep=v1..2&base=$SIM")" = 2.01 ] || return 1
    [ "$(coap -m delete "$RD/rd/$(location)")" = 2.02 ]
}
check "endpoint names made of dots only are 4.00" dot_names

itself() { # the gateway's CoAP port through its own HTTP proxy would come
    # from 127.0.0.1: the owner of every loopback registration
    [ "$(coap -m post "$RD/rd?ep=owned&base=$SIM")" = 2.01 ] || return 1
    local t
    for t in "127.0.0.1:$GW_COAP" "127.0.0.9:$GW_COAP" "0.0.0.0:$GW_COAP" "[::1]:$GW_COAP" \
        "[::ffff:127.0.0.1]:$GW_COAP"; do
        [ "$(http -X POST "$G/hc/coap://$t/rd?ep=owned&base=coap://127.0.0.1:1")" = 403 ] ||
            { echo "not refused: $t"; return 1; }
        grep -q "target is the gateway itself" "$TMP/body" || return 1
    done
    [ "$(http "$G/hc/?target_uri=coap://127.0.0.1:$GW_COAP/.well-known/core")" = 403 ] || return 1
    [ "$(http "$G/events?target=coap://127.0.0.1:$GW_COAP/rd")" = 403 ] || return 1
    curl -s "$G/api/devices/owned" | grep -q "127.0.0.1:$SIM_PORT" || return 1
    [ "$(http "$G/hc/coap://127.0.0.1:$SIM_PORT/sensors/temperature")" = 200 ]
}
check "the HTTP proxy and SSE refuse the gateway's own CoAP port (403)" itself

empty_block1() { # Block1 num 0 with no payload: one packet (was an abort under ASan)
    python3 -c "import socket;s=socket.socket(2,2);s.sendto(bytes([0x41,2,0x12,0x34,1,0xb2])+b'rd'+bytes([0x44])+b'ep=x'+bytes([0xc1,0]),('127.0.0.1',$GW_COAP))"
    sleep 0.3
    kill -0 "$PID_gw" && [ "$(http "$G/healthz")" = 200 ]
}
check "an empty Block1 registration does not crash the gateway" empty_block1

# The count limit needs the rd.max_registrations configuration key; a
# gateway without it refuses the file (unknown key) and this part is
# skipped (test_rd_unit covers the limits).
P2=$(free_port)
H2=$(free_port tcp)
cat >"$TMP/gw2.json" <<JSON
{ "http": { "listen": "127.0.0.1:$H2" }, "coap": { "listen": "127.0.0.1:$P2" },
  "devices": {}, "rd": { "max_registrations": 2, "max_links_bytes": 64 } }
JSON
start gw2 "$BUILD/coapgw" --config "$TMP/gw2.json"
sleep 0.5

count_limit() {
    wait_for "second coapgw" curl -sf "http://127.0.0.1:$H2/healthz" || return 1
    local R=coap://127.0.0.1:$P2
    [ "$(coap -m post "$R/rd?ep=a&base=$SIM")" = 2.01 ] || return 1
    [ "$(coap -m post "$R/rd?ep=b&base=$SIM")" = 2.01 ] || return 1
    [ "$(coap -m post "$R/rd?ep=c&base=$SIM")" = 4.13 ] || return 1
    grep -q "Size1:2" "$TMP/coap.out" || return 1
    [ "$(coap -m post "$R/rd?ep=a&base=$SIM")" = 2.01 ] || return 1 # a replacement
    [ "$(coap -m post -t 40 -e "$LINKS$LINKS" "$R/rd?ep=d&base=$SIM")" = 4.13 ] || return 1
    grep -q "Size1:64" "$TMP/coap.out"
}
if kill -0 "$PID_gw2" 2>/dev/null; then
    check "rd.max_registrations and rd.max_links_bytes: 4.13 with Size1" count_limit
    stop gw2
else
    echo "skip - rd.* configuration keys: not in this build ($(tail -1 "$TMP/gw2.log"))"
    rm -f "$TMP/gw2.log"
fi

sim_register() {
    stop sim
    start simreg "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --register "coap://localhost:$GW_COAP" \
        --name simreg --lifetime 2
    wait_for "the simulator's registration" curl -sf "$G/devices/simreg/sensors/temperature" || return 1
    # registering from its own address is contact: online at once
    curl -s "$G/api/devices/simreg" | grep -q '"online": *true' || return 1
    curl -s "$G/api/devices/simreg" | grep -q '"last_seen": *"2' || return 1
    sleep 3 # past its lifetime: refreshed at 2/3 of it
    [ "$(http "$G/devices/simreg/sensors/humidity")" = 200 ] || return 1
    grep -q '"unit"' "$TMP/body" || return 1
    grep -q "refreshed" "$TMP/simreg.log" || return 1
    kill -9 "$PID_simreg" # no chance to deregister: the registration expires
    wait "$PID_simreg" 2>/dev/null || true
    gone "$G/devices/simreg/sensors/temperature" || return 1
    grep -q "expired simreg" "$TMP/gw.log"
}
check "coapgw-sim --register: registered, refreshed past its lifetime, expires when killed" sim_register

sim_deregister() {
    start simreg2 "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --register "coap://127.0.0.1:$GW_COAP" \
        --name simreg
    wait_for "the simulator's registration" curl -sf "$G/devices/simreg/sensors/temperature" || return 1
    stop simreg2 # SIGTERM: removes its registration (RFC 9176 §5.3.2)
    [ "$(http "$G/devices/simreg/sensors/temperature")" = 404 ] && grep -q "removed simreg" "$TMP/gw.log"
}
check "coapgw-sim removes its registration when stopped" sim_deregister

sim_base() {
    # --base: the directory reaches the device there, not at the source
    # (a registration relayed by a UDP balancer, docs/cluster.md)
    local far
    far=$(free_port)
    start simfar "$BUILD/coapgw-sim" --listen "127.0.0.1:$far"
    start simbase "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --register "coap://127.0.0.1:$GW_COAP" \
        --name simbase --base "coap://127.0.0.1:$far"
    local rc=0
    wait_for "the simulator's registration" curl -sf "$G/devices/simbase/sensors/temperature" &&
        curl -s "$G/api/devices/simbase" | grep -q "\"uri\":\"coap://127.0.0.1:$far\"" || rc=1
    stop simbase
    stop simfar
    return $rc
}
check "coapgw-sim --base: the registration names that base, where the gateway reaches the device" sim_base

sim_reregisters() {
    start simreg3 "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --register "coap://127.0.0.1:$GW_COAP" \
        --name again --lifetime 3
    wait_for "the simulator's registration" curl -sf "$G/devices/again/sensors/temperature" || return 1
    stop gw
    rm -f "$TMP/gw.state.db"* # a gateway that lost its state file forgets every registration
    start gw "$BUILD/coapgw" --config "$TMP/gw.json"
    wait_for "coapgw" curl -sf "$G/healthz" || return 1
    # the next refresh gets 4.04 and the simulator registers again
    wait_for "the new registration" curl -sf "$G/devices/again/sensors/temperature" || return 1
    grep -q "is gone; registering again" "$TMP/simreg3.log"
}
check "coapgw-sim registers again when the gateway forgot it (4.04 on refresh)" sim_reregisters

stop simreg3
stop gw

# A reload that takes a range out of proxy.allow_targets removes the
# registrations in it: they never kept their addresses in the allowlist.
P3=$(free_port)
H3=$(free_port tcp)
FAR_PORT=$(free_port)
gw3_config() {
    cat >"$TMP/gw3.json" <<JSON
{ "http": { "listen": "127.0.0.1:$H3" }, "coap": { "listen": "127.0.0.1:$P3" },
  "devices": {}, "proxy": { "allow_targets": [$1] } }
JSON
}
gw3_config '"198.51.100.0/24"'
start gw3 "$BUILD/coapgw" --config "$TMP/gw3.json"
G3=http://127.0.0.1:$H3
reload_narrows() {
    wait_for "third coapgw" curl -sf "$G3/healthz" || return 1
    start far "$BUILD/coapgw-sim" --listen "198.51.100.7:$FAR_PORT" --register "coap://127.0.0.1:$P3" \
        --name far
    wait_for "far's registration" curl -sf "$G3/devices/far/sensors/temperature" || return 1
    [ "$(http "$G3/hc/coap://198.51.100.7:$FAR_PORT/sensors/temperature")" = 200 ] || return 1
    gw3_config ''
    kill -HUP "$PID_gw3"
    local _
    for _ in $(seq 1 50); do
        grep -q "configuration reloaded" "$TMP/gw3.log" && break
        sleep 0.1
    done
    grep -q "no longer in the target allowlist: removed far" "$TMP/gw3.log" || return 1
    [ "$(http "$G3/devices/far/sensors/temperature")" = 404 ] || return 1
    [ "$(http "$G3/hc/coap://198.51.100.7:$FAR_PORT/sensors/temperature")" = 403 ] || return 1
    [ "$(coap -m post "coap://127.0.0.1:$P3/rd?ep=far2&base=coap://198.51.100.7:$FAR_PORT")" = 4.03 ]
}
check "a reload that removes a range drops its registrations; their address is 403" reload_narrows
stop far
stop gw3
finish
