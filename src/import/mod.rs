//! Bulk import: `clinic-finder import FILE` loads clinics, locations, providers and credentials
//! from NDJSON (one record a line, `"type"` says which) or CSV (one record type a file).
//!
//! This module reads the file (`read`: on a thread of its own, a bounded queue ahead of the
//! writer, so memory does not grow with the file) and hands the records to the directory a batch
//! at a time (`directory::bulk`), which holds them to the API's rules, writes them, and audits
//! each batch. A bad record is reported with its line number and skipped; with `--atomic`, the
//! whole import is one batch, rolled back if any record is bad.

pub mod geocode;
pub mod leie;
pub mod nppes;
pub mod nucc;
mod read;

use std::io::BufRead;

use crate::db::{self, DbConnection};
use crate::directory::bulk::{self, BulkOptions};
pub use crate::directory::bulk::{ImportReport, RejectedRecord};
use crate::directory::{screening, DirectoryError, DirectoryResult, Principal, Written};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    /// CSV with a header row, every row a record of this type. Lists (`other_specialty_codes`,
    /// `languages`, `location_external_ids`) are `;`-separated; `treatments` is `code:volume;…`;
    /// `opening_hours` and `verification` are JSON.
    Csv(RecordType),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordType {
    #[value(alias = "clinics")]
    Clinic,
    #[value(alias = "locations")]
    Location,
    #[value(alias = "providers")]
    Provider,
    #[value(alias = "credentials")]
    Credential,
}

impl RecordType {
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
    /// Records per transaction (without `atomic`).
    pub batch_size: usize,
    /// Who vouches for imported vetting state; without it, records carrying vetting state are
    /// refused.
    pub trusted_source: Option<String>,
    /// Named in the audit events.
    pub file_name: String,
}

/// Reads records from `input` and loads them, as the `import` principal.
pub fn import(
    connection: &mut DbConnection,
    input: impl BufRead + Send + 'static,
    options: &ImportOptions,
) -> DirectoryResult<ImportReport> {
    let by = Principal::import(chrono::Utc::now());
    bulk::prepare_connection(connection)?;
    let bulk_options = BulkOptions {
        trusted_source: options.trusted_source.clone(),
        file_name: options.file_name.clone(),
    };
    let mut report = ImportReport::default();
    let mut records = read::ParseAhead::start(input, options.format).peekable();
    // Every provider a batch created or changed is screened against the exclusion lists loaded
    // (as the service, a write of its own each), like a provider written through the API.
    let screen_lists = !db::exclusions::sources(connection)?.is_empty();
    let screen = |connection: &mut DbConnection, written: &Written<()>| {
        if screen_lists {
            let system = Principal::system(by.now);
            let mut providers = written.affected.providers.clone();
            providers.sort_unstable();
            providers.dedup();
            for id in providers {
                screening::screen(connection, &system, id)?;
            }
        }
        Ok::<(), DirectoryError>(())
    };
    if options.atomic {
        let written = bulk::load_batch(connection, &by, &bulk_options, records, true, &mut report)?;
        screen(connection, &written)?;
        return Ok(report);
    }
    while records.peek().is_some() {
        let batch = records.by_ref().take(options.batch_size);
        let written = bulk::load_batch(connection, &by, &bulk_options, batch, false, &mut report)?;
        screen(connection, &written)?;
    }
    Ok(report)
}

/// What an NPPES import read and did.
#[derive(Debug, Default, Clone)]
pub struct NppesSummary {
    pub rows: u64,
    pub bytes: u64,
    pub matched: u64,
    /// Rows that passed the filter but could not be read or placed (line, why).
    pub skipped: Vec<nppes::SkippedRow>,
    pub report: crate::directory::bulk::nppes::NppesReport,
}

/// Streams an NPPES file through the filter and loads the matching rows, `batch_size` a write,
/// as the `import` principal. `progress` is the reader's counters (for a progress line).
pub fn import_nppes(
    connection: &mut DbConnection,
    input: impl std::io::Read + Send + 'static,
    file_name: &str,
    filter: nppes::NppesFilter,
    batch_size: usize,
    progress: std::sync::Arc<nppes::ScanProgress>,
) -> Result<NppesSummary, Box<dyn std::error::Error + Send + Sync>> {
    use crate::directory::bulk::nppes::{load_batch, NppesReport};
    let by = Principal::import(chrono::Utc::now());
    let reader = nppes::NppesReader::start(input, filter, progress.clone())?;
    let mut summary = NppesSummary::default();
    let mut report = NppesReport::default();
    let mut batch = Vec::with_capacity(batch_size);
    for (line, row) in reader {
        match row {
            Ok(record) => batch.push((line, record)),
            Err(reason) => summary.skipped.push(nppes::SkippedRow { line, reason }),
        }
        if batch.len() == batch_size {
            load_batch(
                connection,
                &by,
                file_name,
                std::mem::take(&mut batch),
                &mut report,
            )?;
        }
    }
    load_batch(connection, &by, file_name, batch, &mut report)?;
    summary.rows = progress.rows();
    summary.bytes = progress.bytes();
    summary.matched = progress.matched();
    summary.report = report;
    Ok(summary)
}
