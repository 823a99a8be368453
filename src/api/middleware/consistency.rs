//! Where a request's reads that may be stale go: the `Consistency` request header.
//!
//! With a read replica (`--read-database-url`), public lists, profiles and FHIR reads go to it
//! (`AppState::read_public`), a few hundred milliseconds behind the primary at most in normal
//! operation. A client that must read what it has just written sends `Consistency: primary`; a
//! request with an admin or reviewer key (every write is made with one) reads from the primary
//! too, on every process, so a writer always reads its own writes. `Consistency: eventual` (the
//! default) allows the replica. Any other value is a 422. Search answers from each process's
//! in-memory index and does not depend on the header (see docs/deploy.md).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use crate::api::error::{ApiError, FieldError, ParamLocation};
use crate::domain::Role;

/// The request header.
pub const HEADER: &str = "Consistency";

/// The operations whose reads may go to the replica, which document the header.
pub const REPLICA_READS: [&str; 12] = [
    "list_clinics",
    "get_clinic",
    "list_locations",
    "get_location",
    "list_providers",
    "get_provider",
    "fhir_search_location",
    "fhir_read_location",
    "fhir_read_organization",
    "fhir_read_practitioner",
    "fhir_search_practitioner_role",
    "fhir_read_practitioner_role",
];

tokio::task_local! {
    /// Whether this request reads from the primary only.
    static PRIMARY: bool;
}

/// Whether the current request asked for the primary. Outside a request (background work,
/// tests that call the state directly): the primary.
pub fn wants_primary() -> bool {
    PRIMARY.try_with(|primary| *primary).unwrap_or(true)
}

/// The role of the key the rate limiter recognised on this request (request extensions).
#[derive(Debug, Clone, Copy)]
pub struct KeyRole(pub Role);

/// What the header asks for: `Some(true)` the primary, `Some(false)` any, `None` a bad value.
pub fn parse(value: Option<&[u8]>) -> Option<bool> {
    match value {
        None => Some(false),
        Some(value) if value.eq_ignore_ascii_case(b"primary") => Some(true),
        Some(value) if value.eq_ignore_ascii_case(b"eventual") => Some(false),
        Some(_) => None,
    }
}

pub async fn consistency_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let asked = parse(request.headers().get(HEADER).map(|value| value.as_bytes()));
    let Some(asked) = asked else {
        let error = FieldError::new(
            ParamLocation::Header,
            HEADER,
            "invalid_value",
            "`Consistency` is `primary` or `eventual`",
        );
        return Ok(request.error_response(ApiError::validation(error)));
    };
    let staff = request
        .extensions()
        .get::<KeyRole>()
        .is_some_and(|KeyRole(role)| matches!(role, Role::Admin | Role::Reviewer));
    let response = PRIMARY.scope(asked || staff, next.call(request)).await?;
    Ok(response.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_takes_two_values() {
        assert_eq!(parse(None), Some(false));
        assert_eq!(parse(Some(b"primary")), Some(true));
        assert_eq!(parse(Some(b"Primary")), Some(true));
        assert_eq!(parse(Some(b"eventual")), Some(false));
        assert_eq!(parse(Some(b"strong")), None);
        assert_eq!(parse(Some(b"")), None);
    }

    #[test]
    fn outside_a_request_reads_go_to_the_primary() {
        assert!(wants_primary());
    }
}
