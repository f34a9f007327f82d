#!/usr/bin/env bash
# Issue #19's table in consecutive runs: each run measures every row with
# its anchor side by side, as the scripts it calls do one at a time:
#   run-http.sh SECONDS      HTTP->CoAP (b) one URL, (d) distinct, (c)
#                            cached, against bare libmicrohttpd (a)
#   run-reverse.sh SECONDS   CoAP->HTTP through libcurl against wrk
#                            straight at the origin
#   run-sse.sh SUBS SECONDS  SSE, both shapes, against nginx + nchan
#   run-tcp.sh SECONDS       its UDP rows: the engine's server
#                            (bench/coap_hello) against coap-server-notls
# The issue asks for runs that start at a load average below 0.5: each
# run waits (up to WAIT seconds, default 300) for the 1-minute load to
# fall under LOAD_MAX (0.5), prints it, and says so when it did not.
# NETNS=1 runs everything in a network namespace of its own (root and
# unshare needed), with only its loopback: no firewall rule applies there,
# so the kernel does not track connections (on a host with NAT rules, e.g.
# Docker's, conntrack otherwise handles every loopback packet of every
# server, anchors included: 14 % of an SSE write by perf, docs/performance.md).
# usage: bench/run-targets.sh [RUNS] [SECONDS] [SUBS]
#   (defaults 3, 10, 10000; BUILD_DIR, CSV_DIR, NETNS as for the others)
set -u
if [ "${NETNS:-}" = 1 ] && [ -z "${COAPGW_BENCH_NETNS:-}" ]; then
    exec unshare -n env COAPGW_BENCH_NETNS=1 bash "$0" "$@"
fi
[ -z "${COAPGW_BENCH_NETNS:-}" ] || { ip link set lo up && echo "in a network namespace of its own (NETNS=1)"; }
RUNS=${1:-3}
SECS=${2:-10}
SUBS=${3:-10000}
LOAD_MAX=${LOAD_MAX:-0.5}
WAIT=${WAIT:-300}
HERE=$(cd "$(dirname "$0")" && pwd)

load1() { cut -d' ' -f1 /proc/loadavg; }
below() { awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN { exit !(l < m) }'; }

for run in $(seq 1 "$RUNS"); do
    for _ in $(seq 1 "$WAIT"); do below && break; sleep 1; done
    start="$(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    below || start="$start (NOT below $LOAD_MAX after waiting ${WAIT}s)"
    echo "=== run $run of $RUNS: $start"
    bash "$HERE/run-http.sh" "$SECS"
    bash "$HERE/run-reverse.sh" "$SECS"
    WARM=${WARM:-5} bash "$HERE/run-sse.sh" "$SUBS" "$((SECS * 2))"
    bash "$HERE/run-tcp.sh" "$SECS"
    echo "=== run $run ended $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
