//! The spatial search against brute force, on generated data: the early-stopping, nearest-first
//! walk must return exactly what ranking every location would.

use chrono::Utc;
use clinic_finder::domain::{Coordinates, CredentialKind, Degree};
use clinic_finder::search::geodesy::geodesic_distance_m;
use clinic_finder::search::index::{
    ClinicEntry, CredentialNames, DirectoryIndex, Interner, ProviderEntry, VerifiedCredential,
};
use clinic_finder::search::loader::{location_entry, SearchLocationRow};
use clinic_finder::search::{search, search_exhaustive, Filters, SearchMode, SearchRequest, Sort};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

const TREATMENTS: [&str; 3] = [
    "chronic_migraine",
    "cervical_dystonia",
    "axillary_hyperhidrosis",
];

/// Cluster centres, including the antimeridian and both polar regions.
const CLUSTERS: [(f64, f64); 8] = [
    (40.75, -73.99),
    (34.05, -118.24),
    (0.0, 179.95),
    (-17.7, -179.9),
    (89.6, 10.0),
    (-89.5, -60.0),
    (51.5, -0.1),
    (44.0, -103.0),
];

fn generated_index(rng: &mut ChaCha8Rng, count: usize) -> DirectoryIndex {
    let mut index = DirectoryIndex::default();
    index
        .treatment_specialties
        .insert("chronic_migraine".into(), vec!["2084N0400X".into()]);
    index
        .clinics
        .insert(1, ClinicEntry::new(1, "Generated", None, None));
    let mut interner = Interner::default();
    for id in 1..=count as i64 {
        let (lat, lon) = if rng.gen_bool(0.3) {
            (rng.gen_range(-90.0..=90.0), rng.gen_range(-180.0..=180.0))
        } else {
            let (clat, clon) = CLUSTERS[rng.gen_range(0..CLUSTERS.len())];
            let spread: f64 = [0.01, 0.3, 2.0][rng.gen_range(0..3)];
            let lat: f64 = (clat + rng.gen_range(-spread..=spread)).clamp(-90.0, 90.0);
            let lon: f64 = ((clon + rng.gen_range(-spread..=spread) + 540.0) % 360.0) - 180.0;
            (lat, lon)
        };
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
            latitude: lat,
            longitude: lon,
            timezone: "UTC".into(),
            opening_hours: "{}".into(),
            phone: None,
        };
        // Provider ids repeat across a few locations, so providers have several sites.
        let provider_id = (id + 2) / 3;
        index
            .insert_location(location_entry(&mut interner, row, vec![provider_id]).expect("entry"));
        if !index.providers.contains_key(&provider_id) {
            index
                .providers
                .insert(provider_id, random_provider(rng, provider_id));
        }
    }
    // Providers arrived after their locations: place every location in its credential tier.
    index.rebuild_tiers();
    index
}

fn random_provider(rng: &mut ChaCha8Rng, id: i64) -> ProviderEntry {
    let credential = |kind, specialty: Option<&str>| VerifiedCredential {
        id,
        kind,
        names: Arc::new(CredentialNames::new("x", Some("NY"), specialty)),
        expires_on: None,
        verified_at: None,
        source_type: None,
        next_due_on: None,
    };
    let mut credentials = Vec::new();
    if rng.gen_bool(0.9) {
        credentials.push(credential(CredentialKind::StateLicense, None));
    }
    if rng.gen_bool(0.4) {
        credentials.push(credential(
            CredentialKind::BoardCertification,
            Some("2084N0400X"),
        ));
    }
    if rng.gen_bool(0.3) {
        credentials.push(credential(CredentialKind::InjectorTraining, None));
    }
    let mut treatments = Vec::new();
    for treatment in TREATMENTS {
        if rng.gen_bool(0.5) {
            let volume = rng.gen_bool(0.3).then(|| rng.gen_range(0..800));
            treatments.push((treatment.into(), volume));
        }
    }
    ProviderEntry {
        id,
        npi: "".into(),
        given_name: "G".into(),
        family_name: format!("F{id}").into(),
        degree: if rng.gen_bool(0.8) {
            Degree::Md
        } else {
            Degree::Np
        },
        primary_specialty_code: "2084N0400X".into(),
        specialty_codes: Box::new([]),
        practice_start_year: rng.gen_bool(0.9).then(|| rng.gen_range(1980..2025)),
        languages: Box::new(["en".into()]),
        accepting_new_patients: rng.gen_bool(0.8),
        treatments: treatments.into(),
        credentials: credentials.into(),
        screening_under_review: false,
    }
}

