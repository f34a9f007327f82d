#!/usr/bin/env bash
# CoAP over TCP (RFC 8323), in one run on loopback:
#   (a) through the gateway: wrk (one thread, 64 keep-alive connections,
#       every URL distinct: no cache, no coalescing, one CoAP exchange per
#       HTTP request) at coapgw, cache off, --coap-nstart 32, to the same
#       coapgw-sim, once as coap+tcp:// and once as coap:// (UDP, the
#       baseline) - requests/s and p99 of each, and TCP/UDP;
#   (b) the engine's TCP server role (bench/coap_hello --tcp) against
#       libcoap's coap-server-notls on its TCP port, both answering GET
#       /time the same way, under the same client load: bench/coap_load
#       with a coap+tcp:// URI, CONC requests in flight over CONNS
#       connections; then the same two servers over UDP (coap://, CONC in
#       flight from CONNS source ports) for reference. Requests/s,
#       p50/p99, the server's CPU (% of one core, from
#       /proc/PID/task/*/schedstat) and requests per server CPU-second.
# Every measurement starts its servers afresh; with ROUNDS > 1 the pairs
# take turns (the baseline first in odd rounds) and the table shows the
# median of the rounds. With PIN=1 (the default) the process measured
# (coapgw in (a), the server in (b)) runs on CPU 1 and the load (wrk and
# the simulator in (a), coap_load in (b)) on CPU 0, so neither side of a
# pair gets a different share of the 2 cores; every process is
# single-threaded (wrk -t1).
#   (c) coapgw's own listener (coap.listen_tcp) against coap-server-notls,
#       the same load over TCP, GET /.well-known/core (the one resource
#       both serve: 125 and 152 bytes of link format).
# Series (bench/lib.sh, $CSV_DIR): tcp.csv (part,measure,a,b,ratio: the
# lines of the tables; part "gateway" (a: coap+tcp, b: coap), "tcp" and
# "udp" (a: ours, b: libcoap), "listener" (a: coapgw, b: libcoap)).
# usage: bench/run-tcp.sh [SECONDS]   (default 10; CONC 64, CONNS 4,
#   ROUNDS 1, PIN 1, BUILD_DIR build, CSV_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
BUILD=${BUILD_DIR:-build}
CONC=${CONC:-64}
CONNS=${CONNS:-4}
ROUNDS=${ROUNDS:-1}
PIN=${PIN:-1}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v coap-server-notls >/dev/null || { echo "coap-server-notls is missing: apt-get install libcoap3-bin" >&2; exit 1; }
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw coapgw-sim coap_hello coap_load >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

# the prefixes that pin the measured process (ON_M) and the load (ON_L)
# with PIN=1; taskset execs its command, so $! is the process itself
ON_M=() ON_L=()
if [ "$PIN" = 1 ]; then ON_M=(taskset -c 1) ON_L=(taskset -c 0); fi
# port_both: a port free for UDP and TCP on 127.0.0.1 (both servers of (b)
# and the simulator take the same number for coap:// and coap+tcp://)
port_both() {
    python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close()
    try:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", p)); t.close()
        print(p); break
    except OSError: pass
PY
}
# cpu_ns PID: the CPU time PID's threads ran so far, in ns (schedstat: finer
# than the clock ticks of /proc/PID/stat, which at a 5 % share of a core
# over 10 s are 50, counted to +-1)
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# cpu_pct NS-BEFORE NS-AFTER SECONDS: % of one core
cpu_pct() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.1f", (b - a) / 1e7 / s }'; }
# wait_coap URI: up to 10 s for a 2.05 to GET URI (the server is up)
wait_coap() {
    local _
    for _ in $(seq 1 100); do
        timeout 5 "$BUILD/coap_load" -c 1 -d 0.05 "$1" 2>/dev/null | grep -q 'ok [1-9]' && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}
