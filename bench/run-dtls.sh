#!/usr/bin/env bash
# DTLS transport: our coaps:// server (bench/coap_hello --dtls: dtls/ under
# the CoAP engine) against libcoap's coap-server-gnutls, in one run on
# loopback, with the same client load (bench/dtls_load, on dtls/, PSK):
#   (1) handshakes/s: CONC fresh sessions at a time, each from its own
#       socket (no resumption: a new transport each time), handshake, one
#       CoAP ping, close_notify; counted over SECONDS;
#   (2) requests/s over SESSIONS established sessions, WINDOW CON GET /time
#       in flight on each; 2.05 answers counted over SECONDS (64 x 2: both
#       servers saturated; with 256 in flight libcoap's socket, at the
#       default 208 KiB receive buffer, drops datagrams);
#   (3) RSS per held session: HOLD sessions opened (CONC handshakes at a
#       time) and kept; the server's VmRSS after minus before, / HOLD;
#   (4) HTTP -> coaps against HTTP -> coap through coapgw (same device,
#       cache off): skipped with the gateway's message while it refuses
#       coaps:// devices (see coaps_credentials below).
# Both servers answer GET /time with libcoap's "%b %d %H:%M:%S" (15 bytes).
# Each measurement starts its server afresh; the pairs run one after the
# other, ROUNDS times for (1) and (2), ours first in odd rounds (the table
# shows the median of the rounds). The cipher suite both negotiated is
# shown (bench/dtls_suite.py: a capture on lo, as root).
# Series (bench/lib.sh, $CSV_DIR): dtls.csv, the table (measure,ours,
# libcoap,ratio; the "csv," lines of the output).
# usage: bench/run-dtls.sh [SECONDS]   (default 10; CONC 32, SESSIONS 64,
#   WINDOW 2, HOLD 10000, ROUNDS 1, BUILD_DIR build, SKIP_PROXY=1 skips (4))
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
BUILD=${BUILD_DIR:-build}
CONC=${CONC:-32}
SESSIONS=${SESSIONS:-64}
WINDOW=${WINDOW:-2}
HOLD=${HOLD:-10000}
ROUNDS=${ROUNDS:-1}
IDENTITY=bench
KEY=secretPSK
command -v coap-server-gnutls >/dev/null || { echo "coap-server-gnutls is missing: apt-get install libcoap3-bin" >&2; exit 1; }
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coap_hello dtls_load coapgw >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

