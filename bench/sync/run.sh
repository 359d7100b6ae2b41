#!/bin/sh
# Times `citytools sync contracts-finder` over the recorded real page served on loopback as a
# chain of pages: once with the default pause (1 s) and once with none, on a fresh private
# database each time, with the debug build. Prints each run's JSON summary line.
#   bench/sync/run.sh [REPEAT]     (REPEAT: how many times the 7-page chain is served end to end)
set -eu
cd "$(dirname "$0")/../.."
REPEAT="${1:-1}"
PORT=18765
cargo build --quiet
python3 bench/sync/serve_pages.py "$PORT" "$REPEAT" &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 1
for PAUSE in 1000 0; do
    DIR=$(mktemp -d)
    CITYTOOLS_DATA_DIR="$DIR/.citytools" CITYTOOLS_SYNC_PAUSE_MS=$PAUSE RUST_LOG=warn \
        ./target/debug/citytools sync contracts-finder --base-url "http://127.0.0.1:$PORT" \
        --since 2022-10-19 --until 2022-10-20T09:43:52+01:00 --json 2>/dev/null \
        | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ("pages","releases","tenders_seen","added","unchanged","waited_ms","working_ms","elapsed_ms")}), "pause_ms='"$PAUSE"'")'
    rm -rf "$DIR"
done
