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
  perip64 TLSPORT TCPPORT  the same bound per IPv6 /64: fd00:1::1..3 (one /64,
                         added to lo by the test) are one host, fd00:2::1 another
  bert TCPPORT UDPPORT    RFC 8323 §6 blocks to the Resource Directory: SZX 7
                         without a Block-Wise-Transfer CSM, over UDP, mixed with
                         SZX 6, past the body limit, at block 2^20-1, over
                         Max-Message-Size
  rebase TCPPORT UDPPORT  registers over UDP, updates over the TCP listener, and
                         answers the request that comes over that connection
  alertdev PORT CA CRT KEY  a device over TLS that sends a fatal alert in
                         clear text when the gateway's request comes
  rogue PORT CA CRT KEY  registers x509dev with a certificate that does not
                         verify: refused
  coapservers PORT...    CoAP over TCP servers answering 2.05 (runs until killed)
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


def connect(host, port, source=None):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
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


def perip64(tls_port, tcp_port):
    """A host with a /64 has 2^64 addresses: the bound counts the /64."""
    good = True
    for port, name in ((tls_port, "TLS"), (tcp_port, "TCP")):
        a = connect("fd00:1::100", port, "fd00:1::1")
        b = connect("fd00:1::100", port, "fd00:1::2")
        time.sleep(0.3)
        c = connect("fd00:1::100", port, "fd00:1::3")
        good &= expect(f"{name}: fd00:1::1 and fd00:1::2 open", is_open(a) and is_open(b))
        good &= expect(f"{name}: fd00:1::3, a third of the same /64, refused", not is_open(c))
        d = connect("fd00:1::100", port, "fd00:2::1")
        good &= expect(f"{name}: fd00:2::1, another /64, still served", is_open(d))
        e = connect("::1", port)
        good &= expect(f"{name}: ::1 counts as itself, still served", is_open(e))
        for s in (a, b, c, d, e):
            s.close()
        time.sleep(0.3)
    return good


def opts_bytes(opts):
    """CoAP options (RFC 7252 §3.1), (number, bytes) sorted by number."""
    out, last = b"", 0
    for num, val in sorted(opts, key=lambda o: o[0]):
        d, n = num - last, len(val)
        last = num

        def nib(x):
            return (x, b"") if x < 13 else (13, bytes([x - 13])) if x < 269 else (14, struct.pack(">H", x - 269))
        dn, dx = nib(d)
        ln, lx = nib(n)
        out += bytes([dn << 4 | ln]) + dx + lx + val
    return out


def uint(v):
    b = v.to_bytes(4, "big").lstrip(b"\x00")
    return b


def tcp_frame(code, token, opts, payload=b""):
    """RFC 8323 §3.2 framing."""
    body = opts_bytes(opts) + (b"\xff" + payload if payload else b"")
    n = len(body)
    if n < 13:
        head = bytes([n << 4 | len(token)])
    elif n < 269:
        head = bytes([13 << 4 | len(token), n - 13])
    elif n < 65805:
        head = bytes([14 << 4 | len(token)]) + struct.pack(">H", n - 269)
    else:
        head = bytes([15 << 4 | len(token)]) + struct.pack(">I", n - 65805)
    return head + bytes([code]) + token + body


def read_frame(s):
    """(code, token) of the next frame on s."""
    def get(n):
        b = b""
        while len(b) < n:
            x = s.recv(n - len(b))
            if not x:
                raise EOFError
            b += x
        return b
    h = get(1)[0]
    ln, tkl = h >> 4, h & 15
    ext = {13: 1, 14: 2, 15: 4}.get(ln, 0)
    e = int.from_bytes(get(ext), "big") if ext else 0
    n = ln if not ext else e + {1: 13, 2: 269, 4: 65805}[ext]
    code = get(1)[0]
    tok = get(tkl)
    get(n)
    return code, tok


def code_str(c):
    return f"{c >> 5}.{c & 31:02d}"


def block1(num, more, szx):
    return (27, uint(num << 4 | (8 if more else 0) | szx))


