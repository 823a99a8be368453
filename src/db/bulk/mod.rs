//! The statements of bulk loading (`directory::bulk`): many rows per statement, and full-row
//! replacement by natural key (external id, NPI). Multi-row `VALUES` are written as tuples of
//! bound values, not `Insertable` structs: an `Option` field of a struct means `DEFAULT`, which
//! SQLite cannot put in a multi-row `VALUES` (diesel would fall back to a statement per row).
//! On PostgreSQL every table goes in as one array per column (`unnest`; `arrays` for the wide
//! tables, `links` for the narrow ones): a statement whose text does not grow with its rows, so
//! the server does not parse and plan 500 tuples each time (parsing and planning multi-row
//! `VALUES` was the largest part of its time in an import: 147 s → 107 s for 1M locations).

mod arrays;
mod links;

use links::{insert_location_links, insert_specialty_links, insert_treatment_rows};

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::{
    ClinicRow, CredentialRow, LocationRow, NewClinic, NewCredential, NewLocation, NewProvider,
    ProviderRow,
};
use super::schema::{
    clinics, credentials, locations, provider_specialties, provider_treatments, providers,
    specialties, treatments,
};
use super::{DbConnection, DbResult};

/// Rows per multi-row statement (16 columns × 500 stays far below both backends' bind limits).
pub const INSERT_CHUNK: usize = 500;

/// Rows per statement when each column goes as one array (`unnest`, PostgreSQL): bounded only so
/// that one message stays a few MB.
const ARRAY_CHUNK: usize = 10_000;

/// Writes `rows` a chunk at a time, a statement per chunk: on PostgreSQL `postgres` sends
/// `ARRAY_CHUNK` rows as one array per column, on SQLite `sqlite` sends `INSERT_CHUNK` rows as a
/// multi-row `VALUES`. What each statement gave back, in order.
pub fn write_chunks<R, O>(
    connection: &mut DbConnection,
    rows: &[R],
    postgres: impl Fn(&mut diesel::PgConnection, &[R]) -> QueryResult<O>,
    sqlite: impl Fn(&mut diesel::SqliteConnection, &[R]) -> QueryResult<O>,
) -> DbResult<Vec<O>> {
    let outputs = match connection {
        DbConnection::Postgres(pg) => rows
            .chunks(ARRAY_CHUNK)
            .map(|chunk| postgres(pg, chunk))
            .collect::<QueryResult<_>>()?,
        DbConnection::Sqlite(lite) => rows
            .chunks(INSERT_CHUNK)
            .map(|chunk| sqlite(lite, chunk))
            .collect::<QueryResult<_>>()?,
    };
    Ok(outputs)
}

/// Settings for a connection that bulk-loads (the importer's own): on SQLite, reads through a
/// page cache of a fixed size instead of the memory-mapped file (the mapped pages a load touches
/// would count in its resident memory and grow with the database), and a cache large enough that
/// a batch's index pages stay in it instead of spilling to the WAL before the commit; and the
/// WAL is checkpointed every 64 MB instead of every 4 MB (a checkpoint, with its syncs, ran at
/// every few batches' commit; each commit still syncs the WAL, so durability is unchanged).
pub fn tune_for_bulk_load(connection: &mut DbConnection) -> DbResult<()> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Sqlite(sqlite) = connection {
        sqlite.batch_execute(
            "PRAGMA mmap_size = 0; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;",
        )?;
    }
    Ok(())
}

/// Inserts clinics; their ids, in order.
pub fn insert_clinics(connection: &mut DbConnection, rows: &[&NewClinic]) -> DbResult<Vec<i64>> {
    let ids = write_chunks(connection, rows, arrays::clinics, |sqlite, chunk| {
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    clinics::name.eq(&r.name),
                    clinics::website.eq(&r.website),
                    clinics::phone.eq(&r.phone),
                    clinics::description.eq(&r.description),
                    clinics::external_id.eq(&r.external_id),
                    clinics::created_at.eq(r.created_at),
                    clinics::updated_at.eq(r.updated_at),
                )
            })
            .collect();
        diesel::insert_into(clinics::table)
            .values(values)
            .returning(clinics::id)
            .get_results(sqlite)
    })?;
    Ok(ids.into_iter().flatten().collect())
}

