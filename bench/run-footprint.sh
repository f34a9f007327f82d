#!/usr/bin/env bash
# The gateway's footprint (issue #19): the time from exec to the first
# answered request, and the resident memory once idle, with the demo's
# configuration (the default configuration: device "demo" at
# coap://127.0.0.1:5783, here on free ports), beside bench/mhd_hello (bare
# libmicrohttpd, the floor any MHD server starts from) measured the same way
# in the same run.
#
# Start: a Python driver execs the program and polls with a raw HTTP GET
# every 0.5 ms until one is answered (/healthz for coapgw, / for mhd_hello;
# and for coapgw also the first proxied GET /devices/demo/sensors/temperature
# through to coapgw-sim); median and max of RUNS runs. Memory: VmRSS from
# /proc after 2 s idle, and after 1,000 requests; Rss per mapped library
# (/proc/PID/smaps) after the last run's idle 2 s. The demo's registrations
# are kept in memory here (bench/lib.sh); tools/demo.sh keeps them in a file
# (state.path), measured as a row of its own. Instructions (callgrind, when
# valgrind is there) from exec to the first answer and a SIGTERM: a start
# cost that the machine's load does not change.
# Series: $CSV_DIR/footprint.csv (program,start_median_ms,start_max_ms,
# rss_idle_kib,rss_after_kib).
# usage: bench/run-footprint.sh [RUNS]   (BUILD_DIR, CSV_DIR overridable)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw coapgw-sim mhd_hello >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

SIMP=$(port udp)
"$BUILD/coapgw-sim" --listen "127.0.0.1:$SIMP" 2>/dev/null &
PIDS+=($!)

# measure NAME PATH CMD...: "median_ms max_ms rss_idle_kib rss_after_kib"
measure() {
    python3 - "$RUNS" "$@" <<'PY'
import os, socket, statistics, subprocess, sys, time
runs, name, path, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]

def ask(port, path):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = s.recv(64)
        s.close()
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def smaps(pid, out):
    """Rss per mapped file (and [heap], [stack], anonymous) from
    /proc/PID/smaps, largest first, then smaps_rollup's totals."""
    per, name = {}, None
    for line in open("/proc/%d/smaps" % pid):
        f = line.split()
        if not f[0].endswith(":") or "-" in f[0]:
            name = f[5] if len(f) > 5 else "[anonymous]"
            name = os.path.basename(name) if name.startswith("/") else name
        elif f[0] == "Rss:":
            per[name] = per.get(name, 0) + int(f[1])
    with open(out, "w") as o:
        for n, kib in sorted(per.items(), key=lambda kv: -kv[1]):
            if kib:
                o.write("  %-34s %6d KiB\n" % (n, kib))
        for line in open("/proc/%d/smaps_rollup" % pid):
            f = line.split()
            if f[0] in ("Rss:", "Pss:", "Shared_Clean:", "Private_Clean:", "Private_Dirty:"):
                o.write("  total %-28s %6s KiB\n" % (f[0][:-1], f[1]))

def rss(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

port = int(os.environ["HTTPPORT"])
times, idle, after = [], 0, 0
for i in range(runs):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = False
    while time.monotonic() - t0 < 5:
        if ask(port, path):
            ok = True
            break
        time.sleep(0.0005)
    dt = (time.monotonic() - t0) * 1000
    if not ok:
        p.kill(); p.wait()
        sys.exit("%s: no answer in 5 s" % name)
    times.append(dt)
    if i == runs - 1:
        time.sleep(2)
        idle = rss(p.pid)
        if os.environ.get("SMAPS_OUT"):
            smaps(p.pid, os.environ["SMAPS_OUT"])
        for _ in range(1000):
            ask(port, path)
        after = rss(p.pid)
    p.terminate()
    p.wait()
print("%.1f %.1f %d %d" % (statistics.median(times), max(times), idle, after))
PY
}

HP=$(port tcp)
export HTTPPORT=$HP
read -r am ax ai aa < <(SMAPS_OUT=$TMP/smaps.mhd measure mhd_hello / "$BUILD/mhd_hello" "$HP")
GP=$(port tcp)
GC=$(port udp)
export HTTPPORT=$GP
GW=("$BUILD/coapgw" --http-listen "127.0.0.1:$GP" --coap-listen "127.0.0.1:$GC"
    --set "devices=demo=coap://127.0.0.1:$SIMP")
read -r gm gx gi ga < <(SMAPS_OUT=$TMP/smaps.coapgw measure coapgw /healthz "${GW[@]}")
read -r dm dx _ _ < <(measure coapgw /devices/demo/sensors/temperature "${GW[@]}")
# tools/demo.sh keeps registrations in a file (state.path; above: in memory)
read -r sm sx si sa < <(COAPGW_STATE_PATH=$TMP/state.db SMAPS_OUT=$TMP/smaps.coapgw-state \
    measure coapgw /healthz "${GW[@]}")

# instructions NAME PATH CMD...: what the program executes from exec to the
# first answer on PATH, plus its shutdown on SIGTERM (callgrind's total; the
# machine's load does not change it, unlike the times above), or "-"
instructions() {
    local path=$2 out=$TMP/cg.out pid _
    shift 2
    command -v valgrind >/dev/null || { echo -; return; }
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$TMP/cg.err" &
    pid=$!
    for _ in $(seq 1 600); do
        curl -s -o /dev/null "http://127.0.0.1:$HTTPPORT$path" && break
        sleep 0.05
    done
    kill "$pid"
    wait "$pid" || true
    sed -n 's/.*Collected : //p' "$TMP/cg.err" | tail -1
}
export HTTPPORT=$GP
gi_instr=$(instructions coapgw /healthz "${GW[@]}")
export HTTPPORT=$HP
ai_instr=$(instructions mhd_hello / "$BUILD/mhd_hello" "$HP")

echo "$RUNS starts each; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %12s %10s %14s %16s\n' program "start p50 ms" "max ms" "idle RSS KiB" "RSS after 1k req"
printf '%-46s %12s %10s %14s %16s\n' "bench/mhd_hello (bare libmicrohttpd)" "$am" "$ax" "$ai" "$aa"
printf '%-46s %12s %10s %14s %16s\n' "coapgw, demo config: first /healthz" "$gm" "$gx" "$gi" "$ga"
printf '%-46s %12s %10s %14s %16s\n' "coapgw, demo config: first proxied GET" "$dm" "$dx" "-" "-"
printf '%-46s %12s %10s %14s %16s\n' "coapgw, demo config + state.path file" "$sm" "$sx" "$si" "$sa"
echo "instructions from exec to the first answer and a SIGTERM (callgrind): bench/mhd_hello $ai_instr, coapgw (demo config, /healthz) $gi_instr"
for f in mhd coapgw coapgw-state; do
    echo "idle Rss per mapping, $f (/proc/PID/smaps; the totals from smaps_rollup):"
    cat "$TMP/smaps.$f"
done
echo "targets (issue #19): start to first answered request < 50 ms, idle RSS < 5 MB (5,120 KiB)"
csv footprint program start_median_ms start_max_ms rss_idle_kib rss_after_kib
csv_row footprint mhd_hello "$am" "$ax" "$ai" "$aa"
csv_row footprint coapgw_healthz "$gm" "$gx" "$gi" "$ga"
csv_row footprint coapgw_proxied "$dm" "$dx" "" ""
csv_row footprint coapgw_state_file "$sm" "$sx" "$si" "$sa"
