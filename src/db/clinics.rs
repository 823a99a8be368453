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

/// Applies `changes` if the clinic is still at `version`, bumping the version; `None` when it
/// is not (another write came first).
pub fn update(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    changes: &ClinicChanges,
) -> DbResult<Option<ClinicRow>> {
    Ok(
        diesel::update(clinics::table.find(id).filter(clinics::version.eq(version)))
            .set((
                changes,
                clinics::updated_at.eq(super::now()),
                clinics::version.eq(version + 1),
            ))
            .returning(clinics::all_columns)
            .get_result::<ClinicRow>(connection)
            .optional()?,
    )
}

/// Deletes the clinic if it is still at `version`; false when it is not (or is gone).
pub fn delete(connection: &mut DbConnection, id: i64, version: i64) -> DbResult<bool> {
    let deleted = diesel::delete(clinics::table.find(id).filter(clinics::version.eq(version)))
        .execute(connection)?;
    Ok(deleted == 1)
}

pub fn location_ids(connection: &mut DbConnection, clinic_id: i64) -> DbResult<Vec<i64>> {
    Ok(locations::table
        .filter(locations::clinic_id.eq(clinic_id))
        .select(locations::id)
        .order(locations::id)
        .load(connection)?)
}

pub fn find_by_external_id(
    connection: &mut DbConnection,
    external_id: &str,
) -> DbResult<Option<ClinicRow>> {
    Ok(clinics::table
        .filter(clinics::external_id.eq(external_id))
        .select(ClinicRow::as_select())
        .first(connection)
        .optional()?)
}
