//! The query string of `GET /v1/search/*`: the parameters as the OpenAPI document declares them
//! ([`SearchParams`]) and their parsing into the engine's request, every invalid parameter named
//! in a field error.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::search::response::PlaceChoice;
use crate::domain::schemas::{LanguageCode, SpecialtyCode, TreatmentCode};
use crate::domain::{is_language_code, Coordinates, Degree, LabelStatus};
use crate::search::cursor::{self, CursorError};
use crate::search::geodesy::METRES_PER_MILE;
use crate::search::places::{self, Place, PlaceError};
use crate::search::{zip_codes, Filters, SearchMode, SearchRequest, Sort};
use crate::state::AppState;

pub const MAX_RADIUS_KM: f64 = 300.0;
pub const MAX_LIMIT: usize = 50;
pub const MAX_FILTER_VALUES: usize = 10;
pub const MAX_TEXT_LEN: usize = 100;

/// Near-me search parameters. Give `lat` and `lon`, or `postal_code`, or `place`. List filters
/// take several values separated by commas (`treatment=chronic_migraine,cervical_dystonia`) and
/// match any of them.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Latitude of the centre, WGS84 degrees.
    #[param(value_type = Option<f64>, minimum = -90, maximum = 90, example = 40.7506)]
    pub lat: Option<String>,
    /// Longitude of the centre, WGS84 degrees.
    #[param(value_type = Option<f64>, minimum = -180, maximum = 180, example = -73.9972)]
    pub lon: Option<String>,
    /// A US ZIP code whose centroid is the centre (instead of `lat`/`lon` or `place`).
    #[param(value_type = Option<String>, min_length = 5, max_length = 5, pattern = "^[0-9]{5}$", example = "10001")]
    pub postal_code: Option<String>,
    /// A US city or town whose centre is the centre (instead of `lat`/`lon` or `postal_code`):
    /// "Chicago" or "Springfield, MO", resolved offline from the embedded places table (GeoNames).
    /// A name found in several states is refused (422 `ambiguous_place`) with the choices
    /// (`candidates`, each a `place` to send back), unless one of them is far larger;
    /// `meta.place` says which place was used.
    #[param(value_type = Option<String>, min_length = 2, max_length = 100,
        pattern = "^[A-Za-z0-9À-ÖØ-öø-ſʻ‘’' .,()/-]{2,100}$", example = "Chicago, IL")]
    pub place: Option<String>,
    /// Search radius, in `unit`s: more than 0, at most 300 km (186.4 mi). Default 25.
    #[param(value_type = Option<f64>, exclusive_minimum = 0, maximum = 300, example = 25)]
    pub radius: Option<String>,
    /// Unit of `radius`: `km` (default) or `mi`.
    #[param(value_type = Option<DistanceUnit>, example = "mi")]
    pub unit: Option<String>,
    /// Treatment codes (`GET /v1/treatments`), comma-separated (or the parameter repeated).
    #[param(value_type = Option<Vec<TreatmentCode>>, style = Form, explode = false,
        max_items = 10, example = json!(["chronic_migraine"]))]
    pub treatment: Option<String>,
    /// NUCC specialty codes (`GET /v1/specialties`), comma-separated (or the parameter
    /// repeated): the provider's primary or another specialty.
    #[param(value_type = Option<Vec<SpecialtyCode>>, inline, style = Form, explode = false,
        max_items = 10, example = json!(["2084N0400X"]))]
    pub specialty: Option<String>,
    /// Degrees, comma-separated (or the parameter repeated).
    #[param(value_type = Option<Vec<Degree>>, style = Form, explode = false,
        max_items = 10, example = json!(["MD", "DO"]))]
    pub degree: Option<String>,
    /// At least this many years in practice.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 80, example = 5)]
    pub min_years_experience: Option<String>,
    /// `true`: only providers with a verified, unexpired board certification relevant to the
    /// treatment; `false`: only those without.
    #[param(value_type = Option<bool>, example = true)]
    pub board_certified: Option<String>,
    /// ISO 639-1 language codes, comma-separated (or the parameter repeated): providers who speak
    /// any of them.
    #[param(value_type = Option<Vec<LanguageCode>>, inline, style = Form, explode = false,
        max_items = 10, example = json!(["es"]))]
    pub language: Option<String>,
    /// `true`: only providers accepting new patients; `false`: only those who are not.
    #[param(value_type = Option<bool>, example = true)]
    pub accepting_new_patients: Option<String>,
    /// `true`: only locations open now, in their own timezone (not with `open_at`).
    #[param(value_type = Option<bool>, example = true)]
    pub open_now: Option<String>,
    /// Only locations open at this instant (RFC 3339), in their own timezone (not with
    /// `open_now`).
    #[param(value_type = Option<String>, format = DateTime, max_length = 64,
        example = "2026-12-01T15:30:00Z")]
    pub open_at: Option<String>,
    /// Label statuses, comma-separated (or the parameter repeated): only providers offering a
    /// treatment (among `treatment`, when given) that is `on_label`, `off_label` or `cosmetic`.
    #[param(value_type = Option<Vec<LabelStatus>>, style = Form, explode = false,
        max_items = 3, example = json!(["on_label"]))]
    pub label: Option<String>,
    /// Text the clinic's or the provider's name contains (case-insensitive), 2–100 characters.
    #[param(value_type = Option<String>, min_length = 2, max_length = 100,
        pattern = "^[^\\x00]*$", example = "headache")]
    pub q: Option<String>,
    /// `best` (default), `distance` or `credentials`.
    #[param(value_type = Option<Sort>, example = "distance")]
    pub sort: Option<String>,
    /// Results per page, 1–50 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 50, example = 10)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page of the same query (opaque).
    #[param(value_type = Option<String>, min_length = 1, max_length = 512,
        pattern = "^[A-Za-z0-9_-]+$", example = "eyJxIjoiMWYz")]
    pub cursor: Option<String>,
    /// `geojson` for an RFC 7946 FeatureCollection; `json` for JSON (either overrides `Accept`).
    #[param(value_type = Option<ResponseFormat>, example = "geojson")]
    pub format: Option<String>,
}