/// Inserts locations; their ids, in order.
pub fn insert_locations(
    connection: &mut DbConnection,
    rows: &[&NewLocation],
) -> DbResult<Vec<i64>> {
    let ids = write_chunks(connection, rows, arrays::locations, |sqlite, chunk| {
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    (
                        locations::clinic_id.eq(r.clinic_id),
                        locations::name.eq(&r.name),
                        locations::address_line1.eq(&r.address_line1),
                        locations::address_line2.eq(&r.address_line2),
                        locations::city.eq(&r.city),
                        locations::state.eq(&r.state),
                        locations::postal_code.eq(&r.postal_code),
                        locations::country.eq(&r.country),
                    ),
                    (
                        locations::latitude.eq(r.latitude),
                        locations::longitude.eq(r.longitude),
                        locations::timezone.eq(&r.timezone),
                        locations::opening_hours.eq(&r.opening_hours),
                        locations::phone.eq(&r.phone),
                        locations::external_id.eq(&r.external_id),
                        locations::created_at.eq(r.created_at),
                        locations::updated_at.eq(r.updated_at),
                        locations::geocode_precision.eq(&r.geocode_precision),
                    ),
                )
            })
            .collect();
        diesel::insert_into(locations::table)
            .values(values)
            .returning(locations::id)
            .get_results(sqlite)
    })?;
    Ok(ids.into_iter().flatten().collect())
}

pub fn insert_credentials(connection: &mut DbConnection, rows: &[&NewCredential]) -> DbResult<()> {
    write_chunks(connection, rows, arrays::credentials, |sqlite, chunk| {
        let values: Vec<_> = chunk
            .iter()
            .map(|row| {
                (
                    (
                        credentials::provider_id.eq(row.provider_id),
                        credentials::kind.eq(&row.kind),
                        credentials::issuer.eq(&row.issuer),
                        credentials::identifier.eq(&row.identifier),
                        credentials::jurisdiction.eq(&row.jurisdiction),
                        credentials::specialty_code.eq(&row.specialty_code),
                        credentials::issued_on.eq(row.issued_on),
                        credentials::expires_on.eq(row.expires_on),
                    ),
                    (
                        credentials::verification_status.eq(&row.verification_status),
                        credentials::verified_at.eq(row.verified_at),
                        credentials::verified_by_key_id.eq(row.verified_by_key_id),
                        credentials::verification_source_type.eq(&row.verification_source_type),
                        credentials::verification_reference.eq(&row.verification_reference),
                        credentials::next_due_on.eq(row.next_due_on),
                        credentials::created_at.eq(row.created_at),
                        credentials::updated_at.eq(row.updated_at),
                    ),
                )
            })
            .collect();
        diesel::insert_into(credentials::table)
            .values(values)
            .execute(sqlite)
    })
    .map(drop)
}

/// A new provider with what is attached to it.
pub struct NewProviderBundle<'a> {
    pub provider: &'a NewProvider,
    /// Other specialties, sorted and without repeats.
    pub specialty_codes: &'a [String],
    /// Practice locations, sorted and without repeats.
    pub location_ids: &'a [i64],
    /// Treatment codes with their yearly volumes.
    pub treatments: &'a [(String, Option<i32>)],
}

