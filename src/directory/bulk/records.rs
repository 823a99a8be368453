//! The records of a bulk load, one per line of an import file (`"type"` says which). Each is
//! keyed by what the source knows it by (an external id, an NPI) rather than by our ids, and
//! is checked by turning it into the command the API takes for the same resource, so that a
//! record and an API request are held to one set of rules.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::directory::clinics::NewClinicInput;
use crate::directory::credentials::NewCredentialInput;
use crate::directory::locations::NewLocationInput;
use crate::directory::providers::{NewProviderInput, TreatmentOfferInput};
use crate::domain::WeeklyHours;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicRecord {
    pub external_id: String,
    pub name: String,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
}

impl ClinicRecord {
    pub fn to_input(&self) -> NewClinicInput {
        NewClinicInput {
            name: self.name.clone(),
            website: self.website.clone(),
            phone: self.phone.clone(),
            description: self.description.clone(),
            external_id: Some(self.external_id.clone()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocationRecord {
    pub external_id: String,
    pub clinic_external_id: String,
    pub name: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    #[serde(default)]
    pub opening_hours: WeeklyHours,
    pub phone: Option<String>,
}

impl LocationRecord {
    /// The API's command for this record, at the clinic it resolved to.
    pub fn to_input(&self, clinic_id: i64) -> NewLocationInput {
        NewLocationInput {
            clinic_id,
            name: self.name.clone(),
            address_line1: self.address_line1.clone(),
            address_line2: self.address_line2.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            latitude: self.latitude,
            longitude: self.longitude,
            timezone: self.timezone.clone(),
            opening_hours: self.opening_hours.clone(),
            phone: self.phone.clone(),
            external_id: Some(self.external_id.clone()),
            geocode_precision: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentRecord {
    pub code: String,
    pub annual_volume: Option<i32>,
}

impl TreatmentRecord {
    pub fn to_input(&self) -> TreatmentOfferInput {
        TreatmentOfferInput {
            annual_volume: self.annual_volume,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderRecord {
    pub npi: String,
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub degree: String,
    pub primary_specialty_code: String,
    #[serde(default)]
    pub other_specialty_codes: Vec<String>,
    pub practice_start_year: Option<i32>,
    pub languages: Option<Vec<String>>,
    pub accepting_new_patients: Option<bool>,
    pub bio: Option<String>,
    /// Only from a trusted source.
    pub vetting_status: Option<String>,
    #[serde(default)]
    pub location_external_ids: Vec<String>,
    #[serde(default)]
    pub treatments: Vec<TreatmentRecord>,
}

impl ProviderRecord {
    pub fn to_input(&self) -> NewProviderInput {
        NewProviderInput {
            npi: self.npi.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            degree: self.degree.clone(),
            primary_specialty_code: self.primary_specialty_code.clone(),
            other_specialty_codes: self.other_specialty_codes.clone(),
            practice_start_year: self.practice_start_year,
            languages: self.languages.clone(),
            accepting_new_patients: self.accepting_new_patients,
            bio: self.bio.clone(),
            external_id: self.external_id.clone(),
            date_of_birth: None,
        }
    }
}

/// A primary-source check done before the import (only from a trusted source).
#[derive(Debug, Clone, Deserialize, Serialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    pub status: String,
    pub verified_at: NaiveDateTime,
    pub source_type: String,
    #[validate(length(min = 1, max = 500))]
    pub reference: String,
    pub next_due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRecord {
    pub provider_npi: String,
    pub kind: String,
    pub issuer: String,
    pub identifier: Option<String>,
    pub jurisdiction: Option<String>,
    pub specialty_code: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub verification: Option<VerificationRecord>,
}

impl CredentialRecord {
    pub fn to_input(&self) -> NewCredentialInput {
        NewCredentialInput {
            kind: self.kind.clone(),
            issuer: self.issuer.clone(),
            identifier: self.identifier.clone(),
            jurisdiction: self.jurisdiction.clone(),
            specialty_code: self.specialty_code.clone(),
            issued_on: self.issued_on,
            expires_on: self.expires_on,
        }
    }
}

/// One record of a bulk load; in an import file, its `"type"` says which.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BulkRecord {
    Clinic(ClinicRecord),
    Location(LocationRecord),
    Provider(ProviderRecord),
    Credential(CredentialRecord),
}

impl BulkRecord {
    /// Written by a single statement (the lookups before it only read).
    pub(super) fn is_one_write(&self) -> bool {
        !matches!(self, BulkRecord::Provider(_))
    }

    /// The key it upserts by.
    pub(super) fn key(&self) -> String {
        match self {
            BulkRecord::Clinic(r) => format!("clinic\u{0}{}", r.external_id),
            BulkRecord::Location(r) => format!("location\u{0}{}", r.external_id),
            BulkRecord::Credential(r) => format!(
                "credential\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
                r.provider_npi,
                r.kind,
                r.issuer,
                r.identifier.as_deref().unwrap_or("\u{0}")
            ),
            BulkRecord::Provider(r) => format!("provider\u{0}{}", r.npi),
        }
    }
}
