#!/bin/sh
# Times `citytools sync contracts-finder` over the recorded real page served on loopback as a
# chain of pages: once with the default pause (1 s) and once with none, on a fresh private
# database each time, with the debug build. Prints each run's JSON summary line.
#   bench/sync/run.sh [REPEAT] [london]
#     REPEAT: how many times the 7-page chain is served end to end; `london`: with the buyers of
#     its technology awards and tenders moved to London (see serve_pages.py). Each run is followed
#     by its pages' counts (releases, contracts added/updated/unchanged, tenders added/updated/
#     unchanged, skipped), then a second run of the same pages, which must add nothing.
set -eu
cd "$(dirname "$0")/../.."
REPEAT="${1:-1}"
PORT=18765
cargo build --quiet
python3 bench/sync/serve_pages.py "$PORT" "$REPEAT" "${2:-}" &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 1
SUMMARY='import json,sys
s=json.load(sys.stdin)
print(json.dumps({k: s[k] for k in ("pages","releases","added","updated","unchanged","tenders_added","tenders_updated","tenders_unchanged","skipped","waited_ms","working_ms","elapsed_ms")}), sys.argv[1])
for p in s["per_page"]:
    c = p
    print("  page %d: %d releases; contracts %d added, %d updated, %d unchanged; tenders %d added, %d updated, %d unchanged; %d skipped; fetch %d ms, import %d ms" % (p["page"], c["releases"], c["added"], c["updated"], c["unchanged"], c["tenders_added"], c["tenders_updated"], c["tenders_unchanged"], c["skipped"], p["fetch_ms"], p["import_ms"]))'
for PAUSE in 1000 0; do
    DIR=$(mktemp -d)
    for RUN in first again; do
        CITYTOOLS_DATA_DIR="$DIR/.citytools" CITYTOOLS_SYNC_PAUSE_MS=$PAUSE RUST_LOG=warn \
            ./target/debug/citytools sync contracts-finder --base-url "http://127.0.0.1:$PORT" \
            --since 2022-10-19 --until 2022-10-20T09:43:52+01:00 --json 2>/dev/null \
            | python3 -c "$SUMMARY" "pause_ms=$PAUSE run=$RUN"
    done
    rm -rf "$DIR"
done
