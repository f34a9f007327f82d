#!/usr/bin/env bash
# Origins no range opens (issue #13, RFC 8075 §10): with proxy.allow_origins
# as broad as 0.0.0.0/0, ::/0 or 0.0.0.0/1, Proxy-Uri never reaches cloud
# metadata (169.254.169.254, fd00:ec2::254), loopback, 0.0.0.0 or
# link-local addresses; only an origin entry naming scheme, address and
# port (http://127.0.0.1:A) opens one, and only that port. HTTP servers
# listen on those addresses inside a network namespace that has only
# loopback, and their logs
# show that a refused request never reached them.
if [ -z "${COAPGW_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (needs root and unshare)"
        exit 77
    fi
    exec unshare -n env COAPGW_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip addr add fd00:ec2::254/128 dev lo nodad
ip addr add 10.9.0.1/32 dev lo # an ordinary address, for the ranges that do apply
. "$(dirname "$0")/lib.sh"
need coap-client-notls python3 curl
HERE=$(cd "$(dirname "$0")" && pwd)
C=$BUILD/coapgw-client
A=$(free_port tcp) # the origin named exactly
B=$(free_port tcp) # another origin on loopback
Z=$(free_port tcp) # on 0.0.0.0
V=$(free_port tcp) # on ::1
T=$(free_port tcp) # on 10.9.0.1, an ordinary address
mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
# serve NAME ADDR PORT: python's HTTP server, one log line per request
serve() { start "$1" python3 -m http.server "$3" --bind "$2" --directory "$TMP/www"; }
start origin python3 "$HERE/http_origin.py" "$A"
serve meta4 169.254.169.254 80
serve meta6 fd00:ec2::254 80
serve other 127.0.0.1 "$B"
serve any 0.0.0.0 "$Z"
serve v6lo ::1 "$V"
serve ten 10.9.0.1 "$T"
listening() { python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' "$@"; }
for s in "169.254.169.254 80" "fd00:ec2::254 80" "127.0.0.1 $A" "127.0.0.1 $B" "0.0.0.0 $Z" "::1 $V" "10.9.0.1 $T"; do
    # shellcheck disable=SC2086
    wait_for "an origin on $s" listening $s
done
requests() { grep -c '"[A-Z]* /' "$TMP/$1.log" || true; }

# start_gw NAME ARGS...: a gateway on fresh ports; P is its CoAP host:port
start_gw() {
    local name=$1 http
    shift
    http=$(free_port tcp)
    GW_COAP=$(free_port)
    start "$name" "$BUILD/coapgw" --http-listen "127.0.0.1:$http" \
        --coap-listen "127.0.0.1:$GW_COAP" --set proxy.timeout_ms=3000 "$@"
    P=127.0.0.1:$GW_COAP
    wait_for "coapgw $name" curl -sf "http://127.0.0.1:$http/healthz"
}
# refused URL...: each is answered 4.03 through coapgw-client -P
refused() {
    local u rc
    for u in "$@"; do
        rc=0
        "$C" -T 10 -P "$P" "$u" >"$TMP/r.body" 2>"$TMP/r.err" || rc=$?
        [ $rc -eq 1 ] && grep -q "4.03" "$TMP/r.err" || { echo "not refused: $u"; cat "$TMP/r.err"; return 1; }
        grep -q "allow_origins\|address check" "$TMP/r.body" || { echo "no reason: $u"; return 1; }
    done
}
nothing_reached() {
    local s
    for s in "$@"; do
        [ "$(requests "$s")" = 0 ] || { echo "$s got $(requests "$s") request(s)"; return 1; }
    done
}

# --- the broadest ranges ---
start_gw gw1 --allow-origin 0.0.0.0/0 --allow-origin ::/0

broad_metadata() {
    refused "http://169.254.169.254/latest/meta-data/" "http://[fd00:ec2::254]/latest/meta-data/" \
        "http://[::ffff:169.254.169.254]/latest/meta-data/" || return 1
    grep -q "only an entry naming it exactly (http://HOST:PORT) in proxy.allow_origins" "$TMP/r.body" || return 1
    coap-client-notls -B 10 -P "coap://$P" "http://169.254.169.254/latest/meta-data/" >"$TMP/lib.out" 2>&1 || true
    grep -q "4.03" "$TMP/lib.out"
}
check "0.0.0.0/0 + ::/0: Proxy-Uri to 169.254.169.254, fd00:ec2::254 (and mapped) -> 4.03 (ours and libcoap's client)" broad_metadata

broad_local() {
    refused "http://0.0.0.0:$Z/hello" "http://127.0.0.1:$B/hello" "http://[::1]:$V/hello" \
        "http://[::ffff:127.0.0.1]:$B/hello" "http://127.0.0.2:$B/hello"
}
check "0.0.0.0/0 + ::/0: 0.0.0.0, 127.0.0.1, ::1 -> 4.03" broad_local

after_dns() { # a name is resolved first; the address connected to is checked
    refused "http://localhost:$B/hello" && grep -q "address refused" "$TMP/r.body"
}
check "0.0.0.0/0: http://localhost:PORT (loopback after DNS) -> 4.03" after_dns

broad_ordinary() {
    [ "$("$C" -T 10 -P "$P" "http://10.9.0.1:$T/hello")" = hello ]
}
check "0.0.0.0/0 still opens an ordinary address (10.9.0.1)" broad_ordinary
stop gw1

start_gw gw2 --allow-origin 0.0.0.0/1
half() {
    refused "http://127.0.0.1:$B/hello" "http://0.0.0.0:$Z/hello" "http://169.254.169.254/x" || return 1
    [ "$("$C" -T 10 -P "$P" "http://10.9.0.1:$T/hello")" = hello ]
}
check "0.0.0.0/1: loopback and 0.0.0.0 -> 4.03, 10.9.0.1 passes" half
stop gw2

check "the metadata service, 0.0.0.0, ::1 and the other loopback origin got no request" \
    nothing_reached meta4 meta6 any v6lo other

# --- an origin named exactly, beside a range ---
start_gw gw3 --allow-origin "http://127.0.0.1:$A" --allow-origin 10.0.0.0/8
exact() {
    [ "$("$C" -T 10 -P "$P" "http://127.0.0.1:$A/hello")" = hello ] || return 1
    coap-client-notls -B 10 -P "coap://$P" "http://127.0.0.1:$A/hello" | grep -q hello || return 1
    refused "http://127.0.0.1:$B/hello" "https://127.0.0.1:$A/hello" "http://localhost:$A/hello" \
        "http://127.0.0.2:$A/hello" "http://0.0.0.0:$A/hello" || return 1
    [ "$("$C" -T 10 -P "$P" "http://10.9.0.1:$T/hello")" = hello ] || return 1
    nothing_reached other
}
check "http://127.0.0.1:A + 10.0.0.0/8: port A passes, port B, https, localhost, 127.0.0.2 -> 4.03" exact
stop gw3

start_gw gw4 --allow-origin "http://localhost:$A"
named_by_name() { # a listed name leads wherever DNS points, but not to loopback
    refused "http://localhost:$A/hello" && grep -q "address refused" "$TMP/r.body"
}
check "http://localhost:A listed: localhost resolves to loopback -> 4.03" named_by_name
stop gw4

config_refusal() {
    local rc=0
    printf '{ "proxy": { "allow_origins": ["10.0.0.0/8", "127.0.0.0/8"] } }\n' >"$TMP/bad.json"
    "$BUILD/coapgw" --check-config "$TMP/bad.json" >"$TMP/cc.out" 2>&1 || rc=$?
    [ $rc -eq 2 ] && grep -q 'bad.json:1:46: proxy.allow_origins\[1\]: origin range "127.0.0.0/8" lies within' "$TMP/cc.out" || return 1
    grep -q "name the origin as http://HOST:PORT" "$TMP/cc.out" || return 1
    rc=0
    "$BUILD/coapgw" --allow-origin 169.254.169.254 --version >"$TMP/cc.out" 2>&1 || rc=$?
    [ $rc -eq 2 ] && grep -q "name the origin as http://HOST:PORT" "$TMP/cc.out"
}
check "an address or range wholly in that space is refused at start and by --check-config (exit 2)" config_refusal

reload_refusal() {
    local http coap
    http=$(free_port tcp)
    coap=$(free_port)
    printf '{ "http": { "listen": "127.0.0.1:%s" }, "coap": { "listen": "127.0.0.1:%s" },\n  "proxy": { "allow_origins": ["10.0.0.0/8"] } }\n' "$http" "$coap" >"$TMP/gw5.json"
    start gw5 "$BUILD/coapgw" --config "$TMP/gw5.json"
    wait_for "coapgw gw5" curl -sf "http://127.0.0.1:$http/healthz" || return 1
    sed -i 's|"10.0.0.0/8"|"::1"|' "$TMP/gw5.json"
    kill -HUP "$PID_gw5"
    wait_for "the refused reload" grep -q "reload refused: .*origin range \"::1\" lies within" "$TMP/gw5.log" || return 1
    [ "$("$C" -T 10 -P "127.0.0.1:$coap" "http://10.9.0.1:$T/hello")" = hello ]
}
check "a reload to such an entry is refused; the old list stays" reload_refusal
stop gw5

finish
