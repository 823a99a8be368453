//! Planning the dataset in memory, before it has ids: clinics and their locations (with opening
//! hours and phones), and who works where (each provider is planned in `providers`).

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::geography::{scatter_around, CityTable, ZipIndex};
use super::names::{BRANCH_NAMES, FAMILY_NAMES, STREET_NAMES, STREET_SUFFIXES};
use super::providers::{plan_provider, Practice};
use super::taxonomy::{ClinicTheme, THEMES};
use super::DemoError;
use super::{pick, pick_weighted, time_between, DATASET_BASE, HISTORY_START};
use crate::db::models::{NewClinic, NewCredential, NewLocation, NewProvider};
use crate::domain::{OpeningInterval, WeeklyHours};

/// Foreign keys of planned rows are filled in at insert time, when the parent's id is known.
pub(super) const UNSAVED_ID: i64 = 0;

pub(super) struct PlannedClinic {
    pub(super) row: NewClinic,
    pub(super) theme: &'static ClinicTheme,
    pub(super) city_index: usize,
    /// Indexes into `Dataset::locations`.
    pub(super) location_indexes: Vec<usize>,
}

pub(super) struct PlannedLocation {
    /// Index into `Dataset::clinics`; `row.clinic_id` is filled in at insert time.
    pub(super) clinic_index: usize,
    pub(super) row: NewLocation,
}

