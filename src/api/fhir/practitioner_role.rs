//! `PractitionerRole`: a public provider at one of its locations, searched by `location` and/or
//! `practitioner`, and read by `{practitioner id}-{location id}`.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::links::{base_url, query_encode, vary_on_forwarded};
use super::mapping;
use super::model::{Bundle, BundleEntry, BundleLink, EntrySearch, PractitionerRole};
use super::negotiation::{fhir_response, negotiate, FormatParams};
use super::params::{parse_reference, RoleSearchParams};
use super::practitioner::specialty_namer;
use super::responses::FhirErrors;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db;
use crate::domain::VettingStatus;
use crate::state::AppState;

/// The roles (provider, location) for the given public provider and/or location, loaded with
/// what the resources show. Only verified providers (those with a public profile) appear.
fn roles(
    connection: &mut db::DbConnection,
    practitioner: Option<i64>,
    location: Option<i64>,
    freshness: crate::domain::Freshness,
) -> ApiResult<Vec<RoleParts>> {
    use crate::directory::providers::public_profile;
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
        let record = db::providers::record(connection, row)?;
        // The licence rule: listed only at locations in a state the provider is licensed in.
        let listed: Vec<i64> = crate::directory::vetting::listing(&record, &freshness)
            .into_iter()
            .filter(|listing| listing.listed)
            .map(|listing| listing.location_id)
            .collect();
        let summary = crate::directory::screening::ScreeningSummary::default();
        let Some(profile) = public_profile(record, &freshness, &summary) else {
            continue;
        };
        for &location_id in &profile.location_ids {
            if location.is_some_and(|wanted| wanted != location_id)
                || !listed.contains(&location_id)
            {
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
    profile: crate::directory::providers::ProviderProfile,
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
    let freshness = state.freshness();
    let parts = state
        .read_public(move |c| roles(c, practitioner, location, freshness))
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
    let mut response = fhir_response(
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
    );
    vary_on_forwarded(&state, &mut response);
    Ok(response)
}

/// Read a FHIR PractitionerRole.
///
/// A public provider at one of its locations: id `{practitioner id}-{location id}`.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_read_practitioner_role",
    params(("id" = String, Path, description = "`{practitioner id}-{location id}`", max_length = 33, pattern = "^[1-9][0-9]{0,15}-[1-9][0-9]{0,15}$"), FormatParams),
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
    let freshness = state.freshness();
    let parts = state
        .read_public(move |c| roles(c, Some(provider_id), Some(location_id), freshness))
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
