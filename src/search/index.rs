//! The in-memory read model behind public search: every location in an R*-tree on the unit
//! sphere, and the public facts about clinics and verified providers that search filters and
//! ranks on. Built from the database at start-up and refreshed, entity by entity, by every write
//! after it commits (the database stays the source of truth). Reading the rows into entries is
//! `loader`'s job. See docs/architecture.md.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use rstar::primitives::GeomWithData;
use rstar::RTree;

use super::geodesy::unit_vector;
use super::loader::{
    load_clinic, load_location, load_places, load_provider, load_providers, load_screening,
};
use super::ranking::{credential_score, CredentialInputs};
use super::{SearchError, SearchResult};
pub use crate::db::change_log::Affected;
use crate::db::{Database, DbConnection};
use crate::domain::{
    CompiledHours, CredentialKind, Degree, Freshness, LabelStatus, SourceType, WeeklyHours,
};

pub type IndexedPoint = GeomWithData<[f64; 3], i64>;

/// Maps keyed by database ids. Ids are small sequential integers, not attacker-chosen strings,
/// so a multiplicative hash replaces SipHash on the hottest lookups of the search walk.
pub type IdMap<V> = HashMap<i64, V, BuildHasherDefault<IdHasher>>;

#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, id: i64) {
        // Fibonacci hashing: spreads sequential ids over the high bits hashbrown uses.
        self.0 = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Shards of a [`SharedMap`].
const SHARDS: usize = 64;

/// A map by id for the index's large tables, in shards behind `Arc`s, so that a snapshot of the
/// index is cheap to take and to change: cloning the map copies [`SHARDS`] pointers, and a write
/// copies only the shards it touches (the readers of the previous snapshot keep theirs).
pub struct SharedMap<V> {
    shards: Vec<Arc<IdMap<V>>>,
}

impl<V> Clone for SharedMap<V> {
    fn clone(&self) -> Self {
        SharedMap {
            shards: self.shards.clone(),
        }
    }
}

impl<V> Default for SharedMap<V> {
    fn default() -> Self {
        SharedMap {
            shards: (0..SHARDS).map(|_| Arc::new(IdMap::default())).collect(),
        }
    }
}

fn shard_of(id: i64) -> usize {
    ((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS
}

impl<V> SharedMap<V> {
    pub fn get(&self, id: &i64) -> Option<&V> {
        self.shards[shard_of(*id)].get(id)
    }
    pub fn contains_key(&self, id: &i64) -> bool {
        self.shards[shard_of(*id)].contains_key(id)
    }
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.len()).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| shard.is_empty())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&i64, &V)> {
        self.shards.iter().flat_map(|shard| shard.iter())
    }
    pub fn keys(&self) -> impl Iterator<Item = &i64> {
        self.iter().map(|(id, _)| id)
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }
}

impl<V: Clone> SharedMap<V> {
    fn shard_mut(&mut self, id: i64) -> &mut IdMap<V> {
        Arc::make_mut(&mut self.shards[shard_of(id)])
    }
    pub fn insert(&mut self, id: i64, value: V) -> Option<V> {
        self.shard_mut(id).insert(id, value)
    }
    pub fn remove(&mut self, id: &i64) -> Option<V> {
        if !self.contains_key(id) {
            return None;
        }
        self.shard_mut(*id).remove(id)
    }
    pub fn get_mut(&mut self, id: &i64) -> Option<&mut V> {
        if !self.contains_key(id) {
            return None;
        }
        self.shard_mut(*id).get_mut(id)
    }
    pub fn get_or_default(&mut self, id: i64) -> &mut V
    where
        V: Default,
    {
        self.shard_mut(id).entry(id).or_default()
    }
    pub fn reserve(&mut self, additional: usize) {
        for shard in &mut self.shards {
            Arc::make_mut(shard).reserve(additional / SHARDS + 1);
        }
    }
}

