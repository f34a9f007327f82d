#!/usr/bin/env python3
"""An HTTP origin on 127.0.0.1:PORT that logs every request on stderr, one
line each: "REQ METHOD PATH [Name=value|...] body=b'...'"; answers 200 "ok"
(/slow...: after 2 s; /cached...: with Cache-Control max-age=60;
/goto?u=URL: 302 to URL). Runs until killed, or for at most 300 s."""
import http.server
import socketserver
import sys
import threading
import time
import urllib.parse


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        hdrs = "|".join("%s=%s" % (k, v) for k, v in self.headers.items())
        print("REQ %s %s [%s] body=%r" % (self.command, self.path, hdrs, body), file=sys.stderr, flush=True)
        if self.path.startswith("/slow"):
            time.sleep(2)
        b = b"ok"
        if self.path.startswith("/goto?u="):
            self.send_response(302)
            self.send_header("Location", urllib.parse.unquote(self.path[8:]))
        else:
            self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(b)))
        if self.path.startswith("/cached"):
            self.send_header("Cache-Control", "max-age=60")
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(b)
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_FETCH = any


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


s = S(("127.0.0.1", int(sys.argv[1])), H)
threading.Timer(300, s.shutdown).start()
s.serve_forever()
