#!/usr/bin/env python3
"""Three API processes on a primary and its streaming replica, with shared rate limits in Redis.

Started by tests/replica/run (which sets up PostgreSQL and Redis and passes them in REPLICA_*
variables). Python standard library only. Every check asserts what a client sees; any failure
exits non-zero with the reason, and nothing is skipped.
"""

import json
import math
import os
import random
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

BINARY = os.environ["REPLICA_BINARY"]
PRIMARY_URL = os.environ["REPLICA_PRIMARY_URL"]
REPLICA_URL = os.environ["REPLICA_REPLICA_URL"]
REPLICA_PORT = os.environ["REPLICA_PORT"]
REPLICA_DIR = os.environ["REPLICA_DATA_DIR"]
REPLICA_LOG = os.environ["REPLICA_LOG"]
REDIS_PORT = os.environ["REPLICA_REDIS_PORT"]
WORK = os.environ["REPLICA_WORK"]
PG_CTL = "/usr/lib/postgresql/15/bin/pg_ctl"

ADMIN_KEY = "replica-admin-" + secrets.token_hex(20)
METRICS_TOKEN = "replica-metrics-" + secrets.token_hex(20)
PUBLIC_LIMIT = 60  # requests a minute per client address: one token back a second
MAX_LAG_MS = 5000
# The stated bound: a write acknowledged by process 1 is in the search of processes 2 and 3
# within this long (the change feed polls every 500 ms by default, REPLICA_CHANGE_FEED_MS to
# change it; replication on this machine takes milliseconds).
PROPAGATION_BOUND_S = 3.0
FEED_MS = os.environ.get("REPLICA_CHANGE_FEED_MS", "500")
WRITES = 50


