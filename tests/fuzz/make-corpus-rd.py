#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_rd into tests/fuzz/corpus-rd/.

Each seed is a sequence of requests to the Resource Directory, each framed
as fuzz_rd.c reads them: [source and time byte][length, 2 bytes][datagram].
Run once after changing a seed; the binary seeds are committed.
"""
import os
import sys

GET, POST, PUT, DELETE = 1, 2, 3, 4
URI_PATH, CF, URI_QUERY, BLOCK1 = 11, 12, 15, 27
mid = 0


def ext(v):
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    v -= 269
    return 14, bytes([v >> 8, v & 0xFF])


def msg(code, options, payload=b"", tok=b"\x01\x02"):
    """A CON request; options are (number, bytes), sorted here."""
    global mid
    mid += 1
    out = bytes([0x40 | len(tok), code, mid >> 8, mid & 0xFF]) + tok
    prev = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        d, dx = ext(num - prev)
        l, lx = ext(len(val))
        out += bytes([d << 4 | l]) + dx + lx + val
        prev = num
    if payload:
        out += b"\xff" + payload
    return out


def path(p):
    return [(URI_PATH, s.encode()) for s in p.strip("/").split("/") if s]


def query(*args):
    return [(URI_QUERY, a.encode()) for a in args]


def frame(src, dgram, minutes=0):
    return bytes([minutes << 4 | src, len(dgram) >> 8, len(dgram) & 0xFF]) + dgram


LINKS = b'</sensors/temp>;rt="temperature";if="sensor";ct=0,</led>;obs'
seeds = {
    "register-read-delete": [
        frame(1, msg(POST, path("rd") + query("ep=node1", "lt=120", "d=home")
                      + [(CF, b"\x28")], LINKS)),
        frame(1, msg(GET, path("rd/00000001"))),
        frame(1, msg(POST, path("rd/00000001") + query("lt=300"))),
        frame(1, msg(DELETE, path("rd/00000001"))),
    ],
    "register-expire": [
        frame(0, msg(POST, path("rd") + query("ep=n2", "lt=60", "base=coap://[::1]:7000/"))),
        frame(0, msg(GET, path(".well-known/core") + query("rt=core.rd")), minutes=2),
    ],
    "block1-upload": [
        frame(2, msg(POST, path("rd") + query("ep=big") + [(BLOCK1, b"\x08")],
                      LINKS[:16])),
        frame(2, msg(POST, path("rd") + query("ep=big") + [(BLOCK1, b"\x10")],
                      LINKS[16:32])),
    ],
    "refused-source": [
        frame(3, msg(POST, path("rd") + query("ep=x", "base=coap://169.254.169.254"))),
        frame(3, msg(PUT, path("rd"))),
    ],
    "bad-params": [
        frame(1, msg(POST, path("rd") + query("ep=", "lt=abc", "et=x y"), b"<bad")),
        frame(1, msg(POST, path("rd") + query("ep=a%00b", "lt=999999999"))),
    ],
}

outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus-rd")
os.makedirs(outdir, exist_ok=True)
for name, frames in seeds.items():
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(b"".join(frames))
