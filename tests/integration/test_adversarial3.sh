#!/usr/bin/env bash
# Adversarial checks of what the third session added (docs/security.md),
# as a LAN attacker that joined the multicast groups would try them, on
# the lab network of netns.sh (multicast does not work on loopback):
# discovery answers that claim names (a configured device's in another
# case; a name a device registers later), answers that each announce more
# links (Block2, RFC 7959 §2.8) to make the gateway fetch again and
# again, one host answering from hundreds of source ports, odd `ep`
# names; group observations answered from hundreds of source ports, read
# by nobody, or left by their clients while the group is silent. The
# attacker is hostile_member.py in member namespaces. Then, on loopback:
# a reload removing the token of a group observation's stream; a hostile
# DNS server (hostile_dns.py: a CNAME loop, 1000 records, TTL 0 and
# 2^32-1); a device connected over TCP (RFC 8323) that drops its
# connection while a request to it is in flight.
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl python3 coap-client-notls
HERE=$(cd "$(dirname "$0")" && pwd)
lab_init

lab_member m20 20
lab_start ep20 m20 python3 "$HERE/hostile_member.py" 224.0.1.187 ep BOILER
lab_member m21 21
lab_start ep21 m21 python3 "$HERE/hostile_member.py" 224.0.1.187 ep node7
lab_member m22 22
lab_start blk22 m22 python3 "$HERE/hostile_member.py" 224.0.1.187 blocks 40
lab_member m23 23
lab_start mem23 m23 python3 "$HERE/hostile_member.py" 224.0.1.190 members 400
lab_member m24 24 # a device that registers (RFC 9176)
lab_member m26 26
lab_start ports26 m26 python3 "$HERE/hostile_member.py" 224.0.1.187 ports 300
lab_member m27 27
lab_start ep27 m27 python3 "$HERE/hostile_member.py" 224.0.1.187 ep "$(printf 'a%.0s' $(seq 1 1000))"
lab_member m28 28
lab_start ep28 m28 python3 "$HERE/hostile_member.py" 224.0.1.187 ep "../x y"
lab_member m25 25
lab_start chat25 m25 python3 "$HERE/hostile_member.py" 224.0.1.192 chatty 200

HTTP=$(free_port tcp)
COAP=$(free_port)
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP" }, "coap": { "listen": "$LAB_NET4.1:$COAP" },
  "devices": { "boiler": "coap://127.0.0.1:9" },
  "discovery": { "multicast": true, "interfaces": ["br0"], "window_ms": 1500 },
  "proxy": { "allow_targets": ["224.0.1.190", "224.0.1.191", "224.0.1.192"] },
  "groups": { "flood": { "address": "224.0.1.190", "window_ms": 1000 },
              "silent": { "address": "224.0.1.191" },
              "chatty": { "address": "224.0.1.192" } } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP
wait_for "coapgw" curl -sf "$G/healthz"

