#!/usr/bin/env python3
"""A CoAP peer that logs what reaches it, on HOST PORT (IPv4 or IPv6):
prints "ready" once bound, then one line per datagram ("datagram from
ADDR"), and answers every CON request with a piggybacked 2.05 "seen". The
tests read its output to tell whether a refused request was sent anyway.
Runs until killed, or for at most 300 s."""
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((host, port))
s.settimeout(0.2)
print("ready", flush=True)
end = time.time() + 300
while time.time() < end:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    print("datagram from %s" % (peer[0],), flush=True)
    if len(data) < 4 or data[0] >> 6 != 1 or (data[0] >> 4) & 3 != 0:
        continue
    tkl, code = data[0] & 15, data[1]
    if not 1 <= code <= 31:
        continue
    token = data[4:4 + tkl]
    # ACK 2.05, same message ID and token, Content-Format 0, "seen"
    s.sendto(bytes([0x60 | tkl, 0x45, data[2], data[3]]) + token + b"\xc0\xffseen", peer)
