#!/usr/bin/env python3
"""Helpers of bench/run.sh (standard library only).

  url-db ADMIN_URL DBNAME                   the URL of another database on the same server
  parse-captures LOG CAPTURES_TSV PIDS OUT  the statements the service sent for each captured request
  pgbench-script CAPTURES NAME SQL DEFS     a pgbench script (and its -D values) from a capture
  record KIND NAME [key=value ...]          one result as a JSON line on standard output
  record-wrk TARGET NAME URL THREADS CONNS DURATION OUTPUT
  record-pgbench NAME THREADS CONNS DURATION OUTPUT LOG...
  explain CAPTURES DB_URL OUT [MIN_MS]      EXPLAIN (ANALYZE, BUFFERS) of each captured statement
  report RESULTS CAPTURES META OUT          the results table (Markdown)
"""

import json
import os
import re
import statistics
import subprocess
import sys
import urllib.parse


def url_db(admin_url, dbname):
    parts = urllib.parse.urlsplit(admin_url)
    print(urllib.parse.urlunsplit(parts._replace(path="/" + dbname)))


# --- Statements captured from the PostgreSQL log -------------------------------------------------

ENTRY = re.compile(r"\[(\d+)\][^\n]*?\b(LOG|DETAIL|ERROR|STATEMENT|HINT|CONTEXT|WARNING):  ")
DURATION = re.compile(r"duration: ([0-9.]+) ms  (parse|bind|execute|statement)(?: ([^:]*))?: ", re.S)
PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


def log_entries(text, pids):
    """(pid, level, message) for each entry of the log text written by one of `pids`."""
    entries = []
    for line in text.split("\n"):
        if line.startswith("\t") and entries:
            pid, level, message = entries[-1]
            entries[-1] = (pid, level, message + "\n" + line[1:])
            continue
        match = ENTRY.search(line)
        if not match:
            continue
        entries.append((match.group(1), match.group(2), line[match.end():]))
    return [e for e in entries if e[0] in pids]


def statements_of(entries):
    """The statements executed, in order, with parameters, execution and parse/bind times."""
    statements = []
    pending = 0.0  # parse and bind time of the statement about to be executed
    last = None
    for _pid, level, message in entries:
        if level == "DETAIL":
            if last is not None and message.startswith("parameters: "):
                last["params"] = [
                    None if value == "NULL" else value[1:-1].replace("''", "'")
                    for _n, value in sorted(
                        ((int(n), v) for n, v in PARAM.findall(message)), key=lambda p: p[0]
                    )
                ]
            continue
        if level != "LOG":
            continue
        match = DURATION.match(message)
        if not match:
            last = None
            continue
        ms, kind, name = float(match.group(1)), match.group(2), match.group(3)
        sql = message[match.end():].strip()
        if kind in ("parse", "bind"):
            pending += ms
            last = None
            continue
        last = {
            "sql": sql,
            "name": name or "",
            "prepared": bool(name) and name != "<unnamed>",
            "simple": kind == "statement",
            "params": [],
            "ms": ms,
            "parse_bind_ms": round(pending, 3),
        }
        pending = 0.0
        statements.append(last)
    return statements


def parse_captures(log, captures_tsv, pids, out):
    pids = set(pids.split(","))
    result = {}
    with open(log, "rb") as f:
        data = f.read()
    for line in open(captures_tsv):
        name, url, start, end, status, seconds = line.rstrip("\n").split("\t")
        text = data[int(start):int(end)].decode("utf-8", "replace")
        statements = statements_of(log_entries(text, pids))
        result[name] = {
            "url": url,
            "status": int(status),
            "total_ms": round(float(seconds) * 1000, 1),
            "statements": statements,
        }
        if not statements:
            sys.exit(f"no statement of {name} found in {log}: is log_min_duration_statement honoured?")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


