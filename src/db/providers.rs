//! Provider queries, and the provider's links to locations, treatments and specialties.

use diesel::prelude::*;

use super::models::{
    CredentialRow, NewProvider, ProviderLocationRow, ProviderRow, ProviderSpecialtyRow,
    ProviderTreatmentRow,
};
use super::schema::{
    credentials, locations, provider_locations, provider_specialties, provider_treatments,
    providers, screening_matches, specialties, treatments,
};
use super::DbConnection;
use super::{DbError, DbResult};
use crate::domain::VettingStatus;

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = providers)]
pub struct ProviderChanges {
    pub npi: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub degree: Option<String>,
    pub primary_specialty_code: Option<String>,
    pub practice_start_year: Option<Option<i32>>,
    pub languages: Option<String>,
    pub accepting_new_patients: Option<bool>,
    pub bio: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub date_of_birth: Option<Option<chrono::NaiveDate>>,
}

diesel::define_sql_function! {
    /// Lower case (both backends have it).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Which providers an admin list shows.
#[derive(Debug, Clone, Default)]
pub struct ProviderFilter {
    /// Any of these vetting states (any state when empty).
    pub statuses: Vec<VettingStatus>,
    /// Exactly this NPI.
    pub npi: Option<String>,
    /// Lower-cased text the "given family" name contains.
    pub name: Option<String>,
    /// How the provider came in (`manual`, `import`, `nppes`).
    pub source: Option<String>,
}

/// A provider with everything attached to it.
#[derive(Debug, Clone)]
pub struct ProviderRecord {
    pub row: ProviderRow,
    pub other_specialty_codes: Vec<String>,
    pub treatments: Vec<ProviderTreatmentRow>,
    pub location_ids: Vec<i64>,
    /// (location id, its state), by location id: where the licence rule is judged.
    pub location_states: Vec<(i64, String)>,
    pub credentials: Vec<CredentialRow>,
    /// (treatment code, its label status) for the treatments offered.
    pub label_statuses: Vec<(String, String)>,
    /// A name-and-date-of-birth (or unwaived NPI) screening match waits for a reviewer.
    pub open_high_confidence_matches: bool,
}

pub fn find(connection: &mut DbConnection, id: i64) -> DbResult<Option<ProviderRow>> {
    Ok(providers::table
        .find(id)
        .select(ProviderRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn get(connection: &mut DbConnection, id: i64) -> DbResult<ProviderRow> {
    find(connection, id)?.ok_or_else(|| DbError::not_found("provider", id))
}

pub fn record(connection: &mut DbConnection, row: ProviderRow) -> DbResult<ProviderRecord> {
    let id = row.id;
    let location_states: Vec<(i64, String)> = provider_locations::table
        .inner_join(locations::table)
        .filter(provider_locations::provider_id.eq(id))
        .order(provider_locations::location_id)
        .select((provider_locations::location_id, locations::state))
        .load(connection)?;
    Ok(ProviderRecord {
        other_specialty_codes: provider_specialties::table
            .filter(provider_specialties::provider_id.eq(id))
            .order(provider_specialties::specialty_code)
            .select(provider_specialties::specialty_code)
            .load(connection)?,
        treatments: provider_treatments::table
            .filter(provider_treatments::provider_id.eq(id))
            .order(provider_treatments::treatment_code)
            .select(ProviderTreatmentRow::as_select())
            .load(connection)?,
        location_ids: location_states.iter().map(|(id, _)| *id).collect(),
        location_states,
        label_statuses: provider_treatments::table
            .inner_join(treatments::table)
            .filter(provider_treatments::provider_id.eq(id))
            .select((treatments::code, treatments::label_status))
            .load(connection)?,
        open_high_confidence_matches: screening_matches::table
            .filter(screening_matches::provider_id.eq(id))
            .filter(screening_matches::status.eq("open"))
            .filter(screening_matches::rule.ne("name_state"))
            .count()
            .get_result::<i64>(connection)?
            > 0,
        credentials: credentials::table
            .filter(credentials::provider_id.eq(id))
            .order(credentials::id)
            .select(CredentialRow::as_select())
            .load(connection)?,
        row,
    })
}

pub fn get_record(connection: &mut DbConnection, id: i64) -> DbResult<ProviderRecord> {
    let row = get(connection, id)?;
    record(connection, row)
}

/// Providers by id after `after_id`, only those in one of `statuses` (any when empty).
pub fn list(
    connection: &mut DbConnection,
    statuses: &[VettingStatus],
    after_id: i64,
    limit: i64,
) -> DbResult<Vec<ProviderRow>> {
    let filter = ProviderFilter {
        statuses: statuses.to_vec(),
        ..Default::default()
    };
    list_filtered(connection, &filter, after_id, limit)
}

/// Providers by id after `after_id` that pass `filter`.
pub fn list_filtered(
    connection: &mut DbConnection,
    filter: &ProviderFilter,
    after_id: i64,
    limit: i64,
) -> DbResult<Vec<ProviderRow>> {
    let mut query = providers::table
        .filter(providers::id.gt(after_id))
        .into_boxed();
    if !filter.statuses.is_empty() {
        query = query
            .filter(providers::vetting_status.eq_any(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(npi) = &filter.npi {
        query = query.filter(providers::npi.eq(npi.clone()));
    }
    if let Some(source) = &filter.source {
        query = query.filter(providers::source.eq(source.clone()));
    }
    if let Some(name) = &filter.name {
        let escaped: String = name
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let full_name = lower(
            providers::given_name
                .concat(" ")
                .concat(providers::family_name),
        );
        query = query.filter(full_name.like(format!("%{escaped}%")).escape('\\'));
    }
    Ok(query
        .order(providers::id)
        .limit(limit)
        .select(ProviderRow::as_select())
        .load(connection)?)
}

pub fn insert(
    connection: &mut DbConnection,
    provider: &NewProvider,
    other_specialties: &[String],
) -> DbResult<ProviderRow> {
    let row = diesel::insert_into(providers::table)
        .values(provider)
        .returning(providers::all_columns)
        .get_result::<ProviderRow>(connection)?;
    replace_specialties(connection, row.id, other_specialties)?;
    Ok(row)
}

pub fn replace_specialties(
    connection: &mut DbConnection,
    provider_id: i64,
    codes: &[String],
) -> DbResult<()> {
    diesel::delete(
        provider_specialties::table.filter(provider_specialties::provider_id.eq(provider_id)),
    )
    .execute(connection)?;
    let rows: Vec<_> = codes
        .iter()
        .map(|code| ProviderSpecialtyRow {
            provider_id,
            specialty_code: code.clone(),
        })
        .collect();
    crate::with_backend!(connection, |connection| diesel::insert_into(
        provider_specialties::table
    )
    .values(&rows)
    .execute(connection))?;
    Ok(())
}

/// Applies `changes` if the provider is still at `version`, bumping the version; `None` when
/// it is not. Vetting status is not among the changes: only the lifecycle moves it
/// ([`set_vetting_status`]).
pub fn update(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    changes: &ProviderChanges,
) -> DbResult<Option<ProviderRow>> {
    Ok(diesel::update(
        providers::table
            .find(id)
            .filter(providers::version.eq(version)),
    )
    .set((
        changes,
        providers::updated_at.eq(super::now()),
        providers::version.eq(version + 1),
    ))
    .returning(providers::all_columns)
    .get_result::<ProviderRow>(connection)
    .optional()?)
}

/// Locks the provider's row until the transaction ends, so that a vetting decision and a change
/// to the credentials it rests on happen one after the other (PostgreSQL's READ COMMITTED would
/// otherwise let a transition read a licence that a concurrent revocation is replacing). Every
/// credential write and every transition takes it first. SQLite needs nothing: its write
/// transactions (`BEGIN IMMEDIATE`) already run one at a time.
pub fn lock_for_vetting(connection: &mut DbConnection, id: i64) -> DbResult<()> {
    if let DbConnection::Postgres(pg) = connection {
        providers::table
            .find(id)
            .select(providers::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
    }
    Ok(())
}

/// Moves the provider to `status` if it is still at `version`; `None` when it is not.
pub fn set_vetting_status(
    connection: &mut DbConnection,
    id: i64,
    version: i64,
    status: &str,
) -> DbResult<Option<ProviderRow>> {
    Ok(diesel::update(
        providers::table
            .find(id)
            .filter(providers::version.eq(version)),
    )
    .set((
        providers::vetting_status.eq(status),
        providers::updated_at.eq(super::now()),
        providers::version.eq(version + 1),
    ))
    .returning(providers::all_columns)
    .get_result(connection)
    .optional()?)
}

/// Deletes the provider (its credentials, links and treatments cascade) if it is still at
/// `version`; false when it is not.
pub fn delete(connection: &mut DbConnection, id: i64, version: i64) -> DbResult<bool> {
    let deleted = diesel::delete(
        providers::table
            .find(id)
            .filter(providers::version.eq(version)),
    )
    .execute(connection)?;
    Ok(deleted == 1)
}

/// Links a provider to a location; true when the link is new.
pub fn link_location(
    connection: &mut DbConnection,
    provider_id: i64,
    location_id: i64,
) -> DbResult<bool> {
    let existing = provider_locations::table
        .filter(provider_locations::provider_id.eq(provider_id))
        .filter(provider_locations::location_id.eq(location_id))
        .count()
        .get_result::<i64>(connection)?;
    if existing > 0 {
        return Ok(false);
    }
    diesel::insert_into(provider_locations::table)
        .values(ProviderLocationRow {
            provider_id,
            location_id,
            created_at: super::now(),
        })
        .execute(connection)?;
    Ok(true)
}

pub fn unlink_location(
    connection: &mut DbConnection,
    provider_id: i64,
    location_id: i64,
) -> DbResult<bool> {
    let deleted = diesel::delete(
        provider_locations::table
            .filter(provider_locations::provider_id.eq(provider_id))
            .filter(provider_locations::location_id.eq(location_id)),
    )
    .execute(connection)?;
    Ok(deleted == 1)
}

pub fn find_treatment(
    connection: &mut DbConnection,
    provider_id: i64,
    code: &str,
) -> DbResult<Option<ProviderTreatmentRow>> {
    Ok(provider_treatments::table
        .filter(provider_treatments::provider_id.eq(provider_id))
        .filter(provider_treatments::treatment_code.eq(code))
        .select(ProviderTreatmentRow::as_select())
        .first(connection)
        .optional()?)
}

pub fn upsert_treatment(
    connection: &mut DbConnection,
    provider_id: i64,
    code: &str,
    annual_volume: Option<i32>,
) -> DbResult<ProviderTreatmentRow> {
    diesel::delete(
        provider_treatments::table
            .filter(provider_treatments::provider_id.eq(provider_id))
            .filter(provider_treatments::treatment_code.eq(code)),
    )
    .execute(connection)?;
    let row = ProviderTreatmentRow {
        provider_id,
        treatment_code: code.to_owned(),
        annual_volume,
        created_at: super::now(),
    };
    diesel::insert_into(provider_treatments::table)
        .values(&row)
        .execute(connection)?;
    Ok(row)
}

pub fn remove_treatment(
    connection: &mut DbConnection,
    provider_id: i64,
    code: &str,
) -> DbResult<bool> {
    let deleted = diesel::delete(
        provider_treatments::table
            .filter(provider_treatments::provider_id.eq(provider_id))
            .filter(provider_treatments::treatment_code.eq(code)),
    )
    .execute(connection)?;
    Ok(deleted == 1)
}

pub fn specialty_exists(connection: &mut DbConnection, code: &str) -> DbResult<bool> {
    Ok(specialties::table
        .find(code)
        .count()
        .get_result::<i64>(connection)?
        == 1)
}

/// Whether a specialty code exists: asked of the database, or of the codes a bulk load read once
/// for its records (`directory::bulk`; an import writes no specialties).
pub fn specialty_known(
    connection: &mut DbConnection,
    known: Option<&std::collections::HashSet<String>>,
    code: &str,
) -> DbResult<bool> {
    match known {
        Some(known) => Ok(known.contains(code)),
        None => specialty_exists(connection, code),
    }
}

pub fn treatment_exists(connection: &mut DbConnection, code: &str) -> DbResult<bool> {
    Ok(treatments::table
        .find(code)
        .count()
        .get_result::<i64>(connection)?
        == 1)
}

pub fn count(connection: &mut DbConnection) -> DbResult<i64> {
    Ok(providers::table.count().get_result(connection)?)
}

pub fn find_by_npi(connection: &mut DbConnection, npi: &str) -> DbResult<Option<ProviderRow>> {
    Ok(providers::table
        .filter(providers::npi.eq(npi))
        .select(ProviderRow::as_select())
        .first(connection)
        .optional()?)
}
