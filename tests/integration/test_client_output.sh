#!/usr/bin/env bash
# coapgw-client's output for scripts and people: --json (one object per
# response, one per notification while observing) against libcoap's
# coap-server and coapgw-sim, read back with python3's json; and the
# progress bar of a block-wise transfer, on stderr only when it is a
# terminal (a pseudo-terminal here: tests/integration/pty_stderr.py).
. "$(dirname "$0")/lib.sh"
need coap-server-notls python3
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT=$BUILD/coapgw-client
LPORT=$(free_port)
SPORT=$(free_port)
L=coap://127.0.0.1:$LPORT
S=coap://127.0.0.1:$SPORT
start server coap-server-notls -A 127.0.0.1 -p "$LPORT" -d 20 -v 0
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SPORT" --period-ms 300
wait_for "coap-server" "$CLIENT" -T 1 "$L/"
wait_for "coapgw-sim" "$CLIENT" -T 1 "$S/sensors/humidity"

# json_holds FILE EXPR: EXPR (Python, on `o`, the object of FILE's one line)
# must hold; prints the object when it does not.
json_holds() {
    python3 - "$1" "$2" <<'PY'
import base64, json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1, "%d lines" % len(lines)
o = json.loads(lines[0])
opt = {x["name"]: x for x in o["options"] if x["name"]}
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("does not hold: %s\n%s" % (sys.argv[2], lines[0][:600]))
PY
}

libcoap_text() {
    "$CLIENT" --json "$L/" >"$TMP/root.json" || return 1
    # no Content-Format: the payload is a string when it is UTF-8
    json_holds "$TMP/root.json" 'o["code"] == "2.05" and o["code_name"] == "Content" and
        "This is a test server" in o["payload"] and "content_format" not in o and
        opt["Max-Age"]["number"] == 14 and opt["Max-Age"]["format"] == "uint" and
        isinstance(opt["Max-Age"]["value"], int)' || return 1
    "$CLIENT" --json "$S/sensors/temperature" >"$TMP/t.json" || return 1
    json_holds "$TMP/t.json" 'o["content_format"] == 0 and o["content_type"].startswith("text/plain") and
        float(o["payload"]) > -50 and
        opt["Content-Format"] == {"number": 12, "name": "Content-Format", "format": "uint", "value": 0}'
}
check "--json, libcoap's / and coapgw-sim's temperature: code, text payload as a string, options with number, name, value" libcoap_text

libcoap_json_and_binary() {
    "$CLIENT" -m put -t application/json -e '{"a": [1, 2.5, "x"]}' "$L/it-json" || return 1
    "$CLIENT" --json "$L/it-json" >"$TMP/j.json" || return 1
    json_holds "$TMP/j.json" 'o["payload"] == {"a": [1, 2.5, "x"]} and o["content_format"] == 50' ||
        return 1
    head -c 3000 /dev/urandom >"$TMP/bin"
    "$CLIENT" -m put -t application/octet-stream -f "$TMP/bin" "$L/it-bin" || return 1
    "$CLIENT" --json "$L/it-bin" >"$TMP/b.json" || return 1
    python3 -c 'import base64, json, sys
o = json.load(open(sys.argv[1]))
assert "payload" not in o and base64.b64decode(o["payload_base64"]) == open(sys.argv[2], "rb").read(), o.keys()
assert any(x["name"] == "Block2" and x["format"] == "uint" for x in o["options"]), o["options"]' \
        "$TMP/b.json" "$TMP/bin"
}
check "--json: a JSON payload as its value, a binary one (3000 bytes, Block2) as base64" libcoap_json_and_binary

libcoap_not_found() {
    local rc=0
    "$CLIENT" --json "$L/no-such" >"$TMP/nf.json" 2>/dev/null || rc=$?
    [ "$rc" = 1 ] && json_holds "$TMP/nf.json" 'o["code"] == "4.04" and o["code_name"] == "Not Found"'
}
check "--json, a 4.04: the object still printed, exit status 1" libcoap_not_found

