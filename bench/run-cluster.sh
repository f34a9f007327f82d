#!/usr/bin/env bash
# Several gateways (docs/cluster.md): requests/s through HAProxy
# (docker/cluster/haproxy.cfg) to 1 and to 3 coapgw instances sharing
# Redis, side by side, and the cost of forwarding a request to the
# instance that holds a DTLS device's session against asking that
# instance itself. In a network namespace of its own (instances on
# 127.0.0.2, .3, .4). Each row: wrk -t2 -c32 for SECONDS over six device
# URLs, either the same six (served from each instance's cache) or with a
# distinct query each (every request goes to the device: CoAP each time).
# Everything (wrk, HAProxy, Redis, the instances, the devices) shares this
# machine's cores: on 2 cores three instances cannot run faster than one,
# and the figures say what the cluster path costs, not how it scales.
# Series (bench/lib.sh, $CSV_DIR): cluster.csv.
# usage: bench/run-cluster.sh [SECONDS]   (BUILD_DIR overridable)
set -euo pipefail
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
cd "$(dirname "$0")/.."
DUR=${1:-5}
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw coapgw-sim >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh
TOKEN=cluster-bench-0123456789
IP=(x 127.0.0.2 127.0.0.3 127.0.0.4)
printf 'node1-secret\n' >"$TMP/node1.key"
chmod 600 "$TMP/node1.key"
cat >"$TMP/gw.json" <<JSON
{ "http": { "max_connections_per_ip": 20000 }, "rd": { "max_per_source": 1000 },
  "log": { "level": "warn" },
  "dtls": { "identities": [ { "psk": "node1", "key_file": "$TMP/node1.key", "names": ["sec*"] } ] },
  "devices": {}, "state": { "redis": "redis://127.0.0.1:6379" }, "cluster": { "token": "$TOKEN" } }
JSON
bg() { "$@" >>"$TMP/procs.log" 2>&1 & PIDS+=($!); }
bg redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$TMP"
for i in 1 2 3; do bg "$BUILD/coapgw-sim" --listen "127.0.0.1:570$i"; done
INST=()
instance() { # instance N: coapgw on ${IP[N]}
    local ip=${IP[$1]}
    bg "$BUILD/coapgw" --config "$TMP/gw.json" --set "http.listen=$ip:8080" --set "coap.listen=$ip:5683" \
        --set "coap.listen_dtls=$ip:5684" --set "cluster.advertise=http://$ip:8080"
    INST[$1]=$!
    wait_http "http://$ip:8080/readyz"
}
for n in 1 2 3; do instance "$n"; done
for i in 1 2 3; do
    coap-client-notls -m post -t 40 -e '</sensors/temperature>,</sensors/humidity>' -B 3 \
        "coap://${IP[1]}:5683/rd?ep=plain$i&lt=3600&base=coap://127.0.0.1:570$i" >/dev/null 2>&1
done
bg "$BUILD/coapgw-sim" --listen 127.0.0.5:5783 --listen-dtls 127.0.0.5:5784 -k node1-secret -u node1 \
    --register "coaps://${IP[2]}:5684" --name sec2 --lifetime 3600
sleep 1

haproxy_with() { # haproxy_with N: HAProxy on 127.0.0.1:8000 to instances 1..N
    local servers="" n
    for n in $(seq 1 "$1"); do servers+="    server gw$n ${IP[$n]}:8080 check"$'\n'; done
    python3 - docker/cluster/haproxy.cfg "$TMP/haproxy.cfg" "$TMP/haproxy.sock" "$servers" <<'PY'
import sys
t = open(sys.argv[1]).read()
t = t.replace("@STATS_SOCKET@", sys.argv[3]).replace("@HTTP_BIND@", "127.0.0.1:8000")
t = t.replace("@SERVERS@", sys.argv[4].rstrip("\n")).replace("log stdout format raw local0 info", "")
open(sys.argv[2], "w").write(t)
PY
    haproxy -db -f "$TMP/haproxy.cfg" >>"$TMP/procs.log" 2>&1 &
    HAPROXY=$!
    PIDS+=("$HAPROXY")
    wait_http http://127.0.0.1:8000/readyz
    sleep 1 # health checks: every server up
}
cat >"$TMP/six.lua" <<'LUA'
local paths = {"/devices/plain1/sensors/temperature", "/devices/plain2/sensors/temperature",
               "/devices/plain3/sensors/temperature", "/devices/plain1/sensors/humidity",
               "/devices/plain2/sensors/humidity", "/devices/plain3/sensors/humidity"}
local n = 0
request = function()
    n = n + 1
    local q = os.getenv("DISTINCT") and ("?n=" .. n) or ""
    return wrk.format("GET", paths[n % #paths + 1] .. q)
end
LUA
rate() { # rate URL [SCRIPT]: requests/s (non-2xx and errors counted apart)
    local out
    out=$(wrk -t2 -c32 -d"${DUR}s" ${2:+-s "$2"} "$1" 2>&1)
    local rps bad
    rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")
    bad=$(awk '/Non-2xx/ { n = $NF } /Socket errors/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i } END { print n + 0 }' <<<"$out")
    echo "$rps $bad"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; wrk -t2 -c32 -d${DUR}s"
csv cluster case instances requests_per_s failed
row() { # row CASE INSTANCES "RPS FAILED"
    read -r rps bad <<<"$3"
    printf '%-44s %9s %10s req/s %6s failed\n' "$1" "$2" "$rps" "$bad"
    csv_row cluster "$1" "$2" "$rps" "$bad"
}
printf '%-44s %9s %16s\n' case instances "through HAProxy"
for n in 1 3; do
    haproxy_with "$n"
    row "six URLs (cached)" "$n" "$(rate http://127.0.0.1:8000/ "$TMP/six.lua")"
    row "six URLs, distinct queries (CoAP each)" "$n" "$(DISTINCT=1 rate http://127.0.0.1:8000/ "$TMP/six.lua")"
    kill "$HAPROXY"
    wait "$HAPROXY" 2>/dev/null || true
done
echo "forwarding: sec2's DTLS session lives on instance 2 (no HAProxy, no cache: distinct queries)"
cat >"$TMP/sec.lua" <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", "/devices/sec2/sensors/temperature?n=" .. n)
end
LUA
row "sec2 asked at instance 2 (its owner)" 1 "$(rate "http://${IP[2]}:8080/" "$TMP/sec.lua")"
row "sec2 asked at instance 1 (forwarded to 2)" 2 "$(rate "http://${IP[1]}:8080/" "$TMP/sec.lua")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
