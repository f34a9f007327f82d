#!/usr/bin/env python3
"""A misbehaving CoAP peer for the tests: `silent` swallows every datagram,
`rst` answers every CON with a Reset. Binds 127.0.0.1:PORT; runs until killed
or for at most 300 s."""
import socket
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
s.settimeout(1.0)
end = time.time() + 300
while time.time() < end:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    if mode == "rst" and len(data) >= 4 and (data[0] >> 4) & 3 == 0:
        s.sendto(bytes([0x70, 0, data[2], data[3]]), peer)
