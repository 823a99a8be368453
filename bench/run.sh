#!/usr/bin/env bash
# National-scale benchmark: our ranked search against PostGIS KNN and Redis GEOSEARCH on the same
# locations, one table at the end with ratios (ours ÷ peer). See docs/benchmarks.md.
#
#   bench/run.sh                 # ~1,000,000 locations (1,470,000 demo providers)
#   PROVIDERS=147000 bench/run.sh  # ~100,000 locations
#
# Environment: PROVIDERS, SEED, DURATION (each load run, default 15s), CONNECTIONS (32),
# REUSE=1 (keep an existing dataset in bench/out/), SKIP_BUILD=1, PEERS=0 (ours only), PG_URL (admin URL of the local
# PostgreSQL with PostGIS, default postgres://postgres@127.0.0.1:5432/test).
# Everything it starts (our server, the Redis key, the PostgreSQL database) it stops or drops.
set -euo pipefail
cd "$(dirname "$0")/.."

PROVIDERS="${PROVIDERS:-1470000}"
SEED="${SEED:-20261126}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
OUT=bench/out
DB="$OUT/national-$PROVIDERS.sqlite3"
BIN=target/release/clinic-finder
PG_DB="cf_bench_$$"
REDIS_KEY="cf_bench_locations_$$"
RESULTS="$OUT/results-$PROVIDERS.tsv"
mkdir -p "$OUT"
: >"$RESULTS"

# The centres: dense, suburban, rural, and a mid-size city.
CENTRES=(
    "Manhattan|40.7549|-73.9840"
    "Paterson NJ|40.9168|-74.1718"
    "rural SD|44.3700|-100.3500"
    "Columbus OH|39.9612|-82.9988"
)

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need pgbench postgresql-client
need redis-benchmark redis-tools
pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect 15 main start
redis-cli ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

SERVER_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    redis-cli DEL "$REDIS_KEY" >/dev/null 2>&1 || true
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"; }  # peer centre req/s p50 p99

[[ "${SKIP_BUILD:-0}" == 1 ]] || cargo build --release --quiet

# 1. The dataset.
if [[ "${REUSE:-0}" == 1 && -f "$DB" ]]; then
    echo "== reusing $DB"
else
    rm -f "$DB" "$DB-wal" "$DB-shm"
    echo "== seeding $DB with $PROVIDERS providers"
    /usr/bin/time -f "seed: %e s, peak RSS %M KB" env CLINIC_FINDER_DATABASE_URL="$DB" "$BIN" seed-demo --providers "$PROVIDERS" --seed "$SEED"
fi
LOCATIONS=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from locations').fetchone()[0])" "$DB")
echo "locations: $LOCATIONS"

# 2. Our server on SQLite: start-up time, memory, and wrk per centre.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
started=$(date +%s.%N)
CLINIC_FINDER_DATABASE_URL="$DB" CLINIC_FINDER_BIND="127.0.0.1:$PORT" CLINIC_FINDER_LOG=warn CLINIC_FINDER_CHANGE_FEED_MS=0 \
    "$BIN" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
until curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do sleep 0.05; done
STARTUP=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$started" "$(date +%s.%N)")
echo "start-up to ready: ${STARTUP} s"

wrk_run() {  # name url → req/s p50 p99 (ms)
    local output
    output=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$2")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$output")
    p50=$(awk '$1=="50%" {print $2}' <<<"$output")
    p99=$(awk '$1=="99%" {print $2}' <<<"$output")
    echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() { python3 -c "import sys,re; v=sys.argv[1]; n=float(re.match(r'[0-9.]+',v).group()); u=v[len(str(re.match(r'[0-9.]+',v).group())):]; print(round(n*{'us':0.001,'ms':1,'s':1000}[u],3))" "$1"; }

for centre in "${CENTRES[@]}"; do
    IFS='|' read -r name lat lon <<<"$centre"
    url="http://127.0.0.1:$PORT/v1/search/locations?lat=$lat&lon=$lon&radius=25&treatment=chronic_migraine&sort=best&limit=20"
    visited=$(curl -fsS "$url" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["meta"]["candidates_visited"], len(b["results"]))')
    read -r rps p50 p99 < <(wrk_run "$name" "$url")
    echo "ours/SQLite  $name: $rps req/s, p50 $p50 ms, p99 $p99 ms (visited, results: $visited)"
    record "ours (SQLite)" "$name" "$rps" "$p50" "$p99"
done
RSS_KB=$(ps -o rss= -p "$SERVER_PID" | tr -d ' ')
echo "ours: resident memory after the runs: $((RSS_KB / 1024)) MB"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

# 3. The HTTP ceiling here: actix-web answering /healthz (a constant JSON body).
CLINIC_FINDER_DATABASE_URL="$DB" CLINIC_FINDER_BIND="127.0.0.1:$PORT" CLINIC_FINDER_LOG=warn CLINIC_FINDER_CHANGE_FEED_MS=0 \
    "$BIN" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
until curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do sleep 0.05; done
read -r rps p50 p99 < <(wrk_run ceiling "http://127.0.0.1:$PORT/healthz")
echo "HTTP ceiling (/healthz): $rps req/s"
record "HTTP ceiling" "-" "$rps" "$p50" "$p99"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

if [[ "${PEERS:-1}" == 0 ]]; then
    echo "PEERS=0: skipping PostGIS and Redis"
