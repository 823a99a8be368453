//! How a provider is shown: the public profile (verified providers, with only the credentials
//! verified and unexpired on the day asked) and the admin view (everything, for vetting and the
//! audit trail).

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::models::ProviderTreatmentRow;
use crate::db::providers::ProviderRecord;
use crate::directory::credentials::CredentialView;
use crate::directory::screening::{PublicScreening, ScreeningSummary};
use crate::domain::schemas::{
    CalendarDate, Id, LanguageCode, SpecialtyCode, Timestamp, TreatmentCode, UsState,
};
use crate::domain::{
    CredentialKind, Degree, Freshness, LabelStatus, ProviderSource, SourceType, VerificationStatus,
    VettingStatus,
};

/// A treatment a provider offers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "spasticity_adult", "label_status": "on_label", "annual_volume": 348}))]
pub struct OfferedTreatment {
    /// Treatment code, see `GET /v1/treatments`.
    #[schema(value_type = TreatmentCode)]
    pub code: String,
    /// Whether the indication is on the approved labelling, off-label or cosmetic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_status: Option<LabelStatus>,
    /// Procedures a year, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100000)]
    pub annual_volume: Option<i32>,
}

impl From<ProviderTreatmentRow> for OfferedTreatment {
    fn from(row: ProviderTreatmentRow) -> Self {
        OfferedTreatment {
            code: row.treatment_code,
            label_status: None,
            annual_volume: row.annual_volume,
        }
    }
}

fn offered(record: &ProviderRecord) -> Vec<OfferedTreatment> {
    record
        .treatments
        .iter()
        .cloned()
        .map(|row| {
            let mut offered = OfferedTreatment::from(row);
            offered.label_status = record
                .label_statuses
                .iter()
                .find(|(code, _)| *code == offered.code)
                .and_then(|(_, label)| LabelStatus::parse(label));
            offered
        })
        .collect()
}

/// Whether a provider is listed at one of its locations, and why not.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"location_id": 11, "state": "NY", "listed": false, "reason": "no verified state licence for NY"}))]
pub struct LocationListing {
    #[schema(value_type = Id, inline)]
    pub location_id: i64,
    /// The location's state: the licence rule asks for a licence there.
    #[schema(value_type = UsState)]
    pub state: String,
    /// Listed in public search at this location now.
    pub listed: bool,
    /// Why not, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub reason: Option<String>,
}

/// A credential as the public sees it: verified, unexpired, with its freshness.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "kind": "state_license", "issuer": "Medical Board of California", "jurisdiction": "CA",
    "expires_on": "2027-02-28", "verified_at": "2026-11-20T14:03:00Z", "verification_source_type": "state_medical_board", "next_due_on": "2027-02-28"}))]
pub struct PublicCredential {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    pub kind: CredentialKind,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<UsState>)]
    pub jurisdiction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SpecialtyCode>, inline)]
    pub specialty_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub expires_on: Option<NaiveDate>,
    /// When a reviewer checked it against the primary source (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<Timestamp>, inline)]
    pub verified_at: Option<NaiveDateTime>,
    /// The kind of primary source checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_source_type: Option<SourceType>,
    /// When it is due to be checked again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub next_due_on: Option<NaiveDate>,
}

/// A provider's public profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::provider_profile)]
pub struct ProviderProfile {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(min_length = 10, max_length = 10, pattern = "^[0-9]{10}$")]
    pub npi: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub given_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub family_name: String,
    pub degree: Degree,
    #[schema(value_type = SpecialtyCode, inline)]
    pub primary_specialty_code: String,
    #[schema(value_type = Vec<SpecialtyCode>, inline, max_items = 10)]
    pub other_specialty_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1940, maximum = 2100)]
    pub practice_start_year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 160)]
    pub years_of_experience: Option<i32>,
    /// ISO 639-1 codes.
    #[schema(value_type = Vec<LanguageCode>, inline, min_items = 1, max_items = 20)]
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub bio: Option<String>,
    #[schema(max_items = 16)]
    pub treatments: Vec<OfferedTreatment>,
    #[schema(value_type = Vec<Id>, inline)]
    pub location_ids: Vec<i64>,
    /// Verified credentials that have not expired and are not overdue for re-verification, today.
    pub credentials: Vec<PublicCredential>,
    /// False while the provider has no counting state licence for the state of any of its
    /// locations: then it does not appear in search (it appears only at locations in a state it
    /// is licensed in).
    pub listed_in_search: bool,
    /// Exclusion screening: the lists checked, as of when, and the outcome.
    pub screening: PublicScreening,
}

