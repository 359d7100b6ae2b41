#!/usr/bin/env bash
# Import benchmark: `citytools import` of a generated contract register (100,000 rows by
# default) beside PostgreSQL COPY of the same rows, measured in one run on one database.
#
#   bench/import/run.sh                # 100,000 rows
#   ROWS=20000 bench/import/run.sh     # fewer
#
# It starts a throwaway PostgreSQL cluster on a Unix socket in a temporary directory (as the
# `postgres` user when run as root), or, with BENCH_DATABASE_URL, creates and drops a database
# named citytools_bench on that server. Nothing else is touched. Needs the PostgreSQL server
# binaries, psql and python3; builds the release binary unless CITYTOOLS_BIN names one.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ROWS=${ROWS:-100000}
SEED=${SEED:-2019}
BIN=${CITYTOOLS_BIN:-target/release/citytools}

if [ -z "${CITYTOOLS_BIN:-}" ]; then
  cargo build --release --quiet
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/citytools-bench.XXXXXX")
chmod 755 "$work"
pg_data=""
admin_url=""

cleanup() {
  if [ -n "$admin_url" ] && [ -n "${BENCH_DATABASE_URL:-}" ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS citytools_bench" >/dev/null 2>&1 || true
  fi
  if [ -n "$pg_data" ]; then
    as_postgres "$bindir/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  admin_url=$BENCH_DATABASE_URL
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS citytools_bench" >/dev/null
  psql "$admin_url" -qc "CREATE DATABASE citytools_bench" >/dev/null
  url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/citytools_bench")))' "$admin_url")
else
  bindir=${CITYTOOLS_PG_BINDIR:-$(pg_config --bindir)}
  mkdir "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
  pg_data="$work/pg/data"
  as_postgres "$bindir/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  as_postgres "$bindir/pg_ctl" -D "$pg_data" -l "$work/pg/log" -w \
    -o "-c listen_addresses='' -k $work/pg" start >/dev/null
  psql "postgresql://postgres@/postgres?host=$work/pg" -qc "CREATE DATABASE citytools_bench" >/dev/null
  url="postgresql://postgres@/citytools_bench?host=$work/pg"
fi
export DATABASE_URL=$url RUST_LOG=warn

"$BIN" migrate >/dev/null 2>&1
"$BIN" seed >/dev/null 2>&1
python3 bench/import/generate_register.py "$ROWS" "$SEED" > "$work/register.csv"

now() { date +%s.%N; }
rate() { python3 -c "import sys; r, s = int(sys.argv[1]), float(sys.argv[2]); print(f'{s:8.2f} s {r / s:10.0f} rows/s')" "$@"; }
sql() { psql "$url" -qAtX -v ON_ERROR_STOP=1 "$@"; }

echo "rows: $ROWS (seed $SEED), PostgreSQL $(sql -c 'SHOW server_version'), $(nproc) cores"

start=$(now)
"$BIN" import --format contracts-register --borough camden "$work/register.csv" 2> "$work/import.log"
import_s=$(python3 -c "print($(now) - $start)")
grep -E "rows read|new suppliers" "$work/import.log" | sed "s/^ */  /"

start=$(now)
"$BIN" import --format contracts-register --borough camden "$work/register.csv" 2> "$work/again.log"
again_s=$(python3 -c "print($(now) - $start)")
grep -E 'rows read' "$work/again.log" | sed 's/^ */  /'

# COPY of the register as it is: its twelve text columns into a plain table.
sql -c "CREATE TABLE bench_register (reference text, title text, department text, supplier text,
  start_date text, end_date text, max_end_date text, annual_value text, total_value text,
  route text, cpv text, sme text)"
start=$(now)
sql -c "\\copy bench_register FROM '$work/register.csv' CSV HEADER"
raw_s=$(python3 -c "print($(now) - $start)")

# COPY of the rows the import wrote, as stored: the contracts (with all their indexes and
# constraints), their service areas and their change-log entries, into copies of those tables.
sql -c "\\copy (SELECT * FROM contracts WHERE source_reference LIKE 'register:camden:BENCH-%') TO '$work/contracts.copy'"
sql -c "\\copy (SELECT a.* FROM contract_service_areas a JOIN contracts c ON c.id = a.contract_id WHERE c.source_reference LIKE 'register:camden:BENCH-%') TO '$work/areas.copy'"
sql -c "\\copy (SELECT * FROM changes WHERE actor_kind = 'import') TO '$work/changes.copy'"
sql -c "CREATE TABLE bench_contracts (LIKE contracts INCLUDING ALL);
  CREATE TABLE bench_areas (LIKE contract_service_areas INCLUDING ALL);
  CREATE TABLE bench_changes (LIKE changes INCLUDING ALL)"
start=$(now)
sql -c "\\copy bench_contracts FROM '$work/contracts.copy'"
contracts_s=$(python3 -c "print($(now) - $start)")
sql -c "\\copy bench_areas FROM '$work/areas.copy'"
sql -c "\\copy bench_changes FROM '$work/changes.copy'"
stored_s=$(python3 -c "print($(now) - $start)")

echo
echo "citytools import (new contracts)        $(rate "$ROWS" "$import_s")"
echo "citytools import again (all unchanged)  $(rate "$ROWS" "$again_s")"
echo "COPY of the register's rows (text)      $(rate "$ROWS" "$raw_s")"
echo "COPY of the stored contracts            $(rate "$ROWS" "$contracts_s")"
echo "COPY of contracts, areas and change log $(rate "$ROWS" "$stored_s")"
python3 -c "import sys; i, c = float(sys.argv[1]), float(sys.argv[2]); print(f'import takes {i / c:.1f} times as long as COPY of everything it writes')" "$import_s" "$stored_s"