else
# 4. PostGIS: the same points, GiST index, "20 nearest within 25 km", pgbench prepared.
echo "== PostGIS peer"
psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
PG_BENCH="${PG_URL%/*}/$PG_DB"
psql "$PG_BENCH" -qc "CREATE EXTENSION postgis; CREATE TABLE raw (id bigint, lon float8, lat float8);" >/dev/null
python3 -c "
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute('select id, longitude, latitude from locations'):
    sys.stdout.write('%d\t%r\t%r\n' % row)" "$DB" | psql "$PG_BENCH" -qc "COPY raw FROM STDIN"
psql "$PG_BENCH" -qc "CREATE TABLE points AS SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog FROM raw;
    CREATE INDEX points_geog ON points USING GIST (geog); ANALYZE points;" >/dev/null
for centre in "${CENTRES[@]}"; do
    IFS='|' read -r name lat lon <<<"$centre"
    cat >"$OUT/knn.sql" <<SQL
SELECT id FROM points WHERE ST_DWithin(geog, ST_SetSRID(ST_MakePoint($lon, $lat), 4326)::geography, 25000)
ORDER BY geog <-> ST_SetSRID(ST_MakePoint($lon, $lat), 4326)::geography LIMIT 20;
SQL
    output=$(pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" -r -f "$OUT/knn.sql" "$PG_BENCH" 2>&1)
    tps=$(awk '/^tps/ {print $3; exit}' <<<"$output")
    latency=$(awk '/latency average/ {print $4}' <<<"$output")
    echo "PostGIS      $name: $tps q/s, mean $latency ms"
    record "PostGIS KNN (pgbench)" "$name" "$tps" "$latency" "-"
done

# 5. Redis: GEOADD the same points, GEOSEARCH … BYRADIUS 25 km ASC COUNT 20.
echo "== Redis peer"
python3 -c "
import sqlite3, sys
key = sys.argv[2].encode()
out = sys.stdout.buffer
def cmd(*parts):
    out.write(b'*%d\r\n' % len(parts))
    for p in parts:
        out.write(b'\$%d\r\n%s\r\n' % (len(p), p))
for id_, lon, lat in sqlite3.connect(sys.argv[1]).execute('select id, longitude, latitude from locations'):
    cmd(b'GEOADD', key, repr(lon).encode(), repr(lat).encode(), str(id_).encode())" "$DB" "$REDIS_KEY" | redis-cli --pipe >/dev/null
for centre in "${CENTRES[@]}"; do
    IFS='|' read -r name lat lon <<<"$centre"
    # redis-benchmark counts requests, not seconds: a short probe sizes a ~10 s run.
    probe=$(redis-benchmark -c "$CONNECTIONS" -n 200 -q --csv GEOSEARCH "$REDIS_KEY" FROMLONLAT "$lon" "$lat" BYRADIUS 25 km ASC COUNT 20 2>&1 | tail -1)
    requests=$(python3 -c "import csv,sys; r=list(csv.reader([sys.argv[1]]))[0]; print(max(200, int(float(r[1]) * 10)))" "$probe")
    output=$(redis-benchmark -c "$CONNECTIONS" -n "$requests" -q --csv GEOSEARCH "$REDIS_KEY" FROMLONLAT "$lon" "$lat" BYRADIUS 25 km ASC COUNT 20 2>&1 | tail -1)
    rps=$(python3 -c "import csv,sys; r=list(csv.reader([sys.argv[1]]))[0]; print(r[1])" "$output")
    p50=$(python3 -c "import csv,sys; r=list(csv.reader([sys.argv[1]]))[0]; print(r[4] if len(r)>4 else '-')" "$output")
    p99=$(python3 -c "import csv,sys; r=list(csv.reader([sys.argv[1]]))[0]; print(r[6] if len(r)>6 else '-')" "$output")
    echo "Redis        $name: $rps req/s, p50 $p50 ms, p99 $p99 ms"
    record "Redis GEOSEARCH" "$name" "$rps" "$p50" "$p99"
done

fi

# 6. The table.
python3 - "$RESULTS" "$LOCATIONS" "$STARTUP" "$RSS_KB" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter="\t"))
centres = ["Manhattan", "Paterson NJ", "rural SD", "Columbus OH"]
ours = {r[1]: float(r[2]) for r in rows if r[0] == "ours (SQLite)"}
ceiling = next((float(r[2]) for r in rows if r[0] == "HTTP ceiling"), None)
print(f"\n{int(sys.argv[2]):,} locations; start-up {sys.argv[3]} s; RSS {int(sys.argv[4]) // 1024} MB; HTTP ceiling {ceiling:,.0f} req/s\n")
print("| peer | " + " | ".join(centres) + " |")
print("|---|" + "---|" * len(centres))
for peer in ["ours (SQLite)", "PostGIS KNN (pgbench)", "Redis GEOSEARCH"]:
    cells = []
    for centre in centres:
        row = next((r for r in rows if r[0] == peer and r[1] == centre), None)
        if row is None:
            cells.append("-")
            continue
        rate = float(row[2])
        cell = f"{rate:,.0f}/s, p99 {row[4]} ms" if row[4] != "-" else f"{rate:,.0f}/s, mean {row[3]} ms"
        if peer != "ours (SQLite)" and centre in ours:
            cell += f" (ours ÷ peer: {ours[centre] / rate:.1f}×)"
        cells.append(cell)
    print(f"| {peer} | " + " | ".join(cells) + " |")
if ceiling:
    print("\nours ÷ HTTP ceiling: " + ", ".join(f"{c} {ours[c] / ceiling:.2f}" for c in centres if c in ours))
PY
