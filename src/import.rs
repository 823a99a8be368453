//! Bulk import: `clinic-finder import FILE` loads clinics, locations, providers and credentials
//! from NDJSON (one record a line, `"type"` says which) or CSV (one record type a file).
//!
//! - **Streaming:** records are read one at a time and written in batches; memory does not grow
//!   with the file.
//! - **Validated like the API:** every record goes through the same checks as the admin endpoints;
//!   a bad record is reported with its line number and skipped (or, with `--atomic`, the whole
//!   import is rolled back).
//! - **Idempotent:** clinics and locations are upserted by `external_id`, providers by NPI,
//!   credentials by (provider, kind, issuer, identifier); running the same file twice changes
//!   nothing the second time.
//! - **Audited:** vetting state (a provider's `vetting_status`, a credential's `verification`) is
//!   accepted only from a source named with `--trusted-source`, and each committed batch appends
//!   one audit row saying what the batch did, from which file and source.
//! - **Visible to running servers:** each batch records what it touched in the change feed.

use std::io::BufRead;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use validator::Validate;

use crate::api::credentials::check_fields as check_credential_fields;
use crate::api::locations::check_place;
use crate::api::providers::{check_provider_fields, languages_json, ProviderFields};
use crate::api::validate::Checks;
use crate::db::models::NewAuditEntry;
use crate::db::schema::{
    audit_log, clinics, credentials, locations, provider_treatments, providers,
};
use crate::db::{self, write_transaction, DbConnection};
use crate::domain::{CredentialKind, SourceType, VerificationStatus, VettingStatus, WeeklyHours};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::search::feed;
use crate::search::Affected;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ClinicRecord {
    #[validate(length(min = 1, max = 100))]
    pub external_id: String,
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    #[validate(url, length(max = 500))]
    pub website: Option<String>,
    #[validate(length(min = 3, max = 40))]
    pub phone: Option<String>,
    #[validate(length(max = 2000))]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct LocationRecord {
    #[validate(length(min = 1, max = 100))]
    pub external_id: String,
    pub clinic_external_id: String,
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[validate(length(min = 1, max = 200))]
    pub address_line1: String,
    #[validate(length(max = 200))]
    pub address_line2: Option<String>,
    #[validate(length(min = 1, max = 100))]
    pub city: String,
    pub state: String,
    #[validate(length(min = 3, max = 10))]
    pub postal_code: String,
    pub country: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    #[serde(default)]
    pub opening_hours: WeeklyHours,
    #[validate(length(min = 3, max = 40))]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct TreatmentRecord {
    pub code: String,
    #[validate(range(min = 0, max = 100000))]
    pub annual_volume: Option<i32>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProviderRecord {
    pub npi: String,
    #[validate(length(min = 1, max = 100))]
    pub external_id: Option<String>,
    #[validate(length(min = 1, max = 100))]
    pub given_name: String,
    #[validate(length(min = 1, max = 100))]
    pub family_name: String,
    pub degree: String,
    pub primary_specialty_code: String,
    #[serde(default)]
    #[validate(length(max = 10))]
    pub other_specialty_codes: Vec<String>,
    #[validate(range(min = 1940, max = 2100))]
    pub practice_start_year: Option<i32>,
    #[validate(length(min = 1, max = 20))]
    pub languages: Option<Vec<String>>,
    pub accepting_new_patients: Option<bool>,
    #[validate(length(max = 2000))]
    pub bio: Option<String>,
    /// Only with `--trusted-source`.
    pub vetting_status: Option<String>,
    #[serde(default)]
    pub location_external_ids: Vec<String>,
    #[serde(default)]
    #[validate(nested)]
    pub treatments: Vec<TreatmentRecord>,
}

/// A primary-source check done before the import (only with `--trusted-source`).
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    pub status: String,
    pub verified_at: NaiveDateTime,
    pub source_type: String,
    #[validate(length(min = 1, max = 500))]
    pub reference: String,
    pub next_due_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CredentialRecord {
    pub provider_npi: String,
    pub kind: String,
    #[validate(length(min = 1, max = 200))]
    pub issuer: String,
    #[validate(length(min = 1, max = 100))]
    pub identifier: Option<String>,
    pub jurisdiction: Option<String>,
    pub specialty_code: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    #[validate(nested)]
    pub verification: Option<VerificationRecord>,
}

/// One record of the import file; its `"type"` says which.
#[derive(Debug)]
pub enum ImportRecord {
    Clinic(ClinicRecord),
    Location(LocationRecord),
    Provider(ProviderRecord),
    Credential(CredentialRecord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    /// CSV with a header row, every row a record of this type. Lists (`other_specialty_codes`,
    /// `languages`, `location_external_ids`) are `;`-separated; `treatments` is `code:volume;…`;
    /// `opening_hours` and `verification` are JSON.
    Csv(RecordType),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    Clinic,
    Location,
    Provider,
    Credential,
}

impl RecordType {
    pub fn parse(text: &str) -> Option<RecordType> {
        match text {
            "clinic" | "clinics" => Some(RecordType::Clinic),
            "location" | "locations" => Some(RecordType::Location),
            "provider" | "providers" => Some(RecordType::Provider),
            "credential" | "credentials" => Some(RecordType::Credential),
            _ => None,
        }
    }
    fn tag(self) -> &'static str {
        match self {
            RecordType::Clinic => "clinic",
            RecordType::Location => "location",
            RecordType::Provider => "provider",
            RecordType::Credential => "credential",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    /// All or nothing: one transaction, rolled back if any record is bad.
    pub atomic: bool,
    pub batch_size: usize,
    /// Who vouches for imported vetting state; without it, records carrying vetting state are
    /// refused.
    pub trusted_source: Option<String>,
    /// Named in the audit rows.
    pub file_name: String,
}

/// A record that was not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    pub line: usize,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    pub read: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<RejectedRecord>,
    /// With `--atomic` and a rejected record, nothing was written.
    pub rolled_back: bool,
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Reads records from `input` and applies them.
pub fn import(
    connection: &mut DbConnection,
    input: impl BufRead + 'static,
    options: &ImportOptions,
) -> ApiResult<ImportReport> {
    let mut report = ImportReport::default();
    let records = read_records(input, options.format);
    if options.atomic {
        let outcome = write_transaction(connection, |connection| {
            let mut batch = Batch::new(options);
            for (line, record) in records {
                batch.apply(connection, line, record, &mut report)?;
            }
            batch.finish(connection)?;
            if report.rejected.is_empty() {
                Ok(())
            } else {
                Err(ApiError::Conflict {
                    code: "import_rejected",
                    detail: "rolled back".to_owned(),
                })
            }
        });
        match outcome {
            Ok(()) => {}
            Err(ApiError::Conflict {
                code: "import_rejected",
                ..
            }) => {
                report.rolled_back = true;
                report.created = 0;
                report.updated = 0;
                report.unchanged = 0;
            }
            Err(error) => return Err(error),
        }
        return Ok(report);
    }
    let mut records = records.peekable();
    while records.peek().is_some() {
        write_transaction(connection, |connection| {
            let mut batch = Batch::new(options);
            for (line, record) in records.by_ref().take(options.batch_size) {
                batch.apply(connection, line, record, &mut report)?;
            }
            batch.finish(connection)
        })?;
    }
    Ok(report)
}

type ParsedLine = (usize, Result<ImportRecord, Vec<FieldError>>);

fn read_records(
    input: impl BufRead + 'static,
    format: Format,
) -> Box<dyn Iterator<Item = ParsedLine>> {
    match format {
        Format::Ndjson => Box::new(
            input
                .lines()
                .enumerate()
                .map(|(index, line)| (index + 1, line))
                .filter(|(_, line)| line.as_ref().map(|l| !l.trim().is_empty()).unwrap_or(true))
                .map(|(line_number, line)| {
                    let parsed = match line {
                        Ok(text) => parse_record(&text),
                        Err(error) => {
                            Err(vec![FieldError::body("", "unreadable", error.to_string())])
                        }
                    };
                    (line_number, parsed)
                }),
        ),
        Format::Csv(record_type) => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
            let headers = reader.headers().cloned().unwrap_or_default();
            Box::new(reader.into_records().enumerate().map(move |(index, row)| {
                // Line 1 is the header.
                let line_number = index + 2;
                let parsed = match row {
                    Ok(row) => csv_record(record_type, &headers, &row),
                    Err(error) => Err(vec![FieldError::body(
                        "",
                        "malformed_csv",
                        error.to_string(),
                    )]),
                };
                (line_number, parsed)
            }))
        }
    }
}

fn field_errors(error: ApiError) -> Vec<FieldError> {
    match error {
        ApiError::Validation(errors) => errors,
        other => vec![FieldError::body("", other.code(), other.to_string())],
    }
}

/// A CSV row as the same JSON object an NDJSON line would carry.
fn csv_record(
    record_type: RecordType,
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
) -> Result<ImportRecord, Vec<FieldError>> {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), record_type.tag().into());
    for (name, value) in headers.iter().zip(row.iter()) {
        if value.is_empty() {
            continue;
        }
        let json = match name {
            "latitude" | "longitude" => value
                .parse::<f64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| value.into()),
            "practice_start_year" => value
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| value.into()),
            "accepting_new_patients" => match value {
                "true" => true.into(),
                "false" => false.into(),
                other => other.into(),
            },
            "other_specialty_codes" | "languages" | "location_external_ids" => value
                .split(';')
                .map(|v| serde_json::Value::from(v.trim()))
                .collect::<Vec<_>>()
                .into(),
            "treatments" => value
                .split(';')
                .map(|offer| {
                    let (code, volume) = offer.split_once(':').unwrap_or((offer, ""));
                    let mut treatment = serde_json::json!({"code": code.trim()});
                    if let Ok(volume) = volume.trim().parse::<i64>() {
                        treatment["annual_volume"] = volume.into();
                    }
                    treatment
                })
                .collect::<Vec<_>>()
                .into(),
            "opening_hours" | "verification" => serde_json::from_str(value).map_err(|e| {
                vec![FieldError::body(
                    format!("/{name}"),
                    "invalid_json",
                    e.to_string(),
                )]
            })?,
            _ => value.into(),
        };
        object.insert(name.to_owned(), json);
    }
    record_from_value(serde_json::Value::Object(object))
}

