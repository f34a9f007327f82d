#!/usr/bin/env bash
# CoAP over TCP (RFC 8323) against libcoap, both ways: coap-client-notls
# with coap+tcp:// against coapgw-sim --listen-tcp (our server role), and
# coapgw-client coap+tcp:// against coap-server-notls (our client role),
# which listens on TCP on its UDP port.
. "$(dirname "$0")/lib.sh"
need coap-client-notls coap-server-notls python3
C=coap-client-notls
PORT=$(free_port)
TPORT=$(free_port tcp)
U=coap+tcp://127.0.0.1:$TPORT
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$PORT" --listen-tcp "127.0.0.1:$TPORT" --period-ms 300 \
    --slow-ms 2500
# (libcoap's client exits 0 on a refused connection: ours waits)
wait_for "coapgw-sim on TCP" "$BUILD/coapgw-client" -T 1 "$U/sensors/temperature"

discovery() {
    "$C" -B 3 "$U/.well-known/core" >"$TMP/wk" || return 1
    grep -qF '</firmware>;rt="firmware";ct=42;sz=65536' "$TMP/wk" &&
        grep -qF '</sensors/temperature>' "$TMP/wk"
}
check "libcoap -> sim over TCP: /.well-known/core" discovery

get() { "$C" -B 3 "$U/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$'; }
check "libcoap -> sim over TCP: GET /sensors/temperature" get

put_big() {
    head -c 204800 /dev/urandom | base64 -w0 | head -c 204800 >"$TMP/big"
    "$C" -B 10 -m put -f "$TMP/big" -o "$TMP/big.back" "$U/echo" || return 1
    cmp -s "$TMP/big" "$TMP/big.back"
}
check "libcoap -> sim over TCP: PUT 200 KiB to /echo (Block1) comes back equal (Block2)" put_big

observe() {
    "$C" -v 7 -B 3 -s 2 "$U/ticks" >"$TMP/obs" 2>&1 || true
    local n
    n=$(grep -c "c:2.05 .*Observe:" "$TMP/obs" || true)
    [ "$n" -ge 3 ] || { echo "only $n notifications"; tail -5 "$TMP/obs"; return 1; }
}
check "libcoap -> sim over TCP: Observe /ticks -s 2, several notifications" observe

firmware() {
    "$C" -B 5 -o "$TMP/fw-tcp" "$U/firmware" || return 1
    "$BUILD/coapgw-client" "coap://127.0.0.1:$PORT/firmware" >"$TMP/fw-udp" || return 1
    [ "$(stat -c %s "$TMP/fw-tcp")" -eq 65536 ] && cmp -s "$TMP/fw-tcp" "$TMP/fw-udp"
}
check "libcoap -> sim over TCP: 64 KiB /firmware, the same bytes as over UDP" firmware

pinged() {
    "$C" -v 7 -K 1 -B 6 "$U/slow" >"$TMP/ping" 2>&1 || return 1
    grep -q "c:Ping" "$TMP/ping" && grep -q "c:Pong" "$TMP/ping" && grep -q "finally" "$TMP/ping"
}
check "libcoap -> sim over TCP: -K 1 Pings while /slow waits, each answered with a Pong" pinged

ours_to_sim() { [ "$("$BUILD/coapgw-client" -m put -e on "$U/actuators/led"; "$BUILD/coapgw-client" "$U/actuators/led")" = "on" ]; }
check "coapgw-client -> sim over TCP: PUT then GET /actuators/led" ours_to_sim

# A malformed frame (TKL 9) after a CSM: Abort (7.05, 0xE5) with a
# diagnostic payload, then the connection closes.
abort() {
    python3 - "$TPORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(bytes.fromhex("30E1220480") + bytes([0x09, 0x01]))
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
# frames: the server's CSM first, then the Abort
assert data[1] == 0xE1 or data[2] == 0xE1, data
assert b"\xe5" in data and b"\xff" in data, data
PY
}
check "a bad frame gets Abort (7.05) with a diagnostic, and the connection closes" abort

# A device that connects out: the simulator registers over TCP from its
# TCP listener, and the directory (a stand-in in Python) reaches it back
# over the connection the device opened.
connects_out() {
    local rport tport
    rport=$(free_port tcp)
    tport=$(free_port tcp)
    python3 "$(dirname "$0")/rd_tcp_peer.py" "$rport" /sensors/temperature >"$TMP/rdtcp.out" 2>&1 &
    local peer=$!
    PIDS+=("$peer")
    sleep 0.3
    start simout "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --listen-tcp "127.0.0.1:$tport" \
        --register "coap+tcp://127.0.0.1:$rport" --name dev1
    local rc=0
    wait "$peer" || rc=$?
    stop simout
    grep -q "registered ep=dev1" "$TMP/rdtcp.out" &&
        grep -Eq '^2\.05 [0-9]+\.[0-9]$' "$TMP/rdtcp.out" &&
        grep -q "^re-registered rd/1" "$TMP/rdtcp.out" && [ "$rc" = 0 ] ||
        { cat "$TMP/rdtcp.out"; return 1; }
    grep -q "GET /sensors/temperature from 127.0.0.1:$rport" "$TMP/simout.log"
}
check "coapgw-sim --register coap+tcp://: registers over its own connection, is reached back over it, and comes back when it closes" connects_out

# --- our client role against libcoap's server, Max-Message-Size 1152 ---
SPORT=$(free_port tcp)
S=coap+tcp://127.0.0.1:$SPORT
start server coap-server-notls -A 127.0.0.1 -p "$SPORT" -v 7 -X 1152
wait_for "coap-server-notls on TCP" "$BUILD/coapgw-client" -T 1 "$S/"

client_get() { "$BUILD/coapgw-client" "$S/" | grep -q "libcoap"; }
check "coapgw-client -> libcoap over TCP: GET /" client_get

client_wk() { "$BUILD/coapgw-client" "$S/.well-known/core" | grep -q '</time>'; }
check "coapgw-client -> libcoap over TCP: /.well-known/core" client_wk

client_blocks() {
    "$BUILD/coapgw-client" -m put -f "$TMP/big" "$S/example_data" || return 1
    "$BUILD/coapgw-client" "$S/example_data" >"$TMP/big.libcoap" || return 1
    cmp -s "$TMP/big" "$TMP/big.libcoap" || return 1
    # libcoap announced 1152 bytes; everything we sent fit in it, block-wise
    grep -q "c:CSM.*Max-Message-Size:1152" "$TMP/server.log" &&
        grep -q "Block1:" "$TMP/server.log" &&
        ! grep -qi "max.*size.*exceed\|too large" "$TMP/server.log"
}
check "coapgw-client -> libcoap (Max-Message-Size 1152): PUT 200 KiB in blocks, GET it back" client_blocks

client_observe() {
    timeout 20 "$BUILD/coapgw-client" -s 3 "$S/time" >"$TMP/time" || return 1
    [ "$(wc -l <"$TMP/time")" -ge 2 ]
}
check "coapgw-client -> libcoap over TCP: Observe /time -s 3" client_observe

our_ping() {
    # libcoap's /async?3 answers after 3 s; we Ping after 1 s of silence
    "$BUILD/coapgw-client" --tcp-keepalive-ms 1000 "$S/async?3" >/dev/null || return 1
    grep -q "c:Ping" "$TMP/server.log"
}
check "coapgw-client --tcp-keepalive-ms 1000: a Ping reaches libcoap while an answer waits" our_ping

release() {
    local rc=0
    timeout 20 "$BUILD/coapgw-client" --tcp-idle-ms 500 -s 5 "$S/example_data" >/dev/null 2>"$TMP/rel.err" || rc=$?
    [ "$rc" = 3 ] && grep -q "connection closed" "$TMP/rel.err" &&
        grep -q "c:Release" "$TMP/server.log"
}
check "an idle connection is released (7.04 in libcoap's log) and closed" release

refused() {
    local p rc=0
    p=$(free_port tcp)
    timeout 10 "$BUILD/coapgw-client" -T 5 "coap+tcp://127.0.0.1:$p/" 2>"$TMP/ref.err" || rc=$?
    [ "$rc" = 3 ] && grep -q "unreachable\|closed" "$TMP/ref.err"
}
check "nothing listening: coapgw-client fails at once (exit 3)" refused

finish
