#!/usr/bin/env python3
"""A CoAP group member (RFC 7252 §8) for test_groups.sh: joins an IPv4
group on the address it is given, answers every request after DELAY
seconds with a NON 2.05 "NAME" (GET) or 2.04 (other methods), and logs
"TYPE METHOD PATH" of each request to stdout. With REPLY_FROM, answers
from that address instead (a responder the gateway's allowlist may refuse).

usage: group_member.py GROUP LOCAL_ADDR NAME DELAY_S [REPLY_FROM]"""
import socket
import struct
import sys
import threading

from coap_options import options

group, local, name, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5683))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton(local))
out_sock = s
if len(sys.argv) > 5:
    out_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    out_sock.bind((sys.argv[5], 5683))
mid = 0x4000


def path_of(msg, tkl):
    return "/".join(v.decode() for num, v in options(msg, tkl) if num == 11)  # Uri-Path


def answer(msg, peer):
    global mid
    tkl, code = msg[0] & 15, msg[1]
    mid = (mid + 1) & 0xFFFF
    rcode, body = (0x45, name.encode()) if code == 1 else (0x44, b"")
    out = struct.pack("!BBH", 0x50 | tkl, rcode, mid) + msg[4:4 + tkl]
    if body:
        out += bytes([0xC0]) + b"\xff" + body  # Content-Format 0 (text/plain)
    out_sock.sendto(out, peer)


while True:
    msg, peer = s.recvfrom(2048)
    if len(msg) < 4 or msg[1] == 0 or msg[1] >= 32:
        continue
    print("%s %d %s" % ("NON" if (msg[0] >> 4) & 3 == 1 else "CON", msg[1], path_of(msg, msg[0] & 15)),
          flush=True)
    threading.Timer(delay, answer, (msg, peer)).start()
