#!/usr/bin/env bash
# Every documented configuration key changes what the gateway does (issue
# #13: two keys were parsed and never used). This test checks the effect
# of the keys of the first release and of #13-#15; later keys have their
# `effect` checks in the tests of their feature (test_state.sh,
# test_limits.sh, ...), and the DTLS listener's keys in
# test_config_effects_dtls.sh. tests/lint/test_config_keys.sh fails when a
# documented key has no `effect` check in any of them.
#
# Four gateways run side by side. A is `coapgw` with no configuration at
# all (the defaults: HTTP 0.0.0.0:8080, CoAP 0.0.0.0:5683, device demo at
# 127.0.0.1:5783, where a coapgw-sim listens, no HTTPS); B, C and D set
# every key to something else (keys and certificates made here with
# openssl). Most checks send the same request to A and to B or C and
# expect a different outcome; what each one observes:
#
#   http.listen                  B (127.0.0.1:P) answers there and logs it; not on 127.0.0.2, where A (0.0.0.0) answers
#   http.listen_tls              B serves HTTPS on 127.0.0.1:P and logs it; A logs "HTTPS off"
#   http.tls_cert                B presents server2.crt (serial 2002), D server.crt (1001); A no certificate
#   http.tls_key                 D's handshake verifies with curl --cacert; server.crt with server2.key: exit 2
#   http.tls_client_ca           B's HTTPS: 403 without a client certificate, 200 with the CA's; D's (none): 200
#   http.conn_memory             4096: a 5,000-byte header gets 431 from B, 200 from A
#   http.allowed_hosts           Host: gw.example is served by B, 421 from A
#   http.trusted_origins         a cross-site POST from http://dash.example:9000: 200 from B, 403 from A
#   http.header_timeout_ms       500: B closes a trickling header within 0.4-1.9 s; A's is still open after 2.5 s
#   http.max_connections_per_ip  3: C refuses a 4th connection from one address; A answers it
#   http.inline_active_content   true: a device's XHTML from B has no Content-Disposition; A's is an attachment
#   coap.listen                  B answers CoAP on 127.0.0.1:P and logs it; not on 127.0.0.2, where A answers
#   coap.nstart                  2: two requests (answered 1.5 s late) reach C's device at once; through A one waits
#   coap.max_uploads             3: a second source's second Block1 upload to B gets 5.03 "in progress"; A takes it
#   coap.max_uploads_per_peer    2: a source's third Block1 upload to B gets 5.03 "from this address"; A takes 4
#   devices                      B's /devices/devb reaches its device, /devices/demo is 404 there; A's demo is 200
#   credentials                  a coapgw-sim over DTLS (PSK): /hc/coaps://... is 200 through B, 502 naming the key from A
#   proxy.allow_targets          127.0.0.1:999 (below 1024): /hc/ to it is 200 on B, 403 on A
#   proxy.allow_origins          a CoAP client reaches http://127.0.0.1:ORIGIN through B; A answers 4.03 naming the key
#   proxy.coap_clients           ["127.0.0.2"]: B's forward proxy answers 4.03 to 127.0.0.1, 2.05 to 127.0.0.2; A 2.05
#   proxy.coap_clients_trusted   true: C starts with tokens and coap_clients 10.0.0.0/8; false: exit 2 naming the key
#   proxy.timeout_ms             300: a silent device is 504 from B within 0.25-1.5 s; A has not answered after 2 s
#   proxy.max_body_bytes         1024: a 2,000-byte PUT is 413 from B, echoed by A
#   cache.enabled                false: C sends both of two GETs to its device, no cache entry; A sends one
#   cache.max_entries            1: GET a, b, a: B asks the device for a twice, holds 1 entry; A asks once
#   cache.max_bytes              1024 (D): the 64 KiB firmware is never kept by D (fetched twice); A once
#   sse.max_subscribers          1: a second stream on B gets 503 naming the key; A serves it
#   sse.queue_events             2: a stalled stream on B keeps at most 3 events after its last gap; A's keeps dozens
#   sse.max_observations         1: /events with two targets on B: event: error 503 for the second; A streams both
#   rd.enabled                   false: POST /rd to C is 4.04; A registers (2.01)
#   rd.max_registrations         2: B's third registration (from a third address) is 4.13 naming the key; A's 2.01
#   rd.max_links_bytes           64: a 100-byte link payload is 4.13 from B, 2.01 from A
#   rd.max_lifetime_s            60: lt=61 is 4.00 from B naming the key, 2.01 from A
#   rd.max_per_source            1: a second registration from one address is 4.03 from B naming the key; A's 2.01
#   discovery.refresh_s          1: /api/devices/NAME fetches /.well-known/core again after 1.3 s on B, not on A
#   tokens                       C: 401 without a token, 200 with it; A: 200 without
#   log.level                    debug: B logs the discovery fetch at debug; A logs no debug line
#   log.format                   json: every line B logs is a JSON object; A's lines are text
#   shutdown.grace_ms            4000: on SIGTERM, C lets a 2 s request finish (200); A cuts it at 1 s (503)
#
# Runs in a network namespace of its own (root and unshare needed, else
# skipped): A takes the default ports, sources 127.0.0.2-7 are free to use,
# a device can listen below port 1024, and the TCP send buffer is capped
# there (net.ipv4.tcp_wmem is per namespace) so that a subscriber that stops
# reading fills its socket within seconds, as in test_sse_limits.sh.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
sysctl -qw net.ipv4.tcp_wmem="4096 16384 32768"
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls python3 openssl
HERE=$(cd "$(dirname "$0")" && pwd)
DOC=$HERE/../../docs/configuration.md
GW=$BUILD/coapgw

