#!/usr/bin/env python3
"""A webhook receiver for the watches benchmark: answers 200 to every POST and appends one line
per delivery to a log: the arrival time (Unix seconds) and the delivery's event and record id.

    receiver.py PORT LOG
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        arrived = time.time()
        payload = json.loads(body)
        LOG.write(f"{arrived:.6f} {payload['event']} {payload['record'].get('id')}\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
