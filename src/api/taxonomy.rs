//! The taxonomy clients filter by: treatments (indications) and specialties.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::ListErrors;
use crate::domain::LabelStatus;
use crate::error::ApiResult;
use crate::startup::AppState;

/// A botulinum toxin indication.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "chronic_migraine", "name": "Chronic migraine", "label_status": "on_label",
    "description": "Prevention of headaches in adults with chronic migraine (15 or more headache days a month).",
    "specialty_codes": ["2081P2900X", "2084N0400X", "2084N0402X", "208VP0014X"]}))]
pub struct TreatmentView {
    /// Use as `treatment` in search.
    pub code: String,
    pub name: String,
    pub label_status: LabelStatus,
    pub description: String,
    /// Specialties that usually treat it: a board certification in one of them counts as relevant.
    pub specialty_codes: Vec<String>,
}

/// A NUCC health care provider taxonomy specialty.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "2084N0400X", "name": "Neurology"}))]
pub struct SpecialtyView {
    pub code: String,
    pub name: String,
}

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

/// The taxonomy, read once at start-up (it changes only with a migration).
#[derive(Debug, Clone, Default)]
pub struct Taxonomy {
    pub treatments: Vec<TreatmentView>,
    pub specialties: Vec<SpecialtyView>,
}

impl Taxonomy {
    pub fn load(connection: &mut crate::db::DbConnection) -> ApiResult<Taxonomy> {
        let treatments = crate::db::taxonomy::treatments(connection)?
            .into_iter()
            .map(|(row, specialty_codes)| TreatmentView {
                label_status: LabelStatus::parse(&row.label_status)
                    .unwrap_or(LabelStatus::OffLabel),
                code: row.code,
                name: row.name,
                description: row.description,
                specialty_codes,
            })
            .collect();
        let specialties = crate::db::taxonomy::specialties(connection)?
            .into_iter()
            .map(|row| SpecialtyView {
                code: row.code,
                name: row.name,
            })
            .collect();
        Ok(Taxonomy {
            treatments,
            specialties,
        })
    }

    pub fn has_treatment(&self, code: &str) -> bool {
        self.treatments.iter().any(|t| t.code == code)
    }

    pub fn has_specialty(&self, code: &str) -> bool {
        self.specialties.iter().any(|s| s.code == code)
    }
}
