#!/usr/bin/env bash
# A/B of two server binaries on the same SQLite database: each started in turn (twice), its
# start-up to /readyz and its index-load phases printed, then wrk at Manhattan and rural SD.
#
#   bench/ab.sh bench/out/national-1000000-500000.sqlite3 ./old-clinic-finder ./new-clinic-finder
#
# Environment: DURATION (each wrk run, default 10s), CONNECTIONS (32), ROUNDS (2).
set -euo pipefail
DB=$1
shift
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
for round in $(seq 1 "${ROUNDS:-2}"); do
    for bin in "$@"; do
        started=$(date +%s.%N)
        CLINIC_FINDER_DATABASE_URL="$DB" CLINIC_FINDER_BIND="127.0.0.1:$PORT" CLINIC_FINDER_LOG=info \
            CLINIC_FINDER_CHANGE_FEED_MS=0 CLINIC_FINDER_RATE_LIMIT_PUBLIC=0 "$bin" serve >"$LOG" 2>&1 &
        pid=$!
        until curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
            kill -0 "$pid" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
            sleep 0.05
        done
        line="$bin round $round: start-up $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$started" "$(date +%s.%N)") s"
        for centre in "Manhattan|40.7549|-73.9840" "rural SD|44.3700|-100.3500"; do
            IFS='|' read -r name lat lon <<<"$centre"
            url="http://127.0.0.1:$PORT/v1/search/locations?lat=$lat&lon=$lon&radius=25&treatment=chronic_migraine&sort=best&limit=20"
            output=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
            line="$line; $name $(awk '/Requests\/sec/ {print $2}' <<<"$output") req/s, p99 $(awk '$1=="99%" {print $2}' <<<"$output")"
        done
        echo "$line"
        grep -o '"message":"search index loaded[^}]*' "$LOG" | head -1 || true
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    done
done
