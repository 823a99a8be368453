#!/usr/bin/env bash
# National-scale benchmark: our ranked search against PostGIS KNN and Redis GEOSEARCH on the same
# locations, one table at the end with ratios (ours ÷ peer). See docs/benchmarks.md.
#
#   bench/run.sh                                   # 1,000,000 locations, 500,000 providers
#   LOCATIONS=100000 PROVIDERS=50000 bench/run.sh  # a tenth of that
#
# It builds release, generates the data (`clinic-finder generate`), imports it into SQLite (timed),
# serves it on SQLite and — when PostgreSQL is there — on PostgreSQL (imported the same way),
# loads the same points into PostGIS and Redis for the peers, and prints one table. CURVE=1 adds the cost curve (the same queries at 10k and
# 100k locations). FLAMEGRAPH=1 records a perf profile of our server at Midtown into
# $OUT/flamegraph.svg (needs `perf`; installs inferno with cargo if missing).
#
# Environment: LOCATIONS, PROVIDERS, SEED, DURATION (each load run, default 15s), CONNECTIONS (32),
# REUSE=1 (keep an existing dataset in bench/out/), SKIP_BUILD=1, PEERS=0 (ours on SQLite only),
# PG_URL (admin URL of the local PostgreSQL with PostGIS, default
# postgres://postgres@127.0.0.1:5432/test).
# Everything it starts (our servers, the Redis key, the PostgreSQL databases) it stops or drops.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCATIONS="${LOCATIONS:-1000000}"
PROVIDERS="${PROVIDERS:-500000}"
SEED="${SEED:-20261126}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
OUT=bench/out
NAME="national-$LOCATIONS-$PROVIDERS"
DATA="$OUT/$NAME.ndjson"
DB="$OUT/$NAME.sqlite3"
BIN=target/release/clinic-finder
PG_DB="cf_bench_$$"
PG_OURS="cf_bench_ours_$$"
REDIS_KEY="cf_bench_locations_$$"
RESULTS="$OUT/results-$NAME.tsv"
METRICS="$OUT/metrics-$NAME.tsv"  # one "name<TAB>value" a line: imports, start-up, memory
mkdir -p "$OUT"
: >"$RESULTS"
: >"$METRICS"

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
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_OURS WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"; }  # peer centre req/s p50 p99
metric() { printf '%s\t%s\n' "$1" "$2" >>"$METRICS"; }
# Resident memory of a process as the targets count it: its anonymous memory plus the pages of
# the files it maps that it has touched (SQLite's memory-mapped database) — `Rss` of
# /proc/PID/smaps_rollup — and the anonymous part alone. → "rss-kB anon-kB"
rss_of() {
    awk '$1=="Rss:" {rss=$2} $1=="Anonymous:" {anon=$2} END {print rss, anon}' "/proc/$1/smaps_rollup"
}

[[ "${SKIP_BUILD:-0}" == 1 ]] || cargo build --release --quiet

# 1. The dataset: generated, then imported with our importer (the import is timed).
import_into() {  # database URL → "seconds peak-RSS-KB"
    local timing="$OUT/import-time.txt"
    CLINIC_FINDER_DATABASE_URL="$1" CLINIC_FINDER_LOG=warn /usr/bin/time -o "$timing" -f "%e %M" \
        "$BIN" import "$DATA" --trusted-source benchmark >"$OUT/import.log" 2>&1
    tail -1 "$OUT/import.log" >&2
    cat "$timing"
}
if [[ "${REUSE:-0}" == 1 && -f "$DB" ]]; then
    echo "== reusing $DB"
    IMPORT="- -"
else
    [[ -f "$DATA" ]] || "$BIN" generate --locations "$LOCATIONS" --providers "$PROVIDERS" --seed "$SEED" --output "$DATA"
    rm -f "$DB" "$DB-wal" "$DB-shm"
    echo "== importing $DATA into $DB"
    IMPORT=$(import_into "$DB")
    echo "import: ${IMPORT% *} s, peak RSS $(( ${IMPORT#* } / 1024 )) MB"
    metric import_sqlite_s "${IMPORT% *}"
    metric import_sqlite_peak_kb "${IMPORT#* }"
fi
COUNTED=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from locations').fetchone()[0])" "$DB")
echo "locations: $COUNTED"

# 2. Our server on SQLite: start-up time, memory, and wrk per centre.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_server() {  # database URL, extra env... → sets SERVER_PID and STARTUP
    local url=$1
    shift
    local started
    started=$(date +%s.%N)
    env CLINIC_FINDER_DATABASE_URL="$url" CLINIC_FINDER_BIND="127.0.0.1:$PORT" CLINIC_FINDER_LOG=warn \
        CLINIC_FINDER_CHANGE_FEED_MS=0 CLINIC_FINDER_RATE_LIMIT_PUBLIC=0 "$@" \
        "$BIN" serve >"$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    until curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
        sleep 0.05
    done
    STARTUP=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$started" "$(date +%s.%N)")
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
start_server "$DB"
SQLITE_STARTUP=$STARTUP
echo "start-up to ready: ${STARTUP} s"
metric startup_sqlite_s "$STARTUP"
read -r rss anon < <(rss_of "$SERVER_PID")
echo "resident memory when ready: $((rss / 1024)) MB ($((anon / 1024)) MB anonymous)"
metric rss_ready_kb "$rss"

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

