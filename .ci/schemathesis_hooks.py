"""Schemathesis hooks for .ci/run: `valid_data_accepted`, the built-in `positive_data_acceptance`
check with its default expectations, except for the refusals listed in .ci/schemathesis.toml
(`[checks.valid_data_accepted] exceptions`), each a rule OpenAPI cannot state.

A refusal is forgiven only when it is exactly one of those: its status, and for a 422 every field
error it names (where in the request, the pointer, the code) is listed. Any other refusal of a
schema-valid request fails the run, as the built-in check would. Problem details (`errors[]`) and
FHIR OperationOutcomes (each issue's `expression` and its field-error coding) are both read.
"""

import json
import re

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

FIELD_ERROR_SYSTEM_SUFFIX = ":CodeSystem/field-error"


def field_errors(body):
    """(in, pointer, code) of every field error a 422 names, or None when it names none."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("errors"), list) and body["errors"]:
        return [(e.get("in"), e.get("pointer"), e.get("code")) for e in body["errors"]]
    if body.get("resourceType") == "OperationOutcome":
        found = []
        for issue in body.get("issue", []):
            codes = [
                coding.get("code")
                for coding in issue.get("details", {}).get("coding", [])
                if str(coding.get("system", "")).endswith(FIELD_ERROR_SYSTEM_SUFFIX)
            ]
            names = issue.get("expression") or [""]
            if not codes:
                return None
            found.append(("query", "/" + names[0] if names[0] else "", codes[0]))
        return found or None
    return None


@schemathesis.check
class valid_data_accepted:
    def __init__(self, exceptions=()):
        self.exceptions = []
        for exception in exceptions:
            if not exception.get("reason"):
                raise ValueError(f"every exception needs its reason: {exception}")
            self.exceptions.append(
                (
                    int(exception["status"]),
                    exception.get("in"),
                    re.compile(exception["pointer"]) if "pointer" in exception else None,
                    set(exception.get("codes", [])),
                )
            )

    def forgiven(self, response):
        status = response.status_code
        if any(s == status and p is None for s, _, p, _ in self.exceptions):
            return True
        try:
            body = json.loads(response.content)
        except ValueError:
            return False
        errors = field_errors(body)
        if status != 422 or not errors:
            return False
        return all(
            any(
                s == status
                and (where is None or where == location)
                and pattern is not None
                and pattern.fullmatch(pointer or "")
                and code in codes
                for s, where, pattern, codes in self.exceptions
            )
            for location, pointer, code in errors
        )

    def after_response(self, ctx, response, case):
        try:
            return positive_data_acceptance(ctx, response, case)
        except RejectedPositiveData:
            if self.forgiven(response):
                return None
            raise
