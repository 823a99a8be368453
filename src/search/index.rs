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
use super::ranking::{credential_score, CredentialInputs};
use crate::db::models::{ClinicRow, LocationRow, ProviderRow};
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
    /// The trees that hold this location: (forest, credential tier). Forest 0 holds every
    /// location with a public provider; forest `1 + t` those where one offers treatment `t`.
    pub placements: Vec<(usize, usize)>,
    pub timezone: Tz,
    pub hours: CompiledHours,
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

/// Locations are split into this many credential tiers, one R*-tree each.
pub const CREDENTIAL_TIERS: usize = 8;

pub struct DirectoryIndex {
    /// R*-trees by forest and credential tier: `forests[f][t]`. Forest 0 holds every location
    /// with a public provider; forest `1 + n` (see `treatment_forests`) the locations where a
    /// public provider offers that treatment. Tier `t` holds the locations whose best provider
    /// (for that forest's treatment) can score at most `(t + 1) / CREDENTIAL_TIERS` on
    /// credentials (see [`Self::credential_ceiling`]). A query for one treatment walks that
    /// treatment's forest, so a dense centre neither visits locations that do not offer it nor
    /// waits on locations whose credentials cannot compete.
    pub forests: Vec<Vec<RTree<IndexedPoint>>>,
    /// treatment code → its forest.
    pub treatment_forests: HashMap<String, usize>,
    pub locations: HashMap<i64, LocationEntry>,
    pub clinics: HashMap<i64, ClinicEntry>,
    pub providers: HashMap<i64, ProviderEntry>,
    /// provider → the locations it is linked to (every link, public or not).
    pub provider_locations: HashMap<i64, Vec<i64>>,
    /// treatment code → specialty codes that usually treat it.
    pub treatment_specialties: HashMap<String, Vec<String>>,
    /// The tier ceilings hold through the end of this year (experience grows with time).
    pub ceilings_valid_through_year: i32,
}

fn empty_forest() -> Vec<RTree<IndexedPoint>> {
    (0..CREDENTIAL_TIERS).map(|_| RTree::new()).collect()
}

impl Default for DirectoryIndex {
    fn default() -> Self {
        DirectoryIndex {
            forests: vec![empty_forest()],
            treatment_forests: HashMap::new(),
            locations: HashMap::new(),
            clinics: HashMap::new(),
            providers: HashMap::new(),
            provider_locations: HashMap::new(),
            treatment_specialties: HashMap::new(),
            ceilings_valid_through_year: chrono::Utc::now().year() + 1,
        }
    }
}

/// What a write touched; the index reloads exactly these from the database.
#[derive(Debug, Default, Clone)]
pub struct Affected {
    pub clinics: Vec<i64>,
    pub locations: Vec<i64>,
    pub providers: Vec<i64>,
}

impl Affected {
    pub fn is_empty(&self) -> bool {
        self.clinics.is_empty() && self.locations.is_empty() && self.providers.is_empty()
    }

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
            index.replace_provider(id, provider);
        }
        Ok(())
    }
}

impl DirectoryIndex {
    /// The most this provider could score on credentials until the end of
    /// `ceilings_valid_through_year`, for a query on `treatment` (or on any treatment): every
    /// verified credential counted whether expired or not, a board certification counted when it
    /// is relevant to `treatment` (any, without one), the largest recorded volume, the experience
    /// the provider will have at the end of that year.
    pub fn credential_ceiling(&self, provider: &ProviderEntry, treatment: Option<&str>) -> f64 {
        let end_of_year = NaiveDate::from_ymd_opt(self.ceilings_valid_through_year, 12, 31)
            .unwrap_or(NaiveDate::MAX);
        let relevant = |specialty: Option<&str>| match treatment {
            None => true,
            Some(code) => specialty.is_some_and(|s| {
                self.treatment_specialties
                    .get(code)
                    .is_some_and(|list| list.iter().any(|l| l == s))
            }),
        };
        let inputs = CredentialInputs {
            relevant_board_certification: provider.credentials.iter().any(|c| {
                c.kind == CredentialKind::BoardCertification
                    && relevant(c.specialty_code.as_deref())
            }),
            injector_training: provider
                .credentials
                .iter()
                .any(|c| c.kind == CredentialKind::InjectorTraining),
            years_of_experience: provider.years_of_experience(end_of_year),
            annual_procedure_volume: provider
                .treatments
                .iter()
                .filter(|(code, _)| treatment.is_none_or(|t| t == code))
                .filter_map(|(_, v)| v.map(|v| v.max(0) as u32))
                .max(),
        };
        credential_score(&inputs)
    }

    /// The credential bound of a tier.
    pub fn tier_ceiling(tier: usize) -> f64 {
        (tier + 1) as f64 / CREDENTIAL_TIERS as f64
    }

