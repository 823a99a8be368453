//! Bulk import: `clinic-finder import FILE` loads clinics, locations, providers and credentials
//! from NDJSON (one record a line, `"type"` says which) or CSV (one record type a file).
//!
//! - **Streaming:** records are parsed on a thread of their own, a bounded queue ahead of the
//!   writer, and written in batches; memory does not grow with the file.
//! - **Multi-row writes:** new rows wait (see `Pending`) and go in with one statement per few
//!   hundred rows; a statement that fails is undone and its records replayed one by one, so a bad
//!   record is still reported against its own line.
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

use std::collections::HashSet;
use std::io::BufRead;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use validator::Validate;

use crate::api::credentials::check_fields as check_credential_fields;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::locations::check_place;
use crate::api::providers::{check_provider_fields, languages_json, ProviderFields};
use crate::db::models::{NewAuditEntry, NewCredential};
use crate::db::schema::{
    audit_log, clinics, credentials, locations, provider_locations, provider_specialties,
    provider_treatments, providers,
};
use crate::db::{self, write_transaction, DbConnection};
use crate::domain::validation::Checks;
use crate::domain::{CredentialKind, SourceType, VerificationStatus, VettingStatus, WeeklyHours};
use crate::search::Affected;

#[derive(Debug, Clone, Deserialize, Validate)]
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

#[derive(Debug, Clone, Deserialize, Validate)]
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

#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct TreatmentRecord {
    pub code: String,
    #[validate(range(min = 0, max = 100000))]
    pub annual_volume: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, Validate)]
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
#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    pub status: String,
    pub verified_at: NaiveDateTime,
    pub source_type: String,
    #[validate(length(min = 1, max = 500))]
    pub reference: String,
    pub next_due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, Validate)]
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
#[derive(Debug, Clone)]
pub enum ImportRecord {
    Clinic(ClinicRecord),
    Location(LocationRecord),
    Provider(ProviderRecord),
    Credential(CredentialRecord),
}

impl ImportRecord {
    /// Written by a single statement (the lookups before it only read).
    fn is_one_write(&self) -> bool {
        !matches!(self, ImportRecord::Provider(_))
    }
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
    /// A new row held back for a multi-row statement (see [`Pending`]); counted when written.
    Deferred,
}

/// New rows held back to be written with one multi-row statement per few hundred: a bulk load is
/// mostly inserts, and a statement per row spends most of its time preparing SQL. Only rows of
/// one record type wait at a time (a record of another type may refer to them), and a record
/// repeating a waiting one's key waits until they are written (it is then an update).
#[derive(Default)]
struct Pending {
    clinics: Vec<(usize, ClinicRecord)>,
    /// With the clinic id and the opening hours' JSON, resolved when the record was checked.
    locations: Vec<(usize, LocationRecord, i64, String)>,
    credentials: Vec<(usize, CredentialRecord, NewCredential)>,
    /// With the ids of its locations, its languages' JSON and its vetting status.
    providers: Vec<(usize, ProviderRecord, Vec<i64>, String, VettingStatus)>,
    keys: HashSet<String>,
}

impl Pending {
    fn len(&self) -> usize {
        self.clinics.len() + self.locations.len() + self.credentials.len() + self.providers.len()
    }

    /// Whether `record` must wait until the rows held are written.
    fn must_flush_before(&self, record: &ImportRecord) -> bool {
        let held_of_type = match record {
            ImportRecord::Clinic(_) => self.clinics.len(),
            ImportRecord::Location(_) => self.locations.len(),
            ImportRecord::Credential(_) => self.credentials.len(),
            ImportRecord::Provider(_) => self.providers.len(),
        };
        let same_type = held_of_type == self.len();
        !same_type || pending_key(record).is_some_and(|key| self.keys.contains(&key))
    }

    /// The records held, in file order.
    fn into_records(self) -> Vec<(usize, ImportRecord)> {
        let mut records: Vec<(usize, ImportRecord)> = self
            .clinics
            .into_iter()
            .map(|(line, record)| (line, ImportRecord::Clinic(record)))
            .chain(
                self.locations
                    .into_iter()
                    .map(|(line, record, ..)| (line, ImportRecord::Location(record))),
            )
            .chain(
                self.credentials
                    .into_iter()
                    .map(|(line, record, _)| (line, ImportRecord::Credential(record))),
            )
            .chain(
                self.providers
                    .into_iter()
                    .map(|(line, record, ..)| (line, ImportRecord::Provider(record))),
            )
            .collect();
        records.sort_by_key(|(line, _)| *line);
        records
    }
}

