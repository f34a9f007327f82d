#!/usr/bin/env python3
"""A Resource Directory stand-in over CoAP over TCP (RFC 8323), for
test_tcp.sh: listens on 127.0.0.1:PORT, takes one device's registration
(POST /rd?ep=NAME...) on the connection the device opened, answers 2.01
with Location-Path rd/1, then reaches the device back over that same
connection with GET PATH and prints the answer's code and payload. Then it closes
the connection and waits for the device to connect again and refresh its
registration (POST /rd/1), as a device behind NAT must to stay reachable.
Exit 0 when all of it happened within the time limit."""
import socket
import sys

EXT = {13: (1, 13), 14: (2, 269), 15: (4, 65805)}


def frame(code, token=b"", opts=b"", payload=b""):
    body = opts + (b"\xff" + payload if payload else b"")
    n = len(body)
    if n < 13:
        head = bytes([n << 4 | len(token)])
    elif n < 269:
        head = bytes([13 << 4 | len(token), n - 13])
    else:
        head = bytes([14 << 4 | len(token)]) + (n - 269).to_bytes(2, "big")
    return head + bytes([code]) + token + body


def option(delta, value):
    assert delta < 13 and len(value) < 13
    return bytes([delta << 4 | len(value)]) + value


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def next(self):
        """(code, token, options [(num, value)], payload) of the next frame."""
        self.need(1)
        nib, tkl = self.buf[0] >> 4, self.buf[0] & 15
        nx, off = EXT.get(nib, (0, 0))
        self.need(1 + nx)
        length = int.from_bytes(self.buf[1:1 + nx], "big") + off if nx else nib
        total = 1 + nx + 1 + tkl + length
        self.need(total)
        f, self.buf = self.buf[:total], self.buf[total:]
        code, token, rest = f[1 + nx], f[2 + nx:2 + nx + tkl], f[2 + nx + tkl:]
        opts, num, i = [], 0, 0
        while i < len(rest) and rest[i] != 0xFF:
            d, l = rest[i] >> 4, rest[i] & 15
            i += 1
            for which in ("d", "l"):
                v = d if which == "d" else l
                if v == 13:
                    v, i = rest[i] + 13, i + 1
                elif v == 14:
                    v, i = int.from_bytes(rest[i:i + 2], "big") + 269, i + 2
                if which == "d":
                    d = v
                else:
                    l = v
            num += d
            opts.append((num, rest[i:i + l]))
            i += l
        payload = rest[i + 1:] if i < len(rest) else b""
        return code, token, opts, payload


def registration(conn, r):
    """Our CSM, the device's, then its POST: (token, options, payload)."""
    conn.sendall(frame(0xE1, opts=option(2, (1152).to_bytes(2, "big"))))
    code, _, _, _ = r.next()
    assert code == 0xE1, "the device's CSM comes first"
    while True:  # Pings and other signals skipped
        code, token, opts, payload = r.next()
        if code == 0x02:
            return token, opts, payload


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(1)
    lsock.settimeout(10)
    conn, _ = lsock.accept()
    conn.settimeout(10)
    r = Reader(conn)
    token, opts, payload = registration(conn, r)
    paths = [v.decode() for n, v in opts if n == 11]
    queries = [v.decode() for n, v in opts if n == 15]
    assert paths == ["rd"], paths
    assert any(q.startswith("ep=") for q in queries), queries
    print("registered", "&".join(queries), len(payload), "bytes of links", flush=True)
    conn.sendall(frame(0x41, token, option(8, b"rd") + option(0, b"1")))  # 2.01 rd/1
    # reach the device back over its own connection
    segs = [s.encode() for s in path.strip("/").split("/")]
    opts, last = b"", 0
    for s in segs:
        opts += option(11 - last, s)
        last = 11
    conn.sendall(frame(0x01, b"\x5a", opts))
    while True:
        code, token, _, payload = r.next()
        if token == b"\x5a":
            break
    print("%d.%02d" % (code >> 5, code & 31), payload.decode(errors="replace"), flush=True)
    conn.close()  # the device must come back on its own
    conn, _ = lsock.accept()
    conn.settimeout(10)
    token, opts, _ = registration(conn, Reader(conn))
    paths = [v.decode() for n, v in opts if n == 11]
    print("re-registered", "/".join(paths), flush=True)
    conn.sendall(frame(0x44, token))  # 2.04
    conn.close()
    return 0 if code >> 5 == 2 and paths == ["rd", "1"] else 1


if __name__ == "__main__":
    sys.exit(main())
