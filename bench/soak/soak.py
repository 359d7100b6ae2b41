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
        return self.command("keys", "create", "--role", "admin", "--name", "soak").strip().splitlines()[-1]

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
    """One keep-alive connection to the service, recording every request."""

    def __init__(self, port: int, key: str, stats: Stats):
        self.port = port
        self.key = key
        self.stats = stats
        self.conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)

    def request(self, kind: str, method: str, path: str, expected: tuple, body=None,
                headers: dict | None = None, keyed: bool = True):
        """(status, headers, body bytes), or None when the connection failed."""
        sent = dict(headers or {})
        if keyed:
            sent["Authorization"] = f"Bearer {self.key}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        started = time.monotonic()
        try:
            self.conn.request(method, path, body=data, headers=sent)
            response = self.conn.getresponse()
            payload = response.read()  # all of it: CSV and OCDS exports are streamed
        except (OSError, http.client.HTTPException) as error:
            self.stats.record(kind, f"connection error ({type(error).__name__})",
                              time.monotonic() - started, False, f"{method} {path}: {error}")
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            return None
        seconds = time.monotonic() - started
        ok = response.status in expected
        detail = f"{method} {path}: {payload[:300].decode(errors='replace')}"
        self.stats.record(kind, response.status, seconds, ok, detail)
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
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args()
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be from 1 to {MAX_WORKERS}")
    if not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"--duration must be from 1 to {MAX_DURATION} seconds")

    if not args.no_build:
        print("building: cargo build --release", flush=True)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    if not args.binary.exists():
        raise SystemExit(f"{args.binary} does not exist")

    service = Service(args.binary.resolve(), args.write_rate, args.keep, args.log)
    stop = threading.Event()
    try:
        print(f"preparing a private database in {service.work}", flush=True)
        key = service.prepare()
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

        started = time.monotonic()
        rss_idle = rss_kib(service.pid)
        sampler = Sampler(service.pid, args.sample_every, stop, started)
        sampler.start()
        ledger = Ledger()
        deadline = started + args.duration
        workers = [Worker(i, service.port, key, catalogue, stats, ledger, deadline, args.write_share, args.seed)
                   for i in range(args.workers)]
        print(f"driving {args.workers} workers for {args.duration:.0f} s ...", flush=True)
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 30)
        elapsed = time.monotonic() - started
        hung = [w.name for w in workers if w.is_alive()]
        stop.set()
        sampler.join(timeout=args.sample_every + 5)
        sampler.sample()
        under_load = list(sampler.samples)
        time.sleep(2)
        rss_after = rss_kib(service.pid)

        checks = verify(service, Client(service.port, key, Stats()), ledger)
        alive = service.process.poll() is None
        exit_code = service.stop()
    finally:
        stop.set()
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
        "service_alive_at_end": alive, "service_exit_code": exit_code,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))

    print()
    print(f"Soak report: {args.workers} workers for {elapsed:.0f} s against {args.binary}")
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
    failed = report["unexpected"] or lost or hung or not alive or not change_log_ok
    print(f"  verdict       {'FAILED' if failed else 'passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
