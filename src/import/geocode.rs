//! Placing an address without a geocoder: the ZIP code's centroid (US Census ZCTA gazetteer,
//! embedded), and the IANA time zone of that point from the time-zone boundary polygons (tzf-rs,
//! embedded): several states span two zones (El Paso, TX is on Mountain time; Pensacola, FL on
//! Central), so a state table would be wrong.

use std::sync::OnceLock;

use tzf_rs::DefaultFinder;

use crate::domain::Coordinates;
use crate::search::zip_codes;

/// Where a ZIP code's centroid is, and its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub coordinates: Coordinates,
    pub timezone: String,
}

fn finder() -> &'static DefaultFinder {
    static FINDER: OnceLock<DefaultFinder> = OnceLock::new();
    FINDER.get_or_init(DefaultFinder::new)
}

/// The IANA time zone at a point, when the boundary data has one chrono-tz knows.
pub fn timezone_at(coordinates: Coordinates) -> Option<String> {
    let name = finder().get_tz_name(coordinates.lon, coordinates.lat);
    name.parse::<chrono_tz::Tz>().ok().map(|_| name.to_owned())
}

/// The first five digits of a US postal code (`ZIP+4` is written without a hyphen in NPPES).
pub fn zip5(postal_code: &str) -> Option<&str> {
    let zip = postal_code.get(..5)?;
    zip_codes::is_zip_code(zip).then_some(zip)
}

/// The centroid of a ZIP code and its time zone; `None` for a ZIP code the gazetteer does not
/// know (PO-box-only codes, for example).
pub fn place_zip(postal_code: &str) -> Option<Placed> {
    let coordinates = zip_codes::centroid(zip5(postal_code)?)?;
    Some(Placed {
        coordinates,
        timezone: timezone_at(coordinates)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_follow_the_boundaries_not_the_states() {
        // El Paso, TX (79901) keeps Mountain time; Pensacola, FL (32501) Central.
        assert_eq!(place_zip("799011234").unwrap().timezone, "America/Denver");
        assert_eq!(place_zip("32501").unwrap().timezone, "America/Chicago");
        assert_eq!(place_zip("10001").unwrap().timezone, "America/New_York");
        assert_eq!(place_zip("96813").unwrap().timezone, "Pacific/Honolulu");
        assert!(place_zip("00000").is_none());
        assert!(place_zip("1234").is_none());
    }
}
