#!/usr/bin/env python3
"""dtls_suite.py PORT SECONDS: watches loopback (a packet socket: needs
root or CAP_NET_RAW) for DTLS records sent from UDP PORT and prints the
cipher suite of the first ServerHello and, for ECDHE, the curve of the
ServerKeyExchange (RFC 5246 §7.4.1.3, RFC 4492 §5.4, RFC 5489 §2), so that
bench/run-dtls.sh can show that both servers negotiated the same thing."""
import socket
import struct
import sys
import time

SUITES = {
    0x00A8: "TLS_PSK_WITH_AES_128_GCM_SHA256",
    0x00AE: "TLS_PSK_WITH_AES_128_CBC_SHA256",
    0xC0A4: "TLS_PSK_WITH_AES_128_CCM",
    0xC0A8: "TLS_PSK_WITH_AES_128_CCM_8",
    0xCCAB: "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xC037: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
    0xCCAC: "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xD001: "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256",
    0xD003: "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256",
    0xD005: "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256",
}
CURVES = {23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519"}


def handshakes(datagram):
    """(msg_type, body) of each unfragmented handshake message at epoch 0."""
    off = 0
    while off + 13 <= len(datagram):
        ctype = datagram[off]
        epoch = struct.unpack("!H", datagram[off + 3:off + 5])[0]
        length = struct.unpack("!H", datagram[off + 11:off + 13])[0]
        rec = datagram[off + 13:off + 13 + length]
        off += 13 + length
        if ctype == 22 and epoch == 0 and len(rec) >= 12:
            yield rec[0], rec[12:]


def main():
    port, secs = int(sys.argv[1]), float(sys.argv[2])
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        s.bind(("lo", 0))
    except OSError as e:
        print("n/a (no capture on lo: %s)" % e.strerror)
        return
    s.settimeout(0.2)
    suite = curve = None
    end = time.time() + secs
    while time.time() < end and not (suite and curve):
        try:
            pkt = s.recv(65535)
        except socket.timeout:
            continue
        ip = pkt[14:]  # loopback frames carry an Ethernet header
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        if struct.unpack("!H", ip[ihl:ihl + 2])[0] != port:
            continue
        for mtype, body in handshakes(ip[ihl + 8:]):
            if mtype == 2 and len(body) > 35 and len(body) >= 37 + body[34]:
                sid = body[34]
                suite = struct.unpack("!H", body[35 + sid:37 + sid])[0]
                curve = curve or ("" if suite in (0x00A8, 0x00AE, 0xC0A4, 0xC0A8, 0xCCAB) else None)
            elif mtype == 12 and len(body) >= 2:
                hint = struct.unpack("!H", body[0:2])[0]
                p = body[2 + hint:]
                if len(p) >= 3 and p[0] == 3:  # named_curve
                    curve = CURVES.get(struct.unpack("!H", p[1:3])[0], p[1:3].hex())
    if suite is None:
        print("n/a (no ServerHello seen)")
    else:
        print(SUITES.get(suite, "0x%04X" % suite) + (", " + curve if curve else ""))


if __name__ == "__main__":
    main()
