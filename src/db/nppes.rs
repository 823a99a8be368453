//! What an NPPES import keeps between runs (`nppes_npis`), and the few statements only it makes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::NppesNpiRow;
use super::schema::{locations, nppes_npis, providers};
use super::{DbConnection, DbResult};

pub fn find(connection: &mut DbConnection, npi: &str) -> DbResult<Option<NppesNpiRow>> {
    Ok(nppes_npis::table
        .find(npi)
        .select(NppesNpiRow::as_select())
        .first(connection)
        .optional()?)
}

/// Records what the import last saw of an NPI.
pub fn upsert(connection: &mut DbConnection, row: &NppesNpiRow) -> DbResult<()> {
    let updated = diesel::update(nppes_npis::table.find(&row.npi))
        .set((
            nppes_npis::entity_type.eq(row.entity_type),
            nppes_npis::last_update_on.eq(row.last_update_on),
            nppes_npis::deactivated_on.eq(row.deactivated_on),
            nppes_npis::reactivated_on.eq(row.reactivated_on),
            nppes_npis::seen_at.eq(row.seen_at),
        ))
        .execute(connection)?;
    if updated == 0 {
        diesel::insert_into(nppes_npis::table)
            .values(row)
            .execute(connection)?;
    }
    Ok(())
}

/// Records an NPI seen for the first time.
pub fn insert(connection: &mut DbConnection, row: &NppesNpiRow) -> DbResult<()> {
    diesel::insert_into(nppes_npis::table)
        .values(row)
        .execute(connection)?;
    Ok(())
}

/// What NPPES says about an individual, as stored on the provider.
pub struct ProviderIdentity<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub degree: Option<&'a str>,
    pub credential_text: Option<&'a str>,
    pub primary_specialty_code: &'a str,
}

/// Replaces the NPPES-sourced fields of a provider at `version`, bumping it; false when the
/// provider is no longer at that version.
pub fn update_identity(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    identity: &ProviderIdentity<'_>,
    now: NaiveDateTime,
) -> DbResult<bool> {
    let updated = diesel::update(
        providers::table
            .find(id)
            .filter(providers::version.eq(version)),
    )
    .set((
        providers::given_name.eq(identity.given_name),
        providers::family_name.eq(identity.family_name),
        providers::degree.eq(identity.degree),
        providers::credential_text.eq(identity.credential_text),
        providers::primary_specialty_code.eq(identity.primary_specialty_code),
        providers::updated_at.eq(now),
        providers::version.eq(version + 1),
    ))
    .execute(connection)?;
    Ok(updated == 1)
}

/// Moves a location to another clinic (an organisation taking over the placeholder clinic of
/// its address), bumping its version.
pub fn move_location(
    connection: &mut DbConnection,
    id: i64,
    clinic_id: i64,
    now: NaiveDateTime,
) -> DbResult<()> {
    diesel::update(locations::table.find(id))
        .set((
            locations::clinic_id.eq(clinic_id),
            locations::updated_at.eq(now),
            locations::version.eq(locations::version + 1),
        ))
        .execute(connection)?;
    Ok(())
}

/// The NPPES-sourced locations (external id `nppes:site:…`) a provider is linked to.
pub fn nppes_location_ids(connection: &mut DbConnection, provider_id: i64) -> DbResult<Vec<i64>> {
    use super::schema::provider_locations;
    Ok(provider_locations::table
        .inner_join(locations::table)
        .filter(provider_locations::provider_id.eq(provider_id))
        .filter(locations::external_id.like("nppes:site:%"))
        .select(provider_locations::location_id)
        .load(connection)?)
}
