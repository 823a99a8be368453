//! A read-only FHIR R4 (4.0.1) facade over the public directory, in the shape of the Da Vinci
//! PDex Plan-Net guide: `Location` (read, and `near` search in distance order from the public
//! search engine), `Organization` (the clinics), `Practitioner` (the public provider profile),
//! `PractitionerRole` (a public provider at a location) and the `CapabilityStatement`. It shows
//! exactly what the public `/v1` endpoints show; errors are `OperationOutcome`s (see `outcome`).
//! See docs/fhir.md.

pub mod mapping;
pub mod model;
pub mod outcome;

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses};

use self::model::*;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::search::query::MAX_RADIUS_KM;
use crate::db;
use crate::domain::{Coordinates, VettingStatus};
use crate::search::cursor::{self, CursorError};
use crate::search::geodesy::METRES_PER_MILE;
use crate::search::{Filters, SearchMode, SearchRequest, Sort};
use crate::state::AppState;

pub const FHIR_JSON: &str = "application/fhir+json";
/// `near` without a distance: the public search's default radius.
pub const DEFAULT_DISTANCE_KM: f64 = 25.0;
pub const DEFAULT_COUNT: usize = 20;
pub const MAX_COUNT: usize = 50;

/// The responses every FHIR operation may give besides its 200 (all `application/fhir+json`).
#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum FhirErrors {
    /// No such resource, or it is not public.
    #[response(status = 404, content_type = "application/fhir+json")]
    NotFound(OperationOutcome),
    /// `_format` or `Accept` asks for something other than FHIR JSON.
    #[response(status = 406, content_type = "application/fhir+json")]
    NotAcceptable(OperationOutcome),
    /// A parameter is invalid or not supported; one issue per parameter.
    #[response(status = 422, content_type = "application/fhir+json")]
    Invalid(OperationOutcome),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/fhir+json")]
    Unavailable(OperationOutcome),
}

/// The parameters every FHIR interaction takes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParams {
    /// Only JSON: `json`, `application/json` or `application/fhir+json` (anything else: 406).
    #[serde(rename = "_format")]
    #[param(value_type = Option<String>, pattern = "^(json|application/json|application/fhir\\+json)$")]
    pub format: Option<String>,
    /// `true` for indented JSON.
    #[serde(rename = "_pretty")]
    #[param(value_type = Option<bool>)]
    pub pretty: Option<String>,
}

/// `Location` search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocationSearchParams {
    /// `latitude|longitude|distance|unit` (WGS84 degrees). The distance is optional (default 25
    /// km), more than 0 and at most 300 km; the unit is `km` (default), `mi`, `[mi_i]` or `m`.
    /// Results are the locations the public search finds, nearest first.
    #[param(required = true, value_type = String, example = "40.7506|-73.9972|10|km")]
    pub near: Option<String>,
    /// Results per page, from 1 (default 20; more than 50 are served 50 at a time).
    #[serde(rename = "_count")]
    #[param(value_type = Option<i64>, minimum = 1, example = 20)]
    pub count: Option<String>,
    /// The page token of a `next` link (opaque).
    #[serde(rename = "_cursor")]
    #[param(value_type = Option<String>)]
    pub cursor: Option<String>,
    #[serde(rename = "_format")]
    #[param(value_type = Option<String>, pattern = "^(json|application/json|application/fhir\\+json)$")]
    pub format: Option<String>,
    #[serde(rename = "_pretty")]
    #[param(value_type = Option<bool>)]
    pub pretty: Option<String>,
}

/// `PractitionerRole` search: give `location`, `practitioner` or both.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoleSearchParams {
    /// `Location/{id}` or the bare id: the public providers practising there.
    #[param(value_type = Option<String>, example = "Location/1")]
    pub location: Option<String>,
    /// `Practitioner/{id}` or the bare id: where this public provider practises.
    #[param(value_type = Option<String>, example = "Practitioner/1")]
    pub practitioner: Option<String>,
    #[serde(rename = "_format")]
    #[param(value_type = Option<String>, pattern = "^(json|application/json|application/fhir\\+json)$")]
    pub format: Option<String>,
    #[serde(rename = "_pretty")]
    #[param(value_type = Option<bool>)]
    pub pretty: Option<String>,
}

