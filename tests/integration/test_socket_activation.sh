#!/usr/bin/env bash
# Socket activation (issue #17): coapgw started by sd_launch.py, a small
# service manager that binds the sockets and passes them in as systemd
# does (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, descriptors from 3). The
# gateway serves them (HTTP, HTTPS, CoAP, CoAP over DTLS), keeps them over
# SIGHUP, and is restarted (SIGTERM, then kill -9) while clients keep
# sending: what comes during the gap waits in the kernel and is answered
# by the next instance, none refused.
# Then the error cases. curl, coapgw-client -> sockets of sd_launch.py -> coapgw.
. "$(dirname "$0")/lib.sh"
need curl python3
HERE=$(cd "$(dirname "$0")" && pwd)
HP=$(free_port tcp)
CP=$(free_port)
SP=$(free_port)
printf 'node1-secret' >"$TMP/node1.key"
chmod 600 "$TMP/node1.key"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" },
  "coap": { "listen": "127.0.0.1:$CP", "listen_dtls": "127.0.0.1:$SP" },
  "dtls": { "identities": [ { "psk": "node1", "key_file": "$TMP/node1.key", "names": ["*"] } ] },
  "state": { "path": "" } }
JSON
cat >"$TMP/plain.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HP" }, "coap": { "listen": "127.0.0.1:$CP" }, "state": { "path": "" } }
JSON
LAUNCH="python3 $HERE/sd_launch.py"
start sd $LAUNCH --tcp "127.0.0.1:$HP" --udp "127.0.0.1:$CP" --udp "127.0.0.1:$SP" \
    --names http:coap:coaps --gap-ms 1000 --pidfile "$TMP/gw.pid" -- \
    "$BUILD/coapgw" --config "$TMP/gw.json"
G=http://127.0.0.1:$HP
coap_get() { "$BUILD/coapgw-client" -T "${1:-3}" "coap://127.0.0.1:$CP/.well-known/core"; }
coaps_get() {
    "$BUILD/coapgw-client" -T 3 -k node1-secret -u node1 "coaps://127.0.0.1:$SP/.well-known/core"
}
wait_for "coapgw" curl -sf "$G/healthz"

adopted() {
    grep -q "socket activation: fd 3 (http), TCP 127.0.0.1:$HP, serves http.listen" "$TMP/sd.log" &&
        grep -q "socket activation: fd 4 (coap), UDP 127.0.0.1:$CP, serves coap.listen" "$TMP/sd.log" &&
        grep -q "socket activation: fd 5 (coaps), UDP 127.0.0.1:$SP, serves coap.listen_dtls" "$TMP/sd.log" ||
        { echo "no adoption logged"; return 1; }
    curl -sf "$G/healthz" >/dev/null || { echo "no HTTP"; return 1; }
    coap_get | grep -q 'rt="core.rd"' || { echo "no CoAP"; return 1; }
    coaps_get | grep -q 'rt="core.rd"' || { echo "no CoAP over DTLS"; return 1; }
}
check "the passed sockets (by name) serve HTTP, CoAP and CoAP over DTLS, one log line each" adopted

reload() {
    local pid
    pid=$(cat "$TMP/gw.pid")
    kill -HUP "$pid"
    wait_for "the reload" grep -q "SIGHUP: reloading" "$TMP/sd.log" || return 1
    [ "$(cat "$TMP/gw.pid")" = "$pid" ] || { echo "the gateway restarted"; return 1; }
    curl -sf "$G/healthz" >/dev/null && coap_get >/dev/null || { echo "not served after SIGHUP"; return 1; }
}
check "SIGHUP: the same process keeps serving the passed sockets" reload

# clients LABEL SECONDS: HTTP (a new connection each) and CoAP requests,
# one after the other, for SECONDS; one line per answer in
# $TMP/LABEL.http ("CODE SECONDS") and $TMP/LABEL.coap ("EXIT MS")
clients() {
    local label=$1 until=$((SECONDS + $2))
    (while [ "$SECONDS" -lt "$until" ]; do
        curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "$G/healthz" || true
        sleep 0.05
    done >"$TMP/$label.http") &
    PIDS+=($!)
    local h=$!
    (while [ "$SECONDS" -lt "$until" ]; do
        s=$(date +%s%N)
        if coap_get 10 >/dev/null; then r=0; else r=$?; fi
        echo "$r $((($(date +%s%N) - s) / 1000000))"
        sleep 0.05
    done >"$TMP/$label.coap") &
    PIDS+=($!)
    wait "$h" "$!"
}

# restart LABEL SIGNAL: sd_launch.py stops the gateway (SIGUSR1: SIGTERM,
# SIGUSR2: SIGKILL) and starts it again 1 s later, while clients run
restart() {
    local label=$1 sig=$2 old
    old=$(cat "$TMP/gw.pid")
    clients "$label" 4 &
    local c=$!
    sleep 1
    kill "-$sig" "$PID_sd"
    wait "$c"
    [ "$(cat "$TMP/gw.pid")" != "$old" ] || { echo "not restarted"; return 1; }
    local bad
    bad=$(awk '$1 != 200' "$TMP/$label.http" | wc -l)
    [ "$bad" = 0 ] || { echo "HTTP: $bad not 200"; cat "$TMP/$label.http"; return 1; }
    bad=$(awk '$1 != 0' "$TMP/$label.coap" | wc -l)
    [ "$bad" = 0 ] || { echo "CoAP: $bad failed"; cat "$TMP/$label.coap"; return 1; }
    # some waited through the gap (about 1 s) rather than being refused
    awk '$2 >= 0.5 { w = 1 } END { exit !w }' "$TMP/$label.http" || { echo "no HTTP request waited"; return 1; }
    awk '$2 >= 500 { w = 1 } END { exit !w }' "$TMP/$label.coap" || { echo "no CoAP request waited"; return 1; }
    echo "  $label: $(wc -l <"$TMP/$label.http") HTTP and $(wc -l <"$TMP/$label.coap") CoAP requests, all answered;" \
        "longest waits $(sort -n -k2 "$TMP/$label.http" | tail -1 | cut -d' ' -f2) s and" \
        "$(sort -n -k2 "$TMP/$label.coap" | tail -1 | cut -d' ' -f2) ms"
}
check "SIGTERM and start again 1 s later: every HTTP connection and CoAP request of the gap answered" restart term USR1
check "the stopping gateway left the CoAP socket unread for the next one" \
    grep -q "shutdown: coap.listen left to the next instance (socket activation)" "$TMP/sd.log"