. "$HERE/config_effects_lab.sh" # the peers, gateways A-D, helpers

# --- HTTP ---------------------------------------------------------------------
listens() {
    is 200 "$B/healthz" || return 1
    grep -q "HTTP on 127.0.0.1:$HB (port $HB)" "$TMP/gwB.log" || return 1
    is 200 "http://127.0.0.2:8080/healthz" || return 1 # A: 0.0.0.0
    local rc=0
    curl -s -m 2 -o /dev/null "http://127.0.0.2:$HB/healthz" || rc=$?
    [ "$rc" = 7 ] || { echo "  127.0.0.2:$HB: curl exit $rc, not 7 (refused)"; return 1; }
}
effect http.listen "B serves 127.0.0.1:$HB alone; A (0.0.0.0:8080) serves 127.0.0.2 too" listens

# --- HTTPS ----------------------------------------------------------------------
TLS=(--cacert "$PKI/ca.crt")
MTLS=(--cacert "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key")
serial() { # serial PORT: the serial number of the certificate presented there
    openssl s_client -connect "127.0.0.1:$1" -CAfile "$PKI/ca.crt" </dev/null 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null | cut -d= -f2
}
listens_tls() {
    is 200 "${MTLS[@]}" "https://127.0.0.1:$SB/healthz" || return 1
    grep -q "HTTPS on 127.0.0.1:$SB (port $SB)" "$TMP/gwB.log" && grep -q "HTTP on 0.0.0.0:8080 (port 8080), HTTPS off" "$TMP/gwA.log"
}
effect http.listen_tls "B serves HTTPS on 127.0.0.1:$SB and logs it; A logs HTTPS off" listens_tls

presents_cert() {
    local b d
    b=$(serial "$SB")
    d=$(serial "$SD")
    echo "  serials: B $b, D $d"
    [ "$b" = 2002 ] && [ "$d" = 1001 ] && ! grep -q 'HTTPS certificate' "$TMP/gwA.log"
}
effect http.tls_cert "B presents server2.crt (serial 2002), D server.crt (1001); A none" presents_cert

proves_key() {
    is 200 "${TLS[@]}" "https://127.0.0.1:$SD/healthz" || return 1 # the handshake proves the key
    local rc=0
    "${CLEAN_ENV[@]}" timeout 5 "$GW" --config "$TMP/d.json" --set "http.tls_key=$PKI/server2.key" \
        --set http.listen=127.0.0.1:0 --set http.listen_tls=127.0.0.1:0 >"$TMP/wrongkey.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "server2.key is not the key of the certificate" "$TMP/wrongkey.out"
}
effect http.tls_key "D's handshake verifies (curl --cacert); server.crt with server2.key: exit 2" proves_key

client_ca() {
    is 403 "${TLS[@]}" "https://127.0.0.1:$SB/healthz" || return 1
    grep -q "no client certificate was presented" "$TMP/body" || return 1
    is 200 "${MTLS[@]}" "https://127.0.0.1:$SB/healthz" || return 1
    is 200 "${TLS[@]}" "https://127.0.0.1:$SD/healthz"
}
effect http.tls_client_ca "B's HTTPS: 403 without a client certificate, 200 with the CA's; D's: 200 without" client_ca

BIG_HEADER="X-Big: $(head -c 5000 /dev/zero | tr '\0' a)"
conn_memory() {
    is 431 -H "$BIG_HEADER" "$B/devices/devb/sensors/temperature" || return 1
    is 200 -H "$BIG_HEADER" "$A/devices/demo/sensors/temperature"
}
effect http.conn_memory "4096: a 5,000-byte header is 431 from B, 200 from A" conn_memory

