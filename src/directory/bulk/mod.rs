//! Bulk loading through the directory: the importers hand over records, a batch at a time, and
//! each batch is one write like any other — the same rules as the API for every record (each is
//! turned into the API's command and checked by the same function), one transaction, one audit
//! event (`import.batch`: the file, its lines, what was created, updated, left alone and
//! refused, and who vouches for it) and the change-log rows that carry the batch to every
//! running server.
//!
//! - **Upserts:** clinics and locations by external id, providers by NPI, credentials by
//!   (provider, kind, issuer, identifier); the same records again change nothing.
//! - **Vetting state** (a provider's `vetting_status`, a credential's `verification`) is taken
//!   only from a trusted source ([`BulkOptions::trusted_source`]).
//! - **Refused records** are reported by line; the rest of the batch goes in (or, all or
//!   nothing, none of it).
//! - **Multi-row writes:** new rows wait ([`pending::Pending`]) and go in a few hundred per
//!   statement; a statement that fails is undone and its records applied one by one, so a bad
//!   record is still reported against its own line.

mod pending;
mod records;

pub use records::{
    BulkRecord, ClinicRecord, CredentialRecord, LocationRecord, ProviderRecord, TreatmentRecord,
    VerificationRecord,
};

use std::collections::HashSet;

use diesel::Connection;

use self::pending::{Pending, PlannedProvider};
use super::audit::EDITORS;
use super::Written;
use super::{clinics, credentials, locations, providers};
use super::{write, AuditAction, AuditEvent, Change, DirectoryError, DirectoryResult, Principal};
use crate::db::change_log::Affected;
use crate::db::models::NewProvider;
use crate::db::{self, DbConnection};
use crate::domain::{Checks, FieldError, Invalid, SourceType, VerificationStatus, VettingStatus};

/// Where a bulk load comes from.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Who vouches for vetting state in the records; without one, records carrying vetting
    /// state are refused.
    pub trusted_source: Option<String>,
    /// Named in the audit events.
    pub file_name: String,
}

/// A record that was not loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    pub line: usize,
    pub errors: Vec<FieldError>,
}

/// What a load did, summed over its batches.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    pub read: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<RejectedRecord>,
    /// All or nothing, and a record was refused: nothing was written.
    pub rolled_back: bool,
}

/// A record as read: its line, and the record or why it could not be read.
pub type ParsedRecord = (usize, Result<BulkRecord, Vec<FieldError>>);

/// Loads `records` as one batch: one transaction, one audit event. With `all_or_nothing`, a
/// refused record rolls the whole batch back (the report says so).
pub fn load_batch(
    connection: &mut DbConnection,
    by: &Principal,
    options: &BulkOptions,
    records: impl Iterator<Item = ParsedRecord>,
    all_or_nothing: bool,
    report: &mut ImportReport,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    let before = report.clone();
    let outcome = write(connection, by, |c| {
        let mut batch = Batch::new(options);
        for (line, record) in records {
            batch.apply(c, line, record, report)?;
        }
        let change = batch.finish(c, report)?;
        if all_or_nothing && !report.rejected.is_empty() {
            return Err(DirectoryError::Conflict {
                code: ROLLED_BACK,
                detail: "a record was refused: the batch is rolled back".to_owned(),
            });
        }
        Ok(change)
    });
    match outcome {
        Err(DirectoryError::Conflict {
            code: ROLLED_BACK, ..
        }) => {
            *report = ImportReport {
                read: report.read,
                rejected: std::mem::take(&mut report.rejected),
                rolled_back: true,
                ..before
            };
            Ok(Written {
                view: (),
                affected: Affected::default(),
            })
        }
        other => other,
    }
}

const ROLLED_BACK: &str = "import_rolled_back";

enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// A new row held back for a multi-row statement; counted when written.
    Deferred,
}

fn changed(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Unchanged => Outcome::Updated,
        other => other,
    }
}

