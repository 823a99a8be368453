//! Locations: a clinic's sites, with coordinates, timezone and weekly opening hours.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::audit::EDITORS;
use super::{check_version, raced, write, Change, DirectoryError, DirectoryResult, Principal};
use super::{AuditAction, AuditEvent, Written};
use crate::db::change_log::Affected;
use crate::db::locations::LocationChanges;
use crate::db::models::{LocationRow, NewLocation};
use crate::db::{self, DbConnection, DbResult};
use crate::domain::schemas::{Id, Timestamp, Timezone, UsState};
use crate::domain::{Checks, Coordinates, FieldError, Freshness, GeocodePrecision, WeeklyHours};

/// A postal address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Address {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = "^[^\\x00]*$")]
    pub line2: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub city: String,
    /// USPS state code.
    #[schema(value_type = UsState)]
    pub state: String,
    #[schema(min_length = 3, max_length = 10, pattern = "^[^\\x00]*$")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[schema(max_length = 2, pattern = "^US$")]
    pub country: String,
}

/// A location: one site of a clinic.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 11, "clinic_id": 7, "name": "Midtown office",
    "address": {"line1": "350 5th Ave", "city": "New York", "state": "NY", "postal_code": "10118", "country": "US"},
    "coordinates": {"lat": 40.7484, "lon": -73.9857}, "geocode_precision": "rooftop", "timezone": "America/New_York",
    "opening_hours": {"mon": [{"opens": "09:00", "closes": "17:00"}]}, "phone": "+1-212-555-0100",
    "provider_ids": [42], "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:00:00Z", "version": 1}))]
pub struct LocationView {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(value_type = Id, inline)]
    pub clinic_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: Option<String>,
    pub address: Address,
    pub coordinates: Coordinates,
    /// How the coordinates were found: `rooftop` (entered by an admin) or `postal_code` (the
    /// ZIP code's centroid, as an NPPES import places an address).
    pub geocode_precision: GeocodePrecision,
    /// IANA timezone; opening hours are local to it.
    #[schema(value_type = Timezone)]
    pub timezone: String,
    pub opening_hours: WeeklyHours,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<String>,
    /// Providers practising here. Public reads list only those listed in search here: verified,
    /// with a verified licence for this state that has not expired and is not overdue.
    #[schema(value_type = Vec<Id>, inline)]
    pub provider_ids: Vec<i64>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub updated_at: NaiveDateTime,
    #[schema(value_type = Id, inline)]
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
        geocode_precision: GeocodePrecision::parse(&row.geocode_precision)
            .unwrap_or(GeocodePrecision::Rooftop),
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
    #[schema(value_type = Id, inline)]
    pub clinic_id: i64,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub address_line1: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200, pattern = "^[^\\x00]*$")]
    pub address_line2: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub city: String,
    /// USPS state code, e.g. `NY`.
    #[schema(value_type = UsState)]
    pub state: String,
    #[validate(length(min = 3, max = 10))]
    #[schema(min_length = 3, max_length = 10, pattern = "^[^\\x00]*$")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2; the directory covers the US (default `US`).
    #[schema(value_type = Option<String>, max_length = 2, pattern = "^US$")]
    pub country: Option<String>,
    /// WGS84 latitude, −90 to 90.
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: f64,
    /// WGS84 longitude, −180 to 180.
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: f64,
    /// IANA timezone, e.g. `America/New_York`.
    #[schema(value_type = Timezone)]
    pub timezone: String,
    #[serde(default)]
    pub opening_hours: WeeklyHours,
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<String>,
    /// How the coordinates were found (default `rooftop`).
    #[schema(value_type = Option<GeocodePrecision>)]
    pub geocode_precision: Option<String>,
}

/// Changes to a location: absent fields stay; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"latitude": 40.7505, "longitude": -73.9934, "opening_hours": {"mon": [{"opens": "08:00", "closes": "16:00"}]}}))]
pub struct LocationPatch {
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: Option<Option<String>>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub address_line1: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(max = 200))]
    #[schema(max_length = 200, pattern = "^[^\\x00]*$")]
    pub address_line2: Option<Option<String>>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub city: Option<String>,
    #[schema(value_type = Option<UsState>)]
    pub state: Option<String>,
    #[validate(length(min = 3, max = 10))]
    #[schema(min_length = 3, max_length = 10, pattern = "^[^\\x00]*$")]
    pub postal_code: Option<String>,
    #[schema(value_type = Option<String>, max_length = 2, pattern = "^US$")]
    pub country: Option<String>,
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    #[schema(value_type = Option<Timezone>)]
    pub timezone: Option<String>,
    pub opening_hours: Option<WeeklyHours>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<Option<String>>,
    /// How the coordinates were found. New coordinates without it are taken as `rooftop` (an
    /// admin's edit of a ZIP-centroid location).
    #[schema(value_type = Option<GeocodePrecision>)]
    pub geocode_precision: Option<String>,
}