allowed_hosts() {
    is 200 -H 'Host: gw.example' "$B/devices/devb/sensors/temperature" || return 1
    is 421 -H 'Host: gw.example' "$A/devices/demo/sensors/temperature" || return 1
    grep -q http.allowed_hosts "$TMP/body"
}
effect http.allowed_hosts "Host: gw.example: 200 from B, 421 from A" allowed_hosts

CROSS=(-X POST -H 'Content-Type: text/plain' -d hi -H 'Sec-Fetch-Site: cross-site' -H 'Origin: http://dash.example:9000')
trusted_origins() {
    is 200 "${CROSS[@]}" "$B/devices/devb/echo" || return 1
    [ "$(cat "$TMP/body")" = hi ] || return 1
    is 403 "${CROSS[@]}" "$A/devices/demo/echo" || return 1
    grep -q http.trusted_origins "$TMP/body"
}
effect http.trusted_origins "a cross-site POST from the listed origin: 200 from B, 403 from A" trusted_origins

header_timeout() {
    python3 "$HERE/http_conns.py" slowloris "$HB" 1 2.5 >"$TMP/slowB.out" &
    local pid=$!
    python3 "$HERE/http_conns.py" slowloris 8080 1 2.5 >"$TMP/slowA.out"
    wait "$pid" || return 1
    sed 's/^/  B: /' "$TMP/slowB.out"
    sed 's/^/  A: /' "$TMP/slowA.out"
    grep -Eq '^trickle closed after (0\.[4-9]|1\.[0-8])[0-9]*$' "$TMP/slowB.out" &&
        grep -q '^trickle open after' "$TMP/slowA.out"
}
effect http.header_timeout_ms "500: B closes a trickled header within 0.4-1.9 s; A's is open after 2.5 s" header_timeout

per_ip() {
    python3 "$HERE/http_conns.py" per_ip "$HC" 3 >"$TMP/peripC.out"
    python3 "$HERE/http_conns.py" per_ip 8080 3 >"$TMP/peripA.out"
    sed 's/^/  C: /' "$TMP/peripC.out"
    sed 's/^/  A: /' "$TMP/peripA.out"
    grep -qx 'extra refused' "$TMP/peripC.out" && grep -qx 'held answered 3/3' "$TMP/peripC.out" &&
        grep -qx 'extra answered 200' "$TMP/peripA.out"
}
effect http.max_connections_per_ip "3: C refuses a 4th connection from 127.0.0.1; A answers it" per_ip

inline_active() {
    is 200 "$B/devices/evil/page" || return 1
    grep -q '<script>' "$TMP/body" && [ "$(hdr Content-Type)" = application/xml ] || return 1
    [ -z "$(hdr Content-Disposition)" ] || { echo "  B: Content-Disposition $(hdr Content-Disposition)"; return 1; }
    is 200 "$A/hc/coap://127.0.0.1:$XHTML/page" || return 1
    [ "$(hdr Content-Disposition)" = attachment ]
}
effect http.inline_active_content "true: a device's XHTML is inline from B, an attachment from A" inline_active

# --- CoAP side ----------------------------------------------------------------
wk_code() { # wk_code ADDRESS PORT: the code of GET /.well-known/core?rt=core.rd there, "-" for none
    # (filtered: the whole listing is over 3 times the request, an Echo challenge)
    python3 "$HERE/coap_raw.py" 127.0.0.1 "$1" "$2" --path .well-known/core --query rt=core.rd | cut -d' ' -f1
}
coap_listen() {
    grep -q "CoAP on 127.0.0.1:$CB" "$TMP/gwB.log" || return 1
    coap_is 2.05 127.0.0.1 "coap://127.0.0.1:$CB/.well-known/core" && says core.rd || return 1
    # to 127.0.0.2, with a client that takes an answer from any address: a
    # socket on 0.0.0.0 answers from the address the kernel picks
    [ "$(wk_code 127.0.0.2 5683)" = 2.05 ] || { echo "  A: no answer on 127.0.0.2"; return 1; }
    [ "$(wk_code 127.0.0.2 "$CB")" = - ] || { echo "  B: an answer on 127.0.0.2"; return 1; }
}
effect coap.listen "B answers CoAP on 127.0.0.1:$CB alone; A (0.0.0.0:5683) on 127.0.0.2 too" coap_listen

