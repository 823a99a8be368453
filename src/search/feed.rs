//! The change feed between API processes. Every write appends the entities it touched to
//! `change_log` in its own transaction; every process polls the table and reloads those entities
//! into its in-memory index. A write made through one replica is therefore in every replica's
//! search within one poll interval (plus the reload), and a process that missed a notification
//! (a crash between commit and refresh) catches up on its next poll.
//!
//! Ids come from a sequence at insert time, not at commit: on PostgreSQL a transaction holding
//! id 10 can commit after one holding id 11. The reader therefore keeps a floor below which it
//! has seen every id, remembers the ids it has seen above it, and waits for gaps to fill; a gap
//! left by a rolled-back transaction is skipped after [`GAP_TIMEOUT`].

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::index::{Affected, SearchIndex};
use super::SearchResult;
use crate::db::schema::change_log;
use crate::db::DbConnection;

/// How long a gap in the ids may stay open before the reader gives up waiting for it.
pub const GAP_TIMEOUT: Duration = Duration::from_secs(30);
const PAGE: i64 = 1000;

/// One process's position in the feed.
#[derive(Debug)]
pub struct FeedReader {
    /// Every id at or below this has been applied.
    floor: i64,
    /// Ids above the floor that have been applied.
    seen: BTreeSet<i64>,
    /// Since when the id just above the floor has been missing.
    gap_since: Option<Instant>,
}

impl FeedReader {
    pub fn starting_after(floor: i64) -> FeedReader {
        FeedReader {
            floor,
            seen: BTreeSet::new(),
            gap_since: None,
        }
    }

    /// Applies the changes not yet seen; returns how many entities were reloaded.
    pub fn poll(
        &mut self,
        connection: &mut DbConnection,
        index: &SearchIndex,
    ) -> SearchResult<usize> {
        let mut affected = Affected::default();
        let mut after = self.floor;
        let mut new_ids = Vec::new();
        loop {
            let rows: Vec<(i64, String, i64)> = change_log::table
                .filter(change_log::id.gt(after))
                .order(change_log::id)
                .limit(PAGE)
                .select((change_log::id, change_log::entity, change_log::entity_id))
                .load(connection)?;
            for (id, entity, entity_id) in &rows {
                if self.seen.contains(id) {
                    continue;
                }
                new_ids.push(*id);
                let list = match entity.as_str() {
                    "clinic" => &mut affected.clinics,
                    "location" => &mut affected.locations,
                    "exclusion_source" => &mut affected.exclusion_sources,
                    _ => &mut affected.providers,
                };
                if !list.contains(entity_id) {
                    list.push(*entity_id);
                }
            }
            match rows.last() {
                Some((last, _, _)) if rows.len() as i64 == PAGE => after = *last,
                _ => break,
            }
        }
        let reloaded = affected.clinics.len()
            + affected.locations.len()
            + affected.providers.len()
            + affected.exclusion_sources.len();
        if reloaded > 0 {
            index.refresh_with(connection, &affected)?;
        }
        self.seen.extend(new_ids);
        self.advance(Instant::now());
        Ok(reloaded)
    }

    fn advance(&mut self, now: Instant) {
        loop {
            while self.seen.remove(&(self.floor + 1)) {
                self.floor += 1;
            }
            let Some(&next) = self.seen.first() else {
                self.gap_since = None;
                return;
            };
            // A gap below `next`: wait for it to fill, or skip it once it has been open too long.
            match self.gap_since {
                None => {
                    self.gap_since = Some(now);
                    return;
                }
                Some(since) if now.duration_since(since) >= GAP_TIMEOUT => {
                    self.floor = next - 1;
                    self.gap_since = None;
                }
                Some(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_waits_for_gaps_and_skips_abandoned_ones() {
        let start = Instant::now();
        let mut reader = FeedReader::starting_after(10);
        reader.seen.extend([11, 12, 14, 15]);
        reader.advance(start);
        assert_eq!(reader.floor, 12, "13 is missing: the floor stops below it");
        assert_eq!(
            reader.seen.iter().copied().collect::<Vec<_>>(),
            vec![14, 15]
        );
        // 13 commits late: it fills the gap.
        reader.seen.insert(13);
        reader.advance(start + Duration::from_secs(1));
        assert_eq!(reader.floor, 15);
        assert!(reader.seen.is_empty() && reader.gap_since.is_none());
        // 16 rolled back and never appears: after the timeout the floor moves past it.
        reader.seen.insert(17);
        reader.advance(start + Duration::from_secs(2));
        assert_eq!(reader.floor, 15);
        reader.advance(start + Duration::from_secs(2) + GAP_TIMEOUT);
        assert_eq!(reader.floor, 17);
    }
}
