//! Loading the planned dataset into the database: through the directory's bulk load, like any
//! import (the same rules, one audit event per batch, the change log), vouched for by
//! [`DEMO_SOURCE`].

use super::export::{records, summary};
use super::generator::generate;
use super::{DemoError, DemoSummary};
use crate::db::DbConnection;
use crate::directory::bulk::{self, BulkOptions, ImportReport};
use crate::directory::Principal;

/// The trusted source named in the audit trail for the demo's vetting state.
pub const DEMO_SOURCE: &str = "demo generator";

/// Records a batch: as the importer's default.
const BATCH: usize = 5000;

/// Generates a realistic dataset of `providers` providers (and about half as many clinics) and
/// loads it. The same `seed` always gives the same data (but for the write timestamps).
///
/// The caller decides whether the database is empty enough to seed: a second load of the same
/// seed finds every record already there and changes nothing.
pub fn seed_demo(
    connection: &mut DbConnection,
    providers: usize,
    seed: u64,
) -> Result<DemoSummary, DemoError> {
    if providers == 0 {
        return Ok(DemoSummary::default());
    }
    let dataset = generate(providers, None, seed)?;
    let by = Principal::import(chrono::Utc::now());
    let options = BulkOptions {
        trusted_source: Some(DEMO_SOURCE.to_owned()),
        file_name: format!("demo dataset (providers={providers}, seed={seed})"),
    };
    let mut report = ImportReport::default();
    let mut lines = records(&dataset)
        .enumerate()
        .map(|(index, record)| (index + 1, Ok(record)));
    loop {
        let batch: Vec<_> = lines.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        bulk::load_batch(
            connection,
            &by,
            &options,
            batch.into_iter(),
            false,
            &mut report,
        )?;
    }
    // The generator must produce what the API accepts; a refusal is a bug here, not bad input.
    if let Some(refused) = report.rejected.into_iter().next() {
        return Err(DemoError::Refused {
            record: refused.line,
            errors: refused
                .errors
                .iter()
                .map(|e| format!("{} {}: {}", e.pointer, e.code, e.detail))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(summary(&dataset))
}
