//! US ZIP code → centroid, for clients that have a ZIP code and no coordinates.
//! Data: US Census Bureau gazetteer (public domain), embedded at build time.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::Coordinates;

static ZIP_CSV: &str = include_str!("../../assets/geo/us_zip_centroids.csv");

struct Table {
    /// In the file's order.
    centroids: Vec<(&'static str, Coordinates)>,
    by_code: HashMap<&'static str, Coordinates>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let centroids: Vec<(&'static str, Coordinates)> = ZIP_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                let zip = fields.next()?;
                let lat = fields.next()?.trim().parse().ok()?;
                let lon = fields.next()?.trim().parse().ok()?;
                is_zip_code(zip).then_some(())?;
                Some((zip, Coordinates::new(lat, lon).ok()?))
            })
            .collect();
        let by_code = centroids.iter().copied().collect();
        Table { centroids, by_code }
    })
}

/// Every ZIP code with its centroid, in the file's order (the demo places its clinics by them).
pub fn centroids() -> &'static [(&'static str, Coordinates)] {
    &table().centroids
}

pub fn is_zip_code(text: &str) -> bool {
    text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit())
}

pub fn centroid(zip: &str) -> Option<Coordinates> {
    table().by_code.get(zip).copied()
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