/// How to write the body: checks `_format`, `Accept` and `_pretty`; returns whether to indent.
fn negotiate(request: &HttpRequest, format: Option<&str>, pretty: Option<&str>) -> ApiResult<bool> {
    /// `_format` values (exactly the documented pattern).
    const FORMATS: [&str; 3] = ["json", "application/json", FHIR_JSON];
    /// `Accept` media ranges that admit FHIR JSON (with DSTU2's `application/json+fhir`).
    const ACCEPTED: [&str; 5] = [
        "application/json",
        FHIR_JSON,
        "application/json+fhir",
        "application/*",
        "*/*",
    ];
    let pretty = match pretty {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::validation(FieldError::query(
                "_pretty",
                "invalid_boolean",
                "`true` or `false`",
            )))
        }
    };
    match format {
        // `_format` overrides `Accept` (FHIR R4 http.html#mime-type).
        Some(format) if FORMATS.contains(&format) => return Ok(pretty),
        Some(format) => {
            return Err(ApiError::NotAcceptable(format!(
            "`_format={format}`: this server speaks FHIR JSON only (json, application/fhir+json)"
        )))
        }
        None => {}
    }
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(pretty);
    };
    let acceptable = accept.split(',').any(|range| {
        let essence = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        ACCEPTED.contains(&essence.as_str())
    });
    if acceptable {
        Ok(pretty)
    } else {
        Err(ApiError::NotAcceptable(format!(
            "`Accept: {accept}`: this server speaks FHIR JSON only (application/fhir+json)"
        )))
    }
}

fn fhir_response<T: Serialize>(body: &T, pretty: bool) -> HttpResponse {
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    };
    HttpResponse::build(StatusCode::OK)
        .content_type(FHIR_JSON)
        .body(bytes.unwrap_or_default())
}

/// The facade's base URL, for `fullUrl` and links. The scheme and host come from
/// `X-Forwarded-Proto`/`X-Forwarded-Host` only when the peer is a trusted proxy (like the
/// client address for rate limits), else from the `Host` header; a host that is not a plain
/// `name[:port]` is replaced by the address the server listens on.
pub fn base_url(state: &AppState, request: &HttpRequest) -> String {
    let trusted = request.peer_addr().is_some_and(|peer| {
        state
            .settings
            .trusted_proxies
            .iter()
            .any(|network| network.contains(peer.ip()))
    });
    let header_value = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
    };
    let sane_host = |host: &String| {
        !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    };
    let forwarded_host = trusted
        .then(|| header_value("x-forwarded-host"))
        .flatten()
        .filter(sane_host);
    let scheme = trusted
        .then(|| header_value("x-forwarded-proto"))
        .flatten()
        .filter(|proto| proto == "https" || proto == "http")
        .unwrap_or_else(|| "http".to_owned());
    let host = forwarded_host
        .or_else(|| header_value("host").filter(sane_host))
        .unwrap_or_else(|| state.settings.bind.to_string());
    format!("{scheme}://{host}/fhir")
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn query_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A `near` distance unit: how the request spelled it, metres per unit, and the UCUM code its
/// distances are reported in.
#[derive(Debug, Clone, Copy)]
struct DistanceUnit {
    spelling: &'static str,
    metres: f64,
    ucum: &'static str,
}

fn distance_unit(text: &str) -> Option<DistanceUnit> {
    let (spelling, metres, ucum) = match text {
        "km" => ("km", 1000.0, "km"),
        "mi" => ("mi", METRES_PER_MILE, "[mi_i]"),
        "[mi_i]" => ("[mi_i]", METRES_PER_MILE, "[mi_i]"),
        "m" => ("m", 1.0, "m"),
        _ => return None,
    };
    Some(DistanceUnit {
        spelling,
        metres,
        ucum,
    })
}

/// A parsed `near`.
#[derive(Debug, Clone, Copy)]
struct Near {
    centre: Coordinates,
    /// As given (in `unit`), or the default.
    distance: f64,
    radius_m: f64,
    unit: DistanceUnit,
}

fn near_error(code: &str, detail: impl Into<String>) -> FieldError {
    FieldError::query("near", code, detail)
}

