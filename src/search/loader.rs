//! Reading the directory's rows into the search index's entries: the whole index at start-up
//! ([`load_places`] and [`load_providers`], side by side) and one clinic, location or provider
//! at a time for a refresh. Only the columns search filters on and shows are selected (the
//! `Search*Row` structs): loading whole rows costs start-up time and memory.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use super::index::{
    ClinicEntry, DirectoryIndex, IdMap, Interner, LocationEntry, PackedTexts, ProviderEntry, Sym,
    VerifiedCredential,
};
use super::{SearchError, SearchResult};
use crate::db::schema::{
    clinics, credentials, exclusion_sources, locations, provider_locations, provider_specialties,
    provider_treatments, providers, screening_matches, treatment_specialties, treatments,
};
use crate::db::DbConnection;
use crate::domain::names::exclusion_source_name;
use crate::domain::{
    CredentialKind, Degree, LabelStatus, SourceType, VerificationStatus, VettingStatus,
};

/// The exclusion lists every provider has been screened against: (list name, list date).
pub(super) fn load_screening(
    connection: &mut DbConnection,
) -> SearchResult<Vec<(String, NaiveDate)>> {
    Ok(exclusion_sources::table
        .order(exclusion_sources::source)
        .select((exclusion_sources::source, exclusion_sources::screened_as_of))
        .load::<(String, Option<NaiveDate>)>(connection)?
        .into_iter()
        .filter_map(|(source, as_of)| Some((exclusion_source_name(&source).to_owned(), as_of?)))
        .collect())
}

/// Providers with a name-and-date-of-birth (or waived NPI) match waiting for a reviewer.
fn under_review(connection: &mut DbConnection, id: Option<i64>) -> SearchResult<Vec<i64>> {
    let mut query = screening_matches::table
        .filter(screening_matches::status.eq("open"))
        .filter(screening_matches::rule.ne("name_state"))
        .select(screening_matches::provider_id)
        .into_boxed();
    if let Some(id) = id {
        query = query.filter(screening_matches::provider_id.eq(id));
    }
    Ok(query.load(connection)?)
}

/// Clinics, locations and their provider links, and the treatment taxonomy: an index without
/// providers or trees yet.
pub(super) fn load_places(
    connection: &mut DbConnection,
) -> SearchResult<(DirectoryIndex, Interner)> {
    let mut interner = Interner::default();
    let mut index = DirectoryIndex::default();
    for (treatment, specialty) in treatment_specialties::table
        .select((
            treatment_specialties::treatment_code,
            treatment_specialties::specialty_code,
        ))
        .load::<(String, String)>(connection)?
    {
        index
            .treatment_specialties
            .entry(treatment)
            .or_default()
            .push(specialty);
    }
    for (code, label) in treatments::table
        .select((treatments::code, treatments::label_status))
        .load::<(String, String)>(connection)?
    {
        if let Some(label) = LabelStatus::parse(&label) {
            index.treatment_labels.insert(code, label);
        }
    }
    index.screening = load_screening(connection)?;
    // Rows are streamed (`load_iter`), not collected first: a million rows held as a vector
    // of owned strings doubled the load's peak memory, and the kernel's zeroing of those pages
    // was the largest single cost of start-up.
    for row in clinics::table
        .select(SearchClinicRow::as_select())
        .load_iter::<SearchClinicRow, DefaultLoadingMode>(connection)?
    {
        let row = row?;
        index.clinics.insert(row.id, clinic_entry(row));
    }
    let mut links: IdMap<Vec<i64>> = IdMap::default();
    // In the primary key's order (provider, location): SQLite reads that index alone, where
    // ordering by location cost a table seek per link. Each location's list is sorted below.
    for link in provider_locations::table
        .select((
            provider_locations::provider_id,
            provider_locations::location_id,
        ))
        .order((
            provider_locations::provider_id,
            provider_locations::location_id,
        ))
        .load_iter::<(i64, i64), DefaultLoadingMode>(connection)?
    {
        let (provider_id, location_id) = link?;
        links.entry(location_id).or_default().push(provider_id);
    }
    for row in locations::table
        .select(SearchLocationRow::as_select())
        .load_iter::<SearchLocationRow, DefaultLoadingMode>(connection)?
    {
        let row = row?;
        let mut provider_ids = links.remove(&row.id).unwrap_or_default();
        provider_ids.sort_unstable();
        for provider_id in &provider_ids {
            index
                .provider_locations
                .get_or_default(*provider_id)
                .push(row.id);
        }
        let entry = location_entry(&mut interner, row, provider_ids)?;
        index.locations.insert(entry.id, entry);
    }
    Ok((index, interner))
}

