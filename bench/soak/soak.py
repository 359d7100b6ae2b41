#!/usr/bin/env python3
"""Soak test of the City Tools API: a fixed time of mixed reads and writes against the release
build, with its own private database, reporting errors by status, memory over time, and every
acknowledged write checked against what the database holds afterwards.

Python 3 standard library only. Sends requests to 127.0.0.1 only, from a bounded number of
threads, for a bounded time. See README.md beside this file.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # never anything else: the service is started here, by this script
MAX_WORKERS = 32
MAX_DURATION = 6 * 3600
REQUEST_TIMEOUT = 60.0
# The service closes a keep-alive connection idle for 30 s; a client opens a new one after this.
IDLE_RECONNECT = 20.0


# ---------------------------------------------------------------------------------------------
# The service under test


class Service:
    """`citytools serve` on a free port of 127.0.0.1, with a private database in a temp dir."""

    def __init__(self, binary: Path, write_rate: int, keep: bool, log_filter: str):
        self.binary = binary
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="citytools-soak."))
        # The private cluster runs as the postgres user when we are root: it must reach the dir.
        os.chmod(self.work, 0o755)
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env.update(
            CITYTOOLS_DATA_DIR=str(self.work / "cluster"),
            CITYTOOLS_WRITE_RATE=str(write_rate),
            RUST_LOG=log_filter,
        )
        self.port = free_port()
        self.log_path = self.work / "service.log"
        self.process: subprocess.Popen | None = None
        self.socket_dir: str | None = None
        self.pg_port: str | None = None

    def command(self, *args: str) -> str:
        """Runs a citytools command (it starts and stops the private cluster); its stdout."""
        done = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise SystemExit(f"citytools {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def prepare(self) -> str:
        """Migrates and seeds the database and makes an admin key, before the service starts
        (the running service holds the cluster; another citytools process would start its own)."""
        self.command("seed")
        return self.create_key("admin", None, "soak")

    def create_key(self, role: str, borough: str | None, name: str) -> str:
        """A new API key (the last line of `citytools keys create`), before the service starts."""
        args = ["keys", "create", "--role", role, "--name", name]
        if borough:
            args += ["--borough", borough]
        return self.command(*args).strip().splitlines()[-1]

    def start(self) -> None:
        env = dict(self.env, CITYTOOLS_BIND=f"{HOST}:{self.port}")
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(self.binary), "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the service exited:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit(f"the service was not ready within 120 s:\n{self.log_tail()}")
        # The private cluster listens on a Unix socket only, named after its port.
        match = re.search(r"\(socket (\S+), port (\d+)\)", self.log_path.read_text(errors="replace"))
        if match:
            self.socket_dir, self.pg_port = match.group(1), match.group(2)
        else:
            for sock in (self.work / "cluster" / "socket").glob(".s.PGSQL.*"):
                if not sock.name.endswith(".lock"):
                    self.socket_dir, self.pg_port = str(sock.parent), sock.name.rsplit(".", 1)[1]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def psql(self, sql: str) -> list[list[str]] | None:
        """Runs one query on the service's database (through the cluster's Unix socket), or
        None when psql or the socket is not to be had."""
        psql = shutil.which("psql")
        if not psql or not self.socket_dir:
            return None
        done = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-h", self.socket_dir, "-p", self.pg_port or "5432", "-U", "postgres",
             "-d", "citytools", "-c", sql],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )
        if done.returncode != 0:
            print(f"psql failed: {done.stderr.strip()}", file=sys.stderr)
            return None
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 60 s; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=30)

    def cleanup(self) -> None:
        if self.keep:
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------------------------------------
# Bookkeeping


@dataclass
class Stats:
    """Every request's outcome, by kind of request."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: collections.Counter = field(default_factory=collections.Counter)  # (kind, status)
    unexpected: collections.Counter = field(default_factory=collections.Counter)  # (kind, status)
    samples: list = field(default_factory=list)  # a few unexpected answers, for the report
    latencies: dict = field(default_factory=lambda: collections.defaultdict(list))
    requests: int = 0

    def record(self, kind: str, status: int | str, seconds: float, expected: bool, detail: str) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[(kind, status)] += 1
            self.latencies[kind].append(seconds)
            if not expected:
                self.unexpected[(kind, status)] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{kind} -> {status}: {detail[:300]}")


@dataclass
class Acknowledged:
    """The last acknowledged state of one contract this run created."""

    id: int
    etag: str
    version: int
    title: str
    end_date: str | None
    annual_value_gbp: str | None
    deleted: bool = False
    updates: int = 0
    stale_etags: list = field(default_factory=list)


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    contracts: dict = field(default_factory=dict)  # id -> Acknowledged
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    imports: int = 0
    imported_rows: int = 0
    imported_created: int = 0
    imports_unknown: bool = False
    # Writes whose outcome is unknown (the connection failed before an answer came).
    unknown: int = 0


# ---------------------------------------------------------------------------------------------
# The load


class Client:
    """One keep-alive connection to the service, recording every request. `source`: the local
    address to send from (another 127.x.y.z address has a write budget of its own)."""

    def __init__(self, port: int, key: str | None, stats: Stats, source: str | None = None):
        self.port = port
        self.key = key
        self.stats = stats
        self.source = (source, 0) if source else None
        self.conn = self.connect()
        self.last_used = time.monotonic()

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT, source_address=self.source)

    def request(self, kind: str, method: str, path: str, expected: tuple, body=None,
                headers: dict | None = None, keyed: bool = True, judge=None):
        """(status, headers, body bytes), or None when the connection failed. `judge`, when
        given, decides instead of `expected`: judge(status, headers, body) -> (expected?, label)."""
        sent = dict(headers or {})
        if keyed and self.key:
            sent["Authorization"] = f"Bearer {self.key}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        started = time.monotonic()
        if started - self.last_used > IDLE_RECONNECT:
            # Not a race with the server's keep-alive timeout: a fresh connection.
            self.conn.close()
            self.conn = self.connect()
        try:
            self.conn.request(method, path, body=data, headers=sent)
            response = self.conn.getresponse()
            payload = response.read()  # all of it: CSV and OCDS exports are streamed
        except (OSError, http.client.HTTPException) as error:
            self.stats.record(kind, f"connection error ({type(error).__name__})",
                              time.monotonic() - started, False, f"{method} {path}: {error}")
            self.conn.close()
            self.conn = self.connect()
            return None
        self.last_used = time.monotonic()
        seconds = self.last_used - started
        ok, label = response.status in expected, response.status
        if judge is not None:
            ok, label = judge(response.status, response.headers, payload)
        detail = f"{method} {path[:200]}: {payload[:300].decode(errors='replace')}"
        self.stats.record(kind, label, seconds, ok, detail)
        return response.status, response.headers, payload


@dataclass
class Catalogue:
    """What the seeded database holds, read once before the load."""

    boroughs: list
    suppliers: list
    systems: list
    areas: list  # service areas (not groups)
    groups: list
    contracts: list  # seeded contracts: id, borough, supplier, system, areas
    imports_path: str | None


def read_catalogue(client: Client) -> Catalogue:
    def items(path: str) -> list:
        answer = client.request("setup", "GET", path, (200,))
        if not answer or answer[0] != 200:
            raise SystemExit(f"could not read {path}")
        return json.loads(answer[2])["items"]

    areas = items("/api/v1/service-areas?per_page=500")
    contracts = []
    page = 1
    while True:
        batch = items(f"/api/v1/contracts?per_page=500&page={page}")
        contracts += batch
        if len(batch) < 500:
            break
        page += 1
    answer = client.request("setup", "GET", "/openapi.json", (200,), keyed=False)
    paths = json.loads(answer[2])["paths"] if answer else {}
    imports = next((p for p in paths if p.rstrip("/") == "/api/v1/imports" and "post" in paths[p]), None)
    return Catalogue(
        boroughs=[b["id"] for b in items("/api/v1/boroughs?per_page=500")],
        suppliers=[s["id"] for s in items("/api/v1/suppliers?per_page=500")],
        systems=[s["id"] for s in items("/api/v1/systems?per_page=500")],
        areas=[a["id"] for a in areas if a.get("parent_id")],
        groups=[a["id"] for a in areas if not a.get("parent_id")],
        contracts=[
            {k: c[k] for k in ("id", "borough_id", "supplier_id", "system_id", "service_area_ids")}
            for c in contracts if c.get("service_area_ids")
        ],
        imports_path=imports,
    )