fn parse_record(line: &str) -> Result<ImportRecord, Vec<FieldError>> {
    let value: serde_json::Value =
        crate::api::extract::parse_json(line.as_bytes()).map_err(field_errors)?;
    record_from_value(value)
}

/// Dispatches on `"type"`, then deserializes the rest with JSON pointers to any bad field.
fn record_from_value(mut value: serde_json::Value) -> Result<ImportRecord, Vec<FieldError>> {
    use crate::api::extract::from_json_value;
    let Some(object) = value.as_object_mut() else {
        return Err(vec![FieldError::body(
            "",
            "invalid_type",
            "a record is a JSON object",
        )]);
    };
    let tag = match object.remove("type") {
        Some(serde_json::Value::String(tag)) => tag,
        _ => {
            return Err(vec![FieldError::body(
                "/type",
                "required",
                "`type` is clinic, location, provider or credential",
            )])
        }
    };
    let record = match tag.as_str() {
        "clinic" => from_json_value(value).map(ImportRecord::Clinic),
        "location" => from_json_value(value).map(ImportRecord::Location),
        "provider" => from_json_value(value).map(ImportRecord::Provider),
        "credential" => from_json_value(value).map(ImportRecord::Credential),
        other => {
            return Err(vec![FieldError::body(
                "/type",
                "unknown_value",
                format!("`{other}`: clinic, location, provider or credential"),
            )])
        }
    };
    record.map_err(field_errors)
}

