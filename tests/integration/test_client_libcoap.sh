#!/usr/bin/env bash
# coapgw-client (our CoAP client engine) against libcoap's coap-server.
. "$(dirname "$0")/lib.sh"
need coap-server-notls python3
CLIENT=$BUILD/coapgw-client
PORT=$(free_port)
URI=coap://127.0.0.1:$PORT
start server coap-server-notls -A 127.0.0.1 -p "$PORT" -d 20 -v 0
wait_for "coap-server" "$CLIENT" -T 1 "$URI/"

get_root() { "$CLIENT" "$URI/" | grep -q "This is a test server"; }
check "GET / returns libcoap's greeting" get_root

put_get_delete() {
    "$CLIENT" -m put -t text/plain -e "hello coapgw" "$URI/it-put" 2>"$TMP/put.err" || return 1
    [ "$("$CLIENT" "$URI/it-put")" = "hello coapgw" ] || return 1
    "$CLIENT" -v -m DELETE "$URI/it-put" 2>"$TMP/del.err" || return 1
    grep -q "2.02 Deleted" "$TMP/del.err" || return 1
    local rc=0
    "$CLIENT" "$URI/it-put" >/dev/null 2>"$TMP/gone.err" || rc=$?
    [ "$rc" -eq 1 ] && grep -q "4.04" "$TMP/gone.err"
}
check "PUT creates, GET reads back, DELETE removes (4.04 after)" put_get_delete

method_code() { "$CLIENT" -m 0.01 "$URI/" | grep -q "test server"; }
check "method given as a code (0.01)" method_code

separate_response() {
    local t0 t1
    t0=$(date +%s%N)
    "$CLIENT" -v "$URI/async?1" 2>"$TMP/async.err" >/dev/null || return 1
    t1=$(date +%s%N)
    grep -q "2.05" "$TMP/async.err" && [ $(((t1 - t0) / 1000000)) -ge 900 ]
}
check "separate (delayed) response from /async?1" separate_response

non_request() { "$CLIENT" -N "$URI/" | grep -q "test server"; }
check "NON request" non_request

observe_time() {
    "$CLIENT" -s 4 "$URI/time" >"$TMP/obs.out" 2>"$TMP/obs.err" || return 1
    local n
    n=$(grep -c . "$TMP/obs.out")
    [ "$n" -ge 3 ] || { echo "only $n notifications"; cat "$TMP/obs.err"; return 1; }
}
check "observe /time for 4 s: several notifications, then deregistered" observe_time

blockwise() {
    head -c 60000 /dev/urandom >"$TMP/big.bin"
    "$CLIENT" -m put -t application/octet-stream -f "$TMP/big.bin" "$URI/it-big" || return 1
    "$CLIENT" -v "$URI/it-big" >"$TMP/big.out" 2>"$TMP/big.err" || return 1
    grep -q "Block2" "$TMP/big.err" && cmp -s "$TMP/big.bin" "$TMP/big.out"
}
check "60 KB PUT with Block1, GET back with Block2, byte for byte" blockwise

unreachable() {
    local dead rc=0
    dead=$(free_port)
    "$CLIENT" -T 5 "coap://127.0.0.1:$dead/x" 2>"$TMP/dead.err" || rc=$?
    [ "$rc" -eq 3 ] && grep -q "unreachable" "$TMP/dead.err"
}
check "a closed port is reported unreachable (ICMP), exit 3" unreachable

bad_args() {
    local rc=0
    "$CLIENT" -m BREW "$URI/" 2>/dev/null || rc=$?
    [ "$rc" -eq 2 ] || return 1
    rc=0
    "$CLIENT" "http://127.0.0.1/" 2>/dev/null || rc=$?
    [ "$rc" -eq 2 ]
}
check "bad arguments exit 2 with a message" bad_args

help_text() { "$CLIENT" --help | grep -q -- "-P HOST:PORT"; }
check "--help documents the flags" help_text

stop server
finish
