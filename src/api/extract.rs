//! Request extraction that fails with problem details: JSON bodies (415 for another media type,
//! 413 over the limit, 400 for broken JSON, 422 with a JSON pointer for a wrong type, a missing
//! field or an unknown one), `If-Match` versions, query strings and path ids.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::api::error::{ApiError, FieldError, ParamLocation};

/// A JSON request body of type `T`. Extraction never fails by itself: the handler takes the
/// result after it has checked the caller's key, so an unauthenticated request gets 401, not a
/// complaint about its body.
pub struct JsonBody<T>(Result<T, ApiError>);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> Result<T, ApiError> {
        self.0
    }
}

fn is_json(request: &HttpRequest) -> bool {
    let Some(content_type) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(request);
        let limit = request
            .app_data::<web::Data<crate::state::AppState>>()
            .map(|state| state.settings.max_body_bytes)
            .unwrap_or(64 * 1024);
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let bytes = web::Bytes::from_request(request, payload);
        let body = async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be application/json".to_owned(),
                ));
            }
            if declared.is_some_and(|length| length > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let bytes = bytes.await.map_err(|error| {
                match error.as_response_error().status_code().as_u16() {
                    413 => ApiError::PayloadTooLarge { limit },
                    _ => ApiError::MalformedBody("the body could not be read".to_owned()),
                }
            })?;
            Ok(crate::domain::json::parse(&bytes)?)
        };
        Box::pin(async move { Ok(JsonBody(body.await)) })
    }
}

/// The version a write expects, from `If-Match: "<version>"` (the resource's ETag).
pub struct IfMatch(pub Option<i64>);

/// The version an `If-Match` that names none of this service's entity tags stands for: no resource
/// has it, so the condition is false and the write is refused with 412, as RFC 9110 §13.1.1 has it
/// (`*`, a list, an unquoted or unknown tag: none of them names a version to write at).
const NO_VERSION: i64 = 0;

impl IfMatch {
    pub fn required(&self) -> Result<i64, ApiError> {
        self.0.ok_or(ApiError::PreconditionRequired)
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let version = request.headers().get(header::IF_MATCH).map(|value| {
            value
                .to_str()
                .ok()
                .and_then(parse_etag)
                .unwrap_or(NO_VERSION)
        });
        std::future::ready(Ok(IfMatch(version)))
    }
}

/// `"3"` or `W/"3"` (RFC 9110 entity tags are quoted), a version from 1, as the OpenAPI
/// document's pattern for `If-Match` states. A public read tags the resource `"3-<body hash>"`
/// (see `caching.rs`); that tag is accepted too, and its version is what is compared.
fn parse_etag(text: &str) -> Option<i64> {
    let text = text.trim();
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let opaque = tag.strip_prefix('"')?.strip_suffix('"')?;
    let digits = match opaque.split_once('-') {
        Some((version, hash))
            if hash.len() == 16 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            version
        }
        Some(_) => return None,
        None => opaque,
    };
    let valid = (1..=18).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| digits.parse().ok()).flatten()
}

pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// Query-string errors (unknown parameter, repeated parameter, unparsable value).
pub fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let QueryPayloadError::Deserialize(error) = error else {
        return ApiError::validation(FieldError::query(
            "",
            "invalid_query",
            "the query string could not be read",
        ))
        .into();
    };
    let message = error.to_string();
    let field = message.split('`').nth(1).unwrap_or("").to_owned();
    let code = if message.starts_with("unknown field") {
        "unknown_parameter"
    } else if message.starts_with("duplicate field") {
        "repeated_parameter"
    } else {
        "invalid_value"
    };
    if code == "unknown_parameter" {
        return ApiError::validation(unknown_parameter(&field)).into();
    }
    let detail = match code {
        "repeated_parameter" => {
            format!("`{field}` may appear once; list several values separated by commas")
        }
        _ => message,
    };
    ApiError::validation(FieldError::query(field, code, detail)).into()
}

/// A query parameter the operation does not document: refused on every endpoint alike (see
/// `middleware::contract`, which checks it before any handler runs).
pub fn unknown_parameter(name: &str) -> FieldError {
    FieldError::query(
        name,
        "unknown_parameter",
        format!("unknown query parameter `{name}`"),
    )
}

/// Path parameters that do not parse (e.g. a non-numeric id).
pub fn path_error(error: PathError, request: &HttpRequest) -> actix_web::Error {
    let name = request
        .match_info()
        .iter()
        .next()
        .map(|(name, _)| name.to_owned())
        .unwrap_or_default();
    let detail = match error {
        PathError::Deserialize(error) => format!("not a valid value: {error}"),
        _ => "not a valid value".to_owned(),
    };
    ApiError::validation(FieldError::new(
        ParamLocation::Path,
        name,
        "invalid_value",
        detail,
    ))
    .into()
}