RD = [(11, b"rd"), (12, uint(40)), (15, b"ep=bert1")]


def tcp_session(port, bwt):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    csm = [(2, uint(8192))] + ([(4, b"")] if bwt else [])
    s.sendall(tcp_frame(0xE1, b"", csm))
    read_frame(s)  # the gateway's CSM
    return s


def ask(s, num, more, szx, payload, tok=b"\x01"):
    s.sendall(tcp_frame(0x02, tok, RD + [block1(num, more, szx)], payload))
    while True:
        code, t = read_frame(s)
        if code >> 5 != 7:
            return code_str(code)


def bert(tcp_port, udp_port):
    good = True
    s = tcp_session(tcp_port, bwt=False)
    good &= expect("SZX 7 from a peer whose CSM did not announce Block-Wise-Transfer: 4.00",
                   ask(s, 0, True, 7, b"x" * 1024) == "4.00")
    s.close()
    s = tcp_session(tcp_port, bwt=True)
    good &= expect("BERT announced: block 0, SZX 7, 1 KiB: 2.31", ask(s, 0, True, 7, b"x" * 1024) == "2.31")
    good &= expect("then SZX 6 in the same transfer (block 1): 2.31", ask(s, 1, True, 6, b"x" * 1024) == "2.31")
    good &= expect("then SZX 7 again, 2 KiB (block 2): 2.31", ask(s, 2, True, 7, b"x" * 2048) == "2.31")
    good &= expect("then past rd.max_links_bytes (4096) by a BERT block: 4.13",
                   ask(s, 4, False, 7, b"x" * 1024) == "4.13")
    good &= expect("block number 2^20-1 in BERT (an offset of 1 GiB): 4.13",
                   ask(s, 0xFFFFF, True, 7, b"x" * 1024) == "4.13")
    good &= expect("a BERT block whose length is no whole units: 4.00",
                   ask(s, 0, True, 7, b"x" * 1500) == "4.00")
    good &= expect("a BERT block over our Max-Message-Size (9 KiB frame): 4.13",
                   ask(s, 0, True, 7, b"x" * 9216) == "4.13")
    s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    # RFC 7252 §3: CON POST, message ID 0x1234, token 01
    u.sendto(bytes([0x41, 0x02, 0x12, 0x34, 0x01]) + opts_bytes(RD + [block1(0, True, 7)]) + b"\xff" + b"x" * 1024,
             ("127.0.0.1", udp_port))
    code = code_str(u.recv(2048)[1])
    good &= expect(f"SZX 7 over UDP: 4.00 ({code})", code == "4.00")
    return good


def parse_opts(b):
    """(number, bytes) of the options in b, up to the payload marker."""
    out, num, i = [], 0, 0
    while i < len(b) and b[i] != 0xFF:
        d, n = b[i] >> 4, b[i] & 15
        i += 1

        def ext(x):
            nonlocal i
            if x == 13:
                i += 1
                return b[i - 1] + 13
            if x == 14:
                i += 2
                return int.from_bytes(b[i - 2:i], "big") + 269
            return x
        num += ext(d)
        n = ext(n)
        out.append((num, b[i:i + n]))
        i += n
    return out


