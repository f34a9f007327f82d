#!/usr/bin/env python3
"""A hostile DNS server for test_adversarial3.sh (UDP, 127.0.0.1 only).
Answers A queries by name:
  loop.evil.test    a CNAME to loop2.evil.test, which is a CNAME back
  many.evil.test    1000 A records (127.0.0.1), TTL 0, in one datagram
  ttl0.evil.test    one A record 127.0.0.1 with TTL 0
  forever.evil.test one A record 127.0.0.1 with TTL 2^32-1
anything else NXDOMAIN; AAAA queries get no records. Every query is
logged to LOG as "NAME TYPE". Prints its port.

  hostile_dns.py LOG
"""
import socket
import struct
import sys


def name_wire(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def rr(owner_ptr, rtype, ttl, data):
    return struct.pack("!HHHIH", owner_ptr, rtype, 1, ttl, len(data)) + data


def answer(data):
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    labels, i = [], 12
    while data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode("ascii", "replace"))
        i += 1 + data[i]
    qtype = struct.unpack("!H", data[i + 1:i + 3])[0]
    name, end = ".".join(labels).lower(), i + 5
    a = socket.inet_aton("127.0.0.1")
    answers, rcode = [], 0
    if qtype == 1 and name == "loop.evil.test":
        # loop.evil.test CNAME loop2.evil.test; loop2.evil.test CNAME loop.evil.test
        target = name_wire("loop2.evil.test")
        answers.append(rr(0xC00C, 5, 60, target))
        second = 12 + (end - 12) + 12  # where the first answer's RDATA starts
        answers.append(rr(0xC000 | second, 5, 60, struct.pack("!H", 0xC00C)))
    elif qtype == 1 and name == "many.evil.test":
        answers = [rr(0xC00C, 1, 0, a)] * 1000
    elif qtype == 1 and name == "ttl0.evil.test":
        answers = [rr(0xC00C, 1, 0, a)]
    elif qtype == 1 and name == "forever.evil.test":
        answers = [rr(0xC00C, 1, 0xFFFFFFFF, a)]
    elif not name.endswith(".evil.test") or name.count(".") != 2:
        rcode = 3
    out_flags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode
    header = struct.pack("!HHHHHH", qid, out_flags, 1, len(answers), 0, 0)
    return header + data[12:end] + b"".join(answers), name, qtype


def main():
    log = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        data, peer = s.recvfrom(4096)
        try:
            out, name, qtype = answer(data)
        except (ValueError, IndexError, struct.error):
            continue
        with open(log, "a") as f:
            f.write("%s %s\n" % (name, {1: "A", 28: "AAAA"}.get(qtype, qtype)))
        s.sendto(out, peer)


if __name__ == "__main__":
    sys.exit(main())
