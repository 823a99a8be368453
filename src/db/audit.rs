//! The audit trail: one row per write made with a key, in the same transaction as the write.

use diesel::prelude::*;
use serde::Serialize;

use super::models::{AuditRow, NewAuditEntry};
use super::schema::audit_log;
use super::DbConnection;
use super::DbResult;

/// Who made a write, as the audit row records it.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub key_id: Option<i64>,
    pub role: String,
    pub request_id: Option<String>,
}

/// Appends one audit row. `before`/`after` are the resource's admin view (None when absent).
#[allow(clippy::too_many_arguments)]
pub fn record<B: Serialize, A: Serialize>(
    connection: &mut DbConnection,
    actor: impl Into<AuditActor>,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
    before: Option<&B>,
    after: Option<&A>,
    reason: Option<&str>,
) -> DbResult<()> {
    let actor = actor.into();
    diesel::insert_into(audit_log::table)
        .values(NewAuditEntry {
            occurred_at: super::now(),
            actor_key_id: actor.key_id,
            actor_role: actor.role,
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_string(),
            before_json: to_json(before),
            after_json: to_json(after),
            reason: reason.map(str::to_owned),
            request_id: actor.request_id,
        })
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
    if let Some(before_id) = before_id {
        query = query.filter(audit_log::id.lt(before_id));
    }
    Ok(query
        .order(audit_log::id.desc())
        .limit(limit)
        .load(connection)?)
}

fn to_json<T: Serialize>(value: Option<&T>) -> Option<String> {
    value.map(|v| serde_json::to_string(v).unwrap_or_default())
}
