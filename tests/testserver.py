#!/usr/bin/python3
"""Loopback HTTP server for the engine's tests (stdlib only, keep-alive).

Endpoints:
  /json        a fixed JSON object
  /echo        JSON of method, path, query, headers, body (any method)
  /status/N    an empty-ish response with status N
  /slow        reads the request, never answers; returns when the client closes
  /redirect    302 to /json
  /conn        JSON {conn, requests}: this TCP connection's id and how many
               requests it has carried (keep-alive reuse made observable)
  /drop        answers (keep-alive), then closes the connection 100 ms later
               without notice (a server dropping an idle connection)
  /reset       no answer: the connection is reset (RST)
  /stats       JSON {connections, requests, slow_active, posts}
  /posts       JSON {count}: non-GET/HEAD requests received so far (dry-run test)
Usage: testserver.py --port-file F [--port N] [--cert PEM --key PEM]  (TLS)
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATS = {"connections": 0, "requests": 0, "slow_active": 0, "posts": 0}


def bump(key, n=1):
    with LOCK:
        STATS[key] += n
        return STATS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tocsin-testserver/1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle
    # plus the client's delayed ACK would add 40 ms to every keep-alive reply.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.conn_id = bump("connections")
        self.conn_requests = 0

    def log_message(self, fmt, *args):  # quiet: tests read their own output
        pass

    def send_json(self, obj, status=200, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def handle_any(self):
        self.conn_requests += 1
        bump("requests")
        if self.command not in ("GET", "HEAD"):
            bump("posts")
        body = self.read_body()
        url = urlsplit(self.path)
        path = url.path
        if path == "/json":
            self.send_json({"ok": True, "service": "testserver", "n": 42,
                            "items": [1, 2, 3], "nested": {"a": "b"}})
        elif path == "/echo":
            self.send_json({
                "method": self.command,
                "path": path,
                "raw_query": url.query,
                "query": {k: v if len(v) > 1 else v[0]
                          for k, v in parse_qs(url.query, keep_blank_values=True).items()},
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }, extra={"X-Echo": "1", "X-Multi": "a"})
        elif path.startswith("/status/"):
            try:
                code = int(path[len("/status/"):])
            except ValueError:
                code = 400
            self.send_json({"status": code}, status=code)
        elif path == "/slow":
            self.slow()
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/conn":
            self.send_json({"conn": self.conn_id, "requests": self.conn_requests})
        elif path == "/drop":
            self.send_json({"conn": self.conn_id})
            self.wfile.flush()
            time.sleep(0.1)
            self.close_connection = True
        elif path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif path == "/stats":
            with LOCK:
                snap = dict(STATS)
            self.send_json(snap)
        elif path == "/posts":
            with LOCK:
                n = STATS["posts"]
            self.send_json({"count": n})
        else:
            self.send_json({"error": "not found", "path": path}, status=404)

    def slow(self):
        """Never answers: waits until the client closes the connection (at
        most 120 s), so the test can see a timeout or a cancel free it."""
        bump("slow_active")
        try:
            sock = self.connection
            for _ in range(1200):
                r, _, _ = select.select([sock], [], [], 0.1)
                if r:
                    try:
                        if not sock.recv(4096):
                            break
                    except OSError:
                        break
        finally:
            bump("slow_active", -1)
        self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    if args.cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)  # readers never see a half-written port
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