# Devices that answer 1.5 s late, piggybacked: an exchange stays
# outstanding until then (RFC 7252 §4.7; an empty ACK, as coapgw-sim's
# /slow sends, would end it at once).
nstart() {
    local i pids=()
    for i in 1 2; do
        curl -s -o "$TMP/lateC$i" -H "$AUTH" "$C/devices/latec/x?n=$i" &
        pids+=($!)
        curl -s -o "$TMP/lateA$i" "$A/hc/coap://127.0.0.1:$LATE_A/x?n=$i" &
        pids+=($!)
    done
    wait_for "the first request at C's device" grep -q 'request from' "$TMP/lateC.log" || return 1
    wait_for "the first request at A's device" grep -q 'request from' "$TMP/lateA.log" || return 1
    sleep 0.7 # well before the first answers
    local a c
    a=$(sim_count lateA 'request from')
    c=$(sim_count lateC 'request from')
    wait "${pids[@]}"
    echo "  at once: C's device $c, A's $a"
    [ "$c" = 2 ] && [ "$a" = 1 ] || return 1
    for i in 1 2; do [ "$(cat "$TMP/lateC$i")" = late ] && [ "$(cat "$TMP/lateA$i")" = late ] || return 1; done
}
effect coap.nstart "2: two requests reach C's device at once; through A the second waits for the first's answer" nstart

devices() {
    is 200 "$B/devices/devb/sensors/temperature" || return 1
    is 404 "$B/devices/demo/sensors/temperature" || return 1
    is 200 "$A/devices/demo/sensors/temperature"
}
effect devices "B routes /devices/devb to its device, /devices/demo is 404; A's demo is 200" devices

credentials() {
    is 200 "$B/hc/coaps://127.0.0.1:$SIM_DTLS/sensors/temperature" || return 1
    is 502 "$A/hc/coaps://127.0.0.1:$SIM_DTLS/sensors/temperature" || return 1
    grep -q "no credentials for coaps://127.0.0.1:$SIM_DTLS (see credentials in docs/configuration.md)" "$TMP/body"
}
effect credentials "a coapgw-sim over DTLS (PSK): /hc/coaps://... is 200 through B, 502 naming the key from A" credentials

# --- discovery ----------------------------------------------------------------
# fetches GATEWAY: CoAP datagrams it sent so far (the discovery fetches, as
# nothing else runs meanwhile)
fetches() { metric "$1" 'coapgw_coap_datagrams_total{direction="sent"}'; }
refresh() {
    local a0 b0 a1 b1
    is 200 "$A/api/devices/demo" && is 200 "$B/api/devices/devb" || return 1 # fetched once at least
    a0=$(fetches "$A")
    b0=$(fetches "$B")
    is 200 "$A/api/devices/demo" && is 200 "$B/api/devices/devb" || return 1 # both from the cache
    if [ "$(fetches "$A")" != "$a0" ] || [ "$(fetches "$B")" != "$b0" ]; then
        echo "  not from the cache at first"
        return 1
    fi
    sleep 1.3
    is 200 "$A/api/devices/demo" && is 200 "$B/api/devices/devb" || return 1
    grep -q '"href":"/sensors/temperature"' "$TMP/body" || return 1
    a1=$(fetches "$A")
    b1=$(fetches "$B")
    echo "  fetches after 1.3 s: B $((b1 - b0)), A $((a1 - a0))"
    [ $((b1 - b0)) = 1 ] && [ $((a1 - a0)) = 0 ]
}
effect discovery.refresh_s "1: after 1.3 s B fetches /.well-known/core again for /api/devices/NAME; A does not" refresh

# --- proxy --------------------------------------------------------------------
allow_targets() {
    is 200 "$B/hc/coap://127.0.0.1:$LOW/sensors/temperature" || return 1
    is 403 "$A/hc/coap://127.0.0.1:$LOW/sensors/temperature"
}
effect proxy.allow_targets "127.0.0.1:$LOW: reached through B (200), refused by A (403)" allow_targets

allow_origins() {
    coap_is 2.05 127.0.0.2 -P "coap://127.0.0.1:$CB" "http://127.0.0.1:$ORIGIN/hello" && says hello || return 1
    coap_is 4.03 127.0.0.1 -P "coap://127.0.0.1:5683" "http://127.0.0.1:$ORIGIN/hello" && says proxy.allow_origins
}
effect proxy.allow_origins "http://127.0.0.1:$ORIGIN: reached through B's CoAP proxy; A: 4.03 naming the key" allow_origins