def fail(message):
    print(f"replica: FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def say(message):
    print(f"replica: {message}", flush=True)


def check(condition, message):
    if not condition:
        fail(message)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def some_client():
    """A client address of its own (the processes trust 127.0.0.1 as a proxy), so that polling
    is never rate limited; the rate-limit checks use fixed addresses."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def http(method, url, body=None, headers=None, client=None):
    """(status, headers, parsed JSON or text)."""
    headers = dict(headers or {})
    headers.setdefault("X-Forwarded-For", client or some_client())
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, reply, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, reply, raw = error.code, error.headers, error.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, reply, json.loads(text) if text else None
    except ValueError:
        return status, reply, text


def as_postgres(command):
    return subprocess.run(
        ["su", "postgres", "-s", "/bin/bash", "-c", command],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def replica_sql(sql):
    return as_postgres(f"psql -h 127.0.0.1 -p {REPLICA_PORT} -qAtc \"{sql}\"")


class Api:
    def __init__(self, name, replica, redis_port):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            {
                "CLINIC_FINDER_DATABASE_URL": PRIMARY_URL,
                "CLINIC_FINDER_BIND": f"127.0.0.1:{self.port}",
                "CLINIC_FINDER_ADMIN_KEY": ADMIN_KEY,
                "CLINIC_FINDER_METRICS_TOKEN": METRICS_TOKEN,
                "CLINIC_FINDER_LOG": "warn",
                "CLINIC_FINDER_WORKERS": "2",
                "CLINIC_FINDER_POOL_SIZE": "4",
                "CLINIC_FINDER_TRUSTED_PROXIES": "127.0.0.1",
                "CLINIC_FINDER_RATE_LIMIT_PUBLIC": str(PUBLIC_LIMIT),
                "CLINIC_FINDER_RATE_LIMIT_STAFF": "0",
                "CLINIC_FINDER_MAX_REPLICA_LAG_MS": str(MAX_LAG_MS),
                "CLINIC_FINDER_REDIS_URL": f"redis://127.0.0.1:{redis_port}",
                "CLINIC_FINDER_CHANGE_FEED_MS": FEED_MS,
            }
        )
        if replica:
            env["CLINIC_FINDER_READ_DATABASE_URL"] = REPLICA_URL
        self.log = open(os.path.join(WORK, f"{name}.log"), "w")
        self.process = subprocess.Popen(
            [BINARY, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def url(self, path):
        return self.base + path

    def get(self, path, **kwargs):
        return http("GET", self.url(path), **kwargs)

    def admin(self, method, path, body=None, headers=None):
        headers = {"Authorization": f"Bearer {ADMIN_KEY}", **(headers or {})}
        return http(method, self.url(path), body=body, headers=headers)

    def wait_ready(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"{self.name} exited ({self.process.returncode}); see {self.log.name}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        fail(f"{self.name} did not become ready")

    def readyz(self):
        status, _, body = self.get("/readyz")
        check(status == 200, f"{self.name} /readyz answered {status}: {body}")
        return body

    def metrics(self):
        status, _, body = self.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        check(status == 200, f"{self.name} /metrics answered {status}")
        return {
            line.split()[0]: line.split()[1]
            for line in body.splitlines()
            if line and not line.startswith("#")
        }

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait_until(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    fail(f"timed out after {timeout} s waiting until {what}")


def percentile(values, fraction):
    """Nearest rank: of 50 values, p99 is the largest and p50 the 25th."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


# --- the subject: a verified provider and where to search for it ------------------------------


def find_subject(writer):
    status, _, page = writer.get("/v1/search/providers?postal_code=10001&radius=50&limit=10")
    check(status == 200 and page["results"], f"no provider near 10001 to work with: {status}")
    result = page["results"][0]
    provider = result["provider"]
    coordinates = result["location"]["coordinates"]
    query = (
        f"/v1/search/providers?lat={coordinates['lat']}&lon={coordinates['lon']}&radius=1"
        f"&limit=50&q={urllib.request.quote(provider['family_name'])}"
    )
    return provider["id"], query, result["location"]["clinic"]["id"]


def listed(api, query, provider_id):
    status, _, page = api.get(query)
    check(status == 200, f"{api.name} search answered {status}: {page}")
    return any(r["provider"]["id"] == provider_id for r in page["results"])


def transition(writer, provider_id, to):
    status, headers, _ = writer.admin("GET", f"/v1/admin/providers/{provider_id}")
    check(status == 200, f"admin read of provider {provider_id}: {status}")
    status, _, body = writer.admin(
        "POST",
        f"/v1/admin/providers/{provider_id}/transitions",
        body={"to": to, "reason": f"replica suite: {to}"},
        headers={"If-Match": headers["ETag"]},
    )
    check(status == 200, f"transition to {to}: {status} {body}")


def visible_everywhere(readers, query, provider_id, want, started):
    """Seconds until every reader's search shows (or no longer shows) the provider; on the first
    sight, the same process's public profile (read from the replica) must agree."""
    seen = {}
    deadline = started + 30
    while len(seen) < len(readers):
        check(time.monotonic() < deadline, f"provider {provider_id} listed={want} not seen in 30 s")
        for api in readers:
            if api.name in seen or listed(api, query, provider_id) != want:
                continue
            seen[api.name] = time.monotonic() - started
            status = api.get(f"/v1/providers/{provider_id}")[0]
            check(
                status == (200 if want else 404),
                f"{api.name}'s search listed={want} before its replica had the row "
                f"(public profile from the replica: {status})",
            )
        time.sleep(0.02)
    return max(seen.values())


# --- the checks ---------------------------------------------------------------------------------


def propagation(writer, readers, subject):
    provider_id, query, _ = subject
    check(all(listed(api, query, provider_id) for api in [writer] + readers), "subject not listed")
    appear, leave = [], []
    for _ in range(WRITES):
        transition(writer, provider_id, "suspended")
        leave.append(visible_everywhere(readers, query, provider_id, False, time.monotonic()))
        transition(writer, provider_id, "verified")
        appear.append(visible_everywhere(readers, query, provider_id, True, time.monotonic()))
    for name, values in [("appear in", appear), ("leave", leave)]:
        p50, p99 = percentile(values, 0.50) * 1000, percentile(values, 0.99) * 1000
        say(
            f"propagation over {WRITES} writes through process 1 (to {name} the search of "
            f"processes 2 and 3, change feed every {FEED_MS} ms): p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(values) * 1000:.0f} ms"
        )
        check(
            p99 / 1000 <= PROPAGATION_BOUND_S,
            f"p99 {p99:.0f} ms is past the stated bound of {PROPAGATION_BOUND_S} s",
        )


def never_before_the_replica(apis, subject):
    writer, second, third = apis
    provider_id, query, clinic_id = subject
    replica_sql("SELECT pg_wal_replay_pause()")
    try:
        # The writing client writes through process 2 and reads its write back through process 3.
        status, headers, clinic = second.get(f"/v1/clinics/{clinic_id}")
        check(status == 200, f"clinic {clinic_id}: {status}")
        old_name, new_name = clinic["name"], f"Replica Suite Clinic {secrets.token_hex(3)}"
        status, _, body = second.admin(
            "PATCH",
            f"/v1/clinics/{clinic_id}",
            body={"name": new_name},
            headers={"If-Match": headers["ETag"]},
        )
        check(status == 200, f"clinic rename through process 2: {status} {body}")
        transition(writer, provider_id, "suspended")
        check(not listed(writer, query, provider_id), "the writer's own search still lists it")
        for api in (second, third):
            own = api.get(f"/v1/clinics/{clinic_id}", headers={"Consistency": "primary"})
            check(own[2]["name"] == new_name, f"Consistency: primary on {api.name}: {own[2]}")
            keyed = api.admin("GET", f"/v1/clinics/{clinic_id}")
            check(keyed[2]["name"] == new_name, f"an admin key's read on {api.name}: {keyed[2]}")
        time.sleep(2.5)  # five change-feed polls, well inside the lag bound
        for api in (second, third):
            stale = api.get(f"/v1/clinics/{clinic_id}")
            check(stale[2]["name"] == old_name, f"{api.name} did not read from the replica")
            check(
                listed(api, query, provider_id),
                f"{api.name} applied a change its replica does not have yet",
            )
            state = api.readyz()["replica"]
            check(state["state"] == "in_use" and state["lag_ms"] > 0, f"replay paused: {state}")
        bad = second.get(f"/v1/clinics/{clinic_id}", headers={"Consistency": "strong"})
        check(bad[0] == 422, f"Consistency: strong answered {bad[0]}")
        say(
            "replay paused 2.5 s: processes 2 and 3 kept the replica's view (search and reads); "
            "Consistency: primary and an admin key read the write back at once"
        )
        # Past the lag bound, reads (and the feed) move to the primary.
        for api in (second, third):
            state = wait_until(
                f"{api.name} reports the replica lagging",
                lambda api=api: (lambda r: r if r["state"] == "lagging" else None)(
                    api.readyz()["replica"]
                ),
                MAX_LAG_MS / 1000 + 10,
            )
            check(state["lag_ms"] > MAX_LAG_MS, f"lagging below the bound: {state}")
            fresh = api.get(f"/v1/clinics/{clinic_id}")
            check(fresh[2]["name"] == new_name, f"{api.name} still reads the lagging replica")
            check(api.metrics().get("db_replica_in_use") == "0", f"{api.name} metrics")
        visible_everywhere([second, third], query, provider_id, False, time.monotonic())
        say(
            f"replay paused past the {MAX_LAG_MS} ms bound: /readyz 200 with {state}; processes 2 "
            "and 3 read from the primary and their search caught up from it"
        )
    finally:
        replica_sql("SELECT pg_wal_replay_resume()")
    started = time.monotonic()
    for api in (second, third):
        wait_until(
            f"{api.name} returns to the replica",
            lambda api=api: api.readyz()["replica"]["state"] == "in_use",
            60,
        )
    say(f"replay resumed: processes 2 and 3 back on the replica in {time.monotonic() - started:.1f} s")
    transition(writer, provider_id, "verified")
    visible_everywhere([second, third], query, provider_id, True, time.monotonic())


def failover(apis, subject):
    writer, second, third = apis
    provider_id, query, _ = subject
    as_postgres(f"{PG_CTL} -D {REPLICA_DIR} -m fast -w stop")
    say("replica stopped")
    failures, answered = [], 0
    until = time.monotonic() + 3
    while time.monotonic() < until:
        for api in (second, third):
            for path in (f"/v1/providers/{provider_id}", "/v1/clinics?limit=5", query):
                status = api.get(path)[0]
                answered += 1
                if status != 200:
                    failures.append((api.name, path, status))
    check(not failures, f"requests failed while the replica was down: {failures[:5]}")
    for api in (second, third):
        state = wait_until(
            f"{api.name} reports the replica down",
            lambda api=api: (lambda r: r if r["state"] == "down" else None)(api.readyz()["replica"]),
            10,
        )
        check(api.metrics().get("db_replica_in_use") == "0", f"{api.name} metrics: replica in use")
    say(f"replica down: {answered} reads on processes 2 and 3, all 200; /readyz: 200 with {state}")
    # Writes still reach the search of processes 2 and 3 (their feed now polls the primary).
    transition(writer, provider_id, "suspended")
    took = visible_everywhere([second, third], query, provider_id, False, time.monotonic())
    transition(writer, provider_id, "verified")
    took = max(took, visible_everywhere([second, third], query, provider_id, True, time.monotonic()))
    say(f"replica down: writes reached processes 2 and 3 through the primary in {took * 1000:.0f} ms")
    as_postgres(f"{PG_CTL} -D {REPLICA_DIR} -l {REPLICA_LOG} -w start")
    started = time.monotonic()
    for api in (second, third):
        wait_until(
            f"{api.name} returns to the replica",
            lambda api=api: api.readyz()["replica"]["state"] == "in_use",
            60,
        )
        lag = float(api.metrics()["db_replica_lag_seconds"])
        check(lag == lag and lag * 1000 <= MAX_LAG_MS, f"{api.name} lag gauge: {lag}")
    say(f"replica restarted: processes 2 and 3 back on it after {time.monotonic() - started:.1f} s")


def cursors(apis):
    _, second, third = apis
    first = second.get("/v1/search/providers?postal_code=10001&radius=100&limit=2")
    check(first[0] == 200 and first[2].get("next_cursor"), f"no cursor from process 2: {first}")
    cursor = first[2]["next_cursor"]
    page = third.get(
        "/v1/search/providers?postal_code=10001&radius=100&limit=2&cursor="
        + urllib.request.quote(cursor)
    )
    check(page[0] == 200, f"process 3 refused process 2's cursor: {page[0]} {page[2]}")
    ids = lambda p: [r["provider"]["id"] for r in p["results"]]  # noqa: E731
    check(set(ids(page[2])).isdisjoint(ids(first[2])), "process 3's next page repeats page one")
    forged = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    bad = third.get(
        "/v1/search/providers?postal_code=10001&radius=100&limit=2&cursor=" + forged
    )
    check(bad[0] == 422, f"a forged cursor answered {bad[0]}")
    say("a cursor issued by process 2 is accepted by process 3 (and a forged one refused)")


def burst(apis, client, per_process):
    """Sends per_process requests to each process, interleaved; (allowed, refused, other, secs)."""
    counts = {"allowed": 0, "refused": 0, "other": []}
    started = time.monotonic()
    for _ in range(per_process):
        for api in apis:
            status = api.get("/v1/treatments", client=client)[0]
            if status == 200:
                counts["allowed"] += 1
            elif status == 429:
                counts["refused"] += 1
            else:
                counts["other"].append(status)
    return counts["allowed"], counts["refused"], counts["other"], time.monotonic() - started


def shared_limits(apis):
    n = 40
    allowed, refused, other, took = burst(apis, "203.0.113.10", n)
    check(not other, f"unexpected statuses: {other}")
    refill = int(took) + 1  # one token a second comes back
    say(
        f"Redis up: 3 processes x {n} requests from one address, limit {PUBLIC_LIMIT}/min: "
        f"{allowed} allowed, {refused} refused (429) in {took:.1f} s"
    )
    check(
        PUBLIC_LIMIT <= allowed <= PUBLIC_LIMIT + refill,
        f"the three processes allowed {allowed}, not one bucket of {PUBLIC_LIMIT} (+{refill})",
    )
    subprocess.run(["redis-cli", "-p", REDIS_PORT, "shutdown", "nosave"], capture_output=True)
    say("Redis stopped")
    n = 80
    allowed, refused, other, took = burst(apis, "203.0.113.11", n)
    check(not other, f"requests failed with Redis down: {other}")
    refill = 3 * (int(took) + 1)
    say(
        f"Redis down: 3 processes x {n} requests from one address: {allowed} allowed, "
        f"{refused} refused (429) in {took:.1f} s (per-process buckets)"
    )
    check(
        3 * PUBLIC_LIMIT <= allowed <= 3 * PUBLIC_LIMIT + refill,
        f"{allowed} allowed: not one bucket of {PUBLIC_LIMIT} per process",
    )
    for api in apis:
        check(api.readyz()["rate_limits"] == "per_process", f"{api.name} /readyz with Redis down")
    subprocess.run(
        [
            "redis-server", "--port", REDIS_PORT, "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "yes", "--dir", WORK,
            "--logfile", os.path.join(WORK, "redis.log"),
        ],
        check=True,
        capture_output=True,
    )
    time.sleep(5.5)  # the circuit breaker's retry interval
    for api in apis:
        wait_until(
            f"{api.name} shares its limits again",
            lambda api=api: api.get("/v1/treatments", client="203.0.113.12")[0] == 200
            and api.readyz()["rate_limits"] == "shared",
            15,
        )
    n = 40
    allowed, refused, other, took = burst(apis, "203.0.113.13", n)
    check(not other, f"unexpected statuses: {other}")
    say(f"Redis back: 3 processes x {n} requests: {allowed} allowed, {refused} refused (429)")
    check(PUBLIC_LIMIT <= allowed <= PUBLIC_LIMIT + int(took) + 1, f"{allowed} allowed")


def main():
    apis = [Api("process-1", replica=False, redis_port=REDIS_PORT)]
    try:
        apis[0].wait_ready()
        apis += [Api(f"process-{n}", replica=True, redis_port=REDIS_PORT) for n in (2, 3)]
        for api in apis[1:]:
            api.wait_ready()
            wait_until(
                f"{api.name} reads from the replica",
                lambda api=api: api.readyz()["replica"]["state"] == "in_use",
                30,
            )
        say(f"3 processes up; processes 2 and 3 read from the replica: {apis[1].readyz()}")
        subject = find_subject(apis[0])
        propagation(apis[0], apis[1:], subject)
        never_before_the_replica(apis, subject)
        cursors(apis)
        failover(apis, subject)
        shared_limits(apis)
        for api in apis:
            check(api.process.poll() is None, f"{api.name} died; see {api.log.name}")
    finally:
        for api in apis:
            api.stop()
    print("replica: 6 passed, 0 failed")


if __name__ == "__main__":
    main()
