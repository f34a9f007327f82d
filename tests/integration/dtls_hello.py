#!/usr/bin/env python3
"""Raw DTLS datagrams for the tests (RFC 6347 §4.1, §4.2.1).

  dtls_hello.py HOST PORT hello        a ClientHello without a cookie; prints
                                       "hvr LEN" for a HelloVerifyRequest, "none"
  dtls_hello.py HOST PORT flood N      N ClientHellos, each from its own port
  dtls_hello.py HOST PORT garbage      a datagram that is no DTLS record
  dtls_hello.py HOST PORT truncated    a record header promising more than sent
  dtls_hello.py HOST PORT stray        a well-formed application record (no session)
  dtls_hello.py HOST PORT hold S       the cookie exchange, then a ClientHello with the
                                       cookie, and silence for S seconds: a handshake
                                       the server keeps in progress; prints "flight LEN"
"""
import os
import socket
import struct
import sys
import time


def client_hello(random=None, cookie=b"", seq=0):
    body = b"\xfe\xfd" + (random or os.urandom(32))  # client_version DTLS 1.2, random
    body += b"\x00"  # session_id
    body += bytes([len(cookie)]) + cookie
    suites = [0xC0A8, 0x00AE]  # TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00"  # compression: null
    n = len(body)
    hs = b"\x01" + n.to_bytes(3, "big") + struct.pack("!H", seq) + b"\x00\x00\x00" + \
        n.to_bytes(3, "big") + body
    return b"\x16\xfe\xff" + b"\x00\x00" + seq.to_bytes(6, "big") + struct.pack("!H", len(hs)) + hs


def hold(s, dest, seconds):
    """The cookie exchange (§4.2.1), then a ClientHello with the cookie, and
    nothing more: the server has a handshake in progress for us."""
    random = os.urandom(32)
    s.sendto(client_hello(random), dest)
    hvr = s.recv(2048)
    at = 13 + 12 + 2  # record header, handshake header, server_version
    cookie = hvr[at + 1:at + 1 + hvr[at]]
    s.sendto(client_hello(random, cookie, 1), dest)
    try:
        print("flight", len(s.recv(4096)), flush=True)
    except socket.timeout:
        print("none", flush=True)
    time.sleep(seconds)


def record(ctype, epoch, body, claimed=None):
    length = len(body) if claimed is None else claimed
    return bytes([ctype]) + b"\xfe\xfd" + struct.pack("!H", epoch) + b"\x00" * 5 + b"\x07" + \
        struct.pack("!H", length) + body


def main():
    host, port, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    dest = (host, port)
    if what == "flood":
        for _ in range(int(sys.argv[4])):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(client_hello(), dest)
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    if what == "hello":
        hello = client_hello()
        s.sendto(hello, dest)
        try:
            data = s.recv(2048)
        except (socket.timeout, ConnectionRefusedError):  # silence, or nobody listens
            print("none")
            return
        is_hvr = len(data) > 13 and data[0] == 22 and data[13] == 3
        print(("hvr %d" if is_hvr else "other %d") % len(data), "of", len(hello))
    elif what == "garbage":
        s.sendto(b"GET / HTTP/1.0\r\n\r\n", dest)
    elif what == "truncated":
        s.sendto(record(23, 1, b"\x01\x02\x03", claimed=200), dest)
    elif what == "stray":
        s.sendto(record(23, 1, os.urandom(40)), dest)
    elif what == "hold":
        hold(s, dest, float(sys.argv[4]))


main()
