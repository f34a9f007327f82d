#!/usr/bin/env bash
# Adversarial checks of the TLS side (RFC 8323 §9: coap.listen_tls,
# coaps+tcp:// targets, devices connecting out over TLS) and of
# coap.tcp_max_connections_per_ip (docs/security.md), as an attacker on
# the LAN would try them: a device that connected out made to look gone
# by a coap:// request to its port, or sending a fatal alert
# mid-exchange; handshakes that never end (silent, a
# byte at a time, a huge record, an identity of 1000 bytes); mapped and
# plain IPv4 from one host, ::1 beside it, addresses of one IPv6 /64 (one
# host) beside another /64, and every way a connection
# ends (RST, Release, Abort, a failed handshake, FIN, the handshake
# timeout) freeing its slot; targets that stall the handshake, announce a
# frame of 4 GiB or send CSMs without end; the gateway's own connections
# to ever more target addresses; BERT blocks where BERT was not
# agreed, mixed with SZX 6, past the body limit, at the last block number;
# a registration made over UDP and updated over the TCP listener. The
# attacker is tls_attacker.py. Runs in a network namespace of its own (the listeners
# of the per-host check bind [::]).
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dtls_keys.sh"
need curl openssl python3 gnutls-cli coap-client-gnutls
ip link set lo up
lab_sysctls
HERE=$(cd "$(dirname "$0")" && pwd)
ATT="python3 $HERE/tls_attacker.py"
K=$TMP/keys
make_keys "$K" || { echo "cannot make the test keys"; exit 1; }
chmod 600 "$K"/*.key
printf 'devkey' >"$K/dev1.psk"
printf 'secret' >"$K/secret.psk"
chmod 600 "$K"/*.psk
HP=$(free_port tcp)
G=http://127.0.0.1:$HP
TLP=$(free_port tcp)
L=coaps+tcp://127.0.0.1:$TLP
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" },
  "coap": { "listen": "127.0.0.1:$(free_port)", "listen_tls": "127.0.0.1:$TLP" },
  "state": { "path": "" },
  "proxy": { "allow_targets": ["localhost"] },
  "dtls": { "cert": "$K/server.crt", "key": "$K/server.key", "client_ca": "$K/ca.crt",
            "identities": [ { "psk": "dev1", "key_file": "$K/dev1.psk", "names": ["dev1"] },
                            { "x509": "CN=device-1", "names": ["x509dev"] } ] },
  "credentials": {
    "127.0.0.1": { "psk_identity": "device-1", "psk_key_file": "$K/secret.psk" },
    "localhost": { "cert": "$K/client.crt", "key": "$K/client.key", "ca": "$K/ca.crt" } } }
JSON
start gw "$BUILD/coapgw" --config "$TMP/gw.json" --log-level debug
wait_for "the gateway" curl -sf "$G/healthz"
events_in() { grep -c '^event: notification' "$TMP/$1.log" || true; }
. "$(dirname "$0")/connect_out.sh"

# --- a device that connected out over TLS, made to look gone ---
start simout "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --register "$L" --name dev1 \
    --period-ms 300 -k devkey -u dev1
wait_for "dev1 registered" served
sim_port() { curl -s "$G/api/devices/dev1" | sed -n 's/.*"uri":"coaps+tcp:\/\/127.0.0.1:\([0-9]*\)".*/\1/p'; }
udp_to_its_port() {
    local p
    p=$(sim_port)
    [ -n "$p" ] || { echo "no port in $(curl -s "$G/api/devices/dev1")"; return 1; }
    # anyone who may use /hc/: a coap:// (UDP) request to the port the
    # device connected from; nothing answers there (ICMP unreachable)
    status "$TMP/u" "$G/hc/coap://127.0.0.1:$p/x" >/dev/null
    sleep 0.3
    served && online true || { echo "after the UDP request: $(cat "$TMP/d"); $(curl -s "$G/api/devices/dev1")"; return 1; }
}
check "a coap:// request to the port a TLS device connected from does not make it offline (served, online)" \
    udp_to_its_port

rogue_cert() { # CN=device-1, the listed subject, from a CA the gateway does not trust
    $ATT rogue "$TLP" "$K/ca.crt" "$K/rogue-client.crt" "$K/rogue-client.key" &&
        [ "$(status "$TMP/b" "$G/api/devices/x509dev")" = 404 ] &&
        grep -q "tls: listener: handshake with 127.0.0.1:[0-9]* failed" "$TMP/gw.log"
}
check "TLS listener: a client certificate of a listed subject from another CA: refused, nothing registered" rogue_cert

