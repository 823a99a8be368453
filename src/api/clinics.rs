//! Clinics: public reads; admin create, update (If-Match), delete (cascades to its locations).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{ListErrors, ReadErrors, WriteErrors};
use super::{page_of, ListParams, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult};
use crate::db::{self, clinics::ClinicChanges, models::ClinicRow, models::NewClinic};
use crate::domain::validation::Checks;
use crate::domain::Role;
use crate::search::Affected;
use crate::state::AppState;

/// A clinic: the practice that runs one or more locations.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "name": "Midtown Neurology & Headache Center", "website": "https://example-midtown-neuro.com",
    "phone": "+1-212-555-0142", "description": "Headache medicine and movement disorders.", "location_ids": [11, 12],
    "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:00:00Z", "version": 1}))]
pub struct ClinicView {
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The importer's key for this clinic, when it came from an import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The clinic's locations.
    pub location_ids: Vec<i64>,
    /// UTC.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub created_at: NaiveDateTime,
    /// UTC.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub updated_at: NaiveDateTime,
    /// Increases with every change; send it back in `If-Match` to update.
    pub version: i64,
}

impl ClinicView {
    pub fn new(row: ClinicRow, location_ids: Vec<i64>) -> ClinicView {
        ClinicView {
            id: row.id,
            name: row.name,
            website: row.website,
            phone: row.phone,
            description: row.description,
            external_id: row.external_id,
            location_ids,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A new clinic.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Midtown Neurology & Headache Center", "website": "https://example-midtown-neuro.com", "phone": "+1-212-555-0142"}))]
pub struct NewClinicInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[validate(
        url,
        custom(function = "crate::domain::validation::http_url"),
        length(max = 500)
    )]
    #[schema(
        max_length = 500,
        format = "uri",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
    )]
    pub website: Option<String>,
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40)]
    pub phone: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<String>,
}

/// Changes to a clinic: absent fields stay as they are; `null` clears an optional field.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+1-212-555-0199", "description": null}))]
pub struct ClinicPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(
        url,
        custom(function = "crate::domain::validation::http_url"),
        length(max = 500)
    )]
    #[schema(
        max_length = 500,
        format = "uri",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
    )]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<Option<String>>,
}

fn view(connection: &mut db::DbConnection, row: ClinicRow) -> ApiResult<ClinicView> {
    let location_ids = db::clinics::location_ids(connection, row.id)?;
    Ok(ClinicView::new(row, location_ids))
}

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
        .read(move |c| Ok(db::clinics::list(c, page.after_id, page.limit + 1)?))
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
        .read(move |c| {
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
        .read(move |c| {
            let row = db::clinics::get(c, id)?;
            view(c, row)
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
    actor.require(&[Role::Admin])?;
    let input = body.into_inner()?;
    Checks::of(&input).finish()?;
    let now = db::now();
    let new = NewClinic {
        name: input.name,
        website: input.website,
        phone: input.phone,
        description: input.description,
        external_id: input.external_id,
        created_at: now,
        updated_at: now,
    };
    let clinic = state
        .write(
            move |c| {
                let row = db::clinics::insert(c, &new)?;
                let clinic = view(c, row)?;
                db::audit::record(
                    c,
                    &actor,
                    "clinic.create",
                    "clinic",
                    clinic.id,
                    None::<&ClinicView>,
                    Some(&clinic),
                    None,
                )?;
                Ok(clinic)
            },
            move |clinic| Affected::clinic(clinic.id),
        )
        .await?;
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
    actor.require(&[Role::Admin])?;
    let (id, input) = (id.into_inner(), body.into_inner()?);
    Checks::of(&input).finish()?;
    let expected = if_match.required()?;
    let changes = ClinicChanges {
        name: input.name,
        website: input.website,
        phone: input.phone,
        description: input.description,
        external_id: input.external_id,
    };
    let clinic = state
        .write(
            move |c| {
                let before = db::clinics::get(c, id)?;
                let before = view(c, before)?;
                let row = db::clinics::update(c, id, expected, &changes)?;
                let after = view(c, row)?;
                db::audit::record(
                    c,
                    &actor,
                    "clinic.update",
                    "clinic",
                    id,
                    Some(&before),
                    Some(&after),
                    None,
                )?;
                Ok(after)
            },
            move |_| Affected::clinic(id),
        )
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
    actor.require(&[Role::Admin])?;
    let id = id.into_inner();
    state
        .write(
            move |c| {
                let row = db::clinics::get(c, id)?;
                if if_match.0.is_some_and(|expected| expected != row.version) {
                    return Err(crate::api::error::ApiError::PreconditionFailed {
                        current_version: row.version,
                    });
                }
                let before = view(c, row)?;
                db::clinics::delete(c, id)?;
                db::audit::record(
                    c,
                    &actor,
                    "clinic.delete",
                    "clinic",
                    id,
                    Some(&before),
                    None::<&ClinicView>,
                    None,
                )?;
                Ok(before.location_ids)
            },
            move |location_ids| Affected {
                clinics: vec![id],
                locations: location_ids.clone(),
                providers: vec![],
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