/// Every verified provider with its specialties, treatments and verified credentials. The
/// specialty, treatment and credential tables are read whole and kept for the providers loaded
/// first: a join to `providers` per row cost a B-tree seek each on SQLite (a tenth of start-up).
pub(super) fn load_providers(
    connection: &mut DbConnection,
) -> SearchResult<(IdMap<ProviderEntry>, Interner)> {
    let mut interner = Interner::default();
    let mut rows: IdMap<SearchProviderRow> = IdMap::default();
    for row in providers::table
        .filter(providers::vetting_status.eq(VettingStatus::Verified.as_str()))
        .select(SearchProviderRow::as_select())
        .load_iter::<SearchProviderRow, DefaultLoadingMode>(connection)?
    {
        let row = row?;
        rows.insert(row.id, row);
    }
    let mut specialties: IdMap<Vec<Sym>> = IdMap::default();
    for specialty in provider_specialties::table
        .select((
            provider_specialties::provider_id,
            provider_specialties::specialty_code,
        ))
        .load_iter::<(i64, String), DefaultLoadingMode>(connection)?
    {
        let (provider_id, code) = specialty?;
        if rows.contains_key(&provider_id) {
            specialties
                .entry(provider_id)
                .or_default()
                .push(interner.intern(&code));
        }
    }
    let mut treatments: IdMap<Vec<(Sym, Option<i32>)>> = IdMap::default();
    for treatment in provider_treatments::table
        .select((
            provider_treatments::provider_id,
            provider_treatments::treatment_code,
            provider_treatments::annual_volume,
        ))
        .load_iter::<(i64, String, Option<i32>), DefaultLoadingMode>(connection)?
    {
        let (provider_id, code, volume) = treatment?;
        if rows.contains_key(&provider_id) {
            treatments
                .entry(provider_id)
                .or_default()
                .push((interner.intern(&code), volume));
        }
    }
    let mut verified_credentials: IdMap<Vec<VerifiedCredential>> = IdMap::default();
    // Filtered here, not in SQL: SQLite would take the status index and seek the table for
    // every verified row.
    let verified = VerificationStatus::Verified.as_str();
    for row in credentials::table
        .select((
            credentials::verification_status,
            VerifiedCredentialRow::as_select(),
        ))
        .load_iter::<(String, VerifiedCredentialRow), DefaultLoadingMode>(connection)?
    {
        let (status, row) = row?;
        if status == verified && rows.contains_key(&row.provider_id) {
            verified_credentials
                .entry(row.provider_id)
                .or_default()
                .push(verified_credential(&mut interner, row)?);
        }
    }
    let reviewing: std::collections::HashSet<i64> =
        under_review(connection, None)?.into_iter().collect();
    let mut providers = IdMap::default();
    providers.reserve(rows.len());
    for (id, row) in rows {
        let entry = provider_entry(
            &mut interner,
            row,
            specialties.remove(&id).unwrap_or_default(),
            treatments.remove(&id).unwrap_or_default(),
            verified_credentials.remove(&id).unwrap_or_default(),
        )?;
        if let Some(mut entry) = entry {
            entry.screening_under_review = reviewing.contains(&id);
            providers.insert(id, entry);
        }
    }
    Ok((providers, interner))
}

/// The columns of a clinic that search shows (not its description).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = clinics)]
pub struct SearchClinicRow {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    pub phone: Option<String>,
}

fn clinic_entry(row: SearchClinicRow) -> ClinicEntry {
    ClinicEntry::new(
        row.id,
        &row.name,
        row.website.as_deref(),
        row.phone.as_deref(),
    )
}

/// The columns of a location that search filters on and shows (no timestamps to parse).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = locations)]
pub struct SearchLocationRow {
    pub id: i64,
    pub clinic_id: i64,
    pub name: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    pub opening_hours: String,
    pub phone: Option<String>,
}

pub fn location_entry(
    interner: &mut Interner,
    row: SearchLocationRow,
    provider_ids: Vec<i64>,
) -> SearchResult<LocationEntry> {
    let timezone: Tz = row
        .timezone
        .parse()
        .map_err(|_| SearchError::corrupt(format!("location {}: bad timezone", row.id)))?;
    Ok(LocationEntry {
        id: row.id,
        clinic_id: row.clinic_id,
        latitude: row.latitude,
        longitude: row.longitude,
        texts: PackedTexts::new([
            row.name.as_deref(),
            Some(&row.address_line1),
            row.address_line2.as_deref(),
            row.phone.as_deref(),
        ]),
        place: interner.place(&row.city, &row.state, &row.postal_code, &row.country),
        timezone,
        hours: interner.hours(&row.opening_hours)?,
        placements: Box::default(),
        provider_ids: provider_ids.into(),
    })
}

/// The columns of a credential that search needs (loading whole rows costs start-up time).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credentials)]
struct VerifiedCredentialRow {
    id: i64,
    provider_id: i64,
    kind: String,
    issuer: String,
    jurisdiction: Option<String>,
    specialty_code: Option<String>,
    expires_on: Option<NaiveDate>,
    verified_at: Option<NaiveDateTime>,
    verification_source_type: Option<String>,
    next_due_on: Option<NaiveDate>,
}

