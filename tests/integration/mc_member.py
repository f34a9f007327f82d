#!/usr/bin/env python3
"""A multicast member that names itself (RFC 7252 §8; RFC 9176-style `ep`):
joins GROUP on port 5683 and answers every NON request without a
Uri-Query with a NON 2.05 in link format, `</x>;ep="NAME"`, echoing the
token. For test_discovery.sh: the names discovered devices take from `ep`.
With --blocks the links are longer, `</x>;ep="NAME",</second-link>...`,
and the group answer is their first 64-byte block (Block2, M set: RFC
7959 §2.8); a CON (a unicast request) gets them whole, piggybacked.

  mc_member.py GROUP NAME [--blocks]
"""
import socket
import struct
import sys

from coap_options import options

group, name = sys.argv[1], sys.argv[2]
blocks = "--blocks" in sys.argv[3:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5683))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("0.0.0.0")))
payload = ('</x>;ep="%s"' % name).encode()
if blocks:
    payload += b',</second-link>;rt="beyond-the-first-block";title="' + b"x" * 40 + b'"'


def has_query(msg, tkl):
    """Whether the options hold a Uri-Query (15)."""
    return any(num == 15 for num, _ in options(msg, tkl))


mid = 0x7000
while True:
    msg, peer = s.recvfrom(2048)
    if len(msg) < 4 or msg[0] >> 6 != 1:
        continue
    kind, tkl = (msg[0] >> 4) & 3, msg[0] & 15
    if kind == 0:  # CON, by unicast: the whole links in the ACK
        head = bytes([0x60 | tkl, 0x45, msg[2], msg[3]]) + msg[4:4 + tkl]
        s.sendto(head + bytes([0xC1, 40, 0xFF]) + payload, peer)
        continue
    if kind != 1 or has_query(msg, tkl):
        continue
    mid = (mid + 1) & 0xFFFF
    head = bytes([0x50 | tkl, 0x45, mid >> 8, mid & 0xFF]) + msg[4:4 + tkl]
    if blocks:  # Content-Format 40, Block2 (23) num 0, M, SZX 2: 64 bytes
        s.sendto(head + bytes([0xC1, 40, 0xB1, 0x0A, 0xFF]) + payload[:64], peer)
    else:
        s.sendto(head + bytes([0xC1, 40, 0xFF]) + payload, peer)
