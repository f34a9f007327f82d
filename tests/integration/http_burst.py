#!/usr/bin/env python3
"""Raw HTTP/1.1 clients against the gateway's one-run unsuspended wait
(http/server.c, wait_for_answer), for test_adversarial_rev.sh:

  http_burst.py PORT close N        N connections that send a POST to
                                    /devices/demo/echo and reset within 0-4 ms
  http_burst.py PORT pipeline N     one connection, N POSTs to
                                    /devices/demo/echo in one send, each
                                    with its own body: every answer's body
                                    is its own request's, in order
  http_burst.py PORT many N         N connections at once, one POST each
                                    with its own body, answers matched
  http_burst.py PORT silent S       connections to /devices/silent/x in
                                    several shapes (pipelined, half-closed,
                                    Expect: 100-continue, HTTP/1.0, chunked,
                                    garbage after), held S seconds
Prints nothing when all went well, else what went wrong (exit 1)."""
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
MODE = sys.argv[2]
N = int(sys.argv[3])


def post(body, close=False):
    b = body.encode()
    return (b"POST /devices/demo/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            + (b"Connection: close\r\n" if close else b"")
            + b"Content-Length: %d\r\n\r\n" % len(b) + b)


def read_answers(s, n):
    """n answers (status, body) from s, by Content-Length."""
    buf = b""
    out = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return out
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        clen = 0
        for l in lines[1:]:
            k, _, v = l.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v)
        while len(buf) < clen:
            d = s.recv(65536)
            if not d:
                return out
            buf += d
        out.append((status, buf[:clen].decode(errors="replace")))
        buf = buf[clen:]
    return out


def conn():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    return s


def main():
    if MODE == "close":
        for i in range(N):
            s = conn()
            s.sendall(post("gone-%d" % i))
            time.sleep((i % 8) * 0.0005)  # across the window, a loop turn or two
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            s.close()  # RST: gone before the device answers
        return 0
    if MODE == "pipeline":
        s = conn()
        s.sendall(b"".join(post("p%d" % i) for i in range(N)))
        got = read_answers(s, N)
        want = [(200, "p%d" % i) for i in range(N)]
        if got != want:
            print("got", got)
            return 1
        return 0
    if MODE == "many":
        bad = []
        def one(i):
            try:
                s = conn()
                s.sendall(post("m%d" % i, close=True))
                got = read_answers(s, 1)
                if got != [(200, "m%d" % i)]:
                    bad.append((i, got))
                s.close()
            except OSError as e:
                bad.append((i, str(e)))
        ts = [threading.Thread(target=one, args=(i,)) for i in range(N)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if bad:
            print("bad", len(bad), bad[:5])
            return 1
        return 0
    if MODE == "silent":
        return silent(N)
    return 2


def silent(seconds):
    req = (b"POST /devices/silent/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Length: 2\r\n\r\nab")
    shapes = [
        req + req + b"GET /devices/silent/y HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        req,  # then half-closed
        b"POST /devices/silent/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
        b"GET /devices/silent/x HTTP/1.0\r\n\r\n",
        b"POST /devices/silent/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        req + b"garbage, not a request\r\n\r\n",
    ]
    socks = []
    for i, data in enumerate(shapes):
        s = conn()
        s.sendall(data)
        if i == 1:
            s.shutdown(socket.SHUT_WR)
        socks.append(s)
    time.sleep(seconds)
    for s in socks:
        s.close()
    return 0


sys.exit(main())
