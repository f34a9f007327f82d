#!/usr/bin/env bash
# The configuration: --check-config, precedence of flags over environment
# over file, and SIGHUP reload on a running gateway (devices swapped, the
# event stream of the removed one ended, a bad file refused).
. "$(dirname "$0")/lib.sh"
need curl python3
GW=$BUILD/coapgw
EXAMPLE=$(cd "$(dirname "$0")/../.." && pwd)/config/coapgw.example.json

check_good() {
    "$GW" --check-config "$EXAMPLE" >"$TMP/cc.out" 2>&1 || return 1
    [ "$(cat "$TMP/cc.out")" = "$EXAMPLE: ok" ]
}
check "--check-config: the example file is ok (exit 0)" check_good

check_bad() {
    printf '{\n  "proxy": {\n    "timeout_ms": "soon"\n  }\n}\n' >"$TMP/bad.json"
    local rc=0
    "$GW" --check-config "$TMP/bad.json" 2>"$TMP/cc.err" || rc=$?
    [ $rc -eq 2 ] || { echo "exit $rc"; return 1; }
    grep -q "^$TMP/bad.json:3:5: proxy.timeout_ms: got a string (expected an integer" "$TMP/cc.err" || return 1
    [ "$(wc -l <"$TMP/cc.err")" -eq 1 ] || return 1
    printf '{"http": {"listen": "127.0.0.1:1"},\n "prxy": {}}\n' >"$TMP/bad2.json"
    rc=0
    "$GW" --check-config "$TMP/bad2.json" 2>"$TMP/cc2.err" || rc=$?
    [ $rc -eq 2 ] && grep -q "bad2.json:2:2: prxy: unknown key" "$TMP/cc2.err" || return 1
    # the same file refuses to start the gateway, exit 2
    rc=0
    "$GW" --config "$TMP/bad2.json" 2>/dev/null || rc=$?
    [ $rc -eq 2 ]
}
check "--check-config: a bad file exits 2 with FILE:LINE:COL: KEY: message" check_bad

check_env_flag_errors() {
    local rc=0
    COAPGW_PROXY_TIMEOUT_MS=abc "$GW" --check-config "$TMP/bad.json" 2>/dev/null || rc=$?
    [ $rc -eq 2 ] || return 1
    printf '{}' >"$TMP/empty.json"
    rc=0
    COAPGW_PROXY_TIMEOUT_MS=abc "$GW" --check-config "$TMP/empty.json" 2>"$TMP/env.err" || rc=$?
    [ $rc -eq 2 ] && grep -q "^COAPGW_PROXY_TIMEOUT_MS: bad value" "$TMP/env.err" || return 1
    rc=0
    "$GW" --check-config "$TMP/empty.json" --log-format xml 2>"$TMP/flag.err" || rc=$?
    [ $rc -eq 2 ] && grep -q -- "--log-format: bad value" "$TMP/flag.err" || return 1
    # every new flag parses
    "$GW" --log-format json --shutdown-grace-ms 0 --device d=coap://127.0.0.1 \
        --set sse.queue_events=8 --version | grep -q coapgw
}
check "a bad environment variable or flag exits 2 naming it; new flags parse" check_env_flag_errors

duplicate_devices() {
    local rc=0
    # the same name twice is a mistake, not an override: exit 2 naming the flag
    "$GW" --device x=coap://127.0.0.1 --device x=coap://127.0.0.2 --version \
        >/dev/null 2>"$TMP/dup1.err" || rc=$?
    [ $rc -eq 2 ] && grep -q -- '^coapgw: --device x=coap://127.0.0.2: a device named "x" was given by an earlier --device$' "$TMP/dup1.err" || return 1
    rc=0
    COAPGW_DEVICES="a=coap://127.0.0.1,a=coap://127.0.0.2" "$GW" --check-config "$TMP/empty.json" \
        2>"$TMP/dup2.err" || rc=$?
    [ $rc -eq 2 ] && grep -q '^COAPGW_DEVICES: item 2: a second device named "a"$' "$TMP/dup2.err" || return 1
    # a flag still replaces a device of the file, the environment or the default
    COAPGW_DEVICES="a=coap://127.0.0.1" "$GW" --check-config "$TMP/empty.json" \
        --device a=coap://127.0.0.3 --device demo=coap://127.0.0.4 >/dev/null
}
check "a device name given twice (--device, COAPGW_DEVICES) exits 2 naming the flag" duplicate_devices