/// Parses `latitude|longitude[|distance[|unit]]`, collecting every problem.
fn parse_near(text: Option<&str>) -> Result<Near, Vec<FieldError>> {
    let Some(text) = text else {
        return Err(vec![near_error(
            "required",
            "give near=latitude|longitude|distance|unit, e.g. 40.7506|-73.9972|10|km",
        )]);
    };
    let parts: Vec<&str> = text.split('|').collect();
    if !(2..=4).contains(&parts.len()) || parts.iter().any(|part| part.is_empty()) {
        return Err(vec![near_error(
            "invalid_format",
            "latitude|longitude|distance|unit, with latitude and longitude required and no empty part",
        )]);
    }
    let mut errors = Vec::new();
    let mut number = |name: &str, text: &str| match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Some(value),
        _ => {
            errors.push(near_error(
                "invalid_number",
                format!("{name} `{text}` is not a finite decimal number"),
            ));
            None
        }
    };
    let lat = number("latitude", parts[0]);
    let lon = number("longitude", parts[1]);
    let distance = parts.get(2).and_then(|text| number("distance", text));
    let unit = match parts.get(3) {
        None => distance_unit("km"),
        Some(text) => {
            let unit = distance_unit(text);
            if unit.is_none() {
                errors.push(near_error(
                    "unknown_value",
                    format!("unit `{text}`: km, mi, [mi_i] or m"),
                ));
            }
            unit
        }
    };
    if let Some(lat) = lat.filter(|lat| Coordinates::check_latitude(*lat).is_err()) {
        errors.push(near_error(
            "out_of_range",
            format!("latitude {lat} is not between -90 and 90"),
        ));
    }
    if let Some(lon) = lon.filter(|lon| Coordinates::check_longitude(*lon).is_err()) {
        errors.push(near_error(
            "out_of_range",
            format!("longitude {lon} is not between -180 and 180"),
        ));
    }
    let unit = unit.unwrap_or(DistanceUnit {
        spelling: "km",
        metres: 1000.0,
        ucum: "km",
    });
    let distance = match (parts.len() > 2, distance) {
        (false, _) => Some(DEFAULT_DISTANCE_KM * 1000.0 / unit.metres),
        (true, distance) => distance,
    };
    if let Some(distance) = distance {
        if distance <= 0.0 || distance * unit.metres > MAX_RADIUS_KM * 1000.0 {
            errors.push(near_error(
                "out_of_range",
                format!(
                    "distance {distance} {}: more than 0 and at most {MAX_RADIUS_KM} km ({:.1} mi)",
                    unit.spelling,
                    MAX_RADIUS_KM * 1000.0 / METRES_PER_MILE
                ),
            ));
        }
    }
    match (lat, lon, distance) {
        (Some(lat), Some(lon), Some(distance)) if errors.is_empty() => Ok(Near {
            centre: Coordinates { lat, lon },
            distance,
            radius_m: distance * unit.metres,
            unit,
        }),
        _ => Err(errors),
    }
}

/// `_count`: from 1; above the maximum the server serves pages of the maximum (FHIR lets a
/// server return fewer than asked, never more).
fn parse_count(text: Option<&str>, errors: &mut Vec<FieldError>) -> usize {
    match text.map(|t| t.parse::<u64>()) {
        None => DEFAULT_COUNT,
        Some(Ok(count)) if count >= 1 => (count as usize).min(MAX_COUNT),
        Some(_) => {
            errors.push(FieldError::query(
                "_count",
                "out_of_range",
                format!("an integer from 1 (pages hold at most {MAX_COUNT})"),
            ));
            DEFAULT_COUNT
        }
    }
}

/// Search FHIR Locations near a point.
///
/// Clinic locations near a point, nearest first: a `searchset` Bundle of `Location`s, each entry's `search` carrying the `location-distance` extension (the exact geodesic distance,
/// in the unit asked for). The locations are those the public search returns (with at least one
/// verified, listed provider), in the order of `GET /v1/search/locations?sort=distance`; `next`
/// links page through them.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_search_location", params(LocationSearchParams),
    responses(
        (status = 200, description = "A searchset Bundle of Locations, nearest first", body = Bundle<Location>, content_type = "application/fhir+json",
            example = json!({"resourceType": "Bundle", "type": "searchset",
                "link": [{"relation": "self", "url": "http://127.0.0.1:8080/fhir/Location?near=40.7506%7C-73.9972%7C10%7Ckm&_count=1"},
                         {"relation": "next", "url": "http://127.0.0.1:8080/fhir/Location?near=40.7506%7C-73.9972%7C10%7Ckm&_count=1&_cursor=eyJxIjoi"}],
                "entry": [{"fullUrl": "http://127.0.0.1:8080/fhir/Location/11",
                    "resource": {"resourceType": "Location", "id": "11", "status": "active", "name": "Midtown office", "mode": "instance",
                        "address": {"use": "work", "type": "physical", "line": ["350 5th Ave"], "city": "New York", "state": "NY", "postalCode": "10118", "country": "US"},
                        "position": {"longitude": -73.9857, "latitude": 40.7484},
                        "managingOrganization": {"reference": "Organization/7", "display": "Midtown Neurology & Headache Center"}},
                    "search": {"mode": "match", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/location-distance",
                        "valueDistance": {"value": 1.2164, "unit": "km", "system": "http://unitsofmeasure.org", "code": "km"}}]}}]})),
        FhirErrors))]