# port_pair: P with P and P+1 free for UDP and TCP on 127.0.0.1 (libcoap's
# server takes UDP and TCP on P, DTLS and TLS on P+1)
port_pair() {
    python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close()
    if p > 65000: continue
    try:
        held = []
        for q in (p, p + 1):
            for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                x = socket.socket(socket.AF_INET, t); held.append(x); x.bind(("127.0.0.1", q))
        print(p); break
    except OSError: pass
    finally:
        for x in held: x.close()
PY
}
# wait_udp PORT PID: up to 10 s for PORT to be bound by PID's process
wait_udp() {
    local _
    for _ in $(seq 1 100); do
        ss -Hulnp "sport = :$1" 2>/dev/null | grep -q "pid=$2," && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "nothing listens on UDP port $1" >&2
    return 1
}
# server ours|libcoap: starts it afresh; SERVER_PID, DTLS_PORT, PLAIN_PORT
server() {
    local p
    p=$(port_pair)
    PLAIN_PORT=$p DTLS_PORT=$((p + 1))
    if [ "$1" = ours ]; then
        "$BUILD/coap_hello" "127.0.0.1:$p" --dtls "127.0.0.1:$DTLS_PORT" --psk "$IDENTITY:$KEY" >>"$TMP/ours.log" 2>&1 &
    else
        coap-server-gnutls -k "$KEY" -A 127.0.0.1 -p "$p" >>"$TMP/libcoap.log" 2>&1 &
    fi
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_udp "$DTLS_PORT" "$SERVER_PID"
    wait_handshake
}
# wait_handshake: up to 10 s for one handshake with the server to succeed.
# Being bound is not enough: a coap-server-gnutls given a burst of
# ClientHellos in its first milliseconds was seen to answer none of them
# for seconds (1 start in 8, both processes idle); a server that has
# completed a handshake takes the load at once.
wait_handshake() {
    local _
    for _ in $(seq 1 20); do
        timeout 10 "$BUILD/dtls_load" handshakes -u "$IDENTITY" -k "$KEY" -c 1 -d 0.3 -W 0 \
            "127.0.0.1:$DTLS_PORT" 2>/dev/null | grep -q 'handshakes=[1-9]' && return 0
    done
    echo "no handshake with the server on port $DTLS_PORT" >&2
    return 1
}
# field FILE KEY: a value from the DTLS_RESULT line
field() { awk -v k="$2" '/^DTLS_RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"; }

# measure NAME ours|libcoap MODE ARGS...: dtls_load against a fresh server,
# its DTLS_RESULT line into $TMP/NAME (bounded: the load's own time + 5 min)
measure() {
    local name=$1 who=$2 mode=$3
    shift 3
    server "$who"
    timeout 600 "$BUILD/dtls_load" "$mode" -u "$IDENTITY" -k "$KEY" -p "$SERVER_PID" "$@" \
        "127.0.0.1:$DTLS_PORT" >"$TMP/$name" 2>"$TMP/$name.err" || true
    stop "$SERVER_PID"
    if ! grep -q '^DTLS_RESULT' "$TMP/$name"; then
        echo "  $name: no result" >&2
        tail -n 5 "$TMP/$name.err" >&2
    elif [ -s "$TMP/$name.err" ]; then
        echo "  $name: $(sort "$TMP/$name.err" | uniq -c | sort -rn | head -n 3 | tr -s ' ')" >&2
    fi
}

# suite ours|libcoap: the cipher suite and curve a handshake of dtls_load
# with a fresh server negotiates (bench/dtls_suite.py), into $TMP/suite_WHO
suite() {
    local cap
    server "$1"
    python3 bench/dtls_suite.py "$DTLS_PORT" 3 >"$TMP/suite_$1" 2>&1 &
    cap=$!
    PIDS+=("$cap")
    sleep 0.5
    timeout 10 "$BUILD/dtls_load" handshakes -u "$IDENTITY" -k "$KEY" -c 1 -d 0.3 -W 0 \
        "127.0.0.1:$DTLS_PORT" >/dev/null 2>&1 || true
    wait "$cap" || true
    stop "$cap"
    stop "$SERVER_PID"
}

# median KEY NAME-PREFIX [FORMAT]: the median of KEY over the rounds'
# result files (printf FORMAT, default %.0f)
median() {
    local r
    for r in $(seq 1 "$ROUNDS"); do field "$TMP/$2.$r" "$1"; done | sort -g |
        awk -v f="${3:-%.0f}" '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# total KEYS NAME: the sum of the comma-separated KEYS in $TMP/NAME, or
# over the rounds' $TMP/NAME.1 ...
total() {
    local f k
    for f in "$TMP/$2" "$TMP/$2".*; do
        if [ ! -f "$f" ] || [ "${f%.err}" != "$f" ]; then continue; fi
        for k in ${1//,/ }; do field "$f" "$k"; done
    done | awk '{ s += $1 } END { print s + 0 }'
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x != "n/a" && y != "n/a" && y + 0 > 0) printf "%.2f", x / y; else print "n/a" }'; }
# per_cpu RATE CPU%: per second of the server's CPU time
per_cpu() { awk -v x="$1" -v c="$2" 'BEGIN { if (x != "n/a" && c + 0 > 0) printf "%.0f", x * 100 / c; else print "n/a" }'; }

echo "bench/run-dtls.sh $DUR, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo "client: bench/dtls_load (dtls/, GnuTLS $(dpkg-query -W -f '${Version}' libgnutls30 2>/dev/null || echo '?')), PSK;" \
    "servers: bench/coap_hello (ours) and coap-server-gnutls $(dpkg-query -W -f '${Version}' libcoap3-bin 2>/dev/null || echo '?')"
suite ours
suite libcoap
echo "negotiated: ours $(cat "$TMP/suite_ours"); libcoap $(cat "$TMP/suite_libcoap")"
HS_ARGS=(-c "$CONC" -d "$DUR")
RQ_ARGS=(-n "$SESSIONS" -w "$WINDOW" -c "$CONC" -d "$DUR")
for r in $(seq 1 "$ROUNDS"); do
    # ours first in odd rounds, libcoap's first in even ones: a drift of
    # the machine weighs on both alike
    order="ours libcoap"
    [ $((r % 2)) = 1 ] || order="libcoap ours"
    for who in $order; do
        echo "round $r: handshakes, $who ..." >&2
        measure "hs_$who.$r" "$who" handshakes "${HS_ARGS[@]}"
    done
    for who in $order; do
        echo "round $r: requests, $who ..." >&2
        measure "rq_$who.$r" "$who" requests "${RQ_ARGS[@]}"
    done
done
for who in ours libcoap; do
    echo "hold $HOLD sessions, $who ..." >&2
    measure "hold_$who" "$who" hold -n "$HOLD" -c "$CONC"
done

# --- (4) HTTP -> coaps against HTTP -> coap through coapgw ---

# The configuration members, after "devices", that give device "hellos"
# the PSK identity $IDENTITY and the key in file $1 (mode 0600): see
# "Credentials for coaps:// devices" in docs/configuration.md.
coaps_credentials() {
    printf ', "credentials": {"hellos": {"psk_identity": "%s", "psk_key_file": "%s"}}' "$IDENTITY" "$1"
}

# proxy_skip WHY: (4) is reported as skipped, with why
proxy_skip() { echo "$1" >"$TMP/px.skip"; }

# wrk_rps NAME URL: requests/s of wrk -t1 -c64, every URL distinct (no
# coalescing, no cache: one CoAP exchange per HTTP request), into $TMP/NAME
wrk_rps() {
    wrk -t1 -c64 -d"${DUR}s" -s bench/distinct.lua "$2" >"$TMP/$1.wrk"
    awk '/^Requests\/sec/ {print $2}' "$TMP/$1.wrk" >"$TMP/$1"
    ! grep -E 'Non-2xx|Socket errors' "$TMP/$1.wrk" >&2 || true
}

run_proxied() {
    if [ "${SKIP_PROXY:-0}" = 1 ]; then proxy_skip "SKIP_PROXY=1"; return; fi
    command -v wrk >/dev/null || { proxy_skip "wrk is missing: apt-get install wrk"; return; }
    server ours # coap_hello: coap:// on PLAIN_PORT, coaps:// on DTLS_PORT, one device
    local gp gw code _
    printf '%s' "$KEY" >"$TMP/psk.key"
    chmod 600 "$TMP/psk.key"
    gp=$(port tcp)
    cat >"$TMP/gw.json" <<JSON
{"http": {"listen": "127.0.0.1:$gp"}, "coap": {"listen": "127.0.0.1:0"},
 "devices": {"hello": "coap://127.0.0.1:$PLAIN_PORT", "hellos": "coaps://127.0.0.1:$DTLS_PORT"}$(coaps_credentials "$TMP/psk.key"),
 "cache": {"enabled": false}, "log_level": "warn"}
JSON
    "$BUILD/coapgw" --config "$TMP/gw.json" --coap-nstart 32 2>"$TMP/gw.log" &
    gw=$!
    PIDS+=("$gw")
    code=000
    for _ in $(seq 1 100); do
        kill -0 "$gw" 2>/dev/null || break
        code=$(curl -s -m 10 -o "$TMP/gw.body" -w '%{http_code}' "http://127.0.0.1:$gp/devices/hellos/time" || true)
        [ "$code" = 000 ] || break
        sleep 0.1
    done
    if ! kill -0 "$gw" 2>/dev/null; then
        proxy_skip "coapgw refused the configuration: $(tail -n 1 "$TMP/gw.log")"
    elif [ "$code" != 200 ]; then
        proxy_skip "GET /devices/hellos/time answered $code: $(head -c 200 "$TMP/gw.body")"
    else
        echo "HTTP -> coap ..." >&2
        wrk_rps px_coap "http://127.0.0.1:$gp/devices/hello/time"
        echo "HTTP -> coaps ..." >&2
        wrk_rps px_coaps "http://127.0.0.1:$gp/devices/hellos/time"
    fi
    stop "$gw"
    stop "$SERVER_PID"
}
run_proxied

# --- the report ---

verdict() { awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN { if (r == "n/a") print "n/a"; else if ((op == ">=" && r + 0 >= t) || (op == "<=" && r + 0 <= t)) print "met"; else print "NOT met" }'; }
# row LABEL OURS LIBCOAP [ratio | OP TARGET]: a line of the table (and a
# CSV line), with the ratio ours/libcoap when asked or with a target
row() {
    local r=-- v=""
    if [ $# -ge 4 ]; then r=$(ratio "$2" "$3"); fi
    if [ $# -ge 5 ]; then v="$4 $5: $(verdict "$r" "$4" "$5")"; fi
    printf '%-46s %12s %12s %8s  %s\n' "$1" "$2" "$3" "$r" "$v"
    CSV+=("$(printf 'csv,"%s",%s,%s,%s' "$1" "$2" "$3" "$r")")
}
CSV=()
hs_o=$(median per_s hs_ours) hs_l=$(median per_s hs_libcoap)
hc_o=$(median server_cpu_pct hs_ours) hc_l=$(median server_cpu_pct hs_libcoap)
rq_o=$(median per_s rq_ours) rq_l=$(median per_s rq_libcoap)
rc_o=$(median server_cpu_pct rq_ours) rc_l=$(median server_cpu_pct rq_libcoap)
kb_o=$(field "$TMP/hold_ours" kb_per_session) kb_l=$(field "$TMP/hold_libcoap" kb_per_session)
echo
printf '%-46s %12s %12s %8s  %s\n' "" ours libcoap ratio target
row "handshakes/s ($CONC at a time)" "$hs_o" "$hs_l" ">=" 1
row "  server CPU % of one core" "$hc_o" "$hc_l"
row "  client CPU % of one core" "$(median client_cpu_pct hs_ours)" "$(median client_cpu_pct hs_libcoap)"
row "  handshakes per server CPU-second" "$(per_cpu "$hs_o" "$hc_o")" "$(per_cpu "$hs_l" "$hc_l")" ratio
row "  handshake p50 ms" "$(median p50_ms hs_ours %.2f)" "$(median p50_ms hs_libcoap %.2f)"
row "  handshake p99 ms" "$(median p99_ms hs_ours %.2f)" "$(median p99_ms hs_libcoap %.2f)"
row "  handshakes failed or not up in 20 s (all rounds)" "$(total failed,lost hs_ours)" "$(total failed,lost hs_libcoap)"
row "requests/s ($SESSIONS sessions x $WINDOW in flight)" "$rq_o" "$rq_l" ">=" 1
row "  server CPU % of one core" "$rc_o" "$rc_l"
row "  client CPU % of one core" "$(median client_cpu_pct rq_ours)" "$(median client_cpu_pct rq_libcoap)"
row "  requests per server CPU-second" "$(per_cpu "$rq_o" "$rc_o")" "$(per_cpu "$rq_l" "$rc_l")" ratio
row "  request p50 ms" "$(median p50_ms rq_ours %.2f)" "$(median p50_ms rq_libcoap %.2f)"
row "  request p99 ms" "$(median p99_ms rq_ours %.2f)" "$(median p99_ms rq_libcoap %.2f)"
row "  requests failed or unanswered in 5 s (all rounds)" "$(total failed,timeouts rq_ours)" "$(total failed,timeouts rq_libcoap)"
row "KiB of server RSS per held session" "${kb_o:-n/a}" "${kb_l:-n/a}" "<=" 1
row "  sessions held (of $HOLD)" "$(field "$TMP/hold_ours" held)" "$(field "$TMP/hold_libcoap" held)"
row "  handshakes failed or sessions lost" "$(total failed,lost hold_ours)" "$(total failed,lost hold_libcoap)"
row "  RSS before, KiB" "$(field "$TMP/hold_ours" rss_before_kb)" "$(field "$TMP/hold_libcoap" rss_before_kb)"
row "  RSS after, KiB" "$(field "$TMP/hold_ours" rss_after_kb)" "$(field "$TMP/hold_libcoap" rss_after_kb)"
row "  sessions opened per second" "$(field "$TMP/hold_ours" open_per_s)" "$(field "$TMP/hold_libcoap" open_per_s)"
echo "(medians of $ROUNDS round(s); every figure from a fresh server; CPU in the measuring window;"
echo " per server CPU-second: the rate divided by the server's share of a core, steadier than the rate"
echo " when other work shares the machine)"
echo
if [ -s "$TMP/px.skip" ]; then
    echo "HTTP -> coaps / HTTP -> coap (coapgw, same device, cache off): skipped: $(cat "$TMP/px.skip")"
    CSV+=("csv,\"HTTP->coaps / HTTP->coap\",n/a,n/a,n/a")
else
    a=$(cat "$TMP/px_coap") b=$(cat "$TMP/px_coaps") r=$(ratio "$(cat "$TMP/px_coaps")" "$(cat "$TMP/px_coap")")
    printf 'HTTP -> coap %s req/s, HTTP -> coaps %s req/s (wrk -t1 -c64, every URL distinct, cache off): coaps/coap %s, target >= 0.6: %s\n' \
        "$a" "$b" "$r" "$(verdict "$r" ">=" 0.6)"
    CSV+=("csv,\"HTTP->coaps / HTTP->coap\",$b,$a,$r")
fi
echo
printf '%s\n' "${CSV[@]}"
csv dtls measure ours libcoap ratio
printf '%s\n' "${CSV[@]}" | sed 's/^csv,//' >>"$CSV_DIR/dtls.csv"
echo
echo "raw:"
for f in "$TMP"/hs_* "$TMP"/rq_* "$TMP"/hold_*; do
    case $f in *.err) continue ;; esac
    if [ -s "$f" ]; then echo "  $(basename "$f") $(grep '^DTLS_RESULT' "$f" | cut -d' ' -f2-)"; fi
done
for f in ours libcoap; do
    if [ -s "$TMP/$f.log" ]; then
        echo "$f server's log, $(wc -l <"$TMP/$f.log") lines, the last:"
        tail -n 3 "$TMP/$f.log"
    fi
done
