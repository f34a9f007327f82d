#!/usr/bin/env bash
# System calls per HTTP request, counted by strace: like instructions
# (bench/run-instr.sh), and unlike requests per second, they do not move
# with the machine's load. The servers, configurations and load are those
# of bench/run-http.sh; each server is attached with `strace -c -f -p PID`
# for the length of one `wrk -t1 -c64` run:
#   (a) mhd_hello: libmicrohttpd answering a fixed body (the anchor)
#   (b) coapgw -> coap_hello, cache off, one URL (coalesced)
#   (c) coapgw, cache on (answered from the cache)
#   (d) as (b), every URL distinct (one CoAP exchange each)
# Prints, per case, the requests wrk completed and each system call per
# request (calls that failed, such as reads that got EAGAIN, in brackets;
# those under 0.005 per request are left out of the list, not the total).
# Under strace the servers run slower, so the request counts are low; the
# calls per request are what to compare (docs/performance.md,
# "libmicrohttpd's suspend and resume").
# usage: bench/run-syscalls.sh [SECONDS]   (BUILD_DIR, CASES=abcd overridable)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
BUILD=${BUILD_DIR:-build}
CASES=${CASES:-abcd}
for t in strace wrk; do
    command -v $t >/dev/null || { echo "$t is missing: apt-get install $t" >&2; exit 1; }
done
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target coapgw mhd_hello coap_hello >/dev/null
# shellcheck source=bench/lib.sh
. bench/lib.sh

http_servers 32

# count NAME PID URL [WRK-ARGS...]: wrk under PID's strace, then calls per request
count() {
    local name=$1 pid=$2 url=$3 st
    shift 3
    strace -c -f -p "$pid" -o "$TMP/$name.strace" 2>/dev/null &
    st=$!
    sleep 0.5 # attached
    wrk -t1 -c64 -d"${DUR}s" "$@" "$url" >"$TMP/$name.wrk"
    kill -INT "$st"
    wait "$st" || true
    local n
    n=$(awk '/requests in/ {print $1}' "$TMP/$name.wrk")
    awk -v n="$n" -v name="$name" '
        $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
            err = NF == 6 ? $5 : 0; tot += $4
            if ($4 / n >= 0.005) line = line sprintf(" %s %.2f", $NF, $4 / n) (err ? sprintf(" (%.2f)", err / n) : "")
        }
        END { printf "(%s) %d requests: %.2f calls per request:%s\n", name, n, tot / n, line }' "$TMP/$name.strace"
    grep -E 'Non-2xx|Socket errors' "$TMP/$name.wrk" >&2 || true
}

echo "strace -c -f -p PID during wrk -t1 -c64 -d${DUR}s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
[[ $CASES != *a* ]] || count a "$PID_MHD" "http://127.0.0.1:$HP/"
[[ $CASES != *b* ]] || count b "$PID_GW1" "http://127.0.0.1:$GP1/devices/hello/hello"
[[ $CASES != *c* ]] || count c "$PID_GW2" "http://127.0.0.1:$GP2/devices/hello/hello"
[[ $CASES != *d* ]] || count d "$PID_GW1" "http://127.0.0.1:$GP1/devices/hello/hello" -s bench/distinct.lua
