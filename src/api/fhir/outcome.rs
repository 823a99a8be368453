//! Errors on `/fhir/*` as FHIR `OperationOutcome`s. FHIR clients parse those, not RFC 9457
//! problem details, so the one deliberate exception to the API's error format (docs/errors.md)
//! is made here, at the edge: whatever produced the error (a handler, an extractor, the router,
//! the rate limiter), the problem body the rest of the stack built is translated, with the same
//! status and the same problem code.

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use serde_json::Value;

use super::mapping::own;
use super::model::{CodeableConcept, Coding, Extension, OperationOutcome, OutcomeIssue};
use super::negotiation::FHIR_JSON;
use crate::api::error::PROBLEM_JSON;

/// Whether a request path is the facade's.
pub fn is_fhir_path(path: &str) -> bool {
    path == "/fhir" || path.starts_with("/fhir/")
}

/// The issue type (http://hl7.org/fhir/issue-type) for a problem code, or for a field error's
/// code within a `validation_failed` problem.
fn issue_type(problem_code: &str, field_code: Option<&str>) -> &'static str {
    match (problem_code, field_code) {
        (_, Some("unknown_parameter")) => "not-supported",
        (_, Some("required")) => "required",
        (_, Some("out_of_range" | "unknown_value")) => "value",
        (_, Some(_)) => "invalid",
        ("not_found" | "route_not_found", _) => "not-found",
        ("method_not_allowed" | "not_acceptable" | "unsupported_media_type", _) => "not-supported",
        ("rate_limited", _) => "throttled",
        ("query_too_long" | "payload_too_large", _) => "too-long",
        ("service_unavailable", _) => "transient",
        ("unauthorized", _) => "login",
        ("forbidden", _) => "forbidden",
        ("internal_error", _) => "exception",
        ("validation_failed" | "malformed_body", _) => "invalid",
        _ => "processing",
    }
}

/// The OperationOutcome for a problem-details body (as `ApiError::problem` and the telemetry
/// middleware write it).
pub fn from_problem(problem: &Value) -> OperationOutcome {
    let text = |key: &str| problem.get(key).and_then(Value::as_str).unwrap_or_default();
    let code = text("code");
    let status = problem.get("status").and_then(Value::as_u64).unwrap_or(500);
    let severity = if status >= 500 { "fatal" } else { "error" };
    let details = CodeableConcept {
        coding: vec![Coding::new(&own("CodeSystem/problem"), code, None)],
        text: Some(text("title").to_owned()).filter(|t| !t.is_empty()),
    };
    let field_errors = problem
        .get("errors")
        .and_then(Value::as_array)
        .filter(|errors| !errors.is_empty());
    let issue = match field_errors {
        Some(errors) => errors
            .iter()
            .map(|error| {
                let field = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default();
                let name = field("pointer").trim_start_matches('/').to_owned();
                // The field error's own code beside the problem's, as in problem details.
                let mut details = details.clone();
                details.coding.push(Coding::new(
                    &own("CodeSystem/field-error"),
                    field("code"),
                    None,
                ));
                OutcomeIssue {
                    severity: severity.to_owned(),
                    code: issue_type(code, Some(field("code"))).to_owned(),
                    details,
                    diagnostics: if name.is_empty() {
                        field("detail").to_owned()
                    } else {
                        format!("{name}: {}", field("detail"))
                    },
                    expression: (!name.is_empty()).then_some(name).into_iter().collect(),
                }
            })
            .collect(),
        None => vec![OutcomeIssue {
            severity: severity.to_owned(),
            code: issue_type(code, None).to_owned(),
            details,
            diagnostics: text("detail").to_owned(),
            expression: Vec::new(),
        }],
    };
    OperationOutcome {
        resource_type: "OperationOutcome",
        extension: problem
            .get("request_id")
            .and_then(Value::as_str)
            .map(|id| Extension::code(&own("StructureDefinition/request-id"), id))
            .into_iter()
            .collect(),
        issue,
    }
}

/// Rewrites every error response under `/fhir` (by then problem+json carrying the request id,
/// see `telemetry::request_middleware`) as an OperationOutcome, keeping status and headers.
pub async fn operation_outcome_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let fhir = is_fhir_path(request.path());
    let response = next.call(request).await?.map_into_boxed_body();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !fhir || response.status().as_u16() < 400 || !is_problem {
        return Ok(response);
    }
    let status = response.status();
    let (request, response) = response.into_parts();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body()).await.unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let outcome = from_problem(&problem);
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            rebuilt.append_header((name.clone(), value.clone()));
        }
    }
    rebuilt.insert_header((header::CONTENT_TYPE, FHIR_JSON));
    let rebuilt = rebuilt.body(serde_json::to_vec(&outcome).unwrap_or_default());
    Ok(ServiceResponse::new(request, rebuilt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_field_error_is_an_issue_naming_its_parameter() {
        let outcome = from_problem(&json!({
            "type": "/problems/validation_failed", "code": "validation_failed",
            "title": "The request is not valid", "status": 422, "detail": "2 fields are invalid",
            "request_id": "abc",
            "errors": [
                {"in": "query", "pointer": "/near", "code": "out_of_range", "detail": "latitude 91"},
                {"in": "query", "pointer": "/_sort", "code": "unknown_parameter", "detail": "unknown"}
            ]
        }));
        let outcome = serde_json::to_value(outcome).unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["code"], "value");
        assert_eq!(outcome["issue"][0]["expression"], json!(["near"]));
        assert_eq!(outcome["issue"][0]["diagnostics"], "near: latitude 91");
        assert_eq!(outcome["issue"][1]["code"], "not-supported");
        assert_eq!(
            outcome["issue"][1]["details"]["coding"][0]["code"],
            "validation_failed"
        );
        assert_eq!(outcome["extension"][0]["valueCode"], "abc");
    }

    #[test]
    fn server_errors_are_fatal_and_throttling_is_throttled() {
        let unavailable =
            from_problem(&json!({"code": "service_unavailable", "status": 503, "detail": "retry"}));
        assert_eq!(unavailable.issue[0].severity, "fatal");
        assert_eq!(unavailable.issue[0].code, "transient");
        let limited =
            from_problem(&json!({"code": "rate_limited", "status": 429, "detail": "slow"}));
        assert_eq!(limited.issue[0].severity, "error");
        assert_eq!(limited.issue[0].code, "throttled");
    }
}
