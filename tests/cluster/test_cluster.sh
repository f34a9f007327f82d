#!/usr/bin/env bash
# Several gateways (issue #18, docs/cluster.md): Redis, HAProxy (HTTP,
# docker/cluster/haproxy.cfg), nginx stream (CoAP over UDP,
# docker/cluster/nginx-stream.conf), three coapgw instances on 127.0.0.2,
# .3 and .4, simulated devices. In a network namespace of its own (only lo),
# no Docker. Checks, as issue #18 asks:
#   - a device registered through one instance (nginx picks it) is listed
#     and served by all three;
#   - 100 SSE subscribers to one target through HAProxy: one upstream
#     observation in the whole cluster (coapgw_observations_active);
#   - a device whose DTLS session lives on instance 2 is read (and
#     observed) through instance 1 (forwarding to the owner);
#   - failover: under a bounded wrk run and 200 SSE subscribers through
#     HAProxy, the instance serving the stream is killed (SIGKILL): HAProxy
#     takes it out within 2 s, failures counted and printed, every
#     subscriber has notifications again within 3 s, every registration
#     still listed by the others;
#   - Redis stopped: the degraded behaviour of docs/cluster.md; started
#     again: recovery, no acknowledged registration lost;
#   - with two more instances (127.0.0.10, .11) behind a second HAProxy: a
#     relayed event stream whose client reads nothing ends at the 1 MiB
#     cap, and an instance drains after SIGTERM (HAProxy takes it out, the
#     request in flight on it finishes, no request fails);
#   - an instance with tokens (127.0.0.13): a reload that removes a token
#     ends the streams it relays for it (event: error 401), as the hub's;
#     one that removes the device ends them too (event: error 404).
# Prints the figures (failover time, failures, reconnection times).
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../integration/lib.sh"
. "$HERE/failover.sh"
need curl coap-client-notls python3 redis-server redis-cli haproxy nginx wrk
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$STREAM_MODULE" ] || { echo "SKIP: nginx's stream module not installed (libnginx-mod-stream)"; exit 77; }
CONF=$HERE/../../docker/cluster
TOKEN=cluster-secret-0123456789
LB=http://127.0.0.1:8000
HAPROXY_SOCK=$TMP/haproxy.sock
IP=(x 127.0.0.2 127.0.0.3 127.0.0.4) # instance N listens on ${IP[N]}
url() { echo "http://${IP[$1]}:8080"; }
printf 'node1-secret\n' >"$TMP/node1.key"
chmod 600 "$TMP/node1.key"
cat >"$TMP/gw.json" <<JSON
{ "http": { "max_connections_per_ip": 20000 },
  "proxy": { "timeout_ms": 2000 },
  "rd": { "max_per_source": 1000 },
  "sse": { "retry_ms": 200 },
  "dtls": { "identities": [ { "psk": "node1", "key_file": "$TMP/node1.key", "names": ["sec*"] } ] },
  "devices": {},
  "state": { "redis": "redis://127.0.0.1:6379" },
  "cluster": { "token": "$TOKEN" } }
JSON

# --- the keys' checks ---
refused() { # refused MESSAGE ARGS...: coapgw ARGS exits non-zero saying MESSAGE
    local msg=$1
    shift
    ! timeout 5 "$BUILD/coapgw" --config "$TMP/gw.json" --set http.listen=127.0.0.9:8080 \
        --set coap.listen=127.0.0.9:5683 --set coap.listen_dtls=127.0.0.9:5684 "$@" >"$TMP/refused.out" 2>&1 &&
        grep -q "$msg" "$TMP/refused.out" || { cat "$TMP/refused.out"; return 1; }
}
bad_values() {
    refused "cluster.advertise: bad advertise URL" --set cluster.advertise=http://127.0.0.2:8080/path &&
        refused "cluster.advertise: bad advertise URL" --set cluster.advertise=ftp://127.0.0.2 &&
        refused "cluster.token: bad token length" --set cluster.token=short &&
        refused "cluster.advertise needs cluster.token" --set cluster.advertise=http://127.0.0.2:8080 \
            --set cluster.token=
}
check "refused at start: an advertise URL with a path or another scheme, a short token, advertise without token" bad_values

# --- the cluster ---
redis() {
    start redis redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --dir "$TMP"
    wait_for "redis-server" bash -c "exec 3<>/dev/tcp/127.0.0.1/6379"
}
# instance N [--set K=V...]: coapgw on ${IP[N]}, advertised there
instance() {
    local n=$1 ip=${IP[$1]}
    shift
    start "gw$n" "$BUILD/coapgw" --config "$TMP/gw.json" --set "http.listen=$ip:8080" \
        --set "coap.listen=$ip:5683" --set "coap.listen_dtls=$ip:5684" \
        --set "cluster.advertise=http://$ip:8080" "$@"
    wait_for "coapgw $n" curl -sf "$(url "$n")/readyz"
}
redis
instance 1
instance 2
# instance 3 keeps the defaults: it advertises no URL and has no token
instance 3 --set cluster.advertise= --set cluster.token=

