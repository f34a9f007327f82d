#!/usr/bin/env bash
# Durable state (state.path, docs/rd.md "Durability"): 100 registrations
# survive kill -9 with their lifetimes continuing, one that expired while
# the gateway was down is gone; a registration over DTLS keeps its owner;
# a corrupt, truncated or foreign file, and one held by another gateway,
# stop the start with exit 2 naming the file, which is left unchanged; a
# state directory that another gateway makes at the same moment is used; a
# commit that fails (the file's disk full: a tiny tmpfs) answers 5.00 and
# announces nothing. Runs in its own network and mount namespaces (the
# tmpfs is mounted there, seen by nobody else).
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n -m true 2>/dev/null; then
        echo "SKIP: cannot create network and mount namespaces (needs root and unshare)"
        exit 77
    fi
    exec unshare -n -m env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
need curl coap-client-notls coap-client-gnutls python3 sha256sum
SIM_PORT=$(free_port)
GW_COAP=$(free_port)
GW_DTLS=$(free_port)
HTTP_PORT=$(free_port tcp)
G=http://127.0.0.1:$HTTP_PORT
RD=coap://127.0.0.1:$GW_COAP
DB=$TMP/state/gw.db
printf 'node1-secret' >"$TMP/node1.key"
chmod 600 "$TMP/node1.key"
cat >"$TMP/gw.json" <<JSON
{ "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "coap": { "listen": "127.0.0.1:$GW_COAP", "listen_dtls": "127.0.0.1:$GW_DTLS" },
  "dtls": { "identities": [ { "psk": "node1", "key_file": "$TMP/node1.key", "names": ["secure1"] } ] },
  "rd": { "max_per_source": 200, "max_registrations": 500 },
  "devices": {} }
JSON
start sim "$BUILD/coapgw-sim" --listen "127.0.0.1:$SIM_PORT"
wait_for "coapgw-sim" "$BUILD/coapgw-client" -T 1 "coap://127.0.0.1:$SIM_PORT/echo" -m post

