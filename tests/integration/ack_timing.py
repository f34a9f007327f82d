#!/usr/bin/env python3
"""When does a proxy send the empty ACK? Sends one CON GET with Proxy-Uri
(and Size2 0 with --size2) to 127.0.0.1:PORT and prints what came first
and after how many ms: "ack MS" (an empty ACK: a separate response
follows; it is ACKed) or "piggybacked MS CODE".

  ack_timing.py PORT PROXY-URI [--size2]"""
import socket
import sys
import time

port, uri = int(sys.argv[1]), sys.argv[2].encode()
opts = b""
last = 0
for num, val in ([(28, b"")] if "--size2" in sys.argv else []) + [(35, uri)]:
    delta, last = num - last, num
    dn, dx = (delta, b"") if delta < 13 else (13, bytes([delta - 13]))
    ln, lx = (len(val), b"") if len(val) < 13 else ((13, bytes([len(val) - 13])) if len(val) < 269
                                                    else (14, (len(val) - 269).to_bytes(2, "big")))
    opts += bytes([dn << 4 | ln]) + dx + lx + val
tok = b"\x5a\x11\x22\x33"
msg = bytes([0x44, 0x01, 0x12, 0x34]) + tok + opts
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
t0 = time.monotonic()
s.sendto(msg, ("127.0.0.1", port))
data, src = s.recvfrom(2048)
ms = int((time.monotonic() - t0) * 1000)
typ, code = (data[0] >> 4) & 3, data[1]
if typ == 2 and code == 0:
    print("ack", ms)
    try:  # the separate response: ACK it so that it is not retransmitted
        sep, src = s.recvfrom(2048)
        if (sep[0] >> 4) & 3 == 0:
            s.sendto(bytes([0x60, 0, sep[2], sep[3]]), src)
    except socket.timeout:
        pass
else:
    print("piggybacked", ms, "%d.%02d" % (code >> 5, code & 31))
