//! The in-memory read model behind public search: every location in an R*-tree on the unit
//! sphere, and the public facts about clinics and verified providers that search filters and
//! ranks on. Built from the database at start-up and refreshed, entity by entity, by every write
//! after it commits (the database stays the source of truth). See docs/architecture.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use rstar::primitives::GeomWithData;
use rstar::RTree;

use super::geodesy::unit_vector;
use crate::db::models::{ClinicRow, CredentialRow, LocationRow, ProviderRow};
use crate::db::schema::{
    clinics, credentials, locations, provider_locations, provider_specialties, provider_treatments,
    providers, treatment_specialties,
};
use crate::db::{Database, DbConnection};
use crate::domain::{
    CompiledHours, CredentialKind, Degree, SourceType, VerificationStatus, VettingStatus,
    WeeklyHours,
};
use crate::error::{ApiError, ApiResult};

pub type IndexedPoint = GeomWithData<[f64; 3], i64>;

#[derive(Debug, Clone)]
pub struct ClinicEntry {
    pub id: i64,
    pub name: String,
    pub name_lower: String,
    pub website: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LocationEntry {
    pub row: LocationRow,
    pub point: [f64; 3],
    pub timezone: Tz,
    pub hours: CompiledHours,
    pub weekly_hours: WeeklyHours,
    /// Every provider linked here; only those in the index's provider map are public.
    pub provider_ids: Vec<i64>,
}

/// A verified credential (unexpired or not: freshness is decided per request).
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    pub id: i64,
    pub kind: CredentialKind,
    pub issuer: String,
    pub jurisdiction: Option<String>,
    pub specialty_code: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub verified_at: Option<NaiveDateTime>,
    pub source_type: Option<SourceType>,
    pub next_due_on: Option<NaiveDate>,
}

impl VerifiedCredential {
    pub fn is_active_on(&self, today: NaiveDate) -> bool {
        self.expires_on.is_none_or(|expires| expires >= today)
    }
}

/// A verified provider, as search needs it.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub id: i64,
    pub npi: String,
    pub given_name: String,
    pub family_name: String,
    pub name_lower: String,
    pub degree: Degree,
    pub primary_specialty_code: String,
    pub specialty_codes: Vec<String>,
    pub practice_start_year: Option<i32>,
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    /// (treatment code, recorded procedures a year)
    pub treatments: Vec<(String, Option<i32>)>,
    pub credentials: Vec<VerifiedCredential>,
}

impl ProviderEntry {
    /// Listed in public search on `today`: at least one verified, unexpired state licence.
    pub fn is_listed_on(&self, today: NaiveDate) -> bool {
        self.active_credentials(today)
            .any(|c| c.kind == CredentialKind::StateLicense)
    }

    pub fn active_credentials(
        &self,
        today: NaiveDate,
    ) -> impl Iterator<Item = &VerifiedCredential> {
        self.credentials
            .iter()
            .filter(move |c| c.is_active_on(today))
    }

    pub fn years_of_experience(&self, today: NaiveDate) -> Option<u32> {
        self.practice_start_year
            .map(|start| (today.year() - start).max(0) as u32)
    }
}

#[derive(Default)]
pub struct DirectoryIndex {
    pub tree: RTree<IndexedPoint>,
    pub locations: HashMap<i64, LocationEntry>,
    pub clinics: HashMap<i64, ClinicEntry>,
    pub providers: HashMap<i64, ProviderEntry>,
    /// treatment code → specialty codes that usually treat it.
    pub treatment_specialties: HashMap<String, Vec<String>>,
}

/// What a write touched; the index reloads exactly these from the database.
#[derive(Debug, Default, Clone)]
pub struct Affected {
    pub clinics: Vec<i64>,
    pub locations: Vec<i64>,
    pub providers: Vec<i64>,
}

impl Affected {
    pub fn clinic(id: i64) -> Affected {
        Affected {
            clinics: vec![id],
            ..Default::default()
        }
    }
    pub fn location(id: i64) -> Affected {
        Affected {
            locations: vec![id],
            ..Default::default()
        }
    }
    pub fn provider(id: i64) -> Affected {
        Affected {
            providers: vec![id],
            ..Default::default()
        }
    }
}

/// Shared handle: many concurrent searches, one refresh at a time.
#[derive(Clone, Default)]
pub struct SearchIndex {
    inner: Arc<RwLock<DirectoryIndex>>,
    /// Serialises refreshes so that a slower, older reload cannot overwrite a newer one.
    refresh_lock: Arc<Mutex<()>>,
}

