//! The in-memory read model behind public search: every location in an R*-tree on the unit
//! sphere, and the public facts about clinics and verified providers that search filters and
//! ranks on. Built from the database at start-up and refreshed, entity by entity, by every write
//! after it commits (the database stays the source of truth). Reading the rows into entries is
//! `loader`'s job. See docs/architecture.md.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Datelike, NaiveDate};
use rstar::primitives::GeomWithData;
use rstar::RTree;

pub use super::entries::{
    contains_ignoring_case, ClinicEntry, CredentialNames, Interner, LocationEntry, PackedTexts,
    PlaceNames, ProviderEntry, Sym, VerifiedCredential,
};
use super::loader::{
    load_clinic, load_location, load_places, load_provider, load_providers, load_screening,
};
use super::ranking::{credential_score, CredentialInputs};
use super::SearchResult;
pub use crate::db::change_log::Affected;
use crate::db::{without_statement_timeout, Database, DbConnection};
use crate::domain::{CredentialKind, LabelStatus};

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
/// copies only the shards it touches (the readers of the previous snapshot keep theirs). Each
/// value sits behind its own `Arc`: a hash table keeps up to half its slots empty after it
/// grows, and a slot of two words (id, pointer) wastes far less than a slot of a whole entry
/// (240 bytes for a location: 260 MB of empty slots at a million locations); copying a shard for
/// a write then copies pointers, not entries.
pub struct SharedMap<V> {
    shards: Vec<Arc<IdMap<Arc<V>>>>,
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
        self.shards[shard_of(*id)].get(id).map(|value| &**value)
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
        self.shards
            .iter()
            .flat_map(|shard| shard.iter().map(|(id, value)| (id, &**value)))
    }
    pub fn keys(&self) -> impl Iterator<Item = &i64> {
        self.iter().map(|(id, _)| id)
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }
}

