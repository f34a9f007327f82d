#!/usr/bin/env python3
"""A small HTTP origin for the reverse-proxy tests, on 127.0.0.1:PORT:
  GET  /hello          200 text/plain "hello", ETag "ab12", Cache-Control max-age=30
  ANY  /echo           200 with the method, the request body and its Content-Type
  GET  /status/NNN     that status, body "status NNN"
  GET  /slow           answers after 3 s
  GET  /big            300 KiB of deterministic bytes, application/octet-stream
  DELETE /item         204
  POST /create         201 with Location /items/7?x=1
Runs until killed, or for at most 300 s."""
import http.server
import socketserver
import sys
import threading
import time

BIG = bytes((i * 7 + i // 251) & 0xFF for i in range(300 * 1024))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body or b"")))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        data = self.body()
        if self.path == "/hello":
            self.reply(200, b"hello", "text/plain", [("ETag", '"ab12"'), ("Cache-Control", "max-age=30")])
        elif self.path == "/echo":
            ct = self.headers.get("Content-Type") or "application/octet-stream"
            self.reply(200, self.command.encode() + b" " + data, ct)
        elif self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
            self.reply(code, b"status %d" % code)
        elif self.path == "/slow":
            time.sleep(3)
            self.reply(200, b"late")
        elif self.path == "/big":
            self.reply(200, BIG, "application/octet-stream")
        elif self.path == "/create" and self.command == "POST":
            self.reply(201, b"made", "text/plain", [("Location", "/items/7?x=1")])
        elif self.path == "/item" and self.command == "DELETE":
            self.reply(204, None)
        else:
            self.reply(404, b"no such thing")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_FETCH = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
threading.Timer(300, srv.shutdown).start()
srv.serve_forever()