servers=""
upstreams=""
for n in 1 2 3; do
    servers+="    server gw$n ${IP[$n]}:8080 check"$'\n'
    upstreams+="        server ${IP[$n]}:5683;"$'\n'
done
fill() { # fill TEMPLATE OUT NAME=VALUE...: @NAME@ replaced
    python3 - "$@" <<'PY'
import sys
text = open(sys.argv[1]).read()
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    text = text.replace("@%s@" % k, v.rstrip("\n"))
assert "@" not in "".join(l for l in text.splitlines() if not l.lstrip().startswith("#")), text
open(sys.argv[2], "w").write(text)
PY
}
fill "$CONF/haproxy.cfg" "$TMP/haproxy.cfg" "STATS_SOCKET=$TMP/haproxy.sock" "HTTP_BIND=127.0.0.1:8000" \
    "SERVERS=$servers"
fill "$CONF/nginx-stream.conf" "$TMP/nginx.conf" "STREAM_MODULE=$STREAM_MODULE" \
    "PID_FILE=$TMP/nginx.pid" "ERROR_LOG=$TMP/nginx.err" "COAP_LISTEN=127.0.0.1:5683" \
    "UPSTREAMS=$upstreams"
start haproxy haproxy -db -f "$TMP/haproxy.cfg"
start nginx nginx -c "$TMP/nginx.conf" -p "$TMP" -e "$TMP/nginx.err"
wait_for "haproxy" curl -sf "$LB/readyz"
wait_for "HAProxy: all three up" eval '[ "$(hastate gw1)$(hastate gw2)$(hastate gw3)" = UPUPUP ]'

# --- devices ---
# three plaintext devices, registered through nginx (CoAP/UDP) with their
# base: nginx is the source the gateways see
coap() {
    "$@" -B 3 -v 6 >"$TMP/coap.out" 2>&1 || true
    local c
    c=$(grep -o 't:ACK c:[0-9.]*\|t:CON c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://')
    echo "${c:--}"
}
register() { # register NAME PORT: through nginx
    coap coap-client-notls -m post -t 40 -e '</sensors/temperature>;rt="t";obs' \
        "coap://127.0.0.1:5683/rd?ep=$1&lt=3600&base=coap://127.0.0.1:$2"
}
# ... again while the answer is none: nginx's UDP session to a killed
# instance fails once, then nginx picks another (passive health check)
register_again() {
    local c _
    for _ in 1 2 3; do
        c=$(register "$@")
        [ "$c" != - ] && break
    done
    echo "$c"
}
acked=()
# the plaintext devices register themselves through nginx, with their base
# (coapgw-sim --base): nginx is the source the gateways see
for i in 1 2 3; do
    start "sim$i" "$BUILD/coapgw-sim" --listen "127.0.0.1:570$i" --period-ms 200 \
        --register coap://127.0.0.1:5683 --name "plain$i" --lifetime 3600 --base "coap://127.0.0.1:570$i"
done
# two DTLS devices, each registered over one instance's DTLS listener
start sec2 "$BUILD/coapgw-sim" --listen 127.0.0.5:5783 --listen-dtls 127.0.0.5:5784 \
    -k node1-secret -u node1 --register "coaps://${IP[2]}:5684" --name sec2 --lifetime 3600 --period-ms 200
start sec3 "$BUILD/coapgw-sim" --listen 127.0.0.6:5783 --listen-dtls 127.0.0.6:5784 \
    -k node1-secret -u node1 --register "coaps://${IP[3]}:5684" --name sec3 --lifetime 3600 --period-ms 200
sleep 0.5
served() { [ "$(curl -s -o "$TMP/served" -w '%{http_code}' "$1/devices/$2/sensors/temperature")" = 200 ]; }
everywhere() {
    local i n
    for i in 1 2 3; do
        within 5 eval 'grep -q "rd: registered as /rd/" "$TMP/sim$i.log"' || { echo "  plain$i: $(tail -2 "$TMP/sim$i.log")"; return 1; }
        acked+=("plain$i")
    done
    for n in 1 2 3; do
        within 2 eval '[ "$(names "$(url $n)")" = "plain1 plain2 plain3 sec2 sec3" ]' ||
            { echo "  instance $n lists: $(names "$(url "$n")")"; return 1; }
        for i in 1 2 3; do served "$(url "$n")" "plain$i" || { echo "  plain$i on $n"; return 1; }; done
    done
    # nginx spread nothing here (one source): which instance took them
    grep -h "rd: registered plain" "$TMP"/gw[123].log | head -3 | sed 's/^/  /'
}
check "registered through nginx (coapgw-sim --base): every device listed and served by all three instances" everywhere

