//! Top-k ranked search that stops early.
//!
//! Candidates come out of the R*-tree nearest-first (great-circle order). Each is scored exactly
//! (geodesic distance, credentials at the query's instant). Because the credential part of the
//! score is bounded by 1 and the distance part falls with distance, a candidate not yet seen —
//! at least `geodesic_lower_bound_m(chord)` away — can score no more than
//! `ranking::total_score(bound, radius, 1.0)`. Once that cannot beat the k-th best result, the
//! walk stops: the answer is the same as ranking every location in the radius.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::geodesy::{geodesic_distance_m, geodesic_lower_bound_m, unit_vector};
use super::index::{contains_ignoring_case, DirectoryIndex, IdMap, LocationEntry, ProviderEntry};
use super::ranking::{self, CredentialInputs};
use crate::domain::{Coordinates, CredentialKind, Degree, Freshness, LabelStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchMode {
    Locations,
    Providers,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Distance decay blended with the credential score (docs/ranking.md).
    Best,
    /// Nearest first.
    Distance,
    /// Highest credential score first, then nearest.
    Credentials,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub treatments: Vec<String>,
    pub specialties: Vec<String>,
    pub degrees: Vec<Degree>,
    pub min_years_experience: Option<u32>,
    pub board_certified: Option<bool>,
    pub languages: Vec<String>,
    pub accepting_new_patients: Option<bool>,
    /// Only locations open at this instant (`open_now` sets it to the request's instant).
    pub open_at: Option<DateTime<Utc>>,
    /// Lower-cased text that the clinic's or the provider's name must contain.
    pub text: Option<String>,
    /// Only providers offering a treatment with one of these label statuses (among the requested
    /// treatments, when there are some).
    pub labels: Vec<LabelStatus>,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub mode: SearchMode,
    pub centre: Coordinates,
    pub radius_m: f64,
    pub filters: Filters,
    pub sort: Sort,
    pub limit: usize,
    /// Resume after this key (from the cursor of the previous page).
    pub after: Option<RankKey>,
    /// The instant credentials are judged at.
    pub now: DateTime<Utc>,
    /// The most candidates the walk may visit (its work budget).
    pub budget: usize,
    /// Days past its re-verification date a credential still counts.
    pub reverify_grace_days: u32,
}

/// A result's place in the order: higher `primary` first, then nearer, then lower id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankKey {
    pub primary: f64,
    pub distance_m: f64,
    pub id: i64,
}

impl RankKey {
    /// `Less` when `self` ranks before `other`.
    pub fn rank_cmp(&self, other: &RankKey) -> Ordering {
        other
            .primary
            .total_cmp(&self.primary)
            .then(self.distance_m.total_cmp(&other.distance_m))
            .then(self.id.cmp(&other.id))
    }
}

#[derive(Debug, Clone, Copy)]
struct Ranked(RankKey);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

/// One result: a location (locations mode) or a provider at its nearest matching location.
#[derive(Debug, Clone)]
pub struct Hit {
    pub key: RankKey,
    pub location_id: i64,
    /// The provider whose credentials scored (for a location: its best match).
    pub provider_id: i64,
    pub distance_m: f64,
    pub credentials: CredentialInputs,
}

#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub hits: Vec<Hit>,
    /// More results follow the last hit.
    pub has_more: bool,
    /// Locations taken out of the spatial index: far below the total when the walk stops early.
    pub candidates_visited: usize,
    /// Candidates that passed the filters but were turned away on their lower-bound distance,
    /// without paying for the exact (Karney) one.
    pub turned_away_by_bound: usize,
    /// The walk used up its budget: `hits` are the best of the locations it saw, which include
    /// every location nearer than `complete_within_m`; farther ones were not considered.
    pub partial: bool,
    /// With `partial`, the distance within which every location was considered.
    pub complete_within_m: Option<f64>,
}

/// Filters and scores providers for one request.
pub struct ProviderMatcher<'a> {
    request: &'a SearchRequest,
    freshness: Freshness,
    relevant_specialties: Option<HashSet<&'a str>>,
    /// With a `label` filter: the treatment codes a provider must offer one of.
    labelled_treatments: Option<HashSet<&'a str>>,
}