# names: NAME SOURCE per device
names() { curl -sf "$G/api/devices" | python3 -c '
import json, sys
for d in json.load(sys.stdin): print(d["name"], d["source"])'; }
round_done() { names | grep -q "^node7 discovered"; }
wait_for "the first discovery round" round_done

per_host() { # one host answering from 300 source ports
    local n
    n=$(curl -sf "$G/api/devices" | grep -o '"address": *"10.77.0.26:[0-9]*"' | wc -l)
    echo "  devices discovered at 10.77.0.26: $n"
    [ "$n" -ge 1 ] && [ "$n" -le 16 ]
}
check "discovery: one host answering from 300 source ports is at most 16 devices (the 1024 of the table stay for others)" per_host
odd_names() { # an ep of 1000 bytes, an ep that is no device name: named from the address
    names >"$TMP/names"
    grep -q "^mc-10-77-0-27 discovered" "$TMP/names" && grep -q "^mc-10-77-0-28 discovered" "$TMP/names"
}
check "discovery: an ep of 1000 bytes, an ep \"../x y\": named from the address (held)" odd_names

no_case_twin() { # the configured "boiler" has no "BOILER" beside it
    names >"$TMP/names"
    grep -q "^boiler config" "$TMP/names" && ! grep -qi "^boiler discovered" "$TMP/names" &&
        grep -qi "^boiler-2 discovered" "$TMP/names"
}
check "discovery: an ep that is a configured name in another case (BOILER) gets a suffix, never a case twin" no_case_twin

registers() { # a device registers the name an attacker's discovery answer took first
    lab_in m24 coap-client-notls -m post -t 40 -e '</temp>' \
        "coap://$LAB_NET4.1:$COAP/rd?ep=node7&lt=300" >"$TMP/reg.out" 2>&1 || true
    names >"$TMP/names"
    grep -q "^node7 rd" "$TMP/names"
}
check "discovery: a name a discovered responder took (node7) is registered all the same (RD wins), the responder renamed at its next answer" registers
new_round() { [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$G/api/discovery")" = 202 ]; }
renamed() {
    # within the round's window (1500 ms) and a margin
    wait_for "a new discovery round" new_round && within 3 eval 'names | grep -q "^node7-2 discovered"'
}
check "discovery: ... and the responder answering again is node7-2" renamed

open_requests() {
    curl -sf "$G/metrics" | awk '/^coapgw_coap_requests_open /{print $2}'
}
one_fetch() { # 40 answers, each the first block of other links: one fetch of the rest
    local n
    n=$(open_requests)
    echo "  requests open after 40 first blocks from one responder: $n;" \
        "fetches seen by it: $(grep -c '^fetch' "$TMP/blk22.log")"
    [ "${n%.*}" -le 1 ]
}
check "discovery: 40 Block2 first blocks from one responder in a round: one fetch of its links at a time" one_fetch

# a group observation: 400 "members" (source ports) answer the registration
curl -s -N --max-time 4 -H "Accept: text/event-stream" "$G/groups/flood/x?observe" \
    >"$TMP/obs1" 2>/dev/null &
OBS1=$!
sleep 2
curl -s -N --max-time 1.5 -H "Accept: text/event-stream" "$G/groups/flood/x?observe" \
    >"$TMP/obs2" 2>/dev/null || true
wait "$OBS1" || true
bounded_members() {
    local a b
    a=$(grep -c '^event: notification' "$TMP/obs1" || true)
    b=$(grep -c '^event: notification' "$TMP/obs2" || true)
    echo "  notifications: first subscriber $a, a later subscriber's replay $b (of 400 members)"
    [ "$a" -ge 200 ] && [ "$a" -le 256 ] && [ "$b" -le 256 ]
}
check "groups: a group observation answered from 400 source ports keeps and streams at most 256 members" bounded_members

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$PID_gw/status"; }
backlog() { # 200 members x 400 notifications (20 MB of events) to a client that reads nothing
    local before after
    before=$(rss_kb)
    python3 - "$HTTP" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /groups/chatty/x?observe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          b"Accept: text/event-stream\r\n\r\n")
time.sleep(9)
PY
    local client=$!
    # the flood is over (400 rounds 5 ms apart; within 8 s), the gateway
    # has read the last of it, the client still there
    within 8 grep -q '^chatty: 400 notifications sent' "$TMP/chat25.log" || echo "  the flood did not end within 8 s"
    sleep 1
    after=$(rss_kb)
    kill "$client" 2>/dev/null || true
    wait "$client" || true
    echo "  gateway resident memory: $before kB before, $after kB after"
    # under AddressSanitizer freed memory stays in its quarantine: not measured
    if grep -q __asan_init "$BUILD/coapgw"; then return 0; fi
    [ $((after - before)) -lt 4096 ] # 28 MB without the bound
}
check "groups: a subscriber that reads nothing of a chatty observation holds at most 1 MiB of events" backlog

# subscribers of a group observation that nobody answers, who go away
for i in 1 2 3; do
    curl -s -N --max-time 1 -H "Accept: text/event-stream" "$G/groups/silent/q$i?observe" \
        >/dev/null 2>&1 || true
