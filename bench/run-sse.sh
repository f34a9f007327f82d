#!/usr/bin/env bash
# Observe over Server-Sent Events: coapgw's fan-out against nginx + nchan, in
# one run on loopback, with the same subscriber counts and the same publishing
# schedule: every channel gets one event every 250 ms, channel i at offset
# i * 250 ms / channels in each period (independent sensors; BURST=1: all
# channels at the start of each period):
#   coapgw: bench/sse_device (CoAP, /t/0 .. /t/99 notified every 250 ms) ->
#           coapgw --http-conn-memory 4096 (and http.max_connections_per_ip
#           and sse.max_per_target at SUBSCRIBERS, coap.max_pending_per_peer
#           above the targets)
#           -> GET /events?target=coap://...
#   nchan:  bench/sse_load pub (keep-alive POST /pub/<ch> every 250 ms) ->
#           nginx + nchan (bench/nchan.conf.in, one worker) -> GET /sub/<ch>
# Two shapes: 1 target x SUBSCRIBERS, and 100 targets x SUBSCRIBERS/100.
# Subscribers: bench/sse_load sub (one process, epoll). Each server runs
# alone on the machine during its measurement, freshly started.
# usage: bench/run-sse.sh [SUBSCRIBERS] [SECONDS]
#   (defaults 10000 and 30; WARM (s, default 5), BURST, BUILD_DIR, COAPGW
#   (the binary) overridable)
# Series (bench/lib.sh, $CSV_DIR): sse.csv, the table below (shape,system,
# subscribers,held,events,expected,lost,p50_ms,p99_ms,max_ms,rss_mib,
# kib_per_sub,cpu_pct), and sse_latency.csv, the latency distribution
# (percentile, then ms for coapgw and nchan in shape A, then in shape B).
# Installs nginx and libnginx-mod-nchan with apt-get when missing (on a
# machine without a policy-rc.d, Debian then also starts the system nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
SUBS=${1:-10000}
DUR=${2:-30}
WARM=${WARM:-5}
BUILD=${BUILD_DIR:-build}
COAPGW=${COAPGW:-$BUILD/coapgw}
CONN_MEMORY=4096
NCHAN_SO=/usr/lib/nginx/modules/ngx_nchan_module.so
NTARGETS=100
DEVARGS=() PUBARGS=()
if [ "${BURST:-0}" = 1 ]; then DEVARGS=(250 burst) PUBARGS=(-B); fi
if [ "$SUBS" -lt 1 ] || [ "$SUBS" -gt 18000 ]; then
    echo "SUBSCRIBERS: 1 .. 18000 (one process holds them all)" >&2
    exit 2
fi
[ "$SUBS" -ge "$NTARGETS" ] || NTARGETS=$SUBS

if ! command -v nginx >/dev/null || [ ! -f "$NCHAN_SO" ]; then
    echo "installing nginx and libnginx-mod-nchan" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx libnginx-mod-nchan >/dev/null
fi
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw sse_load sse_device >/dev/null

