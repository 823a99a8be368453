//! Credentials: created and edited by admins; verified against a primary source by reviewers
//! (the rules are the directory's: `directory::credentials`, `directory::vetting`).

use actix_web::{delete, patch, post, web, HttpResponse};

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::WriteErrors;
use crate::api::auth::Actor;
use crate::api::error::ApiResult;
use crate::directory::audit::{EDITORS, REVIEWERS};
use crate::directory::credentials::{self, CredentialPatch, CredentialView, NewCredentialInput};
use crate::directory::vetting::{self, VerificationInput};
use crate::state::AppState;

/// Add a credential.
///
/// Adds a licence, board certification, DEA registration or training record to a provider (admin).
/// It starts `unverified` and counts publicly only once verified.
#[utoipa::path(tag = "credentials", request_body = NewCredentialInput, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 201, description = "The credential, created (unverified)", body = CredentialView, headers(("ETag" = String))), WriteErrors))]
#[post("/providers/{id}/credentials")]
pub async fn create_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    body: JsonBody<NewCredentialInput>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, provider_id) = (actor.principal(&state.clock), id.into_inner());
    let input = body.into_inner()?;
    let credential = state
        .write(move |c| credentials::create(c, &by, provider_id, input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(credential.version))
        .json(credential))
}

/// Edit a credential.
///
/// Changes a credential (admin). It returns to `unverified`: a changed credential must be checked
/// again. Needs `If-Match` with the credential's current ETag.
#[utoipa::path(tag = "credentials", request_body = CredentialPatch, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Credential id", example = 7), ("If-Match" = String, Header, description = "The credential's ETag")),
    responses((status = 200, description = "The credential, updated and back to unverified", body = CredentialView, headers(("ETag" = String))), WriteErrors))]
#[patch("/credentials/{id}")]
pub async fn update_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<CredentialPatch>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id, patch) = (
        actor.principal(&state.clock),
        id.into_inner(),
        body.into_inner()?,
    );
    let credential = state
        .write(move |c| credentials::update(c, &by, id, if_match.0, patch))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(credential.version))
        .json(credential))
}

/// Delete a credential.
///
/// Deletes a credential (admin). Public profiles and search stop counting it at once; a provider
/// whose only verified licence it was leaves search. With `If-Match`, only at that version.
#[utoipa::path(tag = "credentials", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Credential id", example = 7), ("If-Match" = Option<String>, Header, description = "Optional: only delete at this version")),
    responses((status = 204, description = "Deleted"), WriteErrors))]
#[delete("/credentials/{id}")]
pub async fn delete_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id) = (actor.principal(&state.clock), id.into_inner());
    state
        .write(move |c| credentials::delete(c, &by, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Record a verification.
///
/// Records the outcome of a primary-source check on a credential (admin or reviewer): the source
/// type and reference, the outcome and the reason. Needs `If-Match` with the credential's current
/// ETag.
#[utoipa::path(tag = "vetting", request_body = VerificationInput, security(("api_key" = ["admin", "reviewer"])),
    params(("id" = i64, Path, description = "Credential id", example = 7), ("If-Match" = String, Header, description = "The credential's ETag")),
    responses((status = 200, description = "The credential with the outcome recorded", body = CredentialView, headers(("ETag" = String))), WriteErrors))]
#[post("/credentials/{id}/verification")]
pub async fn verify_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<VerificationInput>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
    let (by, id, input) = (
        actor.principal(&state.clock),
        id.into_inner(),
        body.into_inner()?,
    );
    let credential = state
        .write(move |c| vetting::verify_credential(c, &by, id, if_match.0, input))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(credential.version))
        .json(credential))
}
