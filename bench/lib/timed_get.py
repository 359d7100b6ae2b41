#!/usr/bin/env python3
"""Times GET requests on one keep-alive connection for a while: the latencies of answers of a
millisecond or less, which wrk (one connection) misreports (its figures for them are not
possible: a p99 longer than the run divided by the requests).

    timed_get.py URL SECONDS [AUTHORIZATION [FIRST_SECONDS]]

Prints one line of JSON: requests, statuses, and p50, p90, p99 and max in ms; with
FIRST_SECONDS (the time of a first request made before), a Markdown table row instead.
"""
import http.client
import json
import sys
import time
import urllib.parse


def main() -> None:
    url, seconds = sys.argv[1], float(sys.argv[2])
    headers = {"Authorization": sys.argv[3]} if len(sys.argv) > 3 and sys.argv[3] else {}
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    latencies, statuses = [], {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    latencies.sort()

    def at(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 3)

    if len(sys.argv) > 4:
        first_ms = float(sys.argv[4]) * 1000
        print(f"| `{path.removeprefix('/api/v1')}` | {first_ms:,.0f} | {len(latencies):,} | "
              f"{at(50):.2f} | {at(99):.2f} | {latencies[-1] * 1000:.1f} | {statuses} |")
        return
    print(json.dumps({"url": url, "requests": len(latencies), "statuses": statuses,
                      "p50_ms": at(50), "p90_ms": at(90), "p99_ms": at(99),
                      "max_ms": round(latencies[-1] * 1000, 3)}))


if __name__ == "__main__":
    main()
