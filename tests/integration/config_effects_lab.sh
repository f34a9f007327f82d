# Sourced by test_config_effects.sh (inside its namespace, after lib.sh):
# the peers and the four gateways A-D it compares, and the helpers its
# checks share. Kept apart so that the test reads as its list of checks.

# --- the peers ----------------------------------------------------------------
SIM_B=$(free_port)
SIM_C=$(free_port)
FAST=$(free_port)
SILENT=$(free_port)
LATE_A=$(free_port)
LATE_C=$(free_port)
XHTML=$(free_port)
ORIGIN=$(free_port tcp)
HB=$(free_port tcp)
CB=$(free_port)
HC=$(free_port tcp)
HD=$(free_port tcp)
CC=$(free_port)
SB=$(free_port tcp)
SD=$(free_port tcp)
LOW=999 # a port below 1024: no range opens it (RFC 7252 §11.5)
PKI=$TMP/pki
mkdir -p "$PKI"
tls_cert "$PKI" ca "coapgw test CA" 100 ca
tls_cert "$PKI" server 127.0.0.1 1001 server ca
tls_cert "$PKI" server2 127.0.0.1 2002 server ca
tls_cert "$PKI" client "a client" 3 client ca
start simA "$BUILD/coapgw-sim" --listen 127.0.0.1:5783 --period-ms 5000 --slow-ms 2000
start simB "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_B" --period-ms 5000
start simC "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_C" --period-ms 5000 --slow-ms 2000
start fast "$BUILD/coapgw-sim" --listen "127.0.0.1:$FAST" --period-ms 10
start low "$BUILD/coapgw-sim" --listen "127.0.0.1:$LOW"
SIM_DTLS=$(free_port)
start simdtls "$BUILD/coapgw-sim" --listen "127.0.0.1:$(free_port)" --listen-dtls "127.0.0.1:$SIM_DTLS" \
    -k secret -u device-1
printf secret >"$PKI/device-1.psk"
chmod 600 "$PKI/device-1.psk"
start silent python3 "$HERE/udp_peer.py" silent "$SILENT"
start lateA python3 "$HERE/udp_peer.py" delay "$LATE_A" 1500
start lateC python3 "$HERE/udp_peer.py" delay "$LATE_C" 1500
start xhtml python3 "$HERE/udp_peer.py" xhtml "$XHTML"
start origin python3 "$HERE/http_origin.py" "$ORIGIN"
udp_bound() { # udp_bound PORT: a peer has bound it (binding it again fails)
    ! python3 -c 'import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
for p in "$SILENT" "$LATE_A" "$LATE_C" "$XHTML"; do wait_for "the peer on $p" udp_bound "$p"; done

# --- the gateways -------------------------------------------------------------
TOKEN=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
cat >"$TMP/b.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HB", "conn_memory": 4096, "allowed_hosts": ["gw.example"],
            "trusted_origins": ["http://dash.example:9000"], "header_timeout_ms": 500,
            "inline_active_content": true, "listen_tls": "127.0.0.1:$SB",
            "tls_cert": "$PKI/server2.crt", "tls_key": "$PKI/server2.key",
            "tls_client_ca": "$PKI/ca.crt" },
  "coap": { "listen": "127.0.0.1:$CB", "max_uploads": 3, "max_uploads_per_peer": 2 },
  "devices": { "devb": "coap://127.0.0.1:$SIM_B", "fast": "coap://127.0.0.1:$FAST",
               "silent": "coap://127.0.0.1:$SILENT", "evil": "coap://127.0.0.1:$XHTML" },
  "credentials": { "127.0.0.1": { "psk_identity": "device-1", "psk_key_file": "$PKI/device-1.psk" } },
  "proxy": { "allow_targets": ["127.0.0.1:$LOW"], "allow_origins": ["http://127.0.0.1:$ORIGIN"],
             "coap_clients": ["127.0.0.2"], "timeout_ms": 300, "max_body_bytes": 1024 },
  "cache": { "max_entries": 1 },
  "sse": { "max_subscribers": 1, "queue_events": 2, "max_observations": 1 },
  "rd": { "max_registrations": 2, "max_links_bytes": 64, "max_lifetime_s": 60, "max_per_source": 1 },
  "discovery": { "refresh_s": 1 },
  "log": { "level": "debug", "format": "json" } }
