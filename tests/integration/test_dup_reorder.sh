#!/usr/bin/env bash
# Duplication, reordering and a device restart on the device link:
# coapgw -> udp_relay.py (seeded: 30 % of the datagrams each way
# duplicated, 30 % held back behind 1-3 later ones or for 400 ms) ->
# coapgw-sim. Each POST and each PUT (non-idempotent on /counter) is
# executed exactly once at the device and answered with its own body
# (RFC 7252 §4.5 deduplication, §5.3.2 matching); an SSE stream of /ticks
# never goes backwards and the gateway counts the reordered notifications
# it dropped (RFC 7641 §3.4). Then the device is killed and started again
# on the same port (message IDs, tokens and Observe state gone): the
# stream is observed again through the re-registration after Max-Age
# (1 s) + 5 s of silence (RFC 7641 §3.3.1), within 10 s, and no answer of
# the old device is taken for a request to the new one.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s)
SIM_PORT=$(free_port)
RELAY_PORT=$(free_port)
HTTP_PORT=$(free_port tcp)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 200
start relay python3 "$HERE/udp_relay.py" "$RELAY_PORT" "$SIM_PORT" --seed 17 --dup 0.3 --reorder 0.3 \
    --hold-ms 400 --lifetime 170 --stats "$TMP/relay.stats"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:0", "nstart": 4 },
  "devices": { "dev": "coap://127.0.0.1:$RELAY_PORT" }, "cache": { "enabled": false } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim through the relay" curl -sf "$G/devices/dev/counter"
