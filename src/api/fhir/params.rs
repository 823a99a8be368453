//! The search parameters of the facade as the OpenAPI document declares them, and their
//! parsing: `near` (`latitude|longitude|distance|unit`), `_count`, and references such as
//! `Location/{id}`. Every invalid parameter becomes a field error (an `OperationOutcome` issue).

use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::FieldError;
use crate::api::search::query::MAX_RADIUS_KM;
use crate::domain::Coordinates;
use crate::search::geodesy::METRES_PER_MILE;

/// `near` without a distance: the public search's default radius.
pub const DEFAULT_DISTANCE_KM: f64 = 25.0;
pub const DEFAULT_COUNT: usize = 20;
pub const MAX_COUNT: usize = 50;

/// `Location` search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocationSearchParams {
    /// `latitude|longitude|distance|unit` (WGS84 degrees). The distance is optional (default 25
    /// km), more than 0 and at most 300 km; the unit is `km` (default), `mi`, `[mi_i]` or `m`.
    /// Results are the locations the public search finds, nearest first.
    #[param(required = true, value_type = String, max_length = 100, pattern = "^[+-]?[0-9]{1,3}(\\.[0-9]{1,15})?\\|[+-]?[0-9]{1,3}(\\.[0-9]{1,15})?(\\|[0-9]{1,6}(\\.[0-9]{1,15})?(\\|(km|mi|\\[mi_i\\]|m))?)?$",
        example = "40.7506|-73.9972|10|km")]
    pub near: Option<String>,
    /// Results per page, from 1 (default 20; more than 50 are served 50 at a time).
    #[serde(rename = "_count")]
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2147483647, example = 20)]
    pub count: Option<String>,
    /// The page token of a `next` link (opaque).
    #[serde(rename = "_cursor")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Only JSON: `json`, `application/json` or `application/fhir+json` (anything else: 406).
    #[serde(rename = "_format")]
    #[param(value_type = Option<super::negotiation::FhirFormat>)]
    pub format: Option<String>,
    #[serde(rename = "_pretty")]
    #[param(value_type = Option<bool>)]
    pub pretty: Option<String>,
}

/// `PractitionerRole` search: give `location`, `practitioner` or both.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoleSearchParams {
    /// `Location/{id}`, the bare id, or a URL ending in `/Location/{id}`: the public providers
    /// practising there.
    #[param(value_type = Option<String>, max_length = 300,
        pattern = "^(([A-Za-z0-9:/._~-]*/)?Location/)?[1-9][0-9]{0,15}$", example = "Location/1")]
    pub location: Option<String>,
    /// `Practitioner/{id}`, the bare id, or a URL ending in `/Practitioner/{id}`: where this
    /// public provider practises.
    #[param(value_type = Option<String>, max_length = 300,
        pattern = "^(([A-Za-z0-9:/._~-]*/)?Practitioner/)?[1-9][0-9]{0,15}$", example = "Practitioner/1")]
    pub practitioner: Option<String>,
    /// Only JSON: `json`, `application/json` or `application/fhir+json` (anything else: 406).
    #[serde(rename = "_format")]
    #[param(value_type = Option<super::negotiation::FhirFormat>)]
    pub format: Option<String>,
    #[serde(rename = "_pretty")]
    #[param(value_type = Option<bool>)]
    pub pretty: Option<String>,
}

/// A `near` distance unit: how the request spelled it, metres per unit, and the UCUM code its
/// distances are reported in.
#[derive(Debug, Clone, Copy)]
pub(super) struct DistanceUnit {
    pub(super) spelling: &'static str,
    pub(super) metres: f64,
    pub(super) ucum: &'static str,
}

fn distance_unit(text: &str) -> Option<DistanceUnit> {
    let (spelling, metres, ucum) = match text {
        "km" => ("km", 1000.0, "km"),
        "mi" => ("mi", METRES_PER_MILE, "[mi_i]"),
        "[mi_i]" => ("[mi_i]", METRES_PER_MILE, "[mi_i]"),
        "m" => ("m", 1.0, "m"),
        _ => return None,
    };
    Some(DistanceUnit {
        spelling,
        metres,
        ucum,
    })
}

