//! The change log behind the change feed: every write appends the entities it touched, in its
//! own transaction; every API process polls the log and reloads those entities into its search
//! index (`search::feed::FeedReader`). This module is the writing side and the housekeeping.

use diesel::prelude::*;

use super::schema::change_log;
use super::{DbConnection, DbResult};

/// How long change rows are kept.
pub const RETENTION: chrono::Duration = chrono::Duration::days(1);

/// What a write touched; each process's search index reloads exactly these from the database.
#[derive(Debug, Default, Clone)]
pub struct Affected {
    pub clinics: Vec<i64>,
    pub locations: Vec<i64>,
    pub providers: Vec<i64>,
    /// Exclusion lists whose date or screening changed: every index reloads the screening facts
    /// search shows.
    pub exclusion_sources: Vec<i64>,
}

impl Affected {
    pub fn is_empty(&self) -> bool {
        self.clinics.is_empty()
            && self.locations.is_empty()
            && self.providers.is_empty()
            && self.exclusion_sources.is_empty()
    }

    pub fn clinic(id: i64) -> Affected {
        Affected {
            clinics: vec![id],
            ..Default::default()
        }
    }
    pub fn location(id: i64) -> Affected {
        Affected {
            locations: vec![id],
            ..Default::default()
        }
    }
    pub fn provider(id: i64) -> Affected {
        Affected {
            providers: vec![id],
            ..Default::default()
        }
    }
}

/// Appends one row per touched entity; called inside the write's transaction.
pub fn record(connection: &mut DbConnection, affected: &Affected) -> DbResult<()> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamp};
    let now = super::now();
    let entries: Vec<(&str, i64)> = affected
        .clinics
        .iter()
        .map(|id| ("clinic", *id))
        .chain(affected.locations.iter().map(|id| ("location", *id)))
        .chain(affected.providers.iter().map(|id| ("provider", *id)))
        .chain(
            affected
                .exclusion_sources
                .iter()
                .map(|id| ("exclusion_source", *id)),
        )
        .collect();
    // A bulk import touches thousands of entities per batch.
    super::bulk::write_chunks(
        connection,
        &entries,
        |pg, chunk| {
            let (entities, ids): (Vec<&str>, Vec<i64>) = chunk.iter().copied().unzip();
            diesel::sql_query(
                "INSERT INTO change_log (entity, entity_id, changed_at) \
                 SELECT entity, entity_id, $3 FROM unnest($1::text[], $2::int8[]) \
                 AS t (entity, entity_id)",
            )
            .bind::<Array<Text>, _>(entities)
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Timestamp, _>(now)
            .execute(pg)
        },
        |sqlite, chunk| {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&(entity, entity_id)| {
                    (
                        change_log::entity.eq(entity),
                        change_log::entity_id.eq(entity_id),
                        change_log::changed_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(change_log::table)
                .values(rows)
                .execute(sqlite)
        },
    )
    .map(drop)
}

/// The newest change id: a process reads it *before* building its index, then replays from it.
pub fn latest_id(connection: &mut DbConnection) -> DbResult<i64> {
    Ok(change_log::table
        .select(diesel::dsl::max(change_log::id))
        .first::<Option<i64>>(connection)?
        .unwrap_or(0))
}

/// Up to `limit` changes with ids in `from..=to`, in id order: (id, entity, entity id).
pub fn read_range(
    connection: &mut DbConnection,
    from: i64,
    to: i64,
    limit: i64,
) -> DbResult<Vec<(i64, String, i64)>> {
    Ok(change_log::table
        .filter(change_log::id.between(from, to))
        .order(change_log::id)
        .limit(limit)
        .select((change_log::id, change_log::entity, change_log::entity_id))
        .load(connection)?)
}

impl Affected {
    /// Adds a change-log row's entity (once).
    pub fn add(&mut self, entity: &str, id: i64) {
        let list = match entity {
            "clinic" => &mut self.clinics,
            "location" => &mut self.locations,
            "exclusion_source" => &mut self.exclusion_sources,
            _ => &mut self.providers,
        };
        if !list.contains(&id) {
            list.push(id);
        }
    }
}

/// Every entity changed after `after` (ids above it), as one set.
pub fn affected_after(connection: &mut DbConnection, after: i64) -> DbResult<Affected> {
    let mut affected = Affected::default();
    let mut from = after + 1;
    loop {
        let rows = read_range(connection, from, i64::MAX, 1000)?;
        for (_, entity, id) in &rows {
            affected.add(entity, *id);
        }
        match rows.last() {
            Some((last, _, _)) if rows.len() == 1000 => from = last + 1,
            _ => return Ok(affected),
        }
    }
}

pub fn prune(connection: &mut DbConnection) -> DbResult<usize> {
    let cutoff = super::now() - RETENTION;
    Ok(
        diesel::delete(change_log::table.filter(change_log::changed_at.lt(cutoff)))
            .execute(connection)?,
    )
}
