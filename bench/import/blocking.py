#!/usr/bin/env python3
"""How long an import holds up another borough's writes, and the service's memory meanwhile.

While one key imports a file over HTTP, a Hackney borough key PATCHes one of Hackney's contracts
every 0.1 s; the script reports the import's answer, the PATCHes' statuses, median and longest
time, and the service's peak resident memory (VmRSS of its process) during the import.

    blocking.py ORIGIN PID IMPORT_KEY HACKNEY_KEY FILE QUERY

    blocking.py http://127.0.0.1:8080 $(pgrep -f 'citytools serve') "$CAMDEN_KEY" "$HACKNEY_KEY" \\
        register.csv 'format=contracts-register'

Standard library only. The PATCHes change only `notes` on a contract of Hackney's.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def main() -> None:
    base, pid, importer, hackney, path, query = sys.argv[1:7]
    pid = int(pid)

    def request(method, url, key, body=None, headers=None):
        req = urllib.request.Request(base + url, data=body, method=method)
        req.add_header("Authorization", "Bearer " + key)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=600) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    _, body = request("GET", "/api/v1/contracts?borough=hackney&per_page=1", hackney)
    contract = json.loads(body)["items"][0]["id"]
    done = threading.Event()
    writes, peak = [], [0]

    def writer():
        n = 0
        while not done.is_set():
            start = time.time()
            status, _ = request("PATCH", f"/api/v1/contracts/{contract}", hackney,
                                json.dumps({"notes": f"blocking probe {n}"}).encode(),
                                {"Content-Type": "application/json", "If-Match": "*"})
            writes.append((time.time() - start, status))
            n += 1
            time.sleep(0.1)

    def memory():
        while not done.is_set():
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            time.sleep(0.2)

    threads = [threading.Thread(target=writer), threading.Thread(target=memory)]
    for thread in threads:
        thread.start()
    data = open(path, "rb").read()
    start = time.time()
    status, body = request("POST", "/api/v1/imports?" + query, importer, data,
                           {"Content-Type": "text/csv"})
    took = time.time() - start
    time.sleep(1)
    done.set()
    for thread in threads:
        thread.join()
    report = json.loads(body)
    counts = {k: report.get(k) for k in ("created", "updated", "unchanged", "failed")}
    print(f"import: {status} in {took:.1f} s, {json.dumps(counts) if 'created' in report else report.get('detail')}")
    times = sorted(t for t, _ in writes)
    statuses = {}
    for _, s in writes:
        statuses[s] = statuses.get(s, 0) + 1
    print(f"hackney's PATCHes meanwhile: {len(writes)}, statuses {statuses}, "
          f"median {times[len(times) // 2] * 1000:.0f} ms, longest {times[-1] * 1000:.0f} ms")
    print(f"service's peak RSS during the import: {peak[0] / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
