#!/usr/bin/env bash
# Multicast discovery (RFC 7252 §8, §12.8; docs/discovery.md) on a lab
# network of network namespaces (netns.sh: multicast does not work on
# loopback). Members: three libcoap coap-server-notls -g 224.0.1.187, one
# coap-server-notls -g ff02::fd (IPv6), three coapgw-sim --group
# 224.0.1.187 (one at an address outside the default target allowlist),
# two that give an `ep` name (mc_member.py).
# Gateways in the lab namespace, with discovery.* set. Checks: every
# member listed with source "discovered", its address and links;
# /devices/NAME/... through the allowlist (200 allowed, 403 not); a
# stopped member offline, then dropped; POST /api/discovery (202, 409, 404
# when off, the write token); each discovery.* key against a gateway with
# its default; the engine's member rules seen from coapgw-sim.
# libcoap's members answer a group request after a random leisure of up
# to 5 s (RFC 7252 §8.2's DEFAULT_LEISURE), coapgw-sim within 1 s: the
# windows that must catch libcoap's are 6 s.
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl python3 coap-server-notls coap-client-notls
lab_init

for n in 11 12 13; do
    lab_member "m$n" "$n"
    lab_start "srv$n" "m$n" coap-server-notls -g 224.0.1.187
done
lab_member m14 14
lab_start srv14 m14 coap-server-notls -g ff02::fd -G eth0
for n in 15 16 17; do lab_member "m$n" "$n"; done
# m17 on 192.0.2.17 (TEST-NET-1) alone: outside the private ranges the
# target allowlist has by default, to show it applies to discovered devices
lab_in m17 bash -c "ip addr del $LAB_NET4.17/24 dev eth0 && ip addr add 192.0.2.17/24 dev eth0 &&
    ip route replace 224.0.0.0/4 dev eth0 && ip route add $LAB_NET4.0/24 dev eth0"
ip addr add 192.0.2.1/24 dev "$LAB_IF"
for n in 15 16 17; do
    lab_start "sim$n" "m$n" "$BUILD/coapgw-sim" --listen "[::]:5683" --group 224.0.1.187
done
# two members that name themselves (ep): "boiler", configured on A already,
# and "kettle", whose group answer is the first block of its links
lab_member m18 18
lab_start ep18 m18 python3 "$(dirname "$0")/mc_member.py" 224.0.1.187 boiler
lab_member m19 19
lab_start ep19 m19 python3 "$(dirname "$0")/mc_member.py" 224.0.1.187 kettle --blocks

# gateway NAME DISCOVERY-JSON [EXTRA-JSON]: a coapgw in the lab namespace
# with this "discovery" object; sets PORT_NAME.
gateway() {
    local name=$1 http coap devices='"devices": {},'
    http=$(free_port tcp)
    coap=$(free_port)
    [[ ${3:-} != *'"devices"'* ]] || devices=
    cat >"$TMP/$name.json" <<JSON
{ "http": { "listen": "127.0.0.1:$http" }, "coap": { "listen": "127.0.0.1:$coap" },
  $devices "discovery": $2 ${3:+, $3} }
JSON
    start "$name" "$BUILD/coapgw" --config "$TMP/$name.json"
    eval "PORT_$name=$http"
}
url() { local v="PORT_$1"; echo "http://127.0.0.1:${!v}$2"; }
RTOK=read-token-0123456789
WTOK=write-token-0123456789
RD=(-H "Authorization: Bearer $RTOK")
WR=(-H "Authorization: Bearer $WTOK")

LAB='"multicast": true, "interfaces": ["br0"]'
# A: long windows, short thresholds, the lab in the allowlist
gateway A "{ $LAB, \"window_ms\": 6000, \"offline_after\": 1, \"drop_after\": 2 }" \
    '"proxy": { "allow_targets": ["192.0.2.0/24"] }, "devices": { "boiler": "coap://127.0.0.1:9" }'
gateway B '{}' # the defaults: multicast off
# G: multicast on, every other discovery key at its default; tokens
gateway G "{ $LAB }" "\"tokens\": [{\"token\": \"$RTOK\", \"scope\": \"read\"},
                                 {\"token\": \"$WTOK\", \"scope\": \"read-write\"}]"
gateway C '{ "multicast": true, "interfaces": ["lo"], "window_ms": 6000 }'
gateway H "{ $LAB, \"groups\": [\"224.0.1.187\"], \"window_ms\": 6000 }"
gateway Q "{ $LAB, \"period_s\": 10, \"window_ms\": 6000, \"query\": \"rt=temperature*\" }"
for g in A B G C H Q; do wait_for "coapgw $g" curl -sf "$(url $g /healthz)"; done

# devs GW [CURL-ARGS]: one line per device: NAME SOURCE ONLINE ADDRESS LINKS
# (LINKS: "time" for libcoap's, "temp" for coapgw-sim's)
devs() {
    local g=$1
    shift
    curl -s "$@" "$(url "$g" /api/devices)" | python3 -c '
import json, sys
for d in json.load(sys.stdin):
    links = d.get("links") or ""
    print(d["name"], d["source"], "online" if d["online"] else "offline", d.get("address", "-"),
          "time" if "</time>" in links else ("temp" if "temperature" in links else "-"))'
}
n_disc() { local l; l=$(devs "$@"); grep -c " discovered " <<<"$l" || true; }
# rounds GW [CURL-ARGS]: "ROUNDS RUNNING" from GET /api/discovery
rounds() {
    local g=$1
    shift
    curl -s "$@" "$(url "$g" /api/discovery)" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["rounds"], str(d["running"]).lower())'
}
round_over() { [ "$(rounds "$@" | cut -d' ' -f1)" -ge "$ROUNDS" ] && [ "$(rounds "$@" | cut -d' ' -f2)" = false ]; }
# wait_rounds N GW [CURL-ARGS]: until GW has finished N rounds (20 s at most)
wait_rounds() {
    local i
    ROUNDS=$1
    shift
    for i in $(seq 1 200); do
        round_over "$@" && return 0
        sleep 0.1
    done
    echo "timed out waiting for round $ROUNDS of $1" >&2
}
post() { status "$TMP/p.txt" -X POST "$@"; }

