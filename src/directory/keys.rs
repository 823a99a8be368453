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

/// The name the bootstrap key is registered under (for people: the `bootstrap` flag marks it).
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
    let written = insert(
        connection,
        by,
        &input.name,
        role,
        &secret,
        expires_at,
        None,
        false,
    )?;
    Ok(Written {
        view: CreatedApiKey {
            key: written.view,
            secret,
        },
        affected: written.affected,
    })
}

#[allow(clippy::too_many_arguments)]
fn insert(
    connection: &mut DbConnection,
    by: &Principal,
    name: &str,
    role: Role,
    secret: &str,
    expires_at: Option<NaiveDateTime>,
    reason: Option<&str>,
    bootstrap: bool,
) -> DirectoryResult<Written<ApiKeyView>> {
    write(connection, by, |c| {
        if bootstrap {
            db::keys::lock_registration(c)?;
            if let Some(existing) = db::keys::find_by_secret(c, secret)? {
                // Another replica registered it first.
                return Ok(Change::unchanged(ApiKeyView::from(existing)));
            }
        }
        let view = ApiKeyView::from(db::keys::insert(
            c, name, role, secret, expires_at, bootstrap,
        )?);
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
/// secret is created with the `bootstrap` flag, then the earlier bootstrap keys are revoked, so
/// that changing the setting retires the old secret. The same secret again changes nothing, and
/// a revoked one stays revoked. Keys are told apart by that flag only: neither a key an admin
/// named "bootstrap" nor one sharing the secret's first characters is touched. Replicas starting
/// together are serialised on the insert (`db::keys::lock_registration`).
pub fn register_bootstrap(
    connection: &mut DbConnection,
    by: &Principal,
    secret: &str,
) -> DirectoryResult<()> {
    by.require(KEY_ADMINS)?;
    let key = match db::keys::find_by_secret(connection, secret)? {
        Some(existing) => existing.id,
        None => {
            insert(
                connection,
                by,
                BOOTSTRAP_NAME,
                Role::Admin,
                secret,
                None,
                Some("bootstrap key from the configuration (CLINIC_FINDER_ADMIN_KEY)"),
                true,
            )?
            .view
            .id
        }
    };
    for earlier in db::keys::active_bootstrap(connection)? {
        if earlier.id != key {
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

/// Key use not yet written: the last use of each key, at most one write a minute per key.
/// Requests only note it ([`KeyUsage::note`]); a background task writes it ([`KeyUsage::flush`]),
/// so a keyed read never waits for the database's write lock (on SQLite an import holds it for
/// seconds). Usage is bookkeeping, not directory data: it is neither audited nor in the change
/// log.
#[derive(Debug, Default)]
pub struct KeyUsage {
    pending: std::sync::Mutex<std::collections::HashMap<i64, NaiveDateTime>>,
    written: std::sync::Mutex<std::collections::HashMap<i64, NaiveDateTime>>,
}

impl KeyUsage {
    /// Notes that key `id` was used at `at`.
    pub fn note(&self, id: i64, at: NaiveDateTime) {
        let recent = self
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .is_some_and(|written| at - *written < Duration::seconds(60));
        if !recent {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, at);
        }
    }

    /// Whether any use waits to be written.
    pub fn is_empty(&self) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Writes the noted uses in one transaction; returns how many keys it touched. On failure
    /// they stay noted for the next try.
    pub fn flush(&self, connection: &mut DbConnection) -> DirectoryResult<usize> {
        let pending: Vec<(i64, NaiveDateTime)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let by = Principal::system(chrono::Utc::now());
        let outcome = write(connection, &by, |c| {
            for (id, at) in &pending {
                db::keys::touch(c, *id, *at)?;
            }
            Ok(Change::unchanged(()))
        });
        match outcome {
            Ok(_) => {
                let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
                if written.len() > 100_000 {
                    written.clear();
                }
                written.extend(pending.iter().copied());
                Ok(pending.len())
            }
            Err(error) => {
                let mut again = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                for (id, at) in pending {
                    again.entry(id).or_insert(at);
                }
                Err(error)
            }
        }
    }
}
