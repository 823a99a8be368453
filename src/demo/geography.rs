//! Real US places: cities (drawn in proportion to population), ZIP code centroids, and points
//! scattered around a city centre.

use std::f64::consts::TAU;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rstar::primitives::GeomWithData;
use rstar::RTree;

use crate::search::geodesy::unit_vector;
use crate::search::places::{self, Place};
use crate::search::zip_codes;

/// Location scatter around a city centre: a normal offset with this standard deviation per axis.
const SCATTER_SIGMA_KM: f64 = 5.0;
const KM_PER_DEGREE_LATITUDE: f64 = 111.32;

/// Cities with a cumulative population table, to draw cities in proportion to population.
pub(super) struct CityTable {
    /// The US places search resolves `place` with (`search::places`), in the file's order.
    pub(super) cities: &'static [Place],
    cumulative_population: Vec<u64>,
}

impl CityTable {
    /// The cities embedded in the binary (assets/geo/us_cities.csv).
    pub(super) fn embedded() -> CityTable {
        let cities = places::all();
        let cumulative_population = cities
            .iter()
            .scan(0u64, |total, city| {
                *total += city.population;
                Some(*total)
            })
            .collect();
        CityTable {
            cities,
            cumulative_population,
        }
    }

    /// A city index, each city as likely as its share of the population.
    pub(super) fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative_population.last().copied().unwrap_or(0);
        let draw = rng.gen_range(0..total.max(1));
        // The first city whose running total exceeds the draw.
        self.cumulative_population
            .partition_point(|&running| running <= draw)
            .min(self.cities.len() - 1)
    }
}

/// ZIP code centroids, to give each location the ZIP code it actually lies in (or near), so a
/// search near a ZIP code finds the demo clinics there.
pub(super) struct ZipIndex {
    /// Points are unit vectors: the nearest in straight-line distance is the nearest on the sphere.
    tree: RTree<GeomWithData<[f64; 3], usize>>,
    codes: Vec<&'static str>,
}

impl ZipIndex {
    /// The ZIP code centroids search knows (`search::zip_codes`).
    pub(super) fn embedded() -> ZipIndex {
        let centroids = zip_codes::centroids();
        let points = centroids
            .iter()
            .enumerate()
            .map(|(index, (_, centre))| {
                GeomWithData::new(unit_vector(centre.lat, centre.lon), index)
            })
            .collect();
        ZipIndex {
            tree: RTree::bulk_load(points),
            codes: centroids.iter().map(|(code, _)| *code).collect(),
        }
    }

    /// The ZIP code whose centroid is nearest, preferring one of `state` (near a border the
    /// nearest centroid can lie across it).
    pub(super) fn nearest_in_state(
        &self,
        latitude: f64,
        longitude: f64,
        state: &str,
    ) -> Option<&str> {
        let point = unit_vector(latitude, longitude);
        let nearby: Vec<&str> = self
            .tree
            .nearest_neighbor_iter(&point)
            .take(32)
            .filter_map(|zip| self.codes.get(zip.data).copied())
            .collect();
        nearby
            .iter()
            .copied()
            .find(|code| zip_state(code) == Some(state))
            .or_else(|| nearby.first().copied())
    }
}

/// USPS ZIP code prefixes (first three digits) by state: `(first, last, state)`.
#[rustfmt::skip]
const ZIP_PREFIX_STATES: &[(u16, u16, &str)] = &[
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"),
    (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"),
    (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"),
    (320, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"),
    (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"),
    (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"),
    (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (730, 732, "OK"), (733, 733, "TX"),
    (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"),
    (969, 969, "GU"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
];

fn zip_state(zip: &str) -> Option<&'static str> {
    let prefix: u16 = zip.get(..3)?.parse().ok()?;
    ZIP_PREFIX_STATES
        .iter()
        .find(|(first, last, _)| (*first..=*last).contains(&prefix))
        .map(|(_, _, state)| *state)
}

/// A point near a city centre: a normal offset of `SCATTER_SIGMA_KM` north and east (Box–Muller),
/// rounded to 6 decimals (about 10 cm).
pub(super) fn scatter_around(rng: &mut ChaCha8Rng, latitude: f64, longitude: f64) -> (f64, f64) {
    // 1 - [0, 1) is (0, 1]: the logarithm stays finite.
    let uniform_radius: f64 = 1.0 - rng.gen::<f64>();
    let uniform_angle: f64 = rng.gen();
    let radius = (-2.0 * uniform_radius.ln()).sqrt();
    let (north, east) = (
        radius * (TAU * uniform_angle).cos(),
        radius * (TAU * uniform_angle).sin(),
    );
    let km_per_degree_longitude = KM_PER_DEGREE_LATITUDE * latitude.to_radians().cos().max(0.01);
    let new_latitude =
        (latitude + north * SCATTER_SIGMA_KM / KM_PER_DEGREE_LATITUDE).clamp(-90.0, 90.0);
    let new_longitude =
        wrap_longitude(longitude + east * SCATTER_SIGMA_KM / km_per_degree_longitude);
    (
        round_to_micro_degrees(new_latitude),
        round_to_micro_degrees(new_longitude),
    )
}

fn wrap_longitude(longitude: f64) -> f64 {
    if (-180.0..=180.0).contains(&longitude) {
        longitude
    } else {
        (longitude + 180.0).rem_euclid(360.0) - 180.0
    }
}

fn round_to_micro_degrees(degrees: f64) -> f64 {
    (degrees * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn cities_and_zip_codes_are_embedded() {
        let table = CityTable::embedded();
        assert!(table.cities.len() > 15_000, "{} cities", table.cities.len());
        // A quoted name with a comma of its own.
        assert!(table
            .cities
            .iter()
            .any(|city| city.name == "Stambaugh, Iron River" && city.state == "MI"));
        let zips = ZipIndex::embedded();
        assert_eq!(
            zips.nearest_in_state(40.75065, -73.997293, "NY"),
            Some("10001")
        );
        // Across the river from Manhattan, a New Jersey address gets a New Jersey ZIP code.
        let hoboken = zips
            .nearest_in_state(40.744, -74.0324, "NJ")
            .expect("a ZIP code");
        assert_eq!(zip_state(hoboken), Some("NJ"), "{hoboken}");
    }

    #[test]
    fn scattering_stays_on_the_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let (latitude, longitude) = scatter_around(&mut rng, 89.99, 179.99);
            assert!((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude));
        }
        assert_eq!(wrap_longitude(190.0), -170.0);
        assert_eq!(wrap_longitude(-190.0), 170.0);
    }
}
