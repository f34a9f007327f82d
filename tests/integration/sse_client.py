#!/usr/bin/env python3
"""An EventSource as a browser runs one: sse_client.py URL SECONDS.

Reads the event stream at URL (WHATWG HTML, "Server-sent events"): keeps
the last event ID and the retry: delay, and when the stream ends or the
connection fails, waits that delay and connects again with Last-Event-ID.
Prints one JSON line per event: {"conn": N, "event": ..., "id": ...,
"data": ...}, and {"conn": N, "connected": STATUS} per connection (0 when
it failed), flushed at once. Stops after SECONDS.
"""
import http.client
import json
import sys
import time
import urllib.parse


def out(**kw):
    print(json.dumps(kw), flush=True)


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    end = time.time() + float(sys.argv[2])
    last_id, retry_ms, conn_no = None, 3000, 0
    while time.time() < end:
        conn_no += 1
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        try:
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=max(0.1, end - time.time()))
            c.request("GET", url.path + ("?" + url.query if url.query else ""), headers=headers)
            r = c.getresponse()
            out(conn=conn_no, connected=r.status)
            if r.status != 200:
                return 1  # EventSource fails the connection for good
            ev = {"event": "message", "data": [], "id": None}
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.decode().rstrip("\r\n")
                if not line:  # dispatch
                    if ev["data"] or ev["id"]:
                        out(conn=conn_no, event=ev["event"], id=ev["id"], data="\n".join(ev["data"]))
                    ev = {"event": "message", "data": [], "id": None}
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    ev["event"] = value
                elif field == "data":
                    ev["data"].append(value)
                elif field == "id":
                    ev["id"] = last_id = value
                elif field == "retry" and value.isdigit():
                    retry_ms = int(value)
        except (OSError, http.client.HTTPException):
            out(conn=conn_no, connected=0)
        time.sleep(retry_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
