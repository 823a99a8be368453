"""Reads schemathesis's JUnit report and tells a finding from a crash of the tool itself.

Exit status: 0 when every case passed, 1 when schemathesis found a failure (a check failed on a
response of ours), 3 when the only problems are errors of schemathesis itself (e.g. hypothesis
crashing under threads: "AST constructor recursion depth mismatch"), which say nothing about the
service. .ci/run retries a crashed run once and fails on a finding at once.
"""

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

report_dir = Path(sys.argv[1])
reports = sorted(report_dir.glob("*.xml"))
if not reports:
    print(f"ci: schemathesis wrote no JUnit report in {report_dir}", file=sys.stderr)
    sys.exit(3)
cases = failures = errors = skipped = 0
for report in reports:
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        cases += 1
        name = case.get("name", "?")
        if case.find("failure") is not None:
            failures += 1
            print(f"ci: schemathesis FAILURE {name}: {case.find('failure').get('message', '')[:400]}")
        elif case.find("error") is not None:
            errors += 1
            print(f"ci: schemathesis ERROR (the tool, not a finding) {name}: "
                  f"{case.find('error').get('message', '')[:400]}")
        elif case.find("skipped") is not None:
            skipped += 1
print(f"ci: schemathesis report: {cases} operations, {failures} failed, {errors} errored, {skipped} skipped")
if failures:
    sys.exit(1)
if errors:
    sys.exit(3)
