//! WGS84 coordinates in degrees.

use serde::Serialize;
use utoipa::ToSchema;

/// A point on the WGS84 ellipsoid, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"lat": 40.7506, "lon": -73.9972}))]
pub struct Coordinates {
    /// Latitude, −90 to 90.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude, −180 to 180.
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatesError {
    LatitudeOutOfRange,
    LongitudeOutOfRange,
}

impl CoordinatesError {
    pub fn field(self) -> &'static str {
        match self {
            CoordinatesError::LatitudeOutOfRange => "lat",
            CoordinatesError::LongitudeOutOfRange => "lon",
        }
    }
    pub fn detail(self) -> &'static str {
        match self {
            CoordinatesError::LatitudeOutOfRange => {
                "latitude must be a finite number between -90 and 90"
            }
            CoordinatesError::LongitudeOutOfRange => {
                "longitude must be a finite number between -180 and 180"
            }
        }
    }
}

impl Coordinates {
    pub fn check_latitude(lat: f64) -> Result<f64, CoordinatesError> {
        if lat.is_finite() && (-90.0..=90.0).contains(&lat) {
            Ok(lat)
        } else {
            Err(CoordinatesError::LatitudeOutOfRange)
        }
    }

    pub fn check_longitude(lon: f64) -> Result<f64, CoordinatesError> {
        if lon.is_finite() && (-180.0..=180.0).contains(&lon) {
            Ok(lon)
        } else {
            Err(CoordinatesError::LongitudeOutOfRange)
        }
    }

    pub fn new(lat: f64, lon: f64) -> Result<Coordinates, CoordinatesError> {
        Ok(Coordinates {
            lat: Self::check_latitude(lat)?,
            lon: Self::check_longitude(lon)?,
        })
    }
}