# --- forwarding to the owner ---
forwarded() {
    served "$(url 1)" sec2 && grep -Eq '^-?[0-9.]+$' "$TMP/served" || { cat "$TMP/served"; return 1; }
    grep -q "GET /devices/sec2/sensors/temperature -> http://${IP[2]}:8080 200" "$TMP/gw1.log" || {
        grep "sec2" "$TMP/gw1.log" | tail -3
        return 1
    }
    # a POST with its body and content type: the same answer as from the
    # owner itself (status, type, body)
    post() { curl -s -o "$TMP/echo$1" -w '%{http_code} %{content_type}' -H 'Content-Type: text/plain' \
        --data-binary forwarded-body "$(url "$1")/devices/sec2/echo"; }
    local via direct
    via=$(post 1) && direct=$(post 2)
    echo "  POST through instance 1: $via; at instance 2: $direct"
    [ "$via" = "$direct" ] && [ "${via%% *}" = 200 ] && cmp -s "$TMP/echo1" "$TMP/echo2" &&
        grep -q forwarded-body "$TMP/echo1" || return 1
    # ... and an event stream, relayed as it comes
    curl -s -N -m 2 -H 'Accept: text/event-stream' "$(url 1)/devices/sec2/sensors/temperature" >"$TMP/fwd.sse" || true
    [ "$(grep -c '^data:' "$TMP/fwd.sse")" -ge 3 ] || { head -5 "$TMP/fwd.sse"; return 1; }
}
check "a device whose DTLS session lives on instance 2 is read, posted to and observed through instance 1 (forwarded)" forwarded
no_loop() {
    # a forwarded request is served by the owner, never forwarded again
    [ "$(curl -s -o "$TMP/out" -w '%{http_code}' -H "X-Coapgw-Forwarded: $TOKEN" \
        "$(url 1)/devices/sec2/sensors/temperature")" = 503 ] &&
        grep -q "held by another gateway .*not forwarded again" "$TMP/out" || { cat "$TMP/out"; return 1; }
    [ "$(curl -s -o "$TMP/out" -w '%{http_code}' -H "X-Coapgw-Forwarded: not-the-token-at-all" \
        "$(url 2)/devices/sec2/sensors/temperature")" = 403 ]
}
check "a forwarded request is not forwarded again (503); a wrong cluster token: 403" no_loop
events_form() {
    [ "$(curl -s -o "$TMP/out" -w '%{http_code}' -m 3 \
        "$(url 1)/events?target=/devices/sec2/sensors/temperature")" = 503 ] &&
        grep -q "sec2 is held by another gateway (.* coap=${IP[2]}:5683 " "$TMP/out" || { cat "$TMP/out"; return 1; }
}
check "/events?target=/devices/NAME/... of a device held elsewhere: 503 naming its instance" events_form
effect_advertise() {
    # sec3's instance has the default cluster.advertise "": not forwarded
    [ "$(curl -s -o "$TMP/out" -w '%{http_code}' "$(url 1)/devices/sec3/sensors/temperature")" = 503 ] &&
        grep -q "sec3 is held by another gateway (.* coap=${IP[3]}:5683 .*no cluster.advertise" "$TMP/out" ||
        { cat "$TMP/out"; return 1; }
    served "$(url 3)" sec3
}
effect cluster.advertise "set on instance 2: sec2 read through instance 1; the default \"\" (instance 3): 503 held by another gateway" \
    eval 'served "$(url 1)" sec2 && effect_advertise'
