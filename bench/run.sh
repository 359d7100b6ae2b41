#!/usr/bin/env bash
# UK-scale benchmark: a million synthetic contracts served by the release build of citytools,
# side by side with pgbench running the same SQL on the same database and Datasette serving the
# same contracts from SQLite, all in one run. See bench/README.md.
#
#   bench/run.sh                                   # everything, about 15 minutes
#   DURATION=30 bench/run.sh                       # longer measurements
#   BENCH_REV=HEAD bench/run.sh                    # the last commit, not the working tree
#   BENCH_PG_URL=postgres://me@127.0.0.1:5432/postgres bench/run.sh
#
# It creates (and at the end drops) the database $BENCH_DB on the PostgreSQL server of
# BENCH_PG_URL (default: the local server on 127.0.0.1:5432 as postgres), and keeps its other
# files (SQLite database, CSV files, logs) in a temporary directory it removes at the end
# (BENCH_KEEP=1 keeps both). The results go to bench/results/<date>.md, with the SQL and query
# plans beside them, and are printed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

AUTHORITIES=${AUTHORITIES:-400}
CONTRACTS=${CONTRACTS:-1000000}
SEED=${SEED:-42}
DURATION=${DURATION:-15}                 # seconds of load per list and get workload
INSIGHT_DURATION=${INSIGHT_DURATION:-10} # seconds per insight, one connection
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
CSV_RUNS=${CSV_RUNS:-3}
BENCH_PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BENCH_DB=${BENCH_DB:-citybench}
DATASETTE_VERSION=0.65.5
VENV=${BENCH_VENV:-$ROOT/bench/.venv}
BIN=${CITYTOOLS_BIN:-target/release/citytools}
DATE=$(date -u +%Y-%m-%d)
RESULTS=${BENCH_RESULTS:-bench/results/$DATE}

# The workload: filters chosen so that every list has many matches at 1M contracts (seed 42).
BOROUGH=${BOROUGH:-camden}
AREA=${AREA:-data-and-bi}
GROUP=${GROUP:-revenues-and-benefits}  # a service-area group, for the insights' filtered runs
WINDOW_AFTER=${WINDOW_AFTER:-2027-01-01}
WINDOW_BEFORE=${WINDOW_BEFORE:-2027-03-31}
WORD=${WORD:-civica}
CSV_AFTER=${CSV_AFTER:-2025-01-01}     # about 100,000 contracts end in this year
CSV_BEFORE=${CSV_BEFORE:-2025-12-31}

case $BENCH_DB in
  citybench*) ;;
  *) echo "BENCH_DB must start with citybench: the database is dropped and created" >&2; exit 2 ;;
esac

log() { printf '\n[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
B() { python3 "$ROOT/bench/lib/bench.py" "$@"; }

# --- 1. What the benchmark needs -------------------------------------------------------------------
log "checking tools"
if ! command -v wrk >/dev/null; then
  apt-cache policy wrk | head -3 >&2 || true
  as_root apt-get install -y wrk >&2 || { as_root apt-get update >&2 && as_root apt-get install -y wrk >&2; }
fi
for tool in psql pgbench sqlite3 curl python3; do
  if ! command -v "$tool" >/dev/null; then
    case $tool in
      psql|pgbench) package=postgresql-client ;;
      *) package=$tool ;;
    esac
    as_root apt-get install -y "$package" >&2
  fi
