#!/usr/bin/env bash
# State in Redis (state.redis, docs/cluster.md "State in Redis"): two
# gateways on one redis-server. A registration through A is listed and
# served by B within a second; an update and a removal through B reach A;
# a registration expires in both. Redis stopped: /readyz 503 naming the
# store (200 "store":"down" with ?store=optional), a new registration 5.03 with a diagnostic, a configured device and
# a known registration still served; Redis started again on the same port:
# ready within seconds, registrations work, none acknowledged is lost;
# Redis hung (SIGSTOP): 5.03 after the 2 s command timeout.
# Runs in its own network namespace.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3 redis-server redis-cli
SIM_PORT=$(free_port)
REDIS_PORT=$(free_port tcp)
A_COAP=$(free_port)
B_COAP=$(free_port)
A_HTTP=$(free_port tcp)
B_HTTP=$(free_port tcp)
A=http://127.0.0.1:$A_HTTP
B=http://127.0.0.1:$B_HTTP
URL=redis://127.0.0.1:$REDIS_PORT
cat >"$TMP/gw.json" <<JSON
{ "rd": { "max_per_source": 200 },
  "devices": { "fixed": "coap://127.0.0.1:$SIM_PORT" } }
JSON

redis() {
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --dir "$TMP"
    wait_for "redis-server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT"
}
# gateway NAME COAP HTTP [URL]: a gateway on those ports, state in Redis at URL
gateway() {
    start "$1" "$BUILD/coapgw" --config "$TMP/gw.json" --set "coap.listen=127.0.0.1:$2" \
        --set "http.listen=127.0.0.1:$3" --set "state.redis=${4-$URL}"
    wait_for "coapgw $1" curl -sf "http://127.0.0.1:$3/healthz"
}
ready() { [ "$(curl -s -o "$TMP/ready.out" -w '%{http_code}' "$1/readyz")" = 200 ]; }
# coap ARGS...: the code of the last response ("-": none), output in $TMP/coap.out
coap() {
    "$@" -B "${WAIT:-3}" -v 6 >"$TMP/coap.out" 2>&1 || true
    local c
    c=$(grep -o 't:ACK c:[0-9.]*\|t:CON c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://')
    echo "${c:--}"
}
# register COAP NAME LT: the code of a registration through that gateway
register() {
    coap coap-client-notls -m post -t 40 -e '</sensors/temperature>;rt="t"' \
        "coap://127.0.0.1:$1/rd?ep=$2&lt=$3&base=coap://127.0.0.1:$SIM_PORT"
}
location() { grep -o 'Location-Path:rd, Location-Path:[^ ]*' "$TMP/coap.out" | tail -1 | sed 's/.*Location-Path://'; }
devices() { curl -s "$1/api/devices" | python3 -c 'import json,sys; print(" ".join(sorted(d["name"] for d in json.load(sys.stdin) if d["source"] == "rd")))'; }
has() { [[ " $(devices "$1") " == *" $2 "* ]]; }
served() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/devices/$2/sensors/temperature")" = 200 ]; }
metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }

start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post
redis
gateway gwa "$A_COAP" "$A_HTTP"
gateway gwb "$B_COAP" "$B_HTTP"
check "both ready once connected, the store named in the log, state.path ignored" \
    eval 'within 5 ready "$A" && within 5 ready "$B" &&
          grep -q "state: registrations shared in $URL (state.redis); state.path is ignored" "$TMP/gwa.log"'