/// What one transaction has done so far.
struct Batch<'o> {
    options: &'o ImportOptions,
    /// The treatment codes, read once per batch rather than once per provider record.
    known_treatments: Option<std::collections::HashSet<String>>,
    affected: Affected,
    first_line: Option<usize>,
    last_line: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    rejected: usize,
}

impl<'o> Batch<'o> {
    fn new(options: &'o ImportOptions) -> Batch<'o> {
        Batch {
            options,
            known_treatments: None,
            affected: Affected::default(),
            first_line: None,
            last_line: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
        }
    }

    fn apply(
        &mut self,
        connection: &mut DbConnection,
        line: usize,
        record: Result<ImportRecord, Vec<FieldError>>,
        report: &mut ImportReport,
    ) -> ApiResult<()> {
        report.read += 1;
        self.first_line.get_or_insert(line);
        self.last_line = line;
        // Each record in a savepoint: a record that fails half-way leaves nothing behind, and
        // on PostgreSQL a failed statement does not poison the rest of the batch.
        let outcome = match record {
            Ok(record) => {
                connection.transaction(|connection| self.apply_record(connection, record))
            }
            Err(errors) => Err(ApiError::Validation(errors)),
        };
        match outcome {
            Ok(Outcome::Created) => {
                self.created += 1;
                report.created += 1;
            }
            Ok(Outcome::Updated) => {
                self.updated += 1;
                report.updated += 1;
            }
            Ok(Outcome::Unchanged) => {
                self.unchanged += 1;
                report.unchanged += 1;
            }
            Err(ApiError::Validation(errors)) => {
                self.rejected += 1;
                report.rejected.push(RejectedRecord { line, errors });
            }
            Err(ApiError::Conflict { detail, code }) => {
                self.rejected += 1;
                report.rejected.push(RejectedRecord {
                    line,
                    errors: vec![FieldError::body("", code, detail)],
                });
            }
            Err(error) => return Err(error),
        }
        Ok(())
    }

    /// The change feed and one audit row for the batch.
    fn finish(self, connection: &mut DbConnection) -> ApiResult<()> {
        feed::record(connection, &self.affected)?;
        let Some(first_line) = self.first_line else {
            return Ok(());
        };
        let summary = serde_json::json!({
            "file": self.options.file_name,
            "lines": [first_line, self.last_line],
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "trusted_source": self.options.trusted_source,
        });
        diesel::insert_into(audit_log::table)
            .values(NewAuditEntry {
                occurred_at: db::now(),
                actor_key_id: None,
                actor_role: "import".to_owned(),
                action: "import.batch".to_owned(),
                target_type: "import".to_owned(),
                target_id: self.options.file_name.clone(),
                before_json: None,
                after_json: Some(summary.to_string()),
                reason: self.options.trusted_source.clone(),
                request_id: None,
            })
            .execute(connection)?;
        Ok(())
    }

    fn apply_record(
        &mut self,
        connection: &mut DbConnection,
        record: ImportRecord,
    ) -> ApiResult<Outcome> {
        match record {
            ImportRecord::Clinic(record) => self.clinic(connection, record),
            ImportRecord::Location(record) => self.location(connection, record),
            ImportRecord::Provider(record) => self.provider(connection, record),
            ImportRecord::Credential(record) => self.credential(connection, record),
        }
    }

    fn clinic(
        &mut self,
        connection: &mut DbConnection,
        record: ClinicRecord,
    ) -> ApiResult<Outcome> {
        Checks::of(&record).finish()?;
        let existing: Option<crate::db::models::ClinicRow> = clinics::table
            .filter(clinics::external_id.eq(&record.external_id))
            .select(crate::db::models::ClinicRow::as_select())
            .first(connection)
            .optional()?;
        let now = db::now();
        let values = (
            clinics::name.eq(&record.name),
            clinics::website.eq(&record.website),
            clinics::phone.eq(&record.phone),
            clinics::description.eq(&record.description),
        );
        let (id, outcome) = match existing {
            Some(row)
                if row.name == record.name
                    && row.website == record.website
                    && row.phone == record.phone
                    && row.description == record.description =>
            {
                (row.id, Outcome::Unchanged)
            }
            Some(row) => {
                diesel::update(clinics::table.find(row.id))
                    .set((
                        values,
                        clinics::updated_at.eq(now),
                        clinics::version.eq(row.version + 1),
                    ))
                    .execute(connection)?;
                (row.id, Outcome::Updated)
            }
            None => {
                let id = diesel::insert_into(clinics::table)
                    .values((
                        values,
                        clinics::external_id.eq(&record.external_id),
                        clinics::created_at.eq(now),
                        clinics::updated_at.eq(now),
                    ))
                    .returning(clinics::id)
                    .get_result(connection)?;
                (id, Outcome::Created)
            }
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.clinics.push(id);
        }
        Ok(outcome)
    }

    fn location(
        &mut self,
        connection: &mut DbConnection,
        record: LocationRecord,
    ) -> ApiResult<Outcome> {
        let mut checks = Checks::of(&record);
        let hours = check_place(
            &mut checks,
            Some(&record.state),
            record.country.as_deref(),
            Some(record.latitude),
            Some(record.longitude),
            Some(&record.timezone),
            Some(&record.opening_hours),
        );
        let clinic_id: Option<i64> = clinics::table
            .filter(clinics::external_id.eq(&record.clinic_external_id))
            .select(clinics::id)
            .first(connection)
            .optional()?;
        if clinic_id.is_none() {
            checks.push(
                "/clinic_external_id",
                "not_found",
                format!("no clinic has external_id `{}`", record.clinic_external_id),
            );
        }
        checks.finish()?;
        let (clinic_id, hours) = (
            clinic_id.unwrap_or_default(),
            hours.unwrap_or_else(|| "{}".to_owned()),
        );
        let now = db::now();
        let values = (
            locations::clinic_id.eq(clinic_id),
            locations::name.eq(&record.name),
            locations::address_line1.eq(&record.address_line1),
            locations::address_line2.eq(&record.address_line2),
            locations::city.eq(&record.city),
            locations::state.eq(&record.state),
            locations::postal_code.eq(&record.postal_code),
            locations::country.eq(record.country.as_deref().unwrap_or("US")),
            locations::latitude.eq(record.latitude),
            locations::longitude.eq(record.longitude),
            locations::timezone.eq(&record.timezone),
            locations::opening_hours.eq(&hours),
            locations::phone.eq(&record.phone),
        );
        let existing: Option<crate::db::models::LocationRow> = locations::table
            .filter(locations::external_id.eq(&record.external_id))
            .select(crate::db::models::LocationRow::as_select())
            .first(connection)
            .optional()?;
        let (id, outcome) = match existing {
            Some(row) => {
                let same = row.clinic_id == clinic_id
                    && row.name == record.name
                    && row.address_line1 == record.address_line1
                    && row.address_line2 == record.address_line2
                    && row.city == record.city
                    && row.state == record.state
                    && row.postal_code == record.postal_code
                    && row.country == record.country.as_deref().unwrap_or("US")
                    && row.latitude == record.latitude
                    && row.longitude == record.longitude
                    && row.timezone == record.timezone
                    && row.opening_hours == hours
                    && row.phone == record.phone;
                if same {
                    (row.id, Outcome::Unchanged)
                } else {
                    diesel::update(locations::table.find(row.id))
                        .set((
                            values,
                            locations::updated_at.eq(now),
                            locations::version.eq(row.version + 1),
                        ))
                        .execute(connection)?;
                    (row.id, Outcome::Updated)
                }
            }
            None => {
                let id = diesel::insert_into(locations::table)
                    .values((
                        values,
                        locations::external_id.eq(&record.external_id),
                        locations::created_at.eq(now),
                        locations::updated_at.eq(now),
                    ))
                    .returning(locations::id)
                    .get_result(connection)?;
                (id, Outcome::Created)
            }
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.locations.push(id);
        }
        Ok(outcome)
    }

    fn provider(
        &mut self,
        connection: &mut DbConnection,
        record: ProviderRecord,
    ) -> ApiResult<Outcome> {
        let mut checks = Checks::of(&record);
        let languages = record
            .languages
            .clone()
            .unwrap_or_else(|| vec!["en".to_owned()]);
        check_provider_fields(
            &mut checks,
            connection,
            ProviderFields {
                npi: Some(&record.npi),
                degree: Some(&record.degree),
                primary_specialty_code: Some(&record.primary_specialty_code),
                other_specialty_codes: Some(&record.other_specialty_codes),
                languages: Some(&languages),
            },
        )?;
        let vetting_status = match (&record.vetting_status, &self.options.trusted_source) {
            (None, _) => None,
            (Some(_), None) => {
                checks.push(
                    "/vetting_status",
                    "untrusted_vetting_state",
                    "vetting state is imported only with --trusted-source",
                );
                None
            }
            (Some(text), Some(_)) => checks.enum_value(
                "/vetting_status",
                text,
                VettingStatus::parse,
                VettingStatus::expected(),
            ),
        };
        let mut location_ids = Vec::with_capacity(record.location_external_ids.len());
        for (index, external_id) in record.location_external_ids.iter().enumerate() {
            let id: Option<i64> = locations::table
                .filter(locations::external_id.eq(external_id))
                .select(locations::id)
                .first(connection)
                .optional()?;
            match id {
                Some(id) => location_ids.push(id),
                None => checks.push(
                    format!("/location_external_ids/{index}"),
                    "not_found",
                    format!("no location has external_id `{external_id}`"),
                ),
            }
        }
        let known_treatments = match self.known_treatments.take() {
            Some(known) => known,
            None => crate::db::schema::treatments::table
                .select(crate::db::schema::treatments::code)
                .load::<String>(connection)?
                .into_iter()
                .collect(),
        };
        let known_treatments = self.known_treatments.insert(known_treatments);
        for (index, treatment) in record.treatments.iter().enumerate() {
            if !known_treatments.contains(&treatment.code) {
                checks.push(
                    format!("/treatments/{index}/code"),
                    "unknown_value",
                    format!("`{}` is not a treatment", treatment.code),
                );
            }
        }
        checks.finish()?;

        let now = db::now();
        let existing: Option<crate::db::models::ProviderRow> = providers::table
            .filter(providers::npi.eq(&record.npi))
            .select(crate::db::models::ProviderRow::as_select())
            .first(connection)
            .optional()?;
        let languages = languages_json(&languages);
        let accepting = record.accepting_new_patients.unwrap_or(true);
        let (id, mut outcome) = match existing {
            Some(row) => {
                let status = vetting_status
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or(row.vetting_status.clone());
                let same = row.given_name == record.given_name
                    && row.family_name == record.family_name
                    && row.degree == record.degree
                    && row.primary_specialty_code == record.primary_specialty_code
                    && row.practice_start_year == record.practice_start_year
                    && row.languages == languages
                    && row.accepting_new_patients == accepting
                    && row.bio == record.bio
                    && row.vetting_status == status
                    && (record.external_id.is_none() || row.external_id == record.external_id);
                if same {
                    (row.id, Outcome::Unchanged)
                } else {
                    diesel::update(providers::table.find(row.id))
                        .set((
                            providers::given_name.eq(&record.given_name),
                            providers::family_name.eq(&record.family_name),
                            providers::degree.eq(&record.degree),
                            providers::primary_specialty_code.eq(&record.primary_specialty_code),
                            providers::practice_start_year.eq(record.practice_start_year),
                            providers::languages.eq(&languages),
                            providers::accepting_new_patients.eq(accepting),
                            providers::bio.eq(&record.bio),
                            providers::vetting_status.eq(&status),
                            providers::external_id
                                .eq(record.external_id.as_ref().or(row.external_id.as_ref())),
                            providers::updated_at.eq(now),
                            providers::version.eq(row.version + 1),
                        ))
                        .execute(connection)?;
                    (row.id, Outcome::Updated)
                }
            }
            None => {
                let status = vetting_status.unwrap_or(VettingStatus::Pending);
                let id = diesel::insert_into(providers::table)
                    .values((
                        providers::npi.eq(&record.npi),
                        providers::given_name.eq(&record.given_name),
                        providers::family_name.eq(&record.family_name),
                        providers::degree.eq(&record.degree),
                        providers::primary_specialty_code.eq(&record.primary_specialty_code),
                        providers::practice_start_year.eq(record.practice_start_year),
                        providers::languages.eq(&languages),
                        providers::accepting_new_patients.eq(accepting),
                        providers::bio.eq(&record.bio),
                        providers::vetting_status.eq(status.as_str()),
                        providers::external_id.eq(&record.external_id),
                        providers::created_at.eq(now),
                        providers::updated_at.eq(now),
                    ))
                    .returning(providers::id)
                    .get_result(connection)?;
                (id, Outcome::Created)
            }
        };
        // Specialties, links and treatments: the file's lists are added (links, treatments) or
        // replace (specialties); anything new marks the provider updated.
        let current_specialties: Vec<String> = crate::db::schema::provider_specialties::table
            .filter(crate::db::schema::provider_specialties::provider_id.eq(id))
            .order(crate::db::schema::provider_specialties::specialty_code)
            .select(crate::db::schema::provider_specialties::specialty_code)
            .load(connection)?;
        let mut wanted_specialties = record.other_specialty_codes.clone();
        wanted_specialties.sort();
        wanted_specialties.dedup();
        if current_specialties != wanted_specialties {
            db::providers::replace_specialties(connection, id, &wanted_specialties)?;
            outcome = changed(outcome);
        }
        for location_id in location_ids {
            if db::providers::link_location(connection, id, location_id)? {
                self.affected.locations.push(location_id);
                outcome = changed(outcome);
            }
        }
        for treatment in &record.treatments {
            let current: Option<Option<i32>> = provider_treatments::table
                .filter(provider_treatments::provider_id.eq(id))
                .filter(provider_treatments::treatment_code.eq(&treatment.code))
                .select(provider_treatments::annual_volume)
                .first(connection)
                .optional()?;
            if current != Some(treatment.annual_volume) {
                db::providers::upsert_treatment(
                    connection,
                    id,
                    &treatment.code,
                    treatment.annual_volume,
                )?;
                outcome = changed(outcome);
            }
        }
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.providers.push(id);
        }
        Ok(outcome)
    }

