//! Exclusion lists (`exclusion_sources`, `exclusions`) and screening matches
//! (`screening_matches`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::models::{ExclusionRow, ExclusionSourceRow, NewScreeningMatch, ScreeningMatchRow};
use super::schema::{exclusion_sources, exclusions, screening_matches};
use super::{DbConnection, DbError, DbResult};

pub fn source(connection: &mut DbConnection, source: &str) -> DbResult<Option<ExclusionSourceRow>> {
    Ok(exclusion_sources::table
        .filter(exclusion_sources::source.eq(source))
        .select(ExclusionSourceRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn sources(connection: &mut DbConnection) -> DbResult<Vec<ExclusionSourceRow>> {
    Ok(exclusion_sources::table
        .order(exclusion_sources::source)
        .select(ExclusionSourceRow::as_select())
        .load(connection)?)
}

/// Records a load of `source` (its date and size); its id.
pub fn record_load(
    connection: &mut DbConnection,
    source: &str,
    as_of: NaiveDate,
    row_count: i32,
    now: NaiveDateTime,
) -> DbResult<i64> {
    let updated: Option<i64> =
        diesel::update(exclusion_sources::table.filter(exclusion_sources::source.eq(source)))
            .set((
                exclusion_sources::as_of.eq(as_of),
                exclusion_sources::imported_at.eq(now),
                exclusion_sources::row_count.eq(row_count),
            ))
            .returning(exclusion_sources::id)
            .get_result(connection)
            .optional()?;
    match updated {
        Some(id) => Ok(id),
        None => Ok(diesel::insert_into(exclusion_sources::table)
            .values((
                exclusion_sources::source.eq(source),
                exclusion_sources::as_of.eq(as_of),
                exclusion_sources::imported_at.eq(now),
                exclusion_sources::row_count.eq(row_count),
            ))
            .returning(exclusion_sources::id)
            .get_result(connection)?),
    }
}

/// Every provider has been screened against the list as of `as_of`.
pub fn set_screened(connection: &mut DbConnection, id: i64, as_of: NaiveDate) -> DbResult<()> {
    diesel::update(exclusion_sources::table.find(id))
        .set(exclusion_sources::screened_as_of.eq(as_of))
        .execute(connection)?;
    Ok(())
}

/// Removes every row of a source (a full file replaces them).
pub fn delete_rows(connection: &mut DbConnection, source: &str) -> DbResult<usize> {
    Ok(
        diesel::delete(exclusions::table.filter(exclusions::source.eq(source)))
            .execute(connection)?,
    )
}

pub fn insert_rows(connection: &mut DbConnection, rows: &[ExclusionRow]) -> DbResult<()> {
    // 20 columns × 200 rows stays under both backends' bind limits.
    for chunk in rows.chunks(200) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            exclusions::table
        )
        .values(chunk)
        .execute(connection))?;
    }
    Ok(())
}

pub fn find_by_key(
    connection: &mut DbConnection,
    source: &str,
    row_key: &str,
) -> DbResult<Option<ExclusionRow>> {
    Ok(exclusions::table
        .filter(exclusions::source.eq(source))
        .filter(exclusions::row_key.eq(row_key))
        .select(ExclusionRow::as_select())
        .first(connection)
        .optional()?)
}

/// A supplement's row for one already held: its reinstatement and waiver change.
pub fn update_row(connection: &mut DbConnection, id: i64, row: &ExclusionRow) -> DbResult<()> {
    diesel::update(exclusions::table.find(id))
        .set((
            exclusions::reinstated_on.eq(row.reinstated_on),
            exclusions::waiver_on.eq(row.waiver_on),
            exclusions::waiver_state.eq(&row.waiver_state),
        ))
        .execute(connection)?;
    Ok(())
}

pub fn count(connection: &mut DbConnection, source: &str) -> DbResult<i64> {
    Ok(exclusions::table
        .filter(exclusions::source.eq(source))
        .count()
        .get_result(connection)?)
}

pub fn by_npi(connection: &mut DbConnection, npi: &str) -> DbResult<Vec<ExclusionRow>> {
    Ok(exclusions::table
        .filter(exclusions::npi.eq(npi))
        .order(exclusions::id)
        .select(ExclusionRow::as_select())
        .load(connection)?)
}

