//! The audit trail's table: appending (for the directory's write path) and reading, filtered.

use diesel::prelude::*;

use super::models::{AuditRow, NewAuditEntry};
use super::schema::audit_log;
use super::DbConnection;
use super::DbResult;

/// Appends one audit row. Only the directory's write path calls it (`directory::write`), inside
/// the write's transaction: one row per write, with the write or not at all.
pub fn insert(connection: &mut DbConnection, entry: &NewAuditEntry) -> DbResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(connection)?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor_key_id: Option<i64>,
    pub action: Option<String>,
    pub since: Option<chrono::NaiveDateTime>,
    pub until: Option<chrono::NaiveDateTime>,
    /// Leave out the events of these target types (what the reader's role may not see).
    pub hidden_target_types: Vec<&'static str>,
}

/// Newest first; `before_id` pages backwards.
pub fn list(
    connection: &mut DbConnection,
    filter: &AuditFilter,
    before_id: Option<i64>,
    limit: i64,
) -> DbResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(target_type) = &filter.target_type {
        query = query.filter(audit_log::target_type.eq(target_type.clone()));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(audit_log::target_id.eq(target_id.clone()));
    }
    if let Some(actor) = filter.actor_key_id {
        query = query.filter(audit_log::actor_key_id.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_log::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::occurred_at.lt(until));
    }
    if !filter.hidden_target_types.is_empty() {
        query = query.filter(
            audit_log::target_type.ne_all(filter.hidden_target_types.iter().map(|t| t.to_string())),
        );
    }
    if let Some(before_id) = before_id {
        query = query.filter(audit_log::id.lt(before_id));
    }
    Ok(query
        .order(audit_log::id.desc())
        .limit(limit)
        .load(connection)?)
}
