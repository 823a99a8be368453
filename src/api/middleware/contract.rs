//! The document's promises, kept at the door for every operation alike (see `api::contract`):
//!
//! - `HEAD` is answered wherever `GET` is, as the `GET` would be, without the body (RFC 9110
//!   §9.3.2): the request is routed as a `GET` and the server leaves the body out;
//! - a query parameter the operation does not document is refused: 422 `unknown_parameter`, the
//!   same on every endpoint (those that take no parameters included);
//! - on `/v1`, `Accept` must admit one of the media types the operation answers in, or the answer
//!   is 406 (the FHIR facade negotiates the same way, `_format` first, in `fhir::negotiation`); a
//!   `format` parameter, where one is documented, decides instead of `Accept`;
//! - on a public operation a key is optional, but one that is sent must be valid (401 otherwise):
//!   a partner learns at once that its key was revoked instead of being served as the public.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest};

use crate::api::auth::Actor;
use crate::api::contract::Contract;
use crate::api::error::ApiError;
use crate::api::extract::unknown_parameter;
use crate::api::negotiation;

pub async fn contract_middleware(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if request.method() == Method::HEAD {
        // The connection still knows the request was HEAD and sends no body (actix-http).
        request.head_mut().method = Method::GET;
    }
    let Some(contract) = request.app_data::<web::Data<Contract>>().cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    let Some(operation) = contract
        .path(request.path())
        .and_then(|path| path.operation(request.method()))
        .cloned()
    else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };

    let names: Vec<String> =
        web::Query::<Vec<(String, String)>>::from_query(request.query_string())
            .map(|query| {
                query
                    .into_inner()
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect()
            })
            .unwrap_or_default();
    let mut unknown: Vec<_> = names
        .iter()
        .filter(|name| !operation.query_parameters.contains(name))
        .map(|name| unknown_parameter(name))
        .collect();
    unknown.dedup();
    if !unknown.is_empty() {
        return Ok(request.error_response(ApiError::Validation(unknown)));
    }

    let format_decides = operation.query_parameters.iter().any(|p| p == "format")
        && names.iter().any(|name| name == "format");
    if request.path().starts_with("/v1/") && !operation.offered.is_empty() && !format_decides {
        let offered: Vec<&str> = operation.offered.iter().map(String::as_str).collect();
        let accept = negotiation::accept_header(request.headers());
        if negotiation::choose(accept.as_deref(), &offered).is_none() {
            let error = ApiError::NotAcceptable(format!(
                "`Accept: {}`: this operation answers in {}",
                accept.unwrap_or_default(),
                offered.join(" or ")
            ));
            return Ok(request.error_response(error));
        }
    }

    if operation.key_optional && request.headers().contains_key(header::AUTHORIZATION) {
        let (http_request, payload) = request.parts_mut();
        if let Err(error) = Actor::from_request(http_request, payload).await {
            return Ok(request.error_response(error));
        }
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}