ours_runs() {  # label
    for centre in "${CENTRES[@]}"; do
        IFS='|' read -r name lat lon <<<"$centre"
        url="http://127.0.0.1:$PORT/v1/search/locations?lat=$lat&lon=$lon&radius=25&treatment=chronic_migraine&sort=best&limit=20"
        visited=$(curl -fsS "$url" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["meta"]["candidates_visited"], len(b["results"]))')
        read -r rps p50 p99 < <(wrk_run "$name" "$url")
        echo "$1  $name: $rps req/s, p50 $p50 ms, p99 $p99 ms (visited, results: $visited)"
        record "$1" "$name" "$rps" "$p50" "$p99"
    done
}
ours_runs "ours (SQLite)"
read -r RSS_KB ANON_KB < <(rss_of "$SERVER_PID")
echo "ours: resident memory after the runs: $((RSS_KB / 1024)) MB ($((ANON_KB / 1024)) MB anonymous, $(((RSS_KB - ANON_KB) / 1024)) MB of mapped files touched)"
metric rss_kb "$RSS_KB"
metric rss_anon_kb "$ANON_KB"
if [[ "${FLAMEGRAPH:-0}" == 1 ]]; then
    command -v inferno-flamegraph >/dev/null 2>&1 || cargo install --quiet --locked inferno
    url="http://127.0.0.1:$PORT/v1/search/locations?lat=40.7549&lon=-73.9840&radius=25&treatment=chronic_migraine&sort=best&limit=20"
    wrk -t2 -c"$CONNECTIONS" -d12s "$url" >/dev/null &
    wrk_pid=$!
    # DWARF unwinding: a release build keeps no frame pointers, so `-g` would cut every stack
    # at the first inlined-away frame.
    perf record -F 499 --call-graph dwarf,16384 -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep 8 >/dev/null 2>&1
    wait "$wrk_pid"
    perf script -i "$OUT/perf.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph --title "Midtown search, $COUNTED locations" >"$OUT/flamegraph.svg"
    echo "flamegraph: $OUT/flamegraph.svg"
fi
stop_server

# 3. The HTTP ceiling here: actix-web answering /livez (a constant JSON body, nothing else).
start_server "$DB"
read -r rps p50 p99 < <(wrk_run ceiling "http://127.0.0.1:$PORT/livez")
echo "HTTP ceiling (/livez): $rps req/s"
metric ceiling_rps "$rps"
record "HTTP ceiling" "-" "$rps" "$p50" "$p99"
stop_server

if [[ "${PEERS:-1}" == 0 ]]; then
    echo "PEERS=0: skipping PostgreSQL, PostGIS and Redis"
else
# 3b. Our server on PostgreSQL: the same file imported with our importer (timed, the same path
# as on SQLite: validation, audit events, change-log rows), then served with the in-memory index.
echo "== ours on PostgreSQL"
psql "$PG_URL" -qc "CREATE DATABASE $PG_OURS" >/dev/null
OURS_URL="${PG_URL%/*}/$PG_OURS"
if [[ -f "$DATA" ]]; then
    echo "== importing $DATA into PostgreSQL"
    PG_IMPORT=$(import_into "$OURS_URL")
    echo "import into PostgreSQL: ${PG_IMPORT% *} s, peak RSS $(( ${PG_IMPORT#* } / 1024 )) MB"
    metric import_postgres_s "${PG_IMPORT% *}"
    metric import_postgres_peak_kb "${PG_IMPORT#* }"
else
    echo "no $DATA to import (REUSE=1 with the NDJSON file removed?)" >&2
    exit 1
fi
psql "$OURS_URL" -qc "ANALYZE" >/dev/null
start_server "$OURS_URL"
echo "start-up to ready on PostgreSQL: ${STARTUP} s"
metric startup_postgres_s "$STARTUP"
ours_runs "ours (PostgreSQL)"
stop_server
psql "$PG_URL" -qc "DROP DATABASE $PG_OURS WITH (FORCE)" >/dev/null

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

# 5b. The cost curve: the same queries at 10k and 100k locations (1M is the run above), each with
# its own generated and imported dataset, to show how latency grows with N and local density.
if [[ "${CURVE:-0}" == 1 ]]; then
    for size in 10000 100000; do
        curve_data="$OUT/curve-$size.ndjson"
        curve_db="$OUT/curve-$size.sqlite3"
        [[ -f "$curve_data" ]] || "$BIN" generate --locations "$size" --providers $((size / 2)) --seed "$SEED" --output "$curve_data" 2>/dev/null
        if [[ ! -f "$curve_db" ]]; then
            CLINIC_FINDER_DATABASE_URL="$curve_db" CLINIC_FINDER_LOG=warn "$BIN" import "$curve_data" --trusted-source benchmark >/dev/null
        fi
        start_server "$curve_db"
        for centre in "${CENTRES[@]}"; do
            IFS='|' read -r name lat lon <<<"$centre"
            url="http://127.0.0.1:$PORT/v1/search/locations?lat=$lat&lon=$lon&radius=25&treatment=chronic_migraine&sort=best&limit=20"
            visited=$(curl -fsS "$url" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["meta"]["candidates_visited"])')
            read -r rps p50 p99 < <(wrk_run "$name" "$url")
            echo "curve $size $name: $rps req/s, p50 $p50 ms, p99 $p99 ms ($visited visited)"
            record "curve $size" "$name" "$rps" "$p50" "$p99"
        done
        stop_server
    done
fi

# 6. The tables: every figure side by side, then the issue's targets with PASS/FAIL.
python3 bench/table.py "$RESULTS" "$METRICS" "$COUNTED" "$PROVIDERS"