def pgbench_script(captures, name, sql_out, defs_out):
    capture = json.load(open(captures))[name]
    lines, defs = [], []
    lines.append(f"-- The statements citytools sent for one request: {capture['url']}")
    lines.append("-- (captured from the PostgreSQL log by bench/run.sh; parameters are pgbench variables)")
    for i, statement in enumerate(capture["statements"], 1):
        params = statement["params"]

        def variable(match):
            n = int(match.group(1))
            value = params[n - 1] if n <= len(params) else None
            if value is None:
                return "NULL"
            return f":s{i}p{n}"

        sql = re.sub(r"\$(\d+)", variable, statement["sql"])
        sql = " ".join(sql.split())
        lines.append(sql + ";")
        for n, value in enumerate(params, 1):
            if value is not None:
                defs.append(f"s{i}p{n}={value}")
    with open(sql_out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(defs_out, "w") as f:
        f.write("".join(d + "\n" for d in defs))


# --- Results ---------------------------------------------------------------------------------------

def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return ""


def memory_of(pid):
    """Peak and current resident memory of a process, in MiB."""
    figures = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                figures[key] = round(int(value.split()[0]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return {"hwm_mib": figures.get("VmHWM"), "rss_mib": figures.get("VmRSS")}


def with_memory(row, target):
    """Adds the service's memory after a measurement of it (CITYTOOLS_PID in the environment)."""
    pid = os.environ.get("CITYTOOLS_PID")
    if pid and target == "citytools":
        row.update(memory_of(pid))
    return row


def coerce(value):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def record(kind, name, pairs):
    row = {"kind": kind, "name": name, "load": loadavg()}
    for pair in pairs:
        key, _, value = pair.partition("=")
        row[key] = coerce(value)
    print(json.dumps(with_memory(row, "citytools" if name == "csv-citytools" else "")))


def record_wrk(target, name, url, threads, conns, duration, output_file):
    output = open(output_file).read()
    match = re.search(r"^WRKJSON (.*)$", output, re.M)
    if not match:
        sys.exit(f"wrk gave no figures for {target} {name}:\n{output}")
    figures = json.loads(match.group(1))
    seconds = figures["duration_us"] / 1e6
    errors = sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    row = {
        "kind": "http",
        "target": target,
        "name": name,
        "url": url,
        "threads": int(threads),
        "connections": int(conns),
        "duration_s": int(duration),
        "requests": figures["requests"],
        "rps": figures["requests"] / seconds if seconds else 0.0,
        "p50_ms": figures["p50_us"] / 1000,
        "p90_ms": figures["p90_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "bytes_per_request": figures["bytes"] / figures["requests"] if figures["requests"] else 0,
        "errors": errors,
        "non2xx": figures["non2xx"],
        "load": loadavg(),
    }
    print(json.dumps(with_memory(row, target)))


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def record_pgbench(name, threads, conns, duration, output_file, logs):
    output = open(output_file).read()
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", output, re.M)
    if not tps:
        sys.exit(f"pgbench gave no tps for {name}:\n{output}")
    failed = re.search(r"number of failed transactions: (\d+)", output)
    latencies = []
    for log in logs:
        for line in open(log):
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)
    row = {
        "kind": "http",
        "target": "pgbench",
        "name": name,
        "threads": int(threads),
        "connections": int(conns),
        "duration_s": int(duration),
        "requests": len(latencies),
        "rps": float(tps.group(1)),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else 0.0,
        "errors": int(failed.group(1)) if failed else 0,
        "non2xx": 0,
        "load": loadavg(),
    }
    print(json.dumps(row))


# --- EXPLAIN of what the service ran ---------------------------------------------------------------

def literal(value):
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def explain(captures, db_url, out, min_ms="1"):
    min_ms = float(min_ms)
    captures = json.load(open(captures))
    lines = [
        "# Query plans of the benchmark run",
        "",
        "Every statement citytools ran for one request of each workload (captured from the PostgreSQL",
        "log with `log_min_duration_statement = 0`) that took at least "
        f"{min_ms:g} ms, run again with `EXPLAIN (ANALYZE, BUFFERS)` after the load, with the same",
        "parameters, prepared the same way. Statements the service prepares once per connection",
        "(named `__diesel_stmt_N` in the log) are explained at their sixth execution, when",
        "PostgreSQL has chosen between a custom and a generic plan, as on the service's connections;",
        "the others (`<unnamed>`) are parsed and planned on every request, as by the service.",
        "",
    ]
    for name, capture in captures.items():
        for i, statement in enumerate(capture["statements"], 1):
            if statement["ms"] < min_ms:
                continue
            args = ", ".join(literal(p) for p in statement["params"])
            execute = f"EXECUTE bench_q({args})" if statement["params"] else "EXECUTE bench_q"
            warm = ""
            if statement["prepared"]:
                warm = "".join(f"EXPLAIN (COSTS OFF) {execute};\n" for _ in range(5))
            script = (
                "SET TIME ZONE 'UTC';\nSET statement_timeout = '300s';\n"
                f"PREPARE bench_q AS {statement['sql']};\n{warm}"
                "\\echo PLAN-STARTS-HERE\n"
                f"EXPLAIN (ANALYZE, BUFFERS, VERBOSE OFF) {execute};\n"
            )
            run = subprocess.run(
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", db_url],
                input=script, capture_output=True, text=True, timeout=900,
            )
            plan = run.stdout.split("PLAN-STARTS-HERE\n", 1)[-1] if run.returncode == 0 else run.stderr
            lines += [
                f"## {name}: statement {i} of {len(capture['statements'])} "
                f"({statement['ms']:.1f} ms in the captured request)",
                "",
                f"`GET {capture['url']}`",
                "",
                "```sql",
                statement["sql"],
                "```",
                "",
                f"parameters: {', '.join(literal(p) for p in statement['params']) or 'none'}",
                "",
                "```",
                plan.rstrip(),
                "```",
                "",
            ]
    with open(out, "w") as f:
        f.write("\n".join(lines))


# --- The report ------------------------------------------------------------------------------------

LISTS = [
    ("list-borough", "Contract list: one borough by end date"),
    ("list-borough-area", "Contract list: borough + service area"),
    ("list-end-window", "Contract list: end-date window"),
    ("list-text", "Contract list: text search"),
]
TARGETS = {
    "list_p99_ms": 25.0,
    "vs_datasette": 3.0,
    "vs_pgbench": 0.7,
    # COPY's time over ours: within 1.5x of COPY.
    "csv_vs_copy": 1 / 1.5,
    "insight_ms": 100.0,
    "memory_mib": 100.0,
    "generator_s": 60.0,
}


def verdict(ok):
    return "met" if ok else "**missed**"


def fmt(value, digits=1):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def report(results_file, captures_file, meta_file, out):
    rows = [json.loads(line) for line in open(results_file) if line.strip()]
    captures = json.load(open(captures_file)) if os.path.exists(captures_file) else {}
    meta = json.load(open(meta_file))
    http = {(r["target"], r["name"]): r for r in rows if r["kind"] == "http"}
    other = {r["name"]: r for r in rows if r["kind"] != "http"}
    missed = []
    lines = []
    add = lines.append

    add(f"# Benchmark results {meta['date']}")
    add("")
    add("`bench/run.sh`, one run; every figure below is as measured in that run.")
    add("")
    add("| | |")
    add("|---|---|")
    for key, label in [
        ("date", "date (UTC)"), ("commit", "code measured"), ("cpu", "CPU"), ("nproc", "nproc"),
        ("memory", "memory (`free -h`: total, used, available)"), ("kernel", "kernel"),
        ("postgres", "PostgreSQL"), ("database", "benchmark database"), ("wrk", "wrk"),
        ("datasette", "Datasette"), ("sqlite", "SQLite"), ("load_start", "load average at start"),
        ("load_end", "load average at end"), ("workload", "load generator settings"),
    ]:
        add(f"| {label} | {meta.get(key, '')} |")
    add("")
    add("The machine is shared with other work: the load average before each measurement is in")
    add("the last column of each table (1, 5 and 15 minutes).")
    add("")

    gen = other.get("generator", {})
    sqlite = other.get("sqlite-export", {})
    add("## Loading")
    add("")
    add("| step | time | |")
    add("|---|---:|---|")
    gen_ok = gen.get("seconds", 1e9) < TARGETS["generator_s"]
    add(
        f"| `citytools seed --synthetic` ({fmt(gen.get('contracts'))} contracts, "
        f"{fmt(gen.get('links'))} contract service areas, {fmt(gen.get('authorities'))} authorities) | "
        f"{fmt(gen.get('seconds'))} s (its own report), {fmt(gen.get('wall_s'))} s wall | "
        f"under 60 s: {verdict(gen_ok)} |"
    )
    if not gen_ok:
        missed.append(f"generator: {fmt(gen.get('seconds'))} s, target under 60 s")
    if gen.get("contracts_copied_at_s") not in (None, ""):
        a, b = float(gen["contracts_copied_at_s"]), float(gen.get("links_copied_at_s") or 0)
        add(
            f"| of which: generating and `COPY` of the contracts; rebuilding the contracts' indexes "
            f"and keys and `COPY` of their service areas; the rest (their indexes, checks, the "
            f"insight rollups, `VACUUM ANALYZE`) | {a:.1f} s; {b - a:.1f} s; "
            f"{float(gen['seconds']) - b:.1f} s | |"
        )
    add(
        f"| export to SQLite for Datasette (psql `\\copy`, `sqlite3 .import`, indexes, FTS5) | "
        f"{fmt(sqlite.get('seconds'))} s | {fmt(sqlite.get('mib'))} MiB file |"
    )
    add("")

    add("## Filtered contract lists (first page of 50)")
    add("")
    add("citytools and Datasette driven by wrk, PostgreSQL by pgbench running the statements")
    add("citytools sent for the same request; same threads, connections and duration for all three.")
    add("")
    add("| workload | tool | req/s | p50 ms | p99 ms | max ms | errors | load |")
    add("|---|---|---:|---:|---:|---:|---:|---|")
    for name, label in LISTS + [("get-by-id", "Get a contract by id (random ids)")]:
        for target in ("citytools", "datasette", "pgbench"):
            r = http.get((target, name))
            if not r:
                continue
            add(
                f"| {label} | {target} | {fmt(r['rps'])} | {fmt(r['p50_ms'], 2)} | "
                f"{fmt(r['p99_ms'], 2)} | {fmt(r['max_ms'], 1)} | {r['errors'] + r['non2xx']} | {r['load']} |"
            )
    add("")
    one = [(n, l) for n, l in LISTS if ("citytools", n + "-one-client") in http]
    if one:
        add("One client at a time (wrk 1 thread, 1 connection; pgbench -c 1 -j 1), the latency")
        add("without queueing:")
        add("")
        add("| workload | tool | req/s | p50 ms | p99 ms | max ms | errors | load |")
        add("|---|---|---:|---:|---:|---:|---:|---|")
        for name, label in one:
            for target in ("citytools", "pgbench"):
                r = http.get((target, name + "-one-client"))
                if r:
                    add(f"| {label} | {target} | {fmt(r['rps'])} | {fmt(r['p50_ms'], 2)} | "
                        f"{fmt(r['p99_ms'], 2)} | {fmt(r['max_ms'], 1)} | {r['errors'] + r['non2xx']} | {r['load']} |")
        add("")
    add(f"| workload | p99 < 25 ms under load | p99 one client | citytools / Datasette (target ≥ 3) | citytools / pgbench (target ≥ {TARGETS['vs_pgbench']:g}) |")
    add("|---|---|---|---|---|")
    for name, label in LISTS:
        ours = http.get(("citytools", name))
        ds = http.get(("datasette", name))
        pg = http.get(("pgbench", name))
        if not ours:
            continue
        p99_ok = ours["p99_ms"] < TARGETS["list_p99_ms"]
        cells = [f"{fmt(ours['p99_ms'], 1)} ms: {verdict(p99_ok)}"]
        single = http.get(("citytools", name + "-one-client"))
        cells.append(f"{fmt(single['p99_ms'], 1)} ms" if single else "n/a")
        if not p99_ok:
            missed.append(
                f"{label}: p99 {fmt(ours['p99_ms'], 1)} ms under load"
                + (f" ({fmt(single['p99_ms'], 1)} ms one client at a time)" if single else "")
                + ", target under 25 ms"
            )
        for other_row, key, what in ((ds, "vs_datasette", "Datasette"), (pg, "vs_pgbench", "pgbench")):
            if other_row and other_row["rps"]:
                ratio = ours["rps"] / other_row["rps"]
                ok = ratio >= TARGETS[key]
                cells.append(f"{ratio:.2f}: {verdict(ok)}")
                if not ok:
                    missed.append(
                        f"{label}: {ratio:.2f}× {what}'s throughput, target at least {TARGETS[key]:g}×"
                    )
            else:
                cells.append("n/a")
        add(f"| {label} | " + " | ".join(cells) + " |")
    ours, ds = http.get(("citytools", "get-by-id")), http.get(("datasette", "get-by-id"))
    if ours and ds and ds["rps"]:
        add(f"| Get by id (no target) | {fmt(ours['p99_ms'], 1)} ms | n/a | {ours['rps'] / ds['rps']:.2f} | n/a |")
    add("")

    deep_page, deep_cursor = http.get(("citytools", "deep-page")), http.get(("citytools", "deep-cursor"))
    if deep_page and deep_cursor:
        check = other.get("deep-paging", {})
        add("## Deep paging")
        add("")
        add(f"Page {check.get('page')} of the unfiltered list (50 contracts in id order), one client: by page")
        add("number (`page=`, an offset that reads and skips every earlier contract) and by the cursor a")
        add("client walking the pages holds (`cursor=`, a keyset read). Same 50 contracts both ways: "
            + ("yes." if check.get("same_items") == 1 else "**no**."))
        add("")
        add("| request | req/s | p50 ms | p99 ms | load |")
        add("|---|---:|---:|---:|---|")
        for label, r in (("by page number", deep_page), ("by cursor", deep_cursor)):
            add(f"| {label} | {fmt(r['rps'], 1)} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | {r['load']} |")
        if deep_page["p50_ms"]:
            add("")
            add(f"The cursor answers in {deep_cursor['p50_ms'] / deep_page['p50_ms']:.4f} of the time (p50).")
        add("")

    totals = other.get("totals", {})
    if totals:
        add("Matching rows (`meta.total` of citytools with `count=exact`, `filtered_table_rows_count` of Datasette):")
        add("")
        add("| workload | citytools | Datasette |")
        add("|---|---:|---:|")
        for name, label in LISTS:
            add(f"| {label} | {fmt(totals.get(name + '-ours'))} | {fmt(totals.get(name + '-datasette'))} |")
        add("")

    csv_ours, csv_copy, csv_ds = other.get("csv-citytools"), other.get("csv-copy"), other.get("csv-datasette")
    add("## CSV export")
    add("")
    runs = len(str(csv_ours.get("all_seconds", "")).split(",")) if csv_ours else 0
    add("The same rows (end date in a one-year window, by id) and the same 24 columns, read to the")
    add(f"end by one client; the median of {runs} runs each.")
    add("")
    add("| tool | rows | MiB | seconds (median) | rows/s | load |")
    add("|---|---:|---:|---:|---:|---|")
    for label, r in (("citytools `format=csv`", csv_ours), ("PostgreSQL `COPY (...) TO STDOUT WITH CSV`", csv_copy),
                     ("Datasette `.csv?_stream=on`", csv_ds)):
        if r:
            add(f"| {label} | {fmt(r['rows'])} | {fmt(r['mib'])} | {fmt(r['seconds'], 2)} | "
                f"{fmt(r['rows'] / r['seconds'], 0)} | {r['load']} |")
    if csv_ours and csv_copy:
        ratio = csv_copy["seconds"] / csv_ours["seconds"]
        ok = ratio >= TARGETS["csv_vs_copy"]
        add("")
        line = f"citytools / COPY speed: **{ratio:.2f}** (target ≥ {TARGETS['csv_vs_copy']:.2f}): {verdict(ok)}"
        if csv_ds:
            line += f"; citytools / Datasette speed: {csv_ds['seconds'] / csv_ours['seconds']:.2f}"
        add(line)
        if not ok:
            missed.append(f"CSV export: {ratio:.2f}× COPY's speed, target at least {TARGETS['csv_vs_copy']:.2f}×")
    add("")

    add("## Insights")
    add("")
    add("One client at a time (the target is a response time): wrk with one thread and one")
    add("connection, for at least the time of about three requests; p99 over so few requests is")
    add("close to the maximum. Each insight is asked with a reader key, so that every answer is")
    add("computed: the cost of the first request after a write. Without a key, answers after the")
    add("first come from memory until the data changes (`bench/insights_kept.sh` times those).")
    add("")
    add("| insight | answered | seconds | requests | p50 ms | p99 ms | response KiB | under 100 ms (p99) | load |")
    add("|---|---|---:|---:|---:|---:|---:|---|---|")
    for (target, name), r in http.items():
        if target != "citytools" or not (name.startswith("insight-") or name.startswith("computed-insight-")):
            continue
        computed = name.startswith("computed-")
        name = name.removeprefix("computed-")
        how = "computed (key)" if computed else "kept (no key)"
        url = r["url"].split("/api/v1", 1)[-1]
        label = f"{name[8:]} ({'computed' if computed else 'kept'})"
        if r["requests"] == 0:
            missed.append(f"{label}: no request completed in {r['duration_s']} s, target under {TARGETS['insight_ms']:g} ms")
            add(f"| `{url}` | {how} | {r['duration_s']} | 0 | > {r['duration_s'] * 1000:,} | > {r['duration_s'] * 1000:,} "
                f"| | {verdict(False)} | {r['load']} |")
            continue
        ok = r["p99_ms"] < TARGETS["insight_ms"] and r["errors"] + r["non2xx"] == 0
        if not ok:
            missed.append(f"{label}: p99 {fmt(r['p99_ms'], 0)} ms, target under {TARGETS['insight_ms']:g} ms")
        add(f"| `{url}` | {how} | {r['duration_s']} | {r['requests']} | "
            f"{fmt(r['p50_ms'], 0)} | {fmt(r['p99_ms'], 0)} | {fmt(r['bytes_per_request'] / 1024, 0)} | "
            f"{verdict(ok)} | {r['load']} |")
    add("")

    mem = other.get("memory", {})
    add("## Memory")
    add("")
    mem_ok = mem.get("citytools_hwm_mib", 1e9) < TARGETS["memory_mib"]
    add("| process | peak RSS (VmHWM) | RSS at end | |")
    add("|---|---:|---:|---|")
    add(f"| citytools (after every measurement above) | {fmt(mem.get('citytools_hwm_mib'))} MiB | "
        f"{fmt(mem.get('citytools_rss_mib'))} MiB | under {TARGETS['memory_mib']:g} MiB: {verdict(mem_ok)} |")
    if "datasette_hwm_mib" in mem:
        add(f"| Datasette | {fmt(mem.get('datasette_hwm_mib'))} MiB | {fmt(mem.get('datasette_rss_mib'))} MiB | |")
    if not mem_ok:
        missed.append(f"peak memory: {fmt(mem.get('citytools_hwm_mib'))} MiB, target under {TARGETS['memory_mib']:g} MiB")
    add("")
    timeline = [r for r in rows if r.get("hwm_mib") is not None]
    if timeline:
        add("The service's memory after each measurement, in the order they ran:")
        add("")
        add("| after | peak RSS so far (VmHWM) MiB | RSS MiB |")
        add("|---|---:|---:|")
        for r in timeline:
            add(f"| {r['name']} | {fmt(r['hwm_mib'])} | {fmt(r['rss_mib'])} |")
        add("")

    if captures:
        add("## Where the time goes (one request each, statement logging on)")
        add("")
        add("| workload | request ms | statements | executing ms | parse + plan ms | slowest statement ms |")
        add("|---|---:|---:|---:|---:|---:|")
        for name, c in captures.items():
            st = c["statements"]
            add(f"| {name} | {fmt(c['total_ms'])} | {len(st)} | {fmt(sum(s['ms'] for s in st))} | "
                f"{fmt(sum(s['parse_bind_ms'] for s in st))} | {fmt(max(s['ms'] for s in st))} |")
        add("")

    add("## Targets missed")
    add("")
    if missed:
        for m in missed:
            add(f"- {m}")
    else:
        add("None.")
    add("")
    text = "\n".join(lines)
    with open(out, "w") as f:
        f.write(text)
    print(text)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "url-db":
        url_db(*args)
    elif command == "parse-captures":
        parse_captures(*args)
    elif command == "pgbench-script":
        pgbench_script(*args)
    elif command == "record":
        record(args[0], args[1], args[2:])
    elif command == "record-wrk":
        record_wrk(*args)
    elif command == "record-pgbench":
        record_pgbench(args[0], args[1], args[2], args[3], args[4], args[5:])
    elif command == "explain":
        explain(*args)
    elif command == "report":
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
