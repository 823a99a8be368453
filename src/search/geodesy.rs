//! Distances. Ranking and the radius use the exact geodesic distance on the WGS84 ellipsoid
//! (Karney's algorithm, via `geo`); the spatial index orders candidates by straight-line (chord)
//! distance between points on the unit sphere, which is great-circle order, and
//! [`geodesic_lower_bound_m`] turns that chord into a distance no unseen candidate can beat.

use geo::{Distance, Geodesic, Point};

/// Smallest radius of curvature of the WGS84 ellipsoid (meridional, at the equator): a(1 − e²).
/// Along any path the ellipsoidal length is at least this times the length of the same path on
/// the unit sphere in geodetic coordinates, so `angle × this` bounds the geodesic from below.
pub const MIN_RADIUS_OF_CURVATURE_M: f64 = 6_335_439.327;

pub const METRES_PER_MILE: f64 = 1_609.344;

/// Exact geodesic distance in metres between two (lat, lon) points in degrees.
pub fn geodesic_distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    Geodesic.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

/// The point on the unit sphere for geodetic (lat, lon) in degrees.
pub fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// A lower bound, in metres, on the geodesic distance between two points whose unit vectors are
/// `chord_squared` apart (squared Euclidean distance).
pub fn geodesic_lower_bound_m(chord_squared: f64) -> f64 {
    let chord = chord_squared.max(0.0).sqrt().min(2.0);
    let angle = 2.0 * (chord / 2.0).asin();
    // The factor and the millimetre absorb floating-point error in the unit vectors, the chord
    // and the arcsine (points at a pole differ by ~1e-16 in every longitude).
    (angle * MIN_RADIUS_OF_CURVATURE_M * (1.0 - 1e-9) - 0.001).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn jfk_to_heathrow_matches_geographiclib() {
        // GeographicLib's documented example: Inverse(40.6, -73.8, 51.6, -0.5) → 5551759.400319 m.
        let distance = geodesic_distance_m(40.6, -73.8, 51.6, -0.5);
        assert!((distance - 5_551_759.400319).abs() < 0.001, "{distance}");
    }

    #[test]
    fn the_lower_bound_never_exceeds_the_geodesic() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20_000 {
            let (lat1, lon1) = (rng.gen_range(-90.0..=90.0), rng.gen_range(-180.0..=180.0));
            // Mix nearby and far pairs, and pairs across the antimeridian and near the poles.
            let spread: f64 = [0.0001, 0.01, 1.0, 30.0, 180.0][rng.gen_range(0..5)];
            let lat2 = (lat1 + rng.gen_range(-spread..=spread)).clamp(-90.0, 90.0);
            let lon2 = ((lon1 + rng.gen_range(-spread..=spread) + 540.0) % 360.0) - 180.0;
            let (a, b) = (unit_vector(lat1, lon1), unit_vector(lat2, lon2));
            let chord_squared = (0..3).map(|i| (a[i] - b[i]).powi(2)).sum();
            let geodesic = geodesic_distance_m(lat1, lon1, lat2, lon2);
            assert!(
                geodesic_lower_bound_m(chord_squared) <= geodesic + 1e-6,
                "{lat1},{lon1} → {lat2},{lon2}"
            );
        }
    }
}
