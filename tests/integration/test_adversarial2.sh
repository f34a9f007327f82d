#!/usr/bin/env bash
# Adversarial checks of what came after the first release's review
# (docs/security.md): simple registration (RFC 9176 §5.1) from a forged
# source, its fetch slots, and the RD lookup's access paths. Forged
# sources are addresses of this namespace's loopback (10.9.0.0/24: allowed
# targets, not coap clients) that send once and never answer, as a victim
# would; it runs in a network namespace with only loopback.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
for a in 7 8 9; do ip addr add "10.9.0.$a/32" dev lo; done
. "$(dirname "$0")/lib.sh"
need curl python3 coap-client-notls
HERE=$(cd "$(dirname "$0")" && pwd)
GW_COAP=$(free_port)
HTTP_PORT=$(free_port tcp)
SIM_PORT=$(free_port)
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "0.0.0.0:$GW_COAP" },
  "devices": { "demo": "coap://127.0.0.1:$SIM_PORT" },
  "sse": { "max_per_target": 2 } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"

# rawpost SRC SPORT NAME [ARGS...]: POST /.well-known/rd?ep=NAME from
# SRC:SPORT; what reached SRC:SPORT in $TMP/raw.NAME
rawpost() {
    local src=$1 sport=$2 name=$3
    shift 3
    python3 "$HERE/coap_rawpost.py" "$src" "$sport" 127.0.0.1 "$GW_COAP" \
        --path .well-known/rd --query "ep=$name" "$@" >"$TMP/raw.$name" 2>&1
}

forged() { # RFC 9175 §2.4 item 3: nothing is sent to an address not proven
    rawpost 10.9.0.7 "$(free_port)" victim --wait 3 || return 1
    [ "$(cat "$TMP/raw.victim")" = "answer 4.01" ] || return 1
    ! grep -q "victim" "$TMP/gw.log"
}
check "simple registration from a forged source: 4.01 with Echo, no GET /.well-known/core sent to it, nothing logged" forged

slots() { # a host that proves its address, then never answers the fetch
    local i pids=()
    for i in 1 2 3; do
        rawpost 10.9.0.8 "$(free_port)" "hold$i" --follow --wait 0.6 &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$TMP"/raw.hold* >"$TMP/holds"
    [ "$(grep -c "request 0.01 /.well-known/core" "$TMP/holds")" = 1 ] || return 1
    [ "$(grep -c "answer 5.03" "$TMP/holds")" = 2 ] || return 1
    # another host is not held up by it
    rawpost 10.9.0.9 "$(free_port)" other --follow --wait 0.6
    grep -q "request 0.01 /.well-known/core" "$TMP/raw.other"
}
check "simple registration: one host gets one fetch at a time (5.03 beyond), another host still gets its own" slots

churn() { # a LAN device updating its registration as fast as it can, an observed lookup
    local gw=coap://127.0.0.1:$GW_COAP id i n
    coap-client-notls -a 10.9.0.7 -m post -t 40 -e '</x>' "$gw/rd?ep=churn&lt=100" >/dev/null 2>&1
    id=$(coap-client-notls -m get "$gw/rd-lookup/ep?ep=churn" 2>/dev/null | grep -o '/rd/[^>]*' | cut -d/ -f3)
    [ -n "$id" ] || return 1
    start obs coap-client-notls -v 6 -s 6 -m get "$gw/rd-lookup/ep?ep=churn"
    wait_for "the observation" grep -q "c:2.05" "$TMP/obs.log" || return 1
    # 20 updates 20 ms apart, each changing the result (lt)
    python3 "$HERE/coap_rawpost.py" 10.9.0.7 0 127.0.0.1 "$GW_COAP" --path "rd/$id" \
        --lt-from 101 --repeat 20 --wait 0.1 >/dev/null
    wait_for "the last value" grep -q "lt=120" "$TMP/obs.log" || return 1
    n=$(grep -c "c:2.05" "$TMP/obs.log")
    stop obs
    echo "  $n answers to the observer for 20 changes"
    [ "$n" -le 4 ]
}
check "RD lookup observed while a LAN device sends 20 updates: notifications merged (one a second), the last one sent" churn

dup_targets() { # one stream naming one target 3 times takes one slot of sse.max_per_target 2
    local t=/devices/demo/sensors/temperature
    start dup timeout 20 curl -sN -H 'Accept: text/event-stream' \
        "$G/events?target=$t&target=$t&target=coap://127.0.0.1:$SIM_PORT/sensors/temperature"
    wait_for "its first notification" grep -q '^event: notification' "$TMP/dup.log" || return 1
    [ "$(status "$TMP/body" -m 1 -H 'Accept: text/event-stream' "$G$t" || true)" = 200 ] || return 1
    # each value once, not three times
    [ -z "$(grep -o '"seq":[0-9]*' "$TMP/dup.log" | sort | uniq -d)" ] || return 1
    stop dup
}
check "sse.max_per_target: a stream naming one target 3 times (two forms) takes one slot, gets each value once" dup_targets

# Socket activation from a hostile or broken service manager: exit 2 with
# the reason, never a crash, never a socket that serves nobody.
cat >"$TMP/plain.json" <<JSON
{ "http": { "listen": "127.0.0.1:$(free_port tcp)" }, "coap": { "listen": "127.0.0.1:$(free_port)" },
  "state": { "path": "" } }
JSON
# passed_fails MESSAGE LAUNCH-ARGS...: coapgw exits 2 (status 512) with MESSAGE
# (a gateway that serves instead is ended by the launcher after 10 s)
passed_fails() {
    local msg=$1
    shift
    timeout 10 python3 "$HERE/sd_launch.py" "$@" --pidfile "$TMP/sa.pid" -- \
        "$BUILD/coapgw" --config "$TMP/plain.json" >"$TMP/sa.out" 2>&1 || true
    grep -q "ended (status 512)" "$TMP/sa.out" && grep -q -- "$msg" "$TMP/sa.out" ||
        { cat "$TMP/sa.out"; return 1; }
}
P=$(free_port tcp)
U=$(free_port)
check "socket activation: a TCP socket named http that is not listening: exit 2" \
    passed_fails "socket \"http\" (fd 3, TCP 127.0.0.1:$P) is not listening" --no-listen --tcp "127.0.0.1:$P" --names http
check "socket activation: a UDP socket named coap connected to one peer: exit 2" \
    passed_fails "socket \"coap\" (fd 3, UDP 127.0.0.1:$U) is connected to one peer" \
    --udp-connect "127.0.0.1:$(free_port)" --udp "127.0.0.1:$U" --names coap
check "socket activation: an unbound UDP socket named coap: exit 2" \
    passed_fails "socket \"coap\" (fd 3, UDP 0.0.0.0:0) is not bound to a port" --unbound --udp "127.0.0.1:$U" --names coap
check "socket activation: LISTEN_FDS 3 with one socket passed: exit 2 naming fd 4" \
    passed_fails "fd 4 is no IPv4/IPv6 socket" --listen-fds 3 --tcp "127.0.0.1:$P" --names http
for v in 1x 99999999999999999999 -1; do
    check "socket activation: LISTEN_FDS \"$v\": exit 2" \
        passed_fails "LISTEN_FDS \"$v\" is not a number of sockets" --listen-fds "$v" --tcp "127.0.0.1:$P"
done
check "socket activation: LISTEN_PID with trailing junk (\"PIDx\"): exit 2" \
    passed_fails "LISTEN_PID \"[0-9]*x\" is not a process id" --listen-pid-suffix x --tcp "127.0.0.1:$P"

finish
