//! US ZIP code → centroid, for clients that have a ZIP code and no coordinates.
//! Data: US Census Bureau gazetteer (public domain), embedded at build time.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::Coordinates;

static ZIP_CSV: &str = include_str!("../../assets/geo/us_zip_centroids.csv");

fn table() -> &'static HashMap<&'static str, Coordinates> {
    static TABLE: OnceLock<HashMap<&'static str, Coordinates>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ZIP_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                let zip = fields.next()?;
                let lat = fields.next()?.trim().parse().ok()?;
                let lon = fields.next()?.trim().parse().ok()?;
                Some((zip, Coordinates::new(lat, lon).ok()?))
            })
            .collect()
    })
}

pub fn is_zip_code(text: &str) -> bool {
    text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit())
}

pub fn centroid(zip: &str) -> Option<Coordinates> {
    table().get(zip).copied()
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_midtown_manhattan() {
        let centre = super::centroid("10001").unwrap();
        assert!((centre.lat - 40.75065).abs() < 1e-6 && (centre.lon + 73.997293).abs() < 1e-6);
        assert!(super::centroid("00000").is_none());
    }
}