# p99 of wrk --latency, in ms
wrk_p99() { awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$1"; }

# --- (a) HTTP -> coap+tcp against HTTP -> coap through coapgw ---

# gateway: the simulator (coap:// and coap+tcp:// on SP) and coapgw (HTTP
# on GP) in front of it as devices "udp" and "tcp"; GW_PID, SIM_PID
gateway() {
    SP=$(port_both)
    GP=$(port tcp)
    # one log line per request: not measured, and the same for both legs
    "${ON_L[@]}" "$BUILD/coapgw-sim" --listen "127.0.0.1:$SP" --listen-tcp "127.0.0.1:$SP" 2>/dev/null &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
    cat >"$TMP/gw.json" <<JSON
{"http": {"listen": "127.0.0.1:$GP"}, "coap": {"listen": "127.0.0.1:0"},
 "devices": {"udp": "coap://127.0.0.1:$SP", "tcp": "coap+tcp://127.0.0.1:$SP"},
 "cache": {"enabled": false}, "log_level": "warn"}
JSON
    "${ON_M[@]}" "$BUILD/coapgw" --config "$TMP/gw.json" --coap-nstart 32 2>>"$TMP/gw.log" &
    GW_PID=$!
    PIDS+=("$GW_PID")
    wait_http "http://127.0.0.1:$GP/devices/udp/sensors/temperature"
    wait_http "http://127.0.0.1:$GP/devices/tcp/sensors/temperature"
}
# proxied NAME udp|tcp: wrk through a fresh gateway; "rps p99_ms gw_cpu_pct
# errors" into $TMP/NAME
proxied() {
    local t0 t1 errs
    gateway
    t0=$(cpu_ns "$GW_PID")
    "${ON_L[@]}" wrk -t1 -c64 -d"${DUR}s" --latency -s bench/distinct.lua \
        "http://127.0.0.1:$GP/devices/$2/sensors/temperature" >"$TMP/$1.wrk"
    t1=$(cpu_ns "$GW_PID")
    errs=$(awk '/Non-2xx|Socket errors/ { $1 = $1; printf "%s; ", $0 }' "$TMP/$1.wrk")
    echo "$(awk '/^Requests\/sec/ {print $2}' "$TMP/$1.wrk") $(wrk_p99 "$TMP/$1.wrk")" \
        "$(cpu_pct "$t0" "$t1" "$DUR")" >"$TMP/$1"
    [ -z "$errs" ] || echo "  $1: $errs" >&2
    stop "$GW_PID"
    stop "$SIM_PID"
}

# --- (b) the engine's TCP server role against coap-server-notls ---

# server ours|libcoap|coapgw: starts it afresh on SP (coap:// and
# coap+tcp://; coapgw: its coap.listen and coap.listen_tcp); SERVER_PID
server() {
    SP=$(port_both)
    case $1 in
    ours) "${ON_M[@]}" "$BUILD/coap_hello" "127.0.0.1:$SP" --tcp "127.0.0.1:$SP" >>"$TMP/ours.log" 2>&1 & ;;
    libcoap) "${ON_M[@]}" coap-server-notls -A 127.0.0.1 -p "$SP" >>"$TMP/libcoap.log" 2>&1 & ;;
    coapgw)
        "${ON_M[@]}" "$BUILD/coapgw" --http-listen 127.0.0.1:0 --coap-listen "127.0.0.1:$SP" \
            --set coap.listen_tcp="127.0.0.1:$SP" --log-level warn >>"$TMP/coapgw.log" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    if ! wait_coap "coap+tcp://127.0.0.1:$SP/.well-known/core" ||
        ! wait_coap "coap://127.0.0.1:$SP/.well-known/core"; then
        tail -n 5 "$TMP/$1.log" >&2
        return 1
    fi
}
# direct NAME ours|libcoap|coapgw coap|coap+tcp [PATH]: coap_load against
# a fresh server (GET PATH, default /time); its line and "server_cpu_pct
# N" into $TMP/NAME
direct() {
    local t0 t1
    server "$2"
    t0=$(cpu_ns "$SERVER_PID")
    "${ON_L[@]}" timeout $((DUR + 60)) "$BUILD/coap_load" -c "$CONC" -n "$CONNS" -d "$DUR" \
        "$3://127.0.0.1:$SP${4:-/time}" >"$TMP/$1" 2>"$TMP/$1.err" || true
    t1=$(cpu_ns "$SERVER_PID")
    echo "server_cpu_pct $(cpu_pct "$t0" "$t1" "$DUR")" >>"$TMP/$1"
    stop "$SERVER_PID"
    [ ! -s "$TMP/$1.err" ] || echo "  $1: $(sort "$TMP/$1.err" | uniq -c | sort -rn | head -n 3 | tr -s ' ')" >&2
}

