# shellcheck shell=bash
# Shared helpers for the integration tests (sourced). Every process a test
# starts is recorded by PID and killed on exit; ports are picked free on
# loopback; every wait is bounded.
set -euo pipefail

BUILD=${1:?usage: $0 BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
TMP=$(mktemp -d /tmp/coapgw-it.XXXXXX)
PIDS=()
PASSED=0
FAILED=0

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP_TMP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

need() { # need TOOL...: skip (ctest code 77) when a peer is missing
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "SKIP: $t not installed (tools/deps.sh test installs it)"; exit 77; }
    done
}

# A free UDP (or TCP with "tcp") port on 127.0.0.1, chosen by the kernel.
free_port() {
    python3 - "${1:-udp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# Durable state (state.path): every coapgw a test runs gets a file of its
# own under $TMP, never the shared default /var/lib/coapgw/state.db (two
# gateways on one file: the second stops at start). A coapgw run in the
# foreground uses $STATE_DEFAULT; `start` gives each one $TMP/NAME.state.db,
# unless the test set COAPGW_STATE_PATH to something else itself.
STATE_DEFAULT=$TMP/state.db
export COAPGW_STATE_PATH=${COAPGW_STATE_PATH-$STATE_DEFAULT}

# start NAME CMD...: runs CMD in the background, logs to $TMP/NAME.log
# reload [NAME]: SIGHUP to gateway NAME (started by start, default gw), then
# wait (5 s) until its log has one more reload line of either kind than
# before the last reload of it.
reload() {
    local name=${1:-gw} _
    local pid_var="PID_$name" count_var="RELOADS_$name"
    printf -v "$count_var" '%d' $((${!count_var:-0} + 1))
    kill -HUP "${!pid_var}"
    for _ in $(seq 1 50); do
        [ "$(grep -c 'configuration reloaded\|reload refused' "$TMP/$name.log")" -ge "${!count_var}" ] && return 0
        sleep 0.1
    done
    return 1
}

start() {
    local name=$1 state=$COAPGW_STATE_PATH
    shift
    [ "$state" != "$STATE_DEFAULT" ] || state=$TMP/$name.state.db
    COAPGW_STATE_PATH=$state "$@" >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_${name//-/_}=$!"
}

stop() { # stop NAME: SIGTERM to the PID recorded by start
    local var="PID_${1//-/_}"
    kill "${!var}" 2>/dev/null || true
    wait "${!var}" 2>/dev/null || true
}

# wait_for DESCRIPTION CMD...: retries CMD every 0.1 s for up to 10 s
wait_for() {
    local what=$1 _
    shift
    for _ in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for $what" >&2
    return 1
}

# within SECONDS CMD...: CMD succeeds within that time (polled every
# 0.1 s). Its own names start with _within_, so CMD still sees a caller's
# $n or $i.
within() {
    local _within_tries=$(($1 * 10)) _within_i
    shift
    for _within_i in $(seq 1 "$_within_tries"); do "$@" && return 0; sleep 0.1; done
    return 1
}

ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

# check NAME CMD...: a passing command is a passing check
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}

# effect KEY WHAT FUNCTION [ARGS]: a check of configuration key KEY's
# effect (tests/lint/test_config_keys.sh finds every key's)
effect() { check "$1: $2" "${@:3}"; }

# status BODYFILE CURL-ARGS...: runs curl, stores the body in BODYFILE and
# the headers in $TMP/headers, prints the HTTP status
status() {
    local out=$1
    shift
    curl -g -s -o "$out" -D "$TMP/headers" -w '%{http_code}' "$@"
}
# hdr NAME: that header's value from the last response `status` stored
hdr() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

finish() {
    if [ "$FAILED" -gt 0 ]; then # the logs of what ran, to tell why
        local f
        for f in "$TMP"/*.log; do
            [ -e "$f" ] || continue
            echo "--- tail of $(basename "$f")"
            tail -n 15 "$f"
        done
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# tls_cert DIR NAME CN SERIAL KIND [CA]: DIR/NAME.key (mode 0600) and
# DIR/NAME.crt made with openssl, valid for two days: a self-signed CA
# (KIND ca), or a certificate from DIR/CA.crt for a TLS server (KIND
# server: 127.0.0.1, ::1 and localhost) or client (KIND client). SERIAL
# in hex. Test keys, made by the test, never committed.
tls_cert() {
    local dir=$1 name=$2 cn=$3 serial=$4 kind=$5 ca=${6:-}
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null
    chmod 600 "$dir/$name.key"
    if [ "$kind" = ca ]; then
        openssl req -x509 -new -key "$dir/$name.key" -subj "/CN=$cn" -days 2 -set_serial "0x$serial" \
            -out "$dir/$name.crt" 2>/dev/null
        return
    fi
    case $kind in
    server) printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n' ;;
    client) printf 'extendedKeyUsage=clientAuth\n' ;;
    esac >"$dir/$name.ext"
    openssl req -new -key "$dir/$name.key" -subj "/CN=$cn" 2>/dev/null |
        openssl x509 -req -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -set_serial "0x$serial" -days 2 \
            -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}