impl<V: Clone> SharedMap<V> {
    fn shard_mut(&mut self, id: i64) -> &mut IdMap<Arc<V>> {
        Arc::make_mut(&mut self.shards[shard_of(id)])
    }
    pub fn insert(&mut self, id: i64, value: V) -> Option<Arc<V>> {
        self.shard_mut(id).insert(id, Arc::new(value))
    }
    pub fn remove(&mut self, id: &i64) -> Option<Arc<V>> {
        if !self.contains_key(id) {
            return None;
        }
        self.shard_mut(*id).remove(id)
    }
    /// The value to change: copied first if a published snapshot still shares it.
    pub fn get_mut(&mut self, id: &i64) -> Option<&mut V> {
        if !self.contains_key(id) {
            return None;
        }
        self.shard_mut(*id).get_mut(id).map(Arc::make_mut)
    }
    pub fn get_or_default(&mut self, id: i64) -> &mut V
    where
        V: Default,
    {
        Arc::make_mut(self.shard_mut(id).entry(id).or_default())
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
    let started = std::time::Instant::now();
    let mut second = database.try_connection();
    let (places, providers) = match second.as_deref_mut() {
        Some(other) => std::thread::scope(|scope| {
            let providers = scope.spawn(|| {
                let providers = without_statement_timeout(other, load_providers);
                (providers, started.elapsed())
            });
            let places = (
                without_statement_timeout(connection, load_places),
                started.elapsed(),
            );
            let providers = providers
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (places, providers)
        }),
        None => {
            let places = (
                without_statement_timeout(connection, load_places),
                started.elapsed(),
            );
            let providers = without_statement_timeout(connection, load_providers);
            (places, (providers, started.elapsed()))
        }
    };
    let ((places, places_loaded), (providers, providers_loaded)) = (places, providers);
    // The load read the whole file through the connections' memory maps: unmap it.
    for loaded in std::iter::once(&mut *connection).chain(second.as_deref_mut()) {
        crate::db::release_mapped_pages(loaded)?;
    }
    let (mut index, mut interner) = places?;
    let (providers, provider_strings) = providers?;
    index.providers = SharedMap::from(providers);
    interner.absorb(provider_strings);
    let trees = std::time::Instant::now();
    index.rebuild_tiers();
    release_freed_memory();
    tracing::info!(
        places_ms = places_loaded.as_millis() as u64,
        providers_ms = providers_loaded.as_millis() as u64,
        trees_ms = trees.elapsed().as_millis() as u64,
        locations = index.locations.len(),
        providers = index.providers.len(),
        clinics = index.clinics.len(),
        tree_points = index.tree_points(),
        "search index loaded"
    );
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
                c.kind == CredentialKind::BoardCertification && relevant(c.specialty_code())
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

    /// How many points the R*-trees hold (a location is in one tree per forest it belongs to).
    pub fn tree_points(&self) -> usize {
        self.forests.iter().flatten().map(|tree| tree.size()).sum()
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

    /// A location's credential tiers: overall and for each treatment a public provider offers
    /// there; `None` when no public provider is linked (read-only, so the load runs it on every
    /// core).
    fn tiers_of(&self, location: &LocationEntry) -> Option<LocationTiers> {
        // Only providers with a licence for the location's state can be listed there.
        let public: Vec<&ProviderEntry> = location
            .provider_ids
            .iter()
            .filter_map(|p| self.providers.get(p))
            .filter(|p| p.may_be_listed_in(location.state()))
            .collect();
        if public.is_empty() {
            return None;
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
        Some(LocationTiers {
            overall: Self::tier_for(overall),
            by_treatment: by_treatment
                .into_iter()
                .map(|(code, best)| (code, Self::tier_for(best)))
                .collect(),
        })
    }

    /// (forest, tier) for every forest a location with these tiers is in, sorted.
    fn placements_from(&mut self, tiers: Option<LocationTiers>) -> Box<[(u16, u8)]> {
        let Some(tiers) = tiers else {
            return Box::default();
        };
        let mut placements = vec![(0, tiers.overall)];
        for (code, tier) in tiers.by_treatment {
            placements.push((self.forest_of(&code), tier));
        }
        placements.sort_unstable();
        placements.into()
    }

    /// Where a location belongs now: (forest, tier) for every forest it is in, sorted.
    fn placements_of(&mut self, id: i64) -> Box<[(u16, u8)]> {
        let tiers = self
            .locations
            .get(&id)
            .and_then(|location| self.tiers_of(location));
        self.placements_from(tiers)
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
        location.placements = Box::default();
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
    /// entries), both on every core.
    pub fn rebuild_tiers(&mut self) {
        let ids: Vec<i64> = self.locations.keys().copied().collect();
        let tiers = {
            let index = &*self;
            parallel_map(&ids, |id| {
                index
                    .locations
                    .get(id)
                    .and_then(|location| index.tiers_of(location))
            })
        };
        let mut points: Vec<Vec<Vec<IndexedPoint>>> = Vec::new();
        for (id, tiers) in ids.into_iter().zip(tiers) {
            let placements = self.placements_from(tiers);
            let Some(location) = self.locations.get_mut(&id) else {
                continue;
            };
            let point = location.point();
            for &(forest, tier) in placements.iter() {
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
        let shape: Vec<usize> = points.iter().map(Vec::len).collect();
        let mut trees = parallel_map_owned(points.into_iter().flatten().collect(), |points| {
            Arc::new(RTree::bulk_load(points))
        })
        .into_iter();
        self.forests = shape
            .into_iter()
            .map(|tiers| trees.by_ref().take(tiers).collect())
            .collect();
    }
}

/// A location's credential tier overall and per treatment offered there.
struct LocationTiers {
    overall: u8,
    by_treatment: Vec<(Sym, u8)>,
}

/// How many threads the start-up work is split over.
fn load_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `items.iter().map(f).collect()`, on every core (in contiguous chunks, order kept).
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let chunk = items.len().div_ceil(load_threads()).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        joined(workers)
    })
}

/// The workers' results end to end, in the workers' order (a worker's panic goes on here).
fn joined<R>(workers: Vec<std::thread::ScopedJoinHandle<'_, Vec<R>>>) -> Vec<R> {
    workers
        .into_iter()
        .flat_map(|worker| {
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .collect()
}

/// `items.into_iter().map(f).collect()` on every core, taking the items one at a time (they
/// differ in size: a tree of the whole country beside a rare treatment's), order kept.
fn parallel_map_owned<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..load_threads())
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .next();
                        let Some((position, item)) = next else {
                            break done;
                        };
                        done.push((position, f(item)));
                    }
                })
            })
            .collect();
        joined(workers)
    });
    results.sort_unstable_by_key(|(position, _)| *position);
    debug_assert_eq!(results.len(), count);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Hands the heap that loading freed (the rows, the maps they were grouped in) back to the system
/// where glibc's malloc is the allocator (the server binary uses mimalloc, which returns freed
/// memory itself; the library's other users and the tests do not).
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
    use crate::domain::Degree;
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
                    names: Arc::new(CredentialNames::new("", Some("NY"), None)),
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
        assert_eq!(*index.locations.get(&11).unwrap().placements, [low]);

        index.remove_location(11);
        assert_consistent(&mut index);
        let held: usize = index.forests.iter().flatten().map(|t| t.size()).sum();
        assert_eq!(held, 0);
    }
}
