//! The taxonomy clients filter by: treatments (indications) and specialties, read once at
//! start-up (it changes only with a migration or a taxonomy import).

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, DbConnection, DbResult};
use crate::domain::schemas::{SpecialtyCode, TreatmentCode};
use crate::domain::LabelStatus;

/// A botulinum toxin indication.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "chronic_migraine", "name": "Chronic migraine", "label_status": "on_label",
    "description": "Prevention of headaches in adults with chronic migraine (15 or more headache days a month).",
    "specialty_codes": ["2081P2900X", "2084N0400X", "2084N0402X", "208VP0014X"]}))]
pub struct TreatmentView {
    /// Use as `treatment` in search.
    #[schema(value_type = TreatmentCode)]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    pub label_status: LabelStatus,
    #[schema(min_length = 1, max_length = 2000, pattern = "^[^\\x00]*$")]
    pub description: String,
    /// Specialties that usually treat it: a board certification in one of them counts as relevant.
    #[schema(value_type = Vec<SpecialtyCode>, inline, max_items = 50)]
    pub specialty_codes: Vec<String>,
}

/// A NUCC health care provider taxonomy specialty.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "2084N0400X", "name": "Neurology"}))]
pub struct SpecialtyView {
    #[schema(value_type = SpecialtyCode, inline)]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
}

/// The taxonomy, read once at start-up (it changes only with a migration).
#[derive(Debug, Clone, Default)]
pub struct Taxonomy {
    pub treatments: Vec<TreatmentView>,
    pub specialties: Vec<SpecialtyView>,
}

impl Taxonomy {
    pub fn load(connection: &mut DbConnection) -> DbResult<Taxonomy> {
        let treatments = db::taxonomy::treatments(connection)?
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
        let specialties = db::taxonomy::specialties(connection)?
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