/// The list parameters: each takes values separated by commas (the documented form), or repeated
/// (`treatment=a&treatment=b`, which clients generated without support for `explode: false` send).
const LIST_PARAMETERS: [&str; 5] = ["treatment", "specialty", "degree", "language", "label"];

impl SearchParams {
    /// The parameters of a query string: a repeated list parameter is one list; any other
    /// repeated parameter, or one the search does not take, is refused.
    pub fn from_query(query: &str) -> ApiResult<SearchParams> {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|_| {
                ApiError::validation(FieldError::query(
                    "",
                    "invalid_query",
                    "the query string could not be read",
                ))
            })?
            .into_inner();
        let mut merged = serde_json::Map::new();
        let mut errors = Vec::new();
        for (name, value) in pairs {
            match merged.get_mut(&name) {
                Some(serde_json::Value::String(existing))
                    if LIST_PARAMETERS.contains(&name.as_str()) =>
                {
                    existing.push(',');
                    existing.push_str(&value);
                }
                Some(_) => errors.push(FieldError::query(
                    &name,
                    "repeated_parameter",
                    format!("`{name}` may appear once; list several values separated by commas"),
                )),
                None => {
                    merged.insert(name, serde_json::Value::String(value));
                }
            }
        }
        if !errors.is_empty() {
            errors.dedup();
            return Err(ApiError::Validation(errors));
        }
        serde_json::from_value(serde_json::Value::Object(merged)).map_err(|error| {
            let message = error.to_string();
            let field = message.split('`').nth(1).unwrap_or_default().to_owned();
            ApiError::validation(crate::api::extract::unknown_parameter(&field))
        })
    }
}

/// The unit of a search radius.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used: the query is parsed as text.
pub enum DistanceUnit {
    Km,
    Mi,
}

/// What a search answers in, when `Accept` is not to decide.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used: the query is parsed as text.
pub enum ResponseFormat {
    Json,
    Geojson,
}

/// A parsed search: the engine's request plus what the response echoes.
pub(super) struct ParsedSearch {
    pub(super) request: SearchRequest,
    pub(super) postal_code: Option<String>,
    pub(super) place: Option<&'static Place>,
    pub(super) fingerprint: String,
    pub(super) geojson: bool,
    /// Signs the next page's cursor.
    pub(super) signer: cursor::CursorKey,
}