impl<'a> ProviderMatcher<'a> {
    pub fn new(index: &'a DirectoryIndex, request: &'a SearchRequest) -> ProviderMatcher<'a> {
        let relevant_specialties = (!request.filters.treatments.is_empty()).then(|| {
            request
                .filters
                .treatments
                .iter()
                .filter_map(|t| index.treatment_specialties.get(t))
                .flatten()
                .map(String::as_str)
                .collect()
        });
        let filters = &request.filters;
        let labelled_treatments = (!filters.labels.is_empty()).then(|| {
            index
                .treatment_labels
                .iter()
                .filter(|(_, label)| filters.labels.contains(label))
                .map(|(code, _)| code.as_str())
                .filter(|code| {
                    filters.treatments.is_empty() || filters.treatments.iter().any(|t| t == code)
                })
                .collect()
        });
        ProviderMatcher {
            request,
            freshness: Freshness::new(request.now.date_naive(), request.reverify_grace_days),
            relevant_specialties,
            labelled_treatments,
        }
    }

    pub fn today(&self) -> NaiveDate {
        self.freshness.today
    }

    /// The day and grace credentials are judged by.
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    /// The credential inputs, or `None` when the provider is not listed at a location in `state`
    /// or fails a filter.
    pub fn evaluate(
        &self,
        provider: &ProviderEntry,
        state: &str,
        clinic_name_matches: bool,
    ) -> Option<CredentialInputs> {
        let filters = &self.request.filters;
        if !provider.is_listed_in(state, &self.freshness) {
            return None;
        }
        if let Some(labelled) = &self.labelled_treatments {
            if !provider
                .treatments
                .iter()
                .any(|(code, _)| labelled.contains(&**code))
            {
                return None;
            }
        }
        if !filters.treatments.is_empty()
            && !provider
                .treatments
                .iter()
                .any(|(code, _)| filters.treatments.iter().any(|t| **t == **code))
        {
            return None;
        }
        if !filters.specialties.is_empty()
            && !filters.specialties.iter().any(|s| {
                **s == *provider.primary_specialty_code
                    || provider.specialty_codes.iter().any(|code| **code == **s)
            })
        {
            return None;
        }
        if !filters.degrees.is_empty() && !filters.degrees.contains(&provider.degree) {
            return None;
        }
        if !filters.languages.is_empty()
            && !filters
                .languages
                .iter()
                .any(|l| provider.languages.iter().any(|spoken| **spoken == **l))
        {
            return None;
        }
        if filters
            .accepting_new_patients
            .is_some_and(|wanted| wanted != provider.accepting_new_patients)
        {
            return None;
        }
        let years = provider.years_of_experience(self.freshness.today);
        if filters
            .min_years_experience
            .is_some_and(|min| years.unwrap_or(0) < min)
        {
            return None;
        }
        if let Some(text) = &filters.text {
            if !clinic_name_matches && !provider.name_contains(text) {
                return None;
            }
        }
        let inputs = self.credential_inputs(provider, years);
        if filters
            .board_certified
            .is_some_and(|wanted| wanted != inputs.relevant_board_certification)
        {
            return None;
        }
        Some(inputs)
    }

    pub fn is_relevant_certification(&self, specialty_code: Option<&str>) -> bool {
        match &self.relevant_specialties {
            None => true,
            Some(relevant) => specialty_code.is_some_and(|code| relevant.contains(code)),
        }
    }

    fn credential_inputs(&self, provider: &ProviderEntry, years: Option<u32>) -> CredentialInputs {
        let mut inputs = CredentialInputs {
            years_of_experience: years,
            ..Default::default()
        };
        for credential in provider.active_credentials(&self.freshness) {
            match credential.kind {
                CredentialKind::BoardCertification
                    if self.is_relevant_certification(credential.specialty_code()) =>
                {
                    inputs.relevant_board_certification = true
                }
                CredentialKind::InjectorTraining => inputs.injector_training = true,
                _ => {}
            }
        }
        let treatments = &self.request.filters.treatments;
        inputs.annual_procedure_volume = provider
            .treatments
            .iter()
            .filter(|(code, _)| treatments.is_empty() || treatments.iter().any(|t| **t == **code))
            .filter_map(|(_, volume)| volume.map(|v| v.max(0) as u32))
            .max();
        inputs
    }
}

fn primary(sort: Sort, distance_m: f64, radius_m: f64, credential_score: f64) -> f64 {
    match sort {
        Sort::Best => ranking::total_score(distance_m, radius_m, credential_score),
        Sort::Distance => 0.0,
        Sort::Credentials => credential_score,
    }
}

type Candidates<'a> = std::iter::Peekable<Box<dyn Iterator<Item = (i64, f64)> + 'a>>;