pub(super) struct PlannedProvider {
    pub(super) row: NewProvider,
    pub(super) secondary_specialties: Vec<&'static str>,
    /// Indexes into `Dataset::locations`.
    pub(super) location_indexes: Vec<usize>,
    /// Treatment code and annual volume, when recorded.
    pub(super) treatments: Vec<(&'static str, Option<i32>)>,
    /// `provider_id` is filled in at insert time.
    pub(super) credentials: Vec<NewCredential>,
}

pub(super) struct Dataset {
    pub(super) clinics: Vec<PlannedClinic>,
    pub(super) locations: Vec<PlannedLocation>,
    pub(super) providers: Vec<PlannedProvider>,
}

/// The whole dataset for `provider_count` providers, drawn from `seed`.
///
/// `location_target`: generate about this many locations (clinics follow from it) instead of the
/// default of one clinic per two providers; when providers are fewer than locations, each
/// provider practises at several neighbouring sites so that every location has a provider.
pub(super) fn generate(
    provider_count: usize,
    location_target: Option<usize>,
    seed: u64,
) -> Result<Dataset, DemoError> {
    let cities = CityTable::embedded();
    if cities.cities.is_empty() {
        return Err(DemoError::NoCities);
    }
    let zips = ZipIndex::embedded();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let mut clinics = Vec::new();
    let mut locations = Vec::new();
    match location_target {
        Some(target) => {
            while locations.len() < target.max(1) {
                plan_clinic(&mut rng, &cities, &zips, &mut clinics, &mut locations);
            }
        }
        None => {
            for _ in 0..(provider_count / 2).max(1) {
                plan_clinic(&mut rng, &cities, &zips, &mut clinics, &mut locations);
            }
        }
    }
    let clinic_count = clinics.len();

    // Clinics in each city, to find a provider's second practice nearby.
    let mut clinics_by_city: HashMap<usize, Vec<usize>> = HashMap::new();
    for (index, clinic) in clinics.iter().enumerate() {
        clinics_by_city
            .entry(clinic.city_index)
            .or_default()
            .push(index);
    }

    let mut practices: Vec<Practice> = if provider_count >= locations.len() {
        // Every clinic gets at least one provider; the rest join clinics at random.
        let mut home_clinics: Vec<usize> = (0..clinic_count).collect();
        home_clinics.extend((clinic_count..provider_count).map(|_| rng.gen_range(0..clinic_count)));
        home_clinics.truncate(provider_count);
        home_clinics.into_iter().map(Practice::HomeClinic).collect()
    } else {
        // Fewer providers than sites: deal the sites, city by city, into one run of neighbouring
        // sites per provider, so every site has a provider and nobody commutes across the country.
        let mut sites: Vec<usize> = (0..locations.len()).collect();
        sites.sort_by_key(|&site| (clinics[locations[site].clinic_index].city_index, site));
        let per_provider = sites.len() as f64 / provider_count.max(1) as f64;
        (0..provider_count)
            .map(|n| {
                let start = (n as f64 * per_provider) as usize;
                let end = (((n + 1) as f64 * per_provider) as usize).min(sites.len());
                Practice::Sites(sites[start..end.max(start + 1)].to_vec())
            })
            .collect()
    };
    practices.shuffle(&mut rng);

    let mut npi_bases = HashSet::with_capacity(provider_count);
    let mut providers = Vec::with_capacity(provider_count);
    for practice in practices {
        let provider = plan_provider(
            &mut rng,
            &clinics,
            &locations,
            &clinics_by_city,
            practice,
            &mut npi_bases,
        );
        providers.push(provider);
    }
    Ok(Dataset {
        clinics,
        locations,
        providers,
    })
}

fn plan_clinic(
    rng: &mut ChaCha8Rng,
    cities: &CityTable,
    zips: &ZipIndex,
    clinics: &mut Vec<PlannedClinic>,
    locations: &mut Vec<PlannedLocation>,
) {
    let clinic_index = clinics.len();
    let theme = pick_theme(rng);
    let city_index = cities.pick(rng);
    let city = &cities.cities[city_index];
    let founder = pick(rng, FAMILY_NAMES);
    let name = pick(rng, theme.names)
        .replace("{city}", &city.name)
        .replace("{surname}", founder);
    let area_code = area_code(rng);
    let website = rng
        .gen_bool(0.85)
        .then(|| format!("https://{}.example.com", slug(&name)));
    let created_at = time_between(rng, HISTORY_START, DATASET_BASE);
    let hours = opening_hours(rng);

    let site_count = *pick_weighted(rng, &[(1usize, 72), (2, 20), (3, 8)]);
    let mut branch_names = BRANCH_NAMES.to_vec();
    branch_names.shuffle(rng);
    let mut location_indexes = Vec::with_capacity(site_count);
    for site in 0..site_count {
        let (latitude, longitude) = scatter_around(rng, city.centre.lat, city.centre.lon);
        let postal_code = match zips.nearest_in_state(latitude, longitude, &city.state) {
            Some(code) => code.to_owned(),
            None => format!("{:05}", rng.gen_range(10_000..99_999)),
        };
        let site_name = match (site_count, site) {
            (1, _) => None,
            (_, 0) => Some("Main office".to_owned()),
            (_, n) => Some(branch_names[n - 1].to_owned()),
        };
        let address_line2 = match rng.gen_range(0..100) {
            0..45 => Some(format!("Suite {}", rng.gen_range(100..=999))),
            45..55 => Some(format!("Floor {}", rng.gen_range(2..=12))),
            _ => None,
        };
        // Branches sometimes keep their own hours.
        let site_hours = if site > 0 && rng.gen_bool(0.3) {
            opening_hours(rng)
        } else {
            hours.clone()
        };
        location_indexes.push(locations.len());
        locations.push(PlannedLocation {
            clinic_index,
            row: NewLocation {
                clinic_id: UNSAVED_ID,
                name: site_name,
                address_line1: format!(
                    "{} {} {}",
                    rng.gen_range(100..=9899),
                    pick(rng, STREET_NAMES),
                    pick(rng, STREET_SUFFIXES)
                ),
                address_line2,
                city: city.name.clone(),
                state: city.state.clone(),
                postal_code,
                country: "US".to_owned(),
                latitude,
                longitude,
                timezone: city.timezone.clone(),
                opening_hours: serde_json::to_string(&site_hours)
                    .unwrap_or_else(|_| "{}".to_owned()),
                phone: Some(demo_phone(rng, area_code)),
                external_id: None,
                created_at,
                updated_at: created_at,
                geocode_precision: "rooftop".to_owned(),
            },
        });
    }

    clinics.push(PlannedClinic {
        row: NewClinic {
            name,
            website,
            phone: Some(demo_phone(rng, area_code)),
            description: Some(theme.description.replace("{city}", &city.name)),
            external_id: None,
            created_at,
            updated_at: created_at,
        },
        theme,
        city_index,
        location_indexes,
    });
}

fn pick_theme(rng: &mut ChaCha8Rng) -> &'static ClinicTheme {
    let total: u32 = THEMES.iter().map(|theme| theme.weight).sum();
    let mut draw = rng.gen_range(0..total);
    for theme in THEMES {
        if draw < theme.weight {
            return theme;
        }
        draw -= theme.weight;
    }
    &THEMES[0]
}

/// Typical weekday hours, with some variety: lunch breaks, Saturday mornings, a late Thursday,
/// an early Friday.
fn opening_hours(rng: &mut ChaCha8Rng) -> WeeklyHours {
    let opens = *pick_weighted(rng, &[("08:00", 4), ("08:30", 2), ("09:00", 4)]);
    let closes = *pick_weighted(rng, &[("17:00", 5), ("17:30", 2), ("18:00", 3)]);
    let lunch_break = rng.gen_bool(0.2);
    let saturday_morning = rng.gen_bool(0.2);
    let late_thursday = rng.gen_bool(0.1);
    let early_friday = rng.gen_bool(0.15);
    let interval = |opens: &str, closes: &str| OpeningInterval {
        opens: opens.to_owned(),
        closes: closes.to_owned(),
    };
    let day = |closes: &str| {
        if lunch_break {
            vec![interval(opens, "12:00"), interval("13:00", closes)]
        } else {
            vec![interval(opens, closes)]
        }
    };
    WeeklyHours {
        mon: day(closes),
        tue: day(closes),
        wed: day(closes),
        thu: day(if late_thursday { "19:00" } else { closes }),
        fri: day(if early_friday { "15:00" } else { closes }),
        sat: if saturday_morning {
            vec![interval("09:00", "13:00")]
        } else {
            Vec::new()
        },
        sun: Vec::new(),
    }
}

