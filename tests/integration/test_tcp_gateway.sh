#!/usr/bin/env bash
# CoAP over TCP (RFC 8323) in the gateway: coap+tcp:// targets (a
# configured device and /hc/ against libcoap's coap-server-notls on TCP,
# and coapgw-sim's TCP listener), the gateway's own TCP listener
# (coap.listen_tcp: libcoap's client through the forward proxy and into
# the Resource Directory), a simulated device that connects out over TCP
# and is reached back over its own connection (offline and 504 when it
# drops, served again when it returns), and the three coap.tcp keys.
. "$(dirname "$0")/lib.sh"
need coap-client-notls coap-server-notls curl python3
C=coap-client-notls
HP=$(free_port tcp)
G=http://127.0.0.1:$HP
TP=$(free_port tcp)   # the gateway's coap.listen_tcp
SPORT=$(free_port tcp) # libcoap's server, TCP
SIMU=$(free_port)
SIMT=$(free_port tcp)
S=coap+tcp://127.0.0.1:$SPORT
start server coap-server-notls -A 127.0.0.1 -p "$SPORT" -v 7
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIMU" --listen-tcp "127.0.0.1:$SIMT" --period-ms 300
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" },
  "coap": { "listen": "127.0.0.1:$(free_port)", "listen_tcp": "127.0.0.1:$TP" },
  "state": { "path": "" },
  "proxy": { "allow_targets": ["localhost"] },
  "devices": { "tcpdev": "$S" } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
wait_for "the gateway" curl -sf "$G/healthz"
wait_for "coap-server-notls on TCP" "$BUILD/coapgw-client" -T 1 "$S/"
wait_for "coapgw-sim on TCP" "$BUILD/coapgw-client" -T 1 "coap+tcp://127.0.0.1:$SIMT/sensors/temperature"

# --- coap+tcp:// targets ---
dev_get() { [ "$(status "$TMP/b" "$G/devices/tcpdev/")" = 200 ] && grep -q libcoap "$TMP/b"; }
check "configured coap+tcp:// device: GET /devices/tcpdev/" dev_get

hc_wk() {
    [ "$(status "$TMP/b" "$G/hc/$S/.well-known/core")" = 200 ] && grep -q '</time>' "$TMP/b"
}
check "/hc/coap+tcp://: /.well-known/core of libcoap's server" hc_wk

put_big() {
    head -c 153600 /dev/urandom | base64 -w0 >"$TMP/big"
    [ "$(stat -c %s "$TMP/big")" -ge 204800 ] || return 1
    local st
    st=$(status "$TMP/b" -X PUT -H 'Content-Type: text/plain' --data-binary @"$TMP/big" "$G/hc/$S/example_data")
    [ "${st:0:1}" = 2 ] || { echo "PUT: $st $(head -c 200 "$TMP/b")"; return 1; }
    [ "$(status "$TMP/back" "$G/devices/tcpdev/example_data")" = 200 ] && cmp -s "$TMP/big" "$TMP/back"
}
check "PUT 200 KiB to coap+tcp:// (Block1), GET it back equal (Block2)" put_big