# shellcheck source=bench/lib.sh
. bench/lib.sh
# running PID: alive and not a zombie waiting for us
running() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}
# stop PID NAME: SIGTERM, SIGKILL after 15 s; reaps it, says if it took long
# or failed, and takes it off PIDS
stop() {
    local pid=$1 name=$2 t0 rc=0 p rest=()
    t0=$(date +%s%N)
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        running "$pid" || break
        sleep 0.1
    done
    if running "$pid"; then
        echo "  $name (pid $pid) still running 15 s after SIGTERM: SIGKILL" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 143 ] || echo "  $name (pid $pid) exited with status $rc" >&2
    t0=$((($(date +%s%N) - t0) / 1000000))
    [ "$t0" -lt 2000 ] || echo "  $name took $t0 ms to stop" >&2
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
    PIDS=("${rest[@]}")
}
# field FILE KEY: a value from the SSE_RESULT line
field() { awk -v k="$2" '/^SSE_RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"; }

# load NAME PIDS PORT PATH NPATHS: the subscribers, result in $TMP/NAME.out
load() {
    local name=$1 pids=$2 port=$3 path=$4 npaths=$5
    "$BUILD/sse_load" sub -d "$DUR" -w "$WARM" -n "$npaths" -p "$pids" -q "$TMP/$name.pct" \
        127.0.0.1 "$port" "$path" "$SUBS" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
    grep -q '^SSE_RESULT' "$TMP/$name.out" || {
        echo "  $name: no result" >&2
        cat "$TMP/$name.err" >&2
    }
}

DP=$(port udp)
"$BUILD/sse_device" "127.0.0.1:$DP" "$NTARGETS" "${DEVARGS[@]}" &
DEV=$!
PIDS+=("$DEV")

# Every subscriber connects from 127.0.0.1: raise the per-address limit
# (http.max_connections_per_ip, 128 by default) above their number.
# Shape A puts every subscriber on one target: raise the streams per target
# (sse.max_per_target, 1000 by default; the rest would be answered 503).
# Shape B registers its 100 observations with the one device at once: raise
# the requests waiting for one device (coap.max_pending_per_peer, 64 by
# default; the 36 above it would end their streams with an error event).
GWFLAGS=(--http-conn-memory "$CONN_MEMORY" --set "http.max_connections_per_ip=$((SUBS + 100))"
    --set "sse.max_per_target=$SUBS" --set "coap.max_pending_per_peer=$((NTARGETS + 64))")
GWNOTE="--http-conn-memory $CONN_MEMORY"
if ! "$COAPGW" "${GWFLAGS[@]}" --help >/dev/null 2>&1; then
    echo "WARNING: $COAPGW refuses --http-conn-memory $CONN_MEMORY: coapgw runs with its default pool" >&2
    GWFLAGS=()
    GWNOTE="default pool (--http-conn-memory refused)"
fi

run_coapgw() { # NAME NPATHS
    local name=$1 np=$2 hp pid
    hp=$(port tcp)
    cat >"$TMP/$name.json" <<JSON
{"http": {"listen": "127.0.0.1:$hp"}, "coap": {"listen": "127.0.0.1:0"}, "devices": {}, "log_level": "warn"}
JSON
    "$COAPGW" --config "$TMP/$name.json" "${GWFLAGS[@]}" 2>"$TMP/$name.log" &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$hp/"
    sleep 1
    load "$name" "$pid" "$hp" "/events?target=coap://127.0.0.1:$DP/t/%d" "$np"
    stop "$pid" "coapgw"
    if [ -s "$TMP/$name.log" ]; then
        echo "  coapgw log ($name), last lines:" >&2
        tail -n 5 "$TMP/$name.log" >&2
    fi
}

run_nchan() { # NAME NPATHS
    local name=$1 np=$2 hp dir master worker pub _
    hp=$(port tcp)
    dir=$TMP/nginx-$name
    mkdir -p "$dir"
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$hp|g" bench/nchan.conf.in >"$dir/nginx.conf"
    nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
    master=$!
    PIDS+=("$master")
    wait_http "http://127.0.0.1:$hp/"
    worker=
    for _ in $(seq 1 50); do
        worker=$(pgrep -P "$master" | head -n 1) && [ -n "$worker" ] && break
        sleep 0.1
    done
    "$BUILD/sse_load" pub "${PUBARGS[@]}" -t $((DUR + WARM + 180)) 127.0.0.1 "$hp" /pub/ "$np" >"$TMP/$name.pub" &
    pub=$!
    PIDS+=("$pub")
    sleep 1
    load "$name" "$master,$worker" "$hp" "/sub/%d" "$np"
    stop "$pub" "publisher"
    stop "$master" "nginx"
    grep -v '^\s*$' "$TMP/$name.pub" >&2 || true
    if grep -q -E '\[(alert|crit|emerg|error)\]' "$dir/error.log"; then
        echo "  nginx error log ($name):" >&2
        grep -E '\[(alert|crit|emerg|error)\]' "$dir/error.log" | tail -n 5 >&2
    fi
}

PER=$((SUBS / NTARGETS))
SHAPE_B_SUBS=$((PER * NTARGETS))
echo "bench/run-sse.sh $SUBS $DUR (warm-up ${WARM}s), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo "coapgw: $GWNOTE; nginx $(nginx -v 2>&1 | sed 's|.*/||'), nchan $(dpkg-query -W -f '${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')"
echo "shape A: 1 target x $SUBS subscribers; shape B: $NTARGETS targets x $PER subscribers;" \
    "$([ "${BURST:-0}" = 1 ] && echo "all targets published together" || echo "publications spread over each 250 ms")"
[ "$SHAPE_B_SUBS" -eq "$SUBS" ] || echo "  (shape B opens $SUBS streams; the first $((SUBS - SHAPE_B_SUBS)) targets get one more)"
echo "running coapgw A ..." >&2
run_coapgw gw_a 1
echo "running nchan A ..." >&2
run_nchan nc_a 1
echo "running coapgw B ..." >&2
run_coapgw gw_b "$NTARGETS"
echo "running nchan B ..." >&2
run_nchan nc_b "$NTARGETS"

# rss_per_sub NAME: KiB per subscriber, peak RSS in the window minus before
rss_per_sub() {
    local b m s
    b=$(field "$TMP/$1.out" rss_before_kb)
    m=$(field "$TMP/$1.out" rss_max_kb)
    s=$(field "$TMP/$1.out" subscribers)
    awk -v b="$b" -v m="$m" -v s="$s" 'BEGIN { if (s > 0) printf "%.2f", (m - b) / s; else print "n/a" }'
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y + 0 > 0 && x != "n/a") printf "%.2f", x / y; else print "n/a" }'; }

