#!/usr/bin/env python3
"""Clients that hold or starve HTTP connections, for test_limits.sh:
  conns PORT N        opens N idle connections, then one more that sends
                      GET /healthz: prints "extra STATUS RETRY-AFTER BODY"
                      ("extra closed" without an answer); then a GET on
                      each of the first N: "held answered K/N"
  header PORT GAP MAX sends a request header one byte every GAP seconds:
                      "header closed after S" when the server closes,
                      "header answered STATUS after S", or "header open
                      after MAX"
  body PORT PATH LEN GAP MAX
                      POST PATH with Content-Length LEN, then the body one
                      byte every GAP seconds: "body closed after S",
                      "body answered STATUS after S" or "body open after MAX"
  stall PORT PATH N SECONDS
                      N event streams on PATH with a tiny receive buffer
                      that read nothing, held for SECONDS, then closed
127.0.0.1 only; every wait is bounded."""
import socket
import sys
import time

HOST = "127.0.0.1"


def answer(s, timeout):
    """The status line's code and the whole answer, or (None, b"") when the
    server closed without one."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.settimeout(0.3)
        while True:  # the body, until the server closes or goes quiet
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, b""
    return data.split(b" ")[1].decode(), data


def conns(port, n):
    held = [socket.create_connection((HOST, port), timeout=2) for _ in range(n)]
    time.sleep(0.2)
    extra = socket.create_connection((HOST, port), timeout=2)
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    code, data = answer(extra, 2)
    if code is None:
        print("extra closed")
    else:
        head, _, body = data.partition(b"\r\n\r\n")
        retry = "-"
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"retry-after:"):
                retry = line.split(b":", 1)[1].strip().decode()
        print("extra %s %s %s" % (code, retry, body.decode(errors="replace").strip()))
    ok = 0
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        ok += answer(s, 2)[0] == "200"
        s.close()
    print("held answered %d/%d" % (ok, n))


def trickle(port, what, first, rest, gap, limit):
    """Sends `first` at once, then `rest` a byte every gap seconds; reports
    when the server closed or answered."""
    s = socket.create_connection((HOST, port), timeout=2)
    t0 = time.time()
    s.sendall(first)
    for i in range(len(rest) + 1):
        s.settimeout(gap)
        try:
            b = s.recv(4096)
            if not b:
                print("%s closed after %.2f" % (what, time.time() - t0))
                return
            code = b.split(b" ")[1].decode() if b.startswith(b"HTTP/1.1 ") else "?"
            print("%s answered %s after %.2f" % (what, code, time.time() - t0))
            return
        except socket.timeout:
            pass
        except OSError:
            print("%s closed after %.2f" % (what, time.time() - t0))
            return
        if time.time() - t0 > limit:
            break
        try:
            if i < len(rest):
                s.send(rest[i:i + 1])
        except OSError:
            print("%s closed after %.2f" % (what, time.time() - t0))
            return
    code, _ = answer(s, max(0.1, limit - (time.time() - t0)))
    if code:
        print("%s answered %s after %.2f" % (what, code, time.time() - t0))
    else:
        print("%s open after %.2f" % (what, time.time() - t0))


def stall(port, path, n, seconds):
    held = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: the window
        s.connect((HOST, port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Accept: text/event-stream\r\n\r\n" % path).encode())
        held.append(s)
    time.sleep(seconds)
    for s in held:
        s.close()


mode = sys.argv[1]
port = int(sys.argv[2])
if mode == "conns":
    conns(port, int(sys.argv[3]))
elif mode == "header":
    req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    trickle(port, "header", b"", req, float(sys.argv[3]), float(sys.argv[4]))
elif mode == "body":
    path, length = sys.argv[3], int(sys.argv[4])
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\n\r\n" % (path, length)).encode()
    trickle(port, "body", head, b"x" * length, float(sys.argv[5]), float(sys.argv[6]))
elif mode == "stall":
    stall(port, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
else:
    sys.exit(__doc__)
