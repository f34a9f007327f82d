#!/usr/bin/env python3
"""A seeded UDP relay that duplicates, reorders and drops datagrams.

    udp_relay.py LISTEN_PORT DEVICE_PORT [--seed N] [--dup P] [--reorder P]
                 [--drop P] [--hold-ms MS] [--lifetime S]

Clients (the gateway) send to 127.0.0.1:LISTEN_PORT; each datagram goes on
to the device at 127.0.0.1:DEVICE_PORT from a socket of the client's own,
and what the device sends back goes to that client. For every datagram, in
each direction, the relay draws its fate from a random generator seeded
with (seed, direction), so the n-th datagram of a direction meets the same
fate on every run with that seed:
  - dropped, with probability --drop;
  - held back, with probability --reorder: delivered after the next one to
    three datagrams of its direction have overtaken it, or after --hold-ms
    when none come;
  - duplicated, with probability --dup: a second copy goes right after
    the first (of a held datagram: both copies when it is released).
Each event is logged on stderr as one line ("c>d #12 dup CON mid=513");
at the end (SIGTERM, SIGINT or --lifetime seconds, default 170) a summary
line per direction ("c>d: 200 datagrams, 20 duplicated, ..."), also
written with --stats FILE as "KEY VALUE" lines.
"""
import argparse
import random
import selectors
import signal
import socket
import sys
import time

TYPES = ("CON", "NON", "ACK", "RST")


def describe(data):
    if len(data) < 4:
        return "short"
    return "%s mid=%d" % (TYPES[(data[0] >> 4) & 3], data[2] << 8 | data[3])


class Direction:
    def __init__(self, name, seed, args):
        self.name = name
        self.rng = random.Random("%d/%s" % (seed, name))
        self.args = args
        self.held = []  # [due time, overtakes left, data, copies, target]
        self.n = 0
        self.count = {"datagrams": 0, "duplicated": 0, "reordered": 0, "dropped": 0}

    def log(self, what, data):
        print("%s #%d %s %s" % (self.name, self.n, what, describe(data)), file=sys.stderr, flush=True)

    def handle(self, data, send):
        """One datagram arrives: decide, send now or hold."""
        self.n += 1
        self.count["datagrams"] += 1
        drop, hold, dup = (self.rng.random() for _ in range(3))
        overtakes = self.rng.randint(1, 3)
        if drop < self.args.drop:
            self.count["dropped"] += 1
            self.log("drop", data)
            return
        copies = 2 if dup < self.args.dup else 1
        if copies == 2:
            self.count["duplicated"] += 1
            self.log("dup", data)
        if hold < self.args.reorder:
            self.count["reordered"] += 1
            self.log("hold", data)
            due = time.monotonic() + self.args.hold_ms / 1000
            self.held.append([due, overtakes, data, copies, send])
            return
        for _ in range(copies):
            send(data)
        self.overtaken()

    def overtaken(self):
        """A later datagram went out: held ones that waited enough follow."""
        for h in self.held:
            h[1] -= 1
        self.release(lambda h: h[1] <= 0)

    def release(self, ready):
        keep = []
        for h in self.held:
            if ready(h):
                for _ in range(h[3]):
                    h[4](h[2])
            else:
                keep.append(h)
        self.held = keep

    def due(self, now):
        self.release(lambda h: h[0] <= now)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("listen", type=int)
    ap.add_argument("device", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--drop", type=float, default=0.0)
    ap.add_argument("--hold-ms", type=int, default=300)
    ap.add_argument("--lifetime", type=float, default=170)
    ap.add_argument("--stats")
    args = ap.parse_args()

    device = ("127.0.0.1", args.device)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", args.listen))
    sel = selectors.DefaultSelector()
    sel.register(front, selectors.EVENT_READ, None)
    to_dev = Direction("c>d", args.seed, args)
    to_cli = Direction("d>c", args.seed, args)
    backs = {}  # client address -> its socket towards the device

    def back_for(client):
        s = backs.get(client)
        if s is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            sel.register(s, selectors.EVENT_READ, client)
            backs[client] = s
        return s

    def safe_send(sock, data, addr):
        try:
            sock.sendto(data, addr)
        except OSError:  # the device is down (ICMP): as if lost
            pass

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    end = time.monotonic() + args.lifetime
    while not stop and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.02):
            try:
                data, src = key.fileobj.recvfrom(65535)
            except OSError:
                continue
            if key.data is None:  # from a client, to the device
                s = back_for(src)
                to_dev.handle(data, lambda d, s=s: safe_send(s, d, device))
            else:  # from the device, back to its client
                to_cli.handle(data, lambda d, c=key.data: safe_send(front, d, c))
        now = time.monotonic()
        to_dev.due(now)
        to_cli.due(now)
    lines = []
    for d in (to_dev, to_cli):
        c = d.count
        print("%s: %d datagrams, %d duplicated, %d reordered, %d dropped"
              % (d.name, c["datagrams"], c["duplicated"], c["reordered"], c["dropped"]),
              file=sys.stderr, flush=True)
        lines += ["%s_%s %d" % (d.name.replace(">", "_to_"), k, v) for k, v in c.items()]
    if args.stats:
        with open(args.stats, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
