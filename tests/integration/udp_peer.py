#!/usr/bin/env python3
"""Misbehaving CoAP peers for the tests, on 127.0.0.1:PORT:
  silent   swallows every datagram
  rst      answers every CON with a Reset
  reorder  answers an Observe registration, then sends notifications out of
           order (sequence 12, 11, 13, 14, ...): 11 is stale (RFC 7641 §3.4)
  delay    answers every CON request DELAY_MS (third argument, default 700)
           late with a piggybacked 2.05 "late" (a slow device); prints a
           line per request on stdout
  xhtml    answers every CON request with 2.05, Content-Format 41
           (application/xml) and an XHTML page whose script sets the title
           to PWNED and logs "PWNED" (active content from a device)
  location answers every CON request with 2.01 and Location-Path options:
           under /base (a request whose first Uri-Path is "base"):
           base, "new item", "a/b" and Location-Query "x=1&2", "y";
           otherwise "", "evil.example", "x" (once //evil.example/x)
Runs until killed, or for at most 300 s."""
import socket
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2])
delay = int(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.7
later = []  # (due, datagram, peer): delayed answers
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
s.settimeout(0.05)
end = time.time() + 300
observer = None  # (peer, token)
plan = []  # (due, seq, payload)
mid = 0x4000


XHTML = (b'<?xml version="1.0" encoding="utf-8"?>\n'
         b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>device page</title></head>'
         b'<body><p id="device">device content</p>'
         b'<script>document.title = "PWNED"; console.log("PWNED " + document.domain);</script>'
         b'</body></html>\n')


def ext(v):
    """RFC 7252 §3.1: a delta or length nibble and its extended bytes."""
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")


def encode_options(opts):
    """(number, bytes) pairs, sorted by number -> option bytes."""
    out, prev = b"", 0
    for num, val in opts:
        (d, dx), (ln, lx) = ext(num - prev), ext(len(val))
        out += bytes([d << 4 | ln]) + dx + lx + val
        prev = num
    return out


def nibble(data, i, v):
    """RFC 7252 §3.1: a delta or length nibble's value, read on from i."""
    if v == 13:
        return data[i] + 13, i + 1
    if v == 14:
        return (data[i] << 8 | data[i + 1]) + 269, i + 2
    return v, i


def uri_path(data, tkl):
    """The Uri-Path (11) values of a request."""
    i, num, path = 4 + tkl, 0, []
    while i < len(data) and data[i] != 0xFF:
        first = data[i]
        delta, i = nibble(data, i + 1, first >> 4)
        length, i = nibble(data, i, first & 15)
        num += delta
        if num == 11:
            path.append(data[i:i + length])
        i += length
    return path


def piggybacked(data, tkl, code, opts, payload=b""):
    """ACK with the request's message ID and token."""
    hdr = bytes([0x60 | tkl, code, data[2], data[3]]) + data[4:4 + tkl]
    return hdr + encode_options(opts) + (b"\xff" + payload if payload else b"")


def notification(token, seq, payload, msg_type=1):
    """NON (1) 2.05 with Observe and Content-Format 0."""
    global mid
    mid = (mid + 1) & 0xFFFF
    hdr = bytes([0x40 | msg_type << 4 | len(token), 0x45, mid >> 8, mid & 0xFF]) + token
    obs = seq.to_bytes(3, "big")
    opts = bytes([0x63]) + obs + bytes([0x60])  # Observe (6), Content-Format (12) = 0
    return hdr + opts + b"\xff" + payload


while time.time() < end:
    now = time.time()
    while plan and plan[0][0] <= now and observer:
        _, seq, payload = plan.pop(0)
        s.sendto(notification(observer[1], seq, payload), observer[0])
    while later and later[0][0] <= now:
        s.sendto(later[0][1], later[0][2])
        later.pop(0)
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    if len(data) < 4 or data[0] >> 6 != 1:
        continue
    mtype, tkl, code = (data[0] >> 4) & 3, data[0] & 15, data[1]
    token = data[4:4 + tkl]
    if mode == "rst" and mtype == 0:
        s.sendto(bytes([0x70, 0, data[2], data[3]]), peer)
    elif mode == "delay" and mtype == 0 and 1 <= code <= 31:
        # ACK 2.05 with the request's token and Content-Format 0
        ack = bytes([0x60 | tkl, 0x45, data[2], data[3]]) + token + b"\xc0\xfflate"
        later.append((time.time() + delay, ack, peer))
        print("request from %s:%d" % peer, flush=True)
    elif mode == "xhtml" and mtype == 0 and 1 <= code <= 31:
        s.sendto(piggybacked(data, tkl, 0x45, [(12, bytes([41]))], XHTML), peer)
    elif mode == "location" and mtype == 0 and 1 <= code <= 31:
        if uri_path(data, tkl)[:1] == [b"base"]:
            opts = [(8, b"base"), (8, b"new item"), (8, b"a/b"), (20, b"x=1&2"), (20, b"y")]
        else:
            opts = [(8, b""), (8, b"evil.example"), (8, b"x")]
        s.sendto(piggybacked(data, tkl, 0x41, opts), peer)
    elif mode == "reorder" and code == 1 and mtype == 0:
        # piggybacked answer with Observe 10, then the out-of-order ones
        ack = bytearray(notification(token, 10, b"a"))
        ack[0] = 0x60 | tkl
        ack[2], ack[3] = data[2], data[3]
        s.sendto(bytes(ack), peer)
        if observer is None:
            observer = (peer, token)
            t = time.time()
            plan = [(t + 0.2, 12, b"c"), (t + 0.4, 11, b"b"), (t + 0.6, 13, b"d")]
            plan += [(t + 0.8 + 0.3 * i, 14 + i, b"e%d" % i) for i in range(200)]
