#!/usr/bin/env bash
# Notifications larger than one block (RFC 7959 §2.6 with RFC 7641): the
# device sends the first block with Block2; the gateway fetches the rest
# (GETs with Block2 NUM 1.., no Observe, matched by ETag) and every event
# on the stream carries the whole body. Two devices: coapgw-sim's
# /big-ticks (5,120 bytes, a new state every period) and libcoap's
# coap-server-notls, whose dynamic resource (-d) takes a 5 KiB PUT and
# notifies its observers block-wise.
. "$(dirname "$0")/lib.sh"
need curl python3 coap-server-notls coap-client-notls
SIM_PORT=$(free_port)
LIB_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 700
start lib coap-server-notls -A 127.0.0.1 -p "$LIB_PORT" -d 4
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT", "lib": "coap://127.0.0.1:$LIB_PORT" },
  "proxy": { "timeout_ms": 3000 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/ticks"

# body LETTER: 5,120 bytes, LETTER at both ends, dots between
body() { python3 -c "import sys; sys.stdout.write('$1' + '.' * 5118 + '$1')"; }
body A >"$TMP/A"
body B >"$TMP/B"
wait_for "coap-server-notls" coap-client-notls -m put -f "$TMP/A" "coap://127.0.0.1:$LIB_PORT/big"

# whole LOG [MIN]: at least MIN (default 1) notification events in LOG, and
# each payload 5,120 bytes with the same marker at both ends; prints the
# markers
whole() {
    python3 - "$TMP/$1.log" "${2:-1}" <<'PY'
import json, sys
events = [json.loads(l[5:]) for l in open(sys.argv[1]) if l.startswith("data:") and '"seq"' in l]
bad = [len(e["payload"]) for e in events if len(e["payload"]) != 5120 or
       not e["payload"].endswith(e["payload"].split(".")[0])]
print(" ".join(e["payload"].split(".")[0] for e in events))
sys.exit(1 if bad or len(events) < int(sys.argv[2]) else 0)
PY
}

sim_events() {
    timeout 4 curl -sN -H 'Accept: text/event-stream' "$G/devices/demo/big-ticks" >"$TMP/s.log" || true
    whole s 4 >/dev/null || return 1
    # the later blocks were fetched without Observe (the sim logs plain GETs)
    grep -q "GET /big-ticks from" "$TMP/sim.log"
}
check "coapgw-sim /big-ticks: every event carries the whole 5,120 bytes" sim_events

increasing() {
    local m
    m=$(whole s 4) || return 1
    python3 -c "import sys; v=[int(x) for x in sys.argv[1].split()[1::2]]; sys.exit(v != sorted(v) or len(set(v)) != len(v))" "$m"
}
check "the values increase: each event is one state, not blocks of several" increasing

latest_whole() {
    # while one subscriber keeps the observation, a new one starts with the
    # hub's latest value: whole too
    start keep timeout 5 curl -sN -H 'Accept: text/event-stream' "$G/devices/demo/big-ticks"
    sleep 2
    timeout 2 curl -sN -H 'Accept: text/event-stream' "$G/devices/demo/big-ticks" >"$TMP/late.log" || true
    whole late 1 >/dev/null
}
check "a new subscriber's first event (the kept latest value) is whole" latest_whole

cached_whole() {
    local s
    s=$(status "$TMP/get" "$G/devices/demo/big-ticks")
    [ "$s" = 200 ] && [ "$(wc -c <"$TMP/get")" -eq 5120 ]
}
check "a GET of the same resource gives 5,120 bytes (block-wise GET)" cached_whole

libcoap_events() {
    start libsse timeout 6 curl -sN -H 'Accept: text/event-stream' "$G/devices/lib/big"
    sleep 2
    coap-client-notls -m put -f "$TMP/B" "coap://127.0.0.1:$LIB_PORT/big" >/dev/null
    sleep 1
    coap-client-notls -m put -f "$TMP/A" "coap://127.0.0.1:$LIB_PORT/big" >/dev/null
    sleep 3.5
    local m
    m=$(whole libsse 3) || { echo "markers: $m"; return 1; }
    [ "$m" = "A B A" ] || { echo "markers: $m"; return 1; }
}
check "coap-server-notls: a 5 KiB PUT notifies block-wise; each event whole (A, B, A)" libcoap_events

finish