    fn tier_for(best: f64) -> usize {
        // The smallest tier whose ceiling is at least `best`.
        let tier = (best * CREDENTIAL_TIERS as f64 - 1e-9).ceil().max(1.0) as usize - 1;
        tier.min(CREDENTIAL_TIERS - 1)
    }

    /// The forest of a treatment, created on first use.
    fn forest_of(&mut self, treatment: &str) -> usize {
        if let Some(&forest) = self.treatment_forests.get(treatment) {
            return forest;
        }
        self.forests.push(empty_forest());
        let forest = self.forests.len() - 1;
        self.treatment_forests.insert(treatment.to_owned(), forest);
        forest
    }

    /// Where a location belongs now: (forest, tier) for every forest it is in, sorted.
    fn placements_of(&mut self, id: i64) -> Vec<(usize, usize)> {
        let Some(location) = self.locations.get(&id) else {
            return Vec::new();
        };
        let public: Vec<&ProviderEntry> = location
            .provider_ids
            .iter()
            .filter_map(|p| self.providers.get(p))
            .collect();
        if public.is_empty() {
            return Vec::new();
        }
        let overall = public
            .iter()
            .map(|p| self.credential_ceiling(p, None))
            .fold(0.0, f64::max);
        let mut by_treatment: Vec<(String, f64)> = Vec::new();
        for provider in &public {
            for (code, _) in &provider.treatments {
                let ceiling = self.credential_ceiling(provider, Some(code));
                match by_treatment.iter_mut().find(|(c, _)| c == code) {
                    Some((_, best)) => *best = best.max(ceiling),
                    None => by_treatment.push((code.clone(), ceiling)),
                }
            }
        }
        let mut placements = vec![(0, Self::tier_for(overall))];
        for (code, best) in by_treatment {
            let forest = self.forest_of(&code);
            placements.push((forest, Self::tier_for(best)));
        }
        placements.sort_unstable();
        placements
    }

    /// Puts a location into the trees it now belongs in.
    fn place(&mut self, id: i64) {
        let new = self.placements_of(id);
        let Some(location) = self.locations.get_mut(&id) else {
            return;
        };
        if location.placements == new {
            return;
        }
        let (old, point) = (
            std::mem::replace(&mut location.placements, new.clone()),
            location.point,
        );
        for &(forest, tier) in old.iter().filter(|p| !new.contains(p)) {
            self.forests[forest][tier].remove(&GeomWithData::new(point, id));
        }
        for &(forest, tier) in new.iter().filter(|p| !old.contains(p)) {
            self.forests[forest][tier].insert(GeomWithData::new(point, id));
        }
    }

    fn remove_location(&mut self, id: i64) {
        if let Some(old) = self.locations.remove(&id) {
            for &(forest, tier) in &old.placements {
                self.forests[forest][tier].remove(&GeomWithData::new(old.point, id));
            }
            for provider_id in &old.provider_ids {
                if let Some(ids) = self.provider_locations.get_mut(provider_id) {
                    ids.retain(|location_id| *location_id != id);
                }
            }
        }
    }

    pub fn insert_location(&mut self, mut location: LocationEntry) {
        let id = location.row.id;
        location.placements = Vec::new();
        for provider_id in &location.provider_ids {
            self.provider_locations
                .entry(*provider_id)
                .or_default()
                .push(id);
        }
        self.locations.insert(id, location);
        self.place(id);
    }

    /// Re-places a provider's locations after the provider changed.
    fn replace_provider(&mut self, id: i64, provider: Option<ProviderEntry>) {
        match provider {
            Some(provider) => self.providers.insert(id, provider),
            None => self.providers.remove(&id),
        };
        for location_id in self
            .provider_locations
            .get(&id)
            .cloned()
            .unwrap_or_default()
        {
            self.place(location_id);
        }
    }