effect_token() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Coapgw-Forwarded: $TOKEN" \
        "$(url 2)/devices/sec2/sensors/temperature")" = 200 ] || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Coapgw-Forwarded: $TOKEN" \
        "$(url 3)/devices/sec3/sensors/temperature")" = 403 ] || return 1
    [ "$(curl -s -o "$TMP/out" -w '%{http_code}' "$(url 3)/devices/sec2/sensors/temperature")" = 503 ] &&
        grep -q "no cluster.token to forward with" "$TMP/out"
}
effect cluster.token "set: a forwarded request with it is served; the default \"\" (instance 3): refused (403), nothing forwarded" effect_token
moved() {
    # sec3 registers again, over instance 2's DTLS listener (another
    # address): instance 1 now forwards its requests there
    start sec3b "$BUILD/coapgw-sim" --listen 127.0.0.8:5783 --listen-dtls 127.0.0.8:5784 \
        -k node1-secret -u node1 --register "coaps://${IP[2]}:5684" --name sec3 --lifetime 3600
    within 5 eval 'grep -q "registered sec3 at coaps://127.0.0.8:5784" "$TMP/gw2.log"' || return 1
    within 3 served "$(url 1)" sec3 || { cat "$TMP/served"; return 1; }
    grep -q "GET /devices/sec3/sensors/temperature -> http://${IP[2]}:8080 200" "$TMP/gw1.log"
}
check "a DTLS device that registers again over another instance: forwarded to that one" moved
forged() {
    # a record in Redis whose advertise URL is no origin (a path, a user):
    # nothing is forwarded there
    local exp=$(($(date +%s) + 600)) rec
    rec='{"id":"f0f0f0f0","name":"secforged","registrant_host":"127.0.0.7","registrant_port":5684,'
    rec+='"base":"coaps://127.0.0.7:5684","implicit_base":true,"lifetime_s":600,"expires_at":'$exp','
    rec+='"links":"</x>","owner":"psk:node1","instance":"elsewhere","advertise":"http://user@127.0.0.9:8080/steal"}'
    redis-cli -p 6379 SET coapgw:reg:f0f0f0f0 "$rec" >/dev/null &&
        redis-cli -p 6379 PUBLISH coapgw:changes '{"op":"put","id":"f0f0f0f0","from":"elsewhere"}' >/dev/null || return 1
    within 2 eval '[[ " $(names "$(url 1)") " == *" secforged "* ]]' || return 1
    [ "$(curl -s -o "$TMP/out" -w '%{http_code}' "$(url 1)/devices/secforged/x")" = 503 ] &&
        grep -q "no cluster.advertise to forward to" "$TMP/out" || { cat "$TMP/out"; return 1; }
    redis-cli -p 6379 DEL coapgw:reg:f0f0f0f0 >/dev/null
    redis-cli -p 6379 PUBLISH coapgw:changes '{"op":"del","id":"f0f0f0f0","from":"elsewhere"}' >/dev/null
    within 2 eval '[[ " $(names "$(url 1)") " != *" secforged "* ]]'
}
check "a record in Redis with an advertise URL that is no origin: nothing forwarded (503)" forged
metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
silent_owner() {
    # the owner stopped (SIGSTOP): 502 after the CoAP timeout (2 s) and 1 s
    local fwd0 fail0
    fwd0=$(metric "$(url 1)" coapgw_cluster_forwarded_total)
    fail0=$(metric "$(url 1)" coapgw_cluster_forward_failures_total)
    [ "$fwd0" -ge 3 ] || { echo "  forwarded so far: $fwd0"; return 1; }
    kill -STOP "$PID_gw2"
    within 2 eval '[ "$(awk "{ print \$3 }" /proc/$PID_gw2/stat)" = T ]' || { kill -CONT "$PID_gw2"; return 1; }
    local t0 code ms
    t0=$(date +%s%N)
    code=$(curl -s -o "$TMP/out" -w '%{http_code}' -m 8 "$(url 1)/devices/sec2/sensors/temperature")
    ms=$((($(date +%s%N) - t0) / 1000000))
    kill -CONT "$PID_gw2"
    echo "  owner stopped: $code after $ms ms"
    [ "$code" = 502 ] && [ "$ms" -lt 5000 ] && grep -q "sec2 is held by another gateway of the cluster, which did not answer" "$TMP/out" ||
        { cat "$TMP/out"; return 1; }
    [ "$(metric "$(url 1)" coapgw_cluster_forwarded_total)" = $((fwd0 + 1)) ] &&
        [ "$(metric "$(url 1)" coapgw_cluster_forward_failures_total)" = $((fail0 + 1)) ] || return 1
    within 8 eval '[ "$(hastate gw1)$(hastate gw2)$(hastate gw3)" = UPUPUP ]' && within 5 served "$(url 1)" sec2
}
check "the owner silent: 502 naming the device after the timeout, counted (coapgw_cluster_forward_failures_total); served again once it runs" silent_owner
reloaded() {
    # the keys are read at start: a reload keeps them (and says so)
    sed "s/$TOKEN/another-cluster-token-0123/" "$TMP/gw.json" >"$TMP/gw.next" && cp "$TMP/gw.json" "$TMP/gw.saved" &&
        mv "$TMP/gw.next" "$TMP/gw.json" || return 1
    kill -HUP "$PID_gw1"
    within 3 eval 'grep -q "reload: cluster.token changed: takes effect after a restart" "$TMP/gw1.log"'
    local rc=$?
    mv "$TMP/gw.saved" "$TMP/gw.json"
    [ $rc = 0 ] && served "$(url 1)" sec2
}
check "SIGHUP with another cluster.token: kept until a restart (logged), forwarding goes on" reloaded
check "the cluster token is never logged" eval '! grep -q "$TOKEN" "$TMP"/gw[123].log'

