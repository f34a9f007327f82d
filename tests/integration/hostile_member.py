#!/usr/bin/env python3
"""A hostile multicast member for test_adversarial3.sh (a LAN attacker
that joined GROUP): answers every NON request (a discovery round's GET
/.well-known/core, a group request) as MODE says, echoing its token.

  ep NAME        one NON 2.05 `</x>;ep="NAME"` (a name it claims)
  blocks N       N NON 2.05 answers, each the first 64-byte block
                 (Block2 M=1, RFC 7959 §2.8) of different links; unicast
                 CON requests (the fetch of the rest) get no answer and
                 are logged "fetch MID"
  members N      to a request with Observe, N notifications, each from a
                 source port of its own (N members, as the gateway sees it)
  ports N        N NON 2.05 `</x>`, each from a source port of its own
                 (N responders, as the gateway sees it)
  chatty N       to a request with Observe, 400 notifications (Observe
                 1..400, 200-byte payloads) from each of N source ports,
                 then "chatty: 400 notifications sent" on stdout

  hostile_member.py GROUP MODE ARG
"""
import socket
import struct
import sys
import time

from coap_options import options

group, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5683))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("0.0.0.0")))
mid = 0x2000


def has_option(msg, tkl, want):
    return any(num == want for num, _ in options(msg, tkl))


def reply(tok, code, opts, body):
    global mid
    mid = (mid + 1) & 0xFFFF
    out = struct.pack("!BBH", 0x50 | len(tok), code, mid) + tok + opts
    return out + (b"\xff" + body if body else b"")


def answer(msg, peer):
    tkl = msg[0] & 15
    tok = msg[4:4 + tkl]
    if mode == "ep":
        s.sendto(reply(tok, 0x45, b"\xc1\x28", ('</x>;ep="%s"' % arg).encode()), peer)
    elif mode == "blocks":
        for k in range(int(arg)):
            body = ('</x>;ep="flood",</y%04d>;title="' % k).encode()
            body = (body + b"x" * 64)[:64]
            # Content-Format 40, then Block2 (23) num 0, M=1, SZX 2 (64)
            s.sendto(reply(tok, 0x45, b"\xc1\x28\xb1\x0a", body), peer)
    elif mode == "members" and has_option(msg, tkl, 6):
        socks = []
        for k in range(int(arg)):
            o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            o.bind(("0.0.0.0", 0))
            o.sendto(reply(tok, 0x45, b"\x61\x01", b"v%d" % k), peer)  # Observe 1
            socks.append(o)
        for o in socks:
            o.close()
        print("chatty: 400 notifications sent", flush=True)
    elif mode == "ports":
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(arg))]
        for o in socks:
            o.sendto(reply(tok, 0x45, b"\xc1\x28", b"</x>"), peer)
        for o in socks:
            o.close()
        print("chatty: 400 notifications sent", flush=True)
    elif mode == "chatty" and has_option(msg, tkl, 6):
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(arg))]
        for seq in range(1, 401):
            for k, o in enumerate(socks):
                body = (b"%d/%d " % (k, seq)) + b"z" * 200
                o.sendto(reply(tok, 0x45, b"\x62" + struct.pack("!H", seq), body[:200]), peer)
            time.sleep(0.005)
        for o in socks:
            o.close()
        print("chatty: 400 notifications sent", flush=True)


while True:
    msg, peer = s.recvfrom(2048)
    if len(msg) < 4 or msg[1] == 0 or msg[1] >= 32:
        continue
    if msg[0] >> 4 & 3 == 0:  # CON: a unicast request
        print("fetch %d" % struct.unpack("!H", msg[2:4])[0], flush=True)
        continue
    answer(msg, peer)
