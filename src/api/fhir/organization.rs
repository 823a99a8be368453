//! `Organization`: a clinic, read by id.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::mapping;
use super::model::Organization;
use super::negotiation::{fhir_response, negotiate, FormatParams};
use super::responses::FhirErrors;
use crate::api::error::ApiResult;
use crate::db;
use crate::state::AppState;

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
    let row = state
        .read_public(move |c| Ok(db::clinics::get(c, id)?))
        .await?;
    Ok(fhir_response(&mapping::organization(&row), pretty))
}
