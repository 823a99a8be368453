//! Providers: public profiles (verified providers, active verified credentials only), admin
//! create/update/delete, and their links to locations and treatments.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{ListErrors, ReadErrors, WriteErrors};
use super::{page_of, ListParams, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult};
use crate::db;
use crate::directory::audit::EDITORS;
use crate::directory::providers::{
    self, public_profile, NewProviderInput, OfferedTreatment, ProviderAdminView, ProviderPatch,
    ProviderProfile, TreatmentOfferInput,
};
use crate::directory::screening::ScreeningSummary;
use crate::domain::VettingStatus;
use crate::state::AppState;

/// List verified providers.
///
/// The public profiles of verified providers, ordered by id, a page at a time. Unvetted, rejected
/// and suspended providers never appear.
#[utoipa::path(tag = "providers", params(ListParams), responses((status = 200, description = "A page of verified providers' public profiles", body = Page<ProviderProfile>), ListErrors))]
#[get("/providers")]
pub async fn list_providers(
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let page = params.parse("providers")?;
    let freshness = state.freshness();
    let page = state
        .read_public(move |c| {
            let rows =
                db::providers::list(c, &[VettingStatus::Verified], page.after_id, page.limit + 1)?;
            let page = page_of("providers", rows, page.limit, |row| row.id, |row| row);
            let screening = ScreeningSummary::load(c)?;
            let mut items = Vec::with_capacity(page.items.len());
            for row in page.items {
                let record = db::providers::record(c, row)?;
                items.extend(public_profile(record, &freshness, &screening));
            }
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a provider's public profile.
///
/// A verified provider's public profile with the credentials that are verified and unexpired at the
/// time of the request, and how fresh each verification is. 404 for a provider that is not
/// verified.
#[utoipa::path(tag = "providers", params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 200, description = "The provider's public profile", body = ProviderProfile), ReadErrors))]
#[get("/providers/{id}")]
pub async fn get_provider(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let freshness = state.freshness();
    let (record, screening) = state
        .read_public(move |c| {
            Ok((
                db::providers::get_record(c, id)?,
                ScreeningSummary::load(c)?,
            ))
        })
        .await?;
    let profile = public_profile(record, &freshness, &screening)
        .ok_or_else(|| ApiError::not_found("provider", id))?;
    Ok(HttpResponse::Ok().json(profile))
}

/// Create a provider.
///
/// Adds a provider (admin). It starts `pending` and stays out of public view until a reviewer
/// verifies it. The NPI must pass its check digit and be unique.
#[utoipa::path(tag = "providers", request_body = NewProviderInput, security(("api_key" = ["admin"])),
    responses((status = 201, description = "The provider, created (pending)", body = ProviderAdminView, headers(("ETag" = String), ("Location" = String))), WriteErrors))]
#[post("/providers")]
pub async fn create_provider(
    state: web::Data<AppState>,
    actor: Actor,
    body: JsonBody<NewProviderInput>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, input) = (actor.principal(&state.clock), body.into_inner()?);
    let provider = state
        .write(move |c| providers::create(c, &by, input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(provider.version))
        .insert_header(("Location", format!("/v1/admin/providers/{}", provider.id)))
        .json(provider))
}

/// Update a provider.
///
/// Changes the provider's details sent (admin); absent fields stay, `null` clears an optional one.
/// Needs `If-Match` with the provider's current ETag.
#[utoipa::path(tag = "providers", request_body = ProviderPatch, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("If-Match" = String, Header, description = "The provider's ETag")),
    responses((status = 200, description = "The provider, updated", body = ProviderAdminView, headers(("ETag" = String))), WriteErrors))]
#[patch("/providers/{id}")]
pub async fn update_provider(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<ProviderPatch>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id, patch) = (
        actor.principal(&state.clock),
        id.into_inner(),
        body.into_inner()?,
    );
    let provider = state
        .write(move |c| providers::update(c, &by, id, if_match.0, patch))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(provider.version))
        .json(provider))
}

/// Delete a provider.
///
/// Deletes a provider with its credentials, location links and treatments (admin). With `If-Match`,
/// only at that version.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("If-Match" = Option<String>, Header, description = "Optional: only delete at this version")),
    responses((status = 204, description = "Deleted"), WriteErrors))]
#[delete("/providers/{id}")]
pub async fn delete_provider(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id) = (actor.principal(&state.clock), id.into_inner());
    state
        .write(move |c| providers::delete(c, &by, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Link a provider to a location.
///
/// Says that a provider practises at a location (admin). Idempotent: linking twice changes nothing.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("location_id" = i64, Path, description = "Location id", example = 7)),
    responses((status = 204, description = "Linked"), WriteErrors))]
#[put("/providers/{id}/locations/{location_id}")]
pub async fn link_location(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, (provider_id, location_id)) = (actor.principal(&state.clock), path.into_inner());
    state
        .write(move |c| providers::link_location(c, &by, provider_id, location_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unlink a provider from a location.
///
/// Removes a provider from a location (admin); the provider and the location stay.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("location_id" = i64, Path, description = "Location id", example = 7)),
    responses((status = 204, description = "Unlinked"), WriteErrors))]
#[delete("/providers/{id}/locations/{location_id}")]
pub async fn unlink_location(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, (provider_id, location_id)) = (actor.principal(&state.clock), path.into_inner());
    state
        .write(move |c| providers::unlink_location(c, &by, provider_id, location_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Offer a treatment.
///
/// Says that a provider offers a treatment (admin), with its yearly procedure volume when known.
/// Idempotent; a second call replaces the volume.
#[utoipa::path(tag = "providers", request_body = TreatmentOfferInput, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("code" = crate::domain::schemas::TreatmentCode, Path, description = "Treatment code", example = "chronic_migraine")),
    responses((status = 200, description = "The treatment as the provider now offers it", body = OfferedTreatment), WriteErrors))]
#[put("/providers/{id}/treatments/{code}")]
pub async fn set_treatment(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, String)>,
    body: JsonBody<TreatmentOfferInput>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, (provider_id, code)) = (actor.principal(&state.clock), path.into_inner());
    let input = body.into_inner()?;
    let offered = state
        .write(move |c| providers::set_treatment(c, &by, provider_id, code, input))
        .await?;
    Ok(HttpResponse::Ok().json(offered))
}

/// Stop offering a treatment.
///
/// Stops listing a treatment for a provider (admin); search for that treatment no longer finds
/// them.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("code" = crate::domain::schemas::TreatmentCode, Path, description = "Treatment code", example = "chronic_migraine")),
    responses((status = 204, description = "Removed"), WriteErrors))]
#[delete("/providers/{id}/treatments/{code}")]
pub async fn remove_treatment(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, String)>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, (provider_id, code)) = (actor.principal(&state.clock), path.into_inner());
    state
        .write(move |c| providers::remove_treatment(c, &by, provider_id, code))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
