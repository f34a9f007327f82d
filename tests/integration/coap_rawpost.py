#!/usr/bin/env python3
"""POST one CoAP request from a chosen source address and port, then print
every datagram that reaches that address and port for a while: what an
attacker forging that source would make the gateway send to its victim.

  coap_rawpost.py [options] SRC SPORT DST PORT
    --path P      Uri-Path options ("/"-separated)
    --query Q     a Uri-Query option (repeatable)
    --wait S      listen this long (default 3 s)
    --follow      answer a 4.01 with Echo by repeating the request with it
                  (proves the address), then answer nothing else
    --lt-from N --repeat K
                  K requests 20 ms apart, with a further Uri-Query lt=N,
                  lt=N+1, ... (a registration update changing its lifetime)

One line per datagram: "answer CODE" (to our request) or "request CODE
PATH" (the gateway asking us something; never answered).
"""
import argparse
import os
import socket
import time

from coap_echo import ECHO, URI_PATH, URI_QUERY, decode, encode


def post(sock, dst, opts):
    mid = int.from_bytes(os.urandom(2), "big")
    msg = bytearray(encode(mid, os.urandom(4), opts))
    msg[1] = 2  # POST
    sock.sendto(bytes(msg), dst)


def path_of(data):
    tkl, i, num, segs = data[0] & 15, 4 + (data[0] & 15), 0, []
    while i < len(data) and data[i] != 0xFF:
        d, ln = data[i] >> 4, data[i] & 15
        i += 1
        vals = []
        for nib in (d, ln):
            if nib == 13:
                vals.append(data[i] + 13)
                i += 1
            elif nib == 14:
                vals.append(int.from_bytes(data[i:i + 2], "big") + 269)
                i += 2
            else:
                vals.append(nib)
        num += vals[0]
        if num == URI_PATH:
            segs.append(data[i:i + vals[1]].decode(errors="replace"))
        i += vals[1]
    return "/" + "/".join(segs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("sport", type=int)
    ap.add_argument("dst")
    ap.add_argument("port", type=int)
    ap.add_argument("--path", default="")
    ap.add_argument("--query", action="append", default=[])
    ap.add_argument("--wait", type=float, default=3)
    ap.add_argument("--follow", action="store_true")
    ap.add_argument("--lt-from", type=int)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    opts = [(URI_PATH, p.encode()) for p in a.path.split("/") if p]
    opts += [(URI_QUERY, q.encode()) for q in a.query]
    fam = socket.AF_INET6 if ":" in a.src else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind((a.src, a.sport))
    dst = (a.dst, a.port)
    for i in range(a.repeat):
        lt = [(URI_QUERY, b"lt=%d" % (a.lt_from + i))] if a.lt_from is not None else []
        post(sock, dst, opts + lt)
        if i + 1 < a.repeat:
            time.sleep(0.02)
    end = time.monotonic() + a.wait
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            break
        code, _, echo = decode(data)
        if data[1] == 0:
            continue  # an empty ACK
        if 1 <= data[1] < 32:
            print("request", code, path_of(data), flush=True)
            continue
        print("answer", code, flush=True)
        if a.follow and echo and code == "4.01":
            post(sock, dst, opts + [(ECHO, echo)])
            a.follow = False


main()