    fn credential(
        &mut self,
        connection: &mut DbConnection,
        record: CredentialRecord,
    ) -> ApiResult<Outcome> {
        let mut checks = Checks::of(&record);
        let kind = checks.enum_value(
            "/kind",
            &record.kind,
            CredentialKind::parse,
            CredentialKind::expected(),
        );
        let provider_id: Option<i64> = providers::table
            .filter(providers::npi.eq(&record.provider_npi))
            .select(providers::id)
            .first(connection)
            .optional()?;
        if provider_id.is_none() {
            checks.push(
                "/provider_npi",
                "not_found",
                format!("no provider has NPI {}", record.provider_npi),
            );
        }
        if let Some(kind) = kind {
            check_credential_fields(
                &mut checks,
                connection,
                kind,
                record.jurisdiction.as_deref(),
                record.specialty_code.as_deref(),
                record.issued_on,
                record.expires_on,
            )?;
        }
        let verification = match (&record.verification, &self.options.trusted_source) {
            (None, _) => None,
            (Some(_), None) => {
                checks.push(
                    "/verification",
                    "untrusted_vetting_state",
                    "verification is imported only with --trusted-source",
                );
                None
            }
            (Some(verification), Some(_)) => {
                let status = checks.enum_value(
                    "/verification/status",
                    &verification.status,
                    VerificationStatus::parse,
                    VerificationStatus::expected(),
                );
                let source = checks.enum_value(
                    "/verification/source_type",
                    &verification.source_type,
                    SourceType::parse,
                    SourceType::expected(),
                );
                status
                    .zip(source)
                    .map(|(status, source)| (status, source, verification))
            }
        };
        checks.finish()?;
        let provider_id = provider_id.unwrap_or_default();
        let (status, verified_at, source, reference, next_due_on) = match verification {
            Some((status, source, v)) => (
                status.as_str().to_owned(),
                Some(v.verified_at),
                Some(source.as_str().to_owned()),
                Some(v.reference.clone()),
                v.next_due_on
                    .or(record.expires_on)
                    .or_else(|| Some(v.verified_at.date() + chrono::Months::new(36))),
            ),
            None => (
                VerificationStatus::Unverified.as_str().to_owned(),
                None,
                None,
                None,
                None,
            ),
        };
        let now = db::now();
        let mut same_credential = credentials::table
            .filter(credentials::provider_id.eq(provider_id))
            .filter(credentials::kind.eq(&record.kind))
            .filter(credentials::issuer.eq(&record.issuer))
            .into_boxed();
        same_credential = match &record.identifier {
            Some(identifier) => {
                same_credential.filter(credentials::identifier.eq(identifier.clone()))
            }
            None => same_credential.filter(credentials::identifier.is_null()),
        };
        let existing: Option<crate::db::models::CredentialRow> = same_credential
            .select(crate::db::models::CredentialRow::as_select())
            .first(connection)
            .optional()?;
        let outcome = match existing {
            Some(row)
                if row.jurisdiction == record.jurisdiction
                    && row.specialty_code == record.specialty_code
                    && row.issued_on == record.issued_on
                    && row.expires_on == record.expires_on
                    && (record.verification.is_none()
                        || (row.verification_status == status
                            && row.verified_at == verified_at)) =>
            {
                Outcome::Unchanged
            }
            Some(row) => {
                // Without imported verification an edited credential goes back to unverified,
                // as it does through the API.
                diesel::update(credentials::table.find(row.id))
                    .set((
                        credentials::jurisdiction.eq(&record.jurisdiction),
                        credentials::specialty_code.eq(&record.specialty_code),
                        credentials::issued_on.eq(record.issued_on),
                        credentials::expires_on.eq(record.expires_on),
                        credentials::verification_status.eq(&status),
                        credentials::verified_at.eq(verified_at),
                        credentials::verified_by_key_id.eq(None::<i64>),
                        credentials::verification_source_type.eq(&source),
                        credentials::verification_reference.eq(&reference),
                        credentials::next_due_on.eq(next_due_on),
                        credentials::updated_at.eq(now),
                        credentials::version.eq(row.version + 1),
                    ))
                    .execute(connection)?;
                Outcome::Updated
            }
            None => {
                diesel::insert_into(credentials::table)
                    .values((
                        credentials::provider_id.eq(provider_id),
                        credentials::kind.eq(&record.kind),
                        credentials::issuer.eq(&record.issuer),
                        credentials::identifier.eq(&record.identifier),
                        credentials::jurisdiction.eq(&record.jurisdiction),
                        credentials::specialty_code.eq(&record.specialty_code),
                        credentials::issued_on.eq(record.issued_on),
                        credentials::expires_on.eq(record.expires_on),
                        credentials::verification_status.eq(&status),
                        credentials::verified_at.eq(verified_at),
                        credentials::verification_source_type.eq(&source),
                        credentials::verification_reference.eq(&reference),
                        credentials::next_due_on.eq(next_due_on),
                        credentials::created_at.eq(now),
                        credentials::updated_at.eq(now),
                    ))
                    .execute(connection)?;
                Outcome::Created
            }
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.providers.push(provider_id);
        }
        Ok(outcome)
    }
}

fn changed(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Unchanged => Outcome::Updated,
        other => other,
    }
}
