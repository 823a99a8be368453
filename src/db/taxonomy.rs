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