impl SearchIndex {
    pub fn read(&self) -> RwLockReadGuard<'_, DirectoryIndex> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Builds the whole index from the database.
    pub fn load(connection: &mut DbConnection) -> ApiResult<SearchIndex> {
        let index = DirectoryIndex::load_all(connection)?;
        Ok(SearchIndex {
            inner: Arc::new(RwLock::new(index)),
            refresh_lock: Arc::default(),
        })
    }

    /// Reloads what a committed write touched.
    pub async fn refresh(&self, db: &Database, affected: Affected) -> ApiResult<()> {
        let index = self.clone();
        db.run(move |connection| index.refresh_with(connection, &affected))
            .await
    }

    pub fn refresh_with(
        &self,
        connection: &mut DbConnection,
        affected: &Affected,
    ) -> ApiResult<()> {
        let _serial = self
            .refresh_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let clinics = affected
            .clinics
            .iter()
            .map(|&id| Ok((id, load_clinic(connection, id)?)))
            .collect::<ApiResult<Vec<_>>>()?;
        let locations = affected
            .locations
            .iter()
            .map(|&id| Ok((id, load_location(connection, id)?)))
            .collect::<ApiResult<Vec<_>>>()?;
        let providers = affected
            .providers
            .iter()
            .map(|&id| Ok((id, load_provider(connection, id)?)))
            .collect::<ApiResult<Vec<_>>>()?;
        let mut index = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (id, clinic) in clinics {
            match clinic {
                Some(clinic) => index.clinics.insert(id, clinic),
                None => index.clinics.remove(&id),
            };
        }
        for (id, location) in locations {
            index.remove_location(id);
            if let Some(location) = location {
                index.insert_location(location);
            }
        }
        for (id, provider) in providers {
            match provider {
                Some(provider) => index.providers.insert(id, provider),
                None => index.providers.remove(&id),
            };
        }
        Ok(())
    }
}

impl DirectoryIndex {
    fn remove_location(&mut self, id: i64) {
        if let Some(old) = self.locations.remove(&id) {
            self.tree.remove(&GeomWithData::new(old.point, id));
        }
    }

    pub fn insert_location(&mut self, location: LocationEntry) {
        self.tree
            .insert(GeomWithData::new(location.point, location.row.id));
        self.locations.insert(location.row.id, location);
    }

    fn load_all(connection: &mut DbConnection) -> ApiResult<DirectoryIndex> {
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
        for row in clinics::table
            .select(ClinicRow::as_select())
            .load(connection)?
        {
            index.clinics.insert(row.id, clinic_entry(row));
        }
        let mut links: HashMap<i64, Vec<i64>> = HashMap::new();
        for (provider_id, location_id) in provider_locations::table
            .select((
                provider_locations::provider_id,
                provider_locations::location_id,
            ))
            .order((
                provider_locations::location_id,
                provider_locations::provider_id,
            ))
            .load::<(i64, i64)>(connection)?
        {
            links.entry(location_id).or_default().push(provider_id);
        }
        let mut points = Vec::new();
        for row in locations::table
            .select(LocationRow::as_select())
            .load(connection)?
        {
            let provider_ids = links.remove(&row.id).unwrap_or_default();
            let entry = location_entry(row, provider_ids)?;
            points.push(GeomWithData::new(entry.point, entry.row.id));
            index.locations.insert(entry.row.id, entry);
        }
        index.tree = RTree::bulk_load(points);

        let verified = VettingStatus::Verified.as_str();
        let provider_rows = providers::table
            .filter(providers::vetting_status.eq(verified))
            .select(ProviderRow::as_select())
            .load(connection)?;
        let mut specialties: HashMap<i64, Vec<String>> = HashMap::new();
        for (provider_id, code) in provider_specialties::table
            .inner_join(providers::table)
            .filter(providers::vetting_status.eq(verified))
            .select((
                provider_specialties::provider_id,
                provider_specialties::specialty_code,
            ))
            .load::<(i64, String)>(connection)?
        {
            specialties.entry(provider_id).or_default().push(code);
        }
        let mut treatments: HashMap<i64, Vec<(String, Option<i32>)>> = HashMap::new();
        for (provider_id, code, volume) in provider_treatments::table
            .inner_join(providers::table)
            .filter(providers::vetting_status.eq(verified))
            .select((
                provider_treatments::provider_id,
                provider_treatments::treatment_code,
                provider_treatments::annual_volume,
            ))
            .load::<(i64, String, Option<i32>)>(connection)?
        {
            treatments
                .entry(provider_id)
                .or_default()
                .push((code, volume));
        }
        let mut verified_credentials: HashMap<i64, Vec<VerifiedCredential>> = HashMap::new();
        for row in credentials::table
            .inner_join(providers::table)
            .filter(providers::vetting_status.eq(verified))
            .filter(credentials::verification_status.eq(VerificationStatus::Verified.as_str()))
            .select(CredentialRow::as_select())
            .load(connection)?
        {
            verified_credentials
                .entry(row.provider_id)
                .or_default()
                .push(verified_credential(row)?);
        }
        for row in provider_rows {
            let id = row.id;
            let entry = provider_entry(
                row,
                specialties.remove(&id).unwrap_or_default(),
                treatments.remove(&id).unwrap_or_default(),
                verified_credentials.remove(&id).unwrap_or_default(),
            )?;
            index.providers.insert(id, entry);
        }
        Ok(index)
    }
}

