//! Credential queries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::models::{CredentialRow, NewCredential};
use super::schema::credentials;
use super::{DbConnection, DbError, DbResult};

/// What an edit changes; applying it also clears the verification (see [`update`]).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = credentials)]
pub struct CredentialChanges {
    pub issuer: Option<String>,
    pub identifier: Option<Option<String>>,
    pub jurisdiction: Option<Option<String>>,
    pub specialty_code: Option<Option<String>>,
    pub issued_on: Option<Option<NaiveDate>>,
    pub expires_on: Option<Option<NaiveDate>>,
}

/// The outcome of a primary-source check, as stored.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = credentials, treat_none_as_null = true)]
pub struct Verification {
    pub verification_status: String,
    pub verified_at: Option<NaiveDateTime>,
    pub verified_by_key_id: Option<i64>,
    pub verification_source_type: Option<String>,
    pub verification_reference: Option<String>,
    pub next_due_on: Option<NaiveDate>,
}

/// Back to unverified, as an edit leaves a credential: the check no longer covers what is
/// recorded. The source and reference of the last check stay, for the reviewer who checks again.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = credentials, treat_none_as_null = true)]
struct Unverified {
    verification_status: &'static str,
    verified_at: Option<NaiveDateTime>,
    verified_by_key_id: Option<i64>,
    next_due_on: Option<NaiveDate>,
}

const UNVERIFIED: Unverified = Unverified {
    verification_status: "unverified",
    verified_at: None,
    verified_by_key_id: None,
    next_due_on: None,
};

pub fn find(connection: &mut DbConnection, id: i64) -> DbResult<Option<CredentialRow>> {
    Ok(credentials::table
        .find(id)
        .select(CredentialRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn get(connection: &mut DbConnection, id: i64) -> DbResult<CredentialRow> {
    find(connection, id)?.ok_or_else(|| DbError::not_found("credential", id))
}

pub fn insert(
    connection: &mut DbConnection,
    credential: &NewCredential,
) -> DbResult<CredentialRow> {
    Ok(diesel::insert_into(credentials::table)
        .values(credential)
        .returning(credentials::all_columns)
        .get_result(connection)?)
}

/// Applies `changes` if the credential is still at `version`, bumping the version and returning
/// it to unverified; `None` when it is not at that version.
pub fn update(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    changes: &CredentialChanges,
) -> DbResult<Option<CredentialRow>> {
    Ok(diesel::update(
        credentials::table
            .find(id)
            .filter(credentials::version.eq(version)),
    )
    .set((
        changes,
        UNVERIFIED,
        credentials::updated_at.eq(super::now()),
        credentials::version.eq(version + 1),
    ))
    .returning(credentials::all_columns)
    .get_result::<CredentialRow>(connection)
    .optional()?)
}

/// Records a verification outcome if the credential is still at `version`; `None` when it is
/// not.
pub fn set_verification(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    verification: &Verification,
) -> DbResult<Option<CredentialRow>> {
    Ok(diesel::update(
        credentials::table
            .find(id)
            .filter(credentials::version.eq(version)),
    )
    .set((
        verification,
        credentials::updated_at.eq(super::now()),
        credentials::version.eq(version + 1),
    ))
    .returning(credentials::all_columns)
    .get_result::<CredentialRow>(connection)
    .optional()?)
}

/// Deletes the credential if it is still at `version`; false when it is not.
pub fn delete(connection: &mut DbConnection, id: i64, version: i64) -> DbResult<bool> {
    let deleted = diesel::delete(
        credentials::table
            .find(id)
            .filter(credentials::version.eq(version)),
    )
    .execute(connection)?;
    Ok(deleted == 1)
}

/// The credential a provider holds from `issuer` of `kind` with `identifier` (the importer's
/// key for a credential).
pub fn find_same(
    connection: &mut DbConnection,
    provider_id: i64,
    kind: &str,
    issuer: &str,
    identifier: Option<&str>,
) -> DbResult<Option<CredentialRow>> {
    let mut query = credentials::table
        .filter(credentials::provider_id.eq(provider_id))
        .filter(credentials::kind.eq(kind))
        .filter(credentials::issuer.eq(issuer))
        .into_boxed();
    query = match identifier {
        Some(identifier) => query.filter(credentials::identifier.eq(identifier.to_owned())),
        None => query.filter(credentials::identifier.is_null()),
    };
    Ok(query
        .select(CredentialRow::as_select())
        .first(connection)
        .optional()?)
}

/// Verified credentials due by `until` (expiring, or due for re-verification), by id after
/// `after`. With `not_expired_on`, only those not yet expired that day; without it, only those
/// already expired before `until`.
pub fn due(
    connection: &mut DbConnection,
    not_expired_on: Option<NaiveDate>,
    until: NaiveDate,
    after: i64,
    limit: i64,
) -> DbResult<Vec<CredentialRow>> {
    let due = credentials::expires_on
        .le(until)
        .or(credentials::next_due_on.le(until));
    let mut query = credentials::table
        .filter(credentials::verification_status.eq("verified"))
        .filter(due)
        .filter(credentials::id.gt(after))
        .into_boxed();
    query = match not_expired_on {
        Some(day) => query.filter(
            credentials::expires_on
                .is_null()
                .or(credentials::expires_on.ge(day)),
        ),
        None => query.filter(credentials::expires_on.lt(until)),
    };
    Ok(query
        .order(credentials::id)
        .limit(limit)
        .select(CredentialRow::as_select())
        .load(connection)?)
}

/// A verified licence's provider, expiry and re-verification date.
pub type LicenceDates = (i64, Option<NaiveDate>, Option<NaiveDate>);

/// The verified state licences these providers hold for `state`, for judging which of them
/// count on a given day.
pub fn verified_licences_in_state(
    connection: &mut DbConnection,
    provider_ids: &[i64],
    state: &str,
) -> DbResult<Vec<LicenceDates>> {
    Ok(credentials::table
        .filter(credentials::provider_id.eq_any(provider_ids))
        .filter(credentials::kind.eq("state_license"))
        .filter(credentials::verification_status.eq("verified"))
        .filter(credentials::jurisdiction.eq(state))
        .select((
            credentials::provider_id,
            credentials::expires_on,
            credentials::next_due_on,
        ))
        .load(connection)?)
}