pub fn by_name_key(connection: &mut DbConnection, name_key: &str) -> DbResult<Vec<ExclusionRow>> {
    Ok(exclusions::table
        .filter(exclusions::name_key.eq(name_key))
        .order(exclusions::id)
        .select(ExclusionRow::as_select())
        .load(connection)?)
}

pub fn find_match(
    connection: &mut DbConnection,
    provider_id: i64,
    source: &str,
    row_key: &str,
) -> DbResult<Option<ScreeningMatchRow>> {
    Ok(screening_matches::table
        .filter(screening_matches::provider_id.eq(provider_id))
        .filter(screening_matches::source.eq(source))
        .filter(screening_matches::row_key.eq(row_key))
        .select(ScreeningMatchRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn insert_match(
    connection: &mut DbConnection,
    new: &NewScreeningMatch,
) -> DbResult<ScreeningMatchRow> {
    Ok(diesel::insert_into(screening_matches::table)
        .values(new)
        .returning(screening_matches::all_columns)
        .get_result(connection)?)
}

pub fn get_match(connection: &mut DbConnection, id: i64) -> DbResult<ScreeningMatchRow> {
    screening_matches::table
        .find(id)
        .select(ScreeningMatchRow::as_select())
        .first(connection)
        .optional()?
        .ok_or_else(|| DbError::not_found("screening match", id))
}

/// Open matches by id after `after`, the stronger rules first when `rules` says so.
pub fn open_matches(
    connection: &mut DbConnection,
    rules: &[&str],
    after: i64,
    limit: i64,
) -> DbResult<Vec<ScreeningMatchRow>> {
    let mut query = screening_matches::table
        .filter(screening_matches::status.eq("open"))
        .filter(screening_matches::id.gt(after))
        .into_boxed();
    if !rules.is_empty() {
        query = query.filter(screening_matches::rule.eq_any(rules.to_vec()));
    }
    Ok(query
        .order(screening_matches::id)
        .limit(limit)
        .select(ScreeningMatchRow::as_select())
        .load(connection)?)
}

/// The most matches read for one provider (the newest): far above what one provider gathers (one
/// per list row that names them), and a bound on the answer that shows them.
pub const MAX_MATCHES_PER_PROVIDER: i64 = 1000;

/// A provider's matches, oldest first: the newest `limit` of them.
pub fn matches_of(
    connection: &mut DbConnection,
    provider_id: i64,
    limit: i64,
) -> DbResult<Vec<ScreeningMatchRow>> {
    let mut rows = screening_matches::table
        .filter(screening_matches::provider_id.eq(provider_id))
        .order(screening_matches::id.desc())
        .limit(limit)
        .select(ScreeningMatchRow::as_select())
        .load(connection)?;
    rows.reverse();
    Ok(rows)
}

/// Resolves an open match at `version`; `None` when it is no longer open at that version.
pub fn resolve_match(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    status: &str,
    by_key_id: Option<i64>,
    reason: &str,
    now: NaiveDateTime,
) -> DbResult<Option<ScreeningMatchRow>> {
    Ok(diesel::update(
        screening_matches::table
            .find(id)
            .filter(screening_matches::version.eq(version))
            .filter(screening_matches::status.eq("open")),
    )
    .set((
        screening_matches::status.eq(status),
        screening_matches::resolved_at.eq(now),
        screening_matches::resolved_by_key_id.eq(by_key_id),
        screening_matches::resolution_reason.eq(reason),
        screening_matches::version.eq(version + 1),
    ))
    .returning(screening_matches::all_columns)
    .get_result(connection)
    .optional()?)
}

/// Provider ids after `after`, a page at a time (the screening run's walk).
pub fn provider_ids(connection: &mut DbConnection, after: i64, limit: i64) -> DbResult<Vec<i64>> {
    use super::schema::providers;
    Ok(providers::table
        .filter(providers::id.gt(after))
        .order(providers::id)
        .limit(limit)
        .select(providers::id)
        .load(connection)?)
}