impl<V: Clone> From<IdMap<V>> for SharedMap<V> {
    fn from(map: IdMap<V>) -> Self {
        let mut shared = SharedMap::default();
        shared.reserve(map.len());
        for (id, value) in map {
            shared.insert(id, value);
        }
        shared
    }
}

/// A shared, immutable string. Codes, cities, states, issuers and names repeat across a national
/// directory: the index keeps one copy of each (see [`Interner`]).
pub type Sym = Arc<str>;

/// One copy of each repeated string the index holds.
#[derive(Default)]
pub struct Interner {
    strings: HashSet<Sym>,
    hours: HashMap<String, Arc<CompiledHours>>,
}

impl Interner {
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(existing) = self.strings.get(text) {
            return existing.clone();
        }
        let sym: Sym = Arc::from(text);
        self.strings.insert(sym.clone());
        sym
    }

    /// Takes in another interner's strings (after loading in parallel).
    fn absorb(&mut self, other: Interner) {
        self.strings.extend(other.strings);
        self.hours.extend(other.hours);
    }

    pub(super) fn intern_opt(&mut self, text: Option<&str>) -> Option<Sym> {
        text.map(|text| self.intern(text))
    }

    /// The compiled weekly hours of this JSON text (clinics and their branches mostly share a
    /// handful of schedules, and compiled hours are seven small vectors).
    pub(super) fn hours(&mut self, json: &str) -> SearchResult<Arc<CompiledHours>> {
        if let Some(hours) = self.hours.get(json) {
            return Ok(hours.clone());
        }
        let weekly_hours: WeeklyHours = serde_json::from_str(json).map_err(SearchError::corrupt)?;
        let hours = Arc::new(
            weekly_hours
                .compile("/opening_hours")
                .map_err(|_| SearchError::corrupt("stored opening hours are invalid"))?,
        );
        self.hours.insert(json.to_owned(), hours.clone());
        Ok(hours)
    }
}

#[derive(Debug, Clone)]
pub struct ClinicEntry {
    pub id: i64,
    pub name: Box<str>,
    pub website: Option<Box<str>>,
    pub phone: Option<Box<str>>,
}

/// A location as search filters, ranks and shows it.
#[derive(Debug, Clone)]
pub struct LocationEntry {
    pub id: i64,
    pub clinic_id: i64,
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<Sym>,
    pub address_line1: Box<str>,
    pub address_line2: Option<Sym>,
    pub city: Sym,
    pub state: Sym,
    pub postal_code: Sym,
    pub country: Sym,
    pub phone: Option<Box<str>>,
    pub timezone: Tz,
    pub hours: Arc<CompiledHours>,
    /// The trees that hold this location: (forest, credential tier). Forest 0 holds every
    /// location with a public provider; forest `1 + t` those where one offers treatment `t`.
    pub placements: Vec<(u16, u8)>,
    /// Every provider linked here; only those in the index's provider map are public.
    pub provider_ids: Box<[i64]>,
}

impl LocationEntry {
    /// The location's point on the unit sphere (where the R*-trees hold it).
    pub fn point(&self) -> [f64; 3] {
        unit_vector(self.latitude, self.longitude)
    }
}

/// A verified credential (unexpired or not: freshness is decided per request).
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    pub id: i64,
    pub kind: CredentialKind,
    pub issuer: Sym,
    pub jurisdiction: Option<Sym>,
    pub specialty_code: Option<Sym>,
    pub expires_on: Option<NaiveDate>,
    pub verified_at: Option<NaiveDateTime>,
    pub source_type: Option<SourceType>,
    pub next_due_on: Option<NaiveDate>,
}

impl VerifiedCredential {
    /// Unexpired and not overdue for re-verification beyond the grace.
    pub fn counts(&self, freshness: &Freshness) -> bool {
        freshness.counts(self.expires_on, self.next_due_on)
    }

    /// A state licence for `state` (verified: the index holds no other kind).
    pub fn is_licence_for(&self, state: &str) -> bool {
        self.kind == CredentialKind::StateLicense && self.jurisdiction.as_deref() == Some(state)
    }
}

