//! The PostGIS candidate source: locations nearest-first from the GiST index on
//! `locations.geog` (KNN `<->` ordering, `ST_DWithin` for the radius), fetched in growing
//! batches with a keyset on (distance, id). Distances from PostGIS are on its sphere; they become
//! lower bounds on the geodesic exactly as the in-memory R*-tree's chords do, and the exact
//! geodesic distance is computed in Rust, so both paths rank identically.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};

use super::geodesy::MIN_RADIUS_OF_CURVATURE_M;
use super::SearchError;
use crate::db::DbConnection;
use crate::domain::Coordinates;

/// The radius of the sphere PostGIS uses for geography on SRID 4326: the WGS84 mean radius.
const POSTGIS_SPHERE_RADIUS_M: f64 = 6_371_008.771_415_06;

/// The statement the search runs: `ST_DWithin` bounds the GiST index scan to the radius and the
/// KNN operator `<->` makes it yield nearest first, so a dense centre reads only the rows the
/// ranking needs. `EXPLAIN` of it is checked in the tests.
pub const NEAREST_LOCATIONS_SQL: &str = "\
    SELECT id, geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS sphere_m \
    FROM locations \
    WHERE ST_DWithin(geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3, false) \
      AND geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography >= $4 \
    ORDER BY geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography \
    LIMIT $5";

/// Set for each batch's transaction. PostgreSQL underestimates how many rows `ST_DWithin` keeps
/// in a dense city and then prefers a bitmap scan that reads and sorts every row in the radius;
/// without bitmap scans it takes the KNN index scan, which stops after `LIMIT` rows.
pub const SEARCH_SESSION_SETTINGS: &str = "SET LOCAL enable_bitmapscan = off";

#[derive(Debug, QueryableByName)]
struct Nearby {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Double)]
    sphere_m: f64,
}

/// Nearest-first candidates from PostGIS, as (location id, lower bound on the geodesic distance).
pub struct PostgisCandidates<'c> {
    connection: &'c mut DbConnection,
    centre: Coordinates,
    /// Sphere distance that every location within the geodesic radius is inside.
    sphere_radius_m: f64,
    batch: Vec<Nearby>,
    /// The keyset: the last sphere distance fetched, and the ids already seen at exactly that
    /// distance (the next batch starts at `>=` it and skips them).
    after: f64,
    seen_at_after: Vec<i64>,
    batch_size: i64,
    exhausted: bool,
    /// A database error ends the iteration; the caller reports it.
    pub error: Option<SearchError>,
}

impl<'c> PostgisCandidates<'c> {
    pub fn new(
        connection: &'c mut DbConnection,
        centre: Coordinates,
        radius_m: f64,
    ) -> PostgisCandidates<'c> {
        // geodesic ≥ angle × min radius of curvature, so angle ≤ radius / that, and the sphere
        // distance is at most angle × the sphere's radius (plus a metre of slack).
        let sphere_radius_m =
            radius_m / MIN_RADIUS_OF_CURVATURE_M * POSTGIS_SPHERE_RADIUS_M * (1.0 + 1e-9) + 1.0;
        PostgisCandidates {
            connection,
            centre,
            sphere_radius_m,
            batch: Vec::new(),
            after: -1.0,
            seen_at_after: Vec::new(),
            batch_size: 32,
            exhausted: false,
            error: None,
        }
    }

    fn fetch(&mut self) {
        use diesel::connection::SimpleConnection;
        let limit = self.batch_size + self.seen_at_after.len() as i64;
        let (lon, lat, radius, after) = (
            self.centre.lon,
            self.centre.lat,
            self.sphere_radius_m,
            self.after,
        );
        let rows = self.connection.transaction(|connection| {
            connection.batch_execute(SEARCH_SESSION_SETTINGS)?;
            diesel::sql_query(NEAREST_LOCATIONS_SQL)
                .bind::<Double, _>(lon)
                .bind::<Double, _>(lat)
                .bind::<Double, _>(radius)
                .bind::<Double, _>(after)
                .bind::<BigInt, _>(limit)
                .load::<Nearby>(connection)
        });
        match rows {
            Ok(rows) => {
                self.exhausted = (rows.len() as i64) < limit;
                let fresh: Vec<Nearby> = rows
                    .into_iter()
                    .filter(|row| {
                        !(row.sphere_m == self.after && self.seen_at_after.contains(&row.id))
                    })
                    .collect();
                if let Some(last) = fresh.last() {
                    if last.sphere_m != self.after {
                        self.seen_at_after.clear();
                        self.after = last.sphere_m;
                    }
                    let boundary = self.after;
                    self.seen_at_after.extend(
                        fresh
                            .iter()
                            .filter(|row| row.sphere_m == boundary)
                            .map(|row| row.id),
                    );
                } else {
                    self.exhausted = true;
                }
                self.batch = fresh;
                self.batch.reverse(); // pop from the end, nearest first
                                      // Dense centres need many candidates; sparse ones few: grow the batches.
                self.batch_size = (self.batch_size * 4).min(4096);
            }
            Err(error) => {
                self.error = Some(SearchError::from(error));
                self.exhausted = true;
            }
        }
    }
}

/// A lower bound on the geodesic distance of a point `sphere_m` away on PostGIS's sphere.
fn geodesic_lower_bound_from_sphere(sphere_m: f64) -> f64 {
    (sphere_m / POSTGIS_SPHERE_RADIUS_M * MIN_RADIUS_OF_CURVATURE_M * (1.0 - 1e-9) - 0.001).max(0.0)
}

impl Iterator for PostgisCandidates<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.batch.is_empty() && !self.exhausted {
            self.fetch();
        }
        self.batch
            .pop()
            .map(|row| (row.id, geodesic_lower_bound_from_sphere(row.sphere_m)))
    }
}
