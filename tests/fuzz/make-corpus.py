#!/usr/bin/env python3
"""Writes the hand-made seed corpus for fuzz_parse into tests/fuzz/corpus/.

Run once after changing a seed; the binary seeds are committed too, so the
fuzzer does not need Python. Each seed is a CoAP datagram (RFC 7252 §3),
some valid, some deliberately malformed.
"""
import os
import sys

CON, NON, ACK, RST = 0, 1, 2, 3


def code(c, d):
    return (c << 5) | d


def header(typ, tkl, cod, mid):
    return bytes([0x40 | typ << 4 | tkl, cod, mid >> 8, mid & 0xFF])


def ext(v):
    """Nibble and extended bytes for a delta or length (§3.1)."""
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    v -= 269
    return 14, bytes([v >> 8, v & 0xFF])


def uint(v):
    """Minimal big-endian uint option value (§3.2)."""
    n = 0 if v == 0 else (v.bit_length() + 7) // 8
    return v.to_bytes(n, "big")


def opts(*pairs):
    """Encodes (number, value) pairs, which must be ascending."""
    out, prev = b"", 0
    for num, val in pairs:
        if isinstance(val, str):
            val = val.encode()
        dn, dx = ext(num - prev)
        ln, lx = ext(len(val))
        out += bytes([dn << 4 | ln]) + dx + lx + val
        prev = num
    return out


def msg(typ, cod, mid, token=b"", options=(), payload=b""):
    b = header(typ, len(token), cod, mid) + token + opts(*options)
    if payload:
        b += b"\xff" + payload
    return b


GET, POST, PUT = 1, 2, 3
OBSERVE, URI_HOST, ETAG, IF_MATCH, URI_PORT = 6, 3, 4, 1, 7
URI_PATH, CONTENT_FORMAT, MAX_AGE, URI_QUERY = 11, 12, 14, 15
ACCEPT, BLOCK2, BLOCK1, SIZE2, PROXY_URI, SIZE1 = 17, 23, 27, 28, 35, 60
ECHO, NO_RESPONSE, REQUEST_TAG = 252, 258, 292

proxy_uri = "coap://example.org/" + "p" * (300 - len("coap://example.org/"))
assert len(proxy_uri) == 300

SEEDS = {
    # Valid messages.
    "con-get-observe-block2": msg(
        CON, GET, 0x1234, b"\x7a\x01",
        [(OBSERVE, uint(0)), (URI_PATH, "sensors"), (URI_PATH, "temp"),
         (ACCEPT, uint(50)), (BLOCK2, uint(0x06))]),
    "notification-json": msg(
        NON, code(2, 5), 0x2001, b"\x7a\x01",
        [(OBSERVE, uint(12)), (CONTENT_FORMAT, uint(50)), (MAX_AGE, uint(60))],
        b'{"temp":21.5}'),
    "ack-piggyback-text": msg(
        ACK, code(2, 5), 0x1234, b"\x7a\x01",
        [(ETAG, b"\x01\x02\x03\x04"), (CONTENT_FORMAT, uint(0))], b"hello"),
    "empty-ack": header(ACK, 0, 0, 0x1234),
    "rst": header(RST, 0, 0, 0x4321),
    "token-8-bytes": msg(CON, GET, 7, bytes(range(1, 9)), [(URI_PATH, "t")]),
    "no-response-258": msg(NON, POST, 8, b"\x01",
                           [(URI_PATH, "log"), (NO_RESPONSE, uint(2))], b"x"),
    # Delta 292 from 0 takes the two-byte (nibble 14) form.
    "request-tag-292": msg(CON, PUT, 9, b"\x02", [(REQUEST_TAG, b"\xaa\xbb")], b"a" * 32),
    "proxy-uri-300": msg(CON, GET, 10, b"\x03", [(PROXY_URI, proxy_uri)]),
    "echo-40": msg(ACK, code(4, 1), 11, b"\x04", [(ECHO, bytes(range(40)))]),
    "uri-host-port-query": msg(
        CON, GET, 12, b"",
        [(URI_HOST, "example.org"), (URI_PORT, uint(61616)), (URI_PATH, ""),
         (URI_PATH, "a b"), (URI_QUERY, "x=1"), (URI_QUERY, "y")]),
    "post-block1-size1": msg(
        CON, POST, 13, b"\x10\x20",
        [(URI_PATH, "up"), (CONTENT_FORMAT, uint(42)), (BLOCK1, uint(0x1A)),
         (SIZE1, uint(100000))], bytes(64)),
    "repeated-if-match-etag": msg(
        CON, PUT, 14, b"\x05",
        [(IF_MATCH, b""), (IF_MATCH, b"\x01"), (ETAG, b"\x01"), (ETAG, b"\x02")], b"v"),
    "unknown-critical-9999": msg(CON, GET, 15, b"", [(URI_PATH, "x"), (9999, b"z")]),
    "max-options-48": header(NON, 0, GET, 16) + b"\x00" * 48,
    # Malformed messages.
    "bad-tkl-9": header(CON, 9, GET, 20) + bytes(9),
    "bad-delta-nibble-15": header(CON, 0, GET, 21) + b"\xf1a",
    "bad-length-nibble-15": header(CON, 0, GET, 22) + b"\xbf" + b"a" * 15,
    "bad-marker-no-payload": header(CON, 0, GET, 23) + b"\xb1a\xff",
    "bad-truncated-option": header(CON, 0, GET, 24) + b"\xb5ab",
    "bad-truncated-ext": header(CON, 0, GET, 25) + b"\xd0",
    "bad-option-number": header(CON, 0, GET, 26) + b"\xe0\xff\xff\xe0\xff\xff",
    "bad-too-many-options": header(NON, 0, GET, 27) + b"\x00" * 49,
    "bad-empty-with-token": header(CON, 1, 0, 28) + b"\x01",
    "bad-version-2": b"\x80\x01\x00\x1d",
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
