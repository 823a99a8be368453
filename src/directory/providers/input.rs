//! What a writer sends to create or change a provider, and the rules it must meet.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::db::{self, DbConnection, DbResult};
use crate::domain::schemas::{CalendarDate, LanguageCode, SpecialtyCode};
use crate::domain::{is_language_code, is_taxonomy_code, Checks, Degree};

/// A new provider. It starts `pending`: only the vetting workflow makes it public.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"npi": "1234567893", "given_name": "Maya", "family_name": "Okafor", "degree": "MD",
    "primary_specialty_code": "2084N0400X", "other_specialty_codes": ["2081P2900X"], "practice_start_year": 2011,
    "languages": ["en", "es"], "accepting_new_patients": true, "bio": "Headache medicine; botulinum toxin for chronic migraine since 2013.",
    "date_of_birth": "1975-04-12"}))]
pub struct NewProviderInput {
    /// 10 digits with a valid check digit.
    #[schema(min_length = 10, max_length = 10, pattern = "^[0-9]{10}$")]
    pub npi: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub given_name: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub family_name: String,
    #[schema(value_type = Degree)]
    pub degree: String,
    /// NUCC taxonomy code, see `GET /v1/specialties`.
    #[schema(value_type = SpecialtyCode, inline)]
    pub primary_specialty_code: String,
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(value_type = Vec<SpecialtyCode>, inline, max_items = 10)]
    pub other_specialty_codes: Vec<String>,
    #[validate(range(min = 1940, max = 2100))]
    #[schema(minimum = 1940, maximum = 2100)]
    pub practice_start_year: Option<i32>,
    /// ISO 639-1 codes (default `["en"]`).
    #[validate(length(min = 1, max = 20))]
    #[schema(value_type = Option<Vec<LanguageCode>>, inline, min_items = 1, max_items = 20)]
    pub languages: Option<Vec<String>>,
    pub accepting_new_patients: Option<bool>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub bio: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<String>,
    /// Admin-only: screening matches exclusion lists on it; never shown publicly or logged.
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub date_of_birth: Option<NaiveDate>,
}

/// Changes to a provider. Vetting state is not here: see the transitions endpoint.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"accepting_new_patients": false, "languages": ["en", "fr"]}))]
pub struct ProviderPatch {
    #[schema(min_length = 10, max_length = 10, pattern = "^[0-9]{10}$")]
    pub npi: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub given_name: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub family_name: Option<String>,
    #[schema(value_type = Option<Degree>)]
    pub degree: Option<String>,
    #[schema(value_type = Option<SpecialtyCode>, inline)]
    pub primary_specialty_code: Option<String>,
    #[validate(length(max = 10))]
    #[schema(value_type = Option<Vec<SpecialtyCode>>, inline, max_items = 10)]
    pub other_specialty_codes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(range(min = 1940, max = 2100))]
    #[schema(minimum = 1940, maximum = 2100)]
    pub practice_start_year: Option<Option<i32>>,
    #[validate(length(min = 1, max = 20))]
    #[schema(value_type = Option<Vec<LanguageCode>>, inline, min_items = 1, max_items = 20)]
    pub languages: Option<Vec<String>>,
    pub accepting_new_patients: Option<bool>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<Option<String>>,
    /// Admin-only; `null` clears it.
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub date_of_birth: Option<Option<NaiveDate>>,
}

struct ProviderFields<'a> {
    date_of_birth: Option<NaiveDate>,
    npi: Option<&'a str>,
    degree: Option<&'a str>,
    primary_specialty_code: Option<&'a str>,
    other_specialty_codes: Option<&'a [String]>,
    languages: Option<&'a [String]>,
}