/// A parsed `near`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Near {
    pub(super) centre: Coordinates,
    /// As given (in `unit`), or the default.
    pub(super) distance: f64,
    pub(super) radius_m: f64,
    pub(super) unit: DistanceUnit,
}

fn near_error(code: &str, detail: impl Into<String>) -> FieldError {
    FieldError::query("near", code, detail)
}

/// Parses `latitude|longitude[|distance[|unit]]`, collecting every problem.
pub(super) fn parse_near(text: Option<&str>) -> Result<Near, Vec<FieldError>> {
    let Some(text) = text else {
        return Err(vec![near_error(
            "required",
            "give near=latitude|longitude|distance|unit, e.g. 40.7506|-73.9972|10|km",
        )]);
    };
    let parts: Vec<&str> = text.split('|').collect();
    if !(2..=4).contains(&parts.len()) || parts.iter().any(|part| part.is_empty()) {
        return Err(vec![near_error(
            "invalid_format",
            "latitude|longitude|distance|unit, with latitude and longitude required and no empty part",
        )]);
    }
    let mut errors = Vec::new();
    // Decimals as the documented pattern spells them: sign (not for the distance), up to 3 (6)
    // digits, and up to 15 after the point.
    let decimal = |text: &str, signed: bool, digits: usize| {
        let unsigned = match text.strip_prefix(['+', '-']) {
            Some(rest) if signed => rest,
            Some(_) => return false,
            None => text,
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "1"));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        (1..=digits).contains(&whole.len())
            && (1..=15).contains(&fraction.len())
            && all_digits(whole)
            && all_digits(fraction)
    };
    let mut number = |name: &str, text: &str| match text.parse::<f64>() {
        Ok(value)
            if value.is_finite()
                && decimal(
                    text,
                    name != "distance",
                    if name == "distance" { 6 } else { 3 },
                ) =>
        {
            Some(value)
        }
        _ => {
            errors.push(near_error(
                "invalid_number",
                format!("{name} `{text}` is not a finite decimal number"),
            ));
            None
        }
    };
    let lat = number("latitude", parts[0]);
    let lon = number("longitude", parts[1]);
    let distance = parts.get(2).and_then(|text| number("distance", text));
    let unit = match parts.get(3) {
        None => distance_unit("km"),
        Some(text) => {
            let unit = distance_unit(text);
            if unit.is_none() {
                errors.push(near_error(
                    "unknown_value",
                    format!("unit `{text}`: km, mi, [mi_i] or m"),
                ));
            }
            unit
        }
    };
    if let Some(lat) = lat.filter(|lat| Coordinates::check_latitude(*lat).is_err()) {
        errors.push(near_error(
            "out_of_range",
            format!("latitude {lat} is not between -90 and 90"),
        ));
    }
    if let Some(lon) = lon.filter(|lon| Coordinates::check_longitude(*lon).is_err()) {
        errors.push(near_error(
            "out_of_range",
            format!("longitude {lon} is not between -180 and 180"),
        ));
    }
    let unit = unit.unwrap_or(DistanceUnit {
        spelling: "km",
        metres: 1000.0,
        ucum: "km",
    });
    let distance = match (parts.len() > 2, distance) {
        (false, _) => Some(DEFAULT_DISTANCE_KM * 1000.0 / unit.metres),
        (true, distance) => distance,
    };
    if let Some(distance) = distance {
        if distance <= 0.0 || distance * unit.metres > MAX_RADIUS_KM * 1000.0 {
            errors.push(near_error(
                "out_of_range",
                format!(
                    "distance {distance} {}: more than 0 and at most {MAX_RADIUS_KM} km ({:.1} mi)",
                    unit.spelling,
                    MAX_RADIUS_KM * 1000.0 / METRES_PER_MILE
                ),
            ));
        }
    }
    match (lat, lon, distance) {
        (Some(lat), Some(lon), Some(distance)) if errors.is_empty() => Ok(Near {
            centre: Coordinates { lat, lon },
            distance,
            radius_m: distance * unit.metres,
            unit,
        }),
        _ => Err(errors),
    }
}