csv sse shape system subscribers held events expected lost p50_ms p99_ms max_ms rss_mib kib_per_sub cpu_pct
printf '\n%-5s %-6s %6s %6s %8s %8s %6s %8s %8s %8s %8s %7s %6s\n' shape system subs held events expected lost \
    "p50 ms" "p99 ms" "max ms" "RSS MiB" KiB/sub "CPU %"
for shape in a b; do
    for sys in gw nc; do
        f=$TMP/${sys}_$shape.out
        [ -s "$f" ] || continue
        row=("${shape^^}" "$([ $sys = gw ] && echo coapgw || echo nchan)" "$(field "$f" subscribers)"
            "$(field "$f" held)" "$(field "$f" events)" "$(field "$f" expected)" "$(field "$f" lost)"
            "$(field "$f" lat_p50_ms)" "$(field "$f" lat_p99_ms)" "$(field "$f" lat_max_ms)"
            "$(awk -v k="$(field "$f" rss_max_kb)" 'BEGIN { printf "%.1f", k / 1024 }')"
            "$(rss_per_sub "${sys}_$shape")" "$(field "$f" server_cpu_pct)")
        printf '%-5s %-6s %6s %6s %8s %8s %6s %8s %8s %8s %8s %7s %6s\n' "${row[@]}"
        csv_row sse "${row[@]}"
    done
done
# the four distributions side by side, one row per percentile
csv sse_latency percentile coapgw_a_ms nchan_a_ms coapgw_b_ms nchan_b_ms
for f in gw_a nc_a gw_b nc_b; do
    [ -s "$TMP/$f.pct" ] || seq 0 100 | sed 's/$/,/' >"$TMP/$f.pct"
done
paste -d, <(grep -v '^#' "$TMP/gw_a.pct") <(grep -v '^#' "$TMP/nc_a.pct" | cut -d, -f2) \
    <(grep -v '^#' "$TMP/gw_b.pct" | cut -d, -f2) <(grep -v '^#' "$TMP/nc_b.pct" | cut -d, -f2) \
    >>"$CSV_DIR/sse_latency.csv"
echo "(RSS: peak in the window, server process(es); KiB/sub: (peak - before subscribers) / subscribers;"
echo " CPU %: the server's, of one core, in the window; latency: publisher's clock to the subscriber's read)"
echo
echo "coapgw/nchan ratios (lower is better) and the targets:"
ok=1
verdict() { # CONDITION-AS-0/1
    if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi
}
for shape in a b; do
    g=$TMP/gw_$shape.out n=$TMP/nc_$shape.out
    if [ ! -s "$g" ] || [ ! -s "$n" ]; then
        ok=0
        continue
    fi
    rg=$(rss_per_sub "gw_$shape") rn=$(rss_per_sub "nc_$shape")
    printf '  %s: RSS/subscriber %s, p50 %s, p99 %s, max %s\n' "${shape^^}" "$(ratio "$rg" "$rn")" \
        "$(ratio "$(field "$g" lat_p50_ms)" "$(field "$n" lat_p50_ms)")" \
        "$(ratio "$(field "$g" lat_p99_ms)" "$(field "$n" lat_p99_ms)")" \
        "$(ratio "$(field "$g" lat_max_ms)" "$(field "$n" lat_max_ms)")"
    c1=0 c2=0 c3=0
    [ "$(field "$g" held)" = "$SUBS" ] && [ "$(field "$g" subscribers)" = "$SUBS" ] &&
        [ "$(field "$g" lost)" = 0 ] && [ "$(field "$g" servers_alive)" = 1 ] && c1=1
    c2=$(awk -v x="$rg" -v y="$rn" 'BEGIN { print (x != "n/a" && y != "n/a" && x <= y / 2) ? 1 : 0 }')
    c3=$(awk -v x="$(field "$g" lat_p99_ms)" -v y="$(field "$n" lat_p99_ms)" 'BEGIN { print (x <= y) ? 1 : 0 }')
    [ "$c1$c2$c3" = 111 ] || ok=0
    printf '     %s held, nothing lost: %s; RSS/subscriber <= nchan/2: %s; p99 <= nchan: %s\n' \
        "$SUBS" "$(verdict "$c1")" "$(verdict "$c2")" "$(verdict "$c3")"
done
if [ "$ok" = 1 ]; then echo "all targets met"; else echo "targets NOT all met"; fi
echo
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw:"
for f in gw_a nc_a gw_b nc_b; do
    if [ -s "$TMP/$f.out" ]; then echo "  $f $(grep '^SSE_RESULT' "$TMP/$f.out")"; fi
done