fn check_provider_fields(
    checks: &mut Checks,
    connection: &mut DbConnection,
    fields: ProviderFields<'_>,
    known_specialties: Option<&HashSet<String>>,
) -> DbResult<()> {
    if let Some(npi) = fields.npi {
        checks.npi("/npi", npi);
    }
    if let Some(born) = fields.date_of_birth {
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if born < earliest || born > chrono::Utc::now().date_naive() {
            checks.push(
                "/date_of_birth",
                "out_of_range",
                "a date of birth from 1900-01-01 to today",
            );
        }
    }
    if let Some(degree) = fields.degree {
        checks.enum_value("/degree", degree, Degree::parse, Degree::expected());
    }
    if let Some(code) = fields.primary_specialty_code {
        if !is_taxonomy_code(code) {
            checks.taxonomy_code("/primary_specialty_code", code);
        } else if !db::providers::specialty_known(connection, known_specialties, code)? {
            checks.push(
                "/primary_specialty_code",
                "unknown_value",
                format!("`{code}` is not a specialty in GET /v1/specialties"),
            );
        }
    }
    for (index, code) in fields
        .other_specialty_codes
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !is_taxonomy_code(code) {
            checks.taxonomy_code(&format!("/other_specialty_codes/{index}"), code);
        } else if !db::providers::specialty_known(connection, known_specialties, code)? {
            checks.push(
                format!("/other_specialty_codes/{index}"),
                "unknown_value",
                format!("`{code}` is not a specialty"),
            );
        }
    }
    for (index, code) in fields.languages.unwrap_or_default().iter().enumerate() {
        if !is_language_code(code) {
            checks.push(
                format!("/languages/{index}"),
                "invalid_language",
                "an ISO 639-1 code in lower case, e.g. en, es",
            );
        }
    }
    Ok(())
}

pub fn languages_json(languages: &[String]) -> String {
    let mut unique: Vec<&String> = Vec::new();
    for language in languages {
        if !unique.contains(&language) {
            unique.push(language);
        }
    }
    serde_json::to_string(&unique).unwrap_or_else(|_| "[\"en\"]".to_owned())
}

/// Treatment offered, with the yearly procedure volume when known.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"annual_volume": 240}))]
pub struct TreatmentOfferInput {
    /// Procedures a year.
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    pub annual_volume: Option<i32>,
}

/// The rules for a new provider (the importer applies them to every provider record too), with
/// the languages to store (`["en"]` when none are given).
pub fn check_new(
    connection: &mut DbConnection,
    input: &NewProviderInput,
) -> DbResult<(Checks, Vec<String>)> {
    check_new_with(connection, input, None)
}

/// [`check_new`], with the specialty codes already read (a bulk load reads them once).
pub fn check_new_with(
    connection: &mut DbConnection,
    input: &NewProviderInput,
    known_specialties: Option<&HashSet<String>>,
) -> DbResult<(Checks, Vec<String>)> {
    let mut checks = Checks::of(input);
    let languages = input
        .languages
        .clone()
        .unwrap_or_else(|| vec!["en".to_owned()]);
    check_provider_fields(
        &mut checks,
        connection,
        ProviderFields {
            date_of_birth: input.date_of_birth,
            npi: Some(&input.npi),
            degree: Some(&input.degree),
            primary_specialty_code: Some(&input.primary_specialty_code),
            other_specialty_codes: Some(&input.other_specialty_codes),
            languages: Some(&languages),
        },
        known_specialties,
    )?;
    Ok((checks, languages))
}

/// The rules for a change to a provider: only the fields sent are checked.
pub fn check_patch(connection: &mut DbConnection, patch: &ProviderPatch) -> DbResult<Checks> {
    let mut checks = Checks::of(patch);
    check_provider_fields(
        &mut checks,
        connection,
        ProviderFields {
            date_of_birth: patch.date_of_birth.flatten(),
            npi: patch.npi.as_deref(),
            degree: patch.degree.as_deref(),
            primary_specialty_code: patch.primary_specialty_code.as_deref(),
            other_specialty_codes: patch.other_specialty_codes.as_deref(),
            languages: patch.languages.as_deref(),
        },
        None,
    )?;
    Ok(checks)
}