SURVEY_COLUMNS = (
    "borough", "service_areas", "system", "supplier", "contract_title", "start_date", "end_date",
    "max_end_date", "annual_value_gbp", "total_value_gbp", "hosting", "procurement_route",
    "framework_name", "data_access", "satisfaction", "value_for_money", "support_confidence",
    "development_confidence", "notes", "reference",
)


def survey_import_request(rng: random.Random, catalogue: "Catalogue", worker: int, n: int):
    """HOOK for survey imports: (query string, content type, body) of one small survey file to
    POST to /api/v1/imports, or None to leave imports out of the mix.

    A file of one to three rows in the City Tools survey template, each naming a seeded
    contract's borough, service areas, system and supplier (so every row is valid), with a
    `reference` unique to this run: the importer keys survey contracts on borough and reference,
    so each row creates one contract, which the checks then count in the database.
    """
    usable = [c for c in catalogue.contracts if c["system_id"]]
    if not usable:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SURVEY_COLUMNS)
    for row in range(rng.randint(1, 3)):
        c = rng.choice(usable)
        start = datetime.date(2023, 1, 1) + datetime.timedelta(days=rng.randrange(3 * 365))
        end = start + datetime.timedelta(days=rng.randrange(365, 6 * 365))
        writer.writerow([
            c["borough_id"], "|".join(c["service_area_ids"]), c["system_id"], c["supplier_id"],
            f"Soak {RUN} survey {worker}-{n}-{row}", start.isoformat(), end.isoformat(), "",
            f"{rng.randint(1000, 500000)}.00", "", rng.choice(HOSTING), rng.choice(ROUTES), "",
            rng.choice(ACCESS), rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5),
            rng.randint(1, 5), "", f"soak-{RUN}-survey-{worker}-{n}-{row}",
        ])
    return "format=survey", "text/csv", out.getvalue().encode()


RUN = time.strftime("%Y%m%d%H%M%S")
CONTRACT_FILTERS = ("hosting", "procurement_route", "data_access")
HOSTING = ("on_premises", "supplier_hosted", "public_cloud", "saas", "hybrid", "unknown")
ROUTES = ("open_tender", "framework", "direct_award", "joint_procurement", "unknown")
ACCESS = ("included", "charged", "unavailable", "unknown")


class Worker(threading.Thread):
    def __init__(self, number: int, port: int, key: str, catalogue: Catalogue, stats: Stats,
                 ledger: Ledger, deadline: float, write_share: float, seed: int):
        super().__init__(name=f"worker-{number}", daemon=True)
        self.number = number
        self.client = Client(port, key, stats)
        self.cat = catalogue
        self.ledger = ledger
        self.deadline = deadline
        self.write_share = write_share
        self.rng = random.Random(seed * 1000 + number)
        self.mine: list[Acknowledged] = []  # this worker's live contracts: no other writes them
        self.created = 0
        self.imported = 0
        self.rate_limited = (429,)

    # -- reads ---------------------------------------------------------------------------------

    def date(self, start_year: int = 2024, years: int = 6) -> str:
        """A day in the `years` years from 1 January of `start_year`."""
        day = datetime.date(start_year, 1, 1) + datetime.timedelta(days=self.rng.randrange(years * 365))
        return day.isoformat()

    def contract_filters(self) -> dict:
        r = self.rng
        q = {}
        if r.random() < 0.4:
            q["borough"] = ",".join(r.sample(self.cat.boroughs, r.randint(1, 3)))
        if r.random() < 0.4:
            q["service_area"] = r.choice(self.cat.areas + self.cat.groups)
        if r.random() < 0.2:
            q["supplier"] = r.choice(self.cat.suppliers)
        if r.random() < 0.3:
            q["ends_after"] = self.date(2025, 2)
        if r.random() < 0.3:
            q["ends_before"] = self.date(2027, 4)
        if r.random() < 0.2:
            name = r.choice(CONTRACT_FILTERS)
            q[name] = r.choice({"hosting": HOSTING, "procurement_route": ROUTES, "data_access": ACCESS}[name])
        if r.random() < 0.1:
            q["min_annual_value"] = str(r.choice((10000, 50000, 100000)))
        return q

    def get(self, kind: str, path: str, query: dict | None = None, expected=(200,), headers=None):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self.client.request(kind, "GET", path, expected, headers=headers)

    def read(self) -> None:
        r = self.rng
        roll = r.random()
        if roll < 0.22:
            q = self.contract_filters()
            q.update(page=r.randint(1, 3), per_page=r.choice((10, 50, 100)))
            if r.random() < 0.5:
                q["sort"] = r.choice(("end_date", "-end_date", "annual_value_gbp", "borough", "-start_date"))
            self.get("list contracts", "/api/v1/contracts", q)
        elif roll < 0.34:
            c = r.choice(self.cat.contracts)
            answer = self.get("get contract", f"/api/v1/contracts/{c['id']}")
            if answer and answer[0] == 200 and r.random() < 0.3:
                # A conditional GET with the ETag just read: 304.
                self.get("get contract (304)", f"/api/v1/contracts/{c['id']}", expected=(304,),
                         headers={"If-None-Match": answer[1].get("ETag", "")})
        elif roll < 0.42:
            kind, ids = r.choice((("borough", self.cat.boroughs), ("supplier", self.cat.suppliers),
                                  ("system", self.cat.systems)))
            self.get(f"get {kind}", f"/api/v1/{kind}s/{r.choice(ids)}")
        elif roll < 0.50:
            kind, ids = r.choice((("boroughs", self.cat.boroughs), ("suppliers", self.cat.suppliers),
                                  ("systems", self.cat.systems)))
            q = {k: v for k, v in self.contract_filters().items() if k != kind[:-1]}
            self.get(f"list {kind[:-1]} contracts", f"/api/v1/{kind}/{r.choice(ids)}/contracts", q)
        elif roll < 0.60:
            q = self.contract_filters()
            q["format"] = "csv"
            answer = self.get("csv contracts", "/api/v1/contracts", q)
            if answer and answer[0] == 200 and not answer[2].startswith(b"id,"):
                self.client.stats.record("csv contracts", "bad CSV", 0.0, False, answer[2][:200].decode(errors="replace"))
        elif roll < 0.64:
            table = r.choice(("boroughs", "suppliers", "systems", "service-areas"))
            self.get(f"csv {table}", f"/api/v1/{table}", {"format": "csv"})
        elif roll < 0.67:
            self.get("ocds", f"/api/v1/boroughs/{r.choice(self.cat.boroughs)}/contracts", {"format": "ocds"})
        elif roll < 0.69:
            self.get("calendar", "/api/v1/contracts/calendar.ics", {"borough": r.choice(self.cat.boroughs)})
        elif roll < 0.93:
            self.insight()
        else:
            self.get("changes", "/api/v1/changes", {"after": r.randint(0, 2000), "per_page": r.choice((50, 200))})

    def insight(self) -> None:
        r = self.rng
        q = {}
        if r.random() < 0.3:
            q["service_area"] = r.choice(self.cat.areas + self.cat.groups)
        choice = r.randrange(11)
        if choice == 0:
            q.update(window_months=r.choice((6, 12, 18)), min_boroughs=r.choice((2, 3)),
                     group_by=r.choice(("service_area", "supplier")))
            self.get("insight joint-procurement", "/api/v1/insights/joint-procurement", q)
        elif choice == 1:
            self.get("insight expertise", "/api/v1/insights/expertise", {"system": r.choice(self.cat.systems)})
        elif choice == 2:
            q.update(per_page=r.choice((10, 50)))
            self.get("insight opportunities", "/api/v1/insights/opportunities", q)
        elif choice == 3:
            self.get("insight market-share", "/api/v1/insights/market-share", q)
        elif choice == 4:
            self.get("insight vendor-satisfaction", "/api/v1/insights/vendor-satisfaction", q)
        elif choice == 5:
            q["interval"] = r.choice(("quarter", "year"))
            self.get("insight expiry-timeline", "/api/v1/insights/expiry-timeline", q)
        elif choice == 6:
            self.get("insight summary", "/api/v1/insights/summary", {"top": r.choice((5, 15))})
        elif choice == 7:
            self.get("insight data-access", "/api/v1/insights/data-access", q)
        elif choice == 8:
            self.get("insight footprint", f"/api/v1/suppliers/{r.choice(self.cat.suppliers)}/footprint")
        elif choice == 9:
            self.get("insight peers", f"/api/v1/boroughs/{r.choice(self.cat.boroughs)}/peers",
                     {"min_confidence": r.randint(3, 5)})
        else:
            q["format"] = "csv"
            path = r.choice(("market-share", "expiry-timeline", "data-access", "vendor-satisfaction"))
            self.get(f"insight {path} csv", f"/api/v1/insights/{path}", q)

    # -- writes --------------------------------------------------------------------------------

    def write(self) -> None:
        r = self.rng
        roll = r.random()
        if not self.mine or roll < 0.30:
            self.create()
        elif roll < 0.65:
            self.update(r.choice(self.mine))
        elif roll < 0.75:
            self.update_stale(r.choice(self.mine))
        elif roll < 0.90:
            self.delete(r.choice(self.mine))
        elif roll < 0.94:
            self.create_invalid()
        else:
            self.import_survey()

    def acknowledge(self, ack: Acknowledged, headers, payload: bytes) -> None:
        body = json.loads(payload)
        ack.stale_etags.append(ack.etag)
        ack.etag = headers.get("ETag", "")
        ack.version = body["version"]
        ack.title = body["title"]
        ack.end_date = body["end_date"]
        ack.annual_value_gbp = body["annual_value_gbp"]

    def create(self) -> None:
        r = self.rng
        template = r.choice(self.cat.contracts)
        self.created += 1
        start = self.date(2023, 3)
        body = {
            "borough_id": template["borough_id"],
            "supplier_id": template["supplier_id"],
            "system_id": template["system_id"],
            "service_area_ids": template["service_area_ids"],
            "title": f"Soak {RUN} worker {self.number} contract {self.created}",
            "start_date": start,
            "end_date": self.date(2027, 4),
            "annual_value_gbp": f"{r.randint(1000, 900000)}.{r.randint(0, 99):02d}",
            "hosting": r.choice(HOSTING),
            "procurement_route": r.choice(ROUTES),
            "data_access": r.choice(ACCESS),
            "source": "manual",
            "source_reference": f"soak-{RUN}-{self.number}-{self.created}",
            "satisfaction": r.randint(1, 5),
        }
        answer = self.client.request("create contract", "POST", "/api/v1/contracts", (201,) + self.rate_limited, body)
        if answer is None:
            with self.ledger.lock:
                self.ledger.unknown += 1
            return
        status, headers, payload = answer
        if status == 201:
            created = json.loads(payload)
            ack = Acknowledged(created["id"], headers.get("ETag", ""), created["version"], created["title"],
                               created["end_date"], created["annual_value_gbp"])
            self.mine.append(ack)
            with self.ledger.lock:
                self.ledger.contracts[ack.id] = ack
                self.ledger.creates += 1

    def update(self, ack: Acknowledged) -> None:
        r = self.rng
        patch = {"end_date": self.date(2027, 5)}
        if r.random() < 0.5:
            patch["annual_value_gbp"] = f"{r.randint(1000, 900000)}.{r.randint(0, 99):02d}"
        if r.random() < 0.3:
            patch["title"] = f"{ack.title.split(' (')[0]} (revised {ack.version + 1})"
        answer = self.client.request(
            "update contract", "PATCH", f"/api/v1/contracts/{ack.id}", (200,) + self.rate_limited, patch,
            headers={"If-Match": ack.etag, "Content-Type": "application/merge-patch+json"})
        if answer is None:
            with self.ledger.lock:
                self.ledger.unknown += 1
            # The outcome is unknown: this contract is no longer a fair check of either state.
            self.mine.remove(ack)
            with self.ledger.lock:
                self.ledger.contracts.pop(ack.id, None)
            return
        status, headers, payload = answer
        if status == 200:
            with self.ledger.lock:
                self.acknowledge(ack, headers, payload)
                ack.updates += 1
                self.ledger.updates += 1

    def update_stale(self, ack: Acknowledged) -> None:
        """A write based on a copy that is no longer current: 412, and nothing changes."""
        if not ack.stale_etags:
            return self.update(ack)
        self.client.request(
            "update contract (stale If-Match)", "PATCH", f"/api/v1/contracts/{ack.id}", (412,) + self.rate_limited,
            {"title": "this must never be stored"},
            headers={"If-Match": self.rng.choice(ack.stale_etags), "Content-Type": "application/merge-patch+json"})

    def delete(self, ack: Acknowledged) -> None:
        answer = self.client.request("delete contract", "DELETE", f"/api/v1/contracts/{ack.id}",
                                     (204,) + self.rate_limited, headers={"If-Match": ack.etag})
        if answer is None:
            with self.ledger.lock:
                self.ledger.unknown += 1
                self.ledger.contracts.pop(ack.id, None)
            self.mine.remove(ack)
            return
        if answer[0] == 204:
            self.mine.remove(ack)
            with self.ledger.lock:
                ack.deleted = True
                self.ledger.deletes += 1

    def create_invalid(self) -> None:
        """Invalid input: 422, listing the fields, and nothing stored."""
        body = {"borough_id": self.rng.choice(self.cat.boroughs), "supplier_id": "no-such-supplier",
                "service_area_ids": [], "title": "", "hosting": "in_the_attic", "satisfaction": 9,
                "source_reference": f"soak-{RUN}-invalid"}
        self.client.request("create contract (invalid)", "POST", "/api/v1/contracts", (422,) + self.rate_limited, body)

    def import_survey(self) -> None:
        if not self.cat.imports_path:
            return self.create()
        self.imported += 1
        request = survey_import_request(self.rng, self.cat, self.number, self.imported)
        if request is None:
            return self.create()
        query, content_type, body = request
        answer = self.client.request("import survey", "POST", f"{self.cat.imports_path}?{query}",
                                     (200,) + self.rate_limited, body,
                                     headers={"Content-Type": content_type})
        if answer is None:
            with self.ledger.lock:
                self.ledger.unknown += 1
                self.ledger.imports_unknown = True
            return
        if answer[0] == 200:
            report = json.loads(answer[2])
            with self.ledger.lock:
                self.ledger.imports += 1
                self.ledger.imported_rows += report.get("read", 0)
                self.ledger.imported_created += report.get("created", 0)

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            if self.rng.random() < self.write_share:
                self.write()
            else:
                self.read()


