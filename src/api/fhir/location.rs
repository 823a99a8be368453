//! `Location`: search by `near` (the public search's results, nearest first, paged) and read.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::links::{base_url, query_encode, vary_on_forwarded};
use super::mapping;
use super::model::{Bundle, BundleEntry, BundleLink, Distance, EntrySearch, Extension, Location};
use super::negotiation::{fhir_response, negotiate, FormatParams};
use super::params::{parse_count, parse_near, LocationSearchParams};
use super::responses::FhirErrors;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db;
use crate::search::cursor::{self, CursorError};
use crate::search::{Filters, SearchMode, SearchRequest, Sort};
use crate::state::AppState;

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
        Some(text) => match cursor::decode_search(&state.cursor_key, text, &fingerprint) {
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
        budget: state.settings.search_budget as usize,
        reverify_grace_days: state.settings.reverify_grace_days,
    };
    let (_, outcome) = crate::api::search::run_search(&state, &search).await?;
    let hit_ids: Vec<i64> = outcome.hits.iter().map(|hit| hit.location_id).collect();
    // Rows from the database (the source of truth), for the page's hits only.
    let rows = state
        .read_public(move |c| {
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
                    cursor::encode_search(&state.cursor_key, &fingerprint, &last.key)
                ),
            });
        }
    }
    let mut response = fhir_response(
        &Bundle {
            resource_type: "Bundle",
            kind: "searchset",
            total: None,
            link,
            entry,
        },
        pretty,
    );
    vary_on_forwarded(&state, &mut response);
    Ok(response)
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
        .read_public(move |c| {
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
