"""Validates the FHIR facade's live resources against the FHIR R4 (4.0.1) models.

Usage: validate_fhir.py BASE_URL   (e.g. http://127.0.0.1:8080; the server holds demo data)

The models are those of the `fhir.resources` package 6.4.0, the last release whose default
package is R4 4.0.1 (7.x and later are R5, with R4B and STU3 subpackages: R4B is 4.3.0, not R4).
Parsing a resource with them checks every element name (unknown ones are refused), cardinality,
required elements, data types and primitive formats (ids, dates, URIs, codes...). They do not
check required value-set bindings, so this script checks the codes of the bindings the facade
uses (Bundle.type, Location.status, ...) itself.

It reads, through the API only: the CapabilityStatement; up to 5 pages of a Location
near-search (following `next` links); each Location read and its Organization; the PractitionerRole Bundle of each location
found; each role read; each Practitioner; and OperationOutcomes for a bad `near` and a missing
Practitioner. It prints the count of each resource type validated and exits non-zero on the first
failure.
"""

import collections
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from fhir.resources import __fhir_version__, construct_fhir_element

FHIR_JSON = "application/fhir+json"
validated = collections.Counter()

# Required bindings (R4) for the coded elements the facade fills.
REQUIRED_CODES = {
    ("Bundle", "type"): {"searchset"},
    ("Location", "status"): {"active", "suspended", "inactive"},
    ("Location", "mode"): {"instance", "kind"},
    ("CapabilityStatement", "status"): {"draft", "active", "retired", "unknown"},
    ("CapabilityStatement", "kind"): {"instance", "capability", "requirements"},
    ("CapabilityStatement", "fhirVersion"): {"4.0.1"},
}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store", "exception",
    "timeout", "incomplete", "throttled", "informational",
}
DAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
ADDRESS_USE = {"home", "work", "temp", "old", "billing"}
ADDRESS_TYPE = {"postal", "physical", "both"}
CONTACT_SYSTEM = {"phone", "fax", "email", "pager", "url", "sms", "other"}
SEARCH_MODE = {"match", "include", "outcome"}


def fail(message):
    sys.exit(f"validate_fhir: FAILED: {message}")


def get(url, expected_status=200):
    request = urllib.request.Request(url, headers={"Accept": FHIR_JSON})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read()
    if status != expected_status:
        fail(f"GET {url}: status {status}, expected {expected_status}: {body[:500]!r}")
    content_type = headers.get("Content-Type", "")
    if not content_type.startswith(FHIR_JSON):
        fail(f"GET {url}: Content-Type {content_type!r}, expected {FHIR_JSON}")
    return json.loads(body)


def check(condition, message):
    if not condition:
        fail(message)


def validate(resource, expected_type):
    """Parses `resource` with the R4 model of its type and checks the required bindings."""
    kind = resource.get("resourceType")
    check(kind == expected_type, f"resourceType {kind!r}, expected {expected_type}")
    try:
        construct_fhir_element(kind, resource)
    except Exception as error:  # pydantic's ValidationError, or a LookupError
        fail(f"{kind}/{resource.get('id', '')} is not valid FHIR R4:\n{error}\n"
             f"{json.dumps(resource, indent=2)[:3000]}")
    for (resource_type, element), codes in REQUIRED_CODES.items():
        if resource_type == kind and element in resource:
            check(resource[element] in codes, f"{kind}.{element} = {resource[element]!r}")
    if kind == "Location":
        address = resource.get("address", {})
        check(address.get("use", "work") in ADDRESS_USE, f"Location.address.use {address}")
        check(address.get("type", "physical") in ADDRESS_TYPE, f"Location.address.type {address}")
        for hours in resource.get("hoursOfOperation", []):
            check(set(hours["daysOfWeek"]) <= DAYS, f"daysOfWeek {hours}")
    for contact in resource.get("telecom", []):
        check(contact["system"] in CONTACT_SYSTEM, f"{kind}.telecom.system {contact}")
    if kind == "OperationOutcome":
        for issue in resource["issue"]:
            check(issue["severity"] in ISSUE_SEVERITY, f"issue.severity {issue}")
            check(issue["code"] in ISSUE_TYPE, f"issue.code {issue}")
    validated[kind] += 1
    return resource


def validate_bundle(bundle, entry_type):
    validate(bundle, "Bundle")
    for entry in bundle.get("entry", []):
        check(entry["search"]["mode"] in SEARCH_MODE, f"search.mode {entry['search']}")
        check(entry["fullUrl"].endswith(f"/{entry_type}/{entry['resource']['id']}"),
              f"fullUrl {entry['fullUrl']}")
        validate(entry["resource"], entry_type)
    return bundle


def next_link(bundle):
    return next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check(__fhir_version__ == "4.0.1", f"fhir.resources models FHIR {__fhir_version__}, not R4 4.0.1")
    base = sys.argv[1].rstrip("/")
    fhir = f"{base}/fhir"

    statement = validate(get(f"{fhir}/metadata"), "CapabilityStatement")
    check([r["type"] for r in statement["rest"][0]["resource"]]
          == ["Location", "Organization", "Practitioner", "PractitionerRole"], "resources listed")

    # A centre where the demo data has public locations: the first location the v1 API lists.
    with urllib.request.urlopen(f"{base}/v1/locations?limit=1", timeout=30) as response:
        first = json.loads(response.read())["items"][0]["coordinates"]
    near = urllib.parse.quote(f"{first['lat']}|{first['lon']}|300|km")
    # Pages of 3, following `next` (at most 5 pages): the distances ascend across pages too.
    url, pages, locations, distances = f"{fhir}/Location?near={near}&_count=3", 0, [], []
    while url and pages < 5:
        bundle = validate_bundle(get(url), "Location")
        pages += 1
        for entry in bundle.get("entry", []):
            locations.append(entry["resource"])
            distances.append(entry["search"]["extension"][0]["valueDistance"]["value"])
        url = next_link(bundle)
    check(pages >= 2, f"the near search gave {pages} page(s); expected to page")
    check(distances == sorted(distances), f"distances not ascending: {distances}")
    ids = [location["id"] for location in locations]
    check(len(ids) == len(set(ids)), f"a location came back twice: {ids}")

    practitioners = set()
    qualifications = 0
    for location in locations:
        validate(get(f"{fhir}/Location/{location['id']}"), "Location")
        validate(get(f"{fhir}/{location['managingOrganization']['reference']}"), "Organization")
        roles = validate_bundle(
            get(f"{fhir}/PractitionerRole?location=Location/{location['id']}"), "PractitionerRole")
        check(roles.get("total", 0) >= 1, f"no PractitionerRole at Location/{location['id']}")
        for entry in roles.get("entry", []):
            validate(get(f"{fhir}/PractitionerRole/{entry['resource']['id']}"), "PractitionerRole")
            practitioners.add(entry["resource"]["practitioner"]["reference"])
    for reference in sorted(practitioners):
        practitioner = validate(get(f"{fhir}/{reference}"), "Practitioner")
        qualifications += len(practitioner.get("qualification", []))
    check(qualifications > 0, "no Practitioner had a qualification")

    validate(get(f"{fhir}/Location?near=91%7C0", expected_status=422), "OperationOutcome")
    validate(get(f"{fhir}/Practitioner/999999999", expected_status=404), "OperationOutcome")

    total = sum(validated.values())
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(validated.items()))
    print(f"validate_fhir: {total} resources valid against FHIR R4 {__fhir_version__} "
          f"(fhir.resources models; {qualifications} qualifications): {summary}")


if __name__ == "__main__":
    main()
