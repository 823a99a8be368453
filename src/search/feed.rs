//! The change feed between API processes. Every write appends the entities it touched to
//! `change_log` in its own transaction; every process polls the table and reloads those entities
//! into its in-memory index. A write made through one replica is therefore in every replica's
//! search within one poll interval (plus the reload), and a process that missed a notification
//! (a crash between commit and refresh) catches up on its next poll.
//!
//! Ids come from a sequence at insert time, not at commit: on PostgreSQL a transaction holding
//! id 10 can commit after one holding id 11. The reader therefore keeps a floor below which it
//! has dealt with every id, remembers the ids it has applied above it, and gives each missing id
//! a timer of its own: an id still missing after the gap timeout (a rolled-back transaction, or
//! one that is very slow to commit) is skipped — and then looked for again on every poll for as
//! long as the change log keeps rows, so a transaction that commits after all is still applied.
//! At start-up the reader begins [`START_LOOKBACK`] ids below the newest, so that a transaction
//! in flight while the process starts is waited for rather than missed. A periodic full
//! reconcile (`SearchIndex::reconcile`) repairs anything else.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::index::{Affected, SearchIndex};
use super::SearchResult;
use crate::db::change_log::{self, RETENTION};
use crate::db::DbConnection;

/// How far below the newest id a starting reader begins (ids already in the log there count as
/// applied: the index is loaded after the position is read).
pub const START_LOOKBACK: i64 = 1000;
/// Most skipped ids remembered (the oldest go first).
const MAX_SKIPPED: usize = 100_000;
const PAGE: i64 = 1000;

/// One process's position in the feed.
#[derive(Debug)]
pub struct FeedReader {
    /// Every id at or below this has been applied or skipped.
    floor: i64,
    /// Ids above the floor that have been applied.
    seen: BTreeSet<i64>,
    /// Ids above the floor not seen yet, below one that has been: since when each is missing.
    missing: BTreeMap<i64, Instant>,
    /// Ids given up on, looked for again on every poll until the log's retention has passed.
    skipped: BTreeMap<i64, Instant>,
    /// Ids up to this have had their gaps noted.
    noted: i64,
    gap_timeout: Duration,
}

impl FeedReader {
    /// A reader that has applied every id up to `floor`.
    pub fn starting_after(floor: i64, gap_timeout: Duration) -> FeedReader {
        FeedReader {
            floor,
            seen: BTreeSet::new(),
            missing: BTreeMap::new(),
            skipped: BTreeMap::new(),
            noted: floor,
            gap_timeout,
        }
    }

    /// The reader of a starting process, read *before* its index is loaded: the ids present in
    /// the last [`START_LOOKBACK`] count as applied (the load will include them); those absent
    /// are gaps, waited for like any other.
    pub fn start(connection: &mut DbConnection, gap_timeout: Duration) -> SearchResult<FeedReader> {
        let newest = change_log::latest_id(connection)?;
        let floor = (newest - START_LOOKBACK).max(0);
        let mut reader = FeedReader::starting_after(floor, gap_timeout);
        let present = change_log::read_range(connection, floor + 1, newest, START_LOOKBACK)?;
        reader.seen.extend(present.iter().map(|(id, _, _)| *id));
        let now = Instant::now();
        reader.note_missing(newest, now);
        reader.advance(now);
        Ok(reader)
    }

    /// Applies the changes not yet seen; returns how many entities were reloaded.
    pub fn poll(
        &mut self,
        connection: &mut DbConnection,
        index: &SearchIndex,
    ) -> SearchResult<usize> {
        let now = Instant::now();
        let mut affected = Affected::default();
        let mut new_ids = Vec::new();
        let mut from = self.floor + 1;
        loop {
            let rows = change_log::read_range(connection, from, i64::MAX, PAGE)?;
            for (id, entity, entity_id) in &rows {
                if self.seen.contains(id) {
                    continue;
                }
                new_ids.push(*id);
                affected.add(entity, *entity_id);
            }
            match rows.last() {
                Some((last, _, _)) if rows.len() as i64 == PAGE => from = last + 1,
                _ => break,
            }
        }
        // Skipped ids that have turned up since: a transaction that committed late.
        let mut late = Vec::new();
        for (start, end) in runs(self.skipped.keys().copied()) {
            for (id, entity, entity_id) in change_log::read_range(connection, start, end, PAGE)? {
                late.push(id);
                affected.add(&entity, entity_id);
            }
        }
        let reloaded = affected.clinics.len()
            + affected.locations.len()
            + affected.providers.len()
            + affected.exclusion_sources.len();
        if reloaded > 0 {
            index.refresh_with(connection, &affected)?;
        }
        for id in late {
            self.skipped.remove(&id);
        }
        let newest = new_ids.iter().copied().max().unwrap_or(self.floor);
        self.seen.extend(new_ids);
        self.note_missing(newest, now);
        self.advance(now);
        self.forget_old_skips(now);
        Ok(reloaded)
    }