/// A stream of candidate locations, nearest first: (location id, lower bound on its geodesic
/// distance from the centre), every one of which scores at most `credential_ceiling` on
/// credentials.
pub struct CandidateStream<'a> {
    pub credential_ceiling: f64,
    pub candidates: Box<dyn Iterator<Item = (i64, f64)> + 'a>,
}

/// The in-memory R*-trees, one stream per credential tier of the forest the query can use:
/// the requested treatment's when it asks for exactly one (its ceilings are computed for that
/// treatment), else the forest of every public location.
pub fn memory_streams<'a>(
    index: &'a DirectoryIndex,
    request: &SearchRequest,
) -> Vec<CandidateStream<'a>> {
    let centre = unit_vector(request.centre.lat, request.centre.lon);
    // Past the year the ceilings were computed for, experience may exceed them: assume the most.
    let ceilings_hold = request.now.year() <= index.ceilings_valid_through_year;
    let forest = match request.filters.treatments.as_slice() {
        [treatment] => match index.treatment_forests.get(treatment) {
            Some(&forest) => &index.forests[usize::from(forest)],
            None => return Vec::new(), // nobody public offers it
        },
        _ => &index.forests[0],
    };
    forest
        .iter()
        .enumerate()
        .filter(|(_, tree)| tree.size() > 0)
        .map(|(tier, tree)| CandidateStream {
            credential_ceiling: if ceilings_hold {
                DirectoryIndex::tier_ceiling(tier)
            } else {
                1.0
            },
            candidates: Box::new(
                tree.nearest_neighbor_iter_with_distance_2(&centre).map(
                    |(point, chord_squared)| (point.data, geodesic_lower_bound_m(chord_squared)),
                ),
            ),
        })
        .collect()
}

/// The ranked search on the in-memory spatial index.
pub fn search(index: &DirectoryIndex, request: &SearchRequest) -> SearchOutcome {
    search_with(index, request, memory_streams(index, request))
}

/// The best rank key any candidate at distance ≥ `lower_bound_m` with credentials at most
/// `credential_ceiling` could have.
fn bound_key(request: &SearchRequest, lower_bound_m: f64, credential_ceiling: f64) -> RankKey {
    RankKey {
        primary: primary(
            request.sort,
            lower_bound_m,
            request.radius_m,
            credential_ceiling,
        ),
        distance_m: lower_bound_m,
        id: i64::MIN,
    }
}