/// The key a record upserts by, for the record types whose new rows wait in [`Pending`].
fn pending_key(record: &ImportRecord) -> Option<String> {
    match record {
        ImportRecord::Clinic(r) => Some(format!("clinic\u{0}{}", r.external_id)),
        ImportRecord::Location(r) => Some(format!("location\u{0}{}", r.external_id)),
        ImportRecord::Credential(r) => Some(format!(
            "credential\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            r.provider_npi,
            r.kind,
            r.issuer,
            r.identifier.as_deref().unwrap_or("\u{0}")
        )),
        ImportRecord::Provider(r) => Some(format!("provider\u{0}{}", r.npi)),
    }
}

/// Rows per multi-row statement (16 columns × 500 stays far below both backends' bind limits).
const INSERT_CHUNK: usize = 500;

/// Writes the rows held; the ids of the clinics and locations created, and the providers whose
/// credentials were.
fn insert_pending(connection: &mut DbConnection, pending: &Pending) -> ApiResult<Affected> {
    let now = db::now();
    let mut affected = Affected::default();
    for chunk in pending.clinics.chunks(INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(_, r)| {
                (
                    clinics::name.eq(&r.name),
                    clinics::website.eq(&r.website),
                    clinics::phone.eq(&r.phone),
                    clinics::description.eq(&r.description),
                    clinics::external_id.eq(&r.external_id),
                    clinics::created_at.eq(now),
                    clinics::updated_at.eq(now),
                )
            })
            .collect();
        let ids: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(clinics::table)
                .values(rows)
                .returning(clinics::id)
                .get_results(connection))?;
        affected.clinics.extend(ids);
    }
    for chunk in pending.locations.chunks(INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(_, r, clinic_id, hours)| {
                (
                    (
                        locations::clinic_id.eq(*clinic_id),
                        locations::name.eq(&r.name),
                        locations::address_line1.eq(&r.address_line1),
                        locations::address_line2.eq(&r.address_line2),
                        locations::city.eq(&r.city),
                        locations::state.eq(&r.state),
                        locations::postal_code.eq(&r.postal_code),
                        locations::country.eq(r.country.as_deref().unwrap_or("US")),
                    ),
                    (
                        locations::latitude.eq(r.latitude),
                        locations::longitude.eq(r.longitude),
                        locations::timezone.eq(&r.timezone),
                        locations::opening_hours.eq(hours),
                        locations::phone.eq(&r.phone),
                        locations::external_id.eq(&r.external_id),
                        locations::created_at.eq(now),
                        locations::updated_at.eq(now),
                    ),
                )
            })
            .collect();
        let ids: Vec<i64> = crate::with_backend!(connection, |connection| diesel::insert_into(
            locations::table
        )
        .values(rows)
        .returning(locations::id)
        .get_results(connection))?;
        affected.locations.extend(ids);
    }
    for chunk in pending.credentials.chunks(INSERT_CHUNK) {
        // Tuples of bound values, not the `Insertable` struct: an `Option` field of a struct means
        // "DEFAULT", which SQLite cannot put in a multi-row VALUES (diesel would write row by row).
        let rows: Vec<_> = chunk
            .iter()
            .map(|(_, _, row)| {
                (
                    (
                        credentials::provider_id.eq(row.provider_id),
                        credentials::kind.eq(&row.kind),
                        credentials::issuer.eq(&row.issuer),
                        credentials::identifier.eq(&row.identifier),
                        credentials::jurisdiction.eq(&row.jurisdiction),
                        credentials::specialty_code.eq(&row.specialty_code),
                        credentials::issued_on.eq(row.issued_on),
                        credentials::expires_on.eq(row.expires_on),
                    ),
                    (
                        credentials::verification_status.eq(&row.verification_status),
                        credentials::verified_at.eq(row.verified_at),
                        credentials::verification_source_type.eq(&row.verification_source_type),
                        credentials::verification_reference.eq(&row.verification_reference),
                        credentials::next_due_on.eq(row.next_due_on),
                        credentials::created_at.eq(row.created_at),
                        credentials::updated_at.eq(row.updated_at),
                    ),
                )
            })
            .collect();
        crate::with_backend!(connection, |connection| diesel::insert_into(
            credentials::table
        )
        .values(rows)
        .execute(connection))?;
        affected
            .providers
            .extend(chunk.iter().map(|(_, _, row)| row.provider_id));
    }
    for chunk in pending.providers.chunks(INSERT_CHUNK) {
        insert_new_providers(connection, chunk, now, &mut affected)?;
    }
    Ok(affected)
}