    /// Starts the timer of every id below `newest` (and above the floor) not seen yet.
    fn note_missing(&mut self, newest: i64, now: Instant) {
        for id in (self.floor.max(self.noted) + 1)..newest {
            if !self.seen.contains(&id) {
                self.missing.entry(id).or_insert(now);
            }
        }
        self.noted = self.noted.max(newest);
    }

    /// Moves the floor over applied ids, and over missing ids whose own timer has run out.
    fn advance(&mut self, now: Instant) {
        loop {
            let next = self.floor + 1;
            if self.seen.remove(&next) {
                self.missing.remove(&next);
                self.floor = next;
                continue;
            }
            match self.missing.get(&next) {
                Some(since) if now.saturating_duration_since(*since) >= self.gap_timeout => {
                    self.missing.remove(&next);
                    self.skipped.insert(next, now);
                    self.floor = next;
                }
                _ => return,
            }
        }
    }

    fn forget_old_skips(&mut self, now: Instant) {
        let retention = RETENTION.to_std().unwrap_or(Duration::from_secs(86_400));
        self.skipped
            .retain(|_, since| now.saturating_duration_since(*since) < retention);
        while self.skipped.len() > MAX_SKIPPED {
            self.skipped.pop_first();
        }
    }
}

/// Consecutive ids as (first, last) runs.
fn runs(ids: impl Iterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for id in ids {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => runs.push((id, id)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader_at(floor: i64) -> FeedReader {
        FeedReader::starting_after(floor, Duration::from_secs(30))
    }

    fn see(reader: &mut FeedReader, ids: &[i64], at: Instant) {
        reader.seen.extend(ids);
        let newest = ids.iter().copied().max().unwrap_or(reader.floor);
        reader.note_missing(newest, at);
        reader.advance(at);
    }

    #[test]
    fn the_floor_waits_for_gaps_and_skips_abandoned_ones() {
        let start = Instant::now();
        let mut reader = reader_at(10);
        see(&mut reader, &[11, 12, 14, 15], start);
        assert_eq!(reader.floor, 12, "13 is missing: the floor stops below it");
        // 13 commits late: it fills the gap.
        see(&mut reader, &[13], start + Duration::from_secs(1));
        assert_eq!(reader.floor, 15);
        assert!(reader.seen.is_empty() && reader.missing.is_empty());
        // 16 rolled back and never appears: after the timeout the floor moves past it.
        see(&mut reader, &[17], start + Duration::from_secs(2));
        assert_eq!(reader.floor, 15);
        reader.advance(start + Duration::from_secs(2) + Duration::from_secs(30));
        assert_eq!(reader.floor, 17);
        assert!(reader.skipped.contains_key(&16), "16 is looked for again");
    }

    #[test]
    fn each_gap_has_its_own_timer() {
        let start = Instant::now();
        let mut reader = reader_at(0);
        // 2 is missing from the start.
        see(&mut reader, &[1, 3], start);
        assert_eq!(reader.floor, 1);
        // 29 s later 2 fills, and a new gap opens at 5.
        see(&mut reader, &[2, 4, 6], start + Duration::from_secs(29));
        assert_eq!(reader.floor, 4);
        // One second after that, 5 has waited 1 s, not 30: the floor waits.
        reader.advance(start + Duration::from_secs(30));
        assert_eq!(
            reader.floor, 4,
            "a new gap is not skipped on an old gap's timer"
        );
        reader.advance(start + Duration::from_secs(59));
        assert_eq!(reader.floor, 6);
    }

    #[test]
    fn skipped_ids_are_grouped_into_runs() {
        assert_eq!(
            runs([3, 4, 5, 9, 11, 12].into_iter()),
            vec![(3, 5), (9, 9), (11, 12)]
        );
    }
}
