#!/usr/bin/env python3
"""HTTP clients that hold connections, for the connection limits:
  slowloris PORT N SECONDS  N connections that send one header line every
                            0.2 s and never finish, plus one keep-alive
                            client that sends GET /healthz every 0.3 s on
                            one connection; prints one line per trickling
                            connection, "trickle closed after S" or
                            "trickle open after S", then "keepalive OK/SENT
                            same-connection|reconnected"
  per_ip PORT LIMIT         opens LIMIT idle connections, then one more that
                            sends a request: prints "extra refused" or
                            "extra answered STATUS"; then a request on each
                            of the first: "held answered N/LIMIT"
  tls_stall PORT SECONDS    two connections to an HTTPS port that never
                            finish a TLS handshake: one sends nothing, one
                            the first bytes of a ClientHello; prints "stall
                            closed after S" or "stall open after S" for each
With COAPGW_CAFILE=FILE in the environment, slowloris and per_ip speak
HTTPS (TLS with that CA, the handshake done at connection time).
127.0.0.1 only; every wait is bounded; exits within SECONDS + 5 s."""
import http.client
import os
import socket
import ssl
import sys
import time

HOST = "127.0.0.1"
CAFILE = os.environ.get("COAPGW_CAFILE")
TLS = ssl.create_default_context(cafile=CAFILE) if CAFILE else None


def connect(port):
    """A connection, over TLS when COAPGW_CAFILE is set."""
    s = socket.create_connection((HOST, port), timeout=2)
    return TLS.wrap_socket(s, server_hostname=HOST) if TLS else s


def keepalive_client(port):
    if TLS:
        return http.client.HTTPSConnection(HOST, port, timeout=2, context=TLS)
    return http.client.HTTPConnection(HOST, port, timeout=2)


def trickle(port, n, seconds):
    conns, t0 = [], time.time()
    for _ in range(n):
        s = connect(port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        s.setblocking(False)
        conns.append([s, None])
    keep = keepalive_client(port)
    sent = answered = 0
    first_sock = None
    reconnected = False
    next_get = time.time()
    while time.time() - t0 < seconds:
        for c in conns:
            if c[1] is not None:
                continue
            try:
                if c[0].recv(512) == b"":
                    c[1] = time.time() - t0
                    continue
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            except OSError:
                c[1] = time.time() - t0
                continue
            try:
                c[0].send(b"X-Slow: 1\r\n")
            except OSError:
                c[1] = time.time() - t0
        if time.time() >= next_get:
            next_get += 0.3
            sent += 1
            try:
                keep.request("GET", "/healthz")
                r = keep.getresponse()
                r.read()
                answered += r.status == 200
                if first_sock is None:
                    first_sock = keep.sock
                elif keep.sock is not first_sock:
                    reconnected = True
            except (OSError, http.client.HTTPException):
                reconnected = True
                keep.close()
        time.sleep(0.2)
    for s, closed in conns:
        if closed is None:
            print("trickle open after %.2f" % (time.time() - t0))
        else:
            print("trickle closed after %.2f" % closed)
        s.close()
    print("keepalive %d/%d %s" % (answered, sent, "reconnected" if reconnected else "same-connection"))


def get_on(sock):
    """Sends GET /healthz on sock; the status, or None when the server
    closed the connection without an answer (or during the handshake)."""
    if sock is None:
        return None
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = sock.recv(4096)
    except OSError:
        return None
    return data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else None


def connect_or_none(port):
    try:
        return connect(port)
    except OSError:  # the TLS handshake of a refused connection
        return None


def per_ip(port, limit):
    held = [connect(port) for _ in range(limit)]
    time.sleep(0.3)  # all accepted
    extra = connect_or_none(port)
    status = get_on(extra)
    print("extra refused" if status is None else "extra answered " + status)
    if extra:
        extra.close()
    ok = sum(get_on(s) == "200" for s in held)
    print("held answered %d/%d" % (ok, limit))
    for s in held:
        s.close()


def tls_stall(port, seconds):
    quiet = socket.create_connection((HOST, port), timeout=2)
    partial = socket.create_connection((HOST, port), timeout=2)
    # a handshake record of 512 bytes announced, 4 of them sent: ClientHello
    partial.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC]))
    conns, t0 = [[quiet, None], [partial, None]], time.time()
    for c in conns:
        c[0].setblocking(False)
    while time.time() - t0 < seconds and any(c[1] is None for c in conns):
        for c in conns:
            if c[1] is not None:
                continue
            try:
                if c[0].recv(512) == b"":
                    c[1] = time.time() - t0
            except BlockingIOError:
                pass
            except OSError:
                c[1] = time.time() - t0
        time.sleep(0.05)
    for s, closed in conns:
        if closed is None:
            print("stall open after %.2f" % (time.time() - t0))
        else:
            print("stall closed after %.2f" % closed)
        s.close()


if __name__ == "__main__":
    if sys.argv[1] == "slowloris":
        trickle(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    elif sys.argv[1] == "per_ip":
        per_ip(int(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "tls_stall":
        tls_stall(int(sys.argv[2]), float(sys.argv[3]))
    else:
        sys.exit(__doc__)
