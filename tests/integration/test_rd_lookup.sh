#!/usr/bin/env bash
# The Resource Directory's lookup interface (RFC 9176 §6) and simple
# registration (§5.1), with libcoap's coap-client-notls against the
# gateway: registrations from coapgw-sim --register and raw POSTs, lookups
# with each filter, '*' prefixes, paging, links resolved against each
# base (absolute URIs), Observe on a lookup (notified on a registration and
# a removal), the JSON API, /.well-known/core, a large answer behind the
# Echo check (RFC 9175 §2.4), simple registration with coapgw-sim, and the
# access policy (lookups from proxy.coap_clients only: a LAN device may
# register but not look up). It names a LAN source (10.9.0.5), so it runs
# in a network namespace with only loopback.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip addr add 10.9.0.5/32 dev lo # a LAN device: an allowed target, not a coap client
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
SIM_A=$(free_port)
SIM_B=$(free_port)
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "0.0.0.0:$GW_COAP" },
  "devices": {} }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
RD=coap://127.0.0.1:$GW_COAP
wait_for "coapgw" curl -sf "$G/healthz"
start simA "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_A" --register "$RD" --name simA --lifetime 120

# coap ARGS...: libcoap's client with the message log; prints the code of
# the last response ("2.05") and keeps the log in $TMP/coap.out, the
# payload it printed in $TMP/payload.
coap() {
    rm -f "$TMP/payload"
    coap-client-notls -v 6 -B 5 -o "$TMP/payload" "$@" >"$TMP/coap.out" 2>&1 || true
    [ -e "$TMP/payload" ] || : >"$TMP/payload"
    grep -o 't:ACK c:[0-9.]*\|t:CON c:[2-5]\.[0-9]*\|t:NON c:[2-5]\.[0-9]*' "$TMP/coap.out" |
        tail -1 | sed 's/.*c://'
}
# lookup PATH?QUERY: GET it; prints the payload (link format) on one line
lookup() {
    [ "$(coap -m get "$RD/rd-lookup/$1")" = 2.05 ] || { echo "not 2.05"; return 0; }
    cat "$TMP/payload"
}
register() { # register EP BASE LINKS [LT]
    [ "$(coap -m post -t 40 -e "$3" "$RD/rd?ep=$1&base=$2&lt=${4:-300}")" = 2.01 ]
}
B1=coap://127.0.0.1:7001
B2="coap://[::1]:7002"
B3=coap://127.0.0.1:7003/dev
wait_for "simA registered" grep -q "registered simA" "$TMP/gw.log"
register node1 "$B1" '</sensors/temp>;rt="temperature-c";if="sensor";ct=0;obs,</sensors/light>;rt="light-lux core.s";if="sensor"'
register node2 "$B2" '</act/led>;rt="light-ctl";if="core.a"' 600
register lamp3 "$B3" '<led>;rt="light-ctl",</t>;anchor="/other";rt="t"'

wellknown() {
    [ "$(coap -m get "$RD/.well-known/core")" = 2.05 ] || return 1
    grep -q '</rd-lookup/ep>;rt="core.rd-lookup-ep";ct=40' "$TMP/payload" &&
        grep -q '</rd-lookup/res>;rt="core.rd-lookup-res";ct=40' "$TMP/payload" &&
        [ "$(coap -m get "$RD/.well-known/core?rt=core.rd-lookup-res")" = 2.05 ] &&
        [ "$(cat "$TMP/payload")" = '</rd-lookup/res>;rt="core.rd-lookup-res";ct=40;obs' ]
}
check "/.well-known/core advertises </rd-lookup/ep> and </rd-lookup/res> (ct=40)" wellknown

