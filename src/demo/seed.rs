//! Writing the planned dataset into the database, in one write transaction with multi-row
//! inserts.

use diesel::prelude::*;

use super::generator::{generate, Dataset, PlannedClinic, PlannedLocation, PlannedProvider};
use super::DemoSummary;
use crate::api::error::{ApiError, ApiResult};
use crate::db::models::{NewCredential, ProviderLocationRow, ProviderSpecialtyRow};
use crate::db::schema::{
    clinics, credentials, locations, provider_locations, provider_specialties, provider_treatments,
    providers,
};
use crate::db::{write_transaction, DbConnection};

/// Generates a realistic dataset of `providers` providers (and about half as many clinics) and
/// inserts it in one write transaction. The same `seed` always gives the same data.
///
/// It always inserts: the caller decides whether the database is empty enough to seed (NPIs are
/// unique, so seeding twice with the same seed fails with a conflict and changes nothing).
pub fn seed_demo(
    connection: &mut DbConnection,
    providers: usize,
    seed: u64,
) -> ApiResult<DemoSummary> {
    if providers == 0 {
        return Ok(DemoSummary::default());
    }
    let dataset = generate(providers, None, seed)?;
    write_transaction(connection, |connection| insert(connection, &dataset))
}

/// Rows a multi-row INSERT carries: 500 rows × at most 15 columns stays well under SQLite's
/// bound-variable limit (32,766 in the bundled build).
const INSERT_CHUNK_ROWS: usize = 500;

fn insert(connection: &mut DbConnection, dataset: &Dataset) -> ApiResult<DemoSummary> {
    let clinic_ids = insert_clinics(connection, &dataset.clinics)?;
    let location_ids = insert_locations(connection, &dataset.locations, &clinic_ids)?;
    let provider_ids = insert_providers(connection, &dataset.providers)?;
    insert_provider_links(connection, &dataset.providers, &provider_ids, &location_ids)?;
    let credential_count = insert_credentials(connection, &dataset.providers, &provider_ids)?;
    Ok(DemoSummary {
        clinics: clinic_ids.len(),
        locations: location_ids.len(),
        providers: provider_ids.len(),
        credentials: credential_count,
    })
}

// The rows are inserted as tuples of `column.eq(value)` rather than as the `New*` structs: diesel
// inserts structs with `Option` fields on SQLite one row at a time (a `None` means DEFAULT, which
// SQLite's VALUES lacks), while tuples go in as one multi-row INSERT per chunk.

/// SQLite does not promise RETURNING rows in VALUES order, but AUTOINCREMENT gives each row of a
/// multi-row INSERT a larger id than the row before it, so sorting the ids restores input order.
fn in_insertion_order(mut ids: Vec<i64>, expected: usize) -> ApiResult<Vec<i64>> {
    if ids.len() != expected {
        return Err(ApiError::internal(format!(
            "inserted {expected} rows but got {} ids back",
            ids.len()
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

fn insert_clinics(connection: &mut DbConnection, clinics: &[PlannedClinic]) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(clinics.len());
    for chunk in clinics.chunks(INSERT_CHUNK_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|PlannedClinic { row, .. }| {
                (
                    clinics::name.eq(row.name.as_str()),
                    clinics::website.eq(row.website.as_deref()),
                    clinics::phone.eq(row.phone.as_deref()),
                    clinics::description.eq(row.description.as_deref()),
                    clinics::external_id.eq(row.external_id.as_deref()),
                    clinics::created_at.eq(row.created_at),
                    clinics::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        let inserted: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(clinics::table)
                .values(values)
                .returning(clinics::id)
                .get_results(connection))?;
        ids.extend(in_insertion_order(inserted, chunk.len())?);
    }
    Ok(ids)
}

fn insert_locations(
    connection: &mut DbConnection,
    locations: &[PlannedLocation],
    clinic_ids: &[i64],
) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(locations.len());
    for chunk in locations.chunks(INSERT_CHUNK_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|PlannedLocation { clinic_index, row }| {
                (
                    locations::clinic_id.eq(clinic_ids[*clinic_index]),
                    locations::name.eq(row.name.as_deref()),
                    locations::address_line1.eq(row.address_line1.as_str()),
                    locations::address_line2.eq(row.address_line2.as_deref()),
                    locations::city.eq(row.city.as_str()),
                    locations::state.eq(row.state.as_str()),
                    locations::postal_code.eq(row.postal_code.as_str()),
                    locations::country.eq(row.country.as_str()),
                    locations::latitude.eq(row.latitude),
                    locations::longitude.eq(row.longitude),
                    locations::timezone.eq(row.timezone.as_str()),
                    locations::opening_hours.eq(row.opening_hours.as_str()),
                    locations::phone.eq(row.phone.as_deref()),
                    locations::created_at.eq(row.created_at),
                    locations::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        let inserted: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(
                locations::table
            )
            .values(values)
            .returning(locations::id)
            .get_results(connection))?;
        ids.extend(in_insertion_order(inserted, chunk.len())?);
    }
    Ok(ids)
}

fn insert_providers(
    connection: &mut DbConnection,
    planned: &[PlannedProvider],
) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(planned.len());
    for chunk in planned.chunks(INSERT_CHUNK_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|PlannedProvider { row, .. }| {
                (
                    providers::npi.eq(row.npi.as_str()),
                    providers::given_name.eq(row.given_name.as_str()),
                    providers::family_name.eq(row.family_name.as_str()),
                    providers::degree.eq(row.degree.as_str()),
                    providers::primary_specialty_code.eq(row.primary_specialty_code.as_str()),
                    providers::practice_start_year.eq(row.practice_start_year),
                    providers::languages.eq(row.languages.as_str()),
                    providers::accepting_new_patients.eq(row.accepting_new_patients),
                    providers::bio.eq(row.bio.as_deref()),
                    providers::vetting_status.eq(row.vetting_status.as_str()),
                    providers::external_id.eq(row.external_id.as_deref()),
                    providers::created_at.eq(row.created_at),
                    providers::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        let inserted: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(
                providers::table
            )
            .values(values)
            .returning(providers::id)
            .get_results(connection))?;
        ids.extend(in_insertion_order(inserted, chunk.len())?);
    }
    Ok(ids)
}

/// Secondary specialties, practice locations and treatments.
fn insert_provider_links(
    connection: &mut DbConnection,
    planned: &[PlannedProvider],
    provider_ids: &[i64],
    location_ids: &[i64],
) -> ApiResult<()> {
    let mut specialty_rows = Vec::new();
    let mut location_rows = Vec::new();
    let mut treatment_rows = Vec::new();
    for (provider, &provider_id) in planned.iter().zip(provider_ids) {
        let created_at = provider.row.created_at;
        for &specialty_code in &provider.secondary_specialties {
            specialty_rows.push(ProviderSpecialtyRow {
                provider_id,
                specialty_code: specialty_code.to_owned(),
            });
        }
        for &location_index in &provider.location_indexes {
            location_rows.push(ProviderLocationRow {
                provider_id,
                location_id: location_ids[location_index],
                created_at,
            });
        }
        for &(treatment_code, annual_volume) in &provider.treatments {
            treatment_rows.push((
                provider_treatments::provider_id.eq(provider_id),
                provider_treatments::treatment_code.eq(treatment_code),
                provider_treatments::annual_volume.eq(annual_volume),
                provider_treatments::created_at.eq(created_at),
            ));
        }
    }
    for chunk in specialty_rows.chunks(INSERT_CHUNK_ROWS) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_specialties::table
        )
        .values(chunk)
        .execute(connection))?;
    }
    for chunk in location_rows.chunks(INSERT_CHUNK_ROWS) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_locations::table
        )
        .values(chunk)
        .execute(connection))?;
    }
    for chunk in treatment_rows.chunks(INSERT_CHUNK_ROWS) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_treatments::table
        )
        .values(chunk.to_vec())
        .execute(connection))?;
    }
    Ok(())
}