/// What one batch has done so far.
struct Batch<'o> {
    options: &'o BulkOptions,
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
    fn new(options: &'o BulkOptions) -> Batch<'o> {
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
        record: Result<BulkRecord, Vec<FieldError>>,
        report: &mut ImportReport,
    ) -> DirectoryResult<()> {
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
    fn flush(
        &mut self,
        connection: &mut DbConnection,
        report: &mut ImportReport,
    ) -> DirectoryResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        match connection.transaction(|connection| pending.insert(connection)) {
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
        record: Result<BulkRecord, Vec<FieldError>>,
        report: &mut ImportReport,
    ) -> DirectoryResult<()> {
        self.line = line;
        let key = record.as_ref().ok().map(BulkRecord::key);
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
            Err(errors) => Err(DirectoryError::Invalid(Invalid(errors))),
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
            Err(DirectoryError::Invalid(invalid)) => {
                self.rejected += 1;
                report.rejected.push(RejectedRecord {
                    line,
                    errors: invalid.0,
                });
            }
            Err(DirectoryError::Conflict { detail, code }) => {
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

    /// The rows still held, and the batch's audit event and change-log rows (written by
    /// [`write`] with the batch).
    fn finish(
        mut self,
        connection: &mut DbConnection,
        report: &mut ImportReport,
    ) -> DirectoryResult<Change<()>> {
        self.flush(connection, report)?;
        let Some(first_line) = self.first_line else {
            return Ok(Change::unchanged(()));
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
        let mut event =
            AuditEvent::of(AuditAction::ImportBatch, &self.options.file_name).after(&summary);
        if let Some(source) = &self.options.trusted_source {
            event = event.reason(source);
        }
        Ok(Change::new((), event, self.affected))
    }

    fn apply_record(
        &mut self,
        connection: &mut DbConnection,
        record: BulkRecord,
    ) -> DirectoryResult<Outcome> {
        match record {
            BulkRecord::Clinic(record) => self.clinic(connection, record),
            BulkRecord::Location(record) => self.location(connection, record),
            BulkRecord::Provider(record) => self.provider(connection, record),
            BulkRecord::Credential(record) => self.credential(connection, record),
        }
    }

    fn clinic(
        &mut self,
        connection: &mut DbConnection,
        record: ClinicRecord,
    ) -> DirectoryResult<Outcome> {
        let input = record.to_input();
        clinics::check_new(&input)?;
        let row = clinics::new_row(input);
        let (id, outcome) = match db::clinics::find_by_external_id(connection, &record.external_id)?
        {
            Some(existing)
                if existing.name == row.name
                    && existing.website == row.website
                    && existing.phone == row.phone
                    && existing.description == row.description =>
            {
                (existing.id, Outcome::Unchanged)
            }
            Some(existing) => {
                db::bulk::replace_clinic(connection, existing.id, existing.version, &row)?;
                (existing.id, Outcome::Updated)
            }
            None if self.deferring => {
                self.pending.clinics.push((self.line, record, row));
                return Ok(Outcome::Deferred);
            }
            None => (db::clinics::insert(connection, &row)?.id, Outcome::Created),
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
    ) -> DirectoryResult<Outcome> {
        let clinic_id = db::bulk::clinic_id_by_external_id(connection, &record.clinic_external_id)?;
        let input = record.to_input(clinic_id.unwrap_or_default());
        let (mut checks, hours) = locations::check_new(&input);
        if clinic_id.is_none() {
            checks.push(
                "/clinic_external_id",
                "not_found",
                format!("no clinic has external_id `{}`", record.clinic_external_id),
            );
        }
        checks.finish()?;
        let row = locations::new_row(input, hours.unwrap_or_else(|| "{}".to_owned()));
        let existing = db::locations::find_by_external_id(connection, &record.external_id)?;
        let (id, outcome) = match existing {
            Some(existing) => {
                let same = existing.clinic_id == row.clinic_id
                    && existing.name == row.name
                    && existing.address_line1 == row.address_line1
                    && existing.address_line2 == row.address_line2
                    && existing.city == row.city
                    && existing.state == row.state
                    && existing.postal_code == row.postal_code
                    && existing.country == row.country
                    && existing.latitude == row.latitude
                    && existing.longitude == row.longitude
                    && existing.timezone == row.timezone
                    && existing.opening_hours == row.opening_hours
                    && existing.phone == row.phone;
                if same {
                    (existing.id, Outcome::Unchanged)
                } else {
                    db::bulk::replace_location(connection, existing.id, existing.version, &row)?;
                    (existing.id, Outcome::Updated)
                }
            }
            None if self.deferring => {
                self.pending.locations.push((self.line, record, row));
                return Ok(Outcome::Deferred);
            }
            None => (
                db::locations::insert(connection, &row)?.id,
                Outcome::Created,
            ),
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.locations.push(id);
        }
        Ok(outcome)
    }

    /// Whether vetting state in the file may be taken: only when a trusted source vouches for
    /// it. Otherwise the record is refused, naming the field.
    fn trusts(&self, checks: &mut Checks, pointer: &str) -> bool {
        if self.options.trusted_source.is_none() {
            checks.push(
                pointer,
                "untrusted_vetting_state",
                "vetting state is imported only with --trusted-source",
            );
            return false;
        }
        true
    }

    fn provider(
        &mut self,
        connection: &mut DbConnection,
        record: ProviderRecord,
    ) -> DirectoryResult<Outcome> {
        let (mut checks, languages) = providers::check_new(connection, &record.to_input())?;
        let vetting_status = match &record.vetting_status {
            Some(text) if self.trusts(&mut checks, "/vetting_status") => checks.enum_value(
                "/vetting_status",
                text,
                VettingStatus::parse,
                VettingStatus::expected(),
            ),
            _ => None,
        };
        let mut location_ids = Vec::with_capacity(record.location_external_ids.len());
        for (index, external_id) in record.location_external_ids.iter().enumerate() {
            match db::bulk::location_id_by_external_id(connection, external_id)? {
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
            None => db::bulk::treatment_codes(connection)?,
        };
        let known_treatments = self.known_treatments.insert(known_treatments);
        for (index, treatment) in record.treatments.iter().enumerate() {
            checks.extend_under(
                &format!("/treatments/{index}"),
                Checks::of(&treatment.to_input()),
            );
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
        let existing = db::providers::find_by_npi(connection, &record.npi)?;
        let status = vetting_status
            .map(|s| s.as_str().to_owned())
            .or_else(|| existing.as_ref().map(|row| row.vetting_status.clone()))
            .unwrap_or_else(|| VettingStatus::Pending.as_str().to_owned());
        let row = NewProvider {
            npi: record.npi.clone(),
            given_name: record.given_name.clone(),
            family_name: record.family_name.clone(),
            degree: record.degree.clone(),
            primary_specialty_code: record.primary_specialty_code.clone(),
            practice_start_year: record.practice_start_year,
            languages: providers::languages_json(&languages),
            accepting_new_patients: record.accepting_new_patients.unwrap_or(true),
            bio: record.bio.clone(),
            vetting_status: status,
            external_id: record.external_id.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut specialties = record.other_specialty_codes.clone();
        specialties.sort();
        specialties.dedup();
        let Some(existing) = existing else {
            if self.deferring {
                location_ids.sort_unstable();
                location_ids.dedup();
                let treatments = record
                    .treatments
                    .iter()
                    .map(|t| (t.code.clone(), t.annual_volume))
                    .collect();
                let planned = PlannedProvider {
                    row,
                    specialties,
                    location_ids,
                    treatments,
                };
                self.pending.providers.push((self.line, record, planned));
                return Ok(Outcome::Deferred);
            }
            let id = db::providers::insert(connection, &row, &specialties)?.id;
            self.attach(connection, id, &location_ids, &record)?;
            self.affected.providers.push(id);
            return Ok(Outcome::Created);
        };
        let id = existing.id;
        let same = existing.given_name == row.given_name
            && existing.family_name == row.family_name
            && existing.degree == row.degree
            && existing.primary_specialty_code == row.primary_specialty_code
            && existing.practice_start_year == row.practice_start_year
            && existing.languages == row.languages
            && existing.accepting_new_patients == row.accepting_new_patients
            && existing.bio == row.bio
            && existing.vetting_status == row.vetting_status
            && (row.external_id.is_none() || existing.external_id == row.external_id);
        let mut outcome = if same {
            Outcome::Unchanged
        } else {
            db::bulk::replace_provider(connection, id, existing.version, &row)?;
            Outcome::Updated
        };
        // Specialties replace; links and treatments are added. Anything new marks it updated.
        if db::bulk::specialty_codes_of(connection, id)? != specialties {
            db::providers::replace_specialties(connection, id, &specialties)?;
            outcome = changed(outcome);
        }
        if self.attach(connection, id, &location_ids, &record)? {
            outcome = changed(outcome);
        }
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.providers.push(id);
        }
        Ok(outcome)
    }

    /// Adds the record's practice locations and treatments to a provider; true when any was
    /// new or changed.
    fn attach(
        &mut self,
        connection: &mut DbConnection,
        id: i64,
        location_ids: &[i64],
        record: &ProviderRecord,
    ) -> DirectoryResult<bool> {
        let mut changed = false;
        for &location_id in location_ids {
            if db::providers::link_location(connection, id, location_id)? {
                self.affected.locations.push(location_id);
                changed = true;
            }
        }
        for treatment in &record.treatments {
            let current = db::bulk::treatment_volume(connection, id, &treatment.code)?;
            if current != Some(treatment.annual_volume) {
                db::providers::upsert_treatment(
                    connection,
                    id,
                    &treatment.code,
                    treatment.annual_volume,
                )?;
                changed = true;
            }
        }
        Ok(changed)
    }

    fn credential(
        &mut self,
        connection: &mut DbConnection,
        record: CredentialRecord,
    ) -> DirectoryResult<Outcome> {
        let (mut checks, _) = credentials::check_new(connection, &record.to_input())?;
        let provider_id = db::bulk::provider_id_by_npi(connection, &record.provider_npi)?;
        if provider_id.is_none() {
            checks.push(
                "/provider_npi",
                "not_found",
                format!("no provider has NPI {}", record.provider_npi),
            );
        }
        let verification = match &record.verification {
            Some(verification) if self.trusts(&mut checks, "/verification") => {
                checks.extend_under("/verification", Checks::of(verification));
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
            _ => None,
        };
        checks.finish()?;
        let provider_id = provider_id.unwrap_or_default();
        let mut row = credentials::new_row(provider_id, record.to_input());
        if let Some((status, source, v)) = verification {
            row.verification_status = status.as_str().to_owned();
            row.verified_at = Some(v.verified_at);
            row.verification_source_type = Some(source.as_str().to_owned());
            row.verification_reference = Some(v.reference.clone());
            row.next_due_on = v
                .next_due_on
                .or(record.expires_on)
                .or_else(|| Some(v.verified_at.date() + chrono::Months::new(36)));
        }
        let existing = db::credentials::find_same(
            connection,
            provider_id,
            &record.kind,
            &record.issuer,
            record.identifier.as_deref(),
        )?;
        let outcome = match existing {
            Some(existing)
                if existing.jurisdiction == row.jurisdiction
                    && existing.specialty_code == row.specialty_code
                    && existing.issued_on == row.issued_on
                    && existing.expires_on == row.expires_on
                    && (record.verification.is_none()
                        || (existing.verification_status == row.verification_status
                            && existing.verified_at == row.verified_at)) =>
            {
                Outcome::Unchanged
            }
            Some(existing) => {
                // Without imported verification an edited credential goes back to unverified,
                // as it does through the API.
                db::bulk::replace_credential(connection, existing.id, existing.version, &row)?;
                Outcome::Updated
            }
            None if self.deferring => {
                self.pending.credentials.push((self.line, record, row));
                return Ok(Outcome::Deferred);
            }
            None => {
                db::credentials::insert(connection, &row)?;
                Outcome::Created
            }
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.providers.push(provider_id);
        }
        Ok(outcome)
    }
}
