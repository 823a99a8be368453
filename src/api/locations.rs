//! Locations: a clinic's sites, with coordinates, timezone and weekly opening hours.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{ListErrors, ReadErrors, WriteErrors};
use super::{page_of, parse_limit, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db;
use crate::directory::audit::EDITORS;
use crate::directory::locations::{self, LocationPatch, LocationView, NewLocationInput};
use crate::search::cursor;
use crate::state::AppState;

/// Filters for the location list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocationListParams {
    /// Only this clinic's locations.
    #[param(value_type = Option<crate::domain::schemas::Id>, inline, example = 7)]
    pub clinic_id: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// List locations.
///
/// Every clinic location, ordered by id, optionally of one clinic, a page at a time: pass
/// `next_cursor` back as `cursor` for the next page.
#[utoipa::path(tag = "locations", params(LocationListParams), responses((status = 200, description = "A page of locations", body = Page<LocationView>), ListErrors))]
#[get("/locations")]
pub async fn list_locations(
    state: web::Data<AppState>,
    params: web::Query<LocationListParams>,
) -> ApiResult<HttpResponse> {
    let mut errors = Vec::new();
    let limit = parse_limit(params.limit.as_deref(), 20, 100, &mut errors) as i64;
    let clinic_id = params.clinic_id.as_deref().and_then(|text| {
        let parsed = text
            .parse::<i64>()
            .ok()
            .filter(|id| (1..=crate::domain::schemas::MAX_ID).contains(id));
        if parsed.is_none() {
            errors.push(FieldError::query(
                "clinic_id",
                "invalid_value",
                "clinic_id must be a clinic id: an integer from 1",
            ));
        }
        parsed
    });
    let after_id = match params.cursor.as_deref() {
        None => 0,
        Some(text) => cursor::decode_list("locations", text).unwrap_or_else(|| {
            errors.push(FieldError::query(
                "cursor",
                "invalid_cursor",
                "not a cursor this list gave out",
            ));
            0
        }),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let freshness = state.freshness();
    let page = state
        .read_public(move |c| {
            let rows = db::locations::list(c, clinic_id, after_id, limit + 1)?;
            let page = page_of("locations", rows, limit, |row| row.id, |row| row);
            let items = page
                .items
                .into_iter()
                .map(|row| Ok(locations::public_view(c, row, &freshness)?))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a location.
///
/// One location with its address, coordinates, timezone, opening hours and the providers listed
/// there: verified, with a counting licence for the location's state.
#[utoipa::path(tag = "locations", params(("id" = i64, Path, description = "Location id", example = 7)),
    responses((status = 200, description = "The location", body = LocationView, headers(("ETag" = String))), ReadErrors))]
#[get("/locations/{id}")]
pub async fn get_location(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (id, freshness) = (id.into_inner(), state.freshness());
    let location = state
        .read_public(move |c| {
            let row = db::locations::get(c, id)?;
            Ok(locations::public_view(c, row, &freshness)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(location.version))
        .json(location))
}

/// Create a location.
///
/// Adds a site to a clinic (admin). It is searchable at once. Answers 201 with the location, its
/// `Location` and its `ETag`.
#[utoipa::path(tag = "locations", request_body = NewLocationInput, security(("api_key" = ["admin"])),
    responses((status = 201, description = "The location, created", body = LocationView, headers(("ETag" = String), ("Location" = String))), WriteErrors))]
#[post("/locations")]
pub async fn create_location(
    state: web::Data<AppState>,
    actor: Actor,
    body: JsonBody<NewLocationInput>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, input) = (actor.principal(&state.clock), body.into_inner()?);
    let location = state
        .write(move |c| locations::create(c, &by, input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(location.version))
        .insert_header(("Location", format!("/v1/locations/{}", location.id)))
        .json(location))
}

/// Update a location.
///
/// Changes the fields sent (admin); moving it moves it in search at once. Needs `If-Match` with the
/// location's current ETag: 412 when it has changed since, 428 without it.
#[utoipa::path(tag = "locations", request_body = LocationPatch, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Location id", example = 7), ("If-Match" = String, Header, description = "The location's ETag")),
    responses((status = 200, description = "The location, updated", body = LocationView, headers(("ETag" = String))), WriteErrors))]
#[patch("/locations/{id}")]
pub async fn update_location(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<LocationPatch>,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id, patch) = (
        actor.principal(&state.clock),
        id.into_inner(),
        body.into_inner()?,
    );
    let location = state
        .write(move |c| locations::update(c, &by, id, if_match.0, patch))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(location.version))
        .json(location))
}

/// Delete a location.
///
/// Deletes a location (admin); its provider links go with it. With `If-Match`, only at that
/// version.
#[utoipa::path(tag = "locations", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Location id", example = 7), ("If-Match" = Option<String>, Header, description = "Optional: only delete at this version")),
    responses((status = 204, description = "Deleted"), WriteErrors))]
#[delete("/locations/{id}")]
pub async fn delete_location(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    actor.require(EDITORS.roles)?;
    let (by, id) = (actor.principal(&state.clock), id.into_inner());
    state
        .write(move |c| locations::delete(c, &by, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