syntax_error_quiet() {
    # the position says where; the text there (maybe a token) is never repeated
    printf '{"tokens":[{"token":"Sup3rSecretValue\\q123"}]}' >"$TMP/tk.json"
    local rc=0
    "$GW" --check-config "$TMP/tk.json" 2>"$TMP/tk.err" || rc=$?
    [ $rc -eq 2 ] && [ "$(cat "$TMP/tk.err")" = "$TMP/tk.json:1:39: syntax error: invalid escape" ] || return 1
    : >"$TMP/zero.json"
    rc=0
    "$GW" --check-config "$TMP/zero.json" 2>"$TMP/zero.err" || rc=$?
    [ $rc -eq 2 ] && grep -q "zero.json:1:1: syntax error" "$TMP/zero.err"
}
check "a syntax error names line and column (from 1), never the text there" syntax_error_quiet

# --- a running gateway: precedence ---
P_FILE=$(free_port tcp)
P_ENV=$(free_port tcp)
P_FLAG=$(free_port tcp)
cat >"$TMP/prec.json" <<JSON
{ "http": { "listen": "127.0.0.1:$P_FILE" }, "coap": { "listen": "127.0.0.1:0" },
  "devices": {} }
JSON
precedence() {
    COAPGW_HTTP_LISTEN="127.0.0.1:$P_ENV" start prec_env "$GW" --config "$TMP/prec.json"
    wait_for "gateway on the environment's port" curl -sf "http://127.0.0.1:$P_ENV/healthz" || return 1
    curl -sf -m 1 "http://127.0.0.1:$P_FILE/healthz" && return 1
    stop prec_env
    COAPGW_HTTP_LISTEN="127.0.0.1:$P_ENV" COAPGW_CONFIG="$TMP/prec.json" \
        start prec_flag "$GW" --http-listen "127.0.0.1:$P_FLAG"
    wait_for "gateway on the flag's port" curl -sf "http://127.0.0.1:$P_FLAG/healthz" || return 1
    curl -sf -m 1 "http://127.0.0.1:$P_ENV/healthz" && return 1
    stop prec_flag
    # the warning: beyond loopback, no token
    grep -q "no access token" "$TMP/prec_flag.log" && return 1
    return 0
}
check "precedence: COAPGW_HTTP_LISTEN over the file, --http-listen over both" precedence

open_warning() {
    local p
    p=$(free_port tcp)
    start open "$GW" --config "$TMP/prec.json" --http-listen "0.0.0.0:$p"
    wait_for "gateway" curl -sf "http://127.0.0.1:$p/healthz" || return 1
    stop open
    grep -q "WARN.*no access token" "$TMP/open.log" || grep -qi "warn.*no access token" "$TMP/open.log"
}
check "listening beyond loopback without tokens logs a warning" open_warning

# --- SIGHUP reload ---
SIM_A=$(free_port)
SIM_B=$(free_port)
HTTP_PORT=$(free_port tcp)
GW_COAP=$(free_port)
ORIGIN=$(free_port tcp)
start origin python3 "$(dirname "$0")/http_origin.py" "$ORIGIN"
start sim_a "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_A" --period-ms 300
start sim_b "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_B" --period-ms 300 --seed 7
write_config() { # write_config DEVICES-JSON [MORE-KEYS] [COAP-PORT]
    local more=${2:-', "proxy": { "timeout_ms": 2000 }'}
    cat >"$TMP/gw.json.new" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" }, "coap": { "listen": "127.0.0.1:${3:-$GW_COAP}" },
  "devices": $1 $more }
