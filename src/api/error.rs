//! The one error type of the HTTP layer, rendered as RFC 9457 problem details.
//!
//! Handlers and extractors return [`ApiError`]; the database layer returns `diesel` errors that are
//! converted here (unique violation → 409, pool exhaustion → 503, anything else → a logged 500 whose
//! body says nothing internal). Every variant has a stable snake_case `code`, also used in `type`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

use crate::directory::DirectoryError;
pub use crate::domain::{FieldError, ParamLocation};

/// RFC 9457 problem details, as every error response carries them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation_failed",
    "code": "validation_failed",
    "title": "The request is not valid",
    "status": 422,
    "detail": "1 field is invalid",
    "request_id": "5f0c6b1e9d7a4c21",
    "errors": [{"in": "query", "pointer": "/lat", "code": "out_of_range", "detail": "must be between -90 and 90"}]
}))]
pub struct ProblemDetails {
    /// A URI reference naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    #[schema(max_length = 80, pattern = "^/problems/[a-z0-9_]+$")]
    pub problem_type: String,
    /// Stable snake_case code; one of a fixed list documented in `docs/errors.md`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_]+$")]
    pub code: &'static str,
    /// Short summary of the problem type; the same for every occurrence.
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub title: &'static str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong in this occurrence.
    #[schema(min_length = 1, max_length = 4096, pattern = "^[^\\x00]*$")]
    pub detail: String,
    /// The request id (`X-Request-Id`), for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub request_id: Option<String>,
    /// Field-level list for validation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 256)]
    pub errors: Option<Vec<FieldError>>,
    /// For `invalid_transition`: the states the resource may move to from where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::domain::VettingStatus>>, max_items = 5)]
    pub allowed: Option<Vec<String>>,
    /// For `precondition_failed`: the resource's current version, to retry with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::Id>, inline)]
    pub current_version: Option<i64>,
    /// For an `ambiguous_place` field error: the places the name may mean, the most populous
    /// first; send one's `place` back.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 10)]
    pub candidates: Option<Vec<crate::api::search::response::PlaceChoice>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// A validation failure one of whose fields names an ambiguous place: with the choices.
    #[error("{} invalid field(s)", .errors.len())]
    Ambiguous {
        errors: Vec<FieldError>,
        candidates: Vec<crate::api::search::response::PlaceChoice>,
    },
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{resource} {id} does not exist")]
    NotFound { resource: &'static str, id: String },
    #[error("no route matches this path")]
    RouteNotFound,
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("cannot move from {from} to {to}")]
    InvalidTransition {
        from: String,
        to: String,
        allowed: Vec<String>,
    },
    #[error("the resource has changed: it is at version {current_version}")]
    PreconditionFailed { current_version: i64 },
    #[error("this request needs an If-Match header carrying the current version (its ETag)")]
    PreconditionRequired,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("too many requests: retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the query string is longer than {limit} bytes")]
    UriTooLong { limit: u64 },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn validation(error: FieldError) -> Self {
        ApiError::Validation(vec![error])
    }

    pub fn not_found(resource: &'static str, id: impl ToString) -> Self {
        ApiError::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        ApiError::Internal(error.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) | ApiError::Ambiguous { .. } => "validation_failed",
            ApiError::MalformedBody(_) => "malformed_body",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::NotFound { .. } => "not_found",
            ApiError::RouteNotFound => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::InvalidTransition { .. } => "invalid_transition",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::ServiceUnavailable(_) => "service_unavailable",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::UriTooLong { .. } => "query_too_long",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) | ApiError::Ambiguous { .. } => "The request is not valid",
            ApiError::MalformedBody(_) => "The request body is not valid JSON for this operation",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::PayloadTooLarge { .. } => "The request body is too large",
            ApiError::NotFound { .. } => "Not found",
            ApiError::RouteNotFound => "No such route",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::InvalidTransition { .. } => "Invalid state transition",
            ApiError::PreconditionFailed { .. } => "Stale version",
            ApiError::PreconditionRequired => "Version required",
            ApiError::Unauthorized(_) => "Authentication required",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotAcceptable(_) => "Not acceptable",
            ApiError::ServiceUnavailable(_) => "Service unavailable",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::UriTooLong { .. } => "The query string is too long",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    pub fn problem(&self, request_id: Option<String>) -> ProblemDetails {
        let field_errors = match self {
            ApiError::Validation(errors) | ApiError::Ambiguous { errors, .. } => Some(errors),
            _ => None,
        };
        let detail = match (self, field_errors) {
            (_, Some(errors)) if errors.len() == 1 => "1 field is invalid".to_owned(),
            (_, Some(errors)) => format!("{} fields are invalid", errors.len()),
            // Never leak internals: the log has the cause, keyed by the request id.
            (ApiError::Internal(_), _) => {
                "An unexpected error occurred; it has been logged.".to_owned()
            }
            (other, _) => other.to_string(),
        };
        ProblemDetails {
            problem_type: format!("/problems/{}", self.code()),
            code: self.code(),
            title: self.title(),
            status: self.status_code().as_u16(),
            detail,
            request_id,
            errors: field_errors.cloned(),
            candidates: match self {
                ApiError::Ambiguous { candidates, .. } => Some(candidates.clone()),
                _ => None,
            },
            allowed: match self {
                ApiError::InvalidTransition { allowed, .. } => Some(allowed.clone()),
                _ => None,
            },
            current_version: match self {
                ApiError::PreconditionFailed { current_version } => Some(*current_version),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::Ambiguous { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::MalformedBody(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound { .. } | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::InvalidTransition { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        // The request id is filled in by the request-id middleware, which sees the response.
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Unauthorized(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="clinic-finder""#));
            }
            ApiError::ServiceUnavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&self.problem(None)).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        ApiError::from(crate::db::DbError::from(error))
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(%error, "database pool");
        ApiError::ServiceUnavailable("the database is unavailable; retry shortly".to_owned())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::ServiceUnavailable("the server is shutting down".to_owned())
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> Self {
        // Constraint violations and missing rows mean the same here as in a write.
        ApiError::from(DirectoryError::from(error))
    }
}

/// The directory's refusals as problem details; database failures as 503 or a logged 500.
impl From<DirectoryError> for ApiError {
    fn from(error: DirectoryError) -> Self {
        use crate::db::DbError;
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            DirectoryError::Invalid(invalid) => ApiError::Validation(invalid.0),
            DirectoryError::NotFound { entity, id } => ApiError::NotFound {
                resource: entity,
                id,
            },
            DirectoryError::Conflict { code, detail } => ApiError::Conflict { code, detail },
            DirectoryError::InvalidTransition { from, to, allowed } => {
                ApiError::InvalidTransition {
                    from: from.to_string(),
                    to: to.to_string(),
                    allowed: allowed.iter().map(|s| s.to_string()).collect(),
                }
            }
            DirectoryError::Stale { current_version } => {
                ApiError::PreconditionFailed { current_version }
            }
            DirectoryError::VersionRequired => ApiError::PreconditionRequired,
            DirectoryError::Forbidden(detail) => ApiError::Forbidden(detail),
            DirectoryError::Database(DbError::Pool(error)) => ApiError::from(error),
            DirectoryError::Database(DbError::Query(Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                _,
            ))) => ApiError::ServiceUnavailable(
                "the database connection was lost; retry shortly".to_owned(),
            ),
            DirectoryError::Database(DbError::Query(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                info,
            ))) if is_busy(info.message()) => {
                ApiError::ServiceUnavailable("the database is busy; retry shortly".to_owned())
            }
            DirectoryError::Database(error) => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<crate::search::SearchError> for ApiError {
    fn from(error: crate::search::SearchError) -> Self {
        match error {
            crate::search::SearchError::Database(error) => ApiError::from(error),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::domain::json::JsonError> for ApiError {
    fn from(error: crate::domain::json::JsonError) -> Self {
        match error {
            crate::domain::json::JsonError::Malformed(detail) => ApiError::MalformedBody(detail),
            crate::domain::json::JsonError::Invalid(field) => ApiError::Validation(vec![field]),
        }
    }
}

impl From<crate::domain::Invalid> for ApiError {
    fn from(invalid: crate::domain::Invalid) -> Self {
        ApiError::Validation(invalid.0)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
