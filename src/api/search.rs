//! `GET /v1/search/locations` and `GET /v1/search/providers`: near-me search ranked by distance
//! and credentials, explained, paginated, as JSON or GeoJSON.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::locations::Address;
use crate::api::error::{ApiError, ApiResult, FieldError, ProblemDetails};
use crate::domain::{is_language_code, Coordinates, CredentialKind, Degree, OpenStatus};
use crate::search::cursor::{self, CursorError};
use crate::search::engine::ProviderMatcher;
use crate::search::geodesy::METRES_PER_MILE;
use crate::search::index::{DirectoryIndex, LocationEntry, ProviderEntry};
use crate::search::postgis::PostgisCandidates;
use crate::search::ranking::{self, RankingExplanation, RankingWeights};
use crate::search::{self as engine, zip_codes, Filters, SearchMode, SearchRequest, Sort};
use crate::state::AppState;

pub const MAX_RADIUS_KM: f64 = 300.0;
pub const MAX_LIMIT: usize = 50;
pub const MAX_FILTER_VALUES: usize = 10;
pub const MAX_TEXT_LEN: usize = 100;

/// Near-me search parameters. Give `lat` and `lon`, or `postal_code`. List filters take several
/// values separated by commas and match any of them.
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
    /// A US ZIP code whose centroid is the centre (instead of `lat`/`lon`).
    #[param(value_type = Option<String>, pattern = "^[0-9]{5}$", example = "10001")]
    pub postal_code: Option<String>,
    /// Search radius, in `unit`s; more than 0, at most 300 km (186.4 mi). Default 25.
    #[param(value_type = Option<f64>, example = 25)]
    pub radius: Option<String>,
    /// Unit of `radius`: `km` (default) or `mi`.
    #[param(value_type = Option<String>, pattern = "^(km|mi)$", example = "mi")]
    pub unit: Option<String>,
    /// Treatment codes (`GET /v1/treatments`), comma-separated, e.g. `chronic_migraine`.
    #[param(value_type = Option<String>, example = "chronic_migraine")]
    pub treatment: Option<String>,
    /// NUCC specialty codes, comma-separated (primary or other specialty).
    #[param(value_type = Option<String>, example = "2084N0400X")]
    pub specialty: Option<String>,
    /// Degrees, comma-separated, e.g. `MD,DO`.
    #[param(value_type = Option<String>, example = "MD,DO")]
    pub degree: Option<String>,
    /// At least this many years in practice.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 80, example = 5)]
    pub min_years_experience: Option<String>,
    /// `true`: only providers with a verified, unexpired board certification relevant to the
    /// treatment; `false`: only those without.
    #[param(value_type = Option<bool>, example = true)]
    pub board_certified: Option<String>,
    /// ISO 639-1 language codes, comma-separated, e.g. `es`.
    #[param(value_type = Option<String>, example = "es")]
    pub language: Option<String>,
    #[param(value_type = Option<bool>, example = true)]
    pub accepting_new_patients: Option<String>,
    /// `true`: only locations open now, in their own timezone.
    #[param(value_type = Option<bool>, example = true)]
    pub open_now: Option<String>,
    /// Only locations open at this instant (RFC 3339), in their own timezone.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-01T15:30:00Z")]
    pub open_at: Option<String>,
    /// Text the clinic's or the provider's name contains (case-insensitive), 2–100 characters.
    #[param(value_type = Option<String>, example = "headache")]
    pub q: Option<String>,
    /// `best` (default), `distance` or `credentials`.
    #[param(value_type = Option<Sort>, example = "distance")]
    pub sort: Option<String>,
    /// Results per page, 1–50 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 50, example = 10)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page of the same query.
    pub cursor: Option<String>,
    /// `geojson` for an RFC 7946 FeatureCollection (same as `Accept: application/geo+json`).
    #[param(value_type = Option<String>, pattern = "^(json|geojson)$", example = "geojson")]
    pub format: Option<String>,
}

/// The filters as understood, echoed in the response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiltersEcho {
    pub treatment: Vec<String>,
    pub specialty: Vec<String>,
    pub degree: Vec<Degree>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_years_experience: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_certified: Option<bool>,
    pub language: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepting_new_patients: Option<bool>,
    /// The instant opening hours were judged at, when `open_now` or `open_at` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
}

