#!/usr/bin/env python3
"""A subscriber that stops reading (test_cluster.sh, the cap on a relayed stream).

  slow_reader.py HOST PORT PATH GO_FILE OUT.json

Opens one event stream (GET PATH, Accept: text/event-stream) with a small
receive buffer, reads its answer's header and first bytes, then reads
nothing until GO_FILE appears (at most 30 s): the gateway's socket buffer
fills and what comes next waits in the gateway. Then it reads everything
that is left, until the gateway ends the stream or 10 s pass. OUT.json:
the bytes read in all, whether the stream ended (EOF), the HTTP status.
"""
import json
import os
import socket
import sys
import time

host, port, path, go_file, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
s.connect((host, port))
s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n\r\n" % (path, host, port)).encode())
s.settimeout(5)
data = s.recv(4096)
status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "?"
total, eof = len(data), False
deadline = time.monotonic() + 30
while not os.path.exists(go_file) and time.monotonic() < deadline:
    time.sleep(0.1)
s.settimeout(1)
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    except OSError:
        eof = True
        break
    if not d:
        eof = True
        break
    total += len(d)
json.dump({"status": status, "bytes": total, "eof": eof}, open(out, "w"))