class Sampler(threading.Thread):
    """The service's resident memory (VmRSS) every `every` seconds."""

    def __init__(self, pid: int, every: float, stop: threading.Event, started: float):
        super().__init__(name="rss", daemon=True)
        self.pid, self.every, self.stop, self.started = pid, every, stop, started
        self.samples: list[tuple[float, int]] = []

    def sample(self) -> None:
        kib = rss_kib(self.pid)
        if kib is not None:
            self.samples.append((time.monotonic() - self.started, kib))

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()


# ---------------------------------------------------------------------------------------------
# Attacks, mixed in with the honest load


# Attack traffic is sent from other loopback addresses than the honest load's 127.0.0.1, so that
# each has a write budget (CITYTOOLS_WRITE_RATE, per address) of its own: the attacks do not
# spend the honest workers' budget, and a 429 on the camden key's own writes (from
# VICTIM_SOURCE, which nothing else uses) can only come from that key's budget.
ATTACK_SOURCE = "127.0.0.2"
VICTIM_SOURCE = "127.0.0.3"
FORGED_SOURCES = tuple(f"127.0.1.{n}" for n in range(1, 33))  # forged keys, from many addresses
MAX_ATTACKERS = 8
STALL_SECONDS = 20  # a stalled CSV download reads nothing for this long
STALLED_AT_ONCE = 2  # stalled downloads at a time, over every attacker
OVERSIZED_TITLE = 200_000  # characters; the service takes at most 10,000
BOROUGH_MAX_RECORDS = 20_000  # records a borough key may import at once
REGISTER_COLUMNS = (
    "Contract Reference", "Title of Agreement", "Department", "Supplier Name", "Commencement Date",
    "Expiry Date", "Expiry Date Including Extensions", "Annual Value", "Total Contract Value (£)",
    "Procurement Route", "CPV Code", "SME Status",
)
REGISTER_TITLE = "Revenues and benefits system support"  # a technology title: the row is kept
CONFUSABLE_SUPPLIERS = ("Civ\u0456ca UK Limited", "\u202eacivic", "=cmd|' /C calc'!A0")
FORWARDED = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example",
             "Forwarded": "proto=javascript;host=evil.example"}
