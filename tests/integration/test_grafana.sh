#!/usr/bin/env bash
# The Grafana dashboard (docs/grafana/coapgw.json) against a live /metrics:
# valid JSON, importable (datasource ${DS_PROMETHEUS}), every panel with a
# datasource and a query, and every metric and label its PromQL selects
# present in the gateway's scrape (tests/integration/grafana_check.py).
# Broken copies of the dashboard must fail the same check.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
DASH=$HERE/../../docs/grafana/coapgw.json
gcheck() { python3 "$HERE/grafana_check.py" "$@"; }
SIM_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 300
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/sensors/temperature"
# A request through the gateway: the labelled counters (requests by status,
# exchanges by code) only list series that moved.
check "a request through the gateway" curl -sf -o /dev/null "$G/devices/demo/sensors/temperature"
curl -sf "$G/metrics" >"$TMP/metrics"

check "every panel has a datasource and a query, every queried metric and label is in /metrics" \
    gcheck "$DASH" "$TMP/metrics"
queries() { gcheck "$DASH" "$TMP/metrics" | awk '/ queries, / {print $1}'; }
check "the dashboard has 40 queries or more (it was read)" test "$(queries)" -ge 40
for family in coapgw_http_requests_total coapgw_http_to_coap_duration_seconds_bucket \
    coapgw_cache_hits_total coapgw_observations_active coapgw_sse_subscribers \
    coapgw_coap_retransmissions_total coapgw_coap_timeouts_total coapgw_dtls_handshakes_total \
    coapgw_dtls_handshake_failures_total coapgw_rd_registrations coapgw_coap_refused_total \
    coapgw_sse_refused_total coapgw_http_closed_total; do
    check "the dashboard queries $family" grep -q "\"expr\": \".*$family{" "$DASH"
done

# broken NAME SED-EXPRESSION: a copy of the dashboard changed by SED must fail
broken() {
    sed -e "$2" "$DASH" >"$TMP/$1.json"
    ! cmp -s "$DASH" "$TMP/$1.json" && ! gcheck "$TMP/$1.json" "$TMP/metrics" >/dev/null 2>"$TMP/$1.err"
}
check "a misspelt metric fails" broken typo 's/coapgw_sse_subscribers{/coapgw_sse_subscriber{/'
check "a histogram without _bucket fails" broken bucket 's/duration_seconds_bucket{/duration_seconds{/'
check "grouping by a label the metric lacks fails" broken label 's/sum by (code) (rate(coapgw_http_requests_total/sum by (status) (rate(coapgw_http_requests_total/'
check "matching on a label the metric lacks fails" broken matcher 's/coapgw_coap_timeouts_total{instance=~/coapgw_coap_timeouts_total{side="x",instance=~/'
# shellcheck disable=SC2016 # the literal ${DS_PROMETHEUS}, not a shell variable
check "a panel without the datasource variable fails" broken ds '0,/"uid": "${DS_PROMETHEUS}"/s//"uid": "prometheus"/'
check "the rate of a gauge fails" broken gauge 's/sum(coapgw_cache_entries{\([^}]*\)})/sum(rate(coapgw_cache_entries{\1}[5m]))/'
check "invalid JSON fails" broken json '0,/"panels": \[/s//"panels": [[/'
check "the problems are named" grep -q "coapgw_sse_subscriber is not in /metrics" "$TMP/typo.err"
check "the rate of a gauge is named" grep -q "rate of coapgw_cache_entries, a gauge" "$TMP/gauge.err"
finish