# a device over TLS that answers a request with a fatal alert (no record
# of the session): the exchange ends at once, nothing left open
alert_mid() {
    start alertdev $ATT alertdev "$TLP" "$K/ca.crt" "$K/client.crt" "$K/client.key"
    wait_for "x509dev registered" grep -q "registered: 2.01" "$TMP/alertdev.log" || { cat "$TMP/alertdev.log"; return 1; }
    local t0 st open
    t0=$(date +%s%N)
    st=$(status "$TMP/b" -m 15 "$G/devices/x509dev/x")
    local ms=$((($(date +%s%N) - t0) / 1000000))
    open=$(curl -sf "$G/metrics" | awk '/^coapgw_coap_requests_open /{print $2}')
    echo "$st after $ms ms: $(cat "$TMP/b"); requests open: $open"
    [ "$st" = 504 ] && [ "$ms" -lt 5000 ] && [ "${open%.*}" = 0 ] && grep -q "fatal alert" "$TMP/alertdev.log" &&
        curl -s "$G/api/devices/x509dev" | grep -q '"online":false'
}
check "a TLS device that sends a fatal alert mid-exchange: 504 at once, offline, nothing left open" alert_mid

# --- the TLS listener: handshakes that never end, hostile ClientHellos ---
half_open() {
    $ATT silent "$TLP" >"$TMP/silent.out" &
    local a=$!
    $ATT drip "$TLP" >"$TMP/drip.out" &
    local b=$! rc=0
    wait $a || rc=1
    wait $b || rc=1
    cat "$TMP/silent.out" "$TMP/drip.out"
    [ $rc = 0 ] && served
}
check "TLS listener: a silent connection and a ClientHello a byte every 0.5 s are closed by the 10 s handshake timeout" half_open
big_record() { $ATT bigrecord "$TLP" && served; }
check "TLS listener: a record header of 65535 bytes then 1 MiB: closed, the device still served" big_record
long_identity() {
    local id
    id=$(printf 'a%.0s' $(seq 1 1000))
    timeout 10 gnutls-cli --insecure --alpn=coap --pskusername="$id" --pskkey=6465766b6579 \
        --priority 'NORMAL:-KX-ALL:+ECDHE-PSK:+PSK' -p "$TLP" 127.0.0.1 </dev/null >"$TMP/gc.out" 2>&1 && {
        echo "handshake with an identity of 1000 bytes succeeded"
        return 1
    }
    grep -q "tls: listener: handshake with 127.0.0.1:[0-9]* failed" "$TMP/gw.log" && served
}
check "TLS listener: a PSK identity of 1000 bytes is refused at the handshake, the gateway goes on" long_identity

# --- coaps+tcp:// targets that misbehave ---
SP=$(free_port tcp)
start stall $ATT stall "$SP"
wait_for "the stalling target" grep -q listening "$TMP/stall.log"
stalled_target() {
    local t0 st
    t0=$(date +%s)
    st=$(status "$TMP/b" "$G/hc/coaps+tcp://127.0.0.1:$SP/")
    echo "$st after $(($(date +%s) - t0)) s: $(cat "$TMP/b")"
    [ "$st" = 502 ] && [ $(($(date +%s) - t0)) -le 14 ] && grep -q "TLS handshake with coaps+tcp://127.0.0.1:$SP failed" "$TMP/b"
}
check "a coaps+tcp:// target that never answers the handshake: 502 within the 10 s timeout, naming it" stalled_target
HUP=$(free_port tcp)
start huge $ATT tlsserver "$HUP" "$K/server.crt" "$K/server.key" huge
CSP=$(free_port tcp)
start csms $ATT tlsserver "$CSP" "$K/server.crt" "$K/server.key" csms
wait_for "the target announcing 4 GiB" grep -q listening "$TMP/huge.log"
wait_for "the target sending CSMs" grep -q listening "$TMP/csms.log"
huge_frame() {
    local st
    st=$(status "$TMP/b" -m 20 "$G/hc/coaps+tcp://localhost:$HUP/")
    echo "$st: $(cat "$TMP/b")"
    [ "$st" = 502 ] && grep -q "aborted" "$TMP/b"
}
check "a coaps+tcp:// target announcing a frame of 4 GiB: an error answer at once (the connection aborted)" huge_frame
endless_csms() {
    local st
    st=$(status "$TMP/b" -m 60 "$G/hc/coaps+tcp://localhost:$CSP/")
    echo "$st: $(head -c 300 "$TMP/b")"
    [ "$st" = 504 ] && grep -q accepted "$TMP/csms.log" && curl -sf -m 2 "$G/healthz" >/dev/null
}
check "a coaps+tcp:// target sending CSMs without end: the request ends with an error, the gateway answers meanwhile" endless_csms

