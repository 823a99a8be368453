//! API keys: stored as SHA-256 hashes. Keys are 32 random bytes, so a fast hash is enough
//! (there is nothing to brute-force that a slow hash would protect).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::models::{ApiKeyRow, NewApiKey};
use super::schema::api_keys;
use super::DbConnection;
use super::DbResult;
use crate::domain::Role;

pub const KEY_PREFIX_LEN: usize = 11;

pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random key: `cf_` and 32 random bytes in unpadded base64url (46 characters).
pub fn generate_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "cf_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn visible_prefix(secret: &str) -> String {
    secret.chars().take(KEY_PREFIX_LEN).collect()
}

pub fn insert(
    connection: &mut DbConnection,
    name: &str,
    role: Role,
    secret: &str,
    expires_at: Option<NaiveDateTime>,
    bootstrap: bool,
) -> DbResult<ApiKeyRow> {
    let row = diesel::insert_into(api_keys::table)
        .values(NewApiKey {
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            prefix: visible_prefix(secret),
            key_hash: hash_key(secret),
            created_at: super::now(),
            expires_at,
            bootstrap,
        })
        .returning(api_keys::all_columns)
        .get_result(connection)?;
    Ok(row)
}

pub fn find_by_secret(connection: &mut DbConnection, secret: &str) -> DbResult<Option<ApiKeyRow>> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(hash_key(secret)))
        .select(ApiKeyRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn find(connection: &mut DbConnection, id: i64) -> DbResult<Option<ApiKeyRow>> {
    Ok(api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn list(connection: &mut DbConnection, after_id: i64, limit: i64) -> DbResult<Vec<ApiKeyRow>> {
    Ok(api_keys::table
        .filter(api_keys::id.gt(after_id))
        .order(api_keys::id)
        .limit(limit)
        .select(ApiKeyRow::as_select())
        .load(connection)?)
}

pub fn revoke(
    connection: &mut DbConnection,
    id: i64,
    at: NaiveDateTime,
) -> DbResult<Option<ApiKeyRow>> {
    Ok(diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(at))
    .returning(api_keys::all_columns)
    .get_result(connection)
    .optional()?)
}

/// Records use at most once a minute per key, so reads do not turn into writes.
pub fn touch(connection: &mut DbConnection, id: i64, at: NaiveDateTime) -> DbResult<()> {
    let stale = at - chrono::Duration::seconds(60);
    diesel::update(
        api_keys::table.find(id).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(stale)),
        ),
    )
    .set(api_keys::last_used_at.eq(at))
    .execute(connection)?;
    Ok(())
}

/// The bootstrap keys that are not revoked.
pub fn active_bootstrap(connection: &mut DbConnection) -> DbResult<Vec<ApiKeyRow>> {
    Ok(api_keys::table
        .filter(api_keys::bootstrap.eq(true))
        .filter(api_keys::revoked_at.is_null())
        .order(api_keys::id)
        .select(ApiKeyRow::as_select())
        .load(connection)?)
}

/// Serialises the registration of bootstrap keys until the transaction ends: replicas starting
/// together would otherwise all insert the same key. SQLite's write transactions already run one
/// at a time; PostgreSQL takes a transaction-scoped advisory lock.
pub fn lock_registration(connection: &mut DbConnection) -> DbResult<()> {
    if let DbConnection::Postgres(pg) = connection {
        // An arbitrary constant naming this lock: "cf-boot" in ASCII.
        diesel::sql_query("SELECT pg_advisory_xact_lock(27978367805386612)").execute(pg)?;
    }
    Ok(())
}
