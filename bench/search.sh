#!/usr/bin/env bash
# Load benchmark for GET /v1/search/locations (see docs/benchmarks.md).
#
# Builds the release binary, seeds a fresh ~100,000-location demo database under
# bench/out/ (gitignored), starts the server on a free local port and runs wrk
# against three centres: dense (Midtown Manhattan), suburban (Paterson NJ) and
# rural (central South Dakota).
#
# Overridable via env: PROVIDERS (default 147000 -> 100,037 locations with the
# default seed), SEED, SKIP_BUILD=1 (reuse target/release/clinic-finder), DURATION (wrk -d, default 15s), THREADS (2), CONNECTIONS (32).
set -euo pipefail

cd "$(dirname "$0")/.."

PROVIDERS="${PROVIDERS:-147000}"
SEED="${SEED:-20261126}"
DURATION="${DURATION:-15s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
OUT=bench/out
DB="$OUT/bench.sqlite3"
BIN=target/release/clinic-finder

# 1. wrk
if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk"
    apt-get update -qq && apt-get install -y -qq wrk
fi

# 2. build + fresh dataset
if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
    echo "== SKIP_BUILD=1: using existing $BIN"
    [[ -x "$BIN" ]] || { echo "$BIN missing" >&2; exit 1; }
else
    echo "== building release binary"
    cargo build --release
fi

mkdir -p "$OUT"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"
echo "== seeding $DB: --providers $PROVIDERS --seed $SEED"
seed_start=$(date +%s)
CLINIC_FINDER_DATABASE_URL="$DB" CLINIC_FINDER_LOG=warn \
    "$BIN" seed-demo --providers "$PROVIDERS" --seed "$SEED"
echo "seeding took $(( $(date +%s) - seed_start ))s"

counts=$(python3 - "$DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
q = lambda t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
print(q("locations"), q("providers"), q("clinics"))
PY
)
read -r n_locations n_providers n_clinics <<<"$counts"
echo "dataset: $n_locations locations, $n_providers providers, $n_clinics clinics"

# 3. server on a free port
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "== starting server on $BASE"
CLINIC_FINDER_DATABASE_URL="$DB" CLINIC_FINDER_BIND="127.0.0.1:$PORT" CLINIC_FINDER_LOG=warn \
    "$BIN" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 300); do
    if curl -fsS "$BASE/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "server exited early; log:" >&2
        cat "$OUT/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "$BASE/readyz" >/dev/null

# 4. the centres
Q="radius=25&treatment=chronic_migraine&sort=best&limit=20"
CENTRES=(
    "midtown_manhattan|lat=40.7549&lon=-73.9840&$Q"
    "paterson_nj|lat=40.9168&lon=-74.1718&$Q"
    "rural_sd|lat=44.37&lon=-100.35&$Q"
)

echo
echo "== sample responses"
for entry in "${CENTRES[@]}"; do
    name=${entry%%|*}
    url="$BASE/v1/search/locations?${entry#*|}"
    curl -fsS "$url" | python3 -c '
import json, sys
name = sys.argv[1]
body = json.load(sys.stdin)
print("%s: candidates_visited=%s results=%d" % (name, body["meta"]["candidates_visited"], len(body["results"])))
' "$name"
done

for entry in "${CENTRES[@]}"; do
    name=${entry%%|*}
    url="$BASE/v1/search/locations?${entry#*|}"
    echo
    echo "== wrk: $name"
    echo "   $url"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url"
done

echo
echo "== done ($n_locations locations, $n_providers providers, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ))"