JSON
    mv "$TMP/gw.json.new" "$TMP/gw.json"
}
write_config "{ \"a\": \"coap://127.0.0.1:$SIM_A\" }"
start gw "$GW" --config "$TMP/gw.json"
G=http://127.0.0.1:$HTTP_PORT
wait_for "coapgw" curl -sf "$G/healthz"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_A/sensors/humidity"
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@"; }

reload_devices() {
    [ "$(code "$G/devices/a/sensors/temperature")" = 200 ] || return 1
    [ "$(code "$G/devices/b/sensors/temperature")" = 404 ] || return 1
    start stream timeout 30 curl -sN -H 'Accept: text/event-stream' "$G/devices/a/sensors/temperature"
    wait_for "events before the reload" bash -c "[ \$(grep -c '^event: notification' '$TMP/stream.log') -ge 2 ]" || return 1
    write_config "{ \"b\": \"coap://127.0.0.1:$SIM_B\" }"
    kill -HUP "$PID_gw"
    wait_for "the reload" grep -q "configuration reloaded: 1 devices" "$TMP/gw.log" || return 1
    [ "$(code "$G/devices/b/sensors/temperature")" = 200 ] || return 1
    [ "$(code "$G/devices/a/sensors/temperature")" = 404 ] || return 1
    # a's stream ends as its requests do: event: error 404, then the end
    wait_for "a's stream to close" bash -c "! kill -0 $PID_stream 2>/dev/null" || return 1
    grep -A1 '^event: error$' "$TMP/stream.log" |
        grep -q '^data: {"target":"coap://127.0.0.1:'"$SIM_A"'/sensors/temperature","status":404,"message":"device a was removed"}'
}
check "SIGHUP: device b replaces a (404); a stream of a opened before ends with event: error 404" reload_devices

reload_refused() {
    printf '{ "devices": { "b": "http://nope" } }\n' >"$TMP/gw.json"
    kill -HUP "$PID_gw"
    wait_for "the refusal" grep -q "reload refused: .*gw.json:1:16: devices.b: " "$TMP/gw.log" || return 1
    [ "$(code "$G/devices/b/sensors/temperature")" = 200 ] || return 1
    kill -0 "$PID_gw"
}
check "SIGHUP with a bad file: refused with a log line, the old configuration serves" reload_refused

reload_origins_tokens() {
    local O=http://127.0.0.1:$ORIGIN C=$BUILD/coapgw-client rc=0
    wait_for "origin" curl -sf "$O/hello" || return 1
    "$C" -P "127.0.0.1:$GW_COAP" "$O/hello" >/dev/null 2>"$TMP/o1" || rc=$?
    [ $rc -ne 0 ] && grep -q "4.03" "$TMP/o1" || return 1
    write_config "{ \"b\": \"coap://127.0.0.1:$SIM_B\" }" \
        ", \"proxy\": { \"allow_origins\": [\"$O\"] }, \"tokens\": [{ \"token\": \"0123456789abcdef\" }]"
    kill -HUP "$PID_gw"
    wait_for "the reload" grep -q "1 allowed origins, 1 tokens" "$TMP/gw.log" || return 1
    [ "$("$C" -P "127.0.0.1:$GW_COAP" "$O/hello")" = hello ]
}
check "SIGHUP: a new origin allowlist reaches the reverse proxy; tokens counted" reload_origins_tokens

reload_restart_only() {
    write_config "{ \"b\": \"coap://127.0.0.1:$SIM_B\" }" ', "cache": { "max_bytes": 4096 }' 1
    kill -HUP "$PID_gw"
    wait_for "the notice" grep -q "coap.listen changed: takes effect after a restart" "$TMP/gw.log" || return 1
    grep -q "cache.max_bytes changed: takes effect after a restart" "$TMP/gw.log" || return 1
    [ "$(code "$G/devices/b/sensors/temperature")" = 200 ]
}
check "SIGHUP: a changed listen address or cache size waits for a restart, the rest applies" reload_restart_only

stop stream
stop gw
finish
