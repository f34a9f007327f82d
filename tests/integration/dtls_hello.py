#!/usr/bin/env python3
"""Raw DTLS datagrams for the tests (RFC 6347 §4.1, §4.2.1).

  dtls_hello.py HOST PORT hello        a ClientHello without a cookie; prints
                                       "hvr LEN" for a HelloVerifyRequest, "none"
  dtls_hello.py HOST PORT flood N      N ClientHellos, each from its own port
  dtls_hello.py HOST PORT garbage      a datagram that is no DTLS record
  dtls_hello.py HOST PORT truncated    a record header promising more than sent
  dtls_hello.py HOST PORT stray        a well-formed application record (no session)
"""
import os
import socket
import struct
import sys


def client_hello():
    body = b"\xfe\xfd" + os.urandom(32)  # client_version DTLS 1.2, random
    body += b"\x00"  # session_id
    body += b"\x00"  # cookie: none
    suites = [0xC0A8, 0x00AE]  # TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00"  # compression: null
    n = len(body)
    hs = b"\x01" + n.to_bytes(3, "big") + b"\x00\x00" + b"\x00\x00\x00" + n.to_bytes(3, "big") + body
    return b"\x16\xfe\xff" + b"\x00\x00" + b"\x00" * 6 + struct.pack("!H", len(hs)) + hs


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
        except socket.timeout:
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


main()