coap_clients() {
    local t=coap://127.0.0.1:$SIM_B/sensors/temperature
    coap_is 4.03 127.0.0.1 -P "coap://127.0.0.1:$CB" "$t" || return 1
    coap_is 2.05 127.0.0.2 -P "coap://127.0.0.1:$CB" "$t" || return 1
    coap_is 2.05 127.0.0.1 -P "coap://127.0.0.1:5683" "$t"
}
effect proxy.coap_clients "[127.0.0.2]: B's forward proxy refuses 127.0.0.1 (4.03), serves 127.0.0.2; A serves 127.0.0.1" coap_clients

clients_trusted() {
    is 200 -H "$AUTH" "$C/devices/devc/sensors/temperature" || return 1 # C runs
    local rc=0
    "${CLEAN_ENV[@]}" timeout 5 "$GW" --config "$TMP/c.json" --set proxy.coap_clients_trusted=false \
        --set http.listen=127.0.0.1:0 --set coap.listen=127.0.0.1:0 >"$TMP/untrusted.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] || { echo "  with false: exit $rc, not 2"; return 1; }
    grep -q proxy.coap_clients_trusted "$TMP/untrusted.out"
}
effect proxy.coap_clients_trusted "true: C runs with tokens and coap_clients 10.0.0.0/8; false: exit 2 naming it" clients_trusted

timeout_ms() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$A/hc/coap://127.0.0.1:$SILENT/x" >"$TMP/timeoutA" &
    local pid=$! t
    t=$(curl -s -o "$TMP/body" -w '%{http_code} %{time_total}' "$B/devices/silent/x")
    wait "$pid" || true
    echo "  B: $t; A after 2 s: $(cat "$TMP/timeoutA")"
    [ "${t% *}" = 504 ] && python3 -c 'import sys; sys.exit(not 0.25 <= float(sys.argv[1]) < 1.5)' "${t#* }" &&
        [ "$(cat "$TMP/timeoutA")" = 000 ]
}
effect proxy.timeout_ms "300: a silent device is 504 from B within 0.25-1.5 s; A has not answered after 2 s" timeout_ms

max_body() {
    head -c 2000 /dev/zero | tr '\0' b >"$TMP/2k"
    is 413 -X PUT -H 'Content-Type: text/plain' --data-binary @"$TMP/2k" "$B/devices/devb/echo" || return 1
    is 200 -X PUT -H 'Content-Type: text/plain' --data-binary @"$TMP/2k" "$A/devices/demo/echo" || return 1
    cmp -s "$TMP/2k" "$TMP/body"
}
effect proxy.max_body_bytes "1024: a 2,000-byte PUT is 413 from B, echoed by A" max_body

# --- cache --------------------------------------------------------------------
cache_enabled() {
    local a0 c0
    a0=$(sim_count simA 'GET /sensors/humidity')
    c0=$(sim_count simC 'GET /sensors/humidity')
    # the first from the device (no-cache), the second from the cache if any
    is 200 -H "$AUTH" -H 'Cache-Control: no-cache' "$C/devices/devc/sensors/humidity" &&
        is 200 -H "$AUTH" "$C/devices/devc/sensors/humidity" &&
        is 200 -H 'Cache-Control: no-cache' "$A/devices/demo/sensors/humidity" &&
        is 200 "$A/devices/demo/sensors/humidity" || return 1
    echo "  device asked: by C $(($(sim_count simC 'GET /sensors/humidity') - c0)), by A $(($(sim_count simA 'GET /sensors/humidity') - a0))"
    [ "$(sim_count simC 'GET /sensors/humidity')" = $((c0 + 2)) ] &&
        [ "$(sim_count simA 'GET /sensors/humidity')" = $((a0 + 1)) ] || return 1
    metric_is "$C" coapgw_cache_entries 0 && metric_is "$C" coapgw_cache_hits_total 0
}
effect cache.enabled "false: C asks the device for both of two GETs, caches nothing; A asks once" cache_enabled

# GET temperature (from the device: no-cache), humidity, temperature from
# GATEWAY/devices/NAME; prints how often SIM was asked for the temperature
a_b_a() {
    local n0
    n0=$(sim_count "$3" 'GET /sensors/temperature')
    is 200 -H 'Cache-Control: no-cache' "$1/devices/$2/sensors/temperature" >/dev/null &&
        is 200 "$1/devices/$2/sensors/humidity" >/dev/null &&
        is 200 "$1/devices/$2/sensors/temperature" >/dev/null || return 1
    echo $(($(sim_count "$3" 'GET /sensors/temperature') - n0))
}
max_entries() {
    local b a
    b=$(a_b_a "$B" devb simB) || return 1
    a=$(a_b_a "$A" demo simA) || return 1
    echo "  temperature asked: by B $b, by A $a; entries: B $(metric "$B" coapgw_cache_entries), A $(metric "$A" coapgw_cache_entries)"
    [ "$b" = 2 ] && [ "$a" = 1 ] && metric_is "$B" coapgw_cache_entries 1 &&
        [ "$(metric "$A" coapgw_cache_entries)" -ge 2 ]
}
effect cache.max_entries "1: GET a, b, a: B asks the device for a again and holds one entry; A serves a from its cache" max_entries

