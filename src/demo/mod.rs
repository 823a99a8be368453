//! The demo dataset: a realistic, deterministic directory of clinics, locations, providers and
//! credentials around real US cities, for trying the API (`seed-demo`, `serve --demo`).
//!
//! Everything is drawn from one ChaCha8 stream seeded by the caller, and every date in the data
//! (issue, expiry, verification) is an offset from fixed dates (never the wall clock), so the
//! same seed always gives the same directory. Credential expiry is placed around [`DEMO_TODAY`]
//! so the data holds a mix of valid, soon-to-expire and expired licences.
//!
//! The whole dataset is planned in memory first (`generator`), turned into the records of a
//! bulk load (`export`), then either loaded through the directory like any import (`seed_demo`:
//! the same rules as the API, audited, with [`DEMO_SOURCE`] vouching for its vetting state) or
//! written to an NDJSON import file (`write_import_file`).

mod credentials;
mod export;
mod generator;
mod geography;
mod names;
mod providers;
mod seed;
mod taxonomy;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use export::write_import_file;
pub use seed::{seed_demo, DEMO_SOURCE};

/// What [`seed_demo`] inserted, or [`write_import_file`] wrote.
/// Why the demo dataset could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the embedded city list is empty")]
    NoCities,
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryError),
    /// The generator made a record the directory refuses: a bug in the generator.
    #[error("demo record {record} was refused: {errors}")]
    Refused { record: usize, errors: String },
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub clinics: usize,
    pub locations: usize,
    pub providers: usize,
    pub credentials: usize,
}

// Fixed dates: the dataset never reads the clock.

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid constant date"),
    }
}

const fn at(date: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    match date.and_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

/// The "today" credential expiry is relative to: some licences expired before it, some expire
/// within 60 days of it, most long after.
pub const DEMO_TODAY: NaiveDate = date(2026, 11, 26);
/// When the oldest demo records were created.
const HISTORY_START: NaiveDateTime = at(date(2024, 1, 15), 9, 0);
/// When the newest demo records were created.
const DATASET_BASE: NaiveDateTime = at(date(2026, 11, 1), 9, 0);
/// Verifications are recorded no later than the evening before `DEMO_TODAY`.
const LAST_VERIFICATION: NaiveDateTime = at(date(2026, 11, 25), 18, 0);

// Random draws shared by the planners.

fn pick<T: Copy>(rng: &mut ChaCha8Rng, options: &[T]) -> T {
    options[rng.gen_range(0..options.len())]
}

fn pick_weighted<'a, T>(rng: &mut ChaCha8Rng, options: &'a [(T, u32)]) -> &'a T {
    let total: u32 = options.iter().map(|(_, weight)| weight).sum();
    let mut draw = rng.gen_range(0..total.max(1));
    for (value, weight) in options {
        if draw < *weight {
            return value;
        }
        draw -= weight;
    }
    &options[options.len() - 1].0
}

/// A time in `[start, end]`, whole seconds (`start` when the range is empty).
fn time_between(rng: &mut ChaCha8Rng, start: NaiveDateTime, end: NaiveDateTime) -> NaiveDateTime {
    let span = (end - start).num_seconds();
    if span <= 0 {
        return start;
    }
    start + Duration::seconds(rng.gen_range(0..=span))
}

/// A fresh migrated SQLite database in a temporary directory (kept alive by the returned guard),
/// seeded with the demo data.
#[cfg(test)]
fn seeded(providers: usize, seed: u64) -> (tempfile::TempDir, crate::db::PooledDb, DemoSummary) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("demo.sqlite3");
    let database = crate::db::Database::connect(
        path.to_str().expect("UTF-8 path"),
        2,
        std::time::Duration::from_secs(5),
    )
    .expect("open the database");
    let mut connection = database.connection().expect("a connection");
    let summary = seed_demo(&mut connection, providers, seed).expect("seed the demo data");
    (directory, connection, summary)
}
