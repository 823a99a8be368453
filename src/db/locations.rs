//! Location queries.

use diesel::prelude::*;

use super::models::{LocationRow, NewLocation};
use super::schema::{locations, provider_locations, providers};
use super::DbConnection;
use super::{DbError, DbResult};
use crate::domain::VettingStatus;

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = locations)]
pub struct LocationChanges {
    pub name: Option<Option<String>>,
    pub address_line1: Option<String>,
    pub address_line2: Option<Option<String>>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub timezone: Option<String>,
    pub opening_hours: Option<String>,
    pub phone: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub geocode_precision: Option<String>,
}

pub fn find(connection: &mut DbConnection, id: i64) -> DbResult<Option<LocationRow>> {
    Ok(locations::table
        .find(id)
        .select(LocationRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn get(connection: &mut DbConnection, id: i64) -> DbResult<LocationRow> {
    find(connection, id)?.ok_or_else(|| DbError::not_found("location", id))
}

pub fn list(
    connection: &mut DbConnection,
    clinic_id: Option<i64>,
    after_id: i64,
    limit: i64,
) -> DbResult<Vec<LocationRow>> {
    let mut query = locations::table
        .filter(locations::id.gt(after_id))
        .into_boxed();
    if let Some(clinic_id) = clinic_id {
        query = query.filter(locations::clinic_id.eq(clinic_id));
    }
    Ok(query
        .order(locations::id)
        .limit(limit)
        .select(LocationRow::as_select())
        .load(connection)?)
}

pub fn insert(connection: &mut DbConnection, location: &NewLocation) -> DbResult<LocationRow> {
    Ok(diesel::insert_into(locations::table)
        .values(location)
        .returning(locations::all_columns)
        .get_result(connection)?)
}

/// Applies `changes` if the location is still at `version`, bumping the version; `None` when it
/// is not (another write came first).
pub fn update(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    changes: &LocationChanges,
) -> DbResult<Option<LocationRow>> {
    Ok(diesel::update(
        locations::table
            .find(id)
            .filter(locations::version.eq(version)),
    )
    .set((
        changes,
        locations::updated_at.eq(super::now()),
        locations::version.eq(version + 1),
    ))
    .returning(locations::all_columns)
    .get_result::<LocationRow>(connection)
    .optional()?)
}

/// Deletes the location if it is still at `version`; false when it is not (or is gone).
pub fn delete(connection: &mut DbConnection, id: i64, version: i64) -> DbResult<bool> {
    let deleted = diesel::delete(
        locations::table
            .find(id)
            .filter(locations::version.eq(version)),
    )
    .execute(connection)?;
    Ok(deleted == 1)
}

/// Providers linked to a location; `public_only` keeps the verified ones.
pub fn provider_ids(
    connection: &mut DbConnection,
    location_id: i64,
    public_only: bool,
) -> DbResult<Vec<i64>> {
    let mut query = provider_locations::table
        .inner_join(providers::table)
        .filter(provider_locations::location_id.eq(location_id))
        .select(provider_locations::provider_id)
        .order(provider_locations::provider_id)
        .into_boxed();
    if public_only {
        query = query.filter(providers::vetting_status.eq(VettingStatus::Verified.as_str()));
    }
    Ok(query.load(connection)?)
}

pub fn find_by_external_id(
    connection: &mut DbConnection,
    external_id: &str,
) -> DbResult<Option<LocationRow>> {
    Ok(locations::table
        .filter(locations::external_id.eq(external_id))
        .select(LocationRow::as_select())
        .first(connection)
        .optional()?)
}
