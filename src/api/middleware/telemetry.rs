//! Logging, request ids, and the last line of defence for error bodies: whatever produced an
//! error response (a handler, an extractor, the router's 404/405), the client gets problem+json
//! carrying the request id.

use std::time::Instant;

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use rand::RngCore;
use tracing_subscriber::EnvFilter;

use crate::api::error::{ApiError, PROBLEM_JSON};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, from `X-Request-Id` when the client sent a sane one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub fn init_logging(filter: &str, format: crate::config::LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests start many apps in one process) is harmless: ignore it.
    let _ = if format == crate::config::LogFormat::Json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

fn incoming_request_id(request: &ServiceRequest) -> Option<String> {
    let value = request.headers().get(&REQUEST_ID_HEADER)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    sane.then(|| value.to_owned())
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Assigns the request id, logs the request, and makes every error body problem+json.
pub async fn request_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&request).unwrap_or_else(new_request_id);
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().clone();
    let path = request.path().to_owned();

    let response = next.call(request).await?.map_into_boxed_body();
    let response = ensure_problem_body(response, &request_id).await;
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(request_id, %method, path, status, elapsed_ms, "request");
    Ok(response)
}

async fn ensure_problem_body(
    response: ServiceResponse<BoxBody>,
    request_id: &str,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    let (request, response) = response.into_parts();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body()).await.unwrap_or_default();
    let mut problem: serde_json::Value = if is_problem {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| fallback_problem(status))
    } else {
        fallback_problem(status)
    };
    problem["request_id"] = serde_json::Value::String(request_id.to_owned());
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            rebuilt.append_header((name.clone(), value.clone()));
        }
    }
    rebuilt.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    let rebuilt = rebuilt.body(serde_json::to_vec(&problem).unwrap_or_default());
    ServiceResponse::new(request, rebuilt)
}

/// The problem body for an error response that came without one (the router's 404, 405, …).
fn fallback_problem(status: StatusCode) -> serde_json::Value {
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: 0 },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType("see the operation's documented content type".into())
        }
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("authentication required".into()),
        StatusCode::FORBIDDEN => ApiError::Forbidden("forbidden".into()),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable("retry shortly".into()),
        status if status.is_client_error() => {
            ApiError::MalformedBody("the request could not be read".into())
        }
        _ => ApiError::Internal(String::new()),
    };
    let mut problem = serde_json::to_value(error.problem(None)).unwrap_or_default();
    problem["status"] = status.as_u16().into();
    problem
}