# gateway NAME [ARGS...]: a gateway on the ports above, state in $DB
gateway() {
    COAPGW_STATE_PATH=$DB start "$1" "$BUILD/coapgw" --config "$TMP/gw.json" "${@:2}"
    wait_for "coapgw $1" curl -sf "$G/healthz"
}
# coap ARGS...: the code of the last response ("-": none), output in $TMP/coap.out
coap() {
    "$@" -B 3 -v 6 >"$TMP/coap.out" 2>&1 || true
    local c
    c=$(grep -o 't:ACK c:[0-9.]*\|t:CON c:[2-5]\.[0-9]*' "$TMP/coap.out" | tail -1 | sed 's/.*c://')
    echo "${c:--}"
}
register() { # register NAME LT: 2.01 from coap-client-notls, base the simulator
    [ "$(coap coap-client-notls -m post -t 40 -e '</sensors/temperature>;rt="t"' \
        "$RD/rd?ep=$1&lt=$2&base=coap://127.0.0.1:$SIM_PORT")" = 2.01 ]
}
devices() { curl -s "$G/api/devices" | python3 -c 'import json,sys; print(" ".join(sorted(d["name"] for d in json.load(sys.stdin) if d["source"] == "rd")))'; }
has() { [[ " $(devices) " == *" $1 "* ]]; }
metric() { curl -s "$G/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
kill9() { # kill9 NAME: no chance to close anything
    local var="PID_${1//-/_}"
    kill -9 "${!var}" 2>/dev/null || true
    wait "${!var}" 2>/dev/null || true
}

gateway gw1
hundred() {
    local i
    for i in $(seq -w 1 100); do register "dev$i" 3600 || { echo "  dev$i: $(tail -2 "$TMP/coap.out")"; return 1; }; done
    [ "$(devices | wc -w)" = 100 ]
}
check "100 registrations (coap-client-notls)" hundred
check "one with lt=12 (continues) and one with lt=2 (expires while down)" \
    eval 'register lasting 12 && register brief 2'
secure() {
    [ "$(coap coap-client-gnutls -k node1-secret -u node1 -m post -t 40 -e '</s>' \
        "coaps://127.0.0.1:$GW_DTLS/rd?ep=secure1&lt=600")" = 2.01 ] || return 1
    SECURE_LOC=$(grep -o 'Location-Path:[^,]*, Location-Path:[^ ]*' "$TMP/coap.out" | tail -1 |
        sed 's/Location-Path://g; s/, /\//')
    [ -n "$SECURE_LOC" ]
}
check "a registration over DTLS (psk:node1)" secure
stat -c %a "$DB" >"$TMP/mode"
check "the state file is created with mode 0600, its directory 0700" \
    eval '[ "$(stat -c %a "$DB")" = 600 ] && [ "$(stat -c %a "$TMP/state")" = 700 ]'

kill9 gw1
sleep 3 # brief (lt=2) expires while the gateway is down
gateway gw2
back() {
    local n i
    n=$(devices | wc -w)
    [ "$n" = 102 ] || { echo "  $n registrations back: $(devices | tr ' ' '\n' | grep -v '^dev' | xargs)"; return 1; }
    for i in $(seq -w 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$G/devices/dev$i/sensors/temperature")" = 200 ] ||
            { echo "  dev$i not reachable"; return 1; }
    done
    grep -q 'rd: 102 registration(s) restored from .*gw.db (1 expired while the gateway was down' "$TMP/gw2.log"
}
check "after kill -9: all 100 back in /api/devices and reachable, the restore logged" back
check "the one that expired while the gateway was down is gone (and logged)" \
    eval '! has brief && grep -q "rd: start: expired while the gateway was down: removed brief" "$TMP/gw2.log"'
# logged_at LOG PATTERN: the timestamp of the first line of $TMP/LOG with
# PATTERN, in seconds since the epoch (nothing if there is none)
logged_at() {
    grep -m1 "$2" "$TMP/$1" | python3 -c 'import datetime,sys
line = sys.stdin.readline()
if line:
    t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    print(t.replace(tzinfo=datetime.timezone.utc).timestamp())'
}
continuing() {
    # Timed by the gateways' own log lines, not by when this script gets
    # to look (a loaded machine delays the checks before this one by many
    # seconds). Restored, it expires 12 s after its registration (expiry
    # kept to the whole second: 11 s at least); counted from the restart,
    # it would expire 12 s after gw2 restored it, at least 3 s later.
    local deadline=$((SECONDS + 30)) reg back exp
    until grep -q 'rd: expired lasting' "$TMP/gw2.log"; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "  no expiry of lasting logged in 30 s"; return 1; }
        sleep 0.1
    done
    reg=$(logged_at gw1.log 'rd: registered lasting ')
    back=$(logged_at gw2.log 'rd: 102 registration(s) restored')
    exp=$(logged_at gw2.log 'rd: expired lasting ')
    python3 -c 'import sys; r, b, e = map(float, sys.argv[1:]); sys.exit(not (r + 11 <= e < b + 12))' \
        "$reg" "$back" "$exp" || {
        echo "  registered $reg, restored $back, expired $exp"
        return 1
    }
    ! has lasting
}
check "its lifetime continues across the restart (lt=12 expires 12 s after registering)" continuing
owner() {
    curl -s "$G/api/devices/secure1" | grep -q '"auth": *"psk:node1"' || return 1
    # plaintext may not remove it; its identity may, through a new session
    [ "$(coap coap-client-notls -m delete "$RD/$SECURE_LOC")" = 4.03 ] || return 1
    [ "$(coap coap-client-gnutls -k node1-secret -u node1 -m delete "coaps://127.0.0.1:$GW_DTLS/$SECURE_LOC")" = 2.02 ] || return 1
    ! has secure1
}
check "the DTLS registration keeps its owner across the restart (auth psk:node1, 4.03 to plaintext)" owner

# --- files that stop the start ---
# refused FILE WHAT: a gateway on FILE exits 2 naming it and WHAT, the file unchanged
refused() {
    local sum rc=0
    sum=$(sha256sum <"$1")
    COAPGW_STATE_PATH=$1 timeout 10 "$BUILD/coapgw" --config "$TMP/gw.json" \
        --set http.listen=127.0.0.1:0 --set coap.listen=127.0.0.1:0 --set coap.listen_dtls=127.0.0.1:0 \
        >"$TMP/refused.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] || { echo "  exit $rc: $(cat "$TMP/refused.out")"; return 1; }
    grep -q "state.path $1: .*$2" "$TMP/refused.out" || { echo "  $(cat "$TMP/refused.out")"; return 1; }
    [ "$(sha256sum <"$1")" = "$sum" ] || { echo "  $1 changed"; return 1; }
}
check "a file held by another gateway: exit 2 naming it, unchanged" refused "$DB" "in use by another process"
stop gw2 # SIGTERM: the WAL is checkpointed into the file
cp "$DB" "$TMP/copy.db"
head -c $(($(stat -c %s "$TMP/copy.db") / 2 + 100)) "$TMP/copy.db" >"$TMP/truncated.db"
check "a truncated copy of a real database: exit 2, corrupt, unchanged" refused "$TMP/truncated.db" "corrupt"
head -c 20000 /dev/urandom >"$TMP/garbage.db"
check "garbage bytes: exit 2, not a SQLite database, unchanged" refused "$TMP/garbage.db" "not a SQLite database"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$TMP/other.db"
check "another application's database: exit 2, unchanged" refused "$TMP/other.db" "not a coapgw database"
# mkdir_lost: the directory appears between the gateway's stat and its
# mkdir (another gateway starting at the same moment made it). Made
# deterministic with a preloaded mkdir that makes the directory first, so
# that the real mkdir answers EEXIST.
mkdir_lost() {
    cat >"$TMP/mkdir_race.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/stat.h>
int mkdir(const char *path, mode_t mode)
{
    int (*real)(const char *, mode_t) = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
    real(path, mode); /* "the other gateway" */
    return real(path, mode);
}
C
    cc -shared -fPIC -o "$TMP/mkdir_race.so" "$TMP/mkdir_race.c" -ldl || return 1
    local rc=0
    # (an ASan build wants its runtime first among the libraries: the shim
    # before it is harmless, it intercepts nothing ASan does)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        LD_PRELOAD=$TMP/mkdir_race.so COAPGW_STATE_PATH=$TMP/race/a/b/gw.db timeout 1 "$BUILD/coapgw" \
        --config "$TMP/gw.json" --set http.listen=127.0.0.1:0 --set coap.listen=127.0.0.1:0 \
        --set coap.listen_dtls=127.0.0.1:0 >"$TMP/race.out" 2>&1 || rc=$?
    [ "$rc" = 124 ] || { echo "  exit $rc: $(cat "$TMP/race.out")"; return 1; }
    [ -f "$TMP/race/a/b/gw.db" ]
}
check "the state directory made by another process between stat and mkdir (EEXIST): the gateway starts" mkdir_lost
check "the real database was left as it was by all that, and opens" \
    eval 'gateway gw3 && [ "$(devices | wc -w)" = 100 ]'
stop gw3

# --- state.path "": memory only ---
forgets() {
    COAPGW_STATE_PATH= start mem1 "$BUILD/coapgw" --config "$TMP/gw.json"
    wait_for "coapgw mem1" curl -sf "$G/healthz" || return 1
    register memdev 600 && has memdev || return 1
    grep -q 'state.path is "": registrations are kept in memory only' "$TMP/mem1.log" || return 1
    kill9 mem1
    COAPGW_STATE_PATH= start mem2 "$BUILD/coapgw" --config "$TMP/gw.json"
    wait_for "coapgw mem2" curl -sf "$G/healthz" || return 1
    ! has memdev
    local rc=$?
    stop mem2
    return $rc
}
effect state.path '"" keeps registrations in memory only: a restart forgets them (with a path: remembered, above)' forgets

# --- SIGHUP does not move the state file: state.path waits for a restart ---
reload_keeps_file() {
    sed "s|\"devices\": {}|\"devices\": {}, \"state\": { \"path\": \"$TMP/r1.db\" }|" "$TMP/gw.json" >"$TMP/r.json"
    start rgw env -u COAPGW_STATE_PATH "$BUILD/coapgw" --config "$TMP/r.json"
    wait_for "coapgw rgw" curl -sf "$G/healthz" || return 1
    [ -e "$TMP/r1.db" ] || return 1
    sed -i 's|r1\.db|r2.db|' "$TMP/r.json"
    kill -HUP "$PID_rgw"
    wait_for "the reload" grep -q 'reload: state.path changed: takes effect after a restart' "$TMP/rgw.log" || return 1
    register afterhup 600 && has afterhup || return 1
    [ ! -e "$TMP/r2.db" ]
    local rc=$?
    stop rgw
    return $rc
}
check "SIGHUP with a new state.path: logged, the file in use stays until a restart" reload_keeps_file

# --- a commit that fails: the disk of the state file is full ---
mkdir "$TMP/small"
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$TMP/small" # a fresh tmpfs is 1777: refused
full() {
    DB=$TMP/small/gw.db gateway gwfull || return 1
    register before 600 || return 1
    dd if=/dev/zero of="$TMP/small/filler" bs=4k 2>/dev/null || true # until ENOSPC
    [ "$(coap coap-client-notls -m post -t 40 -e '</x>' "$RD/rd?ep=refused&lt=600&base=coap://127.0.0.1:$SIM_PORT")" = 5.00 ] ||
        { echo "  $(grep -v '^v:1' "$TMP/coap.out" | tail -2)"; return 1; }
    grep -q 'cannot save the registration' "$TMP/coap.out" || return 1
    ! has refused || return 1
    grep -q 'state: cannot save the registration of refused' "$TMP/gwfull.log" || return 1
    [ "$(metric coapgw_state_errors_total)" -ge 1 ] || return 1
    rm -f "$TMP/small/filler" # room again: the next one is saved
    register refused 600 && has refused
}
check "a failed commit (disk full): 5.00 with a diagnostic, not announced, logged and counted" full
stop gwfull
umount "$TMP/small"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
