"""Generates the Python clients of tests/e2e/python from openapi/openapi.json, and fails on any
warning a generator prints that is not accepted below with its reason.

    python generate.py <spec> <output dir> --python-client <venv> [--openapi-generator <venv>]

Writes <output dir>/cf_python_client (openapi-python-client) and, with --openapi-generator,
<output dir>/cf_openapi_generator (openapi-generator's `python` generator; needs Java 11+).
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

# Warnings accepted, each with why: what the generator reports and why the client is still right.
ACCEPTED = {
    "openapi-generator": [
        (
            r"OpenAPI 3\.1 support is still in beta",
            "printed for every OpenAPI 3.1 document; the document is 3.1 (utoipa 5 writes 3.1), and "
            "the generated client is exercised end to end below",
        ),
        (
            r"Failed to get the schema name: null",
            "openapi-generator 7's 3.1 parser logs it for inline schemas without a $ref (nullable "
            "type lists); its count varies from run to run on the same document, and no model or "
            "operation is missing from the client (the program below uses the search, the profile "
            "and the problem models)",
        ),
    ],
    "openapi-python-client": [],
}


def check(tool, lines):
    unaccepted = []
    counts = {}
    for line in lines:
        for pattern, _reason in ACCEPTED[tool]:
            if re.search(pattern, line):
                counts[pattern] = counts.get(pattern, 0) + 1
                break
        else:
            unaccepted.append(line)
    for pattern, count in counts.items():
        print(f"generate: {tool}: {count} accepted warning(s) /{pattern}/")
    print(f"generate: {tool}: {sum(counts.values()) + len(unaccepted)} warning(s), {len(unaccepted)} not accepted")
    for line in unaccepted:
        print(f"generate: {tool}: UNACCEPTED WARNING: {line}", file=sys.stderr)
    return not unaccepted


def python_client(spec, out, venv):
    config = out / "openapi-python-client.yaml"
    config.write_text("package_name_override: cf_python_client\nproject_name_override: cf-python-client\n")
    target = out / "cf_python_client"
    # ruff, which formats the generated code, is in the venv's bin.
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin"}
    result = subprocess.run(
        [f"{venv}/bin/openapi-python-client", "generate", "--path", str(spec), "--output-path",
         str(target), "--meta", "none", "--config", str(config), "--overwrite"],
        capture_output=True, text=True, env=env,
    )
    output = (result.stdout + result.stderr).splitlines()
    if result.returncode != 0 or not (target / "client.py").exists():
        print("\n".join(output), file=sys.stderr)
        sys.exit("generate: openapi-python-client failed")
    # It reports problems as a block after "Warning(s) encountered while generating".
    warnings, collecting = [], False
    for line in output:
        if "Warning(s) encountered" in line:
            collecting = True
            continue
        if collecting and line.strip() and not line.startswith("If you believe this was a mistake"):
            warnings.append(line.strip())
    return check("openapi-python-client", warnings)


def openapi_generator(spec, out, venv):
    target = out / "openapi-generator"
    result = subprocess.run(
        [f"{venv}/bin/openapi-generator-cli", "generate", "-i", str(spec), "-g", "python", "-o",
         str(target), "--package-name", "cf_openapi_generator"],
        capture_output=True, text=True,
    )
    output = (result.stdout + result.stderr).splitlines()
    if result.returncode != 0 or not (target / "cf_openapi_generator" / "__init__.py").exists():
        print("\n".join(output), file=sys.stderr)
        sys.exit("generate: openapi-generator failed")
    (out / "cf_openapi_generator").symlink_to(target / "cf_openapi_generator")
    warnings = [line for line in output if re.search(r"\bWARN(ING)?\b", line)]
    return check("openapi-generator", warnings)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--python-client", required=True)
    parser.add_argument("--openapi-generator")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ok = python_client(args.spec.resolve(), args.out, args.python_client)
    if args.openapi_generator:
        ok = openapi_generator(args.spec.resolve(), args.out, args.openapi_generator) and ok
    if not ok:
        sys.exit("generate: a generator printed warnings not accepted in tests/e2e/python/generate.py")


if __name__ == "__main__":
    main()