#[get("/Location")]
pub async fn search_location(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<LocationSearchParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let mut errors = Vec::new();
    let near = parse_near(params.near.as_deref()).map_err(|e| errors.extend(e));
    let count = parse_count(params.count.as_deref(), &mut errors);
    let near = match near {
        Ok(near) if errors.is_empty() => near,
        _ => return Err(ApiError::Validation(errors)),
    };
    // The order depends on the centre and the radius only (not the unit or the page size).
    let fingerprint = cursor::fingerprint(&format!(
        "fhir-location|{}|{}|{}",
        near.centre.lat, near.centre.lon, near.radius_m
    ));
    let after = match params.cursor.as_deref() {
        None => None,
        Some(text) => match cursor::decode_search(text, &fingerprint) {
            Ok(key) => Some(key),
            Err(CursorError::Malformed) => {
                return Err(ApiError::validation(FieldError::query(
                    "_cursor",
                    "invalid_cursor",
                    "not a page token this search gave out",
                )))
            }
            Err(CursorError::OtherQuery) => {
                return Err(ApiError::validation(FieldError::query(
                    "_cursor",
                    "cursor_query_mismatch",
                    "this page token belongs to a different search",
                )))
            }
        },
    };
    let search = SearchRequest {
        mode: SearchMode::Locations,
        centre: near.centre,
        radius_m: near.radius_m,
        filters: Filters::default(),
        sort: Sort::Distance,
        limit: count,
        after,
        now: state.clock.now(),
    };
    let outcome = crate::api::search::run_search(&state, &search).await?;
    let hit_ids: Vec<i64> = outcome.hits.iter().map(|hit| hit.location_id).collect();
    // Rows from the database (the source of truth), for the page's hits only.
    let rows = state
        .read(move |c| {
            let mut clinics = HashMap::new();
            let mut rows = HashMap::new();
            for id in hit_ids {
                let Some(row) = db::locations::find(c, id)? else {
                    continue; // deleted since the index saw it
                };
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    clinics.entry(row.clinic_id)
                {
                    slot.insert(db::clinics::find(c, row.clinic_id)?);
                }
                rows.insert(id, row);
            }
            Ok((rows, clinics))
        })
        .await?;
    let (rows, clinics) = rows;
    let base = base_url(&state, &request);
    let entry = outcome
        .hits
        .iter()
        .filter_map(|hit| {
            let row = rows.get(&hit.location_id)?;
            let clinic = clinics.get(&row.clinic_id).and_then(Option::as_ref);
            Some(BundleEntry {
                full_url: format!("{base}/Location/{}", row.id),
                resource: mapping::location(row, clinic),
                search: EntrySearch {
                    extension: vec![Extension::distance(
                        mapping::LOCATION_DISTANCE,
                        Distance {
                            value: hit.distance_m / near.unit.metres,
                            unit: if near.unit.ucum == "[mi_i]" {
                                "mi"
                            } else {
                                near.unit.ucum
                            }
                            .to_owned(),
                            system: mapping::UCUM_SYSTEM.to_owned(),
                            code: near.unit.ucum.to_owned(),
                        },
                    )],
                    mode: "match",
                },
            })
        })
        .collect();
    let query = format!(
        "{base}/Location?near={}&_count={count}",
        query_encode(&format!(
            "{}|{}|{}|{}",
            near.centre.lat, near.centre.lon, near.distance, near.unit.spelling
        ))
    );
    let mut link = vec![BundleLink {
        relation: "self".to_owned(),
        url: match params.cursor.as_deref() {
            Some(token) => format!("{query}&_cursor={}", query_encode(token)),
            None => query.clone(),
        },
    }];
    if outcome.has_more {
        if let Some(last) = outcome.hits.last() {
            link.push(BundleLink {
                relation: "next".to_owned(),
                url: format!(
                    "{query}&_cursor={}",
                    cursor::encode_search(&fingerprint, &last.key)
                ),
            });
        }
    }
    Ok(fhir_response(
        &Bundle {
            resource_type: "Bundle",
            kind: "searchset",
            total: None,
            link,
            entry,
        },
        pretty,
    ))
}