def rebase(tcp_port, udp_port):
    """Registered over UDP, updated over the TCP listener: the device is
    then where that connection is, reached over it (the listener never
    connects out). Answers the gateway's first request with "rebased"."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    reg = [(11, b"rd"), (12, uint(40)), (15, b"ep=rebase1")]
    u.sendto(bytes([0x41, 0x02, 0x12, 0x35, 0x02]) + opts_bytes(reg) + b"\xff</x>", ("127.0.0.1", udp_port))
    r = u.recv(2048)
    loc = [v for n, v in parse_opts(r[5:]) if n == 8]
    print(f"UDP registration: {code_str(r[1])} at /{'/'.join(x.decode() for x in loc)}", flush=True)
    s = tcp_session(tcp_port, bwt=False)
    s.sendall(tcp_frame(0x02, b"\x03", [(11, x) for x in loc]))
    code, _ = read_frame(s)
    print(f"update over TCP: {code_str(code)}", flush=True)
    s.settimeout(15)
    while True:
        h = s.recv(1)
        if not h:
            print("connection closed", flush=True)
            return False
        ln, tkl = h[0] >> 4, h[0] & 15
        ext = {13: 1, 14: 2, 15: 4}.get(ln, 0)
        e = s.recv(ext) if ext else b""
        n = ln if not ext else int.from_bytes(e, "big") + {1: 13, 2: 269, 4: 65805}[ext]
        rest = b""
        while len(rest) < 1 + tkl + n:
            rest += s.recv(1 + tkl + n - len(rest))
        code, tok = rest[0], rest[1:1 + tkl]
        if code >> 5 == 0 and code:
            print(f"request {code_str(code)} over the connection", flush=True)
            s.sendall(tcp_frame(0x45, tok, [], b"rebased"))
            time.sleep(1)
            return True


def x509_register(port, ca, crt, key):
    """A TLS connection with this client certificate that registers as
    x509dev: (raw socket, TLS socket)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["coap"])
    raw = socket.create_connection(("127.0.0.1", port))
    t = ctx.wrap_socket(raw, server_hostname="localhost")
    t.settimeout(15)
    t.sendall(tcp_frame(0xE1, b"", [(2, uint(8192))]))
    t.sendall(tcp_frame(0x02, b"\x07", [(11, b"rd"), (12, uint(40)), (15, b"ep=x509dev")], b"</x>"))
    return raw, t


def rogue(port, ca, crt, key):
    """A client certificate whose chain does not verify (another CA, the
    listed subject): nothing registered, whatever the TLS version tells."""
    try:
        _, t = x509_register(port, ca, crt, key)
        while True:
            code, _ = read_frame(t)
            if code >> 5 != 7:
                print(f"registration answered {code_str(code)}")
                return False
    except (ssl.SSLError, OSError, EOFError) as e:
        print(f"refused: {e!r}")
        return True


def alertdev(port, ca, crt, key):
    """A device over TLS (X.509) that registers as x509dev and, when the
    gateway's first request comes, sends a fatal alert in clear text
    mid-exchange (a record the session cannot decrypt)."""
    raw, t = x509_register(port, ca, crt, key)
    while True:
        code, tok = read_frame(t)
        if code >> 5 == 2:
            print(f"registered: {code_str(code)}", flush=True)
        elif code >> 5 == 0 and code:
            print(f"request {code_str(code)}: a fatal alert in clear text", flush=True)
            raw.sendall(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]))
            time.sleep(3)
            return True


def coapservers(ports):
    """CoAP over TCP servers on these ports: a CSM, then 2.05 "hi" to every
    request; connections kept open (runs until killed)."""
    import threading

    def conn(c):
        try:
            c.sendall(tcp_frame(0xE1, b"", [(2, uint(8192))]))
            while True:
                code, tok = read_frame(c)
                if code >> 5 == 0 and code:
                    c.sendall(tcp_frame(0x45, tok, [], b"hi"))
        except (OSError, EOFError):
            pass

    def serve(ls):
        while True:
            c, _ = ls.accept()
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    for p in ports:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", p))
        ls.listen(16)
        threading.Thread(target=serve, args=(ls,), daemon=True).start()
    print("listening", flush=True)
    while True:
        time.sleep(3600)

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
    if mode == "perip64":
        return 0 if perip64(int(args[0]), int(args[1])) else 1
    if mode == "rebase":
        return 0 if rebase(int(args[0]), int(args[1])) else 1
    if mode == "coapservers":
        coapservers([int(a) for a in args])
        return 0
    if mode == "rogue":
        return 0 if rogue(int(args[0]), args[1], args[2], args[3]) else 1
    if mode == "alertdev":
        return 0 if alertdev(int(args[0]), args[1], args[2], args[3]) else 1
    if mode == "bert":
        return 0 if bert(int(args[0]), int(args[1])) else 1
    fn = {"silent": silent, "drip": drip, "bigrecord": bigrecord, "stall": stall}[mode]
    return 0 if fn(int(args[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
