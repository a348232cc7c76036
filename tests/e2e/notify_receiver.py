#!/usr/bin/python3
"""Loopback receiver for the notify tests (stdlib only).

POST /ok/NAME    records, answers 200
POST /fail/NAME  records, answers 500
POST /hang/NAME  records, answers 200 after 5 s (a channel that hangs)
Each POST is appended to --log as one JSON line {"path", "body"} (body
decoded from JSON when it is JSON), before the answer is sent.
Usage: notify_receiver.py --port-file F --log F
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        rec = {"path": self.path, "body": body, "ctype": self.headers.get("Content-Type"),
               "t": time.time()}
        with LOCK, open(ARGS.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        status = 200
        if self.path.startswith("/fail/"):
            status = 500
        elif self.path.startswith("/hang/"):
            time.sleep(5)
        out = b'{"status":"ok"}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass


ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ARGS = ap.parse_args()
srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(ARGS.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402
os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
srv.serve_forever()