/// Read a FHIR Location.
///
/// A clinic location as a FHIR `Location` (every location is public, as in `GET /v1/locations/{id}`).
#[utoipa::path(tag = "FHIR", operation_id = "fhir_read_location",
    params(("id" = i64, Path, description = "Location id"), FormatParams),
    responses((status = 200, description = "The Location", body = Location, content_type = "application/fhir+json"), FhirErrors))]
#[get("/Location/{id}")]
pub async fn read_location(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<i64>,
    params: web::Query<FormatParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let id = id.into_inner();
    let (row, clinic) = state
        .read(move |c| {
            let row = db::locations::get(c, id)?;
            let clinic = db::clinics::find(c, row.clinic_id)?;
            Ok((row, clinic))
        })
        .await?;
    Ok(fhir_response(
        &mapping::location(&row, clinic.as_ref()),
        pretty,
    ))
}

/// Read a FHIR Organization.
///
/// A clinic as a FHIR `Organization`: name, telecom and website.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_read_organization",
    params(("id" = i64, Path, description = "Clinic id"), FormatParams),
    responses((status = 200, description = "The Organization", body = Organization, content_type = "application/fhir+json"), FhirErrors))]
#[get("/Organization/{id}")]
pub async fn read_organization(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<i64>,
    params: web::Query<FormatParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let id = id.into_inner();
    let row = state.read(move |c| Ok(db::clinics::get(c, id)?)).await?;
    Ok(fhir_response(&mapping::organization(&row), pretty))
}

fn specialty_namer(state: &AppState) -> impl Fn(&str) -> Option<String> + '_ {
    |code: &str| {
        state
            .taxonomy
            .specialties
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.name.clone())
    }
}

/// Read a FHIR Practitioner.
///
/// A verified provider as a FHIR `Practitioner`: NPI, name, languages, and a `qualification` for
/// each verified, unexpired credential — exactly those `GET /v1/providers/{id}` shows. Any other
/// provider is 404.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_read_practitioner",
    params(("id" = i64, Path, description = "Provider id"), FormatParams),
    responses((status = 200, description = "The Practitioner", body = Practitioner, content_type = "application/fhir+json"), FhirErrors))]
#[get("/Practitioner/{id}")]
pub async fn read_practitioner(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<i64>,
    params: web::Query<FormatParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let id = id.into_inner();
    let today = state.clock.now().date_naive();
    let record = state
        .read(move |c| Ok(db::providers::get_record(c, id)?))
        .await?;
    let profile = crate::api::providers::public_profile(record, today)
        .ok_or_else(|| ApiError::not_found("provider", id))?;
    Ok(fhir_response(
        &mapping::practitioner(&profile, &specialty_namer(&state)),
        pretty,
    ))
}

/// `Location/12`, a bare `12`, or a URL ending in `/Location/12`.
fn parse_reference(
    name: &str,
    kind: &str,
    text: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let prefix = format!("{kind}/");
    let id = match text.rfind(&prefix) {
        Some(at) if at == 0 || text[..at].ends_with('/') => &text[at + prefix.len()..],
        _ => text,
    };
    match id.parse::<i64>() {
        Ok(id) if id >= 1 => Some(id),
        _ => {
            errors.push(FieldError::query(
                name,
                "invalid_reference",
                format!("`{text}`: {kind}/{{id}} or a bare id"),
            ));
            None
        }
    }
}