done
if [ "$("$VENV/bin/datasette" --version 2>/dev/null)" != "datasette, version $DATASETTE_VERSION" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "datasette==$DATASETTE_VERSION"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/citybench.XXXXXX")
chmod 755 "$WORK"
PIDS=()
DB_CREATED=""
SRC=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  [ -z "$SRC" ] || rm -rf "$SRC"
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    echo "kept $WORK and database $BENCH_DB" >&2
    return
  fi
  if [ -n "$DB_CREATED" ]; then
    psql -X -q "$BENCH_PG_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The code measured: the working tree (default); with BENCH_REV, that commit, built from a clean
# export in its own target directory (so edits in progress in the working tree are left out);
# with CITYTOOLS_BIN, that binary. Copied into $WORK, so a rebuild during the run changes nothing.
if [ -n "${CITYTOOLS_BIN:-}" ]; then
  CODE="the binary $CITYTOOLS_BIN"
elif [ -n "${BENCH_REV:-}" ]; then
  rev=$(git rev-parse --verify "$BENCH_REV^{commit}")
  SRC=$WORK/src
  mkdir "$SRC"
  git archive "$rev" | tar -x -C "$SRC"
  export CARGO_TARGET_DIR=$ROOT/target/bench-rev
  if [ ! -d "$CARGO_TARGET_DIR/release" ] && [ -d target/release ]; then
    mkdir -p "$CARGO_TARGET_DIR" && cp -a target/release "$CARGO_TARGET_DIR/"  # compiled dependencies
  fi
  log "cargo build --release of commit ${rev:0:12}"
  (cd "$SRC" && cargo build --release --quiet)
  BIN=$CARGO_TARGET_DIR/release/citytools
  CODE="commit ${rev:0:12}, built from a clean export"
else
  log "cargo build --release"
  cargo build --release --quiet
  CODE="the working tree at $(git describe --always --dirty)"
fi
cp "$BIN" "$WORK/citybench-server"
BIN=$WORK/citybench-server

wait_ready() { # URL: up to 60 s
  for _ in $(seq 240); do
    curl -sf --max-time 2 -o /dev/null "$1" && return 0
    sleep 0.25
  done
  echo "not ready after 60 s: $1" >&2
  return 1
}

# --- 2. The benchmark database and the million -----------------------------------------------------
DB_URL=$(B url-db "$BENCH_PG_URL" "$BENCH_DB")
sql() { psql -X -qAt -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
log "creating database $BENCH_DB"
psql -X -q -v ON_ERROR_STOP=1 "$BENCH_PG_URL" -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS $BENCH_DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$BENCH_PG_URL" -c "CREATE DATABASE $BENCH_DB" >/dev/null
DB_CREATED=1
RESULTS_JSONL=$WORK/results.jsonl
: > "$RESULTS_JSONL"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log "citytools seed --synthetic --authorities $AUTHORITIES --contracts $CONTRACTS --seed $SEED"
start=$(now)
DATABASE_URL=$DB_URL RUST_LOG=warn,citytools::synthetic=info "$BIN" seed --synthetic --authorities "$AUTHORITIES" \
  --contracts "$CONTRACTS" --seed "$SEED" 2> "$WORK/seed.log"
wall=$(since "$start")
cat "$WORK/seed.log" >&2
report_line=$(grep -E '^added [0-9]+ authorities' "$WORK/seed.log")
read -r gen_authorities gen_contracts gen_links gen_seconds < <(
  sed -E 's/^added ([0-9]+) authorities, ([0-9]+) contracts and ([0-9]+) contract service areas in ([0-9.]+) s$/\1 \2 \3 \4/' <<<"$report_line")
# Its progress lines give the time split: COPY of the contracts, then of their service areas.
copied_contracts=$(sed -nE 's/.*copied [0-9]+ contracts in ([0-9.]+) s.*/\1/p' "$WORK/seed.log")
copied_links=$(sed -nE 's/.*copied [0-9]+ contract service areas in ([0-9.]+) s.*/\1/p' "$WORK/seed.log")
B record load generator seconds="$gen_seconds" wall_s="$wall" contracts="$gen_contracts" \
  contracts_copied_at_s="${copied_contracts:-}" links_copied_at_s="${copied_links:-}" \
  links="$gen_links" authorities="$(sql -c 'SELECT count(*) FROM boroughs')" >> "$RESULTS_JSONL"
read -r ID_MIN ID_MAX < <(sql -F ' ' -c "SELECT min(id), max(id) FROM contracts WHERE source_reference LIKE 'SYN-%'")
TOP_SYSTEM=$(sql -c "SELECT system_id FROM contracts WHERE system_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
TOP_SUPPLIER=$(sql -c "SELECT supplier_id FROM contracts GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")

# The rows of the API's CSV for an anonymous caller: the same 24 columns, in the same order.
EXPORT_SELECT="SELECT c.id, c.borough_id,
  (SELECT b.name FROM boroughs b WHERE b.id = c.borough_id) AS borough_name,
  c.supplier_id, (SELECT s.name FROM suppliers s WHERE s.id = c.supplier_id) AS supplier_name,
  c.system_id, (SELECT y.name FROM systems y WHERE y.id = c.system_id) AS system_name,
  array_to_string(ARRAY(SELECT a.service_area_id FROM contract_service_areas a
                        WHERE a.contract_id = c.id ORDER BY 1), '|') AS service_area_ids,
  c.title, c.start_date, c.end_date, c.max_end_date, c.annual_value_gbp, c.total_value_gbp,
  c.hosting, c.procurement_route, c.framework_name, c.data_access, c.source, c.source_reference,
  c.source_url, c.created_at, c.updated_at, c.version
FROM contracts c"

# --- 3. The same contracts in SQLite, served by Datasette ------------------------------------------
log "exporting the contracts to SQLite"
start=$(now)
sql -c "\\copy ($EXPORT_SELECT ORDER BY c.id) TO '$WORK/contracts.csv' WITH CSV HEADER"
sql -c "\\copy (SELECT contract_id, service_area_id FROM contract_service_areas ORDER BY 1, 2) TO '$WORK/areas.csv' WITH CSV HEADER"
(cd "$WORK" && sqlite3 bench.db < "$ROOT/bench/lib/sqlite.sql")
B record load sqlite-export seconds="$(since "$start")" \
  mib="$(python3 -c "import os, sys; print(round(os.path.getsize(sys.argv[1]) / 2**20, 1))" "$WORK/bench.db")" >> "$RESULTS_JSONL"
rm -f "$WORK/contracts.csv" "$WORK/areas.csv"

DS_PORT=$(free_port)
log "datasette serve on 127.0.0.1:$DS_PORT"
"$VENV/bin/datasette" serve --immutable "$WORK/bench.db" --host 127.0.0.1 --port "$DS_PORT" \
  --setting max_returned_rows 1000 --setting sql_time_limit_ms 30000 \
  --setting suggest_facets off --setting max_csv_mb 0 --setting allow_csv_stream on \
  > "$WORK/datasette.log" 2>&1 &
DS_PID=$!
PIDS+=("$DS_PID")
DS=http://127.0.0.1:$DS_PORT
wait_ready "$DS/-/versions.json"

# --- The workload ------------------------------------------------------------------------------------
API=/api/v1
declare -A OURS DSURL
OURS[list-borough]="$API/contracts?borough=$BOROUGH&sort=end_date"
OURS[list-borough-area]="$API/contracts?borough=$BOROUGH&service_area=$AREA"
OURS[list-end-window]="$API/contracts?ends_after=$WINDOW_AFTER&ends_before=$WINDOW_BEFORE"
OURS[list-text]="$API/contracts?q=$WORD"
OURS[get-by-id]="$API/contracts/$(( (ID_MIN + ID_MAX) / 2 ))"
OURS[csv]="$API/contracts?ends_after=$CSV_AFTER&ends_before=$CSV_BEFORE&format=csv"
area_where=$(python3 -c "import sys, urllib.parse as u; print(u.quote(sys.argv[1]))" \
  "id in (select contract_id from contract_service_areas where service_area_id = '$AREA')")
DSURL[list-borough]="/bench/contracts.json?borough_id=$BOROUGH&_sort=end_date&_size=50&_shape=objects"
DSURL[list-borough-area]="/bench/contracts.json?borough_id=$BOROUGH&_where=$area_where&_size=50&_shape=objects"
DSURL[list-end-window]="/bench/contracts.json?end_date__gte=$WINDOW_AFTER&end_date__lte=$WINDOW_BEFORE&_size=50&_shape=objects"
DSURL[list-text]="/bench/contracts.json?_search=$WORD&_size=50&_shape=objects"
DSURL[csv]="/bench/contracts.csv?end_date__gte=$CSV_AFTER&end_date__lte=$CSV_BEFORE&_stream=on&_size=max"
LISTS=(list-borough list-borough-area list-end-window list-text)
INSIGHTS=(
  "joint-procurement|$API/insights/joint-procurement"
  "expertise|$API/insights/expertise?system=$TOP_SYSTEM"
  "opportunities|$API/insights/opportunities"
  "market-share|$API/insights/market-share"
  "vendor-satisfaction|$API/insights/vendor-satisfaction"
  "expiry-timeline|$API/insights/expiry-timeline"
  "summary|$API/insights/summary"
  "data-access|$API/insights/data-access"
  "supplier-footprint|$API/suppliers/$TOP_SUPPLIER/footprint"
  "joint-procurement-group|$API/insights/joint-procurement?service_area=$GROUP"
  "opportunities-group|$API/insights/opportunities?service_area=$GROUP"
  "market-share-group|$API/insights/market-share?service_area=$GROUP"
  "vendor-satisfaction-group|$API/insights/vendor-satisfaction?service_area=$GROUP"
  "expiry-timeline-group|$API/insights/expiry-timeline?service_area=$GROUP"
  "summary-group|$API/insights/summary?service_area=$GROUP"
  "data-access-group|$API/insights/data-access?service_area=$GROUP"
)

# --- 4. What SQL the service runs: one request each, logged by PostgreSQL -----------------------------
PG_LOG=${BENCH_PG_LOG:-}
if [ -z "$PG_LOG" ]; then
  current=$(sql -c "SELECT coalesce(pg_current_logfile('stderr'), '')")
  if [ -n "$current" ]; then
    case $current in /*) PG_LOG=$current ;; *) PG_LOG="$(sql -c 'SHOW data_directory')/$current" ;; esac
  else
    PG_LOG="/var/log/postgresql/postgresql-$(sql -c 'SHOW server_version_num' | cut -c1-2)-main.log"
  fi
fi
[ -r "$PG_LOG" ] || { echo "cannot read the PostgreSQL log $PG_LOG (set BENCH_PG_LOG)" >&2; exit 1; }
CAP_PORT=$(free_port)
log "capturing the SQL of each request (log: $PG_LOG)"
DATABASE_URL="$DB_URL?application_name=citybench-capture&options=-c%20log_min_duration_statement%3D0" \
  CITYTOOLS_BIND=127.0.0.1:$CAP_PORT CITYTOOLS_POOL_SIZE=1 CITYTOOLS_WRITE_RATE=0 RUST_LOG=warn \
  "$BIN" serve > "$WORK/capture.log" 2>&1 &
CAP_PID=$!
PIDS+=("$CAP_PID")
wait_ready "http://127.0.0.1:$CAP_PORT/readyz"
: > "$WORK/captures.tsv"
capture() { # NAME PATH
  local start end out
  # Once before, so that what is captured is a request in the steady state (the reference
  # cache loaded, the statements prepared), not the first one.
  curl -s --max-time 120 -o /dev/null "http://127.0.0.1:$CAP_PORT$2"
  sleep 0.2
  start=$(stat -c %s "$PG_LOG")
  out=$(curl -s --max-time 120 -o "$WORK/capture-body" -w '%{http_code}\t%{time_total}' "http://127.0.0.1:$CAP_PORT$2")
  sleep 0.5
  end=$(stat -c %s "$PG_LOG")
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$start" "$end" "$out" >> "$WORK/captures.tsv"
  case $out in 200*) ;; *) echo "GET $2 answered ${out%%$'\t'*}: $(head -c 500 "$WORK/capture-body")" >&2; exit 1 ;; esac
}
for name in "${LISTS[@]}" get-by-id csv; do capture "$name" "${OURS[$name]}"; done
for entry in "${INSIGHTS[@]}"; do capture "insight-${entry%%|*}" "${entry#*|}"; done
CAP_BACKENDS=$(sql -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'citybench-capture'")
kill "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true
B parse-captures "$PG_LOG" "$WORK/captures.tsv" "$CAP_BACKENDS" "$WORK/captures.json"
mkdir -p "$(dirname "$RESULTS")"
{
  echo "# SQL of the benchmark run"
  echo
  echo "What citytools sent to PostgreSQL for one request of each workload, from the server log"
  echo "(\`log_min_duration_statement = 0\` on the connections of a one-connection instance), and"
  echo "the pgbench scripts made from it."
  for name in "${LISTS[@]}"; do
    B pgbench-script "$WORK/captures.json" "$name" "$WORK/pgbench-$name.sql" "$WORK/pgbench-$name.defs"
    printf '\n## %s\n\n`GET %s`\n\n```sql\n' "$name" "${OURS[$name]}"
    cat "$WORK/pgbench-$name.sql"
    printf '```\n\npgbench variables:\n\n```\n'
    cat "$WORK/pgbench-$name.defs"
    printf '```\n'
  done
} > "$RESULTS-sql.md"

# Equal filters, equal answers: the matching totals of both sides.
totals=()
for name in "${LISTS[@]}"; do
  ds=$(curl -s --max-time 120 "$DS${DSURL[$name]}" | python3 -c "import json, sys; print(json.load(sys.stdin)['filtered_table_rows_count'])")
  totals+=("$name-datasette=$ds")
done

# --- 5. The service under load -----------------------------------------------------------------------
# A reader key: an insight asked with a key is computed every time (one without is answered from
# memory until the data changes), so the insights are measured both ways.
READER_KEY=$(DATABASE_URL=$DB_URL RUST_LOG=warn "$BIN" keys create --role reader --name "bench reader" | tail -n 1)
PORT=$(free_port)
log "citytools serve on 127.0.0.1:$PORT"
DATABASE_URL=$DB_URL CITYTOOLS_BIND=127.0.0.1:$PORT CITYTOOLS_WRITE_RATE=0 RUST_LOG=warn \
  "$BIN" serve > "$WORK/service.log" 2>&1 &
SERVICE_PID=$!
PIDS+=("$SERVICE_PID")
export CITYTOOLS_PID=$SERVICE_PID  # bench.py adds the service's memory to each of its results
US=http://127.0.0.1:$PORT
wait_ready "$US/readyz"
for name in "${LISTS[@]}"; do
  # count=exact: the default total is exact only up to 1,000 matches (an estimate beyond).
  ours=$(curl -s --max-time 120 "$US${OURS[$name]}&count=exact" | python3 -c "import json, sys; print(json.load(sys.stdin)['meta']['total'])")
  totals+=("$name-ours=$ours")
done
B record check totals "${totals[@]}" >> "$RESULTS_JSONL"

wrk_run() { # TARGET NAME BASE PATH THREADS CONNECTIONS DURATION [ID_PATH [AUTHORIZATION]]
  # With ID_PATH (a format such as /api/v1/contracts/%d), each request asks for a random id;
  # with AUTHORIZATION, each request sends it.
  local target=$1 name=$2 base=$3 path=$4 t=$5 c=$6 d=$7 id_path=${8:-} authorization=${9:-}
  local out=$WORK/wrk-$target-$name.txt url=$base$path
  [ -z "$id_path" ] || url=$base/
  WRK_ID_PATH=$id_path WRK_ID_MIN=$ID_MIN WRK_ID_MAX=$ID_MAX WRK_AUTHORIZATION=$authorization \
    timeout $((d + 120)) wrk -t"$t" -c"$c" -d"${d}s" --timeout 60s --latency \
    -s "$ROOT/bench/lib/wrk.lua" "$url" > "$out" 2>&1 || true
  B record-wrk "$target" "$name" "$path" "$t" "$c" "$d" "$out" | tee -a "$RESULTS_JSONL" |
    python3 -c "import json, sys; r = json.loads(sys.stdin.read()); print(f\"  {r['target']:10} {r['name']:28} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  errors {r['errors'] + r['non2xx']}\")" >&2
}

pgbench_run() { # NAME [CONNECTIONS THREADS DURATION SUFFIX]
  local name=$1 c=${2:-$CONNECTIONS} t=${3:-$THREADS} d=${4:-$DURATION} suffix=${5:-} defs=() line
  while IFS= read -r line; do defs+=(-D "$line"); done < "$WORK/pgbench-$name.defs"
  rm -f "$WORK"/pgbench-log-"$name".*
  (cd "$WORK" && timeout $((d + 120)) pgbench -n -M prepared -c "$c" -j "$t" \
    -T "$d" -l --log-prefix="pgbench-log-$name" -f "pgbench-$name.sql" "${defs[@]}" "$DB_URL") \
    > "$WORK/pgbench-$name.out" 2>&1 || { cat "$WORK/pgbench-$name.out" >&2; return 1; }
  B record-pgbench "$name$suffix" "$t" "$c" "$d" "$WORK/pgbench-$name.out" "$WORK"/pgbench-log-"$name".* |
    tee -a "$RESULTS_JSONL" |
    python3 -c "import json, sys; r = json.loads(sys.stdin.read()); print(f\"  {'pgbench':10} {r['name']:28} {r['rps']:9.1f} tx/s   p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  errors {r['errors']}\")" >&2
  rm -f "$WORK"/pgbench-log-"$name".*
}

log "warming up"
for name in "${LISTS[@]}"; do
  for _ in 1 2 3; do
    curl -s --max-time 60 -o /dev/null "$US${OURS[$name]}"
    curl -s --max-time 60 -o /dev/null "$DS${DSURL[$name]}"
  done
done

log "filtered lists: $DURATION s each, $THREADS threads, $CONNECTIONS connections"
for name in "${LISTS[@]}"; do
  wrk_run citytools "$name" "$US" "${OURS[$name]}" "$THREADS" "$CONNECTIONS" "$DURATION"
  wrk_run datasette "$name" "$DS" "${DSURL[$name]}" "$THREADS" "$CONNECTIONS" "$DURATION"
  pgbench_run "$name"
done

log "filtered lists, one client at a time: $INSIGHT_DURATION s each"
for name in "${LISTS[@]}"; do
  wrk_run citytools "$name-one-client" "$US" "${OURS[$name]}" 1 1 "$INSIGHT_DURATION"
  pgbench_run "$name" 1 1 "$INSIGHT_DURATION" -one-client
done

log "get by id (random ids from $ID_MIN to $ID_MAX)"
wrk_run citytools get-by-id "$US" "$API/contracts/{id}" "$THREADS" "$CONNECTIONS" "$DURATION" "$API/contracts/%d"
wrk_run datasette get-by-id "$DS" "/bench/contracts/{id}.json" "$THREADS" "$CONNECTIONS" "$DURATION" "/bench/contracts/%d.json"

# Deep paging: the same page of the unfiltered list (in id order) by page number, which skips
# every earlier row, and by the cursor a client walking the pages would hold.
DEEP_PAGE=${DEEP_PAGE:-200}  # numbered pages stop at 10,000 records in (cursor beyond)
DEEP_AFTER=$(sql -c "SELECT id FROM contracts ORDER BY id OFFSET $(( (DEEP_PAGE - 1) * 50 - 1 )) LIMIT 1")
DEEP_CURSOR=$(python3 -c "import base64, json, sys; print(base64.urlsafe_b64encode(json.dumps(['id', None, int(sys.argv[1])]).encode()).decode().rstrip('='))" "$DEEP_AFTER")
OURS[deep-page]="$API/contracts?page=$DEEP_PAGE"
OURS[deep-cursor]="$API/contracts?cursor=$DEEP_CURSOR"
same=$(python3 - "$US${OURS[deep-page]}" "$US${OURS[deep-cursor]}" <<'PY'
import json, sys, urllib.request
ids = [[c["id"] for c in json.load(urllib.request.urlopen(url, timeout=120))["items"]] for url in sys.argv[1:]]
print(int(ids[0] == ids[1] and len(ids[0]) == 50))
PY
)
B record check deep-paging same_items="$same" page="$DEEP_PAGE" >> "$RESULTS_JSONL"
log "deep paging, one client: page $DEEP_PAGE by number and by cursor, $INSIGHT_DURATION s each"
wrk_run citytools deep-page "$US" "${OURS[deep-page]}" 1 1 "$INSIGHT_DURATION"
wrk_run citytools deep-cursor "$US" "${OURS[deep-cursor]}" 1 1 "$INSIGHT_DURATION"

log "CSV export of the contracts ending from $CSV_AFTER to $CSV_BEFORE, $CSV_RUNS runs each"
csv_rows() { python3 -c "import csv, sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=''))) - 1)" "$1"; }
csv_measure() { # NAME COMMAND...: runs COMMAND (writing $WORK/export.csv) CSV_RUNS times
  local name=$1; shift
  local times=() start load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  for _ in $(seq "$CSV_RUNS"); do
    rm -f "$WORK/export.csv"
    start=$(now)
    "$@"
    times+=("$(since "$start")")
  done
  B record csv "csv-$name" seconds="$(python3 -c 'import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))' "${times[@]}")" \
    all_seconds="$(IFS=,; echo "${times[*]}")" rows="$(csv_rows "$WORK/export.csv")" \
    mib="$(python3 -c "import os, sys; print(round(os.path.getsize(sys.argv[1]) / 2**20, 1))" "$WORK/export.csv")" |
    python3 -c "import json, sys; r = json.loads(sys.stdin.read()); r['load'] = '$load'; print(json.dumps(r))" |
    tee -a "$RESULTS_JSONL" |
    python3 -c "import json, sys; r = json.loads(sys.stdin.read()); print(f\"  {r['name']:16} {r['rows']:8} rows {r['seconds']:7.2f} s {r['rows'] / r['seconds']:9.0f} rows/s\")" >&2
}
get_csv() { curl -sf --max-time 600 -o "$WORK/export.csv" "$1"; }
copy_csv() {
  sql -c "COPY ($EXPORT_SELECT WHERE c.end_date >= '$CSV_AFTER' AND c.end_date <= '$CSV_BEFORE' ORDER BY c.id) TO STDOUT WITH CSV HEADER" > "$WORK/export.csv"
}
csv_measure citytools get_csv "$US${OURS[csv]}"
csv_measure copy copy_csv
csv_measure datasette get_csv "$DS${DSURL[csv]}"
rm -f "$WORK/export.csv"

# wrk leaves out requests still running when its time is up: each insight gets at least
# INSIGHT_DURATION seconds, and enough for about three requests at the time its captured request
# took (at most 120 s).
log "insights, one connection: at least $INSIGHT_DURATION s each, longer for slow ones"
for entry in "${INSIGHTS[@]}"; do
  name=insight-${entry%%|*}
  seconds=$(python3 -c "import json, math, sys; c = json.load(open(sys.argv[1]))[sys.argv[2]]; print(min(120, max(int(sys.argv[3]), math.ceil(3.5 * c['total_ms'] / 1000) + 2)))" \
    "$WORK/captures.json" "$name" "$INSIGHT_DURATION")
  # With a key, so that each request is computed. Without one, every answer after the first
  # comes from memory in well under a millisecond, which wrk on one connection misreports:
  # bench/insights_kept.sh times those.
  wrk_run citytools "computed-$name" "$US" "${entry#*|}" 1 1 "$seconds" "" "Bearer $READER_KEY"
done

# --- 6. Memory -------------------------------------------------------------------------------------
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
mib() { python3 -c "import sys; print(round(int(sys.argv[1]) / 1024, 1))" "$1"; }
B record memory memory citytools_hwm_mib="$(mib "$(kib "$SERVICE_PID" VmHWM)")" \
  citytools_rss_mib="$(mib "$(kib "$SERVICE_PID" VmRSS)")" \
  datasette_hwm_mib="$(mib "$(kib "$DS_PID" VmHWM)")" datasette_rss_mib="$(mib "$(kib "$DS_PID" VmRSS)")" \
  >> "$RESULTS_JSONL"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
for pid in "$SERVICE_PID" "$DS_PID"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done

# --- 7. Query plans and the report ------------------------------------------------------------------
log "EXPLAIN (ANALYZE, BUFFERS) of the captured statements"
B explain "$WORK/captures.json" "$DB_URL" "$RESULTS-explain.md" 1

META_POSTGRES="$(sql -c 'SELECT version()' | cut -d, -f1), shared_buffers $(sql -c 'SHOW shared_buffers'), work_mem $(sql -c 'SHOW work_mem'), jit $(sql -c 'SHOW jit')" \
META_DATABASE="$BENCH_DB, created for the run on the server of BENCH_PG_URL ($(B url-db "$BENCH_PG_URL" "" | sed 's#/$##'))" \
META_DATASETTE="Datasette $DATASETTE_VERSION (one process, --immutable, max_returned_rows 1000, sql_time_limit_ms 30000, suggest_facets off)" \
META_LOAD_START=$LOAD_START META_LOAD_END=$LOAD_END META_CODE=$CODE \
META_WORKLOAD="wrk $THREADS threads, $CONNECTIONS connections, $DURATION s per list and get workload; pgbench -M prepared -j $THREADS -c $CONNECTIONS -T $DURATION; one-client lists 1 thread, 1 connection, $INSIGHT_DURATION s; insights 1 thread, 1 connection, at least $INSIGHT_DURATION s and about three requests' time (at most 120 s); citytools with its default pool of 10 connections" \
python3 - "$WORK/meta.json" <<'PY'
import json, os, subprocess, sys

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()

meta = {
    "date": sh("date -u '+%Y-%m-%d %H:%M'"),
    "commit": os.environ["META_CODE"],
    "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip(),
    "nproc": sh("nproc"),
    "memory": sh("free -h | awk '/^Mem:/ {print $2 \" total, \" $3 \" used, \" $7 \" available\"}'"),
    "kernel": sh("uname -r"),
    "wrk": sh("wrk -v 2>&1 | head -1 | cut -d' ' -f1-2"),
    "sqlite": "SQLite " + sh("sqlite3 --version | cut -d' ' -f1"),
}
for key in ("postgres", "database", "datasette", "load_start", "load_end", "workload"):
    meta[key] = os.environ["META_" + key.upper()]
json.dump(meta, open(sys.argv[1], "w"))
PY
cp "$WORK/captures.json" "$RESULTS-captures.json"
B report "$RESULTS_JSONL" "$WORK/captures.json" "$WORK/meta.json" "$RESULTS.md"
cp "$RESULTS_JSONL" "$RESULTS.jsonl"
echo >&2
echo "results: $RESULTS.md (SQL: $RESULTS-sql.md, plans: $RESULTS-explain.md)" >&2