    /// Computes every location's placements and bulk-loads the trees (after a load of many
    /// entries).
    pub fn rebuild_tiers(&mut self) {
        let ids: Vec<i64> = self.locations.keys().copied().collect();
        let mut points: Vec<Vec<Vec<IndexedPoint>>> = Vec::new();
        for id in ids {
            let placements = self.placements_of(id);
            let Some(location) = self.locations.get_mut(&id) else {
                continue;
            };
            for &(forest, tier) in &placements {
                while points.len() <= forest {
                    points.push(vec![Vec::new(); CREDENTIAL_TIERS]);
                }
                points[forest][tier].push(GeomWithData::new(location.point, id));
            }
            location.placements = placements;
        }
        while points.len() < self.forests.len() {
            points.push(vec![Vec::new(); CREDENTIAL_TIERS]);
        }
        self.forests = points
            .into_iter()
            .map(|forest| forest.into_iter().map(RTree::bulk_load).collect())
            .collect();
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
        for row in locations::table
            .select(LocationRow::as_select())
            .load(connection)?
        {
            let provider_ids = links.remove(&row.id).unwrap_or_default();
            for provider_id in &provider_ids {
                index
                    .provider_locations
                    .entry(*provider_id)
                    .or_default()
                    .push(row.id);
            }
            let entry = location_entry(row, provider_ids)?;
            index.locations.insert(entry.row.id, entry);
        }

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
            .select(VerifiedCredentialRow::as_select())
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
        index.rebuild_tiers();
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
    // The compiled hours are what search needs; the JSON text would only take memory.
    let mut row = row;
    row.opening_hours = String::new();
    Ok(LocationEntry {
        point: unit_vector(row.latitude, row.longitude),
        placements: Vec::new(),
        timezone,
        hours,
        provider_ids,
        row,
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

fn verified_credential(row: VerifiedCredentialRow) -> ApiResult<VerifiedCredential> {
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
        .select(VerifiedCredentialRow::as_select())
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn location(id: i64, provider_ids: Vec<i64>) -> LocationEntry {
        let created = NaiveDateTime::default();
        let row = LocationRow {
            id,
            clinic_id: 1,
            name: None,
            address_line1: String::new(),
            address_line2: None,
            city: String::new(),
            state: "NY".into(),
            postal_code: String::new(),
            country: "US".into(),
            latitude: 40.0 + id as f64 * 0.01,
            longitude: -74.0,
            timezone: "UTC".into(),
            opening_hours: "{}".into(),
            phone: None,
            external_id: None,
            created_at: created,
            updated_at: created,
            version: 1,
        };
        location_entry(row, provider_ids).unwrap()
    }

    fn provider(id: i64, kinds: &[CredentialKind]) -> ProviderEntry {
        ProviderEntry {
            id,
            npi: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            name_lower: String::new(),
            degree: Degree::Md,
            primary_specialty_code: String::new(),
            specialty_codes: Vec::new(),
            practice_start_year: Some(2020),
            languages: Vec::new(),
            accepting_new_patients: true,
            treatments: Vec::new(),
            credentials: kinds
                .iter()
                .map(|&kind| VerifiedCredential {
                    id,
                    kind,
                    issuer: String::new(),
                    jurisdiction: None,
                    specialty_code: None,
                    expires_on: None,
                    verified_at: None,
                    source_type: None,
                    next_due_on: None,
                })
                .collect(),
        }
    }

    /// Every location sits in exactly the trees its providers put it in now.
    fn assert_consistent(index: &mut DirectoryIndex) {
        let ids: Vec<i64> = index.locations.keys().copied().collect();
        for id in ids {
            let expected = index.placements_of(id);
            let location = &index.locations[&id];
            assert_eq!(location.placements, expected, "location {id}");
            for (forest, trees) in index.forests.iter().enumerate() {
                for (tier, tree) in trees.iter().enumerate() {
                    let present = tree.contains(&GeomWithData::new(location.point, id));
                    assert_eq!(
                        present,
                        expected.contains(&(forest, tier)),
                        "location {id} in forest {forest} tier {tier}"
                    );
                }
            }
        }
    }

    #[test]
    fn writes_move_locations_between_trees() {
        let mut index = DirectoryIndex::default();
        index
            .treatment_specialties
            .insert("chronic_migraine".into(), vec!["2084N0400X".into()]);
        index.replace_provider(1, Some(provider(1, &[CredentialKind::StateLicense])));
        index.insert_location(location(10, vec![1]));
        index.insert_location(location(11, vec![1, 2]));
        index.insert_location(location(12, vec![3]));
        assert_consistent(&mut index);
        assert!(
            index.locations[&12].placements.is_empty(),
            "no public provider: in no tree"
        );
        let low = index.locations[&10].placements[0];

        // A board certification and injector training raise both of provider 1's locations.
        let certified = [
            CredentialKind::StateLicense,
            CredentialKind::BoardCertification,
            CredentialKind::InjectorTraining,
        ];
        index.replace_provider(1, Some(provider(1, &certified)));
        assert_consistent(&mut index);
        assert!(index.locations[&10].placements[0].1 > low.1);

        // Offering a treatment adds the treatment's forest.
        let mut offering = provider(1, &certified);
        offering
            .treatments
            .push(("chronic_migraine".into(), Some(100)));
        index.replace_provider(1, Some(offering));
        assert_consistent(&mut index);
        let forest = index.treatment_forests["chronic_migraine"];
        assert!(index.locations[&10]
            .placements
            .iter()
            .any(|(f, _)| *f == forest));

        // Provider 2 appears; provider 1 leaves the public directory.
        index.replace_provider(2, Some(provider(2, &[CredentialKind::StateLicense])));
        index.replace_provider(1, None);
        assert_consistent(&mut index);
        assert!(index.locations[&10].placements.is_empty());
        assert_eq!(index.locations[&11].placements, vec![low]);

        index.remove_location(11);
        assert_consistent(&mut index);
        let held: usize = index.forests.iter().flatten().map(|t| t.size()).sum();
        assert_eq!(held, 0);
    }
}
