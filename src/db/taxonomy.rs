//! The seeded taxonomy: treatments (indications) and specialties.

use std::collections::HashMap;

use diesel::prelude::*;

use super::models::{SpecialtyRow, TreatmentRow};
use super::schema::{specialties, treatment_specialties, treatments};
use super::DbConnection;
use super::DbResult;

pub fn treatments(connection: &mut DbConnection) -> DbResult<Vec<(TreatmentRow, Vec<String>)>> {
    let rows = treatments::table
        .order(treatments::code)
        .select(TreatmentRow::as_select())
        .load(connection)?;
    let mut by_treatment: HashMap<String, Vec<String>> = HashMap::new();
    for (treatment, specialty) in treatment_specialties::table
        .order((
            treatment_specialties::treatment_code,
            treatment_specialties::specialty_code,
        ))
        .load::<(String, String)>(connection)?
    {
        by_treatment.entry(treatment).or_default().push(specialty);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let specialties = by_treatment.remove(&row.code).unwrap_or_default();
            (row, specialties)
        })
        .collect())
}

pub fn specialties(connection: &mut DbConnection) -> DbResult<Vec<SpecialtyRow>> {
    Ok(specialties::table
        .order(specialties::code)
        .select(SpecialtyRow::as_select())
        .load(connection)?)
}

pub fn specialty_names(connection: &mut DbConnection) -> DbResult<HashMap<String, String>> {
    Ok(specialties(connection)?
        .into_iter()
        .map(|row| (row.code, row.name))
        .collect())
}

/// A NUCC code-set row as stored.
pub struct NuccSpecialty<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub grouping: Option<&'a str>,
    pub classification: Option<&'a str>,
    pub specialization: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub section: Option<&'a str>,
}

/// Adds a specialty, or fills in the NUCC names of one held (its name stays); true when new.
pub fn upsert_specialty(connection: &mut DbConnection, row: &NuccSpecialty<'_>) -> DbResult<bool> {
    let updated = diesel::update(specialties::table.find(row.code))
        .set((
            specialties::grouping.eq(row.grouping),
            specialties::classification.eq(row.classification),
            specialties::specialization.eq(row.specialization),
            specialties::display_name.eq(row.display_name),
            specialties::section.eq(row.section),
        ))
        .execute(connection)?;
    if updated == 1 {
        return Ok(false);
    }
    diesel::insert_into(specialties::table)
        .values((
            specialties::code.eq(row.code),
            specialties::name.eq(row.name),
            specialties::grouping.eq(row.grouping),
            specialties::classification.eq(row.classification),
            specialties::specialization.eq(row.specialization),
            specialties::display_name.eq(row.display_name),
            specialties::section.eq(row.section),
        ))
        .execute(connection)?;
    Ok(true)
}