fn clinic_entry(row: ClinicRow) -> ClinicEntry {
    ClinicEntry {
        id: row.id,
        name_lower: row.name.to_lowercase(),
        name: row.name,
        website: row.website,
        phone: row.phone,
    }
}

pub fn location_entry(row: LocationRow, provider_ids: Vec<i64>) -> ApiResult<LocationEntry> {
    let timezone: Tz = row
        .timezone
        .parse()
        .map_err(|_| ApiError::internal(format!("location {}: bad timezone", row.id)))?;
    let weekly_hours: WeeklyHours =
        serde_json::from_str(&row.opening_hours).map_err(ApiError::internal)?;
    let hours = weekly_hours
        .compile("/opening_hours")
        .map_err(|_| ApiError::internal("stored opening hours are invalid"))?;
    Ok(LocationEntry {
        point: unit_vector(row.latitude, row.longitude),
        timezone,
        hours,
        weekly_hours,
        provider_ids,
        row,
    })
}

fn verified_credential(row: CredentialRow) -> ApiResult<VerifiedCredential> {
    Ok(VerifiedCredential {
        id: row.id,
        kind: CredentialKind::parse(&row.kind)
            .ok_or_else(|| ApiError::internal("unknown credential kind"))?,
        issuer: row.issuer,
        jurisdiction: row.jurisdiction,
        specialty_code: row.specialty_code,
        expires_on: row.expires_on,
        verified_at: row.verified_at,
        source_type: row
            .verification_source_type
            .as_deref()
            .and_then(SourceType::parse),
        next_due_on: row.next_due_on,
    })
}

fn provider_entry(
    row: ProviderRow,
    specialty_codes: Vec<String>,
    treatments: Vec<(String, Option<i32>)>,
    credentials: Vec<VerifiedCredential>,
) -> ApiResult<ProviderEntry> {
    Ok(ProviderEntry {
        id: row.id,
        name_lower: format!("{} {}", row.given_name, row.family_name).to_lowercase(),
        npi: row.npi,
        given_name: row.given_name,
        family_name: row.family_name,
        degree: Degree::parse(&row.degree).ok_or_else(|| ApiError::internal("unknown degree"))?,
        primary_specialty_code: row.primary_specialty_code,
        specialty_codes,
        practice_start_year: row.practice_start_year,
        languages: serde_json::from_str(&row.languages).map_err(ApiError::internal)?,
        accepting_new_patients: row.accepting_new_patients,
        treatments,
        credentials,
    })
}

fn load_clinic(connection: &mut DbConnection, id: i64) -> ApiResult<Option<ClinicEntry>> {
    let row = clinics::table
        .find(id)
        .select(ClinicRow::as_select())
        .first(connection)
        .optional()?;
    Ok(row.map(clinic_entry))
}

fn load_location(connection: &mut DbConnection, id: i64) -> ApiResult<Option<LocationEntry>> {
    let Some(row) = locations::table
        .find(id)
        .select(LocationRow::as_select())
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
    Ok(Some(location_entry(row, provider_ids)?))
}

/// The provider as public search sees it: `None` unless it exists and is verified.
fn load_provider(connection: &mut DbConnection, id: i64) -> ApiResult<Option<ProviderEntry>> {
    let Some(row) = providers::table
        .find(id)
        .filter(providers::vetting_status.eq(VettingStatus::Verified.as_str()))
        .select(ProviderRow::as_select())
        .first(connection)
        .optional()?
    else {
        return Ok(None);
    };
    let specialties = provider_specialties::table
        .filter(provider_specialties::provider_id.eq(id))
        .select(provider_specialties::specialty_code)
        .load(connection)?;
    let treatments = provider_treatments::table
        .filter(provider_treatments::provider_id.eq(id))
        .select((
            provider_treatments::treatment_code,
            provider_treatments::annual_volume,
        ))
        .load(connection)?;
    let verified = credentials::table
        .filter(credentials::provider_id.eq(id))
        .filter(credentials::verification_status.eq(VerificationStatus::Verified.as_str()))
        .select(CredentialRow::as_select())
        .load(connection)?
        .into_iter()
        .map(verified_credential)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Some(provider_entry(
        row,
        specialties,
        treatments,
        verified,
    )?))
}