acked=()
through_a() {
    [ "$(register "$A_COAP" shared1 600)" = 2.01 ] || return 1
    acked+=(shared1)
    SHARED_LOC=$(location)
    within 1 has "$B" shared1 && within 1 served "$B" shared1
}
check "registered through A: listed and served by B within 1 s" through_a
update_b() {
    [ "$(coap coap-client-notls -m post -t 40 -e '</new>' "coap://127.0.0.1:$B_COAP/rd/$SHARED_LOC?lt=900")" = 2.04 ] ||
        return 1
    within 1 eval 'curl -s "$A/api/devices/shared1" | grep -q "/new"'
}
check "an update through B (new links) reaches A within 1 s" update_b
remove_b() {
    [ "$(coap coap-client-notls -m delete "coap://127.0.0.1:$B_COAP/rd/$SHARED_LOC")" = 2.02 ] || return 1
    acked=("${acked[@]/shared1/}")
    within 1 eval '! has "$A" shared1'
}
check "a removal through B reaches A within 1 s" remove_b
expires() {
    [ "$(register "$A_COAP" brief 2)" = 2.01 ] || return 1
    within 1 has "$B" brief || return 1
    within 5 eval '! has "$A" brief && ! has "$B" brief'
}
check "a registration with lt=2 expires in both (and Redis drops its key)" \
    eval 'expires && within 3 eval "[ -z \"\$(redis-cli -p $REDIS_PORT --scan --pattern coapgw:reg:* 2>/dev/null | grep . || true)\" ]"'
many() {
    local i
    for i in $(seq 1 20); do
        [ "$(register "$([ $((i % 2)) = 0 ] && echo "$A_COAP" || echo "$B_COAP")" "dev$i" 3600)" = 2.01 ] ||
            return 1
        acked+=("dev$i")
    done
    within 2 eval '[ "$(devices "$A" | wc -w)" = 20 ] && [ "$(devices "$B" | wc -w)" = 20 ]'
}
check "20 registrations spread over A and B: both list all 20" many

# --- Redis down ---
stop redis
wait "$PID_redis" 2>/dev/null || true
down() {
    within 5 eval '! ready "$A"' || return 1
    grep -q "state store: $URL: " "$TMP/ready.out" || { cat "$TMP/ready.out"; return 1; }
    [ "$(metric "$A" coapgw_state_store_up)" = 0 ]
}
check "Redis stopped: /readyz 503 naming the store, coapgw_state_store_up 0" down
optional() {
    local c
    c=$(curl -s -o "$TMP/opt.out" -w '%{http_code}' "$A/readyz?store=optional")
    [ "$c" = 200 ] && grep -q '"status":"ready","store":"down","reason":"state store: '"$URL"': ' "$TMP/opt.out" \
        || { echo "$c $(cat "$TMP/opt.out")"; return 1; }
}
check "Redis stopped: /readyz?store=optional 200 ready, store down with the reason (the Kubernetes probe)" optional
refused() {
    local before
    before=$(metric "$A" coapgw_state_errors_total)
    [ "$(register "$A_COAP" whiledown 600)" = 5.03 ] || { tail -3 "$TMP/coap.out"; return 1; }
    grep -q "cannot save the registration (state store: $URL" "$TMP/coap.out" || return 1
    ! has "$A" whiledown && [ "$(metric "$A" coapgw_state_errors_total)" -gt "$before" ]
}
check "a new registration while Redis is down: 5.03 with a diagnostic, not listed, counted" refused
check "while down: a configured device and a known registration still served" \
    eval 'served "$A" fixed && served "$A" dev1 && served "$B" dev2'
check "the transition is logged once, not per attempt" \
    eval 'sleep 1; [ "$(grep -c "is down" "$TMP/gwa.log")" = 1 ]'

redis
back() {
    within 8 ready "$A" && within 8 ready "$B" || return 1
    [ "$(register "$B_COAP" after 600)" = 2.01 ] || return 1
    acked+=(after)
    within 1 has "$A" after
}
check "Redis started again: ready within seconds, a new registration reaches the other gateway" back
# the Redis that came back is empty (no persistence): each gateway writes
# back what it took (SET NX), so Redis holds every acknowledged one again
keys() { redis-cli -p "$REDIS_PORT" --scan --pattern 'coapgw:reg:*' | wc -l; }
none_lost() {
    local n count=0
    for n in "${acked[@]}"; do
        [ -n "$n" ] || continue
        count=$((count + 1))
        has "$A" "$n" && has "$B" "$n" || { echo "  $n lost"; return 1; }
    done
    [ "$count" = 21 ] && within 2 eval '[ "$(keys)" = 21 ]' || { echo "  $count acknowledged, $(keys) keys in Redis"; return 1; }
}
check "no acknowledged registration lost: 21 in both gateways and back in the restarted (empty) Redis" none_lost

hung() {
    kill -STOP "$PID_redis"
    local t0 code ms rc=0
    t0=$(date +%s%N)
    code=$(WAIT=8 register "$A_COAP" hung 600)
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$code" = 5.03 ] && [ "$ms" -lt 5000 ] || { echo "  $code after $ms ms"; rc=1; }
    grep -q "no answer within 2 s" "$TMP/coap.out" || rc=1
    kill -CONT "$PID_redis"
    # the SET waited in Redis's socket: it may still be applied once Redis
    # runs again (docs/cluster.md); both gateways then agree on it
    [ $rc = 0 ] && within 8 ready "$A" && within 8 ready "$B" &&
        within 2 eval '[ "$(devices "$A")" = "$(devices "$B")" ]'
}
check "Redis hung (SIGSTOP): a registration answers 5.03 \"no answer within 2 s\" within 5 s, ready again after SIGCONT" hung
# --- effect: with the default, two gateways share nothing ---
stop gwa
stop gwb
alone() {
    gateway gwc "$A_COAP" "$A_HTTP" "" && gateway gwd "$B_COAP" "$B_HTTP" "" || return 1
    [ "$(register "$A_COAP" lonely 600)" = 2.01 ] || return 1
    sleep 1
    ! has "$B" lonely
}
shared() {
    gateway gwe "$A_COAP" "$A_HTTP" && gateway gwf "$B_COAP" "$B_HTTP" || return 1
    within 5 ready "$A" && within 5 ready "$B" || return 1
    [ "$(register "$A_COAP" together 600)" = 2.01 ] || return 1
    within 1 has "$B" together
}
effect_redis() {
    alone || return 1
    stop gwc
    stop gwd
    shared
}
down_at_start() {
    local closed
    closed=$(free_port tcp)
    gateway gwg "$A_COAP" "$A_HTTP" "redis://127.0.0.1:$closed" || return 1
    ! within 2 ready "$A" || return 1
    grep -qi "state store: redis://127.0.0.1:$closed: connection refused" "$TMP/ready.out" ||
        { cat "$TMP/ready.out"; return 1; }
    [ "$(register "$A_COAP" nostore 600)" = 5.03 ] && served "$A" fixed
    local rc=$?
    stop gwg
    return $rc
}
check "Redis absent at start: the gateway starts, /readyz 503 connection refused, 5.03, devices served" down_at_start
auth() {
    local port
    port=$(free_port tcp)
    start redisauth redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --dir "$TMP" --requirepass s3cret-pw
    wait_for "redis-server with a password" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || return 1
    gateway gwh "$A_COAP" "$A_HTTP" "redis://:wrong-pw@127.0.0.1:$port" || return 1
    ! within 2 ready "$A" || return 1
    grep -q "state store: redis://127.0.0.1:$port: " "$TMP/ready.out" || return 1
    stop gwh
    gateway gwi "$A_COAP" "$A_HTTP" "redis://:s3cret-pw@127.0.0.1:$port" || return 1
    within 5 ready "$A" && [ "$(register "$A_COAP" authed 600)" = 2.01 ] || return 1
    stop gwi
    ! grep -q "s3cret-pw\|wrong-pw" "$TMP/gwh.log" "$TMP/gwi.log" "$TMP/ready.out"
}
check "a password in the URL is sent with AUTH (a wrong one: not ready), never logged or shown" auth
effect state.redis "set: a second gateway sees the first one's registration; the default \"\": it does not" effect_redis
finish