fn verified_credential(
    interner: &mut Interner,
    row: VerifiedCredentialRow,
) -> SearchResult<VerifiedCredential> {
    Ok(VerifiedCredential {
        id: row.id,
        kind: CredentialKind::parse(&row.kind)
            .ok_or_else(|| SearchError::corrupt("unknown credential kind"))?,
        names: interner.credential_names(
            &row.issuer,
            row.jurisdiction.as_deref(),
            row.specialty_code.as_deref(),
        ),
        expires_on: row.expires_on,
        verified_at: row.verified_at,
        source_type: row
            .verification_source_type
            .as_deref()
            .and_then(SourceType::parse),
        next_due_on: row.next_due_on,
    })
}

/// The columns of a provider that search needs (not the biography).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = providers)]
struct SearchProviderRow {
    id: i64,
    npi: String,
    given_name: String,
    family_name: String,
    degree: Option<String>,
    primary_specialty_code: String,
    practice_start_year: Option<i32>,
    languages: String,
    accepting_new_patients: bool,
}

fn provider_entry(
    interner: &mut Interner,
    row: SearchProviderRow,
    specialty_codes: Vec<Sym>,
    treatments: Vec<(Sym, Option<i32>)>,
    credentials: Vec<VerifiedCredential>,
) -> SearchResult<Option<ProviderEntry>> {
    let languages: Vec<String> =
        serde_json::from_str(&row.languages).map_err(SearchError::corrupt)?;
    // A verified provider has a degree (the lifecycle requires one); without, it is not public.
    let Some(degree) = row.degree.as_deref() else {
        return Ok(None);
    };
    Ok(Some(ProviderEntry {
        id: row.id,
        npi: row.npi.into(),
        given_name: interner.intern(&row.given_name),
        family_name: interner.intern(&row.family_name),
        degree: Degree::parse(degree).ok_or_else(|| SearchError::corrupt("unknown degree"))?,
        primary_specialty_code: interner.intern(&row.primary_specialty_code),
        specialty_codes: specialty_codes.into(),
        practice_start_year: row.practice_start_year,
        languages: languages.iter().map(|l| interner.intern(l)).collect(),
        accepting_new_patients: row.accepting_new_patients,
        treatments: treatments.into(),
        credentials: credentials.into(),
        screening_under_review: false,
    }))
}

pub(super) fn load_clinic(
    connection: &mut DbConnection,
    id: i64,
) -> SearchResult<Option<ClinicEntry>> {
    let row = clinics::table
        .find(id)
        .select(SearchClinicRow::as_select())
        .first(connection)
        .optional()?;
    Ok(row.map(clinic_entry))
}

pub(super) fn load_location(
    connection: &mut DbConnection,
    interner: &mut Interner,
    id: i64,
) -> SearchResult<Option<LocationEntry>> {
    let Some(row) = locations::table
        .find(id)
        .select(SearchLocationRow::as_select())
        .first(connection)
        .optional()?
    else {
        return Ok(None);
    };
    let provider_ids = provider_locations::table
        .filter(provider_locations::location_id.eq(id))
        .order(provider_locations::provider_id)
        .select(provider_locations::provider_id)
        .load(connection)?;
    Ok(Some(location_entry(interner, row, provider_ids)?))
}

/// The provider as public search sees it: `None` unless it exists and is verified.
pub(super) fn load_provider(
    connection: &mut DbConnection,
    interner: &mut Interner,
    id: i64,
) -> SearchResult<Option<ProviderEntry>> {
    let Some(row) = providers::table
        .find(id)
        .filter(providers::vetting_status.eq(VettingStatus::Verified.as_str()))
        .select(SearchProviderRow::as_select())
        .first(connection)
        .optional()?
    else {
        return Ok(None);
    };
    let specialties: Vec<String> = provider_specialties::table
        .filter(provider_specialties::provider_id.eq(id))
        .select(provider_specialties::specialty_code)
        .load(connection)?;
    let treatments: Vec<(String, Option<i32>)> = provider_treatments::table
        .filter(provider_treatments::provider_id.eq(id))
        .select((
            provider_treatments::treatment_code,
            provider_treatments::annual_volume,
        ))
        .load(connection)?;
    let verified = credentials::table
        .filter(credentials::provider_id.eq(id))
        .filter(credentials::verification_status.eq(VerificationStatus::Verified.as_str()))
        .select(VerifiedCredentialRow::as_select())
        .load(connection)?
        .into_iter()
        .map(|row| verified_credential(interner, row))
        .collect::<SearchResult<Vec<_>>>()?;
    let specialties = specialties.iter().map(|s| interner.intern(s)).collect();
    let treatments = treatments
        .iter()
        .map(|(code, volume)| (interner.intern(code), *volume))
        .collect();
    let reviewing = !under_review(connection, Some(id))?.is_empty();
    Ok(
        provider_entry(interner, row, specialties, treatments, verified)?.map(|mut entry| {
            entry.screening_under_review = reviewing;
            entry
        }),
    )
}
