//! Secrets the service keeps for itself (`service_secrets`), shared by every replica.

use diesel::prelude::*;

use super::schema::service_secrets;
use super::{DbConnection, DbResult};

pub fn find(connection: &mut DbConnection, name: &str) -> DbResult<Option<String>> {
    Ok(service_secrets::table
        .find(name)
        .select(service_secrets::value)
        .first(connection)
        .optional()?)
}

/// Stores `value` under `name` unless a value is there already (another replica's, stored
/// first); the stored value is what counts.
pub fn insert_if_absent(connection: &mut DbConnection, name: &str, value: &str) -> DbResult<()> {
    let row = (
        service_secrets::name.eq(name),
        service_secrets::value.eq(value),
        service_secrets::created_at.eq(super::now()),
    );
    crate::with_backend!(connection, |connection| diesel::insert_into(
        service_secrets::table
    )
    .values(&row)
    .on_conflict_do_nothing()
    .execute(connection))?;
    Ok(())
}