/// The roles (provider, location) for the given public provider and/or location, loaded with
/// what the resources show. Only verified providers (those with a public profile) appear.
fn roles(
    connection: &mut db::DbConnection,
    practitioner: Option<i64>,
    location: Option<i64>,
    today: chrono::NaiveDate,
) -> ApiResult<Vec<RoleParts>> {
    use crate::api::providers::public_profile;
    let provider_ids = match (practitioner, location) {
        (Some(id), _) => vec![id],
        (None, Some(location)) => db::locations::provider_ids(connection, location, true)?,
        (None, None) => Vec::new(),
    };
    let mut clinics = HashMap::new();
    let mut locations = HashMap::new();
    let mut parts = Vec::new();
    for provider_id in provider_ids {
        let Some(row) = db::providers::find(connection, provider_id)? else {
            continue;
        };
        if row.vetting_status != VettingStatus::Verified.as_str() {
            continue;
        }
        let Some(profile) = public_profile(db::providers::record(connection, row)?, today) else {
            continue;
        };
        for &location_id in &profile.location_ids {
            if location.is_some_and(|wanted| wanted != location_id) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = locations.entry(location_id) {
                slot.insert(db::locations::find(connection, location_id)?);
            }
            let Some(Some(location_row)) = locations.get(&location_id) else {
                continue;
            };
            let clinic_id = location_row.clinic_id;
            if let std::collections::hash_map::Entry::Vacant(slot) = clinics.entry(clinic_id) {
                slot.insert(db::clinics::find(connection, clinic_id)?);
            }
            parts.push(RoleParts {
                profile: profile.clone(),
                location: location_row.clone(),
                clinic: clinics.get(&clinic_id).cloned().flatten(),
            });
        }
    }
    Ok(parts)
}

struct RoleParts {
    profile: crate::api::providers::ProviderProfile,
    location: crate::db::models::LocationRow,
    clinic: Option<crate::db::models::ClinicRow>,
}

/// Search FHIR PractitionerRoles.
///
/// The public providers practising at a location (`location=`), or the locations where a
/// public provider practises (`practitioner=`), as a searchset Bundle of `PractitionerRole`s
/// with NUCC specialties and whether new patients are accepted. One page holds every match.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_search_practitioner_role", params(RoleSearchParams),
    responses((status = 200, description = "A searchset Bundle of PractitionerRoles", body = Bundle<PractitionerRole>, content_type = "application/fhir+json",
        example = json!({"resourceType": "Bundle", "type": "searchset", "total": 1,
            "link": [{"relation": "self", "url": "http://127.0.0.1:8080/fhir/PractitionerRole?location=Location%2F11"}],
            "entry": [{"fullUrl": "http://127.0.0.1:8080/fhir/PractitionerRole/42-11",
                "resource": {"resourceType": "PractitionerRole", "id": "42-11", "active": true,
                    "practitioner": {"reference": "Practitioner/42", "display": "Maya Okafor, MD"},
                    "organization": {"reference": "Organization/7", "display": "Midtown Neurology & Headache Center"},
                    "location": [{"reference": "Location/11", "display": "Midtown office"}],
                    "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "2084N0400X", "display": "Neurology"}]}]},
                "search": {"mode": "match"}}]})), FhirErrors))]
#[get("/PractitionerRole")]
pub async fn search_practitioner_role(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<RoleSearchParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let mut errors = Vec::new();
    let location = params
        .location
        .as_deref()
        .and_then(|text| parse_reference("location", "Location", text, &mut errors));
    let practitioner = params
        .practitioner
        .as_deref()
        .and_then(|text| parse_reference("practitioner", "Practitioner", text, &mut errors));
    if params.location.is_none() && params.practitioner.is_none() {
        errors.push(FieldError::query(
            "location",
            "required",
            "give location=Location/{id}, practitioner=Practitioner/{id}, or both",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let today = state.clock.now().date_naive();
    let parts = state
        .read(move |c| roles(c, practitioner, location, today))
        .await?;
    let base = base_url(&state, &request);
    let namer = specialty_namer(&state);
    let entry: Vec<BundleEntry<PractitionerRole>> = parts
        .iter()
        .map(|part| {
            let role = mapping::practitioner_role(
                &part.profile,
                &part.location,
                part.clinic.as_ref(),
                &namer,
            );
            BundleEntry {
                full_url: format!("{base}/PractitionerRole/{}", role.id),
                resource: role,
                search: EntrySearch {
                    extension: Vec::new(),
                    mode: "match",
                },
            }
        })
        .collect();
    let mut query = Vec::new();
    if let Some(id) = location {
        query.push(format!(
            "location={}",
            query_encode(&format!("Location/{id}"))
        ));
    }
    if let Some(id) = practitioner {
        query.push(format!(
            "practitioner={}",
            query_encode(&format!("Practitioner/{id}"))
        ));
    }
    Ok(fhir_response(
        &Bundle {
            resource_type: "Bundle",
            kind: "searchset",
            total: Some(entry.len() as u64),
            link: vec![BundleLink {
                relation: "self".to_owned(),
                url: format!("{base}/PractitionerRole?{}", query.join("&")),
            }],
            entry,
        },
        pretty,
    ))
}

/// Read a FHIR PractitionerRole.
///
/// A public provider at one of its locations: id `{practitioner id}-{location id}`.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_read_practitioner_role",
    params(("id" = String, Path, description = "`{practitioner id}-{location id}`", pattern = "^[1-9][0-9]{0,17}-[1-9][0-9]{0,17}$"), FormatParams),
    responses((status = 200, description = "The PractitionerRole", body = PractitionerRole, content_type = "application/fhir+json"), FhirErrors))]
#[get("/PractitionerRole/{id}")]
pub async fn read_practitioner_role(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    params: web::Query<FormatParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let id = id.into_inner();
    // Exactly the documented pattern: digits without a leading zero or sign.
    let strict = |text: &str| {
        let digits = (1..=18).contains(&text.len())
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| text.parse::<i64>().ok()).flatten()
    };
    let parsed = id
        .split_once('-')
        .and_then(|(p, l)| Some((strict(p)?, strict(l)?)));
    let Some((provider_id, location_id)) = parsed else {
        return Err(ApiError::validation(FieldError::new(
            crate::api::error::ParamLocation::Path,
            "id",
            "invalid_value",
            "`{practitioner id}-{location id}`, e.g. 42-11",
        )));
    };
    let today = state.clock.now().date_naive();
    let parts = state
        .read(move |c| roles(c, Some(provider_id), Some(location_id), today))
        .await?;
    let part = parts
        .first()
        .ok_or_else(|| ApiError::not_found("practitioner role", &id))?;
    Ok(fhir_response(
        &mapping::practitioner_role(
            &part.profile,
            &part.location,
            part.clinic.as_ref(),
            &specialty_namer(&state),
        ),
        pretty,
    ))
}

