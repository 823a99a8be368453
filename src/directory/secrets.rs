//! Secrets the service makes for itself when none is configured, kept in the database so that
//! every replica uses the same one: today the key that signs search cursors. Like a key's
//! `last_used_at`, this is service bookkeeping, not directory data: it is neither audited nor in
//! the change log (and its value must never appear in an audit row).

use rand::RngCore;

use super::{write, Change, DirectoryResult, Principal};
use crate::db::{self, DbConnection};

const CURSOR_KEY: &str = "cursor_key";

/// The secret search cursors are signed with: the stored one, or a new random one stored now
/// (the first replica to store it wins; the others read it back).
pub fn cursor_key(connection: &mut DbConnection, by: &Principal) -> DirectoryResult<String> {
    if let Some(existing) = db::secrets::find(connection, CURSOR_KEY)? {
        return Ok(existing);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let fresh = hex::encode(bytes);
    let stored = write(connection, by, |c| {
        db::secrets::insert_if_absent(c, CURSOR_KEY, &fresh)?;
        Ok(Change::unchanged(db::secrets::find(c, CURSOR_KEY)?))
    })?;
    Ok(stored.view.unwrap_or(fresh))
}