# GET the firmware (64 KiB) twice from GATEWAY/devices/NAME; prints how
# often SIM was asked for it (block 0 of each Block2 transfer)
firmware_twice() {
    local n0
    n0=$(sim_count "$3" 'GET /firmware')
    is 200 -H 'Cache-Control: no-cache' "$1/devices/$2/firmware" >/dev/null &&
        is 200 "$1/devices/$2/firmware" >/dev/null || return 1
    echo $(($(sim_count "$3" 'GET /firmware') - n0))
}
max_bytes() {
    local d a
    d=$(firmware_twice "$D" devd simB) || return 1
    a=$(firmware_twice "$A" demo simA) || return 1
    echo "  firmware blocks asked: by D $d, by A $a"
    [ "$d" -gt "$a" ]
}
effect cache.max_bytes "1024 (gateway D): the 64 KiB firmware is never kept by D (fetched twice); A serves the second from its cache" max_bytes

# --- Resource Directory -------------------------------------------------------
RD_A=coap://127.0.0.1:5683/rd
RD_B=coap://127.0.0.1:$CB/rd
rd_enabled() {
    coap_is 4.04 127.0.0.1 -m post "coap://127.0.0.1:$CC/rd?ep=x&lt=60" || return 1
    coap_is 2.01 127.0.0.1 -m post "$RD_A?ep=x&lt=60"
}
effect rd.enabled "false: POST /rd to C is 4.04; A registers (2.01)" rd_enabled

lifetime() {
    coap_is 4.00 127.0.0.4 -m post "$RD_B?ep=long&lt=61" && says rd.max_lifetime_s || return 1
    coap_is 2.01 127.0.0.4 -m post "$RD_A?ep=long&lt=61"
}
effect rd.max_lifetime_s "60: lt=61 is 4.00 from B naming the key, 2.01 from A" lifetime

