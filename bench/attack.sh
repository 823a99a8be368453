#!/usr/bin/env bash
# Figures for the attacks of docs/security.md ("The adversarial suite") against the real binary:
# resident memory before and after 2,000 requests with invented 20 KB methods; pool checkouts
# for 500 invented bearer tokens from one address; and, on 100,000 locations, what eight client
# loops of a nothing-matching search at 300 km do to /livez. Prints figures; asserts nothing.
#
# Env: BIN (default target/release/clinic-finder, built if missing; BIN=target/debug/clinic-finder
# to reuse the test build), REQUESTS (2000), METHOD_BYTES (20000).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-target/release/clinic-finder}"
REQUESTS="${REQUESTS:-2000}"
METHOD_BYTES="${METHOD_BYTES:-20000}"
[[ -x "$BIN" ]] || cargo build --release
OUT=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
TOKEN=bench-metrics-token-0123456789abcdef0123
CLINIC_FINDER_DATABASE_URL="$OUT/attack.sqlite3" CLINIC_FINDER_BIND="127.0.0.1:$PORT" \
    CLINIC_FINDER_LOG=warn CLINIC_FINDER_METRICS_TOKEN="$TOKEN" CLINIC_FINDER_RATE_LIMIT_PUBLIC=0 \
    CLINIC_FINDER_CHANGE_FEED_MS=0 "$BIN" serve >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && break; sleep 0.1; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
series() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" | grep -c '^http_requests_total{' || true; }
checkouts() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" | awk '/^db_connection_checkouts_total/ {print $2}'; }

before=$(rss); series_before=$(series)
python3 - "$PORT" "$REQUESTS" "$METHOD_BYTES" <<'PY'
import socket, sys
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    method = "N" + "A" * size + str(i)
    s.sendall(f"{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
PY
after=$(rss); series_after=$(series)
echo "invented methods: $REQUESTS requests of $METHOD_BYTES bytes: RSS ${before} kB -> ${after} kB ($(( (after - before) / 1024 )) MB), request series ${series_before} -> ${series_after}"

c0=$(checkouts)
for i in $(seq 1 500); do
    curl -s -o /dev/null -H "Authorization: Bearer cf_invented$(printf %08d "$i")xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
        "http://127.0.0.1:$PORT/v1/admin/keys"
done
c1=$(checkouts)
echo "invented bearer tokens: 500 requests (public limit off): $(( c1 - c0 )) pool checkouts ($(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", (b - a) / 500}') per request)"

# 3. Nothing-matching searches at the largest radius on 100,000 locations, eight loops at once,
#    while /livez is timed.
kill "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
GRID="$OUT/grid.sqlite3"
CLINIC_FINDER_DATABASE_URL="$GRID" CLINIC_FINDER_LOG=warn "$BIN" migrate >/dev/null
python3 - "$GRID" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
at = "2026-01-01 00:00:00"
c.execute("INSERT INTO clinics (name, created_at, updated_at) VALUES ('Grid clinic', ?, ?)", (at, at))
clinic = c.execute("SELECT max(id) FROM clinics").fetchone()[0]
c.executemany(
    "INSERT INTO locations (clinic_id, address_line1, city, state, postal_code, latitude, longitude,"
    " timezone, opening_hours, created_at, updated_at) VALUES (?, 'Grid', 'Grid', 'NY', '10001', ?, ?,"
    " 'America/New_York', '{}', ?, ?)",
    ((clinic, 40.0 + (i % 300) * 0.004, -73.9 + (i // 300) * 0.004, at, at) for i in range(100_000)))
c.execute("INSERT INTO providers (npi, given_name, family_name, degree, primary_specialty_code,"
          " practice_start_year, vetting_status, created_at, updated_at)"
          " VALUES ('1000000004', 'Grid', 'Provider', 'MD', '2084N0400X', 2010, 'verified', ?, ?)", (at, at))
provider = c.execute("SELECT max(id) FROM providers").fetchone()[0]
c.execute("INSERT INTO credentials (provider_id, kind, issuer, jurisdiction, expires_on, verification_status,"
          " verified_at, created_at, updated_at) VALUES (?, 'state_license', 'Board', 'NY', '2099-12-31',"
          " 'verified', ?, ?, ?)", (provider, at, at, at))
c.execute("INSERT INTO provider_locations (provider_id, location_id, created_at) SELECT ?, id, ? FROM locations",
          (provider, at))
c.commit()
PY
CLINIC_FINDER_DATABASE_URL="$GRID" CLINIC_FINDER_BIND="127.0.0.1:$PORT" CLINIC_FINDER_LOG=warn \
    CLINIC_FINDER_RATE_LIMIT_PUBLIC=0 "$BIN" serve >"$OUT/grid.log" 2>&1 &
PID=$!
for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
SEARCH="http://127.0.0.1:$PORT/v1/search/locations?lat=40.6&lon=-73.3&radius=300&limit=50&q=qzxq"
curl -fsS "$SEARCH" | python3 -c '
import json, sys
meta = json.load(sys.stdin)["meta"]
print("nothing-matching search: %d candidates visited, partial=%s, complete within %.1f km"
      % (meta["candidates_visited"], meta["partial"], meta.get("complete_within_km", 0)))'
one=$(curl -s -o /dev/null -w '%{time_total}' "$SEARCH")
echo "one such search alone: ${one} s"
for loop in $(seq 1 8); do
    ( end=$((SECONDS + 10)); n=0; while (( SECONDS < end )); do curl -s -o /dev/null "$SEARCH"; n=$((n + 1)); done; echo "$n" >"$OUT/loop$loop" ) &
done
sleep 1
for i in $(seq 1 40); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT/livez"; sleep 0.2; done >"$OUT/livez"
wait $(jobs -p | grep -v "^$PID$") 2>/dev/null || true
searches=$(cat "$OUT"/loop* | awk '{s += $1} END {print s}')
sort -n "$OUT/livez" | awk -v searches="$searches" '{a[NR] = $1} END {printf "under 8 search loops (%d searches in 10 s): /livez p50 %.1f ms, max %.1f ms\n", searches, a[int(NR / 2)] * 1000, a[NR] * 1000}'
