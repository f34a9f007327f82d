#!/usr/bin/env bash
# libcoap's coap-client against coapgw-sim (our CoAP server role).
. "$(dirname "$0")/lib.sh"
need coap-client-notls python3
C=coap-client-notls
PORT=$(free_port)
U=coap://127.0.0.1:$PORT
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$PORT" --period-ms 300 --slow-ms 1000 --seed 7
wait_for "coapgw-sim" "$C" -B 1 "$U/sensors/temperature"

discovery() {
    "$C" -B 3 "$U/.well-known/core" >"$TMP/wk" || return 1
    local r
    for r in '</sensors/temperature>;rt="temperature-c"' '</sensors/humidity>' '</actuators/led>' \
        '</firmware>;rt="firmware";ct=42;sz=65536' '</echo>' '</slow>'; do
        grep -qF "$r" "$TMP/wk" || { echo "missing $r"; return 1; }
    done
    grep -q 'temperature-c";if="sensor";ct=0;obs' "$TMP/wk"
}
check "discovery lists every resource with rt, ct and obs" discovery

filtered() {
    "$C" -B 3 "$U/.well-known/core?rt=temp*" >"$TMP/wkf" || return 1
    grep -q '</sensors/temperature>' "$TMP/wkf" && ! grep -q '</firmware>' "$TMP/wkf"
}
check "discovery filters ?rt=temp*" filtered

get_sensors() {
    "$C" -B 3 "$U/sensors/temperature" | grep -Eq '^[0-9]+\.[0-9]$' || return 1
    "$C" -B 3 "$U/sensors/humidity" | grep -q '"unit": "%RH"'
}
check "GET temperature (text) and humidity (JSON)" get_sensors

led() {
    "$C" -B 3 -m put -e on "$U/actuators/led" >/dev/null || return 1
    [ "$("$C" -B 3 "$U/actuators/led")" = "on" ] || return 1
    "$C" -B 3 -m put -e off "$U/actuators/led" >/dev/null || return 1
    [ "$("$C" -B 3 "$U/actuators/led")" = "off" ] || return 1
    "$C" -B 3 -m put -e blink "$U/actuators/led" 2>&1 | grep -q "4.00"
}
check "PUT on/off to the LED, anything else 4.00" led

echo_methods() {
    local m
    for m in post put fetch ipatch; do
        [ "$("$C" -B 3 -m "$m" -t 50 -e '{"x":1}' "$U/echo")" = '{"x":1}' ] || { echo "$m"; return 1; }
    done
}
check "POST, PUT, FETCH, iPATCH echo the payload" echo_methods

errors() {
    "$C" -B 3 "$U/nope" 2>&1 | grep -q "4.04" || return 1
    "$C" -B 3 -m delete "$U/echo" 2>&1 | grep -q "4.05"
}
check "unknown path 4.04, unsupported method 4.05" errors

observe() {
    "$C" -B 3 -s 2 "$U/sensors/temperature" >"$TMP/obs" 2>&1 || true
    local n
    n=$(grep -Eo '[0-9]+\.[0-9]' "$TMP/obs" | wc -l)
    [ "$n" -ge 4 ] || { echo "only $n notifications"; cat "$TMP/obs"; return 1; }
}
check "observe /sensors/temperature: several notifications" observe

firmware() {
    "$C" -B 5 -o "$TMP/fw-libcoap" "$U/firmware" || return 1
    "$BUILD/coapgw-client" "$U/firmware" >"$TMP/fw-ours" || return 1
    [ "$(stat -c %s "$TMP/fw-libcoap")" -eq 65536 ] && cmp -s "$TMP/fw-libcoap" "$TMP/fw-ours"
}
check "65,536-byte /firmware block-wise, every byte equal" firmware

slow() {
    local t0 t1
    t0=$(date +%s%N)
    [ "$("$C" -B 5 "$U/slow")" = "finally" ] || return 1
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -ge 900 ]
}
check "/slow answers as a separate response after --slow-ms" slow

block1_echo() {
    head -c 20000 /dev/urandom >"$TMP/up.bin"
    "$C" -B 5 -m put -t 42 -b 512 -f "$TMP/up.bin" -o "$TMP/up.echo" "$U/echo" || return 1
    cmp -s "$TMP/up.bin" "$TMP/up.echo" || return 1
    "$BUILD/coapgw-client" -m post -f "$TMP/up.bin" "$U/echo" | cmp -s - "$TMP/up.bin"
}
check "20 KB PUT with Block1 (libcoap and ours) echoed back with Block2" block1_echo

clean_exit() {
    stop sim
    grep -q "coapgw-sim: stopping" "$TMP/sim.log"
}
check "SIGTERM ends the simulator cleanly" clean_exit
finish