/// Checks shared by create and update; returns the opening hours as stored JSON.
#[allow(clippy::too_many_arguments)]
fn check_place(
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

/// A location as the public sees it: only the providers listed there — verified, and holding a
/// licence for the location's state that counts on `freshness.today` (the rule search applies).
pub fn public_view(
    connection: &mut DbConnection,
    row: LocationRow,
    freshness: &Freshness,
) -> DbResult<LocationView> {
    let verified = db::locations::provider_ids(connection, row.id, true)?;
    let licensed: std::collections::HashSet<i64> =
        db::credentials::verified_licences_in_state(connection, &verified, &row.state)?
            .into_iter()
            .filter(|(_, expires_on, next_due_on)| freshness.counts(*expires_on, *next_due_on))
            .map(|(provider_id, ..)| provider_id)
            .collect();
    let provider_ids = verified
        .into_iter()
        .filter(|id| licensed.contains(id))
        .collect();
    Ok(location_view(row, provider_ids))
}

/// A location as admins see it: every provider listed.
pub fn admin_view(connection: &mut DbConnection, row: LocationRow) -> DbResult<LocationView> {
    let provider_ids = db::locations::provider_ids(connection, row.id, false)?;
    Ok(location_view(row, provider_ids))
}

/// The rules for a new location (the importer applies them to every location record too): the
/// field checks, with the opening hours as stored JSON when they are valid. The clinic's
/// existence is checked when the location is written.
pub fn check_new(input: &NewLocationInput) -> (Checks, Option<String>) {
    let mut checks = Checks::of(input);
    let hours = check_place(
        &mut checks,
        Some(&input.state),
        input.country.as_deref(),
        Some(input.latitude),
        Some(input.longitude),
        Some(&input.timezone),
        Some(&input.opening_hours),
    );
    if let Some(precision) = &input.geocode_precision {
        checks.enum_value(
            "/geocode_precision",
            precision,
            GeocodePrecision::parse,
            GeocodePrecision::expected(),
        );
    }
    (checks, hours)
}

/// The location row a valid new location becomes.
pub(crate) fn new_row(input: NewLocationInput, hours: String) -> NewLocation {
    let now = db::now();
    NewLocation {
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
        opening_hours: hours,
        phone: input.phone,
        external_id: input.external_id,
        created_at: now,
        updated_at: now,
        geocode_precision: input
            .geocode_precision
            .unwrap_or_else(|| GeocodePrecision::Rooftop.as_str().to_owned()),
    }
}

/// Adds a site to a clinic; it is searchable at once.
pub fn create(
    connection: &mut DbConnection,
    by: &Principal,
    input: NewLocationInput,
) -> DirectoryResult<Written<LocationView>> {
    by.require(EDITORS)?;
    let (checks, hours) = check_new(&input);
    checks.finish()?;
    let new = new_row(input, hours.unwrap_or_else(|| "{}".to_owned()));
    write(connection, by, |c| {
        if db::clinics::find(c, new.clinic_id)?.is_none() {
            return Err(FieldError::body(
                "/clinic_id",
                "not_found",
                format!("clinic {} does not exist", new.clinic_id),
            )
            .into());
        }
        let row = db::locations::insert(c, &new)?;
        let location = admin_view(c, row)?;
        let event = AuditEvent::of(AuditAction::LocationCreate, location.id).after(&location);
        let affected = Affected::location(location.id);
        Ok(Change::new(location, event, affected))
    })
}

/// Changes the fields sent, at the version the writer expects; moving it moves it in search.
pub fn update(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
    patch: LocationPatch,
) -> DirectoryResult<Written<LocationView>> {
    by.require(EDITORS)?;
    let mut checks = Checks::of(&patch);
    let hours = check_place(
        &mut checks,
        patch.state.as_deref(),
        patch.country.as_deref(),
        patch.latitude,
        patch.longitude,
        patch.timezone.as_deref(),
        patch.opening_hours.as_ref(),
    );
    if let Some(precision) = &patch.geocode_precision {
        checks.enum_value(
            "/geocode_precision",
            precision,
            GeocodePrecision::parse,
            GeocodePrecision::expected(),
        );
    }
    checks.finish()?;
    let expected = expected_version.ok_or(DirectoryError::VersionRequired)?;
    let moved = patch.latitude.is_some() || patch.longitude.is_some();
    let geocode_precision = patch
        .geocode_precision
        .clone()
        .or_else(|| moved.then(|| GeocodePrecision::Rooftop.as_str().to_owned()));
    let changes = LocationChanges {
        name: patch.name,
        address_line1: patch.address_line1,
        address_line2: patch.address_line2,
        city: patch.city,
        state: patch.state,
        postal_code: patch.postal_code,
        country: patch.country,
        latitude: patch.latitude,
        longitude: patch.longitude,
        timezone: patch.timezone,
        opening_hours: hours,
        phone: patch.phone,
        external_id: patch.external_id,
        geocode_precision,
    };
    write(connection, by, |c| {
        let row = db::locations::get(c, id)?;
        check_version(expected, row.version)?;
        let before = admin_view(c, row)?;
        let row =
            db::locations::update(c, id, expected, &changes)?.ok_or_else(|| raced(expected))?;
        let after = admin_view(c, row)?;
        let event = AuditEvent::of(AuditAction::LocationUpdate, id)
            .before(&before)
            .after(&after);
        Ok(Change::new(after, event, Affected::location(id)))
    })
}

/// Deletes a location (its provider links go with it); with an expected version, only at that
/// version.
pub fn delete(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let row = db::locations::get(c, id)?;
        let version = row.version;
        if let Some(expected) = expected_version {
            check_version(expected, version)?;
        }
        let before = admin_view(c, row)?;
        if !db::locations::delete(c, id, version)? {
            return Err(raced(version));
        }
        let event = AuditEvent::of(AuditAction::LocationDelete, id).before(&before);
        Ok(Change::new((), event, Affected::location(id)))
    })
}