done
released() { # the hub's streams find a gone client by their keep-alive (15 s)
    local i n
    for i in $(seq 1 60); do
        n=$(open_requests)
        [ "${n%.*}" -le 1 ] && return 0 # the discovery fetch above may still be open
        sleep 0.5
    done
    echo "  requests still open 30 s after the subscribers left: $n"
    return 1
}
check "groups: observations of a silent group whose subscribers left are released (within 30 s)" released

# a token removed by a reload (SIGHUP) while a group observation streams with it
HTTP3=$(free_port tcp)
tokens_json() { # the gateway's configuration with these tokens (read scope)
    local t list=
    for t in "$@"; do list="$list${list:+, }{ \"token\": \"$t\", \"scope\": \"read\" }"; done
    cat >"$TMP/gwk.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP3" }, "coap": { "listen": "127.0.0.1:$(free_port)" },
  "proxy": { "allow_targets": ["224.0.1.191"] }, "tokens": [ $list ],
  "groups": { "silent": { "address": "224.0.1.191" } } }
JSON
}
tokens_json gone-token-0123456789 kept-token-0123456789
start gwk "$BUILD/coapgw" --config "$TMP/gwk.json"
wait_for "coapgw with tokens" curl -sf "http://127.0.0.1:$HTTP3/healthz"
revoked() {
    local t0 t1
    t0=$(date +%s)
    curl -s -N --max-time 12 -H "Authorization: Bearer gone-token-0123456789" \
        -H "Accept: text/event-stream" "http://127.0.0.1:$HTTP3/groups/silent/x?observe" \
        >"$TMP/revoked.sse" 2>/dev/null &
    local c=$!
    sleep 1
    tokens_json kept-token-0123456789
    kill -HUP "$PID_gwk"
    wait "$c" || true
    t1=$(date +%s)
    echo "  the stream ended $((t1 - t0)) s after it opened: $(grep -c '^event: error' "$TMP/revoked.sse") error event(s)"
    [ $((t1 - t0)) -lt 8 ] && grep -q '"status":401' "$TMP/revoked.sse"
}
check "groups: a group observation's stream ends (event: error 401) when a reload removes its token" revoked

# a hostile DNS server (dns.servers): a CNAME loop, 1000 records, TTL 0 and 2^32-1
start hdns python3 "$HERE/hostile_dns.py" "$TMP/dnsq"
wait_for "hostile_dns.py" grep -q '^[0-9]' "$TMP/hdns.log"
SIMD=$(free_port)
start simd "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIMD"
HTTP4=$(free_port tcp)
start gwd "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP4" --coap-listen "127.0.0.1:$(free_port)" \
    --set "dns.servers=127.0.0.1:$(head -1 "$TMP/hdns.log")" --allow-target '*.evil.test'
G4=http://127.0.0.1:$HTTP4
wait_for "coapgw with the hostile DNS server" curl -sf "$G4/healthz"
hc() { curl -s -o "$TMP/hc" -w '%{http_code}' --max-time 10 "$G4/hc/coap://$1:$SIMD/sensors/temperature"; }
dns_hostile() {
    local loop many forever n q
    loop=$(hc loop.evil.test)
    grep -q "cannot resolve" "$TMP/hc" || loop="$loop ($(head -c 80 "$TMP/hc"))"
    many=$(hc many.evil.test)
    forever=$(hc forever.evil.test)
    for n in $(seq 1 10); do hc ttl0.evil.test >/dev/null; sleep 0.2; done
    q=$(grep -c '^ttl0.evil.test A$' "$TMP/dnsq" || true)
    echo "  CNAME loop: $loop; 1000 records: $many; TTL 2^32-1: $forever; TTL 0: $q queries for 10 requests in 2 s"
    # 1000 records in one datagram (16 KB, no TC bit): c-ares may refuse the
    # answer (502 cannot resolve) or take it; either way a clear answer
    [ "$loop" = 502 ] && { [ "$many" = 200 ] || [ "$many" = 502 ]; } && [ "$forever" = 200 ] &&
        [ "$q" -le 4 ] &&
        curl -sf "$G4/healthz" >/dev/null
}
check "DNS: a CNAME loop is 502 cannot resolve; 1000 records a clear 200 or 502; TTL 2^32-1 served; TTL 0 held 1 s (held)" dns_hostile

