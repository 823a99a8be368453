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

mod lookups;
pub mod nppes;
mod pending;
mod records;
mod upsert;

pub use records::{
    BulkRecord, ClinicRecord, CredentialRecord, LocationRecord, ProviderRecord, TreatmentRecord,
    VerificationRecord,
};

use std::collections::HashSet;

use diesel::Connection;

use self::lookups::Lookups;
use self::pending::Pending;
use super::audit::EDITORS;
use super::Written;
use super::{write, AuditAction, AuditEvent, Change, DirectoryError, DirectoryResult, Principal};
use crate::db::change_log::Affected;
use crate::db::DbConnection;
use crate::domain::{FieldError, Invalid};

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

/// Readies the connection a bulk load runs on (`db::bulk::tune_for_bulk_load`: a page cache of a
/// fixed size rather than the memory-mapped file on SQLite, so the load's memory stays flat).
pub fn prepare_connection(connection: &mut DbConnection) -> DirectoryResult<()> {
    Ok(crate::db::bulk::tune_for_bulk_load(connection)?)
}

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
        let mut records = records.peekable();
        while records.peek().is_some() {
            // A run of records at a time, with what they refer to read ahead; the rows still
            // held are written first, so what is read ahead includes them.
            let run: Vec<ParsedRecord> = records.by_ref().take(READ_AHEAD).collect();
            batch.flush(c, report)?;
            let specialties = batch.lookups.take_specialties();
            batch.lookups = Lookups::read(c, &run)?.with_specialties(specialties);
            for (line, record) in run {
                batch.apply(c, line, record, report)?;
            }
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

/// Records whose references are read ahead together (`lookups`).
const READ_AHEAD: usize = crate::db::bulk::LOOKUP_CHUNK;

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
    lookups: Lookups,
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
            lookups: Lookups::default(),
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
        // savepoint (two fewer statements per record: most of a bulk load). Nor does a record
        // known to be new while new rows wait: it only reads, and is held back (on PostgreSQL
        // the savepoint was two round trips per record).
        let outcome = match record {
            Ok(record)
                if (record.is_one_write() && matches!(connection, DbConnection::Sqlite(_)))
                    || (self.deferring && self.lookups.is_new(&record)) =>
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
}
