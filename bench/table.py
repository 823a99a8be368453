#!/usr/bin/env python3
"""The tables `bench/run.sh` prints: every figure side by side (ratios ours ÷ peer), then the
targets of issue 16 with the measured figure and PASS / FAIL per line.

    python3 bench/table.py RESULTS.tsv METRICS.tsv LOCATIONS PROVIDERS

RESULTS: "peer<TAB>centre<TAB>req/s<TAB>p50 ms<TAB>p99 ms" a line; METRICS: "name<TAB>value".
A target whose figure was not measured in this run (PEERS=0, REUSE=1) says so instead of
passing or failing. The targets are set at 1,000,000 locations / 500,000 providers: at another
scale the table says so on every line that depends on it.
"""
import csv
import sys

results_path, metrics_path, locations, providers = sys.argv[1:5]
locations, providers = int(locations), int(providers)
rows = list(csv.reader(open(results_path), delimiter="\t"))
metrics = {}
for line in open(metrics_path):
    name, _, value = line.rstrip("\n").partition("\t")
    if value not in ("", "-"):
        metrics[name] = float(value)

CENTRES = ["Manhattan", "Paterson NJ", "rural SD", "Columbus OH"]
DENSE = ["Manhattan", "Paterson NJ"]
SPARSE = ["rural SD", "Columbus OH"]
SQLITE, PG = "ours (SQLite)", "ours (PostgreSQL)"
PGBENCH, REDIS = "PostGIS KNN (pgbench)", "Redis GEOSEARCH"


def by_centre(peer, column):
    return {r[1]: float(r[column]) for r in rows if r[0] == peer and r[column] not in ("", "-")}


ours = by_centre(SQLITE, 2)
ours_p99 = by_centre(SQLITE, 4)
pgbench = by_centre(PGBENCH, 2)
ceiling = next((float(r[2]) for r in rows if r[0] == "HTTP ceiling"), None)


def fmt_s(name):
    return f"{metrics[name]:.1f} s" if name in metrics else "not run"


rss = metrics.get("rss_kb")
rss_text = f"RSS {rss / 1024:,.0f} MB" if rss else "RSS -"
ceiling_text = f"HTTP ceiling {ceiling:,.0f} req/s" if ceiling else "HTTP ceiling -"
print(f"\n{locations:,} locations, {providers:,} providers; import into SQLite {fmt_s('import_sqlite_s')}, "
      f"into PostgreSQL {fmt_s('import_postgres_s')}; start-up {fmt_s('startup_sqlite_s')}; "
      f"{rss_text}; {ceiling_text}\n")

print("| peer | " + " | ".join(CENTRES) + " |")
print("|---|" + "---|" * len(CENTRES))
for peer in [SQLITE, PG, PGBENCH, REDIS]:
    if not any(r[0] == peer for r in rows):
        continue
    cells = []
    for centre in CENTRES:
        row = next((r for r in rows if r[0] == peer and r[1] == centre), None)
        if row is None:
            cells.append("-")
            continue
        rate = float(row[2])
        cell = f"{rate:,.0f}/s, p99 {row[4]} ms" if row[4] != "-" else f"{rate:,.0f}/s, mean {row[3]} ms"
        if not peer.startswith("ours") and centre in ours:
            cell += f" (ours ÷ peer: {ours[centre] / rate:.1f}×)"
        if peer.startswith("ours (PostgreSQL") and centre in pgbench:
            cell += f" (÷ pgbench: {rate / pgbench[centre]:.2f}×)"
        cells.append(cell)
    print(f"| {peer} | " + " | ".join(cells) + " |")