echo "bench/run-tcp.sh $DUR, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo "pinning: $([ "$PIN" = 1 ] && echo "measured process on CPU 1, load on CPU 0" || echo none);" \
    "libcoap $(dpkg-query -W -f '${Version}' libcoap3-bin 2>/dev/null || echo '?'), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
for r in $(seq 1 "$ROUNDS"); do
    # the baseline first in odd rounds, second in even ones: a drift of
    # the machine weighs on both alike
    a="udp tcp" s="libcoap ours"
    [ $((r % 2)) = 1 ] || a="tcp udp" s="ours libcoap"
    for t in $a; do
        echo "round $r: HTTP -> $t through coapgw ..." >&2
        proxied "px_$t.$r" "$t"
    done
    for scheme in coap+tcp coap; do
        for who in $s; do
            echo "round $r: $scheme, $who ..." >&2
            direct "${scheme/+/_}_$who.$r" "$who" "$scheme"
        done
    done
    for who in ${s/ours/coapgw}; do
        echo "round $r: coap+tcp /.well-known/core, $who ..." >&2
        direct "wkc_$who.$r" "$who" coap+tcp /.well-known/core
    done
done

# --- the report ---

# col N NAME: the Nth word of $TMP/NAME.1 ... as lines
col() {
    local r
    for r in $(seq 1 "$ROUNDS"); do
        if [ -s "$TMP/$2.$r" ]; then awk -v n="$1" 'NR == 1 { print $n }' "$TMP/$2.$r"; fi
    done
}
# key KEY NAME: the value after KEY in the files of the rounds, as lines
key() {
    local r
    for r in $(seq 1 "$ROUNDS"); do
        if [ -s "$TMP/$2.$r" ]; then
            awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$TMP/$2.$r"
        fi
    done
}
# per_cpu_rounds RATES CPUS: RATE * 100 / CPU of each round (the rate per
# CPU-second of the process measured), as lines; RATES and CPUS are lines
per_cpu_rounds() { paste <(echo "$1") <(echo "$2") | awk '$2 + 0 > 0 { printf "%.0f\n", $1 * 100 / $2 }'; }
# median [FORMAT]: of the numbers on stdin (printf FORMAT, default %.0f)
median() {
    sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x != "n/a" && y != "n/a" && y + 0 > 0) printf "%.2f", x / y; else print "n/a" }'; }
