//! Locations: a clinic's sites, with coordinates, timezone and weekly opening hours.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{ListErrors, ReadErrors, WriteErrors};
use super::{page_of, parse_limit, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db::{self, locations::LocationChanges, models::LocationRow, models::NewLocation};
use crate::domain::validation::Checks;
use crate::domain::{Coordinates, Role, WeeklyHours};
use crate::search::{cursor, Affected};
use crate::state::AppState;

/// A postal address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Address {
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    /// USPS state code.
    pub state: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A location: one site of a clinic.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 11, "clinic_id": 7, "name": "Midtown office",
    "address": {"line1": "350 5th Ave", "city": "New York", "state": "NY", "postal_code": "10118", "country": "US"},
    "coordinates": {"lat": 40.7484, "lon": -73.9857}, "timezone": "America/New_York",
    "opening_hours": {"mon": [{"opens": "09:00", "closes": "17:00"}]}, "phone": "+1-212-555-0100",
    "provider_ids": [42], "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:00:00Z", "version": 1}))]
pub struct LocationView {
    pub id: i64,
    pub clinic_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub address: Address,
    pub coordinates: Coordinates,
    /// IANA timezone; opening hours are local to it.
    pub timezone: String,
    pub opening_hours: WeeklyHours,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Providers practising here (public reads list verified providers only).
    pub provider_ids: Vec<i64>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

pub fn location_view(row: LocationRow, provider_ids: Vec<i64>) -> LocationView {
    LocationView {
        id: row.id,
        clinic_id: row.clinic_id,
        name: row.name,
        address: Address {
            line1: row.address_line1,
            line2: row.address_line2,
            city: row.city,
            state: row.state,
            postal_code: row.postal_code,
            country: row.country,
        },
        coordinates: Coordinates {
            lat: row.latitude,
            lon: row.longitude,
        },
        timezone: row.timezone,
        opening_hours: serde_json::from_str(&row.opening_hours).unwrap_or_default(),
        phone: row.phone,
        external_id: row.external_id,
        provider_ids,
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    }
}

/// A new location.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"clinic_id": 7, "name": "Midtown office", "address_line1": "350 5th Ave", "city": "New York",
    "state": "NY", "postal_code": "10118", "latitude": 40.7484, "longitude": -73.9857, "timezone": "America/New_York",
    "opening_hours": {"mon": [{"opens": "09:00", "closes": "17:00"}]}}))]
pub struct NewLocationInput {
    pub clinic_id: i64,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub address_line1: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub address_line2: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    /// USPS state code, e.g. `NY`.
    pub state: String,
    #[validate(length(min = 3, max = 10))]
    #[schema(min_length = 3, max_length = 10)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2; the directory covers the US (default `US`).
    pub country: Option<String>,
    /// WGS84 latitude, −90 to 90.
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: f64,
    /// WGS84 longitude, −180 to 180.
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: f64,
    /// IANA timezone, e.g. `America/New_York`.
    pub timezone: String,
    #[serde(default)]
    pub opening_hours: WeeklyHours,
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40)]
    pub phone: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<String>,
}

/// Changes to a location: absent fields stay; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"latitude": 40.7505, "longitude": -73.9934, "opening_hours": {"mon": [{"opens": "08:00", "closes": "16:00"}]}}))]
pub struct LocationPatch {
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<Option<String>>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub address_line1: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub address_line2: Option<Option<String>>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub city: Option<String>,
    pub state: Option<String>,
    #[validate(length(min = 3, max = 10))]
    #[schema(min_length = 3, max_length = 10)]
    pub postal_code: Option<String>,
    pub country: Option<String>,
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    pub timezone: Option<String>,
    pub opening_hours: Option<WeeklyHours>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<Option<String>>,
}

/// Checks shared by create and update; returns the opening hours as stored JSON.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_place(
    checks: &mut Checks,
    state: Option<&str>,
    country: Option<&str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    timezone: Option<&str>,
    hours: Option<&WeeklyHours>,
) -> Option<String> {
    if let Some(state) = state {
        checks.us_state("/state", state);
    }
    if let Some(country) = country.filter(|c| *c != "US") {
        checks.push(
            "/country",
            "unsupported_country",
            format!("`{country}`: the directory covers the US only"),
        );
    }
    if let Some(lat) = latitude.filter(|lat| Coordinates::check_latitude(*lat).is_err()) {
        checks.push(
            "/latitude",
            "out_of_range",
            format!("{lat}: latitude must be between -90 and 90"),
        );
    }
    if let Some(lon) = longitude.filter(|lon| Coordinates::check_longitude(*lon).is_err()) {
        checks.push(
            "/longitude",
            "out_of_range",
            format!("{lon}: longitude must be between -180 and 180"),
        );
    }
    if let Some(timezone) = timezone.filter(|tz| tz.parse::<chrono_tz::Tz>().is_err()) {
        checks.push(
            "/timezone",
            "unknown_value",
            format!("`{timezone}` is not an IANA timezone, e.g. America/New_York"),
        );
    }
    let hours = hours?;
    match hours.compile("/opening_hours") {
        Ok(_) => serde_json::to_string(hours).ok(),
        Err(errors) => {
            checks.errors.extend(errors);
            None
        }
    }
}

