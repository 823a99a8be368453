//! Clinic queries.

use diesel::prelude::*;

use super::models::{ClinicRow, NewClinic};
use super::schema::{clinics, locations};
use super::DbConnection;
use super::{DbError, DbResult};

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = clinics)]
pub struct ClinicChanges {
    pub name: Option<String>,
    pub website: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
}

pub fn find(connection: &mut DbConnection, id: i64) -> DbResult<Option<ClinicRow>> {
    Ok(clinics::table
        .find(id)
        .select(ClinicRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn get(connection: &mut DbConnection, id: i64) -> DbResult<ClinicRow> {
    find(connection, id)?.ok_or_else(|| DbError::not_found("clinic", id))
}

pub fn list(connection: &mut DbConnection, after_id: i64, limit: i64) -> DbResult<Vec<ClinicRow>> {
    Ok(clinics::table
        .filter(clinics::id.gt(after_id))
        .order(clinics::id)
        .limit(limit)
        .select(ClinicRow::as_select())
        .load(connection)?)
}

pub fn insert(connection: &mut DbConnection, clinic: &NewClinic) -> DbResult<ClinicRow> {
    Ok(diesel::insert_into(clinics::table)
        .values(clinic)
        .returning(clinics::all_columns)
        .get_result(connection)?)
}

/// Applies `changes` when the clinic is at `expected_version`; bumps the version.
pub fn update(
    connection: &mut DbConnection,
    id: i64,
    expected_version: i64,
    changes: &ClinicChanges,
) -> DbResult<ClinicRow> {
    let current = get(connection, id)?;
    if current.version != expected_version {
        return Err(DbError::Stale {
            current_version: current.version,
        });
    }
    diesel::update(
        clinics::table
            .find(id)
            .filter(clinics::version.eq(current.version)),
    )
    .set((
        changes,
        clinics::updated_at.eq(super::now()),
        clinics::version.eq(current.version + 1),
    ))
    .returning(clinics::all_columns)
    .get_result::<ClinicRow>(connection)
    .optional()?
    // A concurrent writer moved the version between our read and our update.
    .ok_or_else(|| DbError::Stale {
        current_version: current.version + 1,
    })
}

pub fn delete(connection: &mut DbConnection, id: i64) -> DbResult<()> {
    diesel::delete(clinics::table.find(id)).execute(connection)?;
    Ok(())
}

pub fn location_ids(connection: &mut DbConnection, clinic_id: i64) -> DbResult<Vec<i64>> {
    Ok(locations::table
        .filter(locations::clinic_id.eq(clinic_id))
        .select(locations::id)
        .order(locations::id)
        .load(connection)?)
}
