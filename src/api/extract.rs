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

/// Where a serde path error points, as a JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => {}
        }
    }
    pointer
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(deserializer);
    // JSON Schema counts `2020.0` as an integer; serde does not. Retry with integral numbers
    // written as integers, so a schema-valid body is not refused for its spelling.
    let parsed = match parsed {
        Err(error) if error.inner().to_string().contains("floating point") => {
            match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(mut value) => {
                    integral_floats_as_integers(&mut value);
                    serde_path_to_error::deserialize(value).or(Err(error))
                }
                Err(_) => Err(error),
            }
        }
        other => other,
    };
    // Neither database stores U+0000 in text (SQLite's length() stops at it, PostgreSQL refuses it).
    // Every body is a JSON object; serde would also take a struct from an array (`[null]`).
    let starts_as_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if parsed.is_ok() && !starts_as_object {
        return Err(ApiError::validation(FieldError::body(
            "",
            "invalid_type",
            "the body must be a JSON object",
        )));
    }
    let has_nul_escape = bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    if parsed.is_ok() && has_nul_escape {
        let nul = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|value| find_nul(&value, String::new()));
        if let Some(pointer) = nul {
            return Err(ApiError::validation(FieldError::body(
                pointer,
                "invalid_character",
                "text may not contain U+0000 (NUL)",
            )));
        }
    }
    parsed.map_err(json_error)
}

/// Deserializes an already-parsed JSON value, with the same field-level errors.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            // serde says "... at line 1 column 17": the pointer says where, more usefully.
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let mut pointer = pointer(error.path());
            let code = if message.starts_with("unknown field") {
                "unknown_field"
            } else if message.starts_with("missing field") {
                if let Some(field) = message.split('`').nth(1) {
                    pointer = format!("{pointer}/{field}");
                }
                "required"
            } else if message.starts_with("unknown variant") {
                "unknown_value"
            } else {
                "invalid_type"
            };
            ApiError::validation(FieldError::body(pointer, code, message))
        }
        _ => ApiError::MalformedBody(format!("the body is not valid JSON: {inner}")),
    }
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
            parse_json(&bytes)
        };
        Box::pin(async move { Ok(JsonBody(body.await)) })
    }
}

/// The version a write expects, from `If-Match: "<version>"` (the resource's ETag).
pub struct IfMatch(pub Option<i64>);

impl IfMatch {
    pub fn required(&self) -> Result<i64, ApiError> {
        self.0.ok_or(ApiError::PreconditionRequired)
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = match request.headers().get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(parse_etag)
                .map(|v| IfMatch(Some(v)))
                .ok_or_else(|| {
                    ApiError::validation(FieldError::new(
                        ParamLocation::Header,
                        "/If-Match",
                        "invalid_etag",
                        "If-Match must be the resource's ETag, e.g. \"3\"",
                    ))
                }),
        };
        std::future::ready(parsed)
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
    let detail = match code {
        "unknown_parameter" => format!("unknown query parameter `{field}`"),
        "repeated_parameter" => {
            format!("`{field}` may appear once; list several values separated by commas")
        }
        _ => message,
    };
    ApiError::validation(FieldError::query(field, code, detail)).into()
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

/// Rewrites every number with no fractional part (`2020.0`) as an integer (`2020`).
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64() {
                let fits = float.fract() == 0.0 && float.abs() < 9.0e15;
                if fits {
                    *value = serde_json::Value::from(float as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_floats_as_integers)
        }
        _ => {}
    }
}

/// The JSON pointer of the first string (value or key) holding U+0000.
fn find_nul(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => Some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| find_nul(item, format!("{at}/{index}"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
            if key.contains('\0') {
                Some(here)
            } else {
                find_nul(item, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod integral_tests {
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        year: i32,
        latitude: f64,
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_not() {
        let body: Body = super::parse_json(br#"{"year": 2020.0, "latitude": 40.5}"#).unwrap();
        assert_eq!(
            body,
            Body {
                year: 2020,
                latitude: 40.5
            }
        );
        assert!(super::parse_json::<Body>(br#"{"year": 2020.5, "latitude": 1}"#).is_err());
    }
}