check "kill -9 and start again 1 s later: the same" restart kill USR2
stop sd

# Without LISTEN_FDNAMES, sockets are matched by type and address.
by_address() {
    start sd2 $LAUNCH --tcp "127.0.0.1:$HP" --udp "127.0.0.1:$CP" --pidfile "$TMP/gw2.pid" -- \
        "$BUILD/coapgw" --config "$TMP/plain.json"
    wait_for "coapgw" curl -sf "$G/healthz" || return 1
    grep -q "socket activation: fd 3, TCP 127.0.0.1:$HP, serves http.listen" "$TMP/sd2.log" &&
        grep -q "socket activation: fd 4, UDP 127.0.0.1:$CP, serves coap.listen" "$TMP/sd2.log" || return 1
    coap_get >/dev/null || return 1
    stop sd2
}
check "unnamed sockets: matched by type and address" by_address

# A listener with no socket passed is bound by coapgw itself (a warning).
partly() {
    start sd3 $LAUNCH --tcp "127.0.0.1:$HP" --pidfile "$TMP/gw3.pid" -- \
        "$BUILD/coapgw" --config "$TMP/plain.json"
    wait_for "coapgw" curl -sf "$G/healthz" || return 1
    grep -q "no socket passed for coap.listen (127.0.0.1:$CP): bound by coapgw itself" "$TMP/sd3.log" || return 1
    coap_get >/dev/null || return 1
    stop sd3
}
check "a listener without a passed socket: bound as configured, with a warning" partly

# HTTPS on a passed socket: the TLS front end takes it as it is.
https_passed() {
    need openssl
    mkdir -p "$TMP/pki"
    tls_cert "$TMP/pki" ca "coapgw test CA" 100 ca
    tls_cert "$TMP/pki" server 127.0.0.1 1001 server ca
    local tp
    tp=$(free_port tcp)
    cat >"$TMP/tls.json" <<JSON
{ "http": { "listen": "off", "listen_tls": "127.0.0.1:$tp", "tls_cert": "$TMP/pki/server.crt",
            "tls_key": "$TMP/pki/server.key" }, "coap": { "listen": "127.0.0.1:0" }, "state": { "path": "" } }
JSON
    start sd6 $LAUNCH --tcp "127.0.0.1:$tp" --names https --pidfile "$TMP/gw6.pid" -- \
        "$BUILD/coapgw" --config "$TMP/tls.json"
    wait_for "coapgw over HTTPS" curl -sf --cacert "$TMP/pki/ca.crt" "https://127.0.0.1:$tp/healthz" || return 1
    grep -q "socket activation: fd 3 (https), TCP 127.0.0.1:$tp, serves http.listen_tls" "$TMP/sd6.log" || return 1
    stop sd6
}
check "a socket named https serves HTTPS" https_passed

# LISTEN_PID of another process: the variables are ignored, coapgw binds.
wrong_pid() {
    local h2
    h2=$(free_port tcp)
    start sd4 $LAUNCH --wrong-pid --tcp "127.0.0.1:$HP" --pidfile "$TMP/gw4.pid" -- \
        "$BUILD/coapgw" --config "$TMP/plain.json" --http-listen "127.0.0.1:$h2"
    wait_for "coapgw on its own port" curl -sf "http://127.0.0.1:$h2/healthz" || return 1
    grep -q "socket activation: LISTEN_PID .* is not this process" "$TMP/sd4.log" || return 1
    ! grep -q "serves http.listen" "$TMP/sd4.log" || return 1
    stop sd4
}
check "a LISTEN_PID that is not coapgw's: ignored, coapgw binds as configured" wrong_pid

# fails NAMES MESSAGE LAUNCH-ARGS...: coapgw exits 2 with MESSAGE
fails() {
    local names=$1 msg=$2
    shift 2
    $LAUNCH ${names:+--names "$names"} "$@" --pidfile "$TMP/gw5.pid" -- \
        "$BUILD/coapgw" --config "$TMP/plain.json" >"$TMP/fail.log" 2>&1 || true
    grep -q "ended (status 512)" "$TMP/fail.log" || { cat "$TMP/fail.log"; return 1; }
    grep -q -- "$msg" "$TMP/fail.log" || { cat "$TMP/fail.log"; return 1; }
}
other=$(free_port tcp)
check "a socket that matches no listener: exit 2 naming it" \
    fails "" "socket activation: socket (fd 3, TCP 127.0.0.1:$other) matches no listener" --tcp "127.0.0.1:$other"
check "a named socket for a listener that is off: exit 2" \
    fails https "socket \"https\" (fd 3, TCP 127.0.0.1:$other) passed but http.listen_tls is off" --tcp "127.0.0.1:$other"
check "a name on a socket of the wrong type: exit 2" \
    fails http "socket \"http\" (fd 3) is UDP, http.listen needs TCP" --udp "127.0.0.1:$other"
finish