fn random_request(
    rng: &mut ChaCha8Rng,
    mode: SearchMode,
    sort: Sort,
    limit: usize,
) -> SearchRequest {
    let (clat, clon) = CLUSTERS[rng.gen_range(0..CLUSTERS.len())];
    let lat = (clat + rng.gen_range(-1.0..=1.0)).clamp(-90.0, 90.0);
    let lon = ((clon + rng.gen_range(-1.0..=1.0) + 540.0) % 360.0) - 180.0;
    let radius_m = [3.0, 500.0, 10_000.0, 25_000.0, 100_000.0, 300_000.0][rng.gen_range(0..6)];
    let mut filters = Filters::default();
    if rng.gen_bool(0.5) {
        filters.treatments = vec![TREATMENTS[rng.gen_range(0..TREATMENTS.len())].to_owned()];
    }
    if rng.gen_bool(0.2) {
        filters.board_certified = Some(true);
    }
    if rng.gen_bool(0.2) {
        filters.degrees = vec![Degree::Md];
    }
    SearchRequest {
        mode,
        centre: Coordinates { lat, lon },
        radius_m,
        filters,
        sort,
        limit,
        after: None,
        now: Utc::now(),
        budget: usize::MAX,
        reverify_grace_days: 30,
    }
}

#[test]
fn radius_search_returns_exactly_the_brute_force_set_in_distance_order() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261126);
    let index = generated_index(&mut rng, 20_000);
    let mut nonempty = 0;
    for _ in 0..250 {
        let mut request =
            random_request(&mut rng, SearchMode::Locations, Sort::Distance, 1_000_000);
        request.filters = Filters::default();
        let found: Vec<(i64, f64)> = search(&index, &request)
            .hits
            .iter()
            .map(|h| (h.location_id, h.distance_m))
            .collect();
        // Brute force: every location with a listed provider, exact geodesic distance.
        let freshness = clinic_finder::domain::Freshness::new(request.now.date_naive(), 30);
        let mut expected: Vec<(i64, f64)> = index
            .locations
            .values()
            .filter(|l| {
                l.provider_ids.iter().any(|p| {
                    index
                        .providers
                        .get(p)
                        .is_some_and(|p| p.is_listed_in(l.state(), &freshness))
                })
            })
            .map(|l| {
                (
                    l.id,
                    geodesic_distance_m(
                        request.centre.lat,
                        request.centre.lon,
                        l.latitude,
                        l.longitude,
                    ),
                )
            })
            .filter(|(_, d)| *d <= request.radius_m)
            .collect();
        expected.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        assert_eq!(
            found, expected,
            "centre {:?} radius {}",
            request.centre, request.radius_m
        );
        nonempty += usize::from(!found.is_empty());
    }
    assert!(nonempty > 100, "most queries find something ({nonempty})");
}