sim_observe() {
    "$CLIENT" --json -s 2 "$S/sensors/humidity" >"$TMP/obs.json" || return 1
    python3 -c 'import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert len(objs) >= 3, len(objs)
seqs = [o["observe"] for o in objs]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
for o in objs:
    assert o["code"] == "2.05" and isinstance(o["payload"]["value"], (int, float)), o
    assert o["payload"]["unit"] == "%RH" and o["content_type"] == "application/json", o
    assert {"number": 6, "name": "Observe", "format": "uint", "value": o["observe"]} in o["options"]' \
        "$TMP/obs.json"
}
check "--json -s 2, coapgw-sim's humidity: one object per notification, its Observe number, the JSON value" sim_observe

sim_etag_firmware() {
    "$CLIENT" "$S/firmware" >"$TMP/fw.bin" 2>/dev/null || return 1
    "$CLIENT" --json "$S/firmware" >"$TMP/fw.json" || return 1
    python3 -c 'import base64, json, sys
o = json.load(open(sys.argv[1]))
raw = open(sys.argv[2], "rb").read()
assert len(raw) == 65536 and base64.b64decode(o["payload_base64"]) == raw
etag = [x for x in o["options"] if x["number"] == 4][0]
assert etag["name"] == "ETag" and etag["format"] == "opaque" and bytes.fromhex(etag["value"])' \
        "$TMP/fw.json" "$TMP/fw.bin"
}
check "--json, coapgw-sim's 64 KiB /firmware: base64 of the same bytes, the ETag in hex" sim_etag_firmware

progress_on_a_terminal() {
    local t0 t1
    t0=$(date +%s%N)
    python3 "$HERE/pty_stderr.py" "$TMP/pty.out" "$TMP/pty.err" "$CLIENT" "$S/firmware" || return 1
    t1=$(date +%s%N)
    [ "$(stat -c %s "$TMP/pty.out")" = 65536 ] || return 1
    python3 -c 'import re, sys
shown = open(sys.argv[1], "rb").read().decode()
assert "\r" in shown and "\x1b[K" in shown, repr(shown[:200])
assert re.search(r"\[#+\] 65536/65536 bytes, [\d.]+ [KMG]?i?B/s, 64 blocks", shown), repr(shown[-300:])
assert shown.endswith("\n"), repr(shown[-40:])
draws = shown.count("\r") - shown.count("\r\n")
# at most ten a second (the first, the last and the end drawn besides)
assert 1 <= draws <= 3 + 10 * int(sys.argv[2]) / 1e9, (draws, sys.argv[2])' "$TMP/pty.err" $((t1 - t0))
}
check "a block-wise GET with stderr on a terminal: a progress bar, ending at 65536/65536 bytes, 64 blocks, a newline" progress_on_a_terminal

progress_upload() {
    head -c 20000 /dev/urandom >"$TMP/up.bin"
    python3 "$HERE/pty_stderr.py" "$TMP/up.out" "$TMP/up.err" \
        "$CLIENT" -m put -t application/octet-stream -f "$TMP/up.bin" "$L/it-up" || return 1
    grep -aq "up \[#*\] 20000/20000 bytes" "$TMP/up.err"
}
check "a Block1 PUT of 20000 bytes on a terminal: the bar counts up to 20000/20000" progress_upload

no_bar_elsewhere() {
    "$CLIENT" "$S/firmware" >"$TMP/nt.out" 2>"$TMP/nt.err" || return 1
    [ "$(stat -c %s "$TMP/nt.out")" = 65536 ] && [ ! -s "$TMP/nt.err" ] || return 1
    # a terminal, but nothing block-wise: no bar either
    python3 "$HERE/pty_stderr.py" "$TMP/small.out" "$TMP/small.err" "$CLIENT" "$S/sensors/temperature" ||
        return 1
    [ ! -s "$TMP/small.err" ]
}
check "stderr not a terminal: no bar (stderr empty); a terminal and one message: no bar" no_bar_elsewhere

finish
