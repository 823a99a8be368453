#!/usr/bin/env bash
# NPPES import benchmark (see docs/benchmarks.md): generates a synthetic 1,000,000-row file in
# the NPPES V2 format from the real header (tests/fixtures/nppes_sample.csv), then measures
#   1. scanning and filtering alone (a filter no row passes): MB/s;
#   2. the import of the matching providers (--botulinum-relevant: 300,000 individuals) into a
#      fresh SQLite database: wall time and peak RSS;
#   3. the same file again (nothing changes): wall time.
# Not part of `cargo test` or .ci/run.
#
# Overridable via env: ROWS (1000000), MATCHING (300000), SKIP_BUILD=1, KEEP_FILE=1 (reuse
# bench/out/npidata_pfile_synthetic.csv when it exists).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-1000000}"
MATCHING="${MATCHING:-300000}"
OUT=bench/out
FILE="$OUT/npidata_pfile_synthetic.csv"
DB="$OUT/nppes-bench.sqlite3"
BIN=target/release/clinic-finder
mkdir -p "$OUT"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "== building release binary"
    cargo build --release
fi

if [[ "${KEEP_FILE:-0}" == 1 && -s "$FILE" ]]; then
    echo "== reusing $FILE"
else
    echo "== generating $ROWS rows ($MATCHING matching) into $FILE"
    python3 - "$ROWS" "$MATCHING" "$FILE" <<'PY'
import csv, random, sys

rows, matching, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
random.seed(20261201)
header = next(csv.reader(open("tests/fixtures/nppes_sample.csv", newline="")))
at = {name: i for i, name in enumerate(header)}
zips = [line.split(",")[0] for line in open("assets/geo/us_zip_centroids.csv").read().splitlines()[1:]]
states = {}
# The state of a ZIP code, roughly, from its first three digits (enough for a benchmark).
def state_of(zip_code):
    p = int(zip_code[:3])
    for low, high, st in [(10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"), (50, 59, "VT"),
                          (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"),
                          (200, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"),
                          (290, 299, "SC"), (300, 319, "GA"), (320, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"),
                          (386, 397, "MS"), (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"),
                          (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"), (570, 577, "SD"), (580, 588, "ND"),
                          (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"),
                          (700, 714, "LA"), (716, 729, "AR"), (730, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"),
                          (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"), (870, 884, "NM"),
                          (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"),
                          (995, 999, "AK")]:
        if low <= p <= high:
            return st
    return "NY"
relevant = ["2084N0400X", "207N00000X", "208100000X", "208200000X", "207W00000X", "207Y00000X",
            "208800000X", "207L00000X", "2081P2900X", "363L00000X", "363A00000X"]
other = ["207Q00000X", "207R00000X", "122300000X", "208000000X", "163W00000X"]
given = ["ANA", "BEN", "CARA", "DAN", "EVA", "FAY", "GIL", "HUGO", "IRIS", "JOSE", "KIM", "LEO", "MAYA", "NOOR", "OMAR"]
family = ["SMITH", "OKAFOR", "NGUYEN", "GARCIA", "PATEL", "KOWALSKI", "O'BRIEN", "MULLER", "REYES", "COHEN", "KIM"]
credentials = ["MD", "M.D.", "DO", "MD, PHD", "NP-C", "PA-C", "FNP-BC", "MD MPH", ""]
streets = ["MAIN ST", "PARK AVE", "BROADWAY", "OAK ST", "ELM ST", "MARKET ST", "CENTER DR"]

def npi(base):
    digits = "80840" + f"{base:09d}"
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return f"{base:09d}{(10 - total % 10) % 10}"

empty = [""] * len(header)
with open(path, "w", newline="") as f:
    f.write(",".join(f'"{h}"' for h in header) + "\n")
    matching_rows = set(random.sample(range(rows), matching))
    for n in range(rows):
        row = list(empty)
        row[at["NPI"]] = npi(100_000_000 + n)
        if n % 100 == 99 and n not in matching_rows:
            row[at["NPI Deactivation Date"]] = "06/01/2025"
        else:
            individual = n in matching_rows or random.random() < 0.85
            zip_code = random.choice(zips)
            row[at["Entity Type Code"]] = "1" if individual else "2"
            if individual:
                row[at["Provider Last Name (Legal Name)"]] = random.choice(family)
                row[at["Provider First Name"]] = random.choice(given)
                row[at["Provider Middle Name"]] = random.choice(["", "A", "LEE"])
                row[at["Provider Credential Text"]] = random.choice(credentials)
                row[at["Provider Sex Code"]] = random.choice("MF")
            else:
                row[at["Provider Organization Name (Legal Business Name)"]] = f"{random.choice(family)} MEDICAL GROUP {n}"
            for kind in ("Mailing", "Practice Location"):
                prefix = f"Provider Business {kind} Address"
                line1 = f"Provider First Line Business {kind} Address"
                row[at[line1]] = f"{random.randint(1, 9999)} {random.choice(streets)}"
                row[at[f"{prefix} City Name"]] = "SOMEWHERE"
                row[at[f"{prefix} State Name"]] = state_of(zip_code)
                row[at[f"{prefix} Postal Code"]] = zip_code + f"{random.randint(0, 9999):04d}"
                row[at[f"{prefix} Country Code (If outside U.S.)"]] = "US"
                row[at[f"{prefix} Telephone Number"]] = f"{random.randint(200, 999)}555{random.randint(0, 9999):04d}"
            row[at["Provider Enumeration Date"]] = "05/21/2017"
            row[at["Last Update Date"]] = "07/28/2026"
            codes = [random.choice(relevant)] if n in matching_rows else [random.choice(other)]
            codes += random.sample(other, random.randint(0, 2))
            for slot, code in enumerate(dict.fromkeys(codes), start=1):
                row[at[f"Healthcare Provider Taxonomy Code_{slot}"]] = code
                row[at[f"Healthcare Provider Primary Taxonomy Switch_{slot}"]] = "Y" if slot == 1 else "N"
                if individual:
                    row[at[f"Provider License Number_{slot}"]] = f"L{random.randint(10000, 999999)}"
                    row[at[f"Provider License Number State Code_{slot}"]] = row[at["Provider Business Practice Location Address State Name"]]
        f.write(",".join(f'"{v}"' for v in row) + "\n")
PY
fi
ls -l "$FILE"

measure() { # label, then the command: wall time and peak RSS from GNU time
    local label="$1"; shift
    local report; report="$(mktemp)"
    /usr/bin/time -v "$@" 2>"$report" | tail -3
    grep -E "Elapsed \(wall clock\)|Maximum resident set size|User time|System time|Percent of CPU" "$report" | sed "s/^/$label: /"
    grep -E "^line" "$report" | head -3 || true
    rm -f "$report"
}

rm -f "$DB" "$DB-wal" "$DB-shm"
export CLINIC_FINDER_DATABASE_URL="$DB" CLINIC_FINDER_LOG=warn
"$BIN" migrate >/dev/null
echo "== 1. scan and filter (no row matches)"
measure scan "$BIN" import-nppes "$FILE" --taxonomy 000000000X || true
echo "== 2. import the matching providers into SQLite"
measure import "$BIN" import-nppes "$FILE" --botulinum-relevant || true
echo "== 3. the same file again"
measure rerun "$BIN" import-nppes "$FILE" --botulinum-relevant || true
ls -l "$DB"
