#!/usr/bin/env python3
"""A CoAP client that sees the Echo option (RFC 9175): sends one GET from a
fresh UDP port (or --sport) and prints what came back, then optionally the
same request again.

  coap_echo.py [options] DST PORT
    --path P        Uri-Path options ("/"-separated)
    --query Q       a Uri-Query option (repeatable)
    --proxy-uri U   a Proxy-Uri option
    --echo HEX      send this Echo value in the first request
    --sport N       send from this source port (default: a fresh one)
    --then HOW      a second request: "same" (the first answer's Echo, same
                    port), "wrong" (that Echo with its last bit flipped),
                    "other" (that Echo, from another fresh port)

One line per answer: CODE ANSWER_LEN REQUEST_LEN PAYLOAD_LEN ECHO_HEX
("-" when absent; "timeout" alone when nothing came within 2 s).
"""
import argparse
import os
import socket

ECHO, URI_PATH, URI_QUERY, PROXY_URI = 252, 11, 15, 35


def ext(n):
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes([n - 13])
    return 14, (n - 269).to_bytes(2, "big")


def encode(mid, token, opts):
    out = bytes([0x40 | len(token), 1, mid >> 8, mid & 0xFF]) + token
    last = 0
    for num, val in sorted(opts, key=lambda o: o[0]):
        d, dx = ext(num - last)
        ln, lx = ext(len(val))
        out += bytes([d << 4 | ln]) + dx + lx + val
        last = num
    return out


def decode(data):
    """(code "c.dd", payload length, Echo value or None)."""
    tkl, code = data[0] & 15, data[1]
    i, num, echo = 4 + tkl, 0, None
    while i < len(data) and data[i] != 0xFF:
        d, ln = data[i] >> 4, data[i] & 15
        i += 1
        vals = []
        for nib in (d, ln):
            if nib == 13:
                vals.append(data[i] + 13)
                i += 1
            elif nib == 14:
                vals.append(int.from_bytes(data[i:i + 2], "big") + 269)
                i += 2
            else:
                vals.append(nib)
        num += vals[0]
        if num == ECHO:
            echo = data[i:i + vals[1]]
        i += vals[1]
    payload = len(data) - i - 1 if i < len(data) else 0
    return "%d.%02d" % (code >> 5, code & 31), payload, echo


def ask(sock, dst, opts):
    mid = int.from_bytes(os.urandom(2), "big")
    req = encode(mid, os.urandom(4), opts)
    sock.sendto(req, dst)
    sock.settimeout(2)
    try:
        while True:
            data, _ = sock.recvfrom(65536)
            if int.from_bytes(data[2:4], "big") == mid:
                break
    except socket.timeout:
        print("timeout")
        return None
    code, plen, echo = decode(data)
    print(code, len(data), len(req), plen, echo.hex() if echo else "-", flush=True)
    return echo


def fresh(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("port", type=int)
    ap.add_argument("--path", default="")
    ap.add_argument("--query", action="append", default=[])
    ap.add_argument("--proxy-uri")
    ap.add_argument("--echo")
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--then", choices=["same", "wrong", "other"])
    a = ap.parse_args()
    opts = [(URI_PATH, p.encode()) for p in a.path.split("/") if p]
    opts += [(URI_QUERY, q.encode()) for q in a.query]
    if a.proxy_uri:
        opts.append((PROXY_URI, a.proxy_uri.encode()))
    dst = (a.dst, a.port)
    sock = fresh(a.sport)
    echo = ask(sock, dst, opts + ([(ECHO, bytes.fromhex(a.echo))] if a.echo else []))
    if not a.then or echo is None:
        return
    if a.then == "wrong":
        echo = echo[:-1] + bytes([echo[-1] ^ 1])
    if a.then == "other":
        sock = fresh()
    ask(sock, dst, opts + [(ECHO, echo)])


if __name__ == "__main__":
    main()