/// `_count`: from 1; above the maximum the server serves pages of the maximum (FHIR lets a
/// server return fewer than asked, never more).
pub(super) fn parse_count(text: Option<&str>, errors: &mut Vec<FieldError>) -> usize {
    match text.map(|t| t.parse::<i32>()) {
        None => DEFAULT_COUNT,
        Some(Ok(count)) if count >= 1 => (count as usize).min(MAX_COUNT),
        Some(_) => {
            errors.push(FieldError::query(
                "_count",
                "out_of_range",
                format!("an integer from 1 (pages hold at most {MAX_COUNT})"),
            ));
            DEFAULT_COUNT
        }
    }
}

/// `Location/12`, a bare `12`, or a URL ending in `/Location/12`.
/// Longest `location=` or `practitioner=` reference: two of them, percent-encoded, stay within
/// the query-string limit (`CLINIC_FINDER_MAX_QUERY_BYTES`, 2,048 by default).
const MAX_REFERENCE_LEN: usize = 300;

pub(super) fn parse_reference(
    name: &str,
    kind: &str,
    text: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let prefix = format!("{kind}/");
    let id = match text.rfind(&prefix) {
        Some(at) if at == 0 || text[..at].ends_with('/') => &text[at + prefix.len()..],
        _ => text,
    };
    // As the documented pattern says: a URL's characters before `Kind/`, no sign, no leading
    // zero, at most 16 digits.
    let url_like = text.len() <= MAX_REFERENCE_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/._~-".contains(&b));
    let canonical = url_like
        && !id.starts_with('0')
        && (1..=16).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_digit());
    match id.parse::<i64>() {
        Ok(id) if canonical && id >= 1 => Some(id),
        _ => {
            errors.push(FieldError::query(
                name,
                "invalid_reference",
                format!("`{text}`: {kind}/{{id}} or a bare id"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_takes_two_to_four_parts_and_defaults_to_25_km() {
        let near = parse_near(Some("40.5|-73.9")).unwrap();
        assert_eq!(
            (near.distance, near.radius_m, near.unit.ucum),
            (25.0, 25_000.0, "km")
        );
        let near = parse_near(Some("40.5|-73.9|10|mi")).unwrap();
        assert!((near.radius_m - 16_093.44).abs() < 1e-9);
        assert_eq!(near.unit.ucum, "[mi_i]");
        let near = parse_near(Some("40.5|-73.9|2000|m")).unwrap();
        assert_eq!(near.radius_m, 2000.0);
    }

    #[test]
    fn every_bad_near_is_refused_with_its_reason() {
        let code = |text: &str| parse_near(Some(text)).unwrap_err()[0].code.clone();
        assert_eq!(code("40.5"), "invalid_format");
        assert_eq!(code("40.5||10"), "invalid_format");
        assert_eq!(code("NaN|-73.9"), "invalid_number");
        assert_eq!(code("inf|-73.9"), "invalid_number");
        assert_eq!(code("91|-73.9"), "out_of_range");
        assert_eq!(code("40|-181"), "out_of_range");
        assert_eq!(code("40|-73|301|km"), "out_of_range");
        assert_eq!(code("40|-73|187|mi"), "out_of_range");
        assert_eq!(code("40|-73|0"), "out_of_range");
        assert_eq!(code("40|-73|5|furlong"), "unknown_value");
        assert_eq!(code("40|-73|5|km|x"), "invalid_format");
        assert_eq!(parse_near(None).unwrap_err()[0].code, "required");
    }

    #[test]
    fn references_may_be_typed_bare_or_absolute() {
        let mut errors = Vec::new();
        let parse = |text: &str, errors: &mut Vec<FieldError>| {
            parse_reference("location", "Location", text, errors)
        };
        assert_eq!(parse("Location/12", &mut errors), Some(12));
        assert_eq!(parse("12", &mut errors), Some(12));
        assert_eq!(parse("http://h/fhir/Location/12", &mut errors), Some(12));
        assert!(errors.is_empty());
        assert_eq!(parse("Practitioner/12", &mut errors), None);
        assert_eq!(parse("0", &mut errors), None);
        assert_eq!(errors.len(), 2);
    }
}
