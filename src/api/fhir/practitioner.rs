//! `Practitioner`: a verified provider's public profile, read by id.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::mapping;
use super::model::Practitioner;
use super::negotiation::{fhir_response, negotiate, FormatParams};
use super::responses::FhirErrors;
use crate::api::error::{ApiError, ApiResult};
use crate::db;
use crate::state::AppState;

/// Names NUCC specialty codes from the taxonomy (for `PractitionerRole` too).
pub(super) fn specialty_namer(state: &AppState) -> impl Fn(&str) -> Option<String> + '_ {
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
    let freshness = state.freshness();
    let record = state
        .read_public(move |c| Ok(db::providers::get_record(c, id)?))
        .await?;
    let profile = crate::directory::providers::public_profile(
        record,
        &freshness,
        &crate::directory::screening::ScreeningSummary::default(),
    )
    .ok_or_else(|| ApiError::not_found("provider", id))?;
    Ok(fhir_response(
        &mapping::practitioner(&profile, &specialty_namer(&state)),
        pretty,
    ))
}