/// The query as the server understood it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchMeta {
    pub centre: Coordinates,
    /// The ZIP code the centre came from, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub radius_km: f64,
    pub sort: Sort,
    pub limit: usize,
    pub filters: FiltersEcho,
    pub weights: RankingWeights,
    /// The instant credentials were judged at (verified and unexpired then).
    pub as_of: DateTime<Utc>,
    /// Locations the search examined: it stops early once nothing farther can rank higher.
    pub candidates_visited: usize,
}

/// A board certification in a summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificationSummary {
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specialty_code: Option<String>,
    /// Relevant to the requested treatment (always true when none was requested).
    pub relevant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub verified_at: Option<NaiveDateTime>,
}

/// A state licence in a summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LicenceSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub verified_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due_on: Option<NaiveDate>,
}

/// What a patient should know about a provider's credentials: verified, unexpired ones only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialSummary {
    pub degree: Degree,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub years_of_experience: Option<u32>,
    pub licences: Vec<LicenceSummary>,
    pub board_certifications: Vec<CertificationSummary>,
    /// Verified botulinum-toxin injector training.
    pub injector_training: bool,
    /// Procedures a year for the requested treatment(s), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_procedure_volume: Option<u32>,
    /// The credential score in [0, 1].
    pub credential_score: f64,
}

/// A provider in search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderSummary {
    pub id: i64,
    pub given_name: String,
    pub family_name: String,
    pub primary_specialty_code: String,
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    /// Treatment codes offered.
    pub treatments: Vec<String>,
    pub credentials: CredentialSummary,
}

/// The clinic running a location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClinicSummary {
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Where: a location with its clinic, address and opening state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceSummary {
    pub location_id: i64,
    pub clinic: ClinicSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub address: Address,
    pub coordinates: Coordinates,
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Open at the instant asked about (open_at, or now), and when it next opens.
    pub opening: OpenStatus,
}

/// One location in `GET /v1/search/locations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationResult {
    pub location: PlaceSummary,
    /// Exact geodesic distance (WGS84, Karney) from the centre.
    pub distance_km: f64,
    /// `distance_km / 1.609344`.
    pub distance_mi: f64,
    /// The matching verified providers here, best credentials first.
    pub providers: Vec<ProviderSummary>,
    /// Why it ranks here (credentials of its best-matching provider).
    pub ranking: RankingExplanation,
}

/// One provider in `GET /v1/search/providers`, at its nearest matching location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderResult {
    pub provider: ProviderSummary,
    pub location: PlaceSummary,
    pub distance_km: f64,
    pub distance_mi: f64,
    pub ranking: RankingExplanation,
}

/// Locations near the centre, ranked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_locations)]
pub struct LocationSearchResponse {
    pub meta: SearchMeta,
    pub results: Vec<LocationResult>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Providers near the centre, ranked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_providers)]