curve = [r for r in rows if r[0].startswith("curve ")]
if curve:
    print("\nCost curve (ours, SQLite; req/s and p99 ms):\n")
    print("| locations | " + " | ".join(CENTRES) + " |")
    print("|---|" + "---|" * len(CENTRES))
    for label in sorted({r[0] for r in curve}, key=lambda l: int(l.split()[1])) + [SQLITE]:
        size = label.split()[1] if label.startswith("curve") else f"{locations:,}"
        cells = []
        for centre in CENTRES:
            row = next((r for r in rows if r[0] == label and r[1] == centre), None)
            cells.append(f"{float(row[2]):,.0f}/s, p99 {row[4]}" if row else "-")
        print(f"| {size} | " + " | ".join(cells) + " |")

# The targets (issue 16). Each line: what, target text, measured text, verdict.
at_scale = locations == 1_000_000 and providers == 500_000
scale_note = "" if at_scale else f" (at {locations:,}/{providers:,}, not the target's 1M/500k)"
lines = []


def verdict(ok):
    return "not measured" if ok is None else ("PASS" if ok else "FAIL")


def ratio_line(what, target, centres, numerator, denominator, bound):
    figures, oks = [], []
    for centre in centres:
        if centre in numerator and centre in denominator and denominator[centre] > 0:
            value = numerator[centre] / denominator[centre]
            figures.append(f"{centre} {value:.2f}×")
            oks.append(value >= bound)
        else:
            figures.append(f"{centre} -")
            oks.append(None)
    ok = False if False in oks else (None if None in oks else True)
    lines.append((what, target, ", ".join(figures), verdict(ok)))


ratio_line("ours ÷ PostGIS KNN, dense", "≥ 10×", DENSE, ours, pgbench, 10)
ratio_line("ours ÷ PostGIS KNN, rural SD and Columbus", "≥ 2×", SPARSE, ours, pgbench, 2)
ceilings = {c: ceiling for c in CENTRES} if ceiling else {}
ratio_line("ours ÷ HTTP ceiling (/livez)", "≥ 0.25", CENTRES, ours, ceilings, 0.25)
p99_ok = [ours_p99[c] < 5 for c in CENTRES if c in ours_p99]
lines.append(("p99 at 32 connections, every centre", "< 5 ms",
              ", ".join(f"{c} {ours_p99[c]:.2f} ms" for c in CENTRES if c in ours_p99) or "-",
              verdict(all(p99_ok) if len(p99_ok) == len(CENTRES) else None)))


def threshold_line(what, target, name, bound, unit, scale=1.0, scaled=True):
    if name not in metrics:
        lines.append((what, target, "-", verdict(None)))
        return
    value = metrics[name] * scale
    text = f"{value:,.1f} {unit}" + (scale_note if scaled else "")
    ok = value < bound
    lines.append((what, target, text, verdict(ok) if (at_scale or not scaled) else
                  ("PASS at this scale" if ok else "FAIL at this scale")))


if rss:
    metrics["rss_mb"] = rss / 1024
    anon = metrics.get("rss_anon_kb", 0) / 1024
threshold_line("serving RSS (RssAnon + touched file mappings)", "< 400 MB", "rss_mb", 400, "MB")
if rss:
    what, target, text, v = lines[-1]
    lines[-1] = (what, target, text.replace(" MB", f" MB ({anon:,.0f} MB anonymous)", 1), v)
threshold_line("start-up to /readyz", "< 3 s", "startup_sqlite_s", 3, "s")
threshold_line("import into SQLite", "< 60 s", "import_sqlite_s", 60, "s")
threshold_line("import into PostgreSQL (our importer)", "< 120 s", "import_postgres_s", 120, "s")
lines.append(("`postgis` candidate mode ÷ PostGIS KNN, dense", "≥ 0.5× or removed",
              "removed (docs/benchmarks.md, issue 16 round two)", "PASS"))
lines.append(("answers identical (recall, early-stopping property tests)", "green",
              "cargo test --test search_recall (not run by the bench)", "see tests"))

print("\nAgainst the targets (issue 16; one run, a 2-core machine shared with other work: noisy):\n")
print("| what | target | measured | verdict |")
print("|---|---|---|---|")
for what, target, measured, result in lines:
    print(f"| {what} | {target} | {measured} | **{result}** |")