firmware() {
    [ "$(status "$TMP/fw-tcp" "$G/hc/coap+tcp://127.0.0.1:$SIMT/firmware")" = 200 ] || return 1
    "$BUILD/coapgw-client" "coap://127.0.0.1:$SIMU/firmware" >"$TMP/fw-udp" || return 1
    [ "$(stat -c %s "$TMP/fw-tcp")" -eq 65536 ] && cmp -s "$TMP/fw-tcp" "$TMP/fw-udp"
}
check "/hc/coap+tcp://: the sim's 64 KiB /firmware, the same bytes as over UDP" firmware

events_in() { grep -c '^event: notification' "$TMP/$1.log" || true; }
sse_observe() {
    start sse1 timeout 5 curl -sN -H 'Accept: text/event-stream' "$G/devices/tcpdev/time"
    wait "$PID_sse1" 2>/dev/null || true
    [ "$(events_in sse1)" -ge 3 ] || { echo "$(events_in sse1) notifications"; return 1; }
}
check "Observe over TCP through SSE: libcoap's /time, several notifications" sse_observe

refused_target() {
    [ "$(status "$TMP/b" "$G/hc/coap+tcp://192.0.2.1:5683/x")" = 403 ]
}
check "the allowlist applies to coap+tcp:// targets (403)" refused_target
by_name() { # through the resolver, as coap:// names
    [ "$(status "$TMP/b" "$G/hc/coap+tcp://localhost:$SPORT/")" = 200 ] && grep -q libcoap "$TMP/b" ||
        { cat "$TMP/b"; return 1; }
}
check "/hc/coap+tcp://localhost: a host name resolved like a coap:// one" by_name
itself() { [ "$(status "$TMP/b" "$G/hc/coap+tcp://127.0.0.1:$TP/rd")" = 403 ] && grep -q itself "$TMP/b"; }
check "coap+tcp:// to the gateway's own TCP listener: 403" itself

# --- the TCP listener: libcoap's client, forward proxy and RD ---
L=coap+tcp://127.0.0.1:$TP
fwd() { # Proxy-Uri (35) to a coap+tcp:// target, over TCP
    "$C" -B 5 -O "35,$S/" "$L/" >"$TMP/fwd" 2>&1 && grep -q libcoap "$TMP/fwd" ||
        { cat "$TMP/fwd"; return 1; }
}
check "coap-client coap+tcp:// -> gateway: the forward proxy to a coap+tcp:// target" fwd
wk() { "$C" -B 5 "$L/.well-known/core" >"$TMP/wk" 2>&1 && grep -q '</rd>' "$TMP/wk"; }
check "coap-client coap+tcp:// -> gateway: /.well-known/core lists /rd" wk
rd_reg() {
    "$C" -B 5 -v 6 -m post -t 40 -e '</x>;rt="t"' "$L/rd?ep=lcdev&lt=60" >"$TMP/reg" 2>&1 || true
    grep -q 'c:2.01' "$TMP/reg" || { cat "$TMP/reg"; return 1; }
    curl -s "$G/api/devices/lcdev" | grep -q '"uri":"coap+tcp://127.0.0.1:'
}
check "coap-client registers over TCP: the device's URI is coap+tcp://ITS-SOURCE" rd_reg

# --- a device that connects out ---
. "$(dirname "$0")/connect_out.sh"
start simout "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "$L" --name dev1 --period-ms 300
connected_out() {
    wait_for "dev1 registered" served || return 1
    grep -q "connecting out only" "$TMP/simout.log" && online true
}
check "coapgw-sim --register coap+tcp:// (no listener of its own): registered, read over its connection" connected_out
check "the connected-out device observed over SSE" out_sse
dropped() {
    dropped_saying "connection is gone" &&
        # the API still shows it, with its registered links, offline
        curl -s "$G/api/devices/dev1" | grep -q '"href":"/sensors/temperature"'
}
check "its connection dropped: offline, 504 saying why (GET, event: error on its stream; the API lists it offline)" dropped
back() {
    start simout "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "$L" --name dev1 --period-ms 300
    wait_for "dev1 back" served && online true
}
check "it connects and registers again: served again" back

# A registration over TCP restored after a restart: no connection, so
# offline and 504, and with the listener off no connection of our own.
restored() {
    local hp tp
    hp=$(free_port tcp)
    tp=$(free_port tcp)
    start gw4 "$BUILD/coapgw" --http-listen "127.0.0.1:$hp" --coap-listen "127.0.0.1:$(free_port)" \
        --set state.path="$TMP/gw4.db" --set coap.listen_tcp="127.0.0.1:$tp"
    wait_for "gw4" curl -sf "http://127.0.0.1:$hp/healthz" || return 1
    start sim4 "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "coap+tcp://127.0.0.1:$tp" --name dev4
    wait_for "dev4" curl -sf "http://127.0.0.1:$hp/devices/dev4/sensors/temperature" || return 1
    kill -KILL "$PID_sim4"
    stop gw4
    start gw4 "$BUILD/coapgw" --http-listen "127.0.0.1:$hp" --coap-listen "127.0.0.1:$(free_port)" \
        --set state.path="$TMP/gw4.db"
    wait_for "gw4 again" curl -sf "http://127.0.0.1:$hp/healthz" || return 1
    [ "$(status "$TMP/d4" "http://127.0.0.1:$hp/devices/dev4/sensors/temperature")" = 504 ] &&
        grep -q "coap.listen_tcp is off" "$TMP/d4" || { cat "$TMP/d4"; return 1; }
    stop gw4
}
check "a TCP registration restored after a restart with coap.listen_tcp off: 504, nothing opened" restored

# --- the keys ---
DHP=$(free_port tcp)
start gwdef env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "127.0.0.1:$DHP" --coap-listen "127.0.0.1:$(free_port)" \
    --set state.path=
wait_for "the default gateway" curl -sf "http://127.0.0.1:$DHP/healthz"
listener() {
    grep -q "CoAP over TCP on 127.0.0.1:$TP" "$TMP/gw.log" && ! grep -q "CoAP over TCP" "$TMP/gwdef.log"
}
effect coap.listen_tcp "a TCP listener where set, none by default (off)" listener

K3HP=$(free_port tcp)
K3TP=$(free_port tcp)
start gw3 "$BUILD/coapgw" --http-listen "127.0.0.1:$K3HP" --coap-listen "127.0.0.1:$(free_port)" \
    --set state.path= --set coap.listen_tcp="127.0.0.1:$K3TP" --set coap.tcp_max_connections=1 \
    --set coap.tcp_idle_s=1 --log-level debug --set proxy.coap_clients=10.9.9.9
wait_for "gw3" curl -sf "http://127.0.0.1:$K3HP/healthz"
# conns PORT: how many of two connections get the server's CSM (7.01)
conns() {
    python3 - "$1" <<'PY'
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) for _ in range(2)]
n = 0
for s in socks:
    s.sendall(bytes.fromhex("00e1"))  # our CSM, empty
    try:
        d = s.recv(64)
        n += len(d) > 1 and (d[1] == 0xE1 or (len(d) > 2 and d[2] == 0xE1))
    except OSError:
        pass
print(n)
PY
}
maxconn() { [ "$(conns "$K3TP")" = 1 ] && [ "$(conns "$TP")" = 2 ]; }
effect coap.tcp_max_connections "1: a second connection is closed at once (the default takes both)" maxconn
metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
metrics() {
    [ "$(metric "http://127.0.0.1:$K3HP" 'coapgw_tcp_connections_total{side="server",result="refused"}')" -ge 1 ] &&
        [ "$(metric "$G" 'coapgw_tcp_connections{side="client"}')" -ge 1 ] &&
        [ "$(metric "$G" 'coapgw_tcp_connections_total{side="server",result="accepted"}')" -ge 3 ] &&
        curl -s "$G/metrics" | python3 "$(dirname "$0")/promparse.py" --require-meta - >/dev/null ||
        { curl -s "$G/metrics" "http://127.0.0.1:$K3HP/metrics" | grep coapgw_tcp; return 1; }
}
check "/metrics: coapgw_tcp_* (a refused connection counted, connections open now)" metrics

K4HP=$(free_port tcp)
K4TP=$(free_port tcp)
start gw4 "$BUILD/coapgw" --http-listen "127.0.0.1:$K4HP" --coap-listen "127.0.0.1:$(free_port)" \
    --set state.path= --set coap.listen_tcp="127.0.0.1:$K4TP" --set coap.tcp_max_connections_per_ip=1
wait_for "gw4" curl -sf "http://127.0.0.1:$K4HP/healthz"
# per_source PORT: of two connections from 127.0.0.1 and one from
# 127.0.0.2 (another loopback address), how many get the server's CSM:
# "FROM_1 FROM_2"
per_source() {
    python3 - "$1" <<'PY'
import socket, sys
held = []  # every socket stays open until the end
def conn(src):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2, source_address=(src, 0))
    held.append(s)
    s.sendall(bytes.fromhex("00e1"))  # our CSM, empty
    try:
        d = s.recv(64)
        return int(len(d) > 1 and (d[1] == 0xE1 or (len(d) > 2 and d[2] == 0xE1)))
    except OSError:
        return 0
a = conn("127.0.0.1") + conn("127.0.0.1")
print(a, conn("127.0.0.2"))
PY
}
per_ip() {
    local lim def
    lim=$(per_source "$K4TP") def=$(per_source "$TP")
    [ "$lim" = "1 1" ] && [ "$def" = "2 1" ] &&
        [ "$(metric "http://127.0.0.1:$K4HP" 'coapgw_tcp_connections_total{side="server",result="refused_per_ip"}')" -ge 1 ] ||
        { echo "  per_ip=1: $lim, default: $def"; return 1; }
}
effect coap.tcp_max_connections_per_ip "1: a second connection from one address is closed at once, another address is still served (the default takes both)" per_ip
clients() { # the forward proxy over TCP serves proxy.coap_clients only
    "$C" -B 5 -v 6 -O "35,$S/" "coap+tcp://127.0.0.1:$K3TP/" >"$TMP/fwd3" 2>&1 || true
    grep -q 'c:4.03' "$TMP/fwd3" || { cat "$TMP/fwd3"; return 1; }
}
check "the TCP listener's forward proxy: a source outside proxy.coap_clients gets 4.03" clients

# closed GWLOG: the gateway's client connection to libcoap's server ended
closed() { grep -c "tcp: client: connection with 127.0.0.1:$SPORT closed" "$TMP/$1.log" || true; }
idle() {
    curl -s -o /dev/null "http://127.0.0.1:$K3HP/hc/$S/" || return 1
    released() { [ "$(closed gw3)" -ge 1 ]; }
    wait_for "gw3's connection released" released || return 1
    # the main gateway's (coap.tcp_idle_s 120) is open since the first checks
    [ "$(closed gw)" = 0 ]
}
effect coap.tcp_idle_s "1: the gateway's connection to a coap+tcp:// target released after 1 s idle (120 s default: kept)" idle

restart_only() {
    sed -i "s/\"listen_tcp\": \"127.0.0.1:$TP\"/\"listen_tcp\": \"127.0.0.1:$(free_port tcp)\", \"tcp_idle_s\": 5/" "$TMP/gw.json"
    kill -HUP "$PID_gw"
    wait_for "the reload" grep -q "reload: coap.tcp_idle_s changed: takes effect after a restart" "$TMP/gw.log" &&
        grep -q "reload: coap.listen_tcp changed: takes effect after a restart" "$TMP/gw.log" &&
        "$C" -B 5 "$L/.well-known/core" 2>/dev/null | grep -q '</rd>'
}
check "SIGHUP: coap.listen_tcp and coap.tcp_idle_s wait for a restart (the listener stays)" restart_only

finish