/// What the facade implements, as a FHIR R4 `CapabilityStatement`.
pub fn capability_statement(base: String) -> CapabilityStatement {
    let read = Interaction { code: "read" };
    let search = Interaction {
        code: "search-type",
    };
    CapabilityStatement {
        resource_type: "CapabilityStatement",
        status: "active",
        date: "2026-11-26",
        publisher: "clinic-finder",
        kind: "instance",
        software: Software {
            name: "clinic-finder",
            version: env!("CARGO_PKG_VERSION"),
        },
        implementation: Implementation {
            description: "clinic-finder's read-only FHIR R4 facade over its public directory of verified therapeutic Botox providers",
            url: base,
        },
        fhir_version: "4.0.1",
        format: vec!["json", FHIR_JSON],
        rest: vec![Rest {
            mode: "server",
            documentation: "Read-only and public: no authentication. Only verified providers and their verified, unexpired credentials appear, as in the /v1 API. Errors are OperationOutcomes. Every interaction takes _format (JSON only) and _pretty; other parameters than those listed are refused (422).",
            resource: vec![
                RestResource {
                    kind: "Location",
                    profile: "http://hl7.org/fhir/StructureDefinition/Location",
                    interaction: vec![read.clone(), search.clone()],
                    search_param: vec![SearchParam {
                        name: "near",
                        definition: "http://hl7.org/fhir/SearchParameter/Location-near",
                        kind: "special",
                        documentation: "latitude|longitude|distance|unit; distance optional (default 25 km), at most 300 km; unit km (default), mi, [mi_i] or m. Required. Results nearest first, each with the location-distance extension; _count (at most 50 a page) and next links.",
                    }],
                    documentation: "Clinic sites. The search returns the locations the public near-me search returns (at least one verified, listed provider).",
                },
                RestResource {
                    kind: "Organization",
                    profile: "http://hl7.org/fhir/StructureDefinition/Organization",
                    interaction: vec![read.clone()],
                    search_param: Vec::new(),
                    documentation: "Clinics.",
                },
                RestResource {
                    kind: "Practitioner",
                    profile: "http://hl7.org/fhir/StructureDefinition/Practitioner",
                    interaction: vec![read.clone()],
                    search_param: Vec::new(),
                    documentation: "Verified providers only; qualification lists their verified, unexpired credentials.",
                },
                RestResource {
                    kind: "PractitionerRole",
                    profile: "http://hl7.org/fhir/StructureDefinition/PractitionerRole",
                    interaction: vec![read, search],
                    search_param: vec![
                        SearchParam {
                            name: "location",
                            definition: "http://hl7.org/fhir/SearchParameter/PractitionerRole-location",
                            kind: "reference",
                            documentation: "Location/{id} or a bare id: the verified providers practising there.",
                        },
                        SearchParam {
                            name: "practitioner",
                            definition: "http://hl7.org/fhir/SearchParameter/PractitionerRole-practitioner",
                            kind: "reference",
                            documentation: "Practitioner/{id} or a bare id: where the provider practises.",
                        },
                    ],
                    documentation: "A verified provider at one of its locations; id {practitioner id}-{location id}. A search needs location, practitioner or both.",
                },
            ],
        }],
    }
}