HEAVY_ABANDONED = ("/api/v1/insights/expiry-timeline?q=a", "/api/v1/insights/data-access?min_annual_value=1")
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# Each attack and how often it is picked.
ATTACKS = (
    ("oversized-title", 1.0), ("anonymous-big-pages", 1.0), ("abandoned-heavy", 1.0),
    ("stalled-csv", 1.0), ("deep-offset", 1.0), ("import-flood", 1.0), ("too-many-records", 0.5),
    ("confusable-supplier", 1.0), ("forged-prefix", 1.5), ("foreign-reference", 1.0),
    ("no-if-match", 1.0), ("forwarded", 1.0), ("year-zero", 1.0),
)


def register_csv(rows: list) -> bytes:
    """A contract register (the headers councils publish) with `rows`:
    (reference, title, supplier name)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REGISTER_COLUMNS)
    for reference, title, supplier in rows:
        writer.writerow([reference, title, "ICT", supplier, "01/04/2024", "31/03/2027", "31/03/2029",
                         "120000", "360000", "Open tender", "48000000-8", "No"])
    return out.getvalue().encode()


def usable_source(address: str) -> str | None:
    """`address` when this machine can send from it (any 127.x.y.z on Linux), else None."""
    try:
        with socket.socket() as s:
            s.bind((address, 0))
        return address
    except OSError:
        return None


def supplier_names(client: Client, kind: str) -> dict | None:
    """Every supplier's name by id, paged through /api/v1/suppliers; None when a page fails."""
    names, page = {}, 1
    while True:
        answer = client.request(kind, "GET", f"/api/v1/suppliers?per_page=500&page={page}", (200,))
        if not answer or answer[0] != 200:
            return None
        items = json.loads(answer[2])["items"]
        names.update((s["id"], s["name"]) for s in items)
        if len(items) < 500:
            return names
        page += 1


def suspicious_chars(name: str) -> list:
    """The control, format (bidirectional, zero-width, BOM) and unassigned characters of a name."""
    import unicodedata
    return [f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in ("Cc", "Cf", "Cn")]


@dataclass
class AttackShared:
    """What the attackers share: keys, locks, and the camden key's own writes."""

    keys: dict  # camden, hackney, victim
    write_rate: int
    supplier_id: str  # a seeded software supplier, named in registers by its plain name
    supplier_name: str
    areas: list  # service areas for contracts the attackers create
    names_at_start: dict  # supplier names by id before the load
    sources: dict  # "attack", "victim": local address or None; "forged": list of addresses
    # One import at a time per key, as the service wants (except the flood, which overlaps two).
    import_locks: dict = field(default_factory=lambda: collections.defaultdict(threading.Lock))
    stalled: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(STALLED_AT_ONCE))
    lock: threading.Lock = field(default_factory=threading.Lock)
    too_many: bytes | None = None
    # The camden key's own writes (the key whose prefix the forgers use), paced far below the rate.
    victim_next: float = 0.0
    victim_writes: int = 0
    victim_refused: int = 0  # 429s on them

    @property
    def victim_interval(self) -> float:
        return max(1.0, 240.0 / self.write_rate) if self.write_rate else 1.0

    def too_many_records(self) -> bytes:
        """A register of BOROUGH_MAX_RECORDS + 1 valid rows, made once."""
        with self.lock:
            if self.too_many is None:
                self.too_many = register_csv([(f"ATK-{RUN}-MANY-{i}", REGISTER_TITLE, self.supplier_name)
                                              for i in range(BOROUGH_MAX_RECORDS + 1)])
            return self.too_many