metric() { curl -s "$G/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

start ticks timeout 150 curl -sN -H 'Accept: text/event-stream' "$G/devices/dev/ticks"

one() { # one post|put N: "KIND N STATUS" and the body in $TMP/KIND.N
    curl -s -m 30 -X "${1^^}" -o "$TMP/$1.$2" -w "$1 $2 %{http_code}\n" -H 'Content-Type: text/plain' \
        --data "$1-$2" "$G/devices/dev/counter"
}
export -f one
export G TMP
{ seq 1 40 | sed 's/^/post /'; seq 1 20 | sed 's/^/put /'; } | shuf --random-source=<(yes) |
    xargs -P 8 -L 1 bash -c 'one "$0" "$1"' >"$TMP/results"

exactly_once() {
    local kind i n bad=0
    sleep 0.5 # held and duplicated datagrams have landed
    for kind in post put; do
        for i in $(seq 1 $([ $kind = post ] && echo 40 || echo 20)); do
            n=$(grep -c "counter: executed [0-9]* $kind-$i\$" "$TMP/sim.log" || true)
            grep -q "^$kind $i 200\$" "$TMP/results" || { echo "$kind $i: $(grep "^$kind $i " "$TMP/results")"; bad=1; }
            [ "$n" -eq 1 ] || { echo "$kind $i executed $n times"; bad=1; }
            grep -qE "^[0-9]+ $kind-$i\$" "$TMP/$kind.$i" || { echo "$kind $i answered $(cat "$TMP/$kind.$i")"; bad=1; }
        done
    done
    echo "# 60 requests: $(grep -c 'counter: executed' "$TMP/sim.log") executions," \
        "$(metric coapgw_coap_duplicates_total) duplicates dropped by the gateway," \
        "$(metric 'coapgw_coap_rst_total{direction="sent"}') RST sent for answers nobody waits for"
    return $bad
}
check "40 POSTs and 20 PUTs through duplication and reordering: each executed once, answered with its own body" exactly_once

sleep 4 # more notifications through the relay
BEFORE=$(wc -l <"$TMP/ticks.log")
values() { grep -o '"payload":"[0-9]*' | tr -dc '0-9\n'; }
never_back() {
    head -n "$BEFORE" "$TMP/ticks.log" | values >"$TMP/ticks.before"
    local n stale
    n=$(wc -l <"$TMP/ticks.before")
    stale=$(metric coapgw_observe_stale_total)
    echo "# observe: $n values, $stale stale notification(s) dropped; relay: $(grep -c '^d>c #[0-9]* hold' "$TMP/relay.log") datagrams to the gateway held back"
    head -n "$BEFORE" "$TMP/ticks.log" | grep '^id: ' | cut -d' ' -f2 >"$TMP/ticks.ids"
    [ "$n" -ge 10 ] && sort -n -c "$TMP/ticks.before" && sort -n -c -u "$TMP/ticks.ids" &&
        [ "$stale" -ge 1 ]
}
check "the event stream never goes backwards; reordered notifications dropped and counted" never_back

# The device restarts: a new process on the same port.
stop sim
STOPPED=$(wc -l <"$TMP/ticks.log")
mv "$TMP/sim.log" "$TMP/sim-old.log"
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT" --period-ms 200
wait_for "coapgw-sim again" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/counter"
# silence_then_more: the gap (ms, by the gateway's received_at) between the
# old device's last notification and the next one (the new device's: the
# old one was stopped), once two or more followed it; nothing before then.
# The events are those after line STOPPED of the stream (the old device
# stopped there) and the last one before it, which may be the old device's
# last. The gateway's own timestamps, so a loaded machine delaying this
# script's polls does not stretch it (a new value below the old last one,
# used before, holds only until the new device has counted past it).
silence_then_more() {
    python3 -c '
import datetime, json, sys
stopped = int(sys.argv[1])
events = []
for n, l in enumerate(open(sys.argv[2]), 1):
    if l.startswith("data:") and l.endswith("\n"):
        e = json.loads(l[5:])
        if "received_at" in e:
            events.append((n, datetime.datetime.strptime(e["received_at"], "%Y-%m-%dT%H:%M:%S.%fZ")))
before = [t for n, t in events if n <= stopped][-1:]
at = before + [t for n, t in events if n > stopped]
gaps = [((b - a).total_seconds() * 1000, len(at) - i - 1) for i, (a, b) in enumerate(zip(at, at[1:]))]
gap = max(gaps, default=(0, 0))
if gap[0] >= 5000 and gap[1] >= 2: print(int(gap[0]))' "$STOPPED" "$TMP/ticks.log"
}
back_after=""
deadline=$((SECONDS + 40))
while [ -z "$back_after" ] && [ "$SECONDS" -lt "$deadline" ]; do
    back_after=$(silence_then_more)
    [ -n "$back_after" ] || sleep 0.2
done
echo "# restart: the stream went on ${back_after:-never} ms after the old device's last notification"
restarted() {
    # Max-Age (1 s) + 5 s of silence, then the re-registration's round trip
    [ -n "$back_after" ] && [ "$back_after" -le 10000 ] || return 1
    grep -q 'GET /ticks (observe)' "$TMP/sim.log"
}
check "after a device restart the stream is observed again within 10 s (re-registration)" restarted

no_stale_answers() {
    local i bad=0
    for i in $(seq 1 5); do
        [ "$(curl -s -m 30 -o "$TMP/after.$i" -w '%{http_code}' -H 'Content-Type: text/plain' \
            --data "after-$i" "$G/devices/dev/counter")" = 200 ] || { echo "after $i failed"; bad=1; }
        # the new device's count: at most i (the old one had counted 60)
        grep -qE "^[1-$i] after-$i\$" "$TMP/after.$i" || { echo "after $i answered $(cat "$TMP/after.$i")"; bad=1; }
    done
    [ "$(curl -s -m 30 "$G/devices/dev/counter")" = 5 ] || bad=1
    return $bad
}
check "answers after the restart come from the new device (none of the old one matched)" no_stale_answers

stop gw
stop relay
echo "# relay: $(tr '\n' ' ' <"$TMP/relay.stats")"
echo "# duration: $(($(date +%s) - T0)) s"
finish
