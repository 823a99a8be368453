//! The bodies of `GET /v1/search/*`: the results as the OpenAPI document describes them, built
//! from the index's entries, with the `meta` echo of the query, as JSON or as an RFC 7946
//! FeatureCollection, with a weak `ETag`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::query::ParsedSearch;
use crate::directory::locations::Address;
use crate::directory::screening::{PublicScreening, ScreeningSummary};
use crate::domain::{Coordinates, CredentialKind, Degree, LabelStatus, OpenStatus};
use crate::search::cursor;
use crate::search::engine::ProviderMatcher;
use crate::search::geodesy::METRES_PER_MILE;
use crate::search::index::{DirectoryIndex, LocationEntry, ProviderEntry};
use crate::search::ranking::{self, RankingExplanation, RankingWeights};
use crate::search::{self as engine, Sort};

/// The filters as understood, echoed in the response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiltersEcho {
    #[schema(value_type = Vec<crate::domain::schemas::TreatmentCode>, max_items = 10)]
    pub treatment: Vec<String>,
    #[schema(value_type = Vec<crate::domain::schemas::SpecialtyCode>, inline, max_items = 10)]
    pub specialty: Vec<String>,
    #[schema(max_items = 10)]
    pub degree: Vec<Degree>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 80)]
    pub min_years_experience: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_certified: Option<bool>,
    #[schema(value_type = Vec<crate::domain::schemas::LanguageCode>, inline, max_items = 10)]
    pub language: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepting_new_patients: Option<bool>,
    /// The instant opening hours were judged at, when `open_now` or `open_at` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::Timestamp>, inline)]
    pub open_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 2, max_length = 100, pattern = "^[^\\x00]*$")]
    pub q: Option<String>,
    #[schema(max_items = 3)]
    pub label: Vec<LabelStatus>,
}

/// A US place (GeoNames): one that `place` resolved to, or one of the choices of an ambiguous name.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"place": "Springfield, MO", "name": "Springfield", "state": "MO",
    "centre": {"lat": 37.21533, "lon": -93.29824}, "population": 170188}))]
pub struct PlaceChoice {
    /// "Name, ST": send it as `place` to mean this place.
    #[schema(
        max_length = 104,
        pattern = "^[A-Za-z0-9À-ÖØ-öø-ſʻ‘’' .,()/-]{2,100}, [A-Z]{2}$"
    )]
    pub place: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[A-Za-z0-9À-ÖØ-öø-ſʻ‘’' .,()/-]+$"
    )]
    pub name: String,
    #[schema(value_type = crate::domain::UsState)]
    pub state: String,
    pub centre: Coordinates,
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub population: u64,
}

impl From<&crate::search::places::Place> for PlaceChoice {
    fn from(place: &crate::search::places::Place) -> PlaceChoice {
        PlaceChoice {
            place: place.label(),
            name: place.name.clone(),
            state: place.state.clone(),
            centre: place.centre,
            population: place.population,
        }
    }
}

/// The query as the server understood it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchMeta {
    pub centre: Coordinates,
    /// The ZIP code the centre came from, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 5, max_length = 5, pattern = "^[0-9]{5}$")]
    pub postal_code: Option<String>,
    /// The place the centre came from, when `place` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceChoice>,
    #[schema(exclusive_minimum = 0, maximum = 300)]
    pub radius_km: f64,
    pub sort: Sort,
    #[schema(value_type = i32, minimum = 1, maximum = 50)]
    pub limit: usize,
    pub filters: FiltersEcho,
    pub weights: RankingWeights,
    /// The instant credentials were judged at (verified and unexpired then).
    #[schema(value_type = crate::domain::schemas::Timestamp, inline)]
    pub as_of: DateTime<Utc>,
    /// Locations the search examined: it stops early once nothing farther can rank higher, and
    /// at the latest at the service's work budget (`CLINIC_FINDER_SEARCH_BUDGET`).
    #[schema(value_type = i32, minimum = 0, maximum = 2_147_483_647)]
    pub candidates_visited: usize,
    /// `true` when the search reached its work budget before it could finish: `results` are then
    /// the best among the locations it considered — every one within `complete_within_km` of the
    /// centre, none much farther — and there is no next page; a narrower radius or more specific
    /// filters give the complete answer.
    pub partial: bool,
    /// With `partial`, the distance from the centre within which the answer is complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_within_km: Option<f64>,
}