/// New providers with their specialties, practice locations and treatments: a statement per
/// table per chunk.
fn insert_new_providers(
    connection: &mut DbConnection,
    chunk: &[(usize, ProviderRecord, Vec<i64>, String, VettingStatus)],
    now: NaiveDateTime,
    affected: &mut Affected,
) -> ApiResult<()> {
    let rows: Vec<_> = chunk
        .iter()
        .map(|(_, r, _, languages, status)| {
            (
                providers::npi.eq(&r.npi),
                providers::given_name.eq(&r.given_name),
                providers::family_name.eq(&r.family_name),
                providers::degree.eq(&r.degree),
                providers::primary_specialty_code.eq(&r.primary_specialty_code),
                providers::practice_start_year.eq(r.practice_start_year),
                providers::languages.eq(languages),
                providers::accepting_new_patients.eq(r.accepting_new_patients.unwrap_or(true)),
                providers::bio.eq(&r.bio),
                providers::vetting_status.eq(status.as_str()),
                providers::external_id.eq(&r.external_id),
                providers::created_at.eq(now),
                providers::updated_at.eq(now),
            )
        })
        .collect();
    let inserted: Vec<(i64, String)> =
        crate::with_backend!(connection, |connection| diesel::insert_into(
            providers::table
        )
        .values(rows)
        .returning((providers::id, providers::npi))
        .get_results(connection))?;
    let ids: std::collections::HashMap<String, i64> =
        inserted.into_iter().map(|(id, npi)| (npi, id)).collect();
    let (mut specialties, mut links, mut treatments) = (Vec::new(), Vec::new(), Vec::new());
    for (_, record, location_ids, ..) in chunk {
        let id = *ids
            .get(&record.npi)
            .ok_or_else(|| ApiError::internal("an inserted provider came back without its id"))?;
        let mut codes = record.other_specialty_codes.clone();
        codes.sort();
        codes.dedup();
        specialties.extend(codes.into_iter().map(|code| {
            (
                provider_specialties::provider_id.eq(id),
                provider_specialties::specialty_code.eq(code),
            )
        }));
        let mut location_ids = location_ids.clone();
        location_ids.sort_unstable();
        location_ids.dedup();
        affected.locations.extend(&location_ids);
        links.extend(location_ids.into_iter().map(|location_id| {
            (
                provider_locations::provider_id.eq(id),
                provider_locations::location_id.eq(location_id),
                provider_locations::created_at.eq(now),
            )
        }));
        treatments.extend(record.treatments.iter().map(|treatment| {
            (
                provider_treatments::provider_id.eq(id),
                provider_treatments::treatment_code.eq(treatment.code.clone()),
                provider_treatments::annual_volume.eq(treatment.annual_volume),
                provider_treatments::created_at.eq(now),
            )
        }));
        affected.providers.push(id);
    }
    for rows in specialties.chunks(INSERT_CHUNK) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_specialties::table
        )
        .values(rows)
        .execute(connection))?;
    }
    for rows in links.chunks(INSERT_CHUNK) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_locations::table
        )
        .values(rows)
        .execute(connection))?;
    }
    for rows in treatments.chunks(INSERT_CHUNK) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_treatments::table
        )
        .values(rows)
        .execute(connection))?;
    }
    Ok(())
}

/// Reads records from `input` and applies them.
pub fn import(
    connection: &mut DbConnection,
    input: impl BufRead + Send + 'static,
    options: &ImportOptions,
) -> ApiResult<ImportReport> {
    let mut report = ImportReport::default();
    let records = ParseAhead::start(input, options.format);
    if options.atomic {
        let outcome = write_transaction(connection, |connection| {
            let mut batch = Batch::new(options);
            for (line, record) in records {
                batch.apply(connection, line, record, &mut report)?;
            }
            batch.finish(connection, &mut report)?;
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
            batch.finish(connection, &mut report)
        })?;
    }
    Ok(report)
}

type ParsedLine = (usize, Result<ImportRecord, Vec<FieldError>>);

/// Parses on a thread of its own, a bounded queue ahead of the writer: on two cores the JSON and
/// CSV work overlaps the database work instead of adding to it, and memory stays flat. Records
/// travel in chunks: one hand-over per record would cost more in wake-ups than it saves.
struct ParseAhead {
    queue: std::sync::mpsc::Receiver<Vec<ParsedLine>>,
    chunk: std::vec::IntoIter<ParsedLine>,
    parser: Option<std::thread::JoinHandle<()>>,
}

const PARSE_CHUNK: usize = 512;

impl ParseAhead {
    fn start(input: impl BufRead + Send + 'static, format: Format) -> ParseAhead {
        let (sender, queue) = std::sync::mpsc::sync_channel(8);
        let parser = std::thread::spawn(move || {
            let mut records = read_records(input, format);
            loop {
                let chunk: Vec<ParsedLine> = records.by_ref().take(PARSE_CHUNK).collect();
                if chunk.is_empty() || sender.send(chunk).is_err() {
                    break; // the end, or the writer stopped (an error aborted the import)
                }
            }
        });
        ParseAhead {
            queue,
            chunk: Vec::new().into_iter(),
            parser: Some(parser),
        }
    }
}

