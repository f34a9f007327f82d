#!/usr/bin/env python3
"""Hostile peers of a CoAP-over-TLS/TCP listener or target (RFC 8323),
for test_adversarial_tls.sh. Each mode prints what it saw and exits 0
when the gateway behaved, 1 otherwise.

  silent PORT            connect, send nothing: seconds until closed
  drip PORT              a ClientHello one byte every 0.5 s: seconds until closed
  bigrecord PORT         a record header of 65535 bytes, then bytes: closed, how soon
  perip TLSPORT TCPPORT  coap.tcp_max_connections_per_ip 2 on both listeners:
                         mapped and plain IPv4 count as one host, ::1 as another,
                         and every way a connection ends frees its slot
  stall PORT             a target that accepts and never answers (runs until killed)
  tlsserver PORT CRT KEY MODE   a TLS target (ALPN coap) that, after the
                         handshake, sends MODE: "huge" a frame announcing 4 GiB,
                         "csms" CSMs without end (runs until killed)
"""
import socket
import ssl
import struct
import sys
import time

CSM = bytes([0x00, 0xE1])  # RFC 8323 §3.2: length 0, TKL 0, code 7.01
RELEASE = bytes([0x00, 0xE4])  # 7.04
ABORT = bytes([0x00, 0xE5])  # 7.05


def client_hello():
    """A plausible TLS 1.2 ClientHello record (enough to start a handshake)."""
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x00\x2f" + b"\x01\x00"
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def until_closed(s, limit):
    """Seconds until the peer closed s (EOF or reset), or None past limit."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            if s.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def silent(port):
    s = socket.create_connection(("127.0.0.1", port))
    t = until_closed(s, 20)
    print(f"silent: closed after {t}")
    return t is not None and t < 15


def drip(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(0.5)
    t0 = time.monotonic()
    for b in client_hello():
        try:
            s.send(bytes([b]))
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
        if time.monotonic() - t0 > 20:
            break
    t = time.monotonic() - t0
    print(f"drip: closed after {t:.1f} s")
    return t < 15


def bigrecord(port):
    s = socket.create_connection(("127.0.0.1", port))
    sent = 0
    try:
        s.sendall(b"\x16\x03\x01\xff\xff")
        s.settimeout(2)
        chunk = b"\x00" * 4096
        while sent < (1 << 20):
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    t = until_closed(s, 5)
    print(f"bigrecord: {sent} bytes sent, closed after {t}")
    return t is not None


def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.connect((host, port))
    return s


def is_open(s):
    """Still open after a moment (accepted), or closed at once (refused)."""
    s.settimeout(0.6)
    try:
        return s.recv(4096, socket.MSG_PEEK) != b""  # the listener's CSM, on TCP
    except socket.timeout:
        return True
    except OSError:
        return False


def expect(what, cond):
    print(("ok   " if cond else "FAIL ") + what)
    return cond


def perip(tls_port, tcp_port):
    good = True
    for port, name in ((tls_port, "TLS"), (tcp_port, "TCP")):
        a, b = connect("127.0.0.1", port), connect("127.0.0.1", port)
        time.sleep(0.3)
        c = connect("::ffff:127.0.0.1", port)
        good &= expect(f"{name}: two from 127.0.0.1 open", is_open(a) and is_open(b))
        good &= expect(f"{name}: a third from ::ffff:127.0.0.1 refused (one host)", not is_open(c))
        d = connect("::1", port)
        good &= expect(f"{name}: ::1, another host, still served", is_open(d))
        # every way a connection ends frees its slot
        if name == "TLS":
            a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            a.close()  # RST
            b.sendall(b"GET / HTTP/1.0\r\n\r\n")  # no TLS: the handshake fails
            until_closed(b, 3)
        else:
            a.sendall(CSM + RELEASE)
            until_closed(a, 3)
            b.sendall(CSM + ABORT)
            until_closed(b, 3)
        time.sleep(0.3)
        e, f = connect("127.0.0.1", port), connect("::ffff:127.0.0.1", port)
        good &= expect(f"{name}: after RST / {'handshake failure' if name == 'TLS' else 'Release, Abort'}: "
                       "two new ones open", is_open(e) and is_open(f))
        g = connect("127.0.0.1", port)
        good &= expect(f"{name}: and a third refused again", not is_open(g))
        e.close()  # FIN
        if name == "TLS":  # f: the handshake timeout (10 s) ends it
            t = until_closed(f, 15)
            good &= expect(f"TLS: a silent handshake closed by the gateway ({t})", t is not None)
        else:
            f.sendall(bytes([0x00, 0x01]))  # a GET before any CSM: Abort (§5.3)
            until_closed(f, 3)
        time.sleep(0.3)
        h, i = connect("127.0.0.1", port), connect("127.0.0.1", port)
        good &= expect(f"{name}: after FIN and {'timeout' if name == 'TLS' else 'a bad frame'}: two open",
                       is_open(h) and is_open(i))
        for s in (c, d, g, h, i):
            s.close()
        time.sleep(0.3)
    return good


def serve_forever(port, handle):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("listening", flush=True)
    held = []
    while True:
        c, _ = ls.accept()
        print("accepted", flush=True)
        try:
            handle(c, held)
        except OSError as e:
            print(f"closed: {e}", flush=True)


def stall(port):
    serve_forever(port, lambda c, held: held.append(c))


def tlsserver(port, crt, key, mode):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["coap"])

    def handle(c, held):
        t = ctx.wrap_socket(c, server_side=True)
        print("handshake done", flush=True)
        t.sendall(CSM)
        if mode == "huge":  # §3.2: length nibble 15, a 4-byte extended length
            t.sendall(bytes([0xF0]) + struct.pack(">I", 0xFFFFFFFF) + b"\x45" + b"\x00" * 64)
            held.append(t)
            return
        t.settimeout(0.005)
        n = 0
        while n < 200000:  # CSMs without end (bounded: the test stops us sooner)
            t.sendall(CSM * 64)
            n += 64
            try:
                if t.recv(4096) == b"":
                    break
            except socket.timeout:
                pass
        print(f"sent {n} CSMs", flush=True)

    serve_forever(port, handle)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "tlsserver":
        tlsserver(int(args[0]), args[1], args[2], args[3])
        return 0
    if mode == "perip":
        return 0 if perip(int(args[0]), int(args[1])) else 1
    fn = {"silent": silent, "drip": drip, "bigrecord": bigrecord, "stall": stall}[mode]
    return 0 if fn(int(args[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