pub struct ProviderSearchResponse {
    pub meta: SearchMeta,
    pub results: Vec<ProviderResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A parsed search: the engine's request plus what the response echoes.
struct ParsedSearch {
    request: SearchRequest,
    postal_code: Option<String>,
    fingerprint: String,
    geojson: bool,
}

fn list_values(name: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let Some(text) = text else { return Vec::new() };
    let values: Vec<String> = text
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        errors.push(FieldError::query(
            name,
            "empty",
            format!("`{name}` needs at least one value"),
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

fn parse_search(
    state: &AppState,
    params: &SearchParams,
    mode: SearchMode,
    wants_geojson: bool,
) -> ApiResult<ParsedSearch> {
    let mut errors = Vec::new();
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
    match (
        params.lat.is_some() || params.lon.is_some(),
        params.postal_code.as_deref(),
    ) {
        (true, Some(_)) => errors.push(FieldError::query(
            "postal_code",
            "conflict",
            "give lat and lon, or postal_code, not both",
        )),
        (true, None) => match (lat, lon, params.lat.is_some(), params.lon.is_some()) {
            (_, _, true, false) => {
                errors.push(FieldError::query("lon", "required", "lat needs lon"))
            }
            (_, _, false, true) => {
                errors.push(FieldError::query("lat", "required", "lon needs lat"))
            }
            (Some(lat), Some(lon), _, _) => centre = Coordinates::new(lat, lon).ok(),
            _ => {}
        },
        (false, Some(zip)) if !zip_codes::is_zip_code(zip) => errors.push(FieldError::query(
            "postal_code",
            "invalid_postal_code",
            "a 5-digit US ZIP code",
        )),
        (false, Some(zip)) => match zip_codes::centroid(zip) {
            Some(point) => centre = Some(point),
            None => errors.push(FieldError::query(
                "postal_code",
                "unknown_postal_code",
                format!("no ZIP code area {zip}"),
            )),
        },
        (false, None) => errors.push(FieldError::query(
            "lat",
            "required",
            "give lat and lon, or postal_code",
        )),
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
        if !state.taxonomy.has_specialty(code) {
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
    let text = params.q.as_deref().map(str::trim).and_then(|q| {
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
    let limit = super::parse_limit(params.limit.as_deref(), 20, MAX_LIMIT, &mut errors);
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
    };
    let centre_for_print = centre.unwrap_or(Coordinates { lat: 0.0, lon: 0.0 });
    // The fingerprint covers everything that decides the order, not the page size; `open_now`
    // counts as a flag, since its instant moves from page to page.
    let canonical = format!(
        "{mode:?}|{}|{}|{radius_m}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{sort:?}",
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
    );
    let fingerprint = cursor::fingerprint(&canonical);
    let after =
        params
            .cursor
            .as_deref()
            .and_then(|text| match cursor::decode_search(text, &fingerprint) {
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
            });
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
        },
        postal_code: params.postal_code.clone(),
        fingerprint,
        geojson,
    })
}

/// Runs the engine on the configured spatial index (also the FHIR facade's `Location?near`).
pub(crate) async fn run_search(
    state: &web::Data<AppState>,
    request: &SearchRequest,
) -> ApiResult<engine::SearchOutcome> {
    if state.settings.spatial_index != crate::config::SpatialIndex::Postgis {
        return Ok(engine::search(&state.index.read(), request));
    }
    let (index, request) = (state.index.clone(), request.clone());
    state
        .read(move |connection| {
            let mut candidates =
                PostgisCandidates::new(connection, request.centre, request.radius_m);
            // One stream: PostGIS does not know the credential tiers, so every candidate may
            // score up to 1 on credentials.
            let stream = engine::engine::CandidateStream {
                credential_ceiling: 1.0,
                candidates: Box::new(&mut candidates),
            };
            let outcome = engine::search_with(&index.read(), &request, vec![stream]);
            match candidates.error.take() {
                Some(error) => Err(error.into()),
                None => Ok(outcome),
            }
        })
        .await
}

fn wants_geojson(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/geo+json"))
}

fn meta(parsed: &ParsedSearch, candidates_visited: usize) -> SearchMeta {
    let request = &parsed.request;
    let filters = &request.filters;
    SearchMeta {
        centre: request.centre,
        postal_code: parsed.postal_code.clone(),
        radius_km: request.radius_m / 1000.0,
        sort: request.sort,
        limit: request.limit,
        filters: FiltersEcho {
            treatment: filters.treatments.clone(),
            specialty: filters.specialties.clone(),
            degree: filters.degrees.clone(),
            min_years_experience: filters.min_years_experience,
            board_certified: filters.board_certified,
            language: filters.languages.clone(),
            accepting_new_patients: filters.accepting_new_patients,
            open_at: filters.open_at,
            q: filters.text.clone(),
        },
        weights: RankingWeights::for_radius(request.radius_m),
        as_of: request.now,
        candidates_visited,
    }
}

fn provider_summary(
    provider: &ProviderEntry,
    matcher: &ProviderMatcher<'_>,
    inputs: &ranking::CredentialInputs,
) -> ProviderSummary {
    let today = matcher.today();
    let active: Vec<_> = provider.active_credentials(today).collect();
    ProviderSummary {
        id: provider.id,
        given_name: provider.given_name.to_string(),
        family_name: provider.family_name.to_string(),
        primary_specialty_code: provider.primary_specialty_code.to_string(),
        languages: provider.languages.iter().map(|l| l.to_string()).collect(),
        accepting_new_patients: provider.accepting_new_patients,
        treatments: provider
            .treatments
            .iter()
            .map(|(code, _)| code.to_string())
            .collect(),
        credentials: CredentialSummary {
            degree: provider.degree,
            years_of_experience: inputs.years_of_experience,
            licences: active
                .iter()
                .filter(|c| c.kind == CredentialKind::StateLicense)
                .map(|c| LicenceSummary {
                    state: c.jurisdiction.as_deref().map(str::to_owned),
                    verified_at: c.verified_at,
                    expires_on: c.expires_on,
                    next_due_on: c.next_due_on,
                })
                .collect(),
            board_certifications: active
                .iter()
                .filter(|c| c.kind == CredentialKind::BoardCertification)
                .map(|c| CertificationSummary {
                    issuer: c.issuer.to_string(),
                    specialty_code: c.specialty_code.as_deref().map(str::to_owned),
                    relevant: matcher.is_relevant_certification(c.specialty_code.as_deref()),
                    expires_on: c.expires_on,
                    verified_at: c.verified_at,
                })
                .collect(),
            injector_training: inputs.injector_training,
            annual_procedure_volume: inputs.annual_procedure_volume,
            credential_score: ranking::credential_score(inputs),
        },
    }
}

fn place(index: &DirectoryIndex, location: &LocationEntry, instant: DateTime<Utc>) -> PlaceSummary {
    let clinic = index.clinics.get(&location.clinic_id);
    let text = |value: &Option<Box<str>>| value.as_deref().map(str::to_owned);
    PlaceSummary {
        location_id: location.id,
        clinic: ClinicSummary {
            id: location.clinic_id,
            name: clinic.map(|c| c.name.to_string()).unwrap_or_default(),
            website: clinic.and_then(|c| text(&c.website)),
            phone: clinic.and_then(|c| text(&c.phone)),
        },
        name: location.name.as_deref().map(str::to_owned),
        address: Address {
            line1: location.address_line1.to_string(),
            line2: location.address_line2.as_deref().map(str::to_owned),
            city: location.city.to_string(),
            state: location.state.to_string(),
            postal_code: location.postal_code.to_string(),
            country: location.country.to_string(),
        },
        coordinates: Coordinates {
            lat: location.latitude,
            lon: location.longitude,
        },
        timezone: location.timezone.name().to_owned(),
        phone: text(&location.phone),
        opening: location.hours.status_at(location.timezone, instant),
    }
}

/// The instant of the request (`meta.as_of`), in every search body: the `ETag` leaves it out (it
/// is weak).
const AS_OF: &str = "as_of";

/// The JSON body, or the same results as an RFC 7946 FeatureCollection, with the cursor of the
/// next page when there is one.
fn respond<T: Serialize>(
    results: Vec<T>,
    coordinates: Vec<Coordinates>,
    parsed: &ParsedSearch,
    outcome: &engine::SearchOutcome,
) -> HttpResponse {
    let next_cursor = outcome
        .has_more
        .then(|| {
            outcome
                .hits
                .last()
                .map(|hit| cursor::encode_search(&parsed.fingerprint, &hit.key))
        })
        .flatten();
    let (meta, geojson) = (meta(parsed, outcome.candidates_visited), parsed.geojson);
    #[derive(Serialize)]
    struct Body<T> {
        meta: SearchMeta,
        results: Vec<T>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    }
    if !geojson {
        let body = Body {
            meta,
            results,
            next_cursor,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        return HttpResponse::Ok()
            .content_type(header::ContentType::json())
            .insert_header(crate::api::middleware::caching::weak_etag(&bytes, AS_OF))
            .body(bytes);
    }
    #[derive(Serialize)]
    struct Feature<'a, T> {
        #[serde(rename = "type")]
        kind: &'static str,
        geometry: Point,
        properties: &'a T,
    }
    #[derive(Serialize)]
    struct Point {
        #[serde(rename = "type")]
        kind: &'static str,
        coordinates: [f64; 2],
    }
    #[derive(Serialize)]
    struct Collection<'a, T> {
        #[serde(rename = "type")]
        kind: &'static str,
        features: Vec<Feature<'a, T>>,
        meta: SearchMeta,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    }
    let features = results
        .iter()
        .zip(coordinates)
        .map(|(properties, point)| Feature {
            kind: "Feature",
            geometry: Point {
                kind: "Point",
                coordinates: [point.lon, point.lat],
            },
            properties,
        })
        .collect();
    let collection = Collection {
        kind: "FeatureCollection",
        features,
        meta,
        next_cursor,
    };
    let bytes = serde_json::to_vec(&collection).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("application/geo+json")
        .insert_header(crate::api::middleware::caching::weak_etag(&bytes, AS_OF))
        .body(bytes)
}

/// Search clinic locations near a point.
///
/// Clinic locations near a point (`lat`+`lon`) or a ZIP code, ranked by distance and verified
/// credentials, one result per location, each with its matching verified providers and an
/// explanation of its rank. Send `Accept: application/geo+json` (or `format=geojson`) for an RFC
/// 7946 FeatureCollection.
#[utoipa::path(tag = "search", params(SearchParams),
    responses(
        (status = 200, description = "Ranked locations", content(
            (LocationSearchResponse = "application/json"),
            (GeoJsonFeatureCollection = "application/geo+json"))),
        (status = 422, description = "A parameter is invalid; `errors` names each", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; retry after `Retry-After` seconds", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/search/locations")]
pub async fn search_locations(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<SearchParams>,
) -> ApiResult<HttpResponse> {
    let parsed = parse_search(
        &state,
        &params,
        SearchMode::Locations,
        wants_geojson(&request),
    )?;
    let outcome = run_search(&state, &parsed.request).await?;
    let index = state.index.read();
    let matcher = ProviderMatcher::new(&index, &parsed.request);
    let instant = parsed.request.filters.open_at.unwrap_or(parsed.request.now);
    let mut results = Vec::with_capacity(outcome.hits.len());
    let mut points = Vec::with_capacity(outcome.hits.len());
    for hit in &outcome.hits {
        let Some(location) = index.locations.get(&hit.location_id) else {
            continue;
        };
        let clinic_name_matches =
            engine::engine::clinic_name_matches(&index, &parsed.request, location);
        let mut providers =
            engine::engine::matching_providers(&index, &matcher, location, clinic_name_matches);
        providers.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let providers = providers
            .iter()
            .filter_map(|(id, inputs, _)| {
                Some(provider_summary(index.providers.get(id)?, &matcher, inputs))
            })
            .collect();
        points.push(Coordinates {
            lat: location.latitude,
            lon: location.longitude,
        });
        results.push(LocationResult {
            location: place(&index, location, instant),
            distance_km: hit.distance_m / 1000.0,
            distance_mi: hit.distance_m / METRES_PER_MILE,
            providers,
            ranking: ranking::explain(
                hit.distance_m,
                parsed.request.radius_m,
                &hit.credentials,
                hit.provider_id,
            ),
        });
    }
    Ok(respond(results, points, &parsed, &outcome))
}

/// Search providers near a point.
///
/// Verified providers near a point (`lat`+`lon`) or a ZIP code, ranked by distance and verified
/// credentials, one result per provider at its nearest matching location, with an explanation of
/// its rank. Send `Accept: application/geo+json` (or `format=geojson`) for an RFC 7946
/// FeatureCollection.
#[utoipa::path(tag = "search", params(SearchParams),
    responses(
        (status = 200, description = "Ranked providers", content(
            (ProviderSearchResponse = "application/json"),
            (GeoJsonFeatureCollection = "application/geo+json"))),
        (status = 422, description = "A parameter is invalid; `errors` names each", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; retry after `Retry-After` seconds", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/search/providers")]
pub async fn search_providers(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<SearchParams>,
) -> ApiResult<HttpResponse> {
    let parsed = parse_search(
        &state,
        &params,
        SearchMode::Providers,
        wants_geojson(&request),
    )?;
    let outcome = run_search(&state, &parsed.request).await?;
    let index = state.index.read();
    let matcher = ProviderMatcher::new(&index, &parsed.request);
    let instant = parsed.request.filters.open_at.unwrap_or(parsed.request.now);
    let mut results = Vec::with_capacity(outcome.hits.len());
    let mut points = Vec::with_capacity(outcome.hits.len());
    for hit in &outcome.hits {
        let (Some(location), Some(provider)) = (
            index.locations.get(&hit.location_id),
            index.providers.get(&hit.provider_id),
        ) else {
            continue;
        };
        points.push(Coordinates {
            lat: location.latitude,
            lon: location.longitude,
        });
        results.push(ProviderResult {
            provider: provider_summary(provider, &matcher, &hit.credentials),
            location: place(&index, location, instant),
            distance_km: hit.distance_m / 1000.0,
            distance_mi: hit.distance_m / METRES_PER_MILE,
            ranking: ranking::explain(
                hit.distance_m,
                parsed.request.radius_m,
                &hit.credentials,
                hit.provider_id,
            ),
        });
    }
    Ok(respond(results, points, &parsed, &outcome))
}

/// An RFC 7946 FeatureCollection: each feature a result, its geometry the location's point
/// (`[lon, lat]`), its properties the result's fields; `meta` and `next_cursor` as foreign members.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_geojson)]
pub struct GeoJsonFeatureCollection {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    pub features: Vec<GeoJsonFeature>,
    pub meta: SearchMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One result as a GeoJSON Feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoJsonFeature {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    pub geometry: GeoJsonPoint,
    /// The result's fields (a LocationResult or a ProviderResult).
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
}

/// A GeoJSON Point.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoJsonPoint {
    /// `Point`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `[lon, lat]`.
    pub coordinates: Vec<f64>,
}