/// A North American area code: 2–9, then not 9 (reserved), and not an N11 service code.
fn area_code(rng: &mut ChaCha8Rng) -> u32 {
    loop {
        let code = rng.gen_range(201..=989);
        if code % 100 != 11 && (code / 10) % 10 != 9 {
            return code;
        }
    }
}

/// 555-0100 to 555-0199 are reserved for fiction: these numbers reach nobody.
fn demo_phone(rng: &mut ChaCha8Rng, area_code: u32) -> String {
    format!("+1-{area_code}-555-01{:02}", rng.gen_range(0..100))
}

/// "St. Mary's Eye & Skin" → "st-mary-s-eye-skin".
fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::{
        credentials, locations, provider_locations, provider_treatments, providers,
    };
    use crate::db::DbConnection;
    use crate::demo::seeded;

    type ProviderIdentity = (String, String, String, Option<String>, String);

    fn provider_identities(connection: &mut DbConnection) -> Vec<ProviderIdentity> {
        providers::table
            .order(providers::id)
            .select((
                providers::npi,
                providers::given_name,
                providers::family_name,
                providers::degree,
                providers::primary_specialty_code,
            ))
            .load(connection)
            .expect("load providers")
    }

    fn location_coordinates(connection: &mut DbConnection) -> Vec<(f64, f64, String)> {
        locations::table
            .order(locations::id)
            .select((
                locations::latitude,
                locations::longitude,
                locations::postal_code,
            ))
            .load(connection)
            .expect("load locations")
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let (_first_directory, mut first, first_summary) = seeded(300, 42);
        let (_second_directory, mut second, second_summary) = seeded(300, 42);
        assert_eq!(first_summary, second_summary);
        assert_eq!(
            provider_identities(&mut first),
            provider_identities(&mut second)
        );
        assert_eq!(
            location_coordinates(&mut first),
            location_coordinates(&mut second)
        );

        let credentials_of =
            |connection: &mut DbConnection| -> Vec<(String, String, Option<NaiveDate>)> {
                credentials::table
                    .order(credentials::id)
                    .select((
                        credentials::kind,
                        credentials::verification_status,
                        credentials::expires_on,
                    ))
                    .load(connection)
                    .expect("load credentials")
            };
        assert_eq!(credentials_of(&mut first), credentials_of(&mut second));

        let (_other_directory, mut other, _) = seeded(300, 43);
        assert_ne!(
            provider_identities(&mut first),
            provider_identities(&mut other)
        );
    }

    #[test]
    fn locations_are_plausible() {
        let (_directory, mut connection, _) = seeded(300, 5);
        let rows: Vec<(f64, f64, String, String, String)> = locations::table
            .select((
                locations::latitude,
                locations::longitude,
                locations::timezone,
                locations::opening_hours,
                locations::postal_code,
            ))
            .load(&mut connection)
            .expect("load locations");
        for (latitude, longitude, timezone, opening_hours, postal_code) in rows {
            assert!((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude));
            assert!(timezone.parse::<chrono_tz::Tz>().is_ok(), "{timezone}");
            let hours: WeeklyHours =
                serde_json::from_str(&opening_hours).expect("opening hours JSON");
            let compiled = hours
                .compile("/opening_hours")
                .expect("valid opening hours");
            assert!(!compiled.is_empty());
            assert!(
                postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit()),
                "{postal_code}"
            );
        }
        // Every provider practises somewhere and offers one to five treatments.
        let per_provider: Vec<(i64, i64)> = provider_treatments::table
            .group_by(provider_treatments::provider_id)
            .select((provider_treatments::provider_id, diesel::dsl::count_star()))
            .load(&mut connection)
            .expect("treatments per provider");
        assert_eq!(per_provider.len(), 300);
        assert!(per_provider
            .iter()
            .all(|&(_, count)| (1..=5).contains(&count)));
        let practising: Vec<i64> = provider_locations::table
            .select(provider_locations::provider_id)
            .distinct()
            .load(&mut connection)
            .expect("practising providers");
        assert_eq!(practising.len(), 300);
    }

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug("St. Mary's Eye & Skin"), "st-mary-s-eye-skin");
    }
}
