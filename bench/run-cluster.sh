#!/usr/bin/env bash
# Several gateways (docs/cluster.md): requests/s through HAProxy
# (docker/cluster/haproxy.cfg) to 1 and to 3 coapgw instances sharing
# Redis, side by side, and the cost of forwarding a request to the
# instance that holds a DTLS device's session against asking that
# instance itself. In a network namespace of its own (instances on
# 127.0.0.2, .3, .4). Each row: wrk -t2 -c32 for SECONDS over six device
# URLs, either the same six (served from each instance's cache) or with a
# distinct query each (every request goes to the device: CoAP each time);
# the same six at instance 1 directly (no HAProxy) for the balancer's cost.
# Then event streams: bench/sse_load subscribers (SSE_SUBS, default 3000)
# through HAProxy over 100 targets of bench/sse_device (one notification
# every 250 ms each), to 1 and to 3 instances. Every row gives the CPU the
# coapgw instances used (% of one core, summed over them, from
# /proc/PID/stat), the rate per core of it (the sizing figure: requests/s
# or subscribers per core), and the commands Redis executed meanwhile
# (INFO commandstats: what a request costs in Redis lookups).
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
SSE_SUBS=${SSE_SUBS:-3000}
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw coapgw-sim sse_load sse_device >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh
TOKEN=cluster-bench-0123456789
IP=(x 127.0.0.2 127.0.0.3 127.0.0.4)
printf 'node1-secret\n' >"$TMP/node1.key"
chmod 600 "$TMP/node1.key"
# coap.max_pending_per_peer: an instance opens up to 100 observations of
# the one sse_device at once
cat >"$TMP/gw.json" <<JSON
{ "http": { "max_connections_per_ip": 20000 }, "rd": { "max_per_source": 1000 },
  "coap": { "max_pending_per_peer": 200 },
  "log": { "level": "warn" },
  "dtls": { "identities": [ { "psk": "node1", "key_file": "$TMP/node1.key", "names": ["sec*"] } ] },
  "devices": {}, "state": { "redis": "redis://127.0.0.1:6379" }, "cluster": { "token": "$TOKEN" } }
JSON
bg() { "$@" >>"$TMP/procs.log" 2>&1 & PIDS+=($!); }
bg redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$TMP"
INST=()
instance() { # instance N: coapgw on ${IP[N]}
    local ip=${IP[$1]}
    bg "$BUILD/coapgw" --config "$TMP/gw.json" --set "http.listen=$ip:8080" --set "coap.listen=$ip:5683" \
        --set "coap.listen_dtls=$ip:5684" --set "cluster.advertise=http://$ip:8080"
    INST[$1]=$!
    wait_http "http://$ip:8080/readyz"
}
for n in 1 2 3; do instance "$n"; done
for i in 1 2 3; do # they register with instance 1; every instance lists them (Redis)
    bg "$BUILD/coapgw-sim" --listen "127.0.0.1:570$i" --register "coap://${IP[1]}:5683" --name "plain$i" --lifetime 3600
done
bg "$BUILD/coapgw-sim" --listen 127.0.0.5:5783 --listen-dtls 127.0.0.5:5784 -k node1-secret -u node1 \
    --register "coaps://${IP[2]}:5684" --name sec2 --lifetime 3600