fn insert_credentials(
    connection: &mut DbConnection,
    planned: &[PlannedProvider],
    provider_ids: &[i64],
) -> ApiResult<usize> {
    let rows: Vec<(i64, &NewCredential)> = planned
        .iter()
        .zip(provider_ids)
        .flat_map(|(provider, &provider_id)| {
            provider
                .credentials
                .iter()
                .map(move |credential| (provider_id, credential))
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK_ROWS) {
        // `verified_by_key_id` is left out: no API key recorded these checks (NULL).
        let values: Vec<_> = chunk
            .iter()
            .map(|&(provider_id, row)| {
                (
                    credentials::provider_id.eq(provider_id),
                    credentials::kind.eq(row.kind.as_str()),
                    credentials::issuer.eq(row.issuer.as_str()),
                    credentials::identifier.eq(row.identifier.as_deref()),
                    credentials::jurisdiction.eq(row.jurisdiction.as_deref()),
                    credentials::specialty_code.eq(row.specialty_code.as_deref()),
                    credentials::issued_on.eq(row.issued_on),
                    credentials::expires_on.eq(row.expires_on),
                    credentials::verification_status.eq(row.verification_status.as_str()),
                    credentials::verified_at.eq(row.verified_at),
                    credentials::verification_source_type
                        .eq(row.verification_source_type.as_deref()),
                    credentials::verification_reference.eq(row.verification_reference.as_deref()),
                    credentials::next_due_on.eq(row.next_due_on),
                    credentials::created_at.eq(row.created_at),
                    credentials::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        crate::with_backend!(connection, |connection| diesel::insert_into(
            credentials::table
        )
        .values(values)
        .execute(connection))?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::seeded;

    #[test]
    fn the_summary_counts_what_was_inserted() {
        let (_directory, mut connection, summary) = seeded(300, 7);
        let count = |query: Result<i64, diesel::result::Error>| query.expect("count") as usize;
        assert_eq!(summary.providers, 300);
        assert_eq!(summary.clinics, 150);
        assert_eq!(
            summary.clinics,
            count(clinics::table.count().get_result(&mut connection))
        );
        assert_eq!(
            summary.locations,
            count(locations::table.count().get_result(&mut connection))
        );
        assert_eq!(
            summary.providers,
            count(providers::table.count().get_result(&mut connection))
        );
        assert_eq!(
            summary.credentials,
            count(credentials::table.count().get_result(&mut connection))
        );
        assert!(summary.locations >= summary.clinics && summary.locations <= 3 * summary.clinics);
    }
}
