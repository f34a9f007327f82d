#!/usr/bin/env python3
"""A small authoritative DNS server for the tests (RFC 1035 §4), UDP only.

    dns_server.py --port PORT --table FILE [--log FILE]

FILE has one record a line, read again whenever it changes:
    NAME A 127.0.0.2 TTL
    NAME AAAA ::1 TTL
    NAME HANG            (queries for NAME get no answer at all)
A name in the table without a record of the asked type gets an empty
answer (NODATA); any other name NXDOMAIN. Every query is appended to the
log as "NAME TYPE" (the tests count them). Port 0: a free port, printed
on stdout. Listens on 127.0.0.1 only.
"""
import argparse
import os
import socket
import struct
import sys

TYPES = {"A": 1, "AAAA": 28}
NAMES = {1: "A", 28: "AAAA"}


class Table:
    def __init__(self, path):
        self.path, self.mtime, self.records = path, None, {}

    def get(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            return self.records
        if mtime != self.mtime:
            self.mtime, records = mtime, {}
            with open(self.path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 2:
                        records.setdefault(parts[0].lower().rstrip("."), []).append(parts[1:])
            self.records = records
        return self.records


def parse_question(data):
    """(id, flags, name, qtype, end of the question) of a query."""
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if qd != 1:
        raise ValueError("one question expected")
    labels, i = [], 12
    while data[i]:
        n = data[i]
        labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, _ = struct.unpack("!HH", data[i + 1:i + 5])
    return qid, flags, ".".join(labels).lower(), qtype, i + 5


def rdata(qtype, value):
    family = socket.AF_INET if qtype == 1 else socket.AF_INET6
    return socket.inet_pton(family, value)


def answer(data, table):
    qid, flags, name, qtype, end = parse_question(data)
    records = table.get().get(name)
    if records and any(r[0] == "HANG" for r in records):
        return None, name, qtype
    answers = [] if records else None
    for r in records or []:
        if len(r) >= 3 and TYPES.get(r[0]) == qtype:
            body = rdata(qtype, r[1])
            answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, int(r[2]), len(body)) + body)
    rcode = 3 if answers is None else 0  # NXDOMAIN for names not in the table
    out_flags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode  # QR, AA, RD copied, RA
    header = struct.pack("!HHHHHH", qid, out_flags, 1, len(answers or []), 0, 0)
    return header + data[12:end] + b"".join(answers or []), name, qtype


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--table", required=True)
    ap.add_argument("--log")
    args = ap.parse_args()
    table = Table(args.table)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", args.port))
    print(s.getsockname()[1], flush=True)
    while True:
        data, peer = s.recvfrom(4096)
        try:
            out, name, qtype = answer(data, table)
        except (ValueError, IndexError, struct.error):
            continue
        if args.log:
            with open(args.log, "a") as f:
                f.write("%s %s\n" % (name, NAMES.get(qtype, qtype)))
        if out:
            s.sendto(out, peer)


if __name__ == "__main__":
    sys.exit(main())
