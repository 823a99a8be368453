//! The error responses each kind of operation documents, so the spec lists every status a client
//! can get (all bodies are `application/problem+json`).

use utoipa::IntoResponses;

use crate::api::error::ProblemDetails;

#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum ListErrors {
    /// A query parameter is invalid: unknown, repeated, out of range, or a garbage cursor.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(ProblemDetails),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDetails),
}

#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum ReadErrors {
    /// No such resource, or it is not public.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDetails),
    /// The path id is not a valid id.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(ProblemDetails),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDetails),
}

#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum AdminReadErrors {
    /// No key, or a wrong, expired or revoked one.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemDetails),
    /// The key's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDetails),
    /// No such resource.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDetails),
    /// A parameter is invalid.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(ProblemDetails),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDetails),
}

#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum WriteErrors {
    /// The body is not valid JSON.
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(ProblemDetails),
    /// No key, or a wrong, expired or revoked one.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemDetails),
    /// The key's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDetails),
    /// No such resource (or a referenced one does not exist).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDetails),
    /// Conflicts with existing data: a duplicate NPI or external id, an invalid state transition,
    /// or a delete of something still referenced.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(ProblemDetails),
    /// `If-Match` names a version that is no longer current.
    #[response(status = 412, content_type = "application/problem+json")]
    Stale(ProblemDetails),
    /// The body is larger than the limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemDetails),
    /// The body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    MediaType(ProblemDetails),
    /// Field-level validation failures, each with a JSON pointer.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(ProblemDetails),
    /// `If-Match` is required and missing.
    #[response(status = 428, content_type = "application/problem+json")]
    VersionRequired(ProblemDetails),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDetails),
}