/// A verified provider, as search needs it.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub id: i64,
    pub npi: Box<str>,
    pub given_name: Sym,
    pub family_name: Sym,
    pub degree: Degree,
    pub primary_specialty_code: Sym,
    pub specialty_codes: Box<[Sym]>,
    pub practice_start_year: Option<i32>,
    pub languages: Box<[Sym]>,
    pub accepting_new_patients: bool,
    /// (treatment code, recorded procedures a year)
    pub treatments: Box<[(Sym, Option<i32>)]>,
    pub credentials: Box<[VerifiedCredential]>,
    /// A name-and-date-of-birth screening match waits for a reviewer.
    pub screening_under_review: bool,
}

impl ProviderEntry {
    /// Listed in public search at a location in `state`: a verified state licence for that
    /// state (DC and the territories are states here) that counts today.
    pub fn is_listed_in(&self, state: &str, freshness: &Freshness) -> bool {
        self.active_credentials(freshness)
            .any(|c| c.is_licence_for(state))
    }

    /// Could be listed in `state` at some time: a verified licence there, expired or not (what
    /// the tier ceilings assume).
    pub fn may_be_listed_in(&self, state: &str) -> bool {
        self.credentials.iter().any(|c| c.is_licence_for(state))
    }

    pub fn active_credentials<'a>(
        &'a self,
        freshness: &'a Freshness,
    ) -> impl Iterator<Item = &'a VerifiedCredential> {
        self.credentials.iter().filter(move |c| c.counts(freshness))
    }

    pub fn years_of_experience(&self, today: NaiveDate) -> Option<u32> {
        self.practice_start_year
            .map(|start| (today.year() - start).max(0) as u32)
    }

    /// Whether "given family" contains `needle` (already lower-cased), ignoring case.
    pub fn name_contains(&self, needle: &str) -> bool {
        contains_ignoring_case(&format!("{} {}", self.given_name, self.family_name), needle)
    }
}