# the first round: 1 s after start
for g in A C H Q; do wait_rounds 1 $g; done
wait_rounds 1 G "${RD[@]}"
devs A >"$TMP/a.txt"
lists_all() {
    local n
    for n in 11 12 13; do
        grep -q "^mc-10-77-0-$n discovered online 10.77.0.$n:5683 time$" "$TMP/a.txt" || return 1
    done
    for n in 15 16; do
        grep -q "^mc-10-77-0-$n discovered online 10.77.0.$n:5683 temp$" "$TMP/a.txt" || return 1
    done
    grep -q "^mc-192-0-2-17 discovered online 192.0.2.17:5683 temp$" "$TMP/a.txt" &&
        grep -Eq '^mc-(fe80-[0-9a-f-]*-br0|fd77--14) discovered online \[(fe80::[0-9a-f:]*%br0|fd77::14)\]:5683 time$' "$TMP/a.txt" &&
        [ "$(grep -c ' discovered ' "$TMP/a.txt")" = 9 ]
}
check "three coap-server-notls, the IPv6 one, three coapgw-sim: listed with source, address, links" lists_all
ep_names() {
    grep -q '^kettle discovered online 10.77.0.19:5683 ' "$TMP/a.txt" &&
        grep -q '^boiler-2 discovered online 10.77.0.18:5683 ' "$TMP/a.txt" &&
        grep -q '^boiler config ' "$TMP/a.txt"
}
check "names from ep: kettle; boiler, a configured device's name, becomes boiler-2" ep_names
whole_links() {
    local l
    l=$(curl -s "$(url A /api/devices/kettle)")
    grep -q '"href":"/second-link"' <<<"$l" && grep -q 'beyond-the-first-block' <<<"$l"
}
check "kettle's group answer was its first block: the whole links fetched by unicast" whole_links

# /devices/NAME/...: through the allowlist like any address
private_ok() { [ "$(status "$TMP/t.txt" "$(url A /devices/mc-10-77-0-11/time)")" = 200 ]; }
check "GET /devices/mc-10-77-0-11/time: 200 (a private range: allowed by default)" private_ok
allowlist() {
    [ "$(status "$TMP/t.txt" "$(url A /devices/mc-192-0-2-17/sensors/temperature)")" = 200 ] &&
        [ "$(status "$TMP/t.txt" "${RD[@]}" "$(url G /devices/mc-192-0-2-17/sensors/temperature)")" = 403 ] &&
        grep -q 'not allowed' "$TMP/t.txt"
}
check "GET /devices/mc-192-0-2-17/...: 200 with 192.0.2.0/24 in proxy.allow_targets, else 403" allowlist
sim_detail() { local l; l=$(curl -s "$(url A /api/devices/mc-10-77-0-15)"); grep -q '"href":"/sensors/temperature"' <<<"$l"; }
check "GET /api/devices/mc-10-77-0-15: coapgw-sim's resources from its group answer" sim_detail

# the other keys, each against a gateway with its default
multicast_off() {
    [ "$(n_disc B)" = 0 ] && [ "$(status "$TMP/b.txt" "$(url B /api/discovery)")" = 404 ] &&
        [ "$(n_disc G "${RD[@]}")" -ge 2 ]
}
effect discovery.multicast "B (false) lists no discovered device, GET /api/discovery 404; G (true) does" multicast_off
effect discovery.interfaces "C (lo) finds no member; G (br0) finds coapgw-sim" \
    test "$(n_disc C)" = 0 -a "$(n_disc G "${RD[@]}")" -ge 2
h_v4_only() {
    devs H >"$TMP/h.txt"
    [ "$(grep -c ' discovered ' "$TMP/h.txt")" = 8 ] && ! grep -q '^mc-f[de]' "$TMP/h.txt"
}
effect discovery.groups "H (224.0.1.187 only): the eight IPv4 members, not the IPv6 one (A: nine)" h_v4_only
q_filters() {
    devs Q >"$TMP/q.txt"
    [ "$(grep -c ' discovered ' "$TMP/q.txt")" = 3 ] && [ "$(grep -c ' discovered online .* temp$' "$TMP/q.txt")" = 3 ]
}
effect discovery.query "Q (rt=temperature*): the three coapgw-sim alone (libcoap's have no such link)" q_filters

