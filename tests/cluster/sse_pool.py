#!/usr/bin/env python3
"""A pool of EventSource-like subscribers in one thread (test_cluster.sh).

  sse_pool.py HOST PORT PATH N SECONDS OUT.json [--mark FILE]

Opens N streams (GET PATH, Accept: text/event-stream) and keeps them for
SECONDS. Like an EventSource (WHATWG HTML, "Server-sent events"), a
subscriber whose stream ends or fails connects again after the stream's
retry: delay (default 3000 ms), sending Last-Event-ID. A notification is
an event with a data: line. At the end OUT.json gets per subscriber: the
notifications, the reconnections, and the longest silence between two
notifications after the first one (s); with --mark FILE, also the time from
the moment FILE appeared (an instance killed) to the first notification
after it (s; null: none).
"""
import json
import os
import selectors
import socket
import sys
import time


class Sub:
    def __init__(self, pool, i):
        self.pool, self.i = pool, i
        self.sock = None
        self.buf = b""
        self.headers_done = False
        self.retry = 3.0
        self.last_id = None
        self.events = 0
        self.reconnects = -1
        self.last_event_t = None
        self.max_gap = 0.0
        self.after_mark = None
        self.next_connect = time.monotonic()

    def connect(self):
        self.reconnects += 1
        self.buf, self.headers_done = b"", False
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((self.pool.host, self.pool.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            self.next_connect = time.monotonic() + self.retry
            return
        self.sock = s
        req = "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n" % (
            self.pool.path, self.pool.host, self.pool.port)
        if self.last_id:
            req += "Last-Event-ID: %s\r\n" % self.last_id
        self.pending = (req + "\r\n").encode()
        self.pool.sel.register(s, selectors.EVENT_WRITE, self)

    def drop(self):
        if self.sock:
            self.pool.sel.unregister(self.sock)
            self.sock.close()
            self.sock = None
        self.next_connect = time.monotonic() + self.retry

    def on_event(self, fields):
        if "retry" in fields and fields["retry"].isdigit():
            self.retry = int(fields["retry"]) / 1000.0
        if "id" in fields:
            self.last_id = fields["id"]
        if "data" not in fields:
            return
        now = time.monotonic()
        self.events += 1
        if self.last_event_t is not None:
            self.max_gap = max(self.max_gap, now - self.last_event_t)
        self.last_event_t = now
        if self.pool.mark_t is not None and self.after_mark is None:
            self.after_mark = now - self.pool.mark_t

    def parse(self):
        if not self.headers_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buf.split(b" ", 2)[1:2]
            if status != [b"200"]:
                self.drop()
                return
            head = self.buf[:end].lower()
            self.buf = self.buf[end + 4:]
            self.headers_done = True
            # plain-HTTP streams end with the connection (no chunking);
            # HTTPS ones, and what a proxy re-frames, may be chunked
            self.chunked = b"transfer-encoding: chunked" in head
        text = self.buf
        out = b""
        if not self.chunked:
            out, text = text, b""
        # chunked framing: drop the size lines, keep the data
        while self.chunked:
            nl = text.find(b"\r\n")
            if nl < 0:
                break
            try:
                size = int(text[:nl].split(b";")[0], 16)
            except ValueError:
                self.drop()
                return
            if len(text) < nl + 2 + size + 2:
                break
            if size == 0:
                self.drop()
                return
            out += text[nl + 2:nl + 2 + size]
            text = text[nl + 2 + size + 2:]
        self.buf = text
        self.stream = getattr(self, "stream", b"") + out
        while b"\n\n" in self.stream:
            block, self.stream = self.stream.split(b"\n\n", 1)
            fields = {}
            for line in block.decode(errors="replace").split("\n"):
                if ":" in line and not line.startswith(":"):
                    k, v = line.split(":", 1)
                    fields[k] = v[1:] if v.startswith(" ") else v
            self.on_event(fields)

    def ready(self, mask):
        try:
            if mask & selectors.EVENT_WRITE:
                n = self.sock.send(self.pending)
                self.pending = self.pending[n:]
                if not self.pending:
                    self.pool.sel.modify(self.sock, selectors.EVENT_READ, self)
                return
            data = self.sock.recv(65536)
        except OSError:
            self.drop()
            return
        if not data:
            self.drop()
            return
        self.buf += data
        self.parse()


class Pool:
    def __init__(self, host, port, path, n, mark):
        self.host, self.port, self.path, self.mark = host, port, path, mark
        self.mark_t = None
        self.sel = selectors.DefaultSelector()
        self.subs = [Sub(self, i) for i in range(n)]

    def run(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            if self.mark and self.mark_t is None and os.path.exists(self.mark):
                self.mark_t = now
            for s in self.subs:
                if s.sock is None and now >= s.next_connect:
                    s.stream = b""
                    s.connect()
            for key, mask in self.sel.select(0.05):
                key.data.ready(mask)


def main():
    host, port, path, n, seconds, out = sys.argv[1:7]
    mark = sys.argv[8] if len(sys.argv) > 8 and sys.argv[7] == "--mark" else None
    pool = Pool(host, int(port), path, int(n), mark)
    pool.run(float(seconds))
    res = [{"events": s.events, "reconnects": s.reconnects, "max_gap": round(s.max_gap, 3),
            "after_mark": None if s.after_mark is None else round(s.after_mark, 3)}
           for s in pool.subs]
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