/// A board certification in a summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificationSummary {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::SpecialtyCode>, inline)]
    pub specialty_code: Option<String>,
    /// Relevant to the requested treatment (always true when none was requested).
    pub relevant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::CalendarDate>, inline)]
    pub expires_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<crate::domain::schemas::Timestamp>, inline)]
    pub verified_at: Option<NaiveDateTime>,
}

/// A state licence in a summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LicenceSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::UsState>)]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<crate::domain::schemas::Timestamp>, inline)]
    pub verified_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::CalendarDate>, inline)]
    pub expires_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::CalendarDate>, inline)]
    pub next_due_on: Option<NaiveDate>,
}

/// What a patient should know about a provider's credentials: verified, unexpired ones only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialSummary {
    pub degree: Degree,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 160)]
    pub years_of_experience: Option<u32>,
    pub licences: Vec<LicenceSummary>,
    pub board_certifications: Vec<CertificationSummary>,
    /// Verified botulinum-toxin injector training.
    pub injector_training: bool,
    /// Procedures a year for the requested treatment(s), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100000)]
    pub annual_procedure_volume: Option<u32>,
    /// The credential score in [0, 1].
    #[schema(minimum = 0, maximum = 1)]
    pub credential_score: f64,
}

/// A provider in search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderSummary {
    #[schema(value_type = crate::domain::schemas::Id, inline)]
    pub id: i64,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub given_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub family_name: String,
    #[schema(value_type = crate::domain::schemas::SpecialtyCode, inline)]
    pub primary_specialty_code: String,
    #[schema(value_type = Vec<crate::domain::schemas::LanguageCode>, inline, max_items = 20)]
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    /// Treatment codes offered.
    #[schema(value_type = Vec<crate::domain::schemas::TreatmentCode>, max_items = 16)]
    pub treatments: Vec<String>,
    /// Each treatment offered with its label status (on-label, off-label, cosmetic).
    #[schema(max_items = 16)]
    pub treatment_labels: Vec<TreatmentLabel>,
    pub credentials: CredentialSummary,
    /// Exclusion screening: the lists checked, as of when, and the outcome.
    pub screening: PublicScreening,
}

/// A treatment offered, with its label status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TreatmentLabel {
    #[schema(value_type = crate::domain::schemas::TreatmentCode)]
    pub code: String,
    pub label_status: LabelStatus,
}

/// The clinic running a location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClinicSummary {
    #[schema(value_type = crate::domain::schemas::Id, inline)]
    pub id: i64,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 500,
        format = "uri",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
    )]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<String>,
}

/// Where: a location with its clinic, address and opening state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceSummary {
    #[schema(value_type = crate::domain::schemas::Id, inline)]
    pub location_id: i64,
    pub clinic: ClinicSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: Option<String>,
    pub address: Address,
    pub coordinates: Coordinates,
    #[schema(value_type = crate::domain::schemas::Timezone)]
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<String>,
    /// Open at the instant asked about (open_at, or now), and when it next opens.
    pub opening: OpenStatus,
}

/// One location in `GET /v1/search/locations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationResult {
    pub location: PlaceSummary,
    /// Exact geodesic distance (WGS84, Karney) from the centre.
    #[schema(minimum = 0, maximum = 300)]
    pub distance_km: f64,
    /// `distance_km / 1.609344`.
    #[schema(minimum = 0, maximum = 186.5)]
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
    #[schema(minimum = 0, maximum = 300)]
    pub distance_km: f64,
    #[schema(minimum = 0, maximum = 186.5)]
    pub distance_mi: f64,
    pub ranking: RankingExplanation,
}

/// Locations near the centre, ranked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_locations)]
pub struct LocationSearchResponse {
    pub meta: SearchMeta,
    #[schema(max_items = 50)]
    pub results: Vec<LocationResult>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
}

/// Providers near the centre, ranked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_providers)]
pub struct ProviderSearchResponse {
    pub meta: SearchMeta,
    #[schema(max_items = 50)]
    pub results: Vec<ProviderResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
}

/// Whether `Accept` prefers GeoJSON to JSON (`api::negotiation`; a `format` parameter overrides
/// it: see `query`).
pub(super) fn wants_geojson(request: &HttpRequest) -> bool {
    use crate::api::negotiation::{accept_header, choose, GEO_JSON, JSON};
    choose(
        accept_header(request.headers()).as_deref(),
        &[JSON, GEO_JSON],
    ) == Some(GEO_JSON)
}

