#!/usr/bin/env python3
"""A small HTTP origin for the reverse-proxy tests, on 127.0.0.1:PORT:
  GET  /hello          200 text/plain "hello", ETag "ab12", Cache-Control max-age=30
  ANY  /echo           200 with the method, the request body and its Content-Type
  GET  /status/NNN     that status, body "status NNN"
  GET  /slow           answers after 3 s
  GET  /slow-big[?ms=N] answers after 1 s (N ms) with 5,000 bytes ("slow-big" ... "end.")
  GET  /big            300 KiB of deterministic bytes, application/octet-stream
  DELETE /item         204
  POST /create         201 with Location /items/7?x=1
  GET  /redir/N        302 to the relative /redir/N-1; /redir/0 is 200 "arrived"
  ANY  /goto?u=URL     302 to URL (absolute, any origin)
  ANY  /see-other      303 to /echo;  ANY /keep-method: 307 to /echo
With ORIGIN_LOG set, each request's method and path go to stderr; with
ORIGIN_TLS=CERT:KEY (PEM files) it speaks HTTPS.
Runs until killed, or for at most 300 s."""
import http.server
import os
import socketserver
import urllib.parse
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
        if os.environ.get("ORIGIN_LOG"):
            print(self.command, self.path, file=sys.stderr, flush=True)
        if self.path.startswith("/redir/"):
            n = int(self.path.split("/")[2])
            if n == 0:
                self.reply(200, b"arrived")
            else:
                self.reply(302, b"", "text/plain", [("Location", "/redir/%d" % (n - 1))])
        elif self.path.startswith("/goto?u="):
            to = urllib.parse.unquote(self.path[len("/goto?u="):])
            self.reply(302, b"", "text/plain", [("Location", to)])
        elif self.path in ("/see-other", "/keep-method"):
            self.reply(303 if self.path == "/see-other" else 307, b"", "text/plain", [("Location", "/echo")])
        elif self.path == "/hello":
            self.reply(200, b"hello", "text/plain", [("ETag", '"ab12"'), ("Cache-Control", "max-age=30")])
        elif self.path == "/echo":
            ct = self.headers.get("Content-Type") or "application/octet-stream"
            self.reply(200, self.command.encode() + b" " + data, ct)
        elif self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
            self.reply(code, b"status %d" % code)
        elif self.path.startswith("/slow-big"):
            time.sleep(int(self.path.split("ms=")[1]) / 1000 if "ms=" in self.path else 1)
            self.reply(200, b"slow-big" + b"." * 4988 + b"end.")
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
if os.environ.get("ORIGIN_TLS"):
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*os.environ["ORIGIN_TLS"].split(":"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Timer(300, srv.shutdown).start()
srv.serve_forever()
