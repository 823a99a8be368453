//! What the facade answers in: FHIR JSON only. `_format` (which overrides `Accept`) and
//! `Accept` are checked on every interaction (anything else is 406), and `_pretty` chooses
//! indented JSON.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::api::error::{ApiError, ApiResult, FieldError};

pub const FHIR_JSON: &str = "application/fhir+json";

/// The parameters every FHIR interaction takes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParams {
    /// Only JSON: `json`, `application/json` or `application/fhir+json` (anything else: 406).
    #[serde(rename = "_format")]
    #[param(value_type = Option<FhirFormat>)]
    pub format: Option<String>,
    /// `true` for indented JSON.
    #[serde(rename = "_pretty")]
    #[param(value_type = Option<bool>)]
    pub pretty: Option<String>,
}

/// The `_format` values the facade answers to (anything else: 406).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only its schema is used: `_format` is parsed as text.
pub enum FhirFormat {
    #[schema(rename = "json")]
    Json,
    #[schema(rename = "application/json")]
    ApplicationJson,
    #[schema(rename = "application/fhir+json")]
    FhirJson,
}

/// How to write the body: checks `_format`, `Accept` and `_pretty`; returns whether to indent.
pub(super) fn negotiate(
    request: &HttpRequest,
    format: Option<&str>,
    pretty: Option<&str>,
) -> ApiResult<bool> {
    /// `_format` values (exactly the documented pattern).
    const FORMATS: [&str; 3] = ["json", "application/json", FHIR_JSON];
    /// `Accept` media ranges that admit FHIR JSON (with DSTU2's `application/json+fhir`).
    const ACCEPTED: [&str; 5] = [
        "application/json",
        FHIR_JSON,
        "application/json+fhir",
        "application/*",
        "*/*",
    ];
    let pretty = match pretty {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::validation(FieldError::query(
                "_pretty",
                "invalid_boolean",
                "`true` or `false`",
            )))
        }
    };
    match format {
        // `_format` overrides `Accept` (FHIR R4 http.html#mime-type).
        Some(format) if FORMATS.contains(&format) => return Ok(pretty),
        Some(format) => {
            return Err(ApiError::NotAcceptable(format!(
            "`_format={format}`: this server speaks FHIR JSON only (json, application/fhir+json)"
        )))
        }
        None => {}
    }
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(pretty);
    };
    let acceptable = accept.split(',').any(|range| {
        let essence = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        ACCEPTED.contains(&essence.as_str())
    });
    if acceptable {
        Ok(pretty)
    } else {
        Err(ApiError::NotAcceptable(format!(
            "`Accept: {accept}`: this server speaks FHIR JSON only (application/fhir+json)"
        )))
    }
}

pub(super) fn fhir_response<T: Serialize>(body: &T, pretty: bool) -> HttpResponse {
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    };
    HttpResponse::build(StatusCode::OK)
        .content_type(FHIR_JSON)
        .body(bytes.unwrap_or_default())
}
