//! Clinics: public reads; admin create, update (If-Match), delete (cascades to its locations).

use actix_web::{delete, get, patch, post, web, HttpResponse};

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{ListErrors, ReadErrors, WriteErrors};
use super::{page_of, ListParams, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult};
use crate::db;
use crate::directory::audit::EDITORS;
use crate::directory::clinics::{self, ClinicPatch, ClinicView, NewClinicInput};
use crate::state::AppState;

/// List clinics.
///
/// Every clinic, ordered by id, a page at a time: pass `next_cursor` back as `cursor` for the next
/// page.
#[utoipa::path(tag = "clinics", params(ListParams), responses((status = 200, description = "A page of clinics", body = Page<ClinicView>), ListErrors))]
#[get("/clinics")]
pub async fn list_clinics(
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let page = params.parse("clinics")?;
    let rows = state
        .read_public(move |c| Ok(db::clinics::list(c, page.after_id, page.limit + 1)?))
        .await?;
    let page = page_of(
        "clinics",
        rows,
        page.limit,
        |row| row.id,
        |row| ClinicView::new(row, Vec::new()),
    );
    let ids: Vec<i64> = page.items.iter().map(|c| c.id).collect();
    let location_ids = state
        .read_public(move |c| {
            ids.into_iter()
                .map(|id| db::clinics::location_ids(c, id))
                .collect::<Result<Vec<_>, crate::db::DbError>>()
                .map_err(ApiError::from)
        })
        .await?;
    let items = page
        .items
        .into_iter()
        .zip(location_ids)
        .map(|(clinic, ids)| ClinicView {
            location_ids: ids,
            ..clinic
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Get a clinic.
///
/// One clinic with the ids of its locations. The `ETag` carries the clinic's version, which an
/// admin sends back in `If-Match` to update it.
#[utoipa::path(tag = "clinics", params(("id" = i64, Path, description = "Clinic id", example = 7)),
    responses((status = 200, description = "The clinic", body = ClinicView, headers(("ETag" = String, description = "The version, for If-Match"))), ReadErrors))]
#[get("/clinics/{id}")]
pub async fn get_clinic(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let clinic = state
        .read_public(move |c| {
            let row = db::clinics::get(c, id)?;
            Ok(clinics::view(c, row)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(clinic.version))
        .json(clinic))
}

/// Create a clinic.
///
/// Adds a clinic (admin). Answers 201 with the clinic, its `Location` and its `ETag`; the write is
/// in the audit trail.
#[utoipa::path(tag = "clinics", request_body = NewClinicInput, security(("api_key" = ["admin"])),
    responses((status = 201, description = "The clinic, created", body = ClinicView, headers(("ETag" = String), ("Location" = String))), WriteErrors))]
#[post("/clinics")]
pub async fn create_clinic(
    state: web::Data<AppState>,
    actor: Actor,
    body: JsonBody<NewClinicInput>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, input) = (actor.principal(&state.clock), body.into_inner()?);
    let clinic = state.write(move |c| clinics::create(c, &by, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(clinic.version))
        .insert_header(("Location", format!("/v1/clinics/{}", clinic.id)))
        .json(clinic))
}

/// Update a clinic.
///
/// Changes the fields sent (admin); absent fields stay, `null` clears an optional one. Needs `If-
/// Match` with the clinic's current ETag: 412 when it has changed since, 428 without it.
#[utoipa::path(tag = "clinics", request_body = ClinicPatch, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Clinic id", example = 7), ("If-Match" = String, Header, description = "The clinic's ETag, e.g. \"3\"")),
    responses((status = 200, description = "The clinic, updated", body = ClinicView, headers(("ETag" = String))), WriteErrors))]
#[patch("/clinics/{id}")]
pub async fn update_clinic(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<ClinicPatch>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id, patch) = (
        actor.principal(&state.clock),
        id.into_inner(),
        body.into_inner()?,
    );
    let clinic = state
        .write(move |c| clinics::update(c, &by, id, if_match.0, patch))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(clinic.version))
        .json(clinic))
}

/// Delete a clinic.
///
/// Deletes a clinic and its locations (admin); the providers' links to those locations go with
/// them. With `If-Match`, only at that version.
#[utoipa::path(tag = "clinics", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Clinic id", example = 7), ("If-Match" = Option<String>, Header, description = "Optional: only delete at this version")),
    responses((status = 204, description = "Deleted"), WriteErrors))]
#[delete("/clinics/{id}")]
pub async fn delete_clinic(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id) = (actor.principal(&state.clock), id.into_inner());
    state
        .write(move |c| clinics::delete(c, &by, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