#[test]
fn early_stopping_top_k_equals_the_exhaustive_ranking() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let index = generated_index(&mut rng, 20_000);
    let (mut first_page_candidates, mut turned_away_by_bound) = (0, 0);
    for round in 0..300 {
        let mode = if round % 2 == 0 {
            SearchMode::Locations
        } else {
            SearchMode::Providers
        };
        let sort = [Sort::Best, Sort::Distance, Sort::Credentials][round % 3];
        let limit = rng.gen_range(1..=50);
        let request = random_request(&mut rng, mode, sort, limit);
        let fast = search(&index, &request);
        let all = search_exhaustive(&index, &request);
        let fast_keys: Vec<_> = fast
            .hits
            .iter()
            .map(|h| (h.key.id, h.key.primary, h.key.distance_m))
            .collect();
        let exhaustive_keys: Vec<_> = all
            .iter()
            .take(limit)
            .map(|h| (h.key.id, h.key.primary, h.key.distance_m))
            .collect();
        assert_eq!(
            fast_keys, exhaustive_keys,
            "round {round}: {mode:?} {sort:?} limit {limit}"
        );
        assert_eq!(fast.has_more, all.len() > limit);
        first_page_candidates += fast.candidates_visited;
        turned_away_by_bound += fast.turned_away_by_bound;
        // Paging resumes exactly after the last key.
        if let Some(last) = fast.hits.last() {
            let next = search(
                &index,
                &SearchRequest {
                    after: Some(last.key),
                    ..request.clone()
                },
            );
            let expected: Vec<_> = all
                .iter()
                .skip(limit)
                .take(limit)
                .map(|h| h.key.id)
                .collect();
            assert_eq!(
                next.hits.iter().map(|h| h.key.id).collect::<Vec<_>>(),
                expected
            );
        }
    }
    // The same answers with fewer exact (Karney) distances: once a first page holds its k
    // results, a candidate whose lower bound cannot beat the worst of them is turned away
    // before its exact distance is paid for.
    assert!(
        turned_away_by_bound * 3 > first_page_candidates,
        "{turned_away_by_bound} of {first_page_candidates} candidates turned away by their bound"
    );
}

/// A walk that runs out of budget answers the best of what it saw, marked partial: every
/// location nearer than its `complete_within_m` was seen, so no result within that distance that
/// ranks above its last one is missing.
#[test]
fn a_search_out_of_budget_misses_nothing_within_its_complete_distance() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261201);
    let index = generated_index(&mut rng, 20_000);
    let mut partial_answers = 0;
    for round in 0..300 {
        let mode = [SearchMode::Locations, SearchMode::Providers][rng.gen_range(0..2)];
        let sort = [Sort::Best, Sort::Distance, Sort::Credentials][rng.gen_range(0..3)];
        let limit = rng.gen_range(1..=50);
        let mut request = random_request(&mut rng, mode, sort, limit);
        request.budget = rng.gen_range(1..100);
        let outcome = search(&index, &request);
        assert!(
            outcome.candidates_visited <= request.budget,
            "round {round}"
        );
        let all = search_exhaustive(&index, &request);
        let got: Vec<i64> = outcome.hits.iter().map(|h| h.key.id).collect();
        if !outcome.partial {
            let expected: Vec<i64> = all.iter().take(limit).map(|h| h.key.id).collect();
            assert_eq!(got, expected, "round {round}");
            continue;
        }
        partial_answers += 1;
        assert!(!outcome.has_more && got.len() <= limit, "round {round}");
        let within = outcome
            .complete_within_m
            .expect("a partial answer says how far");
        assert!(
            outcome
                .hits
                .windows(2)
                .all(|w| w[0].key.rank_cmp(&w[1].key).is_lt()),
            "round {round}: in rank order"
        );
        let last = outcome.hits.last().map(|h| h.key);
        for hit in all.iter().filter(|h| h.distance_m < within) {
            let ranks_above_last = last.is_none_or(|last| hit.key.rank_cmp(&last).is_lt());
            if ranks_above_last || got.len() < limit {
                assert!(
                    got.contains(&hit.key.id),
                    "round {round}: {} at {:.0} m (complete within {within:.0} m) is missing",
                    hit.key.id,
                    hit.distance_m
                );
            }
        }
    }
    assert!(
        partial_answers >= 40,
        "only {partial_answers} rounds ran out of budget"
    );
}
