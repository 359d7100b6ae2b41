#!/usr/bin/env bash
# Insights answered from memory: each insight bench/run.sh measures, asked without a key once
# (computed and kept) and then again and again for SECONDS on one keep-alive connection, timed
# by bench/lib/timed_get.py (wrk misreports answers this fast). Prints a Markdown table.
#
#   bench/insights_kept.sh http://127.0.0.1:8080 [SECONDS]
set -euo pipefail
BASE=${1:?give the origin of the service, such as http://127.0.0.1:8080}
SECONDS_EACH=${2:-5}
GROUP=${GROUP:-revenues-and-benefits}
TOP_SYSTEM=${TOP_SYSTEM:-opentext-content-server}
HERE=$(cd "$(dirname "$0")" && pwd)
API=/api/v1
PATHS=(
  "$API/insights/joint-procurement" "$API/insights/expertise?system=$TOP_SYSTEM"
  "$API/insights/opportunities" "$API/insights/market-share" "$API/insights/vendor-satisfaction"
  "$API/insights/expiry-timeline" "$API/insights/summary" "$API/insights/data-access"
  "$API/suppliers/opentext/footprint" "$API/insights/estate"
)
for insight in joint-procurement opportunities market-share vendor-satisfaction expiry-timeline summary data-access estate; do
  PATHS+=("$API/insights/$insight?service_area=$GROUP")
done
echo "| insight (no key) | first request ms (computed) | kept: requests | p50 ms | p99 ms | max ms | statuses |"
echo "|---|---:|---:|---:|---:|---:|---|"
for path in "${PATHS[@]}"; do
  first=$(curl -s -o /dev/null -w '%{time_total}' "$BASE$path")
  python3 "$HERE/lib/timed_get.py" "$BASE$path" "$SECONDS_EACH" "" "$first"
done