total() { key "$1" "$2" | awk '{ s += $1 } END { print s + 0 }'; }
csv tcp part measure a b ratio
# row LABEL A B [ratio]: a line of the table and of tcp.csv (part $PART)
row() {
    local r=-- m=${1#"${1%%[! ]*}"} # the label without its indent
    [ $# -lt 4 ] || r=$(ratio "$2" "$3")
    printf '%-50s %12s %12s %8s\n' "$1" "$2" "$3" "$r"
    csv_row tcp "$PART" "\"$m\"" "$2" "$3" "$r"
}
echo
printf '%-50s %12s %12s %8s\n' "(a) wrk -t1 -c64, distinct URLs -> coapgw ->" coap+tcp "coap (UDP)" tcp/udp
PART=gateway
row "requests/s" "$(col 1 px_tcp | median)" "$(col 1 px_udp | median)" ratio
row "  p99 ms" "$(col 2 px_tcp | median %.2f)" "$(col 2 px_udp | median %.2f)" ratio
row "  coapgw CPU % of one core" "$(col 3 px_tcp | median)" "$(col 3 px_udp | median)"
row "  requests per coapgw CPU-second" "$(per_cpu_rounds "$(col 1 px_tcp)" "$(col 3 px_tcp)" | median)" \
    "$(per_cpu_rounds "$(col 1 px_udp)" "$(col 3 px_udp)" | median)" ratio
echo
printf '%-50s %12s %12s %8s\n' "(b) coap_load -c $CONC -n $CONNS -> GET /time on" ours libcoap ours/lc
for scheme in coap_tcp coap; do
    o=${scheme}_ours l=${scheme}_libcoap
    label="coap+tcp:// ($CONNS connections)" PART=tcp
    [ "$scheme" = coap_tcp ] || label="coap:// (UDP, $CONNS source ports, reference)" PART=udp
    row "$label requests/s" "$(key rps "$o" | median)" "$(key rps "$l" | median)" ratio
    row "  p50 ms" "$(key p50_ms "$o" | median %.2f)" "$(key p50_ms "$l" | median %.2f)"
    row "  p99 ms" "$(key p99_ms "$o" | median %.2f)" "$(key p99_ms "$l" | median %.2f)"
    row "  server CPU % of one core" "$(key server_cpu_pct "$o" | median)" "$(key server_cpu_pct "$l" | median)"
    row "  client CPU % of one core" "$(key cpu_pct "$o" | median)" "$(key cpu_pct "$l" | median)"
    row "  requests per server CPU-second" "$(per_cpu_rounds "$(key rps "$o")" "$(key server_cpu_pct "$o")" | median)" \
        "$(per_cpu_rounds "$(key rps "$l")" "$(key server_cpu_pct "$l")" | median)" ratio
    row "  failed or unanswered in 10 s (all rounds)" "$(total failed "$o")" "$(total failed "$l")"
done
echo
printf '%-50s %12s %12s %8s\n' "(c) the same load -> GET /.well-known/core on" coapgw libcoap gw/lc
PART=listener o=wkc_coapgw l=wkc_libcoap
row "coap+tcp:// ($CONNS connections) requests/s" "$(key rps "$o" | median)" "$(key rps "$l" | median)" ratio
row "  p50 ms" "$(key p50_ms "$o" | median %.2f)" "$(key p50_ms "$l" | median %.2f)"
row "  p99 ms" "$(key p99_ms "$o" | median %.2f)" "$(key p99_ms "$l" | median %.2f)"
row "  server CPU % of one core" "$(key server_cpu_pct "$o" | median)" "$(key server_cpu_pct "$l" | median)"
row "  requests per server CPU-second" "$(per_cpu_rounds "$(key rps "$o")" "$(key server_cpu_pct "$o")" | median)" \
    "$(per_cpu_rounds "$(key rps "$l")" "$(key server_cpu_pct "$l")" | median)" ratio
row "  failed or unanswered in 10 s (all rounds)" "$(total failed "$o")" "$(total failed "$l")"
echo "(medians of $ROUNDS round(s); every figure from fresh servers; CPU over the ${DUR} s window;"
echo " per CPU-second: each round's rate divided by the measured process's share of a core)"
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "raw (round: requests/s p99_ms coapgw_cpu_pct; coap_load's line):"
for f in "$TMP"/px_* "$TMP"/coap_* "$TMP"/wkc_*; do
    case $f in *.err | *.wrk) continue ;; esac
    echo "  $(basename "$f") $(tr '\n' ' ' <"$f")"
done
