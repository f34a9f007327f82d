# shellcheck shell=bash
# The cluster's failover check, shared by tests/cluster/test_cluster.sh
# (processes in a namespace) and tests/docker/test_docker_cluster.sh
# (docker/compose.cluster.yaml): sourced after lib.sh.
#
# The caller sets:
#   HAPROXY_SOCK   HAProxy's stats socket (a path this shell can connect to)
#   FO_LB_HOST FO_LB_PORT   HAProxy's HTTP front end
#   FO_TARGET      the resource the event streams subscribe to
#   FO_PATHS       (array) the paths of the steady load
#   FO_GATEWAYS    (array) the gateways' numbers, as HAProxy names them (gwN)
#   FO_NAMES       the device names every surviving gateway must list
#   FO_SSE         the subscribers (200 in test_cluster)
# and defines:
#   fo_url N       prints gateway N's own URL (its /metrics, /api/devices)
#   fo_kill N      kills gateway N with SIGKILL
#   fo_haproxy_log prints HAProxy's log (option httplog, raw)
# failover_check sets KILLED to the gateway it killed.
FO_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# HAProxy's view of a server on the HAProxy of stats socket SOCKET:
# "STATUS CHECK_STATUS", e.g. "UP L7OK", "DOWN L4CON"
hastate_at() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
lines = s.makefile("rb").read().decode().splitlines()  # HAProxy closes after the answer
head = lines[0].lstrip("# ").split(",")
for l in lines[1:]:
    f = dict(zip(head, l.split(",")))
    if f.get("pxname") == "coapgw" and f.get("svname") == sys.argv[2]:
        print(f["status"].split()[0], f.get("check_status", ""))
PY
}
# hastate SERVER: its status alone ("UP", "DOWN", ...) on $HAPROXY_SOCK
hastate() { hastate_at "$HAPROXY_SOCK" "$1" | cut -d' ' -f1; }

names() { curl -s "$1/api/devices" | python3 -c 'import json,sys; print(" ".join(sorted(d["name"] for d in json.load(sys.stdin))))'; }

# Under a bounded wrk run over FO_PATHS and FO_SSE event streams to
# FO_TARGET, both through HAProxy, the gateway observing FO_TARGET is
# killed: HAProxy takes it out within 2 s, no request fails but those in
# flight on it, every subscriber has a notification again within 3 s, the
# others list every registration. Prints the figures.
failover_check() {
    local holder="" n
    python3 "$FO_HERE/sse_pool.py" "$FO_LB_HOST" "$FO_LB_PORT" "$FO_TARGET" "$FO_SSE" 12 "$TMP/pool.json" \
        --mark "$TMP/killed" &
    local pool=$!
    sleep 2
    for n in "${FO_GATEWAYS[@]}"; do
        [ "$(curl -s "$(fo_url "$n")/metrics" | awk '$1 == "coapgw_observations_active" { print $2 }')" = 1 ] && holder=$n
    done
    [ -n "$holder" ] || { echo "  no instance observes $FO_TARGET"; wait "$pool"; return 1; }
    # the steady load: every path, through HAProxy (hashed: spread)
    {
        printf 'local paths = {'
        printf '"%s", ' "${FO_PATHS[@]}"
        printf '}\n'
        cat <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", paths[n % #paths + 1])
end
LUA
    } >"$TMP/paths.lua"
    wrk -t 1 -c 8 -d 6s -s "$TMP/paths.lua" "http://$FO_LB_HOST:$FO_LB_PORT/" >"$TMP/wrk.out" 2>&1 &
    local load=$!
    sleep 2
    local t0 t_out="" ms
    t0=$(date +%s%N)
    fo_kill "$holder"
    touch "$TMP/killed"
    KILLED=$holder
    for _ in $(seq 1 50); do
        [ "$(hastate "gw$holder")" = DOWN ] && { t_out=$(date +%s%N); break; }
        sleep 0.05
    done
    wait "$load" || true
    wait "$pool" || true
    ms=$(((${t_out:-0} - t0) / 1000000))
    [ -n "$t_out" ] || ms=never
    echo "  killed instance $holder (it held the observation): HAProxy took it out after $ms ms"
    local total errs non2xx
    total=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
    errs=$(awk '/Socket errors/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$TMP/wrk.out")
    non2xx=$(awk '/Non-2xx/ { print $NF }' "$TMP/wrk.out")
    echo "  wrk through HAProxy: ${total:-?} requests, ${non2xx:-0} non-2xx, ${errs:-0} socket errors"
    # HAProxy's log: a request that failed (not 200, or cut: a termination
    # state other than ----), by server; those on the killed one may fail
    local elsewhere
    fo_haproxy_log | awk '/"GET \/devices\// && $10 != "CD--" { if ($6 != 200 || $10 != "----") print $4 }' |
        sort | uniq -c >"$TMP/failed.by.server"
    elsewhere=$(awk -v k="coapgw/gw$holder" '$2 != k { s += $1 } END { print s + 0 }' "$TMP/failed.by.server")
    echo "  failed or cut requests by server (HAProxy's log, the broken event streams included):" $(cat "$TMP/failed.by.server") "; on other instances: $elsewhere"
    python3 - "$TMP/pool.json" <<'PY' >"$TMP/pool.sum" || { cat "$TMP/pool.sum"; return 1; }
import json, sys
r = json.load(open(sys.argv[1]))
after = [s["after_mark"] for s in r]
late = [a for a in after if a is None or a > 3.0]
moved = sum(1 for s in r if s["reconnects"] > 0)
print("  %d subscribers: %d reconnected; first notification after the kill: max %.2f s, all within 3 s: %s"
      % (len(r), moved, max(a for a in after if a is not None) if any(a is not None for a in after) else -1,
         "yes" if not late else "no (%d late)" % len(late)))
sys.exit(0 if not late else 1)
PY
    cat "$TMP/pool.sum"
    [ "$ms" != never ] && [ "$ms" -le 2000 ] || return 1
    # every request that was not on the killed instance succeeded; those
    # in flight on it at the kill are at most wrk's 8 connections
    [ -n "$total" ] && [ "$elsewhere" = 0 ] && [ $((${non2xx:-0} + ${errs:-0})) -le 8 ] || return 1
    local m
    for m in "${FO_GATEWAYS[@]}"; do
        [ "$m" = "$holder" ] && continue
        [ "$(names "$(fo_url "$m")")" = "$FO_NAMES" ] || { echo "  $m lists $(names "$(fo_url "$m")")"; return 1; }
    done
}