fn meta(parsed: &ParsedSearch, outcome: &engine::SearchOutcome) -> SearchMeta {
    let request = &parsed.request;
    let filters = &request.filters;
    SearchMeta {
        centre: request.centre,
        postal_code: parsed.postal_code.clone(),
        place: parsed.place.map(PlaceChoice::from),
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
            label: filters.labels.clone(),
        },
        weights: RankingWeights::for_radius(request.radius_m),
        as_of: request.now,
        candidates_visited: outcome.candidates_visited,
        partial: outcome.partial,
        complete_within_km: outcome.complete_within_m.map(|m| m / 1000.0),
    }
}

fn provider_summary(
    index: &DirectoryIndex,
    provider: &ProviderEntry,
    matcher: &ProviderMatcher<'_>,
    inputs: &ranking::CredentialInputs,
) -> ProviderSummary {
    let active: Vec<_> = provider.active_credentials(matcher.freshness()).collect();
    let screening = ScreeningSummary {
        screened: index.screening.clone(),
    }
    .public(provider.screening_under_review);
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
        treatment_labels: provider
            .treatments
            .iter()
            .filter_map(|(code, _)| {
                Some(TreatmentLabel {
                    code: code.to_string(),
                    label_status: *index.treatment_labels.get(&**code)?,
                })
            })
            .collect(),
        screening,
        credentials: CredentialSummary {
            degree: provider.degree,
            years_of_experience: inputs.years_of_experience,
            licences: active
                .iter()
                .filter(|c| c.kind == CredentialKind::StateLicense)
                .map(|c| LicenceSummary {
                    state: c.jurisdiction().map(str::to_owned),
                    verified_at: c.verified_at,
                    expires_on: c.expires_on,
                    next_due_on: c.next_due_on,
                })
                .collect(),
            board_certifications: active
                .iter()
                .filter(|c| c.kind == CredentialKind::BoardCertification)
                .map(|c| CertificationSummary {
                    issuer: c.issuer().to_owned(),
                    specialty_code: c.specialty_code().map(str::to_owned),
                    relevant: matcher.is_relevant_certification(c.specialty_code()),
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
    let place = &location.place;
    PlaceSummary {
        location_id: location.id,
        clinic: ClinicSummary {
            id: location.clinic_id,
            name: clinic.map(|c| c.name().to_owned()).unwrap_or_default(),
            website: clinic.and_then(|c| c.website()).map(str::to_owned),
            phone: clinic.and_then(|c| c.phone()).map(str::to_owned),
        },
        name: location.name().map(str::to_owned),
        address: Address {
            line1: location.address_line1().to_owned(),
            line2: location.address_line2().map(str::to_owned),
            city: place.city().to_owned(),
            state: place.state().to_owned(),
            postal_code: place.postal_code().to_owned(),
            country: place.country().to_owned(),
        },
        coordinates: Coordinates {
            lat: location.latitude,
            lon: location.longitude,
        },
        timezone: location.timezone.name().to_owned(),
        phone: location.phone().map(str::to_owned),
        opening: location.hours.status_at(location.timezone, instant),
    }
}

/// The instant of the request (`meta.as_of`), in every search body: the `ETag` leaves it out (it
/// is weak).
const AS_OF: &str = "as_of";

/// Room for a body of `results` results (about 1.8 KB each with their providers, and the `meta`),
/// so the one buffer it is written into is not copied as it grows.
fn body_capacity(results: usize) -> usize {
    2048 + results * 2048
}

/// The JSON body, or the same results as an RFC 7946 FeatureCollection, with the cursor of the
/// next page when there is one.
pub(super) fn respond<T: Serialize>(
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
                .map(|hit| cursor::encode_search(&parsed.signer, &parsed.fingerprint, &hit.key))
        })
        .flatten();
    let (meta, geojson) = (meta(parsed, outcome), parsed.geojson);
    #[derive(Serialize)]
    struct Body<T> {
        meta: SearchMeta,
        results: Vec<T>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    }
    if !geojson {
        let capacity = body_capacity(results.len());
        let body = Body {
            meta,
            results,
            next_cursor,
        };
        let mut bytes = Vec::with_capacity(capacity);
        serde_json::to_writer(&mut bytes, &body).unwrap_or_default();
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
    let mut bytes = Vec::with_capacity(body_capacity(results.len()));
    let collection = Collection {
        kind: "FeatureCollection",
        features,
        meta,
        next_cursor,
    };
    serde_json::to_writer(&mut bytes, &collection).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("application/geo+json")
        .insert_header(crate::api::middleware::caching::weak_etag(&bytes, AS_OF))
        .body(bytes)
}

/// One result per hit still in the index, in the engine's order, each location with its matching
/// providers (best credentials first), and each result's point (for GeoJSON).
pub(super) fn location_results(
    index: &DirectoryIndex,
    parsed: &ParsedSearch,
    outcome: &engine::SearchOutcome,
) -> (Vec<LocationResult>, Vec<Coordinates>) {
    let matcher = ProviderMatcher::new(index, &parsed.request);
    let instant = parsed.request.filters.open_at.unwrap_or(parsed.request.now);
    let mut results = Vec::with_capacity(outcome.hits.len());
    let mut points = Vec::with_capacity(outcome.hits.len());
    for hit in &outcome.hits {
        let Some(location) = index.locations.get(&hit.location_id) else {
            continue;
        };
        let clinic_name_matches =
            engine::engine::clinic_name_matches(index, &parsed.request, location);
        let mut providers =
            engine::engine::matching_providers(index, &matcher, location, clinic_name_matches);
        providers.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let providers = providers
            .iter()
            .filter_map(|(id, inputs, _)| {
                Some(provider_summary(
                    index,
                    index.providers.get(id)?,
                    &matcher,
                    inputs,
                ))
            })
            .collect();
        points.push(Coordinates {
            lat: location.latitude,
            lon: location.longitude,
        });
        results.push(LocationResult {
            location: place(index, location, instant),
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
    (results, points)
}

/// One result per hit still in the index, in the engine's order, each provider at the location
/// it was found at, and each result's point (for GeoJSON).
pub(super) fn provider_results(
    index: &DirectoryIndex,
    parsed: &ParsedSearch,
    outcome: &engine::SearchOutcome,
) -> (Vec<ProviderResult>, Vec<Coordinates>) {
    let matcher = ProviderMatcher::new(index, &parsed.request);
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
            provider: provider_summary(index, provider, &matcher, &hit.credentials),
            location: place(index, location, instant),
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
    (results, points)
}

/// `FeatureCollection`, `Feature` and `Point`: the GeoJSON member `type` of each object.
macro_rules! geojson_type {
    ($name:ident, $text:literal) => {
        #[derive(Debug, Serialize, ToSchema)]
        #[allow(dead_code)] // Only its schema is used: `respond` writes the literal.
        pub enum $name {
            #[serde(rename = $text)]
            #[schema(rename = $text)]
            Only,
        }
    };
}
geojson_type!(FeatureCollectionType, "FeatureCollection");
geojson_type!(FeatureType, "Feature");
geojson_type!(PointType, "Point");

/// A GeoJSON Point: the result's location.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoJsonPoint {
    #[serde(rename = "type")]
    pub kind: PointType,
    /// `[lon, lat]`, WGS84 degrees.
    #[schema(min_items = 2, max_items = 2)]
    pub coordinates: Vec<f64>,
}

// The GeoJSON bodies as the document describes them, one pair per search: `respond` writes the
// same members (a test validates live answers against these schemas).

/// A location result as an RFC 7946 Feature: its point, and the result as its properties.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    pub geometry: GeoJsonPoint,
    pub properties: LocationResult,
}

/// Locations near the centre, ranked, as an RFC 7946 FeatureCollection; `meta` and
/// `next_cursor` are foreign members.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_geojson)]
pub struct LocationFeatureCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    #[schema(max_items = 50)]
    pub features: Vec<LocationFeature>,
    pub meta: SearchMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
}

/// A provider result as an RFC 7946 Feature: the point of the location it was found at, and the
/// result as its properties.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    pub geometry: GeoJsonPoint,
    pub properties: ProviderResult,
}

/// Providers near the centre, ranked, as an RFC 7946 FeatureCollection; `meta` and
/// `next_cursor` are foreign members.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::search_providers_geojson)]
pub struct ProviderFeatureCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    #[schema(max_items = 50)]
    pub features: Vec<ProviderFeature>,
    pub meta: SearchMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
}