links_bytes() {
    local links
    links=$(printf '</sensors/s%02d>;rt="temperature-c",' 1 2 3 | sed 's/,$//') # 100 bytes
    [ ${#links} -gt 64 ] || return 1
    coap_is 4.13 127.0.0.4 -m post -e "$links" "$RD_B?ep=big&lt=60" || return 1
    coap_is 2.01 127.0.0.4 -m post -e "$links" "$RD_A?ep=big&lt=60"
}
effect rd.max_links_bytes "64: a 100-byte link payload is 4.13 from B, 2.01 from A" links_bytes

per_source() {
    coap_is 2.01 127.0.0.2 -m post "$RD_B?ep=ps1&lt=60" || return 1
    coap_is 4.03 127.0.0.2 -m post "$RD_B?ep=ps2&lt=60" && says rd.max_per_source || return 1
    coap_is 2.01 127.0.0.2 -m post "$RD_A?ep=ps1&lt=60" || return 1
    coap_is 2.01 127.0.0.2 -m post "$RD_A?ep=ps2&lt=60"
}
effect rd.max_per_source "1: a second registration from 127.0.0.2 is 4.03 from B naming the key, 2.01 from A" per_source

registrations() { # B holds ps1 from 127.0.0.2
    coap_is 2.01 127.0.0.3 -m post "$RD_B?ep=mr1&lt=60" || return 1
    coap_is 4.13 127.0.0.5 -m post "$RD_B?ep=mr2&lt=60" && says rd.max_registrations || return 1
    coap_is 2.01 127.0.0.5 -m post "$RD_A?ep=mr2&lt=60"
}
effect rd.max_registrations "2: B's third registration (from a third address) is 4.13 naming the key; A's 2.01" registrations

# uploads FROM PORT K: K Block1 uploads at once (block 0 of 16 bytes, each
# its own Request-Tag) to /rd on PORT; prints the answers' codes and payloads
uploads() {
    python3 "$HERE/coap_raw.py" "$1" 127.0.0.1 "$2" --code 2 --path rd --query ep=up --block1 0,1,0 \
        --payload 0123456789abcdef --count "$3" | awk '{ $2 = $3 = $4 = $5 = ""; print }' | tr -s ' '
}
# counted OUTPUT CODE [PAYLOAD]: how many answers were CODE (with PAYLOAD)
counted() { grep -c "^$2 ${3:-}" <<<"$1" || true; }
# taken FROM K B_TOOK WHY A_TOOK: K uploads at once from FROM to B and to
# A; B takes B_TOOK and answers the rest 5.03 WHY, A takes A_TOOK
taken() {
    local b a
    b=$(uploads "$1" "$CB" "$2")
    a=$(uploads "$1" 5683 "$2")
    echo "  B: $(tr '\n' ' ' <<<"$b"); A: $(tr '\n' ' ' <<<"$a")"
    [ "$(counted "$b" 2.31)" = "$3" ] && [ "$(counted "$b" 5.03 "$4")" = $(($2 - $3)) ] &&
        [ "$(counted "$a" 2.31)" = "$5" ]
}
effect coap.max_uploads_per_peer "2: B takes two Block1 uploads from 127.0.0.6, 5.03 \"from this address\" after; A takes 4" \
    taken 127.0.0.6 4 2 'too many uploads from this address' 4
# B holds 2 uploads from 127.0.0.6 now
effect coap.max_uploads "3: with 2 held, B takes one upload from 127.0.0.7, 5.03 \"in progress\" after; A takes both" \
    taken 127.0.0.7 2 1 'too many uploads in progress' 2

# --- event streams ------------------------------------------------------------
sse() { start "$1" timeout "$2" curl -sN -H 'Accept: text/event-stream' "${@:3}"; }
# opens URL as a stream for at most a second; prints the status
try_stream() { code -m 1 -H 'Accept: text/event-stream' "$1" || true; }
two_targets() { # two_targets DEVICE-PREFIX: /events on its temperature and humidity
    echo "/events?target=$1/sensors/temperature&target=$1/sensors/humidity"
}
observations() {
    sse evB 30 "$B$(two_targets /devices/fast)"
    sse evA 30 "$A$(two_targets /devices/demo)"
    wait_for "B's error event" grep -q '^event: error' "$TMP/evB.log" || return 1
    wait_for "A's values of both" eval "grep -q 'sensors/humidity\",\"seq' '$TMP/evA.log' && grep -q 'sensors/temperature\",\"seq' '$TMP/evA.log'" ||
        return 1
    grep -A1 '^event: error' "$TMP/evB.log" | grep '"status":503' | grep 'sensors/humidity' | grep -q sse.max_observations ||
        { echo "  B: no event: error 503 for the humidity"; return 1; }
    grep -q 'sensors/temperature","seq' "$TMP/evB.log" || return 1
    ! grep -q '^event: error' "$TMP/evA.log"
}
effect sse.max_observations "1: on B, /events on two targets gets event: error 503 for the second; A streams both" observations

subscribers() { # one stream open on each
    [ "$(try_stream "$B/devices/fast/sensors/humidity")" = 503 ] || { echo "  B: a second stream was not 503"; return 1; }
    grep -q sse.max_subscribers "$TMP/body" || return 1
    [ "$(try_stream "$A/devices/demo/sensors/humidity")" = 200 ]
}
effect sse.max_subscribers "1: a second stream on B gets 503 naming the key; A serves it" subscribers
stop evA
stop evB

# after_last_gap FILE: in a file of event ids, one a line, how many follow
# the last gap in the sequence; gaps FILE: how many gaps there are
after_last_gap() { awk 'NR > 1 && $1 != p + 1 { n = 0 } { n++; p = $1 } END { print n }' "$1"; }
gaps() { awk 'NR > 1 && $1 != p + 1 { g++ } { p = $1 } END { print g + 0 }' "$1"; }
dropped_both() {
    [ "$(metric "$B" coapgw_sse_dropped_events_total)" -ge 5 ] &&
        [ "$(metric "$A" coapgw_sse_dropped_events_total)" -ge 5 ]
}
queue_events() {
    wait_for "B's streams closed" metric_is "$B" coapgw_sse_subscribers 0 || return 1
    # two subscribers that stop reading, on the same 10 ms device
    start stallB python3 "$HERE/sse_stall.py" "$HB" /devices/fast/sensors/temperature "$TMP/go"
    start stallA python3 "$HERE/sse_stall.py" 8080 "/hc/coap://127.0.0.1:$FAST/sensors/temperature" "$TMP/go"
    local _
    for _ in $(seq 1 200); do # 20 s at most: sockets full, queues full, drops
        dropped_both && break
        sleep 0.1
    done
    dropped_both || { echo "  nothing dropped"; return 1; }
    kill -STOP "$PID_fast" # no new event: each queue is what it is
    sleep 0.5
    touch "$TMP/go"
    wait "$PID_stallB" || true
    wait "$PID_stallA" || true
    kill -CONT "$PID_fast"
    local b a
    b=$(after_last_gap "$TMP/stallB.log")
    a=$(after_last_gap "$TMP/stallA.log")
    echo "  events after the last gap: B $b, A $a"
    [ "$(gaps "$TMP/stallB.log")" -ge 1 ] && [ "$b" -le 3 ] && [ "$a" -ge 30 ]
}
effect sse.queue_events "2: a stalled stream on B keeps at most 3 events after its last gap; A's keeps 30 or more" queue_events

# --- tokens, logs -------------------------------------------------------------
tokens() {
    is 401 "$C/devices/devc/sensors/temperature" || return 1
    is 200 -H "$AUTH" "$C/devices/devc/sensors/temperature" || return 1
    is 200 "$A/devices/demo/sensors/temperature"
}
effect tokens "C: 401 without a token, 200 with it; A: 200 without" tokens

# log_lines FILE: prints "json" when every line is a JSON object with ts,
# level and msg, "text" when every line is "TIMESTAMP LEVEL ...", else the
# first line that is neither; then the levels seen
log_lines() {
    python3 - "$1" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
kinds, levels = set(), set()
for line in lines:
    try:
        o = json.loads(line)
        assert o["ts"] and o["msg"]
        kinds.add("json")
        levels.add(o["level"])
    except (ValueError, KeyError, TypeError, AssertionError):
        m = re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info|warn|error) ", line)
        if not m:
            sys.exit("neither: " + line)
        kinds.add("text")
        levels.add(m.group(1))
print(" ".join(sorted(kinds)), " ".join(sorted(levels)))
PY
}
log_format() {
    local b a
    b=$(log_lines "$TMP/gwB.log") && a=$(log_lines "$TMP/gwA.log") || return 1
    echo "  B: $b; A: $a"
    [ "${b%% *}" = json ] && [ "${a%% *}" = text ]
}
effect log.format "json: every line B logs is a JSON object; A's are text" log_format

log_level() {
    # both fetched a /.well-known/core for /api/devices (a debug line)
    grep -q '"level":"debug".*"msg":"api: devb: GET coap://127.0.0.1:'"$SIM_B"'/.well-known/core"' "$TMP/gwB.log" ||
        { echo "  B logged no debug line for the fetch"; return 1; }
    ! grep -q '^[^ ]* debug ' "$TMP/gwA.log" && grep -q '^[^ ]* info ' "$TMP/gwA.log"
}
effect log.level "debug: B logs its discovery fetch at debug; A logs nothing at debug" log_level

# --- shutdown -----------------------------------------------------------------
# in_flight_at_term NAME URL SIM [CURL-ARGS]: GET URL (a /slow of SIM, 2
# s), SIGTERM the gateway NAME once the device has it; $TMP/term-NAME.result:
# the status the request got and the exit code
in_flight_at_term() {
    local name=$1 url=$2 sim=$3 n0 rc=0 pid
    shift 3
    n0=$(sim_count "$sim" 'GET /slow')
    curl -s -o "$TMP/term-$name" -w '%{http_code}' "$@" "$url" >"$TMP/term-$name.code" &
    pid=$!
    wait_for "the request at the device" eval '[ "$(sim_count '"$sim"' "GET /slow")" -gt '"$n0"' ]' || return 1
    local var="PID_$name"
    kill -TERM "${!var}"
    wait "${!var}" || rc=$?
    wait "$pid" || true
    echo "$(cat "$TMP/term-$name.code") $rc" >"$TMP/term-$name.result"
}
grace() {
    in_flight_at_term gwC "$C/devices/devc/slow?n=9" simC -H "$AUTH" || return 1
    in_flight_at_term gwA "$A/devices/demo/slow?n=9" simA || return 1
    local c a
    c=$(cat "$TMP/term-gwC.result")
    a=$(cat "$TMP/term-gwA.result")
    echo "  C: $c (status, exit); A: $a"
    [ "$c" = "200 0" ] && [ "$(cat "$TMP/term-gwC")" = finally ] && [ "$a" = "503 0" ] &&
        grep -q 'grace period over; 1 request(s) answered 503' "$TMP/gwA.log"
}
effect shutdown.grace_ms "4000: on SIGTERM C lets a 2 s request finish (200); A answers it 503 after 1 s" grace
stop gwD
stop gwB

finish