# POST /api/discovery
posted() {
    [ "$(post "$(url A /api/discovery)")" = 202 ] && grep -q '"running":true' "$TMP/p.txt" &&
        [ "$(post "$(url A /api/discovery)")" = 409 ]
}
check "POST /api/discovery: 202 and a round running; again at once: 409" posted
off_404() { [ "$(post "$(url B /api/discovery)")" = 404 ]; }
check "POST /api/discovery with discovery.multicast false: 404" off_404
needs_write() {
    [ "$(post "$(url G /api/discovery)")" = 401 ] &&
        [ "$(post "${RD[@]}" "$(url G /api/discovery)")" = 403 ] &&
        [ "$(post "${WR[@]}" "$(url G /api/discovery)")" = 202 ]
}
check "POST /api/discovery with tokens: 401 without, 403 read-only, 202 read-write" needs_write
window() { # 4 s after the POSTs: A's round (6000) runs on, G's (3000) is over
    sleep 4
    [ "$(rounds A | cut -d' ' -f2)" = true ] && [ "$(rounds G "${RD[@]}")" = "2 false" ]
}
effect discovery.window_ms "4 s into a round: A's (6000) is running, G's (3000, the default) is over" window
wait_rounds 2 A

# a stopped member: offline after offline_after rounds, dropped after drop_after
stop sim16
post "$(url A /api/discovery)" >/dev/null
post "${WR[@]}" "$(url G /api/discovery)" >/dev/null
wait_rounds 3 A
wait_rounds 3 G "${RD[@]}"
has() { local l; l=$(devs "$1" "${@:3}"); grep -q "^mc-10-77-0-16 discovered $2 " <<<"$l"; }
effect discovery.offline_after "one silent round: offline with 1 (A), online with 2 (G)" \
    eval 'has A offline && has G online "${RD[@]}"'
post "$(url A /api/discovery)" >/dev/null
post "${WR[@]}" "$(url G /api/discovery)" >/dev/null
wait_rounds 4 A
wait_rounds 4 G "${RD[@]}"
gone() { local l; l=$(devs "$1" "${@:2}"); ! grep -q "^mc-10-77-0-16 " <<<"$l"; }
effect discovery.drop_after "two silent rounds: dropped with 2 (A), offline and listed with 6 (G)" \
    eval 'gone A && has G offline "${RD[@]}"'
others_stay() { local l; l=$(devs A); grep -q '^mc-10-77-0-15 discovered online ' <<<"$l"; }
check "the members still answering stay online" others_stay

periods() { # by now Q (10 s) has had a second round by itself; H (300 s) has not
    wait_rounds 2 Q
    [ "$(rounds Q | cut -d' ' -f1)" -ge 2 ] && [ "$(rounds H)" = "1 false" ]
}
effect discovery.period_s "Q (10) has a second round by itself; H (300, the default) has not" periods

reloaded() { # B, off, turned on by SIGHUP: the next round goes out
    sed -i 's/"discovery": {}/"discovery": { "multicast": true, "interfaces": ["br0"], "window_ms": 1500 }/' "$TMP/B.json"
    kill -HUP "$PID_B"
    local i
    for i in $(seq 1 50); do
        [ "$(post "$(url B /api/discovery)")" = 202 ] && break
        sleep 0.1
    done
    [ "$(cat "$TMP/p.txt" | grep -o '"running":true')" = '"running":true' ] || return 1
    wait_rounds 1 B
    [ "$(n_disc B)" -ge 3 ]
}
check "a reload applies discovery.*: B turned on by SIGHUP starts a round on POST and lists members" reloaded

unicast_refused() {
    echo '{ "discovery": { "groups": ["224.0.1.187", "10.77.0.11"] } }' >"$TMP/bad.json"
    local rc=0
    "$BUILD/coapgw" --check-config "$TMP/bad.json" >"$TMP/bad.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q 'discovery.groups\[1\]: "10.77.0.11" is no multicast address' "$TMP/bad.out"
}
check "discovery.groups: a unicast address is a configuration error (--check-config exit 2)" unicast_refused

# the engine's member rules, seen from coapgw-sim (coap/ep_mcast.c)
member_rules() {
    coap-client-notls -v 7 -N -B 2 -m get "coap://224.0.1.187/nothing-here" >"$TMP/mc.txt" 2>&1 || true
    coap-client-notls -v 7 -N -B 2 -m get "coap://224.0.1.187/sensors/temperature" >"$TMP/mc2.txt" 2>&1 || true
    ! grep -q 'c:4\.04' "$TMP/mc.txt" && grep -q 'c:2\.05' "$TMP/mc2.txt" &&
        grep -q '10\.77\.0\.15' "$TMP/mc2.txt"
}
check "coapgw-sim as a member: no 4.04 to a group GET of a missing resource; 2.05 from 10.77.0.15" member_rules
finish
