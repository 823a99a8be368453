//! The taxonomy clients filter by: treatments (indications) and specialties.

use actix_web::{get, web, HttpResponse};

use super::responses::ListErrors;
use crate::api::error::ApiResult;
use crate::directory::taxonomy::{SpecialtyView, TreatmentView};
use crate::state::AppState;

/// List treatments.
///
/// Every botulinum toxin indication the directory knows, with its label status and the specialties
/// that usually treat it. Use a `code` as `treatment` in search.
#[utoipa::path(tag = "taxonomy", responses((status = 200, description = "Every treatment", body = Vec<TreatmentView>), ListErrors))]
#[get("/treatments")]
pub async fn list_treatments(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(&state.taxonomy.treatments))
}

/// List specialties.
///
/// Every NUCC provider taxonomy specialty the directory knows. Use a `code` as `specialty` in
/// search.
#[utoipa::path(tag = "taxonomy", responses((status = 200, description = "Every specialty", body = Vec<SpecialtyView>), ListErrors))]
#[get("/specialties")]
pub async fn list_specialties(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(&state.taxonomy.specialties))
}