/// Inserts providers with their specialties, practice locations and treatments: a statement per
/// table per chunk. Their ids, in order.
pub fn insert_providers(
    connection: &mut DbConnection,
    bundles: &[NewProviderBundle<'_>],
    now: NaiveDateTime,
) -> DbResult<Vec<i64>> {
    let mut all_ids = Vec::with_capacity(bundles.len());
    for chunk in bundles.chunks(INSERT_CHUNK) {
        let new_providers: Vec<&NewProvider> = chunk.iter().map(|bundle| bundle.provider).collect();
        // One chunk of `write_chunks` on either backend: `chunk` is at most `INSERT_CHUNK` long.
        let inserted: Vec<(i64, String)> = write_chunks(
            connection,
            &new_providers,
            arrays::providers,
            |sqlite, rows| {
                let values: Vec<_> = rows
                    .iter()
                    .map(|p| {
                        (
                            providers::npi.eq(&p.npi),
                            providers::given_name.eq(&p.given_name),
                            providers::family_name.eq(&p.family_name),
                            providers::degree.eq(&p.degree),
                            providers::primary_specialty_code.eq(&p.primary_specialty_code),
                            providers::practice_start_year.eq(p.practice_start_year),
                            providers::languages.eq(&p.languages),
                            providers::accepting_new_patients.eq(p.accepting_new_patients),
                            providers::bio.eq(&p.bio),
                            providers::vetting_status.eq(&p.vetting_status),
                            providers::external_id.eq(&p.external_id),
                            providers::created_at.eq(p.created_at),
                            providers::updated_at.eq(p.updated_at),
                            (
                                providers::credential_text.eq(&p.credential_text),
                                providers::date_of_birth.eq(p.date_of_birth),
                                providers::source.eq(&p.source),
                            ),
                        )
                    })
                    .collect();
                diesel::insert_into(providers::table)
                    .values(values)
                    .returning((providers::id, providers::npi))
                    .get_results(sqlite)
            },
        )?
        .into_iter()
        .flatten()
        .collect();
        all_ids.extend(insert_links(connection, chunk, &inserted, now)?);
    }
    Ok(all_ids)
}

/// The link rows of `chunk`, whose providers were inserted as `inserted` (id, NPI); their ids,
/// in the order of `chunk`.
fn insert_links(
    connection: &mut DbConnection,
    chunk: &[NewProviderBundle<'_>],
    inserted: &[(i64, String)],
    now: NaiveDateTime,
) -> DbResult<Vec<i64>> {
    // RETURNING order is the VALUES order on both backends; match by NPI all the same.
    let ids: std::collections::HashMap<&str, i64> = inserted
        .iter()
        .map(|(id, npi)| (npi.as_str(), *id))
        .collect();
    let mut chunk_ids = Vec::with_capacity(chunk.len());
    let (mut specialties, mut links, mut treatment_rows) = (Vec::new(), Vec::new(), Vec::new());
    for bundle in chunk {
        let id = *ids.get(bundle.provider.npi.as_str()).ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                "an inserted provider came back without its id".into(),
            )
        })?;
        chunk_ids.push(id);
        specialties.extend(
            bundle
                .specialty_codes
                .iter()
                .map(|code| (id, code.as_str())),
        );
        links.extend(
            bundle
                .location_ids
                .iter()
                .map(|location_id| (id, *location_id)),
        );
        treatment_rows.extend(
            bundle
                .treatments
                .iter()
                .map(|(code, volume)| (id, code.as_str(), *volume)),
        );
    }
    insert_specialty_links(connection, &specialties)?;
    insert_location_links(connection, &links, now)?;
    insert_treatment_rows(connection, &treatment_rows, now)?;
    Ok(chunk_ids)
}

/// Replaces a clinic's fields (all of them) and bumps its version.
pub fn replace_clinic(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    row: &NewClinic,
) -> DbResult<()> {
    diesel::update(clinics::table.find(id))
        .set((
            clinics::name.eq(&row.name),
            clinics::website.eq(&row.website),
            clinics::phone.eq(&row.phone),
            clinics::description.eq(&row.description),
            clinics::updated_at.eq(row.updated_at),
            clinics::version.eq(version + 1),
        ))
        .execute(connection)?;
    Ok(())
}

/// Replaces a location's fields (all but its external id) and bumps its version.
pub fn replace_location(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    row: &NewLocation,
) -> DbResult<()> {
    diesel::update(locations::table.find(id))
        .set((
            locations::clinic_id.eq(row.clinic_id),
            locations::name.eq(&row.name),
            locations::address_line1.eq(&row.address_line1),
            locations::address_line2.eq(&row.address_line2),
            locations::city.eq(&row.city),
            locations::state.eq(&row.state),
            locations::postal_code.eq(&row.postal_code),
            locations::country.eq(&row.country),
            locations::latitude.eq(row.latitude),
            locations::longitude.eq(row.longitude),
            locations::timezone.eq(&row.timezone),
            locations::opening_hours.eq(&row.opening_hours),
            locations::phone.eq(&row.phone),
            locations::geocode_precision.eq(&row.geocode_precision),
            locations::updated_at.eq(row.updated_at),
            locations::version.eq(version + 1),
        ))
        .execute(connection)?;
    Ok(())
}

