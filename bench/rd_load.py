#!/usr/bin/env python3
"""Resource Directory registrations at a steady rate (bench/run-state.sh).

    rd_load.py HOST PORT RATE SECONDS [PREFIX]

Sends RATE new registrations a second (CON POST /rd?ep=PREFIXN&lt=3600 with
a link-format payload, each a distinct name) for SECONDS from one UDP
socket, matches the piggybacked answers by message ID, and prints one line:
"sent N created M failed F rate R p50_ms A p99_ms B" (rate: 2.01 answers a
second over the sending time; times from send to answer).
"""
import socket
import struct
import sys
import time


def option(delta, value):
    def nib(n):
        return (n, b"") if n < 13 else (13, bytes([n - 13])) if n < 269 else (14, struct.pack(">H", n - 269))
    d, dx = nib(delta)
    l, lx = nib(len(value))
    return bytes([d << 4 | l]) + dx + lx + value


def register(mid, name):
    # RFC 7252 §3: Ver 1, CON, TKL 0, 0.02 POST; options in number order
    msg = struct.pack(">BBH", 0x40, 0x02, mid)
    msg += option(11, b"rd")                      # Uri-Path
    msg += option(1, b"\x28")                     # Content-Format 40
    msg += option(3, b"ep=" + name.encode())      # Uri-Query
    msg += option(0, b"lt=3600")
    return msg + b"\xff" + b'</sensors/temperature>;rt="temperature-c";obs,</actuators/led>'


def main():
    host, port, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    prefix = sys.argv[5] if len(sys.argv) > 5 else "b"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.setblocking(False)
    n = int(rate * secs)
    sent, lat, created, failed = {}, [], 0, 0
    start = time.monotonic()

    def drain():
        nonlocal created, failed
        while True:
            try:
                d = s.recv(2048)
            except BlockingIOError:
                return
            if len(d) < 4:
                continue
            mid = struct.unpack(">H", d[2:4])[0]
            t0 = sent.pop(mid, None)
            if t0 is None:
                continue
            lat.append(time.monotonic() - t0)
            if d[1] == 0x41:  # 2.01 Created
                created += 1
            else:
                failed += 1

    for i in range(n):
        due = start + i / rate
        while time.monotonic() < due:
            drain()
            time.sleep(0.0002)
        mid = i & 0xFFFF
        sent[mid] = time.monotonic()
        s.send(register(mid, "%s%06d" % (prefix, i)))
        drain()
    took = time.monotonic() - start
    end = time.monotonic() + 3
    while sent and time.monotonic() < end:
        drain()
        time.sleep(0.001)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1e3 if lat else float("nan")
    print("sent %d created %d failed %d rate %.0f p50_ms %.2f p99_ms %.2f"
          % (n, created, failed + len(sent), created / took, q(0.5), q(0.99)))


main()
