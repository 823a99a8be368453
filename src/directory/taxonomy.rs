//! The taxonomy clients filter by: treatments (indications) and specialties, read once at
//! start-up (it changes only with a migration or a taxonomy import).

use serde::Serialize;
use utoipa::ToSchema;

use super::audit::EDITORS;
use super::{write, AuditAction, AuditEvent, Change, DirectoryResult, Principal, Written};
use crate::db::change_log::Affected;
use crate::db::{self, DbConnection, DbResult};
use crate::domain::schemas::{SpecialtyCode, TreatmentCode};
use crate::domain::{is_taxonomy_code, LabelStatus};

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
#[schema(example = json!({"code": "2084N0400X", "name": "Neurology", "grouping": "Allopathic & Osteopathic Physicians",
    "classification": "Psychiatry & Neurology", "specialization": "Neurology", "display_name": "Neurology Physician"}))]
pub struct SpecialtyView {
    #[schema(value_type = SpecialtyCode, inline)]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    /// NUCC grouping, once the code set is loaded (`clinic-finder import-nucc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub grouping: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub classification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub specialization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub display_name: Option<String>,
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
                grouping: row.grouping,
                classification: row.classification,
                specialization: row.specialization,
                display_name: row.display_name,
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

/// A row of the NUCC code set (`Code,Grouping,Classification,Specialization,Definition,Notes,
/// Display Name,Section`).
#[derive(Debug, Clone, PartialEq)]
pub struct NuccRow {
    pub line: u64,
    pub code: String,
    pub grouping: Option<String>,
    pub classification: Option<String>,
    pub specialization: Option<String>,
    pub display_name: Option<String>,
    pub section: Option<String>,
}

/// Longest text of a specialty (its name and the NUCC columns), as the document states it.
const MAX_SPECIALTY_TEXT: usize = 200;

impl NuccRow {
    /// The first column too long for a specialty, or holding a NUL character (which PostgreSQL
    /// cannot store), as the reason to refuse the row.
    fn unfit_field(&self) -> Option<String> {
        [
            ("Grouping", &self.grouping),
            ("Classification", &self.classification),
            ("Specialization", &self.specialization),
            ("Display Name", &self.display_name),
            ("Section", &self.section),
        ]
        .into_iter()
        .find_map(|(column, value)| {
            let value = value.as_deref()?;
            (value.chars().count() > MAX_SPECIALTY_TEXT || value.contains('\0')).then(|| {
                format!("`{column}` is longer than {MAX_SPECIALTY_TEXT} characters or holds a NUL")
            })
        })
    }

    /// A specialty's name: the display name, else "Classification (Specialization)".
    fn name(&self) -> String {
        if let Some(name) = &self.display_name {
            return name.clone();
        }
        match (&self.classification, &self.specialization) {
            (Some(c), Some(s)) => format!("{s} ({c})"),
            (Some(c), None) => c.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => self.code.clone(),
        }
    }
}

/// What loading the code set did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct NuccReport {
    pub rows: usize,
    pub added: usize,
    pub updated: usize,
    /// (line, why) of rows refused.
    pub rejected: Vec<(u64, String)>,
}

/// Loads the NUCC code set into the specialties, so that NPPES codes outside the seeded subset
/// resolve: one write (`taxonomy.import`). Running processes read the taxonomy at start-up.
pub fn import_nucc(
    connection: &mut DbConnection,
    by: &Principal,
    file_name: &str,
    rows: Vec<NuccRow>,
) -> DirectoryResult<Written<NuccReport>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let mut report = NuccReport::default();
        for row in rows {
            report.rows += 1;
            if !is_taxonomy_code(&row.code) {
                report
                    .rejected
                    .push((row.line, format!("`{}` is not a taxonomy code", row.code)));
                continue;
            }
            if let Some(why) = row.unfit_field() {
                report.rejected.push((row.line, why));
                continue;
            }
            let name = row.name();
            let added = db::taxonomy::upsert_specialty(
                c,
                &db::taxonomy::NuccSpecialty {
                    code: &row.code,
                    name: &name,
                    grouping: row.grouping.as_deref(),
                    classification: row.classification.as_deref(),
                    specialization: row.specialization.as_deref(),
                    display_name: row.display_name.as_deref(),
                    section: row.section.as_deref(),
                },
            )?;
            if added {
                report.added += 1;
            } else {
                report.updated += 1;
            }
        }
        let summary = serde_json::json!({"file": file_name, "rows": report.rows, "added": report.added,
            "updated": report.updated, "rejected": report.rejected.len()});
        let event = AuditEvent::of(AuditAction::TaxonomyImport, "nucc").after(&summary);
        Ok(Change::new(report, event, Affected::default()))
    })
}