# group observations are upstream observations: sse.max_observations (2)
HTTP5=$(free_port tcp)
start gwo "$BUILD/coapgw" --http-listen "127.0.0.1:$HTTP5" --coap-listen "127.0.0.1:$(free_port)" \
    --set sse.max_observations=2 --allow-target 224.0.1.191 \
    --set 'groups={"silent": {"address": "224.0.1.191"}}'
G5=http://127.0.0.1:$HTTP5
wait_for "coapgw with sse.max_observations 2" curl -sf "$G5/healthz"
sse_code() { curl -s -o "$TMP/sse.body" -D "$TMP/headers" -w '%{http_code}' --max-time 2 -H "Accept: text/event-stream" "$@" || true; }
observations_bound() {
    local o1 o2 third hub
    curl -s -N --max-time 6 -H "Accept: text/event-stream" "$G5/groups/silent/a?observe" >/dev/null 2>&1 &
    o1=$!
    curl -s -N --max-time 6 -H "Accept: text/event-stream" "$G5/groups/silent/b?observe" >/dev/null 2>&1 &
    o2=$!
    sleep 1
    third=$(sse_code "$G5/groups/silent/c?observe")
    local retry
    retry=$(hdr Retry-After)
    grep -q "sse.max_observations" "$TMP/sse.body" || third="$third (body: $(head -c 80 "$TMP/sse.body"))"
    hub=$(sse_code "$G5/hc/coap://127.0.0.1:$SIMD/sensors/temperature")
    wait "$o1" "$o2" || true
    echo "  a third group observation: $third (Retry-After $retry); a device's stream: $hub"
    [ "$third" = 503 ] && [ -n "$retry" ] && [ "$hub" = 503 ]
}
check "groups: two group observations open, sse.max_observations 2: a third, and a device's stream, get 503 naming the key" observations_bound

# CoAP over TCP: a device that connected out drops its connection while a
# request to it is in flight (RFC 8323: no answer will come on another)
TP=$(free_port tcp)
HTTP2=$(free_port tcp)
cat >"$TMP/gwt.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP2" },
  "coap": { "listen": "127.0.0.1:$(free_port)", "listen_tcp": "127.0.0.1:$TP" } }
JSON
start gwt "$BUILD/coapgw" --config "$TMP/gwt.json"
G2=http://127.0.0.1:$HTTP2
wait_for "coapgw with a TCP listener" curl -sf "$G2/healthz"
start dev "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "coap+tcp://127.0.0.1:$TP" \
    --name tdev --slow-ms 20000
mid_exchange() {
    local code t0 t1 open
    wait_for "tdev registered" curl -sf "$G2/devices/tdev/sensors/temperature" || return 1
    t0=$(date +%s%N)
    curl -s -o "$TMP/mid" -w '%{http_code}' --max-time 15 "$G2/devices/tdev/slow" >"$TMP/mid.code" &
    local req=$!
    sleep 1
    kill -KILL "$PID_dev"
    wait "$PID_dev" 2>/dev/null || true
    wait "$req" || true
    t1=$(date +%s%N)
    code=$(cat "$TMP/mid.code")
    open=$(curl -sf "$G2/metrics" | awk '/^coapgw_coap_requests_open /{print $2}')
    echo "  answered $code after $(((t1 - t0) / 1000000)) ms: $(head -c 120 "$TMP/mid"); requests open: $open"
    [ "$code" = 504 ] && [ $(((t1 - t0) / 1000000)) -lt 5000 ] && [ "${open%.*}" = 0 ]
}
check "TCP: a device's connection dropped mid-exchange: 504 at once, nothing left open (held)" mid_exchange

finish