/// The ranked search over candidate streams (the spatial seam: one stream per credential tier of
/// the in-memory R*-trees; another spatial index would plug in here). The streams are walked side by side, always taking the head that could
/// rank highest, so the walk can stop as soon as that head cannot beat the k-th result held.
pub fn search_with(
    index: &DirectoryIndex,
    request: &SearchRequest,
    streams: Vec<CandidateStream<'_>>,
) -> SearchOutcome {
    let matcher = ProviderMatcher::new(index, request);
    let target = request.limit + 1; // one more than asked tells whether another page follows
    let mut best: BTreeSet<Ranked> = BTreeSet::new();
    let mut hits: IdMap<Hit> = IdMap::default();
    let mut candidates_visited = 0;
    let mut turned_away_by_bound = 0;
    let mut streams: Vec<(f64, Candidates<'_>)> = streams
        .into_iter()
        .map(|stream| (stream.credential_ceiling, stream.candidates.peekable()))
        .collect();

    let consider = |hit: Hit, best: &mut BTreeSet<Ranked>, hits: &mut IdMap<Hit>| {
        let key = hit.key;
        if let Some(existing) = hits.get(&key.id) {
            if existing.key.rank_cmp(&key) != Ordering::Greater {
                return; // a provider already seen at a nearer (or equal) location
            }
            best.remove(&Ranked(existing.key));
        }
        // Remember every result's best key, even one before the cursor: a provider shown on an
        // earlier page must not come back at a farther location.
        hits.insert(key.id, hit);
        if request
            .after
            .is_some_and(|after| key.rank_cmp(&after) != Ordering::Greater)
        {
            return;
        }
        if best.len() == target
            && best
                .last()
                .is_some_and(|worst| key.rank_cmp(&worst.0) != Ordering::Less)
        {
            return;
        }
        best.insert(Ranked(key));
        if best.len() > target {
            best.pop_last();
        }
    };

    loop {
        // The head that could rank highest; heads beyond the radius end their stream.
        let mut chosen: Option<(usize, RankKey)> = None;
        let mut nearest_unseen_m = f64::INFINITY;
        for (position, (ceiling, stream)) in streams.iter_mut().enumerate() {
            let Some(&(_, lower_bound_m)) = stream.peek() else {
                continue;
            };
            if lower_bound_m > request.radius_m {
                continue;
            }
            nearest_unseen_m = nearest_unseen_m.min(lower_bound_m);
            let key = bound_key(request, lower_bound_m, *ceiling);
            if chosen.is_none_or(|(_, best_key)| key.rank_cmp(&best_key) == Ordering::Less) {
                chosen = Some((position, key));
            }
        }
        let Some((position, bound)) = chosen else {
            break;
        };
        if best.len() == target && can_stop(request, &best, &bound, nearest_unseen_m) {
            break;
        }
        if candidates_visited >= request.budget {
            // Out of budget: the best of what was seen, which is every location nearer than
            // `nearest_unseen_m` (and a few just beyond it), and say so.
            let hits = best
                .into_iter()
                .take(request.limit)
                .filter_map(|ranked| hits.remove(&ranked.0.id))
                .collect();
            return SearchOutcome {
                hits,
                has_more: false,
                candidates_visited,
                turned_away_by_bound,
                partial: true,
                complete_within_m: Some(nearest_unseen_m),
            };
        }
        let Some((location_id, lower_bound_m)) = streams[position].1.next() else {
            break;
        };
        candidates_visited += 1;
        let Some(location) = index.locations.get(&location_id) else {
            continue;
        };
        // Filters first: most candidates in a dense centre fail them, and the exact geodesic
        // distance is the costlier computation.
        if let Some(instant) = request.filters.open_at {
            if !location.hours.is_open_at(location.timezone, instant) {
                continue;
            }
        }
        let clinic_name_matches = clinic_name_matches(index, request, location);
        let matching = matching_providers(index, &matcher, location, clinic_name_matches);
        if matching.is_empty() {
            continue;
        }
        // The exact distance only where it can matter: with the results held, a candidate whose
        // best possible key (its lower-bound distance, its own credentials) cannot beat the worst
        // of them is one `consider` would turn away after paying for Karney's inverse.
        if cannot_enter(request, &best, target, location, lower_bound_m, &matching) {
            turned_away_by_bound += 1;
            continue;
        }
        let distance_m = geodesic_distance_m(
            request.centre.lat,
            request.centre.lon,
            location.latitude,
            location.longitude,
        );
        if distance_m > request.radius_m {
            continue;
        }
        match request.mode {
            SearchMode::Locations => {
                let Some((provider_id, inputs, score)) = matching
                    .into_iter()
                    .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)))
                else {
                    continue;
                };
                let key = RankKey {
                    primary: primary(request.sort, distance_m, request.radius_m, score),
                    distance_m,
                    id: location.id,
                };
                consider(
                    Hit {
                        key,
                        location_id: location.id,
                        provider_id,
                        distance_m,
                        credentials: inputs,
                    },
                    &mut best,
                    &mut hits,
                );
            }
            SearchMode::Providers => {
                for (provider_id, inputs, score) in matching {
                    let key = RankKey {
                        primary: primary(request.sort, distance_m, request.radius_m, score),
                        distance_m,
                        id: provider_id,
                    };
                    consider(
                        Hit {
                            key,
                            location_id: location.id,
                            provider_id,
                            distance_m,
                            credentials: inputs,
                        },
                        &mut best,
                        &mut hits,
                    );
                }
            }
        }
    }

    let has_more = best.len() > request.limit;
    let hits = best
        .into_iter()
        .take(request.limit)
        .filter_map(|ranked| hits.remove(&ranked.0.id))
        .collect();
    SearchOutcome {
        hits,
        has_more,
        candidates_visited,
        turned_away_by_bound,
        partial: false,
        complete_within_m: None,
    }
}

/// True when none of `matching` at `location` (at least `lower_bound_m` away) can enter the
/// results held, whatever its exact distance. Only on a first page: there `best`, once full,
/// stays full and its worst key only improves, so a candidate turned away now would be turned
/// away later, and `consider` never needs its key to turn away a farther one. (With a cursor a
/// result can leave the page, and the key of a provider seen before the cursor matters.)
fn cannot_enter(
    request: &SearchRequest,
    best: &BTreeSet<Ranked>,
    target: usize,
    location: &LocationEntry,
    lower_bound_m: f64,
    matching: &[(i64, CredentialInputs, f64)],
) -> bool {
    if request.after.is_some() || best.len() < target {
        return false;
    }
    let Some(worst) = best.last() else {
        return false;
    };
    let at_best = |id: i64, score: f64| RankKey {
        primary: primary(request.sort, lower_bound_m, request.radius_m, score),
        distance_m: lower_bound_m,
        id,
    };
    matching.iter().all(|&(provider_id, _, score)| {
        let id = match request.mode {
            SearchMode::Locations => location.id,
            SearchMode::Providers => provider_id,
        };
        at_best(id, score).rank_cmp(&worst.0) != Ordering::Less
    })
}

