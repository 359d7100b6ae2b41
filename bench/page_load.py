#!/usr/bin/env python3
"""First load of the page at `/`, in headless Chromium driven through ChromeDriver.

Usage: bench/page_load.py ORIGIN [RUNS]   (e.g. http://127.0.0.1:8080 5)

Each run is a fresh browser profile (no cache). It reports, per run, the milliseconds from
navigation start until the page says it is ready (totals and the open view rendered:
`<body data-ready="true">`), and the bytes it transferred: the page, its files and every API
answer of the first view. Standard library only; needs `chromedriver` and `chromium` on PATH.
"""
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["value"]


def one_run(driver, origin):
    profile = tempfile.mkdtemp(prefix="page-load-")
    try:
        session = call(driver, "POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": shutil.which("chromium"), "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--window-size=1400,1000", f"--user-data-dir={profile}"]}}}})["sessionId"]
        try:
            call(driver, "POST", f"/session/{session}/url", {"url": origin + "/"})
            deadline = time.time() + 120
            while time.time() < deadline:
                ready = call(driver, "POST", f"/session/{session}/execute/sync",
                             {"script": "return document.body.dataset.ready === 'true';", "args": []})
                if ready:
                    break
                time.sleep(0.02)
            return call(driver, "POST", f"/session/{session}/execute/sync", {"script": """
                const nav = performance.getEntriesByType('navigation')[0];
                const resources = performance.getEntriesByType('resource');
                const bytes = [nav, ...resources].reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0);
                const api = resources.filter(e => e.name.includes('/api/'));
                return {ready_ms: Math.round(performance.now()), bytes,
                        requests: resources.length + 1, api_requests: api.length,
                        slowest_api_ms: Math.round(Math.max(0, ...api.map(e => e.duration)))};""",
                "args": []})
        finally:
            call(driver, "DELETE", f"/session/{session}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main():
    origin = sys.argv[1].rstrip("/")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    port = free_port()
    chromedriver = subprocess.Popen(["chromedriver", f"--port={port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        driver = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        results = [one_run(driver, origin) for _ in range(runs)]
        for r in results:
            print(json.dumps(r))
        ready = sorted(r["ready_ms"] for r in results)
        print(f"first load of {origin}/: median {ready[len(ready) // 2]} ms to ready "
              f"(min {ready[0]}, max {ready[-1]}), {results[-1]['bytes']:,} bytes in "
              f"{results[-1]['requests']} requests ({results[-1]['api_requests']} to the API)")
    finally:
        chromedriver.terminate()


if __name__ == "__main__":
    main()
