//! Who is calling: the `Authorization: Bearer <key>` header resolved to an [`Actor`].
//!
//! The public needs no key; every write and every admin read needs one with the right role.
//! Missing, unknown, expired or revoked keys → 401 with `WWW-Authenticate`; a valid key
//! without the role → 403.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};

use crate::api::error::ApiError;
use crate::api::middleware::ratelimit::KeyLookup;
use crate::api::middleware::telemetry::RequestId;
use crate::config::is_token_shaped;
use crate::db;
use crate::directory::Principal;
use crate::domain::Role;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key_id: i64,
    pub role: Role,
    pub request_id: Option<String>,
}

impl Actor {
    /// The caller as the directory's writes name it, judged at the service clock's `now`.
    pub fn principal(&self, clock: &crate::clock::Clock) -> Principal {
        Principal::key(self.key_id, self.role, self.request_id.clone(), clock.now())
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "this operation needs the role {}; the key has {}",
                names.join(" or "),
                self.role
            )))
        }
    }
}

pub(crate) fn bearer_token(request: &HttpRequest) -> Result<String, ApiError> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "this operation needs an API key: Authorization: Bearer <key>".to_owned(),
            )
        })?;
    let value = value.to_str().map_err(|_| {
        ApiError::Unauthorized("the Authorization header is not readable".to_owned())
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::Unauthorized(
            "expected Authorization: Bearer <key>".to_owned(),
        )),
    }
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Actor, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request);
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone());
        // The rate limiter's lookup of this very request, when it made one.
        let looked_up = request.extensions().get::<KeyLookup>().cloned();
        Box::pin(async move {
            let token = token?;
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let now = state.clock.now().naive_utc();
            let invalid = || ApiError::Unauthorized("the API key is not valid".to_owned());
            let key = match looked_up {
                Some(KeyLookup::Invalid) => return Err(invalid()),
                Some(KeyLookup::Fetched(row)) => row,
                // A token that cannot be a key is refused without a query.
                None if !is_token_shaped(&token) => return Err(invalid()),
                None => {
                    state
                        .read(move |connection| Ok(db::keys::find_by_secret(connection, &token)?))
                        .await?
                }
            };
            let key = key.ok_or_else(invalid)?;
            if key.revoked_at.is_some() {
                return Err(ApiError::Unauthorized(
                    "the API key has been revoked".to_owned(),
                ));
            }
            if key.expires_at.is_some_and(|at| at <= now) {
                return Err(ApiError::Unauthorized("the API key has expired".to_owned()));
            }
            let role = Role::parse(&key.role)
                .ok_or_else(|| ApiError::internal("unknown role in api_keys"))?;
            // Written later, off the request: a read never waits for the write lock.
            state.key_usage.note(key.id, now);
            Ok(Actor {
                key_id: key.id,
                role,
                request_id,
            })
        })
    }
}