/// True when no unseen candidate can enter the top results (`bound` is the best key any of them
/// could have), and — for providers, whose result is their nearest location — no result held can
/// still move nearer (every unseen candidate is at least `nearest_unseen_m` away).
fn can_stop(
    request: &SearchRequest,
    best: &BTreeSet<Ranked>,
    bound: &RankKey,
    nearest_unseen_m: f64,
) -> bool {
    let Some(worst) = best.last() else {
        return false;
    };
    if bound.rank_cmp(&worst.0) != Ordering::Greater {
        return false;
    }
    match request.mode {
        SearchMode::Locations => true,
        SearchMode::Providers => best
            .iter()
            .all(|ranked| ranked.0.distance_m < nearest_unseen_m),
    }
}

/// Whether the free-text filter matches the clinic's name (then every provider there passes it).
pub fn clinic_name_matches(
    index: &DirectoryIndex,
    request: &SearchRequest,
    location: &LocationEntry,
) -> bool {
    match (
        &request.filters.text,
        index.clinics.get(&location.clinic_id),
    ) {
        (Some(text), Some(clinic)) => contains_ignoring_case(clinic.name(), text),
        _ => false,
    }
}

/// (provider id, credential inputs, credential score) for each public provider here that passes
/// the filters.
pub fn matching_providers(
    index: &DirectoryIndex,
    matcher: &ProviderMatcher<'_>,
    location: &LocationEntry,
    clinic_name_matches: bool,
) -> Vec<(i64, CredentialInputs, f64)> {
    location
        .provider_ids
        .iter()
        .filter_map(|id| index.providers.get(id))
        .filter_map(|provider| {
            let inputs = matcher.evaluate(provider, location.state(), clinic_name_matches)?;
            Some((provider.id, inputs, ranking::credential_score(&inputs)))
        })
        .collect()
}

/// Every result in the radius, ranked without early stopping: the reference the early-stopping
/// search must equal (used by the tests and the benchmark's cost curve).
pub fn search_exhaustive(index: &DirectoryIndex, request: &SearchRequest) -> Vec<Hit> {
    let matcher = ProviderMatcher::new(index, request);
    let mut hits: HashMap<i64, Hit> = HashMap::new();
    for location in index.locations.values() {
        let distance_m = geodesic_distance_m(
            request.centre.lat,
            request.centre.lon,
            location.latitude,
            location.longitude,
        );
        if distance_m > request.radius_m {
            continue;
        }
        if request
            .filters
            .open_at
            .is_some_and(|instant| !location.hours.is_open_at(location.timezone, instant))
        {
            continue;
        }
        let clinic_name_matches = clinic_name_matches(index, request, location);
        let matching = matching_providers(index, &matcher, location, clinic_name_matches);
        let candidates: Vec<Hit> = match request.mode {
            SearchMode::Locations => matching
                .into_iter()
                .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)))
                .map(|(provider_id, inputs, score)| Hit {
                    key: RankKey {
                        primary: primary(request.sort, distance_m, request.radius_m, score),
                        distance_m,
                        id: location.id,
                    },
                    location_id: location.id,
                    provider_id,
                    distance_m,
                    credentials: inputs,
                })
                .into_iter()
                .collect(),
            SearchMode::Providers => matching
                .into_iter()
                .map(|(provider_id, inputs, score)| Hit {
                    key: RankKey {
                        primary: primary(request.sort, distance_m, request.radius_m, score),
                        distance_m,
                        id: provider_id,
                    },
                    location_id: location.id,
                    provider_id,
                    distance_m,
                    credentials: inputs,
                })
                .collect(),
        };
        for hit in candidates {
            let better = hits
                .get(&hit.key.id)
                .is_none_or(|existing| hit.key.rank_cmp(&existing.key) == Ordering::Less);
            if better {
                hits.insert(hit.key.id, hit);
            }
        }
    }
    let mut hits: Vec<Hit> = hits
        .into_values()
        .filter(|hit| {
            request
                .after
                .is_none_or(|after| hit.key.rank_cmp(&after) == Ordering::Greater)
        })
        .collect();
    hits.sort_by(|a, b| a.key.rank_cmp(&b.key));
    hits
}