listed() { # listed N: instance N lists plain1..3 and sec2
    [ "$(curl -s "http://${IP[$1]}:8080/api/devices" | python3 -c 'import json,sys; print(" ".join(sorted(d["name"] for d in json.load(sys.stdin))))')" = "plain1 plain2 plain3 sec2" ]
}
for n in 1 2 3; do
    for _ in $(seq 1 50); do listed "$n" && break; sleep 0.2; done
    listed "$n" || { echo "instance $n does not list every device" >&2; exit 1; }
done

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
# ticks PID...: CPU time (user + system, clock ticks) of the processes
ticks() { local p; for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk '{ s += $1 } END { print s + 0 }'; }
# redis_calls: commands Redis has executed (INFO commandstats; INFO's own excluded)
redis_calls() { redis-cli -p 6379 info commandstats | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" { s += $3 } END { print s + 0 }'; }
# measured N CMD...: CMD's output, then the CPU (per mille of one core)
# instances 1..N used while it ran and the Redis commands meanwhile
measured() {
    local n=$1 pids=() t0 t1 r0 r1 ms out
    shift
    for i in $(seq 1 "$n"); do pids+=("${INST[$i]}"); done
    t0=$(ticks "${pids[@]}") r0=$(redis_calls) ms=$(date +%s%N)
    out=$("$@")
    t1=$(ticks "${pids[@]}") r1=$(redis_calls) ms=$((($(date +%s%N) - ms) / 1000000))
    echo "$out $(((t1 - t0) * 1000 * 1000 / $(getconf CLK_TCK) / ms)) $((r1 - r0))"
}
rate() { # rate URL [SCRIPT]: requests/s (non-2xx and errors counted apart)
    local out
    out=$(wrk -t2 -c32 -d"${DUR}s" ${2:+-s "$2"} "$1" 2>&1)
    local rps bad
    rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")
    bad=$(awk '/Non-2xx/ { n = $NF } /Socket errors/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i } END { print n + 0 }' <<<"$out")
    echo "$rps $bad"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; wrk -t2 -c32 -d${DUR}s"
csv cluster case instances per_s failed cpu_pct per_core redis_commands
row() { # row CASE INSTANCES "RATE FAILED CPU_PERMILLE REDIS_COMMANDS" [UNIT]
    local rps bad cpu cmds per_core pct
    read -r rps bad cpu cmds <<<"$3"
    per_core=$((cpu > 0 ? rps * 1000 / cpu : 0))
    pct=$((cpu / 10)).$((cpu % 10))
    printf '%-50s %3s %8s %-5s %4s failed %5s %% CPU %8s/core %4s Redis cmds\n' \
        "$1" "$2" "$rps" "${4:-req/s}" "$bad" "$pct" "$per_core" "$cmds"
    csv_row cluster "$1" "$2" "$rps" "$bad" "$pct" "$per_core" "$cmds"
}
printf '%-50s %3s\n' case instances
row "six URLs (cached), instance 1, no HAProxy" 1 "$(measured 1 rate "http://${IP[1]}:8080/" "$TMP/six.lua")"
row "six URLs, distinct queries, no HAProxy" 1 "$(DISTINCT=1 measured 1 rate "http://${IP[1]}:8080/" "$TMP/six.lua")"
for n in 1 3; do
    haproxy_with "$n"
    row "six URLs (cached), HAProxy" "$n" "$(measured "$n" rate http://127.0.0.1:8000/ "$TMP/six.lua")"
    row "six URLs, distinct queries (CoAP each), HAProxy" "$n" "$(DISTINCT=1 measured "$n" rate http://127.0.0.1:8000/ "$TMP/six.lua")"
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
row "sec2 asked at instance 2 (its owner)" 3 "$(measured 3 rate "http://${IP[2]}:8080/" "$TMP/sec.lua")"
row "sec2 asked at instance 1 (forwarded to 2)" 3 "$(measured 3 rate "http://${IP[1]}:8080/" "$TMP/sec.lua")"
echo "event streams: $SSE_SUBS subscribers through HAProxy over 100 targets, one notification every 250 ms each"
DP=$(port udp)
bg "$BUILD/sse_device" "127.0.0.1:$DP" 100
# subscribers N: "HELD LOST CPU_PERMILLE REDIS_COMMANDS", the CPU of instances
# 1..N in the measurement window (sse_load -p); the whole result in
# $TMP/sseN.out
subscribers() {
    local pids=() i out r0
    for i in $(seq 1 "$1"); do pids+=("${INST[$i]}"); done
    r0=$(redis_calls)
    "$BUILD/sse_load" sub -d "$DUR" -w 3 -n 100 -p "$(IFS=,; echo "${pids[*]}")" 127.0.0.1 8000 \
        "/events?target=coap://127.0.0.1:$DP/t/%d" "$SSE_SUBS" >"$TMP/sse$1.out" 2>>"$TMP/procs.log" || true
    out=$(grep '^SSE_RESULT' "$TMP/sse$1.out")
    sed -n 2p "$TMP/sse$1.out" | sed 's/^/  /' >&2
    awk -v r="$(($(redis_calls) - r0))" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
         END { printf "%d %d %d %d\n", v["held"], v["lost"], v["server_cpu_pct"] * 10, r }' <<<"$out"
}
for n in 1 3; do
    haproxy_with "$n"
    row "event streams (subscribers held; failed: events lost)" "$n" "$(subscribers "$n")" subs
    kill "$HAPROXY"
    wait "$HAPROXY" 2>/dev/null || true
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