endpoints() {
    grep -q '^</rd/[0-9a-f]\{8\}>;ep="node1";base="coap://127.0.0.1:7001";lt=300$' <<<"$(lookup 'ep?ep=node1')" || return 1
    [ "$(lookup 'ep?ep=node*' | tr ',' '\n' | grep -o 'ep="[^"]*"' | tr '\n' ' ')" = 'ep="node1" ep="node2" ' ] || return 1
    [ "$(lookup 'ep?lt=600' | grep -o 'ep="[^"]*"')" = 'ep="node2"' ] || return 1
    [ "$(lookup 'ep?base=coap://%5B::1%5D*' | grep -o 'ep="[^"]*"')" = 'ep="node2"' ] || return 1
    # a link attribute: the endpoints with a matching link; several filters: all
    [ "$(lookup 'ep?rt=light-ctl' | tr ',' '\n' | grep -o 'ep="[^"]*"' | tr '\n' ' ')" = 'ep="lamp3" ep="node2" ' ] || return 1
    [ "$(lookup 'ep?rt=light-ctl&ep=lamp*' | grep -o 'ep="[^"]*"')" = 'ep="lamp3"' ] || return 1
    [ "$(lookup 'ep?ep=nobody')" = "" ] && [ "$(lookup 'ep?d=sector1')" = "" ]
}
check "endpoint lookup: ep, lt, base, a link attribute, '*' prefixes, filters ANDed" endpoints

resources() {
    [ "$(lookup 'res?rt=temperature-c&ep=node1')" = '<coap://127.0.0.1:7001/sensors/temp>;rt="temperature-c";if="sensor";ct=0;obs;anchor="coap://127.0.0.1:7001"' ] || return 1
    [ "$(lookup 'res?rt=core.s')" = '<coap://127.0.0.1:7001/sensors/light>;rt="light-lux core.s";if="sensor";anchor="coap://127.0.0.1:7001"' ] || return 1
    [ "$(lookup 'res?if=core.a')" = '<coap://[::1]:7002/act/led>;rt="light-ctl";if="core.a";anchor="coap://[::1]:7002"' ] || return 1
    [ "$(lookup 'res?href=/sensors/l*&ep=node1' | grep -o '^<[^>]*>')" = '<coap://127.0.0.1:7001/sensors/light>' ] || return 1
    [ "$(lookup 'res?rt=temp*' | tr ',' '\n' | grep -c '^<')" = 2 ] # node1 and simA
}
check "resource lookup: rt (a word of a list), if, href, '*', absolute targets with the base as anchor" resources

resolved() { # RFC 9176 §6.3: against the base's path; anchors resolved too
    [ "$(lookup 'res?ep=lamp3')" = '<coap://127.0.0.1:7003/led>;rt="light-ctl";anchor="coap://127.0.0.1:7003/dev",<coap://127.0.0.1:7003/t>;anchor="coap://127.0.0.1:7003/other";rt="t"' ] &&
        [ "$(lookup "res?ep=simA&href=/sensors/temperature" | grep -o '^<[^>]*>')" = "<coap://127.0.0.1:$SIM_A/sensors/temperature>" ]
}
check "links resolved against each endpoint's base (relative, absolute path, anchor)" resolved

paging() {
    # sorted by name: lamp3 node1 node2 simA
    [ "$(lookup 'ep?count=2' | tr ',' '\n' | grep -o 'ep="[^"]*"' | tr '\n' ' ')" = 'ep="lamp3" ep="node1" ' ] || return 1
    [ "$(lookup 'ep?count=2&page=1' | tr ',' '\n' | grep -o 'ep="[^"]*"' | tr '\n' ' ')" = 'ep="node2" ep="simA" ' ] || return 1
    [ "$(lookup 'ep?count=3&page=1' | grep -o 'ep="[^"]*"')" = 'ep="simA"' ] || return 1
    [ "$(lookup 'ep?count=2&page=2')" = "" ] || return 1
    # rt=light*: lamp3's led, node1's light, node2's led, simA's led
    [ "$(lookup 'res?rt=light*&count=1&page=1' | grep -o '^<[^>]*>')" = '<coap://127.0.0.1:7001/sensors/light>' ] || return 1
    [ "$(coap -m get "$RD/rd-lookup/ep?page=x")" = 4.00 ]
}
check "paging: count and page (RFC 9176 §6.2); a bad page is 4.00" paging

formats() {
    [ "$(coap -m get -A 40 "$RD/rd-lookup/ep")" = 2.05 ] &&
        grep -q 'Content-Format:application/link-format' "$TMP/coap.out" &&
        [ "$(coap -m get -A 50 "$RD/rd-lookup/ep")" = 4.06 ] &&
        [ "$(coap -m post "$RD/rd-lookup/ep")" = 4.05 ]
}
check "Content-Format 40; Accept: application/json is 4.06; POST is 4.05" formats

answers_at_least() { [ "$(grep -c 'c:2.05.*Observe' "$TMP/obs.out")" -ge "$1" ]; }
observe() { # RFC 7641 on a lookup: a notification when its result changes
    # line-buffered: its log is read while it runs
    stdbuf -oL -eL coap-client-notls -v 6 -B 20 -s 20 -m get "$RD/rd-lookup/ep?ep=obs*" >"$TMP/obs.out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_for "observe registered" grep -q 'c:2.05.*Observe' "$TMP/obs.out" || return 1
    register other "$B1" '</x>' # not in its result: nothing
    register obs1 "$B1" '</x>'
    wait_for "notification" grep -q 'ep="obs1"' "$TMP/obs.out" || return 1
    local id
    id=$(coap -m get "$RD/rd-lookup/ep?ep=obs1" >/dev/null; grep -o '</rd/[0-9a-f]*>' "$TMP/payload" | tr -d '<>')
    [ "$(coap -m delete "$RD$id")" = 2.02 ] || return 1
    # counted anew at each try (changes closer than 1 s are notified together at its end)
    wait_for "notification of the removal" answers_at_least 3 || return 1
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # the registration, the new one, the removal: three answers; "other" sent none
    [ "$(grep -c 'c:2.05.*Observe' "$TMP/obs.out")" = 3 ] && ! grep -q 'ep="other"' "$TMP/obs.out"
}
check "observe on a lookup: notified of a matching registration and its removal, not of others" observe

json_api() {
    [ "$(status "$TMP/j" "$G/api/rd-lookup/ep?ep=node*")" = 200 ] || return 1
    python3 - "$TMP/j" <<'PY' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total"] == 2, d
assert [r["ep"] for r in d["results"]] == ["node1", "node2"], d
assert d["results"][0]["base"] == "coap://127.0.0.1:7001" and d["results"][0]["lt"] == 300, d
assert d["results"][0]["href"].startswith("/rd/"), d
PY
    [ "$(status "$TMP/j" "$G/api/rd-lookup/res?rt=light*&count=1&page=0")" = 200 ] || return 1
    python3 - "$TMP/j" <<'PY' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total"] == 4 and len(d["results"]) == 1, d
r = d["results"][0]
assert r["href"] == "coap://127.0.0.1:7003/led" and r["ep"] == "lamp3", r
assert r["attributes"] == {"rt": "light-ctl", "anchor": "coap://127.0.0.1:7003/dev"}, r
PY
    [ "$(status "$TMP/j" "$G/api/rd-lookup/res?page=x")" = 400 ] &&
        [ "$(status "$TMP/j" "$G/api/rd-lookup/other")" = 404 ]
}
check "GET /api/rd-lookup/ep and /res: the same filters and paging as JSON" json_api

large() { # a lookup larger than 3 times its request, to a peer not verified yet
    local links="" i
    for i in $(seq 1 40); do links="$links</sensors/s$i>;rt=\"bulk\";if=\"sensor\","; done
    register bulk "$B1" "${links%,}" || return 1
    rm -f "$TMP/payload"
    coap-client-notls -v 9 -B 5 -o "$TMP/payload" -m get "$RD/rd-lookup/res?rt=bulk" >"$TMP/coap.out" 2>&1 || return 1
    grep -q 'c:4.01.*Echo:0x' "$TMP/coap.out" && grep -q 'c:GET.*Echo:0x' "$TMP/coap.out" &&
        grep -q 'c:2.05.*Block2:3/_/1024' "$TMP/coap.out" &&
        [ "$(tr ',' '\n' <"$TMP/payload" | grep -c 'rt="bulk"')" = 40 ]
}
check "a large lookup: 4.01 with Echo first (RFC 9175), then all of it in Block2 blocks" large

simple() { # RFC 9176 §5.1: an empty POST /.well-known/rd; the RD fetches the links
    start simB "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_B" --simple-register "$RD" --name simB --lifetime 60
    wait_for "simple registration" grep -q "registered simB" "$TMP/gw.log" || return 1
    wait_for "its 2.04" grep -q "simple registration accepted" "$TMP/simB.log" || return 1
    [ "$(lookup 'ep?ep=simB' | grep -o 'base="[^"]*"')" = "base=\"coap://127.0.0.1:$SIM_B\"" ] || return 1
    [ "$(lookup 'res?ep=simB&rt=temperature-c' | grep -o '^<[^>]*>')" = "<coap://127.0.0.1:$SIM_B/sensors/temperature>" ] || return 1
    [ "$(status "$TMP/body" "$G/devices/simB/sensors/temperature")" = 200 ] || return 1
    curl -s "$G/metrics" >"$TMP/metrics" # not piped into grep -q: pipefail and SIGPIPE
    grep -q '^coapgw_rd_simple_registrations_total{result="registered"} 1$' "$TMP/metrics"
}
check "simple registration: coapgw-sim's empty POST /.well-known/rd, its /.well-known/core registered" simple

simple_failures() {
    # coap-client's port serves nothing: 2.04 at once, then the fetch fails
    [ "$(coap -m post "$RD/.well-known/rd?ep=ghost")" = 2.04 ] || return 1
    wait_for "failure logged" grep -q "simple registration of ghost from 127.0.0.1:[0-9]* failed" "$TMP/gw.log" || return 1
    curl -s "$G/metrics" >"$TMP/metrics" # not piped into grep -q: pipefail and SIGPIPE
    grep -q '^coapgw_rd_simple_registrations_total{result="failed"} 1$' "$TMP/metrics" || return 1
    [ "$(lookup 'ep?ep=ghost')" = "" ] || return 1
    [ "$(coap -m post -e '</a>' "$RD/.well-known/rd?ep=x")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/.well-known/rd")" = 4.00 ] || return 1
    [ "$(coap -m post "$RD/.well-known/rd?ep=y&base=$B1")" = 4.00 ]
}
check "simple registration: a device that does not answer is logged and counted; no ep, a payload or base: 4.00" simple_failures

policy() { # RFC 9176 §7: a LAN device may register, not look up
    [ "$(coap -a 10.9.0.5 -m post -e '</lan>' "$RD/rd?ep=lan")" = 2.01 ] || return 1
    [ "$(coap -a 10.9.0.5 -m get "$RD/rd-lookup/ep")" = 4.03 ] || return 1
    [ ! -s "$TMP/payload" ] || return 1
    [ "$(coap -a 10.9.0.5 -m get "$RD/rd-lookup/res?rt=bulk")" = 4.03 ] || return 1
    [ "$(coap -a 10.9.0.5 -m get -s 2 "$RD/rd-lookup/ep")" = 4.03 ] || return 1
    grep -q 'base="coap://10.9.0.5:[0-9]*"' <<<"$(lookup 'ep?ep=lan')" # the gateway's host sees it
}
check "lookups from proxy.coap_clients only: a LAN source that registered gets a bare 4.03" policy

finish