# --- one observation for the whole cluster ---
observations() {
    local n sum=0 v
    for n in 1 2 3; do
        v=$(curl -s "$(url "$n")/metrics" | awk '$1 == "coapgw_observations_active" { print $2 }')
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
TARGET=/devices/plain1/sensors/temperature
one_observation() {
    # the forwarded stream's observation (sec2, on instance 2) ends first
    within 10 eval '[ "$(observations)" = 0 ]' || { echo "  $(observations) before"; return 1; }
    python3 "$HERE/sse_pool.py" 127.0.0.1 8000 "$TARGET" 100 4 "$TMP/pool100.json" &
    local pool=$!
    sleep 3
    local obs
    obs=$(observations)
    wait "$pool"
    echo "  observations in the cluster with 100 subscribers: $obs"
    python3 - "$TMP/pool100.json" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
got = sum(1 for s in r if s["events"] >= 3)
print("  subscribers with notifications: %d of %d" % (got, len(r)))
sys.exit(0 if got == len(r) else 1)
PY
    [ "$obs" = 1 ]
}
check "100 SSE subscribers to one target through HAProxy: exactly one upstream observation in the cluster" one_observation

# --- failover (tests/cluster/failover.sh, shared with tests/docker) ---
FO_LB_HOST=127.0.0.1 FO_LB_PORT=8000 FO_TARGET=$TARGET FO_SSE=200
FO_PATHS=(/devices/plain{1,2,3}/sensors/temperature /devices/plain{1,2,3}/sensors/humidity)
FO_GATEWAYS=(1 2 3)
FO_NAMES="plain1 plain2 plain3 sec2 sec3"
fo_url() { url "$1"; }
fo_kill() { kill -KILL "$(eval echo "\$PID_gw$1")"; }
fo_haproxy_log() { cat "$TMP/haproxy.log"; }
failover() { failover_check; }
KILLED=""
check "failover: one instance killed under load: out of HAProxy within 2 s, no failed request but those in flight on it, every subscriber back within 3 s, every registration listed" failover

# --- Redis down and back ---
ALIVE=()
for n in 1 2 3; do [ "$n" = "$KILLED" ] || ALIVE+=("$n"); done
stop redis
wait "$PID_redis" 2>/dev/null || true
degraded() {
    local n
    for n in "${ALIVE[@]}"; do
        within 5 eval '[ "$(curl -s -o "$TMP/ready" -w "%{http_code}" "$(url $n)/readyz")" = 503 ]' || return 1
        grep -q '"reason":"state store: redis://127.0.0.1:6379: ' "$TMP/ready" || { cat "$TMP/ready"; return 1; }
    done
    # writes answer 5.03, reads go on (through HAProxy: the instances stay in)
    [ "$(register_again plain9 5709)" = 5.03 ] || { tail -2 "$TMP/coap.out"; return 1; }
    served "$LB" plain2 && served "$LB" plain3
}
check "Redis stopped: /readyz 503 naming the store, a registration 5.03, devices still served through HAProxy" degraded
redis
recovered() {
    local n a
    for n in "${ALIVE[@]}"; do within 8 eval 'curl -sf "$(url $n)/readyz" >/dev/null' || return 1; done
    [ "$(register_again plain4 5704)" = 2.01 ] || return 1
    acked+=(plain4)
    for n in "${ALIVE[@]}"; do
        for a in "${acked[@]}"; do
            within 2 eval '[[ " $(names "$(url $n)") " == *" $a "* ]]' || { echo "  $a lost on $n"; return 1; }
        done
    done
}
check "Redis started again: ready, registrations work, no acknowledged registration lost" recovered
# --- two more instances (4 and 5) behind a second HAProxy: the cap on a
# slow client's relayed stream, and an instance that drains ---
IP+=(127.0.0.10 127.0.0.11)
instance 4
instance 5
fill "$CONF/haproxy.cfg" "$TMP/haproxy2.cfg" "STATS_SOCKET=$TMP/haproxy2.sock" "HTTP_BIND=127.0.0.1:8001" \
    "SERVERS=    server gw4 ${IP[4]}:8080 check"$'\n'"    server gw5 ${IP[5]}:8080 check"
start haproxy2 haproxy -db -f "$TMP/haproxy2.cfg"
wait_for "HAProxy 2: gw4 and gw5 up" eval '[ "$(hastate_at "$TMP/haproxy2.sock" gw4 | cut -d" " -f1)$(hastate_at "$TMP/haproxy2.sock" gw5 | cut -d" " -f1)" = UPUP ]'

# a DTLS device held by instance 5 whose notifications come fast and
# large (/big-ticks: 5,120 bytes every 10 ms), read through instance 4
start secbig "$BUILD/coapgw-sim" --listen 127.0.0.12:5783 --listen-dtls 127.0.0.12:5784 \
    -k node1-secret -u node1 --register "coaps://${IP[5]}:5684" --name secbig --lifetime 3600 --period-ms 10
relay_cap() {
    within 5 served "$(url 4)" secbig || { cat "$TMP/served"; return 1; }
    # small socket buffers in this namespace from now on (the gateway's
    # send buffer would otherwise take megabytes before the cap is reached)
    local wmem
    wmem=$(sysctl -n net.ipv4.tcp_wmem)
    sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" || return 1
    rm -f "$TMP/go"
    python3 "$HERE/slow_reader.py" "${IP[4]}" 8080 /devices/secbig/big-ticks "$TMP/go" "$TMP/slow.json" &
    local reader=$!
    # a subscriber that reads, at the same time, on the same instance
    curl -s -N -m 12 -H 'Accept: text/event-stream' "$(url 4)/devices/secbig/big-ticks" >"$TMP/fast.sse" &
    local fast=$!
    local t0=$SECONDS
    within 20 eval 'grep -q "forward: secbig: the client reads the relayed event stream slower than it comes (1024 KiB unsent): stream ended" "$TMP/gw4.log"'
    local cut=$?
    echo "  the slow reader's stream ended after $((SECONDS - t0)) s"
    touch "$TMP/go"
    wait "$reader"
    sysctl -qw net.ipv4.tcp_wmem="$wmem"
    cat "$TMP/slow.json"
    echo
    [ $cut = 0 ] || return 1
    python3 - "$TMP/slow.json" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
print("  slow reader: status %s, %d bytes, then the end of the stream: %s" % (r["status"], r["bytes"], r["eof"]))
# cut at the cap: 1 MiB in the relay, plus what the sockets held (64 KiB
# send buffer, a small receive window)
sys.exit(0 if r["status"] == "200" and r["eof"] and 1 << 20 <= r["bytes"] <= (1 << 20) + (512 << 10) else 1)
PY
    local rc=0
    wait "$fast" || rc=$?
    echo "  the subscriber that reads: curl exit $rc (28: still open at -m 12), $(grep -c '^data:' "$TMP/fast.sse") notifications"
    # it was not cut, and got more than the slow one was allowed to hold
    [ "$rc" = 28 ] && [ "$(wc -c <"$TMP/fast.sse")" -gt $((1 << 20)) ] || return 1
    # the instance is healthy: ready, forwarding, nothing left in flight
    curl -sf "$(url 4)/readyz" >/dev/null && served "$(url 4)" secbig && kill -0 "$PID_gw4"
}
check "a relayed event stream whose client reads nothing is ended at 1 MiB unsent (logged); a reader beside it goes on; the instance stays healthy" relay_cap
stop secbig

# --- a relayed event stream is checked at a reload, as the hub's are ---
# instance 6 (127.0.0.13) takes tokens (from a file of its own, so that a
# reload changes them) and relays sec2's streams from instance 2
IP+=(127.0.0.13)
tokens6() { # tokens6 TOKEN...: instance 6's configuration with these (read) tokens
    local t list=
    for t in "$@"; do list="$list${list:+, }{ \"token\": \"$t\", \"scope\": \"read\" }"; done
    python3 - "$TMP/gw.json" "$TMP/gw6.json" "[$list]" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["tokens"] = json.loads(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
}
tokens6 gone-token-0123456789 kept-token-0123456789
start gw6 "$BUILD/coapgw" --config "$TMP/gw6.json" --set "http.listen=${IP[6]}:8080" \
    --set "coap.listen=${IP[6]}:5683" --set "coap.listen_dtls=${IP[6]}:5684"
wait_for "coapgw 6" curl -sf "$(url 6)/readyz"
relayed_revoked() {
    local gone kept t0 alive=no
    curl -s -N -m 12 -H 'Accept: text/event-stream' -H 'Authorization: Bearer gone-token-0123456789' \
        "$(url 6)/devices/sec2/sensors/temperature" >"$TMP/gone.sse" &
    gone=$!
    curl -s -N -m 12 -H 'Accept: text/event-stream' -H 'Authorization: Bearer kept-token-0123456789' \
        "$(url 6)/devices/sec2/sensors/temperature" >"$TMP/kept.sse" &
    kept=$!
    within 5 eval '[ "$(grep -c "^data:" "$TMP/gone.sse")" -ge 3 ]' || { head -5 "$TMP/gone.sse"; return 1; }
    tokens6 kept-token-0123456789
    t0=$SECONDS
    kill -HUP "$PID_gw6"
    wait "$gone" || true
    local took=$((SECONDS - t0))
    kill -0 "$kept" 2>/dev/null && alive=yes
    wait "$kept" || true
    echo "  the stream of the removed token ended $took s after the reload: $(tail -c 120 "$TMP/gone.sse" | tr '\n' ' ')"
    echo "  the kept token's stream still open: $alive ($(grep -c '^data:' "$TMP/kept.sse") events)"
    # every event of the ended stream is whole (the relay cut between
    # events), the last the error; the kept one has none
    python3 - "$TMP/gone.sse" <<'PY' || return 1
import json, sys
events = open(sys.argv[1]).read().split("\n\n")
assert events[-1] == "", "the stream ends inside an event: %r" % events[-1]
data = [json.loads(l[5:]) for e in events[:-1] for l in e.split("\n") if l.startswith("data:")]
assert events[-2].startswith("event: error") and data[-1]["status"] == 401, events[-2]
PY
    [ "$took" -le 5 ] && [ "$alive" = yes ] && ! grep -q '^event: error' "$TMP/kept.sse" &&
        grep -q 'reload: 1 event stream(s) closed: token revoked' "$TMP/gw6.log"
}
check "SIGHUP removing a token: a stream relayed from the owner ends at once with event: error 401 after whole events (logged); one with a kept token goes on" relayed_revoked
# a reload of instance 6 that takes sec2's name from its identity removes
# the registration there: the stream it relays for sec2 ends as the hub's
# streams of a removed device do
relayed_removed() {
    local s t0
    curl -s -N -m 12 -H 'Accept: text/event-stream' -H 'Authorization: Bearer kept-token-0123456789' \
        "$(url 6)/devices/sec2/sensors/temperature" >"$TMP/removed.sse" &
    s=$!
    within 5 eval '[ "$(grep -c "^data:" "$TMP/removed.sse")" -ge 3 ]' || { head -5 "$TMP/removed.sse"; return 1; }
    python3 - "$TMP/gw6.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["dtls"]["identities"][0]["names"] = ["sec3"]
json.dump(c, open(sys.argv[1], "w"))
PY
    t0=$SECONDS
    kill -HUP "$PID_gw6"
    wait "$s" || true
    echo "  the relayed stream of the removed device ended $((SECONDS - t0)) s after the reload: $(tail -c 120 "$TMP/removed.sse" | tr '\n' ' ')"
    python3 - "$TMP/removed.sse" <<'PY' || return 1
import json, sys
events = open(sys.argv[1]).read().split("\n\n")
assert events[-1] == "", "the stream ends inside an event: %r" % events[-1]
data = [json.loads(l[5:]) for e in events[:-1] for l in e.split("\n") if l.startswith("data:")]
assert events[-2].startswith("event: error") and data[-1]["status"] == 404, events[-2]
assert data[-1]["message"] == "device sec2 was removed", data[-1]
PY
    [ $((SECONDS - t0)) -le 5 ] &&
        grep -q 'reload: 1 event stream(s) closed: device removed or target not allowed' "$TMP/gw6.log"
}
check "SIGHUP removing sec2 (its identity may no longer register it): the stream relayed from its owner ends at once with event: error 404 after whole events (logged)" relayed_removed
stop gw6

# --- an instance that drains after SIGTERM, behind HAProxy ---
start slowdev "$BUILD/coapgw-sim" --listen 127.0.0.13:5783 --slow-ms 600 \
    --register "coap://${IP[4]}:5683" --name slowdev --lifetime 3600
drain() {
    within 5 eval 'grep -q "rd: registered as /rd/" "$TMP/slowdev.log"' || return 1
    within 3 eval '[[ " $(names "$(url 5)") " == *" slowdev "* ]]' || return 1
    # a /slow URL that HAProxy's hash gives to instance 4 (its log names
    # the server): asked with OPTIONS, which the hash ignores and the
    # gateway answers itself (a GET would leave the answer in the cache)
    local k q=""
    for k in $(seq 1 16); do curl -s -o /dev/null -m 3 -X OPTIONS "http://127.0.0.1:8001/devices/slowdev/slow?k=$k"; done
    for k in $(seq 1 16); do
        grep -q "coapgw/gw4 .*OPTIONS /devices/slowdev/slow?k=$k " "$TMP/haproxy2.log" && { q=$k; break; }
    done
    [ -n "$q" ] || { echo "  no /slow URL hashed to gw4"; return 1; }
    # the steady load over six device URLs (spread over both instances)
    local from
    from=$(wc -l <"$TMP/haproxy2.log")
    wrk -t 1 -c 4 -d 4s -s "$TMP/paths.lua" http://127.0.0.1:8001/ >"$TMP/wrk2.out" 2>&1 &
    local load=$!
    sleep 1
    # a request in flight on instance 4 when it gets SIGTERM (600 ms at
    # the device, shutdown.grace_ms 1000), and /readyz on a kept-alive
    # connection: 200, SIGTERM, then at once 503 shutting down (the gateway
    # closes its listening socket and, soon after, its idle connections:
    # HAProxy's next check is refused). The SIGTERM follows the device's
    # log line of the request by one 10 ms poll of one process: a grep
    # loop in bash and a Python started after it took longer than the
    # 600 ms under load, and instance 4, with nothing left in flight, shut
    # down at once and closed the kept-alive connection before the second
    # /readyz. The same process then watches HAProxy's stats socket every
    # 50 ms, by the clock from the SIGTERM, for 10 s at most (one
    # interpreter per poll took longer than a poll; 50 polls were a count).
    python3 - "${IP[4]}" "$PID_gw4" "$TMP/haproxy2.sock" "$TMP/slowdev.log" >"$TMP/drain.out" <<'PY' &
import http.client, os, signal, socket, sys, time
c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=3)
c.request("GET", "/readyz"); r = c.getresponse(); before = (r.status, r.read())
print("GO", flush=True)  # the request in flight may leave now
end = time.monotonic() + 5
while b"GET /slow" not in open(sys.argv[4], "rb").read():
    if time.monotonic() > end:
        print("  the /slow request did not reach the device in 5 s")
        sys.exit(1)
    time.sleep(0.01)
os.kill(int(sys.argv[2]), signal.SIGTERM)
t0 = time.monotonic()
c.request("GET", "/readyz"); r = c.getresponse(); after = (r.status, r.read())
print("  /readyz on one connection: %d, SIGTERM, then %d %s" % (before[0], after[0], after[1].decode()))
def gw4():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[3])
    s.sendall(b"show stat\n")
    lines = s.makefile("rb").read().decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    for l in lines[1:]:
        f = dict(zip(head, l.split(",")))
        if f.get("pxname") == "coapgw" and f.get("svname") == "gw4":
            return f["status"].split()[0], f.get("check_status", "")
state = ("?", "")
while time.monotonic() < t0 + 10:
    state = gw4()
    if state[0] == "DOWN":
        break
    time.sleep(0.05)
ms = int((time.monotonic() - t0) * 1000) if state[0] == "DOWN" else "never"
print("STATE %s %s %s" % (ms, state[0], state[1]))
sys.exit(0 if before[0] == 200 and after[0] == 503 and b"shutting down" in after[1] else 1)
PY
    local term=$! inflight="" ms state
    within 5 grep -q '^GO' "$TMP/drain.out" &&
        { curl -s -o "$TMP/inflight" -w '%{http_code} %{time_total}' "http://127.0.0.1:8001/devices/slowdev/slow?k=$q" >"$TMP/inflight.code" &
          inflight=$!; }
    wait "$term" || { grep -v '^GO' "$TMP/drain.out"; wait "$load" $inflight; return 1; }
    grep -v '^STATE \|^GO' "$TMP/drain.out"
    read -r _ ms state < <(grep '^STATE ' "$TMP/drain.out")
    echo "  HAProxy took instance 4 out $ms ms after SIGTERM (check: ${state#* })"
    wait "$inflight"
    echo "  the request in flight on instance 4: $(cat "$TMP/inflight.code") s"
    wait "$load" || true
    local rc=0
    wait "$PID_gw4" || rc=$?
    echo "  instance 4 exited with $rc"
    local total non2xx errs late
    total=$(awk '/requests in/ { print $1 }' "$TMP/wrk2.out")
    errs=$(awk '/Socket errors/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$TMP/wrk2.out")
    non2xx=$(awk '/Non-2xx/ { print $NF }' "$TMP/wrk2.out")
    # in HAProxy's log: requests that ended on gw4 other than 200
    late=$(tail -n +"$((from + 1))" "$TMP/haproxy2.log" | awk '/"GET \/devices\// && $4 == "coapgw/gw4" && $6 != 200' | wc -l)
    echo "  wrk through HAProxy: ${total:-?} requests, ${non2xx:-0} non-2xx, ${errs:-0} socket errors; failed on gw4 in HAProxy's log: $late"
    # the request in flight waited for the device (600 ms): not from a cache
    [ "$ms" != never ] && [ "$ms" -le 2000 ] && [ "$(cut -d' ' -f1 "$TMP/inflight.code")" = 200 ] &&
        awk '{ exit !($2 >= 0.5) }' "$TMP/inflight.code" &&
        [ -n "$total" ] && [ "${non2xx:-0}" = 0 ] && [ "${errs:-0}" = 0 ] && [ "$late" = 0 ] && [ "$rc" = 0 ]
}
check "SIGTERM: the instance drains (/readyz 503 shutting down), HAProxy takes it out within 2 s, the request in flight on it finishes (200), no request fails" drain
bad_base() { # coapgw-sim --base takes a CoAP URI without query or fragment only
    local b
    for b in 'coap://127.0.0.1:5701?x=1' 'coap://127.0.0.1:5701#f' 'http://127.0.0.1:5701' 'coap://a b'; do
        ! timeout 5 "$BUILD/coapgw-sim" --listen 127.0.0.14:5783 --base "$b" 2>"$TMP/base.err" &&
            grep -q "bad option --base" "$TMP/base.err" || { echo "  --base $b: $(cat "$TMP/base.err")"; return 1; }
    done
}
check "coapgw-sim --base refuses a query, a fragment, another scheme, a space" bad_base
finish