/// Replaces a provider's fields (its NPI and creation time stay; an absent external id keeps the
/// stored one) and bumps its version.
pub fn replace_provider(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    row: &NewProvider,
) -> DbResult<()> {
    diesel::update(providers::table.find(id))
        .set((
            providers::given_name.eq(&row.given_name),
            providers::family_name.eq(&row.family_name),
            providers::degree.eq(&row.degree),
            providers::primary_specialty_code.eq(&row.primary_specialty_code),
            providers::practice_start_year.eq(row.practice_start_year),
            providers::languages.eq(&row.languages),
            providers::accepting_new_patients.eq(row.accepting_new_patients),
            providers::bio.eq(&row.bio),
            providers::vetting_status.eq(&row.vetting_status),
            providers::credential_text.eq(&row.credential_text),
            providers::updated_at.eq(row.updated_at),
            providers::version.eq(version + 1),
        ))
        .execute(connection)?;
    if row.external_id.is_some() {
        diesel::update(providers::table.find(id))
            .set(providers::external_id.eq(&row.external_id))
            .execute(connection)?;
    }
    Ok(())
}

/// Replaces a credential's dates, places and verification and bumps its version.
pub fn replace_credential(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    row: &NewCredential,
) -> DbResult<()> {
    diesel::update(credentials::table.find(id))
        .set((
            credentials::jurisdiction.eq(&row.jurisdiction),
            credentials::specialty_code.eq(&row.specialty_code),
            credentials::issued_on.eq(row.issued_on),
            credentials::expires_on.eq(row.expires_on),
            credentials::verification_status.eq(&row.verification_status),
            credentials::verified_at.eq(row.verified_at),
            credentials::verified_by_key_id.eq(row.verified_by_key_id),
            credentials::verification_source_type.eq(&row.verification_source_type),
            credentials::verification_reference.eq(&row.verification_reference),
            credentials::next_due_on.eq(row.next_due_on),
            credentials::updated_at.eq(row.updated_at),
            credentials::version.eq(version + 1),
        ))
        .execute(connection)?;
    Ok(())
}

pub fn clinic_id_by_external_id(
    connection: &mut DbConnection,
    external_id: &str,
) -> DbResult<Option<i64>> {
    Ok(clinics::table
        .filter(clinics::external_id.eq(external_id))
        .select(clinics::id)
        .first(connection)
        .optional()?)
}

pub fn location_id_by_external_id(
    connection: &mut DbConnection,
    external_id: &str,
) -> DbResult<Option<i64>> {
    Ok(locations::table
        .filter(locations::external_id.eq(external_id))
        .select(locations::id)
        .first(connection)
        .optional()?)
}

pub fn provider_id_by_npi(connection: &mut DbConnection, npi: &str) -> DbResult<Option<i64>> {
    Ok(providers::table
        .filter(providers::npi.eq(npi))
        .select(providers::id)
        .first(connection)
        .optional()?)
}

/// Every treatment code.
pub fn treatment_codes(connection: &mut DbConnection) -> DbResult<HashSet<String>> {
    Ok(treatments::table
        .select(treatments::code)
        .load::<String>(connection)?
        .into_iter()
        .collect())
}

/// The yearly volume recorded for a provider's treatment: `None` when the provider does not
/// offer it, `Some(None)` when it does without a volume.
pub fn treatment_volume(
    connection: &mut DbConnection,
    provider_id: i64,
    code: &str,
) -> DbResult<Option<Option<i32>>> {
    Ok(provider_treatments::table
        .filter(provider_treatments::provider_id.eq(provider_id))
        .filter(provider_treatments::treatment_code.eq(code))
        .select(provider_treatments::annual_volume)
        .first(connection)
        .optional()?)
}