/// Read the FHIR CapabilityStatement.
///
/// The server's FHIR `CapabilityStatement`: the resources, interactions and search parameters
/// this facade implements.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_capabilities", params(FormatParams),
    responses((status = 200, description = "The CapabilityStatement", body = CapabilityStatement, content_type = "application/fhir+json"), FhirErrors))]
#[get("/metadata")]
pub async fn metadata(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<FormatParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    Ok(fhir_response(
        &capability_statement(base_url(&state, &request)),
        pretty,
    ))
}

/// Documents the edge errors `openapi::finish` adds to every operation (414, 429) as
/// OperationOutcomes on the facade's paths, which is what those clients get, and adds the
/// OperationOutcome schema (the `FhirErrors` responses refer to it but do not register it).
pub fn document_edge_errors(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};
    let mut schemas = vec![(
        OperationOutcome::name().into_owned(),
        OperationOutcome::schema(),
    )];
    OperationOutcome::schemas(&mut schemas);
    api.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    for (path, item) in api.paths.paths.iter_mut() {
        if !outcome::is_fhir_path(path) {
            continue;
        }
        for operation in [&mut item.get].into_iter().flatten() {
            for status in ["414", "429"] {
                if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
                    if response
                        .content
                        .shift_remove(crate::api::error::PROBLEM_JSON)
                        .is_some()
                    {
                        response.content.insert(
                            FHIR_JSON.to_owned(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("OperationOutcome")))
                                .build(),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_takes_two_to_four_parts_and_defaults_to_25_km() {
        let near = parse_near(Some("40.5|-73.9")).unwrap();
        assert_eq!(
            (near.distance, near.radius_m, near.unit.ucum),
            (25.0, 25_000.0, "km")
        );
        let near = parse_near(Some("40.5|-73.9|10|mi")).unwrap();
        assert!((near.radius_m - 16_093.44).abs() < 1e-9);
        assert_eq!(near.unit.ucum, "[mi_i]");
        let near = parse_near(Some("40.5|-73.9|2000|m")).unwrap();
        assert_eq!(near.radius_m, 2000.0);
    }

    #[test]
    fn every_bad_near_is_refused_with_its_reason() {
        let code = |text: &str| parse_near(Some(text)).unwrap_err()[0].code.clone();
        assert_eq!(code("40.5"), "invalid_format");
        assert_eq!(code("40.5||10"), "invalid_format");
        assert_eq!(code("NaN|-73.9"), "invalid_number");
        assert_eq!(code("inf|-73.9"), "invalid_number");
        assert_eq!(code("91|-73.9"), "out_of_range");
        assert_eq!(code("40|-181"), "out_of_range");
        assert_eq!(code("40|-73|301|km"), "out_of_range");
        assert_eq!(code("40|-73|187|mi"), "out_of_range");
        assert_eq!(code("40|-73|0"), "out_of_range");
        assert_eq!(code("40|-73|5|furlong"), "unknown_value");
        assert_eq!(code("40|-73|5|km|x"), "invalid_format");
        assert_eq!(parse_near(None).unwrap_err()[0].code, "required");
    }

    #[test]
    fn references_may_be_typed_bare_or_absolute() {
        let mut errors = Vec::new();
        let parse = |text: &str, errors: &mut Vec<FieldError>| {
            parse_reference("location", "Location", text, errors)
        };
        assert_eq!(parse("Location/12", &mut errors), Some(12));
        assert_eq!(parse("12", &mut errors), Some(12));
        assert_eq!(parse("http://h/fhir/Location/12", &mut errors), Some(12));
        assert!(errors.is_empty());
        assert_eq!(parse("Practitioner/12", &mut errors), None);
        assert_eq!(parse("0", &mut errors), None);
        assert_eq!(errors.len(), 2);
    }
}
