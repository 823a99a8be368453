//! Table rows (`*Row`), insert forms (`New*`) and change sets (`*Changes`). Enum columns are TEXT
//! here and parsed into domain types by the views in `api/`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = clinics)]
pub struct ClinicRow {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = clinics)]
pub struct NewClinic {
    pub name: String,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = locations)]
pub struct LocationRow {
    pub id: i64,
    pub clinic_id: i64,
    pub name: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    pub opening_hours: String,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub geocode_precision: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = locations)]
pub struct NewLocation {
    pub clinic_id: i64,
    pub name: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    pub opening_hours: String,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub geocode_precision: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = providers)]
pub struct ProviderRow {
    pub id: i64,
    pub npi: String,
    pub given_name: String,
    pub family_name: String,
    /// `None` when the source's credential text maps to no degree (see `credential_text`).
    pub degree: Option<String>,
    pub primary_specialty_code: String,
    pub practice_start_year: Option<i32>,
    pub languages: String,
    pub accepting_new_patients: bool,
    pub bio: Option<String>,
    pub vetting_status: String,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    /// The credential text as the source wrote it (NPPES `Provider Credential Text`).
    pub credential_text: Option<String>,
    /// Admin-only.
    pub date_of_birth: Option<NaiveDate>,
    /// How the provider came in: `manual` (the API), `import`, `nppes`.
    pub source: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = providers)]
pub struct NewProvider {
    pub npi: String,
    pub given_name: String,
    pub family_name: String,
    pub degree: Option<String>,
    pub primary_specialty_code: String,
    pub practice_start_year: Option<i32>,
    pub languages: String,
    pub accepting_new_patients: bool,
    pub bio: Option<String>,
    pub vetting_status: String,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub credential_text: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub source: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: i64,
    pub provider_id: i64,
    pub kind: String,
    pub issuer: String,
    pub identifier: Option<String>,
    pub jurisdiction: Option<String>,
    pub specialty_code: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub verification_status: String,
    pub verified_at: Option<NaiveDateTime>,
    pub verified_by_key_id: Option<i64>,
    pub verification_source_type: Option<String>,
    pub verification_reference: Option<String>,
    pub next_due_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = credentials)]
pub struct NewCredential {
    pub provider_id: i64,
    pub kind: String,
    pub issuer: String,
    pub identifier: Option<String>,
    pub jurisdiction: Option<String>,
    pub specialty_code: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub verification_status: String,
    pub verified_at: Option<NaiveDateTime>,
    pub verified_by_key_id: Option<i64>,
    pub verification_source_type: Option<String>,
    pub verification_reference: Option<String>,
    pub next_due_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = provider_treatments)]
pub struct ProviderTreatmentRow {
    pub provider_id: i64,
    pub treatment_code: String,
    pub annual_volume: Option<i32>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = provider_locations)]
pub struct ProviderLocationRow {
    pub provider_id: i64,
    pub location_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = provider_specialties)]
pub struct ProviderSpecialtyRow {
    pub provider_id: i64,
    pub specialty_code: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// Registered from the configuration at start-up (`CLINIC_FINDER_ADMIN_KEY`).
    pub bootstrap: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey {
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub bootstrap: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_key_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub occurred_at: NaiveDateTime,
    pub actor_key_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = treatments)]
pub struct TreatmentRow {
    pub code: String,
    pub name: String,
    pub label_status: String,
    pub description: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = specialties)]
pub struct SpecialtyRow {
    pub code: String,
    pub name: String,
    pub grouping: Option<String>,
    pub classification: Option<String>,
    pub specialization: Option<String>,
    pub display_name: Option<String>,
    pub section: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = nppes_npis)]
pub struct NppesNpiRow {
    pub npi: String,
    pub entity_type: Option<i32>,
    pub last_update_on: Option<NaiveDate>,
    pub deactivated_on: Option<NaiveDate>,
    pub reactivated_on: Option<NaiveDate>,
    pub seen_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = exclusion_sources)]
pub struct ExclusionSourceRow {
    pub id: i64,
    pub source: String,
    pub as_of: NaiveDate,
    pub imported_at: NaiveDateTime,
    pub row_count: i32,
    pub screened_as_of: Option<NaiveDate>,
}

/// One row of an exclusion list, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, PartialEq)]
#[diesel(table_name = exclusions)]
pub struct ExclusionRow {
    #[diesel(skip_insertion)]
    #[serde(skip)]
    pub id: i64,
    pub source: String,
    pub row_key: String,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub business_name: Option<String>,
    pub general: Option<String>,
    pub specialty: Option<String>,
    pub npi: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub exclusion_type: String,
    pub excluded_on: Option<NaiveDate>,
    pub reinstated_on: Option<NaiveDate>,
    pub waiver_on: Option<NaiveDate>,
    pub waiver_state: Option<String>,
    pub name_key: Option<String>,
}

impl ExclusionRow {
    /// In force on `day`: not reinstated, or reinstated only later.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.reinstated_on.is_none_or(|reinstated| reinstated > day)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = screening_matches)]
pub struct ScreeningMatchRow {
    pub id: i64,
    pub provider_id: i64,
    pub source: String,
    pub row_key: String,
    pub rule: String,
    pub status: String,
    pub evidence: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by_key_id: Option<i64>,
    pub resolution_reason: Option<String>,
    pub version: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = screening_matches)]
pub struct NewScreeningMatch {
    pub provider_id: i64,
    pub source: String,
    pub row_key: String,
    pub rule: String,
    pub status: String,
    pub evidence: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution_reason: Option<String>,
}
