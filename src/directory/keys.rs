//! API keys: created by admins (or the operator at the command line, or start-up for the
//! bootstrap key) and revoked by admins. Only a key's SHA-256 hash is stored; the secret is
//! shown once, to whoever created it.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::audit::KEY_ADMINS;
use super::{write, Change, DirectoryError, DirectoryResult, Principal};
use super::{AuditAction, AuditEvent, Written};
use crate::db::change_log::Affected;
use crate::db::models::ApiKeyRow;
use crate::db::{self, DbConnection};
use crate::domain::schemas::{Id, Timestamp};
use crate::domain::{Checks, Role};

/// An API key's public facts (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 2, "name": "Reviewer: J. Alvarez", "role": "reviewer", "prefix": "cf_BwgJCgsM", "created_at": "2026-11-01T09:00:00Z", "last_used_at": "2026-11-20T14:03:00Z", "expires_at": "2027-11-01T09:00:00Z"}))]
pub struct ApiKeyView {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    pub role: Role,
    /// The first characters of the key, to recognise it.
    #[schema(min_length = 1, max_length = 11, pattern = "^[^\\x00]*$")]
    pub prefix: String,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub created_at: NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<Timestamp>, inline)]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<Timestamp>, inline)]
    pub expires_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<Timestamp>, inline)]
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(row: ApiKeyRow) -> ApiKeyView {
        ApiKeyView {
            id: row.id,
            name: row.name,
            role: Role::parse(&row.role).unwrap_or(Role::Partner),
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A new key: the secret is in this response and nowhere else.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 2, "name": "Reviewer: J. Alvarez", "role": "reviewer", "prefix": "cf_BwgJCgsM", "created_at": "2026-11-01T09:00:00Z", "expires_at": "2027-11-01T09:00:00Z", "secret": "cf_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY"}))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key itself: shown once, stored only as a hash.
    #[schema(min_length = 46, max_length = 46, pattern = "^cf_[A-Za-z0-9_-]{43}$")]
    pub secret: String,
}

/// A key to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Reviewer: J. Alvarez", "role": "reviewer", "expires_in_days": 365}))]
pub struct NewApiKeyInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// Days until the key expires, 1–3650; absent: it does not expire.
    #[validate(range(min = 1, max = 3650))]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

/// The name the bootstrap key is registered under.
pub const BOOTSTRAP_NAME: &str = "bootstrap";

/// Creates a key with a fresh random secret; the secret is in the result and nowhere else.
pub fn create(
    connection: &mut DbConnection,
    by: &Principal,
    input: NewApiKeyInput,
) -> DirectoryResult<Written<CreatedApiKey>> {
    by.require(KEY_ADMINS)?;
    let mut checks = Checks::of(&input);
    let role = checks.enum_value("/role", &input.role, Role::parse, Role::expected());
    let role = checks.finish_with(role)?;
    let expires_at = input
        .expires_in_days
        .map(|days| by.now.naive_utc() + Duration::days(days));
    let secret = db::keys::generate_secret();
    let written = insert(connection, by, &input.name, role, &secret, expires_at, None)?;
    Ok(Written {
        view: CreatedApiKey {
            key: written.view,
            secret,
        },
        affected: written.affected,
    })
}

fn insert(
    connection: &mut DbConnection,
    by: &Principal,
    name: &str,
    role: Role,
    secret: &str,
    expires_at: Option<NaiveDateTime>,
    reason: Option<&str>,
) -> DirectoryResult<Written<ApiKeyView>> {
    write(connection, by, |c| {
        let view = ApiKeyView::from(db::keys::insert(c, name, role, secret, expires_at)?);
        let mut event = AuditEvent::of(AuditAction::ApiKeyCreate, view.id).after(&view);
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        Ok(Change::new(view, event, Affected::default()))
    })
}

/// Revokes a key at once. Revoking a revoked key changes nothing.
pub fn revoke(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
) -> DirectoryResult<Written<ApiKeyView>> {
    revoke_because(connection, by, id, None)
}

fn revoke_because(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    reason: Option<&str>,
) -> DirectoryResult<Written<ApiKeyView>> {
    by.require(KEY_ADMINS)?;
    let now = by.now.naive_utc();
    write(connection, by, |c| {
        let before =
            db::keys::find(c, id)?.ok_or_else(|| DirectoryError::not_found("api key", id))?;
        let Some(after) = db::keys::revoke(c, id, now)? else {
            return Ok(Change::unchanged(ApiKeyView::from(before)));
        };
        let (before, after) = (ApiKeyView::from(before), ApiKeyView::from(after));
        let mut event = AuditEvent::of(AuditAction::ApiKeyRevoke, id)
            .before(&before)
            .after(&after);
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        Ok(Change::new(after, event, Affected::default()))
    })
}

/// Registers the bootstrap admin key from the configuration (by the `system` principal): a new
/// secret is created, then the earlier bootstrap keys are revoked, so that changing the setting
/// retires the old secret. The same secret again changes nothing.
pub fn register_bootstrap(
    connection: &mut DbConnection,
    by: &Principal,
    secret: &str,
) -> DirectoryResult<()> {
    by.require(KEY_ADMINS)?;
    if db::keys::find_by_secret(connection, secret)?.is_some() {
        return Ok(());
    }
    let key = insert(
        connection,
        by,
        BOOTSTRAP_NAME,
        Role::Admin,
        secret,
        None,
        Some("bootstrap key from the configuration (CLINIC_FINDER_ADMIN_KEY)"),
    )?;
    for earlier in db::keys::active_named(connection, BOOTSTRAP_NAME)? {
        if earlier.id != key.view.id {
            revoke_because(
                connection,
                by,
                earlier.id,
                Some("replaced by a new bootstrap key in the configuration"),
            )?;
        }
    }
    Ok(())
}

/// Notes that a key was used (at most once a minute per key, so reads do not turn into writes).
/// Usage is bookkeeping, not directory data: it is neither audited nor in the change log.
pub fn record_use(
    connection: &mut DbConnection,
    id: i64,
    at: NaiveDateTime,
) -> DirectoryResult<()> {
    Ok(db::keys::touch(connection, id, at)?)
}
