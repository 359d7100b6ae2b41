#!/usr/bin/env python3
"""Serves the recorded Contracts Finder OCDS search page on loopback, split into a chain of pages
linked by links.next (15 releases a page, as tests/api/sync.rs does), for timing `citytools sync`.

Usage: serve_pages.py PORT [REPEAT] [london]
  REPEAT chains the 7 pages that many times (default 1).
  `london` moves the buyers of the page's four technology awards and three technology tender
  notices to London boroughs, as tests/api/sync.rs and tests/api/tenders.rs do (the real page has
  no London technology record), so that the sync has something to write.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

PORT = int(sys.argv[1])
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 1
FIXTURE = Path(__file__).resolve().parents[2] / "../shared/fixtures/real/contracts_finder_ocds_search_page_2022-10-20.json"
package = json.loads(FIXTURE.read_text(encoding="utf-8"))
releases = package["releases"]
LONDON_MOVES = {
    0: "London Borough of Camden", 11: "London Borough of Hackney", 17: "London Borough of Hackney",
    13: "London Borough of Islington", 46: "London Borough of Lambeth",
    62: "London Borough of Croydon", 26: "London Borough of Camden",
    74: "London Borough of Merton", 83: "London Borough of Merton",
}
if len(sys.argv) > 3 and sys.argv[3] == "london":
    for index, borough in LONDON_MOVES.items():
        release = releases[index]
        buyer = release["buyer"]["id"]
        release["buyer"]["name"] = borough
        for party in release["parties"]:
            if party["id"] == buyer:
                party["name"] = borough
chunks = [releases[i:i + 15] for i in range(0, len(releases), 15)] * REPEAT
base = f"http://127.0.0.1:{PORT}"
pages = []
for i, chunk in enumerate(chunks):
    page = dict(package, releases=chunk)
    page["links"] = (
        {"next": f"{base}/Published/Notices/OCDS/Search?publishedTo=2022-10-20T09%3A43%3A52%2B01%3A00&limit=100&cursor={i + 1}"}
        if i + 1 < len(chunks) else {}
    )
    pages.append(json.dumps(page).encode())


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        cursor = parse_qs(urlparse(self.path).query).get("cursor", ["0"])[0]
        body = pages[int(cursor)]
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