fn list_values(name: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Vec<String> {
    // The documented form (`style: form`, `explode: false`): an empty array is the empty string
    // (no filter, what a form sends for no choice); otherwise no empty value, no spaces.
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Vec::new();
    };
    let values: Vec<String> = text.split(',').map(str::to_owned).collect();
    if values.iter().any(String::is_empty) {
        errors.push(FieldError::query(
            name,
            "empty",
            format!("`{name}` takes values separated by single commas, none of them empty"),
        ));
    }
    if values.len() > MAX_FILTER_VALUES {
        errors.push(FieldError::query(
            name,
            "too_many_values",
            format!("at most {MAX_FILTER_VALUES} values"),
        ));
    }
    values
        .into_iter()
        .filter(|value| !value.is_empty())
        .collect()
}

fn boolean(name: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<bool> {
    match text? {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            errors.push(FieldError::query(
                name,
                "invalid_boolean",
                "`true` or `false`",
            ));
            None
        }
    }
}

fn number(name: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<f64> {
    let value = text?.trim().parse::<f64>();
    match value {
        Ok(value) if value.is_finite() => Some(value),
        _ => {
            errors.push(FieldError::query(
                name,
                "invalid_number",
                "a finite decimal number",
            ));
            None
        }
    }
}

pub(super) fn parse_search(
    state: &AppState,
    params: &SearchParams,
    mode: SearchMode,
    wants_geojson: bool,
) -> ApiResult<ParsedSearch> {
    let mut errors = Vec::new();
    let mut candidates = Vec::new();
    let now = state.clock.now();

    // Where.
    let lat = number("lat", params.lat.as_deref(), &mut errors);
    let lon = number("lon", params.lon.as_deref(), &mut errors);
    if let Some(lat) = lat.filter(|lat| Coordinates::check_latitude(*lat).is_err()) {
        errors.push(FieldError::query(
            "lat",
            "out_of_range",
            format!("{lat}: latitude must be between -90 and 90"),
        ));
    }
    if let Some(lon) = lon.filter(|lon| Coordinates::check_longitude(*lon).is_err()) {
        errors.push(FieldError::query(
            "lon",
            "out_of_range",
            format!("{lon}: longitude must be between -180 and 180"),
        ));
    }
    let mut centre = None;
    let mut place = None;
    let given = [
        params.lat.is_some() || params.lon.is_some(),
        params.postal_code.is_some(),
        params.place.is_some(),
    ];
    if given.iter().filter(|given| **given).count() > 1 {
        let second = if given[0] { "postal_code" } else { "place" };
        let pointer = if given[2] { "place" } else { second };
        errors.push(FieldError::query(
            pointer,
            "conflict",
            "give lat and lon, or postal_code, or place: one of them",
        ));
    } else if given[0] {
        match (lat, lon, params.lat.is_some(), params.lon.is_some()) {
            (_, _, true, false) => {
                errors.push(FieldError::query("lon", "required", "lat needs lon"))
            }
            (_, _, false, true) => {
                errors.push(FieldError::query("lat", "required", "lon needs lat"))
            }
            (Some(lat), Some(lon), _, _) => centre = Coordinates::new(lat, lon).ok(),
            _ => {}
        }
    } else if let Some(zip) = params.postal_code.as_deref() {
        if !zip_codes::is_zip_code(zip) {
            errors.push(FieldError::query(
                "postal_code",
                "invalid_postal_code",
                "a 5-digit US ZIP code",
            ));
        } else {
            match zip_codes::centroid(zip) {
                Some(point) => centre = Some(point),
                None => errors.push(FieldError::query(
                    "postal_code",
                    "unknown_postal_code",
                    format!("no ZIP code area {zip}"),
                )),
            }
        }
    } else if let Some(text) = params.place.as_deref() {
        match places::resolve(text) {
            Ok(found) => {
                centre = Some(found.centre);
                place = Some(found);
            }
            Err(PlaceError::Invalid) => errors.push(FieldError::query(
                "place",
                "invalid_place",
                "a US city or town, 2 to 100 letters, e.g. Chicago or Springfield, MO",
            )),
            Err(PlaceError::Unknown) => errors.push(FieldError::query(
                "place",
                "unknown_place",
                format!("no US place called `{text}`; try the nearest town, or a ZIP code"),
            )),
            Err(PlaceError::Ambiguous(found)) => {
                errors.push(FieldError::query(
                    "place",
                    "ambiguous_place",
                    format!(
                        "`{text}` is a place in {} states: send one of `candidates` as `place`",
                        found.len()
                    ),
                ));
                candidates = found;
            }
        }
    } else {
        errors.push(FieldError::query(
            "lat",
            "required",
            "give lat and lon, or postal_code, or place",
        ));
    }
    let unit_m = match params.unit.as_deref() {
        None | Some("km") => 1000.0,
        Some("mi") => METRES_PER_MILE,
        Some(other) => {
            errors.push(FieldError::query(
                "unit",
                "unknown_value",
                format!("`{other}`: the unit is km or mi"),
            ));
            1000.0
        }
    };
    let radius_m = match number("radius", params.radius.as_deref(), &mut errors) {
        None => 25.0 * unit_m,
        Some(radius) => {
            let radius_m = radius * unit_m;
            if radius <= 0.0 || radius_m > MAX_RADIUS_KM * 1000.0 {
                errors.push(FieldError::query(
                    "radius",
                    "out_of_range",
                    format!(
                        "the radius must be more than 0 and at most {MAX_RADIUS_KM} km ({:.1} mi)",
                        MAX_RADIUS_KM * 1000.0 / METRES_PER_MILE
                    ),
                ));
            }
            radius_m
        }
    };

    // What.
    let treatments = list_values("treatment", params.treatment.as_deref(), &mut errors);
    for code in &treatments {
        if !state.taxonomy.has_treatment(code) {
            errors.push(FieldError::query(
                "treatment",
                "unknown_value",
                format!("`{code}` is not a treatment code (GET /v1/treatments)"),
            ));
        }
    }
    let specialties = list_values("specialty", params.specialty.as_deref(), &mut errors);
    for code in &specialties {
        if !crate::domain::is_taxonomy_code(code) {
            errors.push(FieldError::query(
                "specialty",
                "invalid_taxonomy_code",
                format!("`{code}`: a NUCC taxonomy code has 10 characters ending in X"),
            ));
        } else if !state.taxonomy.has_specialty(code) {
            errors.push(FieldError::query(
                "specialty",
                "unknown_value",
                format!("`{code}` is not a specialty code (GET /v1/specialties)"),
            ));
        }
    }
    let degrees: Vec<Degree> = list_values("degree", params.degree.as_deref(), &mut errors)
        .iter()
        .filter_map(|text| {
            let degree = Degree::parse(text);
            if degree.is_none() {
                errors.push(FieldError::query(
                    "degree",
                    "unknown_value",
                    format!("`{text}` is not one of {}", Degree::expected()),
                ));
            }
            degree
        })
        .collect();
    let labels: Vec<LabelStatus> = list_values("label", params.label.as_deref(), &mut errors)
        .iter()
        .filter_map(|text| {
            let label = LabelStatus::parse(text);
            if label.is_none() {
                errors.push(FieldError::query(
                    "label",
                    "unknown_value",
                    format!("`{text}` is not one of {}", LabelStatus::expected()),
                ));
            }
            label
        })
        .collect();
    let languages = list_values("language", params.language.as_deref(), &mut errors);
    for code in &languages {
        if !is_language_code(code) {
            errors.push(FieldError::query(
                "language",
                "invalid_language",
                format!("`{code}`: an ISO 639-1 code such as en, es"),
            ));
        }
    }
    let min_years_experience =
        params
            .min_years_experience
            .as_deref()
            .and_then(|text| match text.parse::<u32>() {
                Ok(years) if years <= 80 => Some(years),
                _ => {
                    errors.push(FieldError::query(
                        "min_years_experience",
                        "out_of_range",
                        "an integer from 0 to 80",
                    ));
                    None
                }
            });
    let board_certified = boolean(
        "board_certified",
        params.board_certified.as_deref(),
        &mut errors,
    );
    let accepting_new_patients = boolean(
        "accepting_new_patients",
        params.accepting_new_patients.as_deref(),
        &mut errors,
    );
    let open_now = boolean("open_now", params.open_now.as_deref(), &mut errors).unwrap_or(false);
    let open_at = match params.open_at.as_deref() {
        Some(_) if open_now => {
            errors.push(FieldError::query(
                "open_at",
                "conflict",
                "give open_now or open_at, not both",
            ));
            None
        }
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(instant) => Some(instant.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::query(
                    "open_at",
                    "invalid_datetime",
                    "an RFC 3339 date-time, e.g. 2026-12-01T15:30:00Z",
                ));
                None
            }
        },
        None => open_now.then_some(now),
    };
    let text = params.q.as_deref().and_then(|q| {
        let length = q.chars().count();
        if !(2..=MAX_TEXT_LEN).contains(&length) {
            errors.push(FieldError::query(
                "q",
                "invalid_length",
                format!("2 to {MAX_TEXT_LEN} characters"),
            ));
            return None;
        }
        Some(q.to_lowercase())
    });

    // How.
    let sort = match params.sort.as_deref() {
        None | Some("best") => Sort::Best,
        Some("distance") => Sort::Distance,
        Some("credentials") => Sort::Credentials,
        Some(other) => {
            errors.push(FieldError::query(
                "sort",
                "unknown_value",
                format!("`{other}`: best, distance or credentials"),
            ));
            Sort::Best
        }
    };
    let limit = crate::api::parse_limit(params.limit.as_deref(), 20, MAX_LIMIT, &mut errors);
    let geojson = match params.format.as_deref() {
        None => wants_geojson,
        Some("json") => false,
        Some("geojson") => true,
        Some(other) => {
            errors.push(FieldError::query(
                "format",
                "unknown_value",
                format!("`{other}`: json or geojson"),
            ));
            false
        }
    };

    let filters = Filters {
        treatments,
        specialties,
        degrees,
        min_years_experience,
        board_certified,
        languages,
        accepting_new_patients,
        open_at,
        text,
        labels,
    };
    let centre_for_print = centre.unwrap_or(Coordinates { lat: 0.0, lon: 0.0 });
    // The fingerprint covers everything that decides the order, not the page size; `open_now`
    // counts as a flag, since its instant moves from page to page.
    let canonical = format!(
        "{mode:?}|{}|{}|{radius_m}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{sort:?}",
        centre_for_print.lat,
        centre_for_print.lon,
        filters.treatments,
        filters.specialties,
        filters.degrees,
        filters.min_years_experience,
        filters.board_certified,
        filters.languages,
        filters.accepting_new_patients,
        if open_now { None } else { filters.open_at },
        open_now,
        filters.text,
        filters.labels,
    );
    let fingerprint = cursor::fingerprint(&canonical);
    let after = params.cursor.as_deref().and_then(|text| {
        match cursor::decode_search(&state.cursor_key, text, &fingerprint) {
            Ok(key) => Some(key),
            Err(CursorError::Malformed) => {
                errors.push(FieldError::query(
                    "cursor",
                    "invalid_cursor",
                    "not a cursor this search gave out",
                ));
                None
            }
            Err(CursorError::OtherQuery) => {
                errors.push(FieldError::query(
                    "cursor",
                    "cursor_query_mismatch",
                    "this cursor belongs to a different query",
                ));
                None
            }
        }
    });
    if !candidates.is_empty() {
        return Err(ApiError::Ambiguous {
            errors,
            candidates: candidates.into_iter().map(PlaceChoice::from).collect(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let centre = centre.ok_or_else(|| ApiError::internal("centre missing after validation"))?;
    Ok(ParsedSearch {
        request: SearchRequest {
            mode,
            centre,
            radius_m,
            filters,
            sort,
            limit,
            after,
            now,
            budget: state.settings.search_budget as usize,
            reverify_grace_days: state.settings.reverify_grace_days,
        },
        postal_code: params.postal_code.clone(),
        place,
        fingerprint,
        geojson,
        signer: state.cursor_key.clone(),
    })
}
