//! `GET /v1/search/locations` and `GET /v1/search/providers`: near-me search ranked by distance
//! and credentials, explained, paginated, as JSON or GeoJSON.
//!
//! The handlers only chain the steps: `query` parses and validates the query string, the engine
//! finds the hits on the in-memory index, `response` builds the body.

pub mod query;
pub mod response;

use actix_web::{get, web, HttpRequest, HttpResponse};

use self::query::{parse_search, SearchParams};
use self::response::{
    location_results, provider_results, respond, wants_geojson, LocationFeatureCollection,
    LocationSearchResponse, ProviderFeatureCollection, ProviderSearchResponse,
};
use std::sync::Arc;

use crate::api::error::{ApiError, ApiResult, ProblemDetails};
use crate::search::index::DirectoryIndex;
use crate::search::{self as engine, SearchMode, SearchRequest};
use crate::state::AppState;

/// Runs the engine on the in-memory index (also the FHIR facade's `Location?near`):
/// off the HTTP workers, on the blocking pool, at most `--search-concurrency` at once (a search
/// that waits longer than the pool timeout for a slot gets 503), on one snapshot of the index,
/// which the caller also builds the response from.
pub(crate) async fn run_search(
    state: &web::Data<AppState>,
    request: &SearchRequest,
) -> ApiResult<(Arc<DirectoryIndex>, engine::SearchOutcome)> {
    let wait = std::time::Duration::from_secs(state.settings.pool_timeout_secs);
    let _slot = actix_web::rt::time::timeout(wait, state.search_slots.acquire())
        .await
        .map_err(|_| ApiError::ServiceUnavailable("every search slot is busy".to_owned()))?
        .map_err(|_| ApiError::internal("the search slots are closed"))?;
    let (index, request) = (state.index.clone(), request.clone());
    Ok(web::block(move || {
        let snapshot = index.read();
        let outcome = engine::search(&snapshot, &request);
        (snapshot, outcome)
    })
    .await?)
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
            (LocationFeatureCollection = "application/geo+json"))),
        (status = 422, description = "A parameter is invalid; `errors` names each", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; retry after `Retry-After` seconds", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/search/locations")]
pub async fn search_locations(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let params = SearchParams::from_query(request.query_string())?;
    let parsed = parse_search(
        &state,
        &params,
        SearchMode::Locations,
        wants_geojson(&request),
    )?;
    let (index, outcome) = run_search(&state, &parsed.request).await?;
    let (results, points) = location_results(&index, &parsed, &outcome);
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
            (ProviderFeatureCollection = "application/geo+json"))),
        (status = 422, description = "A parameter is invalid; `errors` names each", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; retry after `Retry-After` seconds", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/search/providers")]
pub async fn search_providers(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let params = SearchParams::from_query(request.query_string())?;
    let parsed = parse_search(
        &state,
        &params,
        SearchMode::Providers,
        wants_geojson(&request),
    )?;
    let (index, outcome) = run_search(&state, &parsed.request).await?;
    let (results, points) = provider_results(&index, &parsed, &outcome);
    Ok(respond(results, points, &parsed, &outcome))
}
