#!/usr/bin/env bash
# Figures for the attacks of docs/security.md ("The adversarial suite") against the real binary:
# resident memory before and after 2,000 requests with invented 20 KB methods, and pool
# checkouts for 500 invented bearer tokens from one address. Prints figures; asserts nothing.
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
