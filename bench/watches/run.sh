#!/usr/bin/env bash
# Watches benchmark: how long an API write takes to reach a watch's webhook (latency), and how
# fast the matcher turns a bulk import's change-log entries into events and the deliverer sends
# them (throughput), with `citytools serve` (release build) on a throwaway database.
#
#   bench/watches/run.sh                 # 20 single writes, then an import of 10,000 rows
#   ROWS=2000 WRITES=10 bench/watches/run.sh
#
# Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and
# drop a database named citytools_watch_bench. Needs psql, curl and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ROWS=${ROWS:-10000}
WRITES=${WRITES:-20}
PORT=${PORT:-18090}
HOOK_PORT=${HOOK_PORT:-18091}
ADMIN_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB_URL="${ADMIN_URL%/*}/citytools_watch_bench"
BIN=${CITYTOOLS_BIN:-target/release/citytools}
[ -n "${CITYTOOLS_BIN:-}" ] || cargo build --release --quiet

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS citytools_watch_bench WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS citytools_watch_bench WITH (FORCE)" -c "CREATE DATABASE citytools_watch_bench" >/dev/null
export DATABASE_URL="$DB_URL" RUST_LOG=warn
"$BIN" migrate >/dev/null 2>&1
CITYTOOLS_SAMPLE_DATA=false "$BIN" seed --no-sample-data >/dev/null 2>&1
ADMIN=$("$BIN" keys create --role admin --name bench 2>/dev/null | tail -1)
READER=$("$BIN" keys create --role reader --name watcher 2>/dev/null | tail -1)

python3 bench/watches/receiver.py "$HOOK_PORT" "$work/received.log" & pids+=($!)
CITYTOOLS_BIND="127.0.0.1:$PORT" CITYTOOLS_WEBHOOK_ALLOW_PRIVATE=true CITYTOOLS_WRITE_RATE=0 \
  "$BIN" serve >"$work/serve.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

api() { curl -sf -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "${@:2}"; }
api "$READER" -X POST -d "{\"name\": \"every contract\", \"resource\": \"contracts\", \"webhook_url\": \"http://127.0.0.1:$HOOK_PORT/hook\"}" \
  "http://127.0.0.1:$PORT/api/v1/watches" >/dev/null

# Latency: single writes through the API, one a second; from the write's answer to the POST's
# arrival at the receiver.
: >"$work/sent.log"
for i in $(seq "$WRITES"); do
  answer=$(api "$ADMIN" -X POST -d "{\"borough_id\": \"camden\", \"supplier_id\": \"civica\", \"title\": \"Bench $i\", \"service_area_ids\": [\"council-tax\"], \"source\": \"manual\"}" \
    "http://127.0.0.1:$PORT/api/v1/contracts")
  answered=$(date +%s.%N)
  echo "$answered $(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" >>"$work/sent.log"
  sleep 1
done
sleep 3
python3 - "$work/sent.log" "$work/received.log" <<'PY'
import sys, statistics
sent = {l.split()[1]: float(l.split()[0]) for l in open(sys.argv[1])}
got = {l.split()[2]: float(l.split()[0]) for l in open(sys.argv[2])}
lat = sorted((got[i] - t) * 1000 for i, t in sent.items() if i in got)
print(f"latency, write answered to webhook received: {len(lat)}/{len(sent)} delivered; "
      f"median {statistics.median(lat):.0f} ms, max {max(lat):.0f} ms, min {min(lat):.0f} ms")
PY

# Throughput: a bulk import, then the time until every contract has its event and its delivery.
python3 bench/import/generate_register.py "$ROWS" >"$work/register.csv"
before=$(psql "$DB_URL" -Atc "SELECT count(*) FROM watch_events")
start=$(date +%s.%N)
"$BIN" import --format contracts-register --borough camden "$work/register.csv" >/dev/null 2>&1
imported=$(date +%s.%N)
made=$(psql "$DB_URL" -Atc "SELECT count(*) FROM contracts WHERE title NOT LIKE 'Bench %'")
while [ "$(psql "$DB_URL" -Atc "SELECT count(*) FROM watch_events")" -lt $((before + made)) ]; do sleep 0.05; done
evented=$(date +%s.%N)
while [ "$(psql "$DB_URL" -Atc "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")" -gt 0 ]; do sleep 0.1; done
delivered=$(date +%s.%N)
python3 - "$start" "$imported" "$evented" "$delivered" "$made" <<'PY'
import sys
start, imported, evented, delivered = map(float, sys.argv[1:5]); n = int(sys.argv[5])
print(f"bulk import of {n} contracts: import {imported - start:.2f} s; "
      f"all {n} events made {evented - imported:.2f} s after it ended "
      f"({n / (evented - imported):.0f} events/s, including up to 1 s until the matcher's next turn); "
      f"all delivered {delivered - imported:.2f} s after it ended ({n / (delivered - imported):.0f} deliveries/s)")
PY