/// A provider's other specialties, sorted.
pub fn specialty_codes_of(
    connection: &mut DbConnection,
    provider_id: i64,
) -> DbResult<Vec<String>> {
    Ok(provider_specialties::table
        .filter(provider_specialties::provider_id.eq(provider_id))
        .order(provider_specialties::specialty_code)
        .select(provider_specialties::specialty_code)
        .load(connection)?)
}

// Reads ahead for a batch (`directory::bulk::lookups`): the rows and ids a batch's records refer
// to, `LOOKUP_CHUNK` keys a statement instead of a statement per record (on PostgreSQL a round
// trip each).

/// Keys per lookup statement (below both backends' bind limits).
pub const LOOKUP_CHUNK: usize = 1000;

/// The rows of one lookup statement per `LOOKUP_CHUNK` keys, together.
fn in_chunks<K: Clone, T>(
    keys: &[K],
    mut load: impl FnMut(Vec<K>) -> diesel::QueryResult<Vec<T>>,
) -> DbResult<Vec<T>> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        rows.extend(load(chunk.to_vec())?);
    }
    Ok(rows)
}

/// The clinics with these external ids (those that exist).
pub fn clinics_by_external_ids(
    connection: &mut DbConnection,
    keys: &[&str],
) -> DbResult<Vec<ClinicRow>> {
    in_chunks(keys, |chunk| {
        clinics::table
            .filter(clinics::external_id.assume_not_null().eq_any(chunk))
            .select(ClinicRow::as_select())
            .load(connection)
    })
}

/// The ids of the clinics with these external ids, by external id (those that exist).
pub fn clinic_ids_by_external_ids(
    connection: &mut DbConnection,
    keys: &[&str],
) -> DbResult<Vec<(Option<String>, i64)>> {
    in_chunks(keys, |chunk| {
        clinics::table
            .filter(clinics::external_id.assume_not_null().eq_any(chunk))
            .select((clinics::external_id, clinics::id))
            .load::<(Option<String>, i64)>(connection)
    })
}

/// The locations with these external ids (those that exist).
pub fn locations_by_external_ids(
    connection: &mut DbConnection,
    keys: &[&str],
) -> DbResult<Vec<LocationRow>> {
    in_chunks(keys, |chunk| {
        locations::table
            .filter(locations::external_id.assume_not_null().eq_any(chunk))
            .select(LocationRow::as_select())
            .load(connection)
    })
}

/// The ids of the locations with these external ids, by external id (those that exist).
pub fn location_ids_by_external_ids(
    connection: &mut DbConnection,
    keys: &[&str],
) -> DbResult<Vec<(Option<String>, i64)>> {
    in_chunks(keys, |chunk| {
        locations::table
            .filter(locations::external_id.assume_not_null().eq_any(chunk))
            .select((locations::external_id, locations::id))
            .load::<(Option<String>, i64)>(connection)
    })
}

/// The providers with these NPIs (those that exist).
pub fn providers_by_npis(
    connection: &mut DbConnection,
    npis: &[&str],
) -> DbResult<Vec<ProviderRow>> {
    in_chunks(npis, |chunk| {
        providers::table
            .filter(providers::npi.eq_any(chunk))
            .select(ProviderRow::as_select())
            .load(connection)
    })
}

/// Every credential of these providers.
pub fn credentials_of_providers(
    connection: &mut DbConnection,
    provider_ids: &[i64],
) -> DbResult<Vec<CredentialRow>> {
    in_chunks(provider_ids, |chunk| {
        credentials::table
            .filter(credentials::provider_id.eq_any(chunk))
            .select(CredentialRow::as_select())
            .load(connection)
    })
}

/// Every specialty code.
pub fn specialty_codes(connection: &mut DbConnection) -> DbResult<HashSet<String>> {
    Ok(specialties::table
        .select(specialties::code)
        .load::<String>(connection)?
        .into_iter()
        .collect())
}

/// The ids of the providers with these NPIs, by NPI (those that exist).
pub fn provider_ids_by_npis(
    connection: &mut DbConnection,
    npis: &[&str],
) -> DbResult<Vec<(String, i64)>> {
    in_chunks(npis, |chunk| {
        providers::table
            .filter(providers::npi.eq_any(chunk))
            .select((providers::npi, providers::id))
            .load::<(String, i64)>(connection)
    })
}