JSON
cat >"$TMP/c.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HC", "max_connections_per_ip": 3 },
  "coap": { "listen": "127.0.0.1:$CC", "nstart": 2 },
  "devices": { "devc": "coap://127.0.0.1:$SIM_C", "latec": "coap://127.0.0.1:$LATE_C" },
  "proxy": { "coap_clients": ["10.0.0.0/8"], "coap_clients_trusted": true },
  "cache": { "enabled": false },
  "rd": { "enabled": false },
  "tokens": [ { "token": "$TOKEN", "scope": "read" } ],
  "shutdown": { "grace_ms": 4000 } }
JSON
# D: the cache's byte limit (B's 1 KiB bodies could not show it), HTTPS
# without client certificates
cat >"$TMP/d.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HD", "listen_tls": "127.0.0.1:$SD",
            "tls_cert": "$PKI/server.crt", "tls_key": "$PKI/server.key" },
  "coap": { "listen": "127.0.0.1:0" },
  "devices": { "devd": "coap://127.0.0.1:$SIM_B" }, "cache": { "max_bytes": 1024 } }
JSON
# No COAPGW_* variable of the caller's may change what a gateway runs with
# (but the state file lib.sh's start gives each gateway: never the shared
# default /var/lib/coapgw/state.db).
CLEAN_ENV=(env)
for v in $(compgen -e | grep '^COAPGW_' | grep -vx COAPGW_STATE_PATH || true); do CLEAN_ENV+=(-u "$v"); done
start gwA "${CLEAN_ENV[@]}" "$GW"
start gwB "${CLEAN_ENV[@]}" "$GW" --config "$TMP/b.json"
start gwC "${CLEAN_ENV[@]}" "$GW" --config "$TMP/c.json"
start gwD "${CLEAN_ENV[@]}" "$GW" --config "$TMP/d.json"
A=http://127.0.0.1:8080
B=http://127.0.0.1:$HB
C=http://127.0.0.1:$HC
D=http://127.0.0.1:$HD
AUTH="Authorization: Bearer $TOKEN"
wait_for "gateway A" curl -sf "$A/healthz"
wait_for "gateway B" curl -sf "$B/healthz"
wait_for "gateway C" curl -sf "$C/healthz"
wait_for "gateway D" curl -sf "$D/healthz"
for p in 5783 "$SIM_B" "$SIM_C" "$FAST" "$LOW"; do
    wait_for "coapgw-sim on $p" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$p/sensors/humidity"
done
wait_for "coapgw-sim over DTLS" grep -q "listening on coaps" "$TMP/simdtls.log"
wait_for "the origin" curl -sf "http://127.0.0.1:$ORIGIN/hello"

# --- helpers ------------------------------------------------------------------
code() { status "$TMP/body" "$@"; } # code CURL-ARGS...: the status; body in $TMP/body
is() { # is WANT CURL-ARGS...: the status is WANT
    local got
    got=$(code "${@:2}")
    [ "$got" = "$1" ] || { echo "  ${*: -1}: $got, not $1"; return 1; }
}
metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
# coap FROM ARGS...: libcoap's client from source address FROM; prints the
# code of the last response, keeps its output in $TMP/coap.out
coap() {
    local from=$1
    shift
    coap-client-notls -a "$from" -v 6 -B 3 "$@" >"$TMP/coap.out" 2>&1 || true
    grep -o 't:ACK c:[0-9.]*\|t:\(CON\|NON\) c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://'
}
coap_is() { # coap_is WANT FROM ARGS...
    local got
    got=$(coap "${@:2}")
    [ "$got" = "$1" ] || { echo "  from $2 ${*: -1}: ${got:-no answer}, not $1"; return 1; }
}
says() { grep -q "$1" "$TMP/coap.out" || { echo "  the answer does not say $1"; return 1; }; }
sim_count() { grep -c "$2" "$TMP/$1.log" || true; } # sim_count SIM PATTERN