/// Filters for the location list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocationListParams {
    /// Only this clinic's locations.
    #[param(value_type = Option<i64>, example = 7)]
    pub clinic_id: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn public_view(connection: &mut db::DbConnection, row: LocationRow) -> ApiResult<LocationView> {
    let provider_ids = db::locations::provider_ids(connection, row.id, true)?;
    Ok(location_view(row, provider_ids))
}

fn admin_view(connection: &mut db::DbConnection, row: LocationRow) -> ApiResult<LocationView> {
    let provider_ids = db::locations::provider_ids(connection, row.id, false)?;
    Ok(location_view(row, provider_ids))
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
        let parsed = text.parse::<i64>().ok();
        if parsed.is_none() {
            errors.push(FieldError::query(
                "clinic_id",
                "invalid_value",
                "clinic_id must be an integer",
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
    let page = state
        .read(move |c| {
            let rows = db::locations::list(c, clinic_id, after_id, limit + 1)?;
            let page = page_of("locations", rows, limit, |row| row.id, |row| row);
            let items = page
                .items
                .into_iter()
                .map(|row| public_view(c, row))
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
/// One location with its address, coordinates, timezone, opening hours and the verified providers
/// who practise there.
#[utoipa::path(tag = "locations", params(("id" = i64, Path, description = "Location id", example = 7)),
    responses((status = 200, description = "The location", body = LocationView, headers(("ETag" = String))), ReadErrors))]
#[get("/locations/{id}")]
pub async fn get_location(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let location = state
        .read(move |c| {
            let row = db::locations::get(c, id)?;
            public_view(c, row)
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
    actor.require(&[Role::Admin])?;
    let input = body.into_inner()?;
    let mut checks = Checks::of(&input);
    let hours = check_place(
        &mut checks,
        Some(&input.state),
        input.country.as_deref(),
        Some(input.latitude),
        Some(input.longitude),
        Some(&input.timezone),
        Some(&input.opening_hours),
    );
    checks.finish()?;
    let now = db::now();
    let new = NewLocation {
        clinic_id: input.clinic_id,
        name: input.name,
        address_line1: input.address_line1,
        address_line2: input.address_line2,
        city: input.city,
        state: input.state,
        postal_code: input.postal_code,
        country: input.country.unwrap_or_else(|| "US".to_owned()),
        latitude: input.latitude,
        longitude: input.longitude,
        timezone: input.timezone,
        opening_hours: hours.unwrap_or_else(|| "{}".to_owned()),
        phone: input.phone,
        external_id: input.external_id,
        created_at: now,
        updated_at: now,
    };
    let location = state
        .write(
            move |c| {
                if db::clinics::find(c, new.clinic_id)?.is_none() {
                    return Err(ApiError::validation(FieldError::body(
                        "/clinic_id",
                        "not_found",
                        format!("clinic {} does not exist", new.clinic_id),
                    )));
                }
                let row = db::locations::insert(c, &new)?;
                let location = admin_view(c, row)?;
                db::audit::record(
                    c,
                    &actor,
                    "location.create",
                    "location",
                    location.id,
                    None::<&LocationView>,
                    Some(&location),
                    None,
                )?;
                Ok(location)
            },
            move |location| Affected::location(location.id),
        )
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
    actor.require(&[Role::Admin])?;
    let (id, input) = (id.into_inner(), body.into_inner()?);
    let mut checks = Checks::of(&input);
    let hours = check_place(
        &mut checks,
        input.state.as_deref(),
        input.country.as_deref(),
        input.latitude,
        input.longitude,
        input.timezone.as_deref(),
        input.opening_hours.as_ref(),
    );
    checks.finish()?;
    let expected = if_match.required()?;
    let changes = LocationChanges {
        name: input.name,
        address_line1: input.address_line1,
        address_line2: input.address_line2,
        city: input.city,
        state: input.state,
        postal_code: input.postal_code,
        country: input.country,
        latitude: input.latitude,
        longitude: input.longitude,
        timezone: input.timezone,
        opening_hours: hours,
        phone: input.phone,
        external_id: input.external_id,
    };
    let location = state
        .write(
            move |c| {
                let before = db::locations::get(c, id)?;
                let before = admin_view(c, before)?;
                let row = db::locations::update(c, id, expected, &changes)?;
                let after = admin_view(c, row)?;
                db::audit::record(
                    c,
                    &actor,
                    "location.update",
                    "location",
                    id,
                    Some(&before),
                    Some(&after),
                    None,
                )?;
                Ok(after)
            },
            move |_| Affected::location(id),
        )
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
    actor.require(&[Role::Admin])?;
    let id = id.into_inner();
    state
        .write(
            move |c| {
                let row = db::locations::get(c, id)?;
                if if_match.0.is_some_and(|expected| expected != row.version) {
                    return Err(ApiError::PreconditionFailed {
                        current_version: row.version,
                    });
                }
                let before = admin_view(c, row)?;
                db::locations::delete(c, id)?;
                db::audit::record(
                    c,
                    &actor,
                    "location.delete",
                    "location",
                    id,
                    Some(&before),
                    None::<&LocationView>,
                    None,
                )?;
                Ok(())
            },
            move |_| Affected::location(id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