impl Iterator for ParseAhead {
    type Item = ParsedLine;

    fn next(&mut self) -> Option<ParsedLine> {
        loop {
            if let Some(parsed) = self.chunk.next() {
                return Some(parsed);
            }
            match self.queue.recv() {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(_) => {
                    // The parser is done; if it panicked, the import must not look complete.
                    if let Some(Err(panic)) = self.parser.take().map(|parser| parser.join()) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

fn read_records(
    input: impl BufRead + Send + 'static,
    format: Format,
) -> Box<dyn Iterator<Item = ParsedLine> + Send> {
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
    known_treatments: Option<HashSet<String>>,
    affected: Affected,
    first_line: Option<usize>,
    last_line: usize,
    /// The line of the record being applied.
    line: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    rejected: usize,
    /// Whether new rows may wait for a multi-row statement (off while replaying one that failed).
    deferring: bool,
    pending: Pending,
}

impl<'o> Batch<'o> {
    fn new(options: &'o ImportOptions) -> Batch<'o> {
        Batch {
            options,
            known_treatments: None,
            affected: Affected::default(),
            first_line: None,
            last_line: 0,
            line: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
            deferring: true,
            pending: Pending::default(),
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
        if let Ok(record) = &record {
            if self.pending.must_flush_before(record) {
                self.flush(connection, report)?;
            }
        }
        self.apply_now(connection, line, record, report)
    }

    /// Writes the new rows held back. If a multi-row statement fails, none of them stays written
    /// and their records are replayed one by one, so each failure is reported against its line.
    fn flush(&mut self, connection: &mut DbConnection, report: &mut ImportReport) -> ApiResult<()> {
        if self.pending.len() == 0 {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        match connection.transaction(|connection| insert_pending(connection, &pending)) {
            Ok(affected) => {
                self.created += pending.len();
                report.created += pending.len();
                self.affected.clinics.extend(affected.clinics);
                self.affected.locations.extend(affected.locations);
                self.affected.providers.extend(affected.providers);
            }
            Err(_) => {
                self.deferring = false;
                for (line, record) in pending.into_records() {
                    self.apply_now(connection, line, Ok(record), report)?;
                }
                self.deferring = true;
            }
        }
        Ok(())
    }

    fn apply_now(
        &mut self,
        connection: &mut DbConnection,
        line: usize,
        record: Result<ImportRecord, Vec<FieldError>>,
        report: &mut ImportReport,
    ) -> ApiResult<()> {
        self.line = line;
        let key = record.as_ref().ok().and_then(pending_key);
        // Each record in a savepoint: a record that fails half-way leaves nothing behind, and
        // on PostgreSQL a failed statement does not poison the rest of the batch. On SQLite a
        // failed statement undoes only itself, so a record written by one statement needs no
        // savepoint (two fewer statements per record: most of a bulk load).
        let outcome = match record {
            Ok(record)
                if record.is_one_write() && matches!(connection, DbConnection::Sqlite(_)) =>
            {
                self.apply_record(connection, record)
            }
            Ok(record) => {
                connection.transaction(|connection| self.apply_record(connection, record))
            }
            Err(errors) => Err(ApiError::Validation(errors)),
        };
        match outcome {
            Ok(Outcome::Deferred) => {
                self.pending.keys.extend(key);
            }
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

    /// The rows still held, the change feed and one audit row for the batch.
    fn finish(mut self, connection: &mut DbConnection, report: &mut ImportReport) -> ApiResult<()> {
        self.flush(connection, report)?;
        db::change_log::record(connection, &self.affected)?;
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
            None if self.deferring => {
                self.pending.clinics.push((self.line, record.clone()));
                return Ok(Outcome::Deferred);
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
            None if self.deferring => {
                self.pending
                    .locations
                    .push((self.line, record.clone(), clinic_id, hours.clone()));
                return Ok(Outcome::Deferred);
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
        if existing.is_none() && self.deferring {
            let status = vetting_status.unwrap_or(VettingStatus::Pending);
            self.pending
                .providers
                .push((self.line, record, location_ids, languages, status));
            return Ok(Outcome::Deferred);
        }
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
            None if self.deferring => {
                let row = NewCredential {
                    provider_id,
                    kind: record.kind.clone(),
                    issuer: record.issuer.clone(),
                    identifier: record.identifier.clone(),
                    jurisdiction: record.jurisdiction.clone(),
                    specialty_code: record.specialty_code.clone(),
                    issued_on: record.issued_on,
                    expires_on: record.expires_on,
                    verification_status: status,
                    verified_at,
                    verified_by_key_id: None,
                    verification_source_type: source,
                    verification_reference: reference,
                    next_due_on,
                    created_at: now,
                    updated_at: now,
                };
                self.pending.credentials.push((self.line, record, row));
                return Ok(Outcome::Deferred);
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