/// A provider as admins and reviewers see it: everything, including vetting state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::provider_admin_view)]
pub struct ProviderAdminView {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(min_length = 10, max_length = 10, pattern = "^[0-9]{10}$")]
    pub npi: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub given_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub family_name: String,
    /// Absent while the source's credential text names no degree (see `credential_text`); a
    /// provider becomes verified only with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degree: Option<Degree>,
    /// The credential text as the source wrote it (NPPES), e.g. `M.D., FAAN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub credential_text: Option<String>,
    /// Admin-only: never in public responses, FHIR, logs or the audit trail (which says only
    /// whether a write changed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub date_of_birth: Option<NaiveDate>,
    /// How the provider came in: `manual` (the API), `import` (an import file), `nppes`.
    pub source: ProviderSource,
    #[schema(value_type = SpecialtyCode, inline)]
    pub primary_specialty_code: String,
    #[schema(value_type = Vec<SpecialtyCode>, inline, max_items = 10)]
    pub other_specialty_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1940, maximum = 2100)]
    pub practice_start_year: Option<i32>,
    #[schema(value_type = Vec<LanguageCode>, inline, min_items = 1, max_items = 20)]
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub bio: Option<String>,
    pub vetting_status: VettingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<String>,
    #[schema(max_items = 16)]
    pub treatments: Vec<OfferedTreatment>,
    #[schema(value_type = Vec<Id>, inline)]
    pub location_ids: Vec<i64>,
    pub credentials: Vec<CredentialView>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub updated_at: NaiveDateTime,
    #[schema(value_type = Id, inline)]
    pub version: i64,
    /// At which locations the provider is listed in search now, and why not at the others
    /// (`GET /v1/admin/providers/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<Vec<LocationListing>>,
}

fn languages_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The admin view with where the provider is listed in search, judged now.
pub fn admin_view_with_listing(record: ProviderRecord, freshness: &Freshness) -> ProviderAdminView {
    let listing = crate::directory::vetting::listing(&record, freshness);
    let mut view = admin_view(record);
    view.listing = Some(listing);
    for credential in &mut view.credentials {
        credential.reverification_overdue = credential.verification_status
            == VerificationStatus::Verified
            && freshness.overdue(credential.next_due_on);
    }
    view
}

pub fn admin_view(record: ProviderRecord) -> ProviderAdminView {
    let treatments = offered(&record);
    let row = record.row;
    ProviderAdminView {
        id: row.id,
        languages: languages_of(&row.languages),
        npi: row.npi,
        given_name: row.given_name,
        family_name: row.family_name,
        degree: row.degree.as_deref().and_then(Degree::parse),
        credential_text: row.credential_text,
        date_of_birth: row.date_of_birth,
        source: ProviderSource::parse(&row.source).unwrap_or(ProviderSource::Manual),
        primary_specialty_code: row.primary_specialty_code,
        other_specialty_codes: record.other_specialty_codes,
        practice_start_year: row.practice_start_year,
        accepting_new_patients: row.accepting_new_patients,
        bio: row.bio,
        vetting_status: VettingStatus::parse(&row.vetting_status).unwrap_or(VettingStatus::Pending),
        external_id: row.external_id,
        treatments,
        location_ids: record.location_ids,
        credentials: record
            .credentials
            .into_iter()
            .map(CredentialView::from)
            .collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
        listing: None,
    }
}

/// The public profile, or `None` when the provider is not verified.
pub fn public_profile(
    record: ProviderRecord,
    freshness: &Freshness,
    screening: &ScreeningSummary,
) -> Option<ProviderProfile> {
    let today = freshness.today;
    let listed_in_search = crate::directory::vetting::listing(&record, freshness)
        .iter()
        .any(|listing| listing.listed);
    let treatments = offered(&record);
    let screening = screening.public(record.open_high_confidence_matches);
    let row = record.row;
    if row.vetting_status != VettingStatus::Verified.as_str() {
        return None;
    }
    let credentials: Vec<PublicCredential> = record
        .credentials
        .into_iter()
        .filter(|c| c.verification_status == VerificationStatus::Verified.as_str())
        .filter(|c| freshness.counts(c.expires_on, c.next_due_on))
        .filter_map(|c| {
            Some(PublicCredential {
                id: c.id,
                kind: CredentialKind::parse(&c.kind)?,
                issuer: c.issuer,
                jurisdiction: c.jurisdiction,
                specialty_code: c.specialty_code,
                expires_on: c.expires_on,
                verified_at: c.verified_at,
                verification_source_type: c
                    .verification_source_type
                    .as_deref()
                    .and_then(SourceType::parse),
                next_due_on: c.next_due_on,
            })
        })
        .collect();
    Some(ProviderProfile {
        id: row.id,
        languages: languages_of(&row.languages),
        npi: row.npi,
        given_name: row.given_name,
        family_name: row.family_name,
        degree: row.degree.as_deref().and_then(Degree::parse)?,
        primary_specialty_code: row.primary_specialty_code,
        other_specialty_codes: record.other_specialty_codes,
        practice_start_year: row.practice_start_year,
        years_of_experience: row
            .practice_start_year
            .map(|start| (today.year() - start).max(0)),
        accepting_new_patients: row.accepting_new_patients,
        bio: row.bio,
        treatments,
        location_ids: record.location_ids,
        credentials,
        listed_in_search,
        screening,
    })
}
