#!/usr/bin/env bash
# http.max_connections_per_ip counts an IPv6 client by its /64 (one host
# may use any of its 2^64 addresses), ::1 (and IPv4) by address
# (docs/security.md). The listener is [::] (IPv6 only: libmicrohttpd sets
# IPV6_V6ONLY). Addresses of
# fd00:1::/64 and fd00:2::/64 on lo, so it runs in a network namespace of
# its own.
. "$(dirname "$0")/netns.sh"
lab_reexec "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl python3
ip link set lo up
lab_sysctls
ip -6 addr add fd00:1::100/64 dev lo
for a in 1 2 3; do ip -6 addr add "fd00:1::$a/64" dev lo; done
ip -6 addr add fd00:2::1/64 dev lo
HTTP_PORT=$(free_port tcp)
start gw env -u COAPGW_CONFIG "$BUILD/coapgw" --http-listen "[::]:$HTTP_PORT" --coap-listen 127.0.0.1:0 \
    --set state.path= --set http.max_connections_per_ip=2
wait_for "coapgw" curl -sf "http://[::1]:$HTTP_PORT/healthz"

per_site() {
    python3 - "$HTTP_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])

def conn(host, source=None):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(2)
    s.connect((host, port))
    return s

def served(s):
    """A request on s is answered (the connection was accepted)."""
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

good = True
def expect(what, cond):
    global good
    print(("ok   " if cond else "FAIL ") + what)
    good &= cond

a, b = conn("fd00:1::100", "fd00:1::1"), conn("fd00:1::100", "fd00:1::2")
time.sleep(0.3)
c = conn("fd00:1::100", "fd00:1::3")
expect("fd00:1::3, a third of the /64 of two open ones, refused", not served(c))
d = conn("fd00:1::100", "fd00:2::1")
expect("fd00:2::1, another /64, served", served(d))
e, f = conn("::1"), conn("::1")
time.sleep(0.3)
g = conn("::1")
expect("::1 twice served, a third refused: ::1 counts as itself", served(e) and served(f) and not served(g))
expect("the two of the /64 served", served(a) and served(b))
for s in (a, b, c, d, e, f, g):
    s.close()
time.sleep(0.3)
i = conn("fd00:1::100", "fd00:1::3")
expect("fd00:1::3 once they closed: served", served(i))
sys.exit(0 if good else 1)
PY
}
check "http.max_connections_per_ip 2: fd00:1::1, ::2 held, ::3 (the same /64) refused; fd00:2::1 served; ::1 as itself" per_site

finish
