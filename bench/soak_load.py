#!/usr/bin/env python3
"""Steady, moderate load for bench/soak.sh, until killed:
  - HTTP requests: GETs of a sensor (cached and not), the 64 KiB firmware
    now and then, POSTs to /echo, at --rps per second in all;
  - SSE subscribers joining and leaving: --streams at once, each open for
    2-20 s, then closed and replaced;
  - Resource Directory registrations with short lifetimes (lt 5-30 s) from
    fresh source ports, --regs per second, some removed (DELETE), the rest
    left to expire.
Prints a line of its own counts every 10 s.
usage: soak_load.py HTTP_PORT COAP_PORT DEVICE [--rps N] [--streams N] [--regs N]
"""
import argparse
import http.client
import random
import socket
import threading
import time



def ext(n):
    """The 4-bit nibble and extended bytes of an option delta or length."""
    return (n, b"") if n < 13 else (13, bytes([n - 13])) if n < 269 else (14, (n - 269).to_bytes(2, "big"))


def encode(mtype, code, mid, token, opts, payload):
    """A CoAP message (RFC 7252 §3); opts: (number, bytes), sorted stably."""
    out = bytes([0x40 | mtype << 4 | len(token), code, mid >> 8, mid & 0xFF]) + token
    last = 0
    for num, val in sorted(opts, key=lambda o: o[0]):
        d, dx = ext(num - last)
        ln, lx = ext(len(val))
        out += bytes([d << 4 | ln]) + dx + lx + val
        last = num
    return out + (b"\xff" + payload if payload else b"")

counts = {"http": 0, "http_err": 0, "sse_opened": 0, "sse_err": 0, "reg": 0, "reg_err": 0, "del": 0}
lock = threading.Lock()


def count(k):
    with lock:
        counts[k] += 1


def paced(rate, fn):
    """Calls fn about rate times a second, forever."""
    period, due = 1.0 / rate, time.monotonic()
    while True:
        fn()
        due += period
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            due = time.monotonic()  # behind: do not burst to catch up


def http_worker(port, dev, rate):
    conn = [None]
    paths = [("GET", f"/devices/{dev}/sensors/temperature", None)] * 6 + [
        ("GET", f"/devices/{dev}/sensors/humidity", None),
        ("POST", f"/devices/{dev}/echo", b"soak"),
        ("GET", f"/devices/{dev}/firmware", None),
        ("GET", "/api/devices", None),
    ]

    def one():
        method, path, body = random.choice(paths)
        try:
            if conn[0] is None:
                conn[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            conn[0].request(method, path, body=body)
            r = conn[0].getresponse()
            r.read()
            count("http" if r.status < 500 else "http_err")
        except (OSError, http.client.HTTPException):
            count("http_err")
            conn[0] = None

    paced(rate, one)


def sse_worker(port, dev):
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", f"/devices/{dev}/sensors/temperature", headers={"Accept": "text/event-stream"})
            r = c.getresponse()
            count("sse_opened" if r.status == 200 else "sse_err")
            end = time.monotonic() + random.uniform(2, 20)
            while r.status == 200 and time.monotonic() < end:
                if not r.fp.readline():
                    break
            c.close()
        except (OSError, http.client.HTTPException):
            count("sse_err")
            time.sleep(1)


def reg_worker(coap_port, rate):
    n = [0]

    def one():
        n[0] += 1
        name = f"soak{n[0] % 5000}"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        try:
            s.bind(("127.0.0.1", 0))
            lt = random.randint(5, 30)
            opts = [(11, b"rd"), (12, bytes([40])), (15, f"ep={name}".encode()), (15, f"lt={lt}".encode())]
            mid = random.randrange(65536)
            s.sendto(encode(0, 2, mid, b"\x01\x02", opts, b"</sensors/temperature>;rt=\"temperature\""),
                     ("127.0.0.1", coap_port))
            data = s.recv(2048)
            if data[1] != 0x41:  # 2.01 Created
                count("reg_err")
                return
            count("reg")
            if random.random() < 0.3:  # remove a third at once, let the rest expire
                i, num = 4 + (data[0] & 15), 0
                loc = []
                while i < len(data) and data[i] != 0xFF:
                    d, ln = data[i] >> 4, data[i] & 15
                    i += 1
                    if d == 13:
                        d, i = 13 + data[i], i + 1
                    if ln == 13:
                        ln, i = 13 + data[i], i + 1
                    num += d
                    if num == 8:  # Location-Path
                        loc.append(data[i:i + ln])
                    i += ln
                s.sendto(encode(0, 4, (mid + 1) % 65536, b"\x03", [(11, p) for p in loc], b""),
                         ("127.0.0.1", coap_port))
                s.recv(2048)
                count("del")
        except OSError:
            count("reg_err")
        finally:
            s.close()

    paced(rate, one)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("http_port", type=int)
    ap.add_argument("coap_port", type=int)
    ap.add_argument("device")
    ap.add_argument("--rps", type=float, default=50)
    ap.add_argument("--streams", type=int, default=20)
    ap.add_argument("--regs", type=float, default=2)
    a = ap.parse_args()
    random.seed(1)
    threads = [threading.Thread(target=http_worker, args=(a.http_port, a.device, a.rps / 2), daemon=True)
               for _ in range(2)]
    threads += [threading.Thread(target=sse_worker, args=(a.http_port, a.device), daemon=True)
                for _ in range(a.streams)]
    threads.append(threading.Thread(target=reg_worker, args=(a.coap_port, a.regs), daemon=True))
    for t in threads:
        t.start()
    while True:
        time.sleep(10)
        with lock:
            print(" ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


if __name__ == "__main__":
    main()