/// Whether `haystack` contains `needle` (already lower-cased), ignoring case; allocates only for
/// non-ASCII text.
pub fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() {
        let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
        needle.is_empty()
            || haystack
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

/// Locations are split into this many credential tiers, one R*-tree each.
pub const CREDENTIAL_TIERS: usize = 8;

/// One snapshot of the read model. Cloning it is cheap (its maps and trees are shared, see
/// [`SharedMap`]); a refresh changes a clone and publishes it ([`SearchIndex`]).
#[derive(Clone)]
pub struct DirectoryIndex {
    /// R*-trees by forest and credential tier: `forests[f][t]`. Forest 0 holds every location
    /// with a public provider; forest `1 + n` (see `treatment_forests`) the locations where a
    /// public provider offers that treatment. Tier `t` holds the locations whose best provider
    /// (for that forest's treatment) can score at most `(t + 1) / CREDENTIAL_TIERS` on
    /// credentials (see [`Self::credential_ceiling`]). A query for one treatment walks that
    /// treatment's forest, so a dense centre neither visits locations that do not offer it nor
    /// waits on locations whose credentials cannot compete.
    pub forests: Vec<Vec<Arc<RTree<IndexedPoint>>>>,
    /// treatment code → its forest.
    pub treatment_forests: HashMap<String, u16>,
    pub locations: SharedMap<LocationEntry>,
    pub clinics: SharedMap<ClinicEntry>,
    pub providers: SharedMap<ProviderEntry>,
    /// provider → the locations it is linked to (every link, public or not).
    pub provider_locations: SharedMap<Vec<i64>>,
    /// treatment code → specialty codes that usually treat it.
    pub treatment_specialties: HashMap<String, Vec<String>>,
    /// treatment code → on-label, off-label or cosmetic.
    pub treatment_labels: HashMap<String, LabelStatus>,
    /// The exclusion lists every provider has been screened against: (list name, list date).
    pub screening: Vec<(String, NaiveDate)>,
    /// The tier ceilings hold through the end of this year (experience grows with time).
    pub ceilings_valid_through_year: i32,
}

fn empty_forest() -> Vec<Arc<RTree<IndexedPoint>>> {
    (0..CREDENTIAL_TIERS)
        .map(|_| Arc::new(RTree::new()))
        .collect()
}

impl Default for DirectoryIndex {
    fn default() -> Self {
        DirectoryIndex {
            forests: vec![empty_forest()],
            treatment_forests: HashMap::new(),
            locations: SharedMap::default(),
            clinics: SharedMap::default(),
            providers: SharedMap::default(),
            provider_locations: SharedMap::default(),
            treatment_specialties: HashMap::new(),
            treatment_labels: HashMap::new(),
            screening: Vec::new(),
            ceilings_valid_through_year: chrono::Utc::now().year() + 1,
        }
    }
}

/// Shared handle: readers take the current snapshot (an `Arc`, cloned under a lock held only for
/// that) and never wait for a refresh; a refresh builds the next snapshot beside the current one
/// and publishes it with a pointer swap. Refreshes run one at a time.
#[derive(Clone, Default)]
pub struct SearchIndex {
    current: Arc<RwLock<Arc<DirectoryIndex>>>,
    /// Serialises refreshes so that a slower, older reload cannot overwrite a newer one; holds
    /// the strings and schedules the index shares.
    refresh_lock: Arc<Mutex<Interner>>,
}

/// What a refresh read from the database, ready to be applied to a snapshot.
struct Loaded {
    clinics: Vec<(i64, Option<ClinicEntry>)>,
    locations: Vec<(i64, Option<LocationEntry>)>,
    providers: Vec<(i64, Option<ProviderEntry>)>,
    /// The exclusion lists' screening facts, when a list changed.
    screening: Option<Vec<(String, NaiveDate)>>,
}

impl Loaded {
    fn read(
        connection: &mut DbConnection,
        interner: &mut Interner,
        affected: &Affected,
    ) -> SearchResult<Loaded> {
        Ok(Loaded {
            clinics: affected
                .clinics
                .iter()
                .map(|&id| Ok((id, load_clinic(connection, id)?)))
                .collect::<SearchResult<Vec<_>>>()?,
            locations: affected
                .locations
                .iter()
                .map(|&id| Ok((id, load_location(connection, interner, id)?)))
                .collect::<SearchResult<Vec<_>>>()?,
            providers: affected
                .providers
                .iter()
                .map(|&id| Ok((id, load_provider(connection, interner, id)?)))
                .collect::<SearchResult<Vec<_>>>()?,
            screening: if affected.exclusion_sources.is_empty() {
                None
            } else {
                Some(load_screening(connection)?)
            },
        })
    }

    /// Swaps the entities in; an entity that no longer exists (or a provider no longer
    /// verified) is removed.
    fn apply(self, index: &mut DirectoryIndex) {
        if let Some(screening) = self.screening {
            index.screening = screening;
        }
        for (id, clinic) in self.clinics {
            match clinic {
                Some(clinic) => index.clinics.insert(id, clinic),
                None => index.clinics.remove(&id),
            };
        }
        for (id, location) in self.locations {
            index.remove_location(id);
            if let Some(location) = location {
                index.insert_location(location);
            }
        }
        for (id, provider) in self.providers {
            index.replace_provider(id, provider);
        }
    }
}

/// Builds a whole index from the database: the places (clinics, locations and their links) and
/// the verified providers (with their credentials) load side by side, on a second connection,
/// when the pool has one free.
fn build(
    connection: &mut DbConnection,
    database: &Database,
) -> SearchResult<(DirectoryIndex, Interner)> {
    let mut second = database.try_connection();
    let (places, providers) = match second.as_deref_mut() {
        Some(other) => std::thread::scope(|scope| {
            let providers = scope.spawn(|| load_providers(other));
            let places = load_places(connection);
            let providers = providers
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (places, providers)
        }),
        None => (load_places(connection), load_providers(connection)),
    };
    // The load read the whole file through the connections' memory maps: unmap it.
    for loaded in std::iter::once(&mut *connection).chain(second.as_deref_mut()) {
        crate::db::release_mapped_pages(loaded)?;
    }
    let (mut index, mut interner) = places?;
    let (providers, provider_strings) = providers?;
    index.providers = SharedMap::from(providers);
    interner.absorb(provider_strings);
    index.rebuild_tiers();
    release_freed_memory();
    Ok((index, interner))
}

impl SearchIndex {
    /// The current snapshot: it stays as it is however long the caller holds it.
    pub fn read(&self) -> Arc<DirectoryIndex> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn publish(&self, index: DirectoryIndex) {
        let previous = std::mem::replace(
            &mut *self
                .current
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            Arc::new(index),
        );
        // The last reader of the previous snapshot frees it; not under the lock.
        drop(previous);
    }

    /// Builds the whole index from the database.
    pub fn load(connection: &mut DbConnection, database: &Database) -> SearchResult<SearchIndex> {
        let (index, interner) = build(connection, database)?;
        Ok(SearchIndex {
            current: Arc::new(RwLock::new(Arc::new(index))),
            refresh_lock: Arc::new(Mutex::new(interner)),
        })
    }

    /// Reloads what a committed write touched (from this process or, through the change feed,
    /// another).
    pub fn refresh_with(
        &self,
        connection: &mut DbConnection,
        affected: &Affected,
    ) -> SearchResult<()> {
        let mut interner = self
            .refresh_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let loaded = Loaded::read(connection, &mut interner, affected)?;
        let mut next = DirectoryIndex::clone(&self.read());
        loaded.apply(&mut next);
        self.publish(next);
        Ok(())
    }

    /// Rebuilds the whole index from the database beside the live one, catches it up with the
    /// changes committed meanwhile, and swaps it in: whatever the change feed missed is repaired.
    /// Returns how many entities differ between the two (ids present in one and not the other).
    pub fn reconcile(
        &self,
        connection: &mut DbConnection,
        database: &Database,
    ) -> SearchResult<usize> {
        let position = crate::db::change_log::latest_id(connection)?;
        let (mut fresh, mut interner) = build(connection, database)?;
        let mut guard = self
            .refresh_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let since = crate::db::change_log::affected_after(connection, position)?;
        Loaded::read(connection, &mut interner, &since)?.apply(&mut fresh);
        let current = self.read();
        let differ = |a: &dyn Fn(&i64) -> bool, b: &mut dyn Iterator<Item = &i64>| {
            b.filter(|id| !a(id)).count()
        };
        let changed = differ(
            &|id| fresh.locations.contains_key(id),
            &mut current.locations.keys(),
        ) + differ(
            &|id| current.locations.contains_key(id),
            &mut fresh.locations.keys(),
        ) + differ(
            &|id| fresh.providers.contains_key(id),
            &mut current.providers.keys(),
        ) + differ(
            &|id| current.providers.contains_key(id),
            &mut fresh.providers.keys(),
        );
        *guard = interner;
        self.publish(fresh);
        Ok(changed)
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
                    .is_some_and(|list| list.iter().any(|l| **l == *s))
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
                .filter(|(code, _)| treatment.is_none_or(|t| t == &**code))
                .filter_map(|(_, v)| v.map(|v| v.max(0) as u32))
                .max(),
        };
        credential_score(&inputs)
    }

    /// The credential bound of a tier.
    pub fn tier_ceiling(tier: usize) -> f64 {
        (tier + 1) as f64 / CREDENTIAL_TIERS as f64
    }

    fn tier_for(best: f64) -> u8 {
        // The smallest tier whose ceiling is at least `best`.
        let tier = (best * CREDENTIAL_TIERS as f64 - 1e-9).ceil().max(1.0) as usize - 1;
        tier.min(CREDENTIAL_TIERS - 1) as u8
    }

    /// The forest of a treatment, created on first use.
    fn forest_of(&mut self, treatment: &str) -> u16 {
        if let Some(&forest) = self.treatment_forests.get(treatment) {
            return forest;
        }
        self.forests.push(empty_forest());
        let forest = (self.forests.len() - 1) as u16;
        self.treatment_forests.insert(treatment.to_owned(), forest);
        forest
    }

    /// Where a location belongs now: (forest, tier) for every forest it is in, sorted.
    fn placements_of(&mut self, id: i64) -> Vec<(u16, u8)> {
        let Some(location) = self.locations.get(&id) else {
            return Vec::new();
        };
        // Only providers with a licence for the location's state can be listed there.
        let public: Vec<&ProviderEntry> = location
            .provider_ids
            .iter()
            .filter_map(|p| self.providers.get(p))
            .filter(|p| p.may_be_listed_in(&location.state))
            .collect();
        if public.is_empty() {
            return Vec::new();
        }
        let overall = public
            .iter()
            .map(|p| self.credential_ceiling(p, None))
            .fold(0.0, f64::max);
        let mut by_treatment: Vec<(Sym, f64)> = Vec::new();
        for provider in &public {
            for (code, _) in provider.treatments.iter() {
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
            location.point(),
        );
        for &(forest, tier) in old.iter().filter(|p| !new.contains(p)) {
            Arc::make_mut(&mut self.forests[forest as usize][tier as usize])
                .remove(&GeomWithData::new(point, id));
        }
        for &(forest, tier) in new.iter().filter(|p| !old.contains(p)) {
            Arc::make_mut(&mut self.forests[forest as usize][tier as usize])
                .insert(GeomWithData::new(point, id));
        }
    }

    fn remove_location(&mut self, id: i64) {
        if let Some(old) = self.locations.remove(&id) {
            let point = old.point();
            for &(forest, tier) in &old.placements {
                Arc::make_mut(&mut self.forests[forest as usize][tier as usize])
                    .remove(&GeomWithData::new(point, id));
            }
            for provider_id in old.provider_ids.iter() {
                if let Some(ids) = self.provider_locations.get_mut(provider_id) {
                    ids.retain(|location_id| *location_id != id);
                }
            }
        }
    }

    pub fn insert_location(&mut self, mut location: LocationEntry) {
        let id = location.id;
        location.placements = Vec::new();
        for provider_id in location.provider_ids.iter() {
            self.provider_locations
                .get_or_default(*provider_id)
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
            let point = location.point();
            for &(forest, tier) in &placements {
                let forest = forest as usize;
                while points.len() <= forest {
                    points.push(vec![Vec::new(); CREDENTIAL_TIERS]);
                }
                points[forest][tier as usize].push(GeomWithData::new(point, id));
            }
            location.placements = placements;
        }
        while points.len() < self.forests.len() {
            points.push(vec![Vec::new(); CREDENTIAL_TIERS]);
        }
        self.forests = points
            .into_iter()
            .map(|forest| {
                forest
                    .into_iter()
                    .map(|points| Arc::new(RTree::bulk_load(points)))
                    .collect()
            })
            .collect();
    }
}

/// Hands the heap that loading freed (the rows, the maps they were grouped in) back to the system.
/// glibc keeps freed memory for reuse, so without this the peak of the load stays resident for
/// the life of the process.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free heap pages to the kernel; it takes no pointers and
    // is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::loader::{location_entry, SearchLocationRow};

    fn location(id: i64, provider_ids: Vec<i64>) -> LocationEntry {
        let row = SearchLocationRow {
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
        };
        location_entry(&mut Interner::default(), row, provider_ids).unwrap()
    }

    fn provider(id: i64, kinds: &[CredentialKind]) -> ProviderEntry {
        ProviderEntry {
            id,
            npi: "".into(),
            given_name: "".into(),
            family_name: "".into(),
            degree: Degree::Md,
            primary_specialty_code: "".into(),
            specialty_codes: Box::new([]),
            practice_start_year: Some(2020),
            languages: Box::new([]),
            accepting_new_patients: true,
            treatments: Box::new([]),
            screening_under_review: false,
            credentials: kinds
                .iter()
                .map(|&kind| VerifiedCredential {
                    id,
                    kind,
                    issuer: "".into(),
                    jurisdiction: Some("NY".into()),
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
            let location = &index.locations.get(&id).unwrap();
            assert_eq!(location.placements, expected, "location {id}");
            for (forest, trees) in index.forests.iter().enumerate() {
                for (tier, tree) in trees.iter().enumerate() {
                    let present = tree.contains(&GeomWithData::new(location.point(), id));
                    assert_eq!(
                        present,
                        expected.contains(&(forest as u16, tier as u8)),
                        "location {id} in forest {forest} tier {tier}"
                    );
                }
            }
        }
    }

    /// A refresh changes a copy of the snapshot: a reader holding the previous one sees it
    /// exactly as it was (shards and trees are copied on write, never changed in place).
    #[test]
    fn a_snapshot_is_unchanged_by_later_writes() {
        let mut index = DirectoryIndex::default();
        index.replace_provider(1, Some(provider(1, &[CredentialKind::StateLicense])));
        for id in 10..20 {
            index.insert_location(location(id, vec![1]));
        }
        let snapshot = std::sync::Arc::new(index.clone());
        let held = |index: &DirectoryIndex| -> usize {
            index.forests.iter().flatten().map(|tree| tree.size()).sum()
        };
        assert_eq!(held(&snapshot), 10);

        let mut next = DirectoryIndex::clone(&snapshot);
        next.remove_location(10);
        next.replace_provider(1, None);
        next.insert_location(location(30, vec![2]));
        assert_consistent(&mut next);

        assert_eq!(
            held(&next),
            0,
            "no public provider left in the new snapshot"
        );
        assert_eq!(held(&snapshot), 10, "the reader's snapshot keeps its trees");
        assert!(snapshot.locations.contains_key(&10) && !next.locations.contains_key(&10));
        assert!(snapshot.providers.contains_key(&1) && !next.providers.contains_key(&1));
        assert!(!snapshot.locations.contains_key(&30));
        assert_eq!(snapshot.locations.get(&11).unwrap().placements.len(), 1);
        let mut snapshot = DirectoryIndex::clone(&snapshot);
        assert_consistent(&mut snapshot);
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
            index.locations.get(&12).unwrap().placements.is_empty(),
            "no public provider: in no tree"
        );
        let low = index.locations.get(&10).unwrap().placements[0];

        // A board certification and injector training raise both of provider 1's locations.
        let certified = [
            CredentialKind::StateLicense,
            CredentialKind::BoardCertification,
            CredentialKind::InjectorTraining,
        ];
        index.replace_provider(1, Some(provider(1, &certified)));
        assert_consistent(&mut index);
        assert!(index.locations.get(&10).unwrap().placements[0].1 > low.1);

        // Offering a treatment adds the treatment's forest.
        let mut offering = provider(1, &certified);
        offering.treatments = Box::new([("chronic_migraine".into(), Some(100))]);
        index.replace_provider(1, Some(offering));
        assert_consistent(&mut index);
        let forest = index.treatment_forests["chronic_migraine"];
        assert!(index
            .locations
            .get(&10)
            .unwrap()
            .placements
            .iter()
            .any(|(f, _)| *f == forest));

        // Provider 2 appears; provider 1 leaves the public directory.
        index.replace_provider(2, Some(provider(2, &[CredentialKind::StateLicense])));
        index.replace_provider(1, None);
        assert_consistent(&mut index);
        assert!(index.locations.get(&10).unwrap().placements.is_empty());
        assert_eq!(index.locations.get(&11).unwrap().placements, vec![low]);

        index.remove_location(11);
        assert_consistent(&mut index);
        let held: usize = index.forests.iter().flatten().map(|t| t.size()).sum();
        assert_eq!(held, 0);
    }
}