# --- the gateway's own connections to coap+tcp:// targets ---
out_limit() { # coap.tcp_max_connections 2: a third target address gets no connection
    local hp p1 p2 p3 st
    hp=$(free_port tcp)
    p1=$(free_port tcp)
    p2=$(free_port tcp)
    p3=$(free_port tcp)
    start servers $ATT coapservers "$p1" "$p2" "$p3"
    start gw3 env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "127.0.0.1:$hp" --coap-listen "127.0.0.1:$(free_port)" \
        --set state.path= --set coap.tcp_max_connections=2
    wait_for "gw3" curl -sf "http://127.0.0.1:$hp/healthz" || return 1
    wait_for "the targets" grep -q listening "$TMP/servers.log" || return 1
    for p in "$p1" "$p2"; do
        [ "$(status "$TMP/b" "http://127.0.0.1:$hp/hc/coap+tcp://127.0.0.1:$p/x")" = 200 ] || { echo "$p: $(cat "$TMP/b")"; return 1; }
    done
    st=$(status "$TMP/b" "http://127.0.0.1:$hp/hc/coap+tcp://127.0.0.1:$p3/x")
    echo "third target: $st $(cat "$TMP/b")"
    [ "$st" = 503 ] && grep -q "coap.tcp_max_connections (2)" "$TMP/b" &&
        curl -s "http://127.0.0.1:$hp/metrics" | grep -q 'coapgw_tcp_connections{side="client"} 2$' &&
        [ "$(status "$TMP/b" "http://127.0.0.1:$hp/hc/coap+tcp://127.0.0.1:$p1/x")" = 200 ]
}
check "coap.tcp_max_connections bounds the gateway's own connections to coap+tcp:// targets: a third address 503 naming it" out_limit

# --- coap.tcp_max_connections_per_ip: one host, mapped or not ---
HP2=$(free_port tcp)
TLP2=$(free_port tcp)
TCP2=$(free_port tcp)
UP2=$(free_port)
start gw2 env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "127.0.0.1:$HP2" --coap-listen "127.0.0.1:$UP2" \
    --set state.path= --set coap.listen_tls="[::]:$TLP2" --set coap.listen_tcp="[::]:$TCP2" \
    --set coap.tcp_max_connections_per_ip=2 --set dtls.cert="$K/server.crt" --set dtls.key="$K/server.key" \
    --set dtls.identities='[{"psk": "dev1", "key_file": "'"$K/dev1.psk"'", "names": ["dev1"]}]'
wait_for "gw2" curl -sf "http://127.0.0.1:$HP2/healthz"
per_ip() { $ATT perip "$TLP2" "$TCP2"; }
check "per host: ::ffff:127.0.0.1 and 127.0.0.1 are one host, ::1 another; RST, Release, Abort, a failed handshake, FIN and the timeout free the slot" per_ip
# an IPv6 host holds a whole /64: its addresses are one host to the bound
ip -6 addr add fd00:1::100/64 dev lo
for a in 1 2 3; do ip -6 addr add "fd00:1::$a/64" dev lo; done
ip -6 addr add fd00:2::1/64 dev lo
per_ip64() { $ATT perip64 "$TLP2" "$TCP2"; }
check "per /64: fd00:1::1, ::2 open, ::3 (the same /64) refused; fd00:2::1 (another /64) and ::1 served" per_ip64

# no dtls.client_ca on gw2: a TLS client may authenticate nothing (the
# server's certificate only); as over DTLS it then has no rights, on the
# forward proxy as in the Resource Directory, whatever its address
anonymous_proxy() {
    coap-client-gnutls -B 4 -v 6 -O "35,coap://127.0.0.1:$(free_port)/" "coaps+tcp://127.0.0.1:$TLP2/" \
        >"$TMP/anon" 2>&1 || true
    grep -q 'c:4.03' "$TMP/anon" || { grep -o 'c:[0-9.]*' "$TMP/anon" | tail -1; return 1; }
}
check "TLS listener: a client that authenticated nothing gets 4.03 from the forward proxy (loopback, in proxy.coap_clients)" anonymous_proxy

# --- a registration moved onto a TCP connection by its update ---
rebased() {
    start rebase $ATT rebase "$TCP2" "$UP2"
    wait_for "the update over TCP" grep -q "update over TCP: 2.04" "$TMP/rebase.log" || { cat "$TMP/rebase.log"; return 1; }
    local st
    st=$(status "$TMP/b" -m 12 "http://127.0.0.1:$HP2/devices/rebase1/x")
    wait "$PID_rebase" 2>/dev/null || true
    echo "$st: $(cat "$TMP/b")"
    [ "$st" = 200 ] && grep -q rebased "$TMP/b" && grep -q "request 0.01 over the connection" "$TMP/rebase.log"
}
check "registered over UDP, updated over the TCP listener: reached over that connection (the gateway connected out to its port before)" rebased

# --- BERT (RFC 8323 §6) into the Resource Directory over the TCP listener ---
bert() { $ATT bert "$TCP2" "$UP2"; }
check "BERT: SZX 7 without Block-Wise-Transfer in the CSM or over UDP 4.00; mixed with SZX 6 fine; past the body limit, at block 2^20-1, over Max-Message-Size 4.13" bert

finish
