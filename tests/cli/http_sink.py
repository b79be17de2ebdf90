#!/usr/bin/env python3
"""A small HTTP endpoint for the tk-forward tests (python3's http.server).

Binds 127.0.0.1 (port 0 unless --port), writes the port it got to
--port-file, and appends one JSON line per request to --log:
{"method", "path", "query", "ctype", "auth", "body", "status", "answered"}.
Answers 200, except: 503 to the first --fail-first requests, --reject-status
(400) to a request whose body or query contains --reject TEXT.  With --die-at K the
K-th request is taken (logged with status 200 and "answered": false) and
the server exits without answering, as an endpoint that crashes after
storing a batch; with --hang-at K it takes the K-th request and never
answers.  Stops on SIGTERM, after answering the request it is in (so a
stop never loses an answer by chance).
"""
import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

args = None
count = 0
busy = False        # in a request: SIGTERM waits for its answer
stopping = False


def on_term(*_):
    global stopping
    if busy:
        stopping = True
    else:
        sys.exit(0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as curl expects

    def log_message(self, *a):
        pass

    def handle_any(self):
        global busy
        busy = True
        try:
            self.answer()
        finally:
            busy = False
        if stopping:
            sys.exit(0)

    def answer(self):
        global count
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        u = urlsplit(self.path)
        count += 1
        status = 200
        if count <= args.fail_first:
            status = 503
        elif args.reject and (args.reject in body or args.reject in u.query):
            status = args.reject_status
        lost = count in (args.die_at, args.hang_at)
        with open(args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": u.path,
                                "query": u.query,
                                "ctype": self.headers.get("Content-Type"),
                                "auth": self.headers.get("Authorization"),
                                "body": body, "status": status,
                                "answered": not lost}) + "\n")
        if count == args.die_at:
            os._exit(0)         # the connection closes unanswered
        if count == args.hang_at:
            while not stopping:
                signal.pause()  # until SIGTERM
            return
        reply = b"no thanks\n" if status >= 300 else b"ok\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = handle_any
    do_GET = handle_any


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--reject", default="")
    p.add_argument("--reject-status", type=int, default=400)
    p.add_argument("--die-at", type=int, default=0)
    p.add_argument("--hang-at", type=int, default=0)
    args = p.parse_args()
    HTTPServer.allow_reuse_address = True
    srv = HTTPServer(("127.0.0.1", args.port), Handler)
    signal.signal(signal.SIGTERM, on_term)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
