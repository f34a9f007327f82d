#!/usr/bin/env python3
"""A subscriber that stops reading: sse_stall.py PORT PATH GOFILE.
Opens an event stream on 127.0.0.1:PORT with a tiny receive buffer and
reads nothing until GOFILE exists (at most 60 s), so the gateway's socket
fills and its queue for this subscriber with it. Then it reads what is
left until the stream is quiet for 1 s (10 s at most), and prints the
Observe sequence numbers of the events it got (their data's "seq"), one a
line, in order (the body de-chunked when it is chunked)."""
import os
import re
import socket
import sys
import time

port, path, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: sets the window
s.connect(("127.0.0.1", port))
s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
          "Accept: text/event-stream\r\n\r\n".encode())
end = time.time() + 60
while not os.path.exists(go) and time.time() < end:
    time.sleep(0.05)
s.settimeout(1.0)
raw = b""
end = time.time() + 10
while time.time() < end:
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    if not b:
        break
    raw += b
head, _, body = raw.partition(b"\r\n\r\n")
chunked = re.search(rb"^transfer-encoding:.*chunked", head, re.I | re.M)
data = b"" if chunked else body  # else the close ends the body (RFC 9112 §6.3)
while chunked and body:  # chunked transfer coding (RFC 9112 §7.1)
    size_line, _, rest = body.partition(b"\r\n")
    size = int(size_line.split(b";")[0] or b"0", 16)
    if size == 0 or len(rest) < size:
        data += rest[:size]
        break
    data += rest[:size]
    body = rest[size + 2:]
for m in re.finditer(rb'^data: \{.*?"seq":(\d+),', data, re.M):
    print(m.group(1).decode())
