#!/usr/bin/env python3
"""Hand-built CoAP requests (RFC 7252 §3) from a chosen source address, for
what real clients do not send: control bytes in a Uri-Path, many Block1
uploads with distinct Request-Tags, exact byte counts of the answers.

  coap_raw.py [options] SRC DST PORT
    --code N          request code: 1 GET, 2 POST, 3 PUT, 4 DELETE (1)
    --non             NON instead of CON
    --path P          Uri-Path options ("/"-separated; Python escapes
                      such as \\x00 and \\r are decoded)
    --query Q         a Uri-Query option (repeatable; escapes decoded)
    --opt N=TEXT      any option (repeatable; escapes decoded)
    --uint N=V        an option holding an unsigned integer (repeatable)
    --payload TEXT    the payload
    --block1 NUM,M,SZX  a Block1 option
    --count K         K requests, each with its own Request-Tag (2 bytes),
                      message ID and token (1)
One line per request on stdout: CODE PAYLOAD_LEN ANSWER_LEN REQUEST_LEN
MAX_AGE PAYLOAD ("-" for no answer within 2 s, no Max-Age or no payload).
"""
import argparse
import socket


def escapes(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def uint_bytes(v):
    return v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""


def ext(n):
    """The 4-bit nibble and extended bytes of an option delta or length."""
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes([n - 13])
    return 14, (n - 269).to_bytes(2, "big")


def encode(mtype, code, mid, token, opts, payload):
    out = bytes([0x40 | mtype << 4 | len(token), code, mid >> 8, mid & 0xFF]) + token
    last = 0
    for num, val in sorted(opts, key=lambda o: o[0]):  # stable: repeats keep their order
        d, dx = ext(num - last)
        ln, lx = ext(len(val))
        out += bytes([d << 4 | ln]) + dx + lx + val
        last = num
    return out + (b"\xff" + payload if payload else b"")


def decode(data):
    """(code "c.dd", payload, Max-Age or None) of an answer."""
    tkl, code = data[0] & 15, data[1]
    i, num, max_age = 4 + tkl, 0, None
    while i < len(data) and data[i] != 0xFF:
        d, ln = data[i] >> 4, data[i] & 15
        i += 1
        vals = []
        for n in (d, ln):
            if n == 13:
                n, i = data[i] + 13, i + 1
            elif n == 14:
                n, i = int.from_bytes(data[i:i + 2], "big") + 269, i + 2
            vals.append(n)
        num += vals[0]
        if num == 14:  # Max-Age
            max_age = int.from_bytes(data[i:i + vals[1]], "big")
        i += vals[1]
    payload = data[i + 1:] if i < len(data) else b""
    return "%d.%02d" % (code >> 5, code & 31), payload, max_age


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("port", type=int)
    ap.add_argument("--code", type=int, default=1)
    ap.add_argument("--non", action="store_true")
    ap.add_argument("--path", default="")
    ap.add_argument("--query", action="append", default=[])
    ap.add_argument("--opt", action="append", default=[])
    ap.add_argument("--uint", action="append", default=[])
    ap.add_argument("--payload", default="")
    ap.add_argument("--block1")
    ap.add_argument("--count", type=int, default=1)
    a = ap.parse_args()
    opts = [(11, escapes(p)) for p in a.path.split("/") if p]
    opts += [(15, escapes(q)) for q in a.query]
    for o in a.opt:
        n, v = o.split("=", 1)
        opts.append((int(n), escapes(v)))
    for o in a.uint:
        n, v = o.split("=", 1)
        opts.append((int(n), uint_bytes(int(v))))
    if a.block1:
        num, more, szx = (int(x) for x in a.block1.split(","))
        opts.append((27, uint_bytes(num << 4 | more << 3 | szx)))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.src, 0))
    s.settimeout(2)
    for k in range(a.count):
        mid, token = (0x3000 + k) & 0xFFFF, bytes([0x5A, k & 0xFF, k >> 8])
        tagged = opts + ([(292, k.to_bytes(2, "big"))] if a.count > 1 else [])
        req = encode(1 if a.non else 0, a.code, mid, token, tagged, escapes(a.payload))
        s.sendto(req, (a.dst, a.port))
        try:
            while True:
                data, _ = s.recvfrom(4096)
                if data[4:4 + (data[0] & 15)] == token:
                    break
        except socket.timeout:
            print("- - - %d - -" % len(req), flush=True)
            continue
        code, payload, max_age = decode(data)
        print("%s %d %d %d %s %s" % (code, len(payload), len(data), len(req),
                                     "-" if max_age is None else max_age,
                                     payload.decode("latin-1") if payload else "-"), flush=True)


main()