class Attacker(threading.Thread):
    """Runs the attacks of the hardening issue, one picked at random each time, until the
    deadline. Records under `attack:<name>` in its own Stats."""

    def __init__(self, number: int, port: int, shared: AttackShared, stats: Stats, deadline: float, seed: int):
        super().__init__(name=f"attacker-{number}", daemon=True)
        self.number, self.port, self.shared, self.stats, self.deadline = number, port, shared, stats, deadline
        self.rng = random.Random(seed * 1000 + 500 + number)
        source = shared.sources["attack"]
        self.anonymous = Client(port, None, stats, source)
        self.camden = Client(port, shared.keys["camden"], stats, source)
        self.camden_too = Client(port, shared.keys["camden"], stats, source)  # the flood's second
        self.hackney = Client(port, shared.keys["hackney"], stats, source)
        self.victim = Client(port, shared.keys["victim"], stats, shared.sources["victim"])
        self.rate_limited = bool(shared.write_rate)
        self.n = 0
        self.own: dict | None = None  # a contract of the camden key's (for no-if-match)
        self.victim_contract: dict | None = None  # the victim key's own contract: id, etag

    # -- judging -------------------------------------------------------------------------------

    def judge(self, expected: tuple, flood: bool = False):
        """Expected statuses; a 429 is labelled by its cause: another import by the same key
        running (expected only in the flood: the soak sends every other import alone) or the
        write rate (expected when a rate is set)."""
        def judged(status, headers, payload):
            if status != 429:
                return status in expected, status
            if b"another import" in payload:
                return flood, "429 (import running)"
            return self.rate_limited, "429 (rate)"
        return judged

    def record(self, kind: str, label, seconds: float, ok: bool, detail: str = "") -> None:
        self.stats.record(f"attack:{kind}", label, seconds, ok, detail)

    def tag(self) -> str:
        self.n += 1
        return f"{RUN}-{self.number}-{self.n}"

    def register_import(self, client: Client, kind: str, body: bytes, expected: tuple, flood=False, judge=None):
        return client.request(f"attack:{kind}", "POST", "/api/v1/imports?format=contracts-register",
                              expected, body, headers={"Content-Type": "text/csv"},
                              judge=judge or self.judge(expected, flood))

    def contract_body(self, title: str, reference: str, **extra) -> dict:
        body = {"borough_id": "camden", "supplier_id": self.shared.supplier_id,
                "service_area_ids": self.shared.areas, "title": title, "start_date": "2024-04-01",
                "end_date": "2028-03-31", "source": "manual", "source_reference": reference}
        body.update(extra)
        return body

    # -- the attacks ---------------------------------------------------------------------------

    def oversized_title(self) -> None:
        """A register row whose title is far over 10,000 characters: 422, nothing written."""
        title = f"{REGISTER_TITLE} " + "x" * OVERSIZED_TITLE
        body = register_csv([(f"ATK-{self.tag()}-LONG", title, self.shared.supplier_name)])
        with self.shared.import_locks["camden"]:
            self.register_import(self.camden, "oversized-title", body, (422,))

    def anonymous_big_pages(self) -> None:
        """The largest pages (per_page=500 is the most allowed) of contracts and of the change
        feed, which is public: 200."""
        self.anonymous.request("attack:anonymous-big-pages", "GET", "/api/v1/contracts?borough=camden&per_page=500", (200,))
        self.anonymous.request("attack:anonymous-big-pages", "GET", "/api/v1/changes?per_page=500", (200,))

    def raw_socket(self, receive_buffer: int | None = None) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if self.shared.sources["attack"]:
            s.bind((self.shared.sources["attack"], 0))
        s.settimeout(10)
        s.connect((HOST, self.port))
        return s

    def abandoned_heavy(self) -> None:
        """Two insights asked anonymously and dropped after 1 s unread: no status to judge; what
        counts is that /readyz and the honest load stay fine."""
        started = time.monotonic()
        sockets = []
        for path in HEAVY_ABANDONED:
            try:
                s = self.raw_socket()
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode())
                sockets.append(s)
            except OSError as error:
                self.record("abandoned-heavy", f"connection error ({type(error).__name__})",
                            time.monotonic() - started, False, f"GET {path}: {error}")
        time.sleep(1.0)
        for s in sockets:
            s.close()
            self.record("abandoned-heavy", "abandoned", time.monotonic() - started, True)

    def stalled_csv(self) -> bool:
        """Every contract as CSV, anonymously, on a connection with a 4 KiB receive buffer that
        reads nothing for 20 s; then the status line is read. False when not started (two
        already stalled, or too little time left)."""
        if self.deadline - time.monotonic() < STALL_SECONDS + 1:
            return False
        if not self.shared.stalled.acquire(blocking=False):
            return False
        started = time.monotonic()
        try:
            s = self.raw_socket(receive_buffer=4096)
            try:
                s.sendall(f"GET /api/v1/contracts?format=csv HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode())
                time.sleep(STALL_SECONDS)
                s.settimeout(5)
                head = s.recv(64)
            finally:
                s.close()
        except OSError as error:
            self.record("stalled-csv", f"connection error ({type(error).__name__})",
                        time.monotonic() - started, False, str(error))
            return True
        finally:
            self.shared.stalled.release()
        match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        if not head:
            label = "closed"
        elif match:
            label = int(match.group(1))
        else:
            label = "garbled"
        # 200, or 503 when the heavy reads' places are all taken (by design).
        ok = label in (200, 503, "closed")
        self.record("stalled-csv", label, time.monotonic() - started, ok, head.decode(errors="replace"))
        return True

    def deep_offset(self) -> None:
        """A numbered page far beyond the 10,000 rows numbered pages reach: 400."""
        self.anonymous.request("attack:deep-offset", "GET", "/api/v1/contracts?page=1000000&sort=-annual_value_gbp", (400,))

    def import_flood(self) -> None:
        """Two small valid registers at once with one borough key: 200 and/or 429 (one import
        at a time per key); 422 if rows are refused. They create contracts (open data, with
        references ATK-...), which the honest ledger does not track and its checks leave out."""
        tag = self.tag()
        bodies = [register_csv([(f"ATK-{tag}-FLOOD-{i}-{row}", REGISTER_TITLE, self.shared.supplier_name)
                                for row in range(self.rng.randint(1, 3))]) for i in range(2)]
        barrier = threading.Barrier(2)

        def send(client: Client, body: bytes) -> None:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            self.register_import(client, "import-flood", body, (200, 422), flood=True)

        with self.shared.import_locks["camden"]:
            other = threading.Thread(target=send, args=(self.camden_too, bodies[1]), daemon=True)
            other.start()
            send(self.camden, bodies[0])
            other.join(REQUEST_TIMEOUT + 15)

    def too_many_records(self) -> None:
        """A register of 20,001 rows with a borough key (which imports at most 20,000): 422."""
        body = self.shared.too_many_records()
        with self.shared.import_locks["camden"]:
            self.register_import(self.camden, "too-many-records", body, (422,))

    def confusable_supplier(self) -> None:
        """A supplier that looks like Civica (Cyrillic і), one with a right-to-left override,
        or one that a spreadsheet would run as a formula: 200 or 422. The names the service
        then holds are checked after the load."""
        name = self.rng.choice(CONFUSABLE_SUPPLIERS)
        body = register_csv([(f"ATK-{self.tag()}-CONF", REGISTER_TITLE, name)])
        with self.shared.import_locks["camden"]:
            self.register_import(self.camden, "confusable-supplier", body, (200, 422))

    def forged_prefix(self) -> None:
        """Writes with the camden key's real prefix and made-up secrets, from many addresses:
        401 (429 once an address is over the rate). Then the camden key's own write, which
        must never be refused for the rate because of them."""
        prefix = self.shared.keys["victim"].rsplit("_", 1)[0]
        burst = max(5, self.shared.write_rate // 20)
        for _ in range(burst):
            secret = "".join(self.rng.choice(KEY_ALPHABET) for _ in range(40))
            forger = Client(self.port, f"{prefix}_{secret}", self.stats, self.rng.choice(self.shared.sources["forged"]))
            forger.request("attack:forged-prefix", "POST", "/api/v1/contracts", (401,), "{}",
                           judge=self.judge((401,)))
            forger.conn.close()
        self.victim_write()

    def victim_write(self) -> None:
        """The camden key's own write (its contract's PATCH with the current ETag), paced far
        below the write rate: a 429 means forged keys spent its budget."""
        now = time.monotonic()
        with self.shared.lock:
            if now < self.shared.victim_next:
                return
            self.shared.victim_next = now + self.shared.victim_interval
        kind = "attack:forged-prefix victim write"

        def judged(expected):
            def judge(status, headers, payload):
                if status == 429:
                    with self.shared.lock:
                        self.shared.victim_refused += 1
                    return not self.rate_limited, "429 (camden key refused)"
                return status in expected, status
            return judge

        with self.shared.lock:
            self.shared.victim_writes += 1
        if self.victim_contract is None:
            body = self.contract_body(f"Soak {RUN} attacker {self.number} camden contract",
                                      f"atk-{RUN}-victim-{self.number}")
            answer = self.victim.request(kind, "POST", "/api/v1/contracts", (201,), body, judge=judged((201,)))
            if answer and answer[0] == 201:
                self.victim_contract = {"id": json.loads(answer[2])["id"]}
            return
        path = f"/api/v1/contracts/{self.victim_contract['id']}"
        answer = self.victim.request(kind, "GET", path, (200,))
        if not answer or answer[0] != 200:
            return
        self.victim.request(kind, "PATCH", path, (200,), {"annual_value_gbp": f"{self.rng.randint(1000, 90000)}.00"},
                            headers={"If-Match": answer[1].get("ETag", ""),
                                     "Content-Type": "application/merge-patch+json"},
                            judge=judged((200,)))

    def foreign_reference(self) -> None:
        """The camden key creates a contract whose source_reference is the one hackney's register
        import gives its row R-200-...; hackney's import of that register must still create its
        own contract (200, created 1), and leave camden's alone."""
        tag = self.tag()
        reference = f"R-200-{tag}"
        slug = re.sub(r"[^a-z0-9]+", "-", self.shared.supplier_name.lower()).strip("-")
        body = self.contract_body(f"Soak {RUN} attack foreign reference {tag}",
                                  f"register:hackney:{reference}:{slug}", source="open_data")
        answer = self.camden.request("attack:foreign-reference", "POST", "/api/v1/contracts", (201,), body,
                                     judge=self.judge((201,)))
        if not answer or answer[0] != 201:
            return
        squatter = json.loads(answer[2])

        def judge(status, headers, payload):
            if status == 200:
                created = json.loads(payload).get("created")
                return (created == 1, 200) if created == 1 else (False, f"200 (created {created}, not 1)")
            return self.judge((200,))(status, headers, payload)

        with self.shared.import_locks["hackney"]:
            answer = self.register_import(self.hackney, "foreign-reference",
                                          register_csv([(reference, REGISTER_TITLE, self.shared.supplier_name)]),
                                          (200,), judge=judge)
        if not answer or answer[0] != 200:
            return
        after = self.anonymous.request("attack:foreign-reference", "GET", f"/api/v1/contracts/{squatter['id']}", (200,))
        if after and after[0] == 200:
            now = json.loads(after[2])
            if (now["borough_id"], now["version"]) != ("camden", squatter["version"]):
                self.record("foreign-reference", "camden's contract changed by hackney's import", 0.0, False,
                            json.dumps({"before": squatter, "after": now})[:300])

    def own_contract(self) -> dict | None:
        """A contract of the camden key's, made once."""
        if self.own is None:
            body = self.contract_body(f"Soak {RUN} attacker {self.number} own contract", f"atk-{RUN}-own-{self.number}")
            answer = self.camden.request("attack:setup", "POST", "/api/v1/contracts", (201,), body,
                                         judge=self.judge((201,)))
            if answer and answer[0] == 201:
                self.own = json.loads(answer[2])
        return self.own

    def no_if_match(self) -> None:
        """A PATCH without If-Match: 428."""
        own = self.own_contract()
        if own:
            self.camden.request("attack:no-if-match", "PATCH", f"/api/v1/contracts/{own['id']}", (428,),
                                {"title": "this must never be stored"},
                                headers={"Content-Type": "application/merge-patch+json"}, judge=self.judge((428,)))

    def forwarded(self) -> None:
        """OCDS and iCalendar (absolute links) with X-Forwarded-Proto: javascript and
        X-Forwarded-Host: evil.example: 200, neither in the answer (503 when the heavy reads'
        places are all taken)."""
        path = self.rng.choice(("/api/v1/contracts?borough=camden&format=ocds",
                                "/api/v1/boroughs/camden/contracts?format=ocds",
                                "/api/v1/contracts/calendar.ics?borough=camden"))

        def judge(status, headers, payload):
            if status == 200:
                echoed = b"javascript:" in payload or b"evil.example" in payload or any(
                    "javascript" in v or "evil.example" in v for _, v in headers.items())
                return (False, "200 (forwarded headers echoed)") if echoed else (True, 200)
            return status == 503, status

        self.anonymous.request("attack:forwarded", "GET", path, (200,), headers=FORWARDED, judge=judge)

    def year_zero(self) -> None:
        """A contract ending on 0000-01-01: 422."""
        tag = self.tag()
        body = self.contract_body(f"Soak {RUN} attack year zero {tag}", f"atk-{tag}-y0", end_date="0000-01-01")
        self.camden.request("attack:year-zero", "POST", "/api/v1/contracts", (422,), body, judge=self.judge((422,)))

    def run(self) -> None:
        names = [name for name, _ in ATTACKS]
        weights = [w for _, w in ATTACKS]
        while time.monotonic() < self.deadline:
            name = self.rng.choices(names, weights)[0]
            try:
                done = getattr(self, name.replace("-", "_"))()
                if done is False:  # not started: pick another
                    continue
            except Exception as error:  # a bug of the soak's, not an answer: shown, and fails the run
                self.record(name, f"soak error ({type(error).__name__})", 0.0, False, repr(error))
            time.sleep(self.rng.uniform(0.05, 0.3))


class ReadyProber(threading.Thread):
    """GET /readyz every 0.5 s on a new connection, 5 s timeout, as an orchestrator would."""

    def __init__(self, port: int, stop: threading.Event, every: float = 0.5, timeout: float = 5.0):
        super().__init__(name="readyz", daemon=True)
        self.port, self.stop, self.every, self.timeout = port, stop, every, timeout
        self.statuses: collections.Counter = collections.Counter()
        self.latencies: list = []
        self.samples: list = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                conn.request("GET", "/readyz")
                response = conn.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status, body = f"connection error ({type(error).__name__})", str(error).encode()
            finally:
                conn.close()
            seconds = time.monotonic() - started
            self.statuses[status] += 1
            self.latencies.append(seconds)
            if (status != 200 or seconds > self.timeout) and len(self.samples) < 10:
                self.samples.append(f"{status} after {seconds:.2f} s: {body[:200].decode(errors='replace')}")
            self.stop.wait(max(0.0, self.every - seconds))

    def report(self) -> dict:
        n = len(self.latencies)
        return {"probes": n, "non_200": n - self.statuses.get(200, 0),
                "by_status": {str(k): v for k, v in self.statuses.items()},
                "over_timeout": sum(1 for s in self.latencies if s > self.timeout),
                "p50_ms": round(percentile(self.latencies, 50) * 1000, 1),
                "p99_ms": round(percentile(self.latencies, 99) * 1000, 1),
                "max_ms": round(max(self.latencies, default=0) * 1000, 1), "samples": self.samples}


def verify_attacks(service: Service, client: Client, shared: AttackShared) -> dict:
    """After the load: what the attacks must not have left behind."""
    result: dict = {}
    problems: list = []
    names = supplier_names(client, "verify")
    if names is None:
        problems.append("could not read /api/v1/suppliers")
    else:
        controls = {i: suspicious_chars(n) for i, n in names.items() if suspicious_chars(n)}
        new = {i: n for i, n in names.items() if i not in shared.names_at_start}
        cyrillic = {i: n for i, n in new.items() if any("\u0400" <= c <= "\u04ff" for c in n)}
        result.update(suppliers=len(names), new_suppliers=sorted(new.values()),
                      names_with_control_or_bidi=controls, new_cyrillic_lookalikes=cyrillic)
        if controls:
            problems.append(f"supplier names with control/bidi characters: {controls}")
        if cyrillic:
            problems.append(f"new supplier names with Cyrillic letters (confusables of existing ones): {cyrillic}")
    answer = client.request("verify", "GET", "/api/v1/suppliers?format=csv", (200,))
    if answer and answer[0] == 200:
        rows = list(csv.DictReader(io.StringIO(answer[2].decode("utf-8-sig", errors="replace"))))
        live = [r.get("name", "") for r in rows if r.get("name", "")[:1] in ("=", "+", "-", "@", "\t", "\r")]
        result["csv_formula_names"] = live
        if live:
            problems.append(f"supplier names a spreadsheet would run as formulas in the CSV: {live}")
    else:
        problems.append("could not read /api/v1/suppliers?format=csv")

    def count(sql: str) -> int | None:
        rows = service.psql(sql)
        return None if rows is None else int(rows[0][0])

    stored = {
        "titles_over_10000_chars": count("SELECT count(*) FROM contracts WHERE char_length(title) > 10000"),
        "too_many_records_rows": count(
            f"SELECT count(*) FROM contracts WHERE source_reference LIKE 'register:camden:ATK-{RUN}-MANY-%'"),
        "dates_outside_1900_2199": count(
            "SELECT count(*) FROM contracts WHERE least(start_date, end_date, max_end_date) < '1900-01-01' "
            "OR greatest(start_date, end_date, max_end_date) > '2199-12-31'"),
        "refused_patches_stored": count("SELECT count(*) FROM contracts WHERE title = 'this must never be stored'"),
    }
    if any(v is None for v in stored.values()):
        result["database"] = "not checked (psql or the cluster's socket not found)"
    else:
        result["database"] = stored
        problems += [f"{k}: {v}" for k, v in stored.items() if v]
    result["victim_writes"] = shared.victim_writes
    result["victim_refused_429"] = shared.victim_refused
    if not shared.write_rate:
        result["victim_429_check"] = "skipped: no write rate (--write-rate 0), so no 429 can happen"
    elif shared.sources["victim"] is None:
        result["victim_429_check"] = "shared address: a 429 may be the address's budget"
    else:
        result["victim_429_check"] = "checked"
    result["problems"] = problems
    return result


# ---------------------------------------------------------------------------------------------
# Checks and report


def verify(service: Service, client: Client, ledger: Ledger) -> dict:
    """Acknowledged writes against what the database holds (and what the API answers)."""
    live = [a for a in ledger.contracts.values() if not a.deleted]
    deleted = [a for a in ledger.contracts.values() if a.deleted]
    result = {"acknowledged_live": len(live), "acknowledged_deleted": len(deleted)}

    rows = service.psql(
        "SELECT id, version, title, coalesce(end_date::text, ''), coalesce(annual_value_gbp::text, ''), "
        "source_reference FROM contracts "
        f"WHERE source = 'manual' AND source_reference LIKE 'soak-{RUN}-%'")
    if rows is None:
        result["database"] = "not checked (psql or the cluster's socket not found)"
    else:
        stored = {int(r[0]): r for r in rows}
        mismatched, missing = [], []
        for ack in live:
            row = stored.get(ack.id)
            if row is None:
                missing.append(ack.id)
            elif (int(row[1]), row[2], row[3], row[4]) != (
                    ack.version, ack.title, ack.end_date or "", ack.annual_value_gbp or ""):
                mismatched.append({"id": ack.id, "acknowledged": [ack.version, ack.title, ack.end_date,
                                                                  ack.annual_value_gbp], "stored": row[1:5]})
        resurrected = [a.id for a in deleted if a.id in stored]
        known = {a.id for a in ledger.contracts.values()}
        unacknowledged = sorted(set(stored) - known)
        result.update(
            stored_soak_contracts=len(stored),
            stored_as_acknowledged=len(live) - len(missing) - len(mismatched),
            missing=missing, mismatched=mismatched[:10], mismatched_count=len(mismatched),
            deleted_but_stored=resurrected,
            stored_without_acknowledgement=len(unacknowledged),
            invalid_stored=int((service.psql(
                f"SELECT count(*) FROM contracts WHERE source_reference = 'soak-{RUN}-invalid' "
                "OR title = 'this must never be stored'") or [["-1"]])[0][0]),
        )
        # Every acknowledged write is in the change log, in the write's own transaction.
        if ledger.contracts:
            ids = ",".join(f"'{i}'" for i in sorted(ledger.contracts))
            logged = service.psql(
                f"SELECT action, count(*) FROM changes WHERE resource = 'contracts' AND resource_id IN ({ids}) "
                "GROUP BY action")
            if logged is not None:
                result["change_log"] = {a: int(n) for a, n in logged}

    if rows is not None and (ledger.imports or ledger.imports_unknown):
        imported = service.psql(
            "SELECT count(*) FROM contracts "
            f"WHERE source = 'survey' AND source_reference LIKE '%soak-{RUN}-survey-%'")
        if imported is not None:
            result["imported_stored"] = int(imported[0][0])

    # The same through the API: every live contract as acknowledged, every deleted one 404.
    # (`client` is a fresh connection: an idle keep-alive one may have been closed by the server.)
    api_mismatch = []
    for ack in live + deleted:
        want = 404 if ack.deleted else 200
        answer = client.request("verify", "GET", f"/api/v1/contracts/{ack.id}", (want,))
        if answer is None:  # one retry, on a new connection, for a connection error
            answer = client.request("verify", "GET", f"/api/v1/contracts/{ack.id}", (want,))
        if answer is None:
            api_mismatch.append(f"{ack.id}: no answer")
        elif answer[0] != want:
            api_mismatch.append(f"{ack.id}: {answer[0]}, not {want}")
        elif want == 200 and json.loads(answer[2])["version"] != ack.version:
            api_mismatch.append(f"{ack.id}: version {json.loads(answer[2])['version']}, not {ack.version}")
    result["api_mismatches"] = len(api_mismatch)
    result["api_mismatch_samples"] = api_mismatch[:10]
    return result


def percentile(values: list, p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def slope_kib_per_minute(samples: list) -> float | None:
    """Least-squares slope of RSS over time."""
    if len(samples) < 3:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_k = sum(k for _, k in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return None
    return sum((t - mean_t) * (k - mean_k) for t, k in samples) / var * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--write-share", type=float, default=0.25, help="fraction of requests that write (default 0.25)")
    parser.add_argument("--sample-every", type=float, default=5, help="seconds between RSS samples (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the request mix (default 1)")
    parser.add_argument("--write-rate", type=int, default=0,
                        help="CITYTOOLS_WRITE_RATE for the service (default 0: no limit; 429s then never happen)")
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "citytools",
                        help="the citytools binary (default target/release/citytools)")
    parser.add_argument("--no-build", action="store_true", help="do not run `cargo build --release` first")
    parser.add_argument("--no-imports", action="store_true", help="leave survey imports out of the mix")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, log)")
    parser.add_argument("--log", default="warn,citytools::db::cluster=info",
                        help="RUST_LOG for the service (default: warnings, and where the cluster runs)")
    parser.add_argument("--attackers", type=int, default=2,
                        help=f"attack threads mixed in with the load (default 2, at most {MAX_ATTACKERS}; 0: none)")
    parser.add_argument("--max-rss-mib", type=float, default=200,
                        help="the verdict fails when the service's peak RSS exceeds this (default 200 MiB)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args()
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be from 1 to {MAX_WORKERS}")
    if not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"--duration must be from 1 to {MAX_DURATION} seconds")
    if not 0 <= args.attackers <= MAX_ATTACKERS:
        parser.error(f"--attackers must be from 0 to {MAX_ATTACKERS}")

    if not args.no_build:
        print("building: cargo build --release", flush=True)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    if not args.binary.exists():
        raise SystemExit(f"{args.binary} does not exist")

    service = Service(args.binary.resolve(), args.write_rate, args.keep, args.log)
    stop = threading.Event()
    probe_stop = threading.Event()
    attack_stats = Stats()
    shared: AttackShared | None = None
    attack_checks: dict = {}
    try:
        print(f"preparing a private database in {service.work}", flush=True)
        key = service.prepare()
        attack_keys = {}
        if args.attackers:
            # Two camden keys: one for the attacks' imports and writes, and one whose prefix the
            # forgers use, which writes only its own paced writes (so a 429 on them is the forgers').
            attack_keys = {"camden": service.create_key("borough", "camden", "soak-camden"),
                           "hackney": service.create_key("borough", "hackney", "soak-hackney"),
                           "victim": service.create_key("borough", "camden", "soak-camden-victim")}
        service.start()
        print(f"service pid {service.pid} on http://{HOST}:{service.port}", flush=True)
        stats = Stats()
        setup = Client(service.port, key, Stats())
        catalogue = read_catalogue(setup)
        if args.no_imports:
            catalogue.imports_path = None
        if catalogue.imports_path and survey_import_request(random.Random(0), catalogue, 0, 0) is not None:
            imports_note = f"included ({catalogue.imports_path})"
        elif catalogue.imports_path:
            imports_note = f"{catalogue.imports_path} exists, but the hook survey_import_request() is not filled in"
        elif args.no_imports:
            imports_note = "left out (--no-imports)"
        else:
            imports_note = "not in the mix: POST /api/v1/imports does not exist yet (hook: survey_import_request)"
        if args.attackers:
            names = supplier_names(setup, "setup")
            if names is None:
                raise SystemExit("could not read /api/v1/suppliers")
            software = "civica" if "civica" in names else sorted(catalogue.suppliers)[0]
            camden_areas = next((c["service_area_ids"] for c in catalogue.contracts if c["borough_id"] == "camden"),
                                catalogue.areas[:1])
            forged = [a for a in FORGED_SOURCES if usable_source(a)] or [None]
            shared = AttackShared(
                keys=attack_keys, write_rate=args.write_rate, supplier_id=software,
                supplier_name=names[software], areas=camden_areas, names_at_start=names,
                sources={"attack": usable_source(ATTACK_SOURCE), "victim": usable_source(VICTIM_SOURCE),
                         "forged": forged})

        started = time.monotonic()
        rss_idle = rss_kib(service.pid)
        sampler = Sampler(service.pid, args.sample_every, stop, started)
        sampler.start()
        prober = ReadyProber(service.port, probe_stop)
        prober.start()
        ledger = Ledger()
        deadline = started + args.duration
        workers = [Worker(i, service.port, key, catalogue, stats, ledger, deadline, args.write_share, args.seed)
                   for i in range(args.workers)]
        attackers = [Attacker(i, service.port, shared, attack_stats, deadline, args.seed)
                     for i in range(args.attackers)] if shared else []
        print(f"driving {args.workers} workers and {len(attackers)} attackers for {args.duration:.0f} s ...",
              flush=True)
        for thread in workers + attackers:
            thread.start()
        for thread in workers + attackers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 30)
        elapsed = time.monotonic() - started
        hung = [t.name for t in workers + attackers if t.is_alive()]
        probe_stop.set()
        prober.join(timeout=10)
        stop.set()
        sampler.join(timeout=args.sample_every + 5)
        sampler.sample()
        under_load = list(sampler.samples)
        time.sleep(2)
        rss_after = rss_kib(service.pid)

        checks = verify(service, Client(service.port, key, Stats()), ledger)
        if shared:
            attack_checks = verify_attacks(service, Client(service.port, key, Stats()), shared)
        alive = service.process.poll() is None
        exit_code = service.stop()
    finally:
        stop.set()
        probe_stop.set()
        service.stop()
        log_tail = service.log_tail(15)
        service.cleanup()

    # -- report --------------------------------------------------------------------------------
    expected_total = stats.requests - sum(stats.unexpected.values())
    by_status = collections.Counter()
    for (_, status), n in stats.statuses.items():
        by_status[status] += n
    loaded = under_load
    rss_values = [k for _, k in under_load]
    second_half = [s for s in under_load if s[0] >= elapsed / 2]
    acked = ledger.creates + ledger.updates + ledger.deletes
    rss_everything = [k for k in [rss_idle, rss_after, *rss_values] if k is not None]
    rss_peak = max(rss_everything) if rss_everything else None
    rss_over = rss_peak is not None and rss_peak > args.max_rss_mib * 1024
    ready = prober.report()
    ready_failed = bool(ready["non_200"] or ready["over_timeout"])
    attacks = {"attackers": len(attackers)}
    if shared:
        by_kind: dict = collections.defaultdict(dict)
        for (kind, status), n in sorted(attack_stats.statuses.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            by_kind[kind][str(status)] = n
        attacks.update(
            requests=attack_stats.requests, unexpected=sum(attack_stats.unexpected.values()),
            by_kind=by_kind,
            unexpected_by_kind={f"{k} {s}": n for (k, s), n in attack_stats.unexpected.items()},
            unexpected_samples=attack_stats.samples,
            latency_ms={kind: {"n": len(v), "p50": round(percentile(v, 50) * 1000, 1),
                               "p99": round(percentile(v, 99) * 1000, 1), "max": round(max(v) * 1000, 1)}
                        for kind, v in sorted(attack_stats.latencies.items())},
            sources={"attacks": shared.sources["attack"] or HOST, "camden_key_writes": shared.sources["victim"] or HOST,
                     "forged_keys": f"{len([a for a in shared.sources['forged'] if a])} addresses" if shared.sources["forged"][0] else HOST},
            checks=attack_checks)
    report = {
        "duration_s": round(elapsed, 1), "workers": args.workers, "requests": stats.requests,
        "rate_per_s": round(stats.requests / elapsed, 1) if elapsed else 0,
        "expected": expected_total, "unexpected": sum(stats.unexpected.values()),
        "by_status": {str(k): v for k, v in sorted(by_status.items(), key=lambda kv: str(kv[0]))},
        "unexpected_by_kind": {f"{k} {s}": n for (k, s), n in stats.unexpected.items()},
        "unexpected_samples": stats.samples,
        "latency_ms": {
            kind: {"n": len(v), "p50": round(percentile(v, 50) * 1000, 1), "p95": round(percentile(v, 95) * 1000, 1),
                   "p99": round(percentile(v, 99) * 1000, 1), "max": round(max(v) * 1000, 1)}
            for kind, v in sorted(stats.latencies.items()) if kind != "setup"},
        "rss_kib": {"idle_before": rss_idle, "first_under_load": loaded[0][1] if loaded else None,
                    "end_of_load": under_load[-1][1] if under_load else None, "idle_after": rss_after,
                    "peak": max(rss_values) if rss_values else None,
                    "slope_second_half_kib_per_min": slope_kib_per_minute(second_half),
                    "samples": under_load},
        "writes": {"creates": ledger.creates, "updates": ledger.updates, "deletes": ledger.deletes,
                   "imports": ledger.imports, "imported_rows": ledger.imported_rows,
                   "imported_created": ledger.imported_created, "acknowledged": acked + ledger.imports,
                   "unknown_outcome": ledger.unknown},
        "checks": checks, "imports": imports_note, "hung_workers": hung,
        "attacks": attacks, "readyz": ready,
        "max_rss_mib": args.max_rss_mib, "peak_rss_mib": round(rss_peak / 1024, 1) if rss_peak else None,
        "rss_over_limit": rss_over,
        "service_alive_at_end": alive, "service_exit_code": exit_code,
    }
    print()
    print(f"Soak report: {args.workers} workers for {elapsed:.0f} s against {args.binary}")
    print(f"  honest        {args.workers} workers, admin key")
    print(f"  requests      {stats.requests} ({report['rate_per_s']}/s); expected answers {expected_total}, "
          f"unexpected {report['unexpected']}")
    print("  by status     " + ", ".join(f"{k}: {v}" for k, v in report["by_status"].items()))
    if stats.unexpected:
        print("  UNEXPECTED    " + ", ".join(f"{k}: {v}" for k, v in report["unexpected_by_kind"].items()))
        for sample in stats.samples[:10]:
            print(f"                {sample}")
    print("  latency (ms)  kind: n p50 p95 p99 max")
    for kind, l in report["latency_ms"].items():
        print(f"                {kind}: {l['n']} {l['p50']} {l['p95']} {l['p99']} {l['max']}")
    r = report["rss_kib"]
    slope = r["slope_second_half_kib_per_min"]
    print(f"  memory (RSS)  idle before {mib(r['idle_before'])}, first under load {mib(r['first_under_load'])}, "
          f"end of load {mib(r['end_of_load'])}, idle after {mib(r['idle_after'])}, peak {mib(r['peak'])}; "
          f"second-half trend {'-' if slope is None else f'{slope:+.0f} KiB/min'} ({len(under_load)} samples)")
    print(f"  writes        acknowledged {acked}: {ledger.creates} creates, {ledger.updates} updates, "
          f"{ledger.deletes} deletes, {ledger.imports} imports; {ledger.unknown} with unknown outcome")
    c = checks
    if "stored_as_acknowledged" in c:
        print(f"  stored        {c['stored_as_acknowledged']} of {c['acknowledged_live']} live contracts stored as "
              f"acknowledged (missing {len(c['missing'])}, different {c['mismatched_count']}); "
              f"{len(c['deleted_but_stored'])} of {c['acknowledged_deleted']} deleted still stored; "
              f"{c['stored_without_acknowledgement']} stored without an acknowledgement; "
              f"{c['invalid_stored']} refused writes stored")
        if "change_log" in c:
            tracked = list(ledger.contracts.values())
            print(f"  change log    entries for these contracts {c['change_log']}; acknowledged: create "
                  f"{len(tracked)}, update {sum(a.updates for a in tracked)}, delete {sum(a.deleted for a in tracked)}")
    else:
        print(f"  stored        {c.get('database')}")
    if ledger.imports or ledger.imports_unknown:
        print(f"  imports       {ledger.imports} survey files acknowledged ({ledger.imported_rows} rows, "
              f"{ledger.imported_created} contracts created); stored: {c.get('imported_stored', 'not checked')}")
    print(f"  API check     {c['api_mismatches']} acknowledged states the API does not answer"
          + (f": {', '.join(c['api_mismatch_samples'])}" if c["api_mismatches"] else ""))
    print(f"  import hook   {imports_note}")
    if shared:
        a = attacks
        print(f"  attacks       {a['attackers']} attackers, {a['requests']} requests; unexpected {a['unexpected']} "
              f"(sent from {a['sources']['attacks']}; the camden key's own writes from "
              f"{a['sources']['camden_key_writes']}; forged keys from {a['sources']['forged_keys']})")
        for kind, statuses in a["by_kind"].items():
            l = a["latency_ms"][kind]
            marked = ", ".join(f"{status}{' UNEXPECTED' if (kind, status) in {(k, str(s)) for k, s in attack_stats.unexpected} else ''}: {n}"
                               for status, n in statuses.items())
            print(f"                {kind}: {marked}  (ms p50 {l['p50']}, max {l['max']})")
        for sample in attack_stats.samples[:10]:
            print(f"                unexpected: {sample}")
        ac = attack_checks
        database = ac.get("database")
        print(f"  after attacks suppliers {ac.get('suppliers', '?')} (new: {', '.join(repr(n) for n in ac.get('new_suppliers', [])) or 'none'}); "
              f"names with control/bidi characters {len(ac.get('names_with_control_or_bidi', {}))}; "
              f"new Cyrillic lookalikes {len(ac.get('new_cyrillic_lookalikes', {}))}; "
              f"CSV names a spreadsheet would run {len(ac.get('csv_formula_names', []))}")
        print("                database: " + (", ".join(f"{k} {v}" for k, v in database.items())
                                              if isinstance(database, dict) else str(database)))
        print(f"                the camden key's own writes {ac.get('victim_writes')}, refused with 429 "
              f"{ac.get('victim_refused_429')} ({ac.get('victim_429_check')})")
        for problem in ac.get("problems", []):
            print(f"                PROBLEM: {problem}")
    print(f"  /readyz       {ready['probes']} probes, non-200 {ready['non_200']}"
          + (f" ({', '.join(f'{k}: {v}' for k, v in ready['by_status'].items() if k != '200')})" if ready["non_200"] else "")
          + f", over 5 s {ready['over_timeout']}; latency ms p50 {ready['p50_ms']}, p99 {ready['p99_ms']}, max {ready['max_ms']}")
    for sample in ready["samples"][:5]:
        print(f"                {sample}")
    print(f"  memory limit  peak {mib(rss_peak)} against --max-rss-mib {args.max_rss_mib:g}"
          + (" EXCEEDED" if rss_over else ""))
    if hung:
        print(f"  HUNG workers  {', '.join(hung)}")
    if not alive:
        print(f"  the service DIED during the run:\n{log_tail}")

    imports_lost = ("imported_stored" in c and not ledger.imports_unknown
                    and c["imported_stored"] != ledger.imported_created)
    lost = (c.get("missing") or c.get("mismatched_count") or c.get("deleted_but_stored")
            or c.get("invalid_stored") or c["api_mismatches"] or imports_lost)
    # The contracts still in the ledger (a write with an unknown outcome drops its contract).
    tracked = list(ledger.contracts.values())
    wanted = {"create": len(tracked), "update": sum(a.updates for a in tracked),
              "delete": sum(a.deleted for a in tracked)}
    change_log_ok = "change_log" not in c or all(c["change_log"].get(a, 0) == n for a, n in wanted.items())
    reasons = [reason for reason, bad in (
        ("unexpected answers to the honest load", report["unexpected"]),
        ("acknowledged writes missing, different or resurrected", lost), ("hung threads", hung),
        ("the service died", not alive), ("the change log does not match", not change_log_ok),
        ("unexpected answers to attacks", attacks.get("unexpected")),
        ("attack checks", attack_checks.get("problems")),
        ("/readyz not 200 or slower than 5 s", ready_failed),
        (f"peak RSS over {args.max_rss_mib:g} MiB", rss_over)) if bad]
    report["verdict"] = "FAILED" if reasons else "passed"
    report["failed_because"] = reasons
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    print(f"  verdict       {report['verdict']}" + (f": {'; '.join(reasons)}" if reasons else ""))
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
