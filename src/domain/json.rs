//! JSON in, with errors a client can act on: a wrong type, a missing or unknown field gets a
//! field error with a JSON pointer; broken JSON is malformed. The API's request bodies and the
//! importer's records are read by the same parser, so they are refused the same way.

use serde::de::DeserializeOwned;

use super::FieldError;

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all.
    #[error("{0}")]
    Malformed(String),
    /// JSON, but a field is not what the type wants.
    #[error("{}: {}", .0.pointer, .0.detail)]
    Invalid(FieldError),
}

/// Where a serde path error points, as a JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => {}
        }
    }
    pointer
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(deserializer);
    // JSON Schema counts `2020.0` as an integer; serde does not. Retry with integral numbers
    // written as integers, so a schema-valid body is not refused for its spelling.
    let parsed = match parsed {
        Err(error) if error.inner().to_string().contains("floating point") => {
            match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(mut value) => {
                    integral_floats_as_integers(&mut value);
                    serde_path_to_error::deserialize(value).or(Err(error))
                }
                Err(_) => Err(error),
            }
        }
        other => other,
    };
    // Neither database stores U+0000 in text (SQLite's length() stops at it, PostgreSQL refuses it).
    // Every body is a JSON object; serde would also take a struct from an array (`[null]`).
    let starts_as_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if parsed.is_ok() && !starts_as_object {
        return Err(JsonError::Invalid(FieldError::body(
            "",
            "invalid_type",
            "the body must be a JSON object",
        )));
    }
    let has_nul_escape = bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    if parsed.is_ok() && has_nul_escape {
        let nul = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|value| find_nul(&value, String::new()));
        if let Some(pointer) = nul {
            return Err(JsonError::Invalid(FieldError::body(
                pointer,
                "invalid_character",
                "text may not contain U+0000 (NUL)",
            )));
        }
    }
    parsed.map_err(json_error)
}

/// Deserializes an already-parsed JSON value, with the same field-level errors.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, JsonError> {
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> JsonError {
    let inner = error.inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            // serde says "... at line 1 column 17": the pointer says where, more usefully.
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let mut pointer = pointer(error.path());
            let mut message = message;
            let code = if message.starts_with("unknown field") {
                // serde lists the expected fields in declaration order, in one of three shapes;
                // one shape, in alphabetical order (the document's), is easier to read and to match.
                let mut names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
                if !names.is_empty() {
                    let field = names.remove(0).to_owned();
                    message = unknown_field_detail(&field, &names);
                }
                "unknown_field"
            } else if message.starts_with("missing field") {
                if let Some(field) = message.split('`').nth(1) {
                    pointer = format!("{pointer}/{field}");
                }
                "required"
            } else if message.starts_with("unknown variant") {
                "unknown_value"
            } else {
                "invalid_type"
            };
            JsonError::Invalid(FieldError::body(pointer, code, message))
        }
        _ => JsonError::Malformed(format!("the body is not valid JSON: {inner}")),
    }
}

/// The detail of an unknown body field: its name and the fields the body takes, sorted.
pub fn unknown_field_detail(field: &str, expected: &[&str]) -> String {
    let mut expected: Vec<String> = expected.iter().map(|name| format!("`{name}`")).collect();
    expected.sort();
    format!(
        "unknown field `{field}`; the fields are {}",
        expected.join(", ")
    )
}

/// A body that is not JSON, and what the parser says about it: the document's example of a 400.
pub const MALFORMED_EXAMPLE_BODY: &[u8] = br#"{"name": "Ada" "Lovelace"}"#;

/// Rewrites every number with no fractional part (`2020.0`) as an integer (`2020`).
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64() {
                let fits = float.fract() == 0.0 && float.abs() < 9.0e15;
                if fits {
                    *value = serde_json::Value::from(float as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_floats_as_integers)
        }
        _ => {}
    }
}

/// The JSON pointer of the first string (value or key) holding U+0000.
fn find_nul(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => Some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| find_nul(item, format!("{at}/{index}"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
            if key.contains('\0') {
                Some(here)
            } else {
                find_nul(item, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod integral_tests {
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        year: i32,
        latitude: f64,
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_not() {
        let body: Body = super::parse(br#"{"year": 2020.0, "latitude": 40.5}"#).unwrap();
        assert_eq!(
            body,
            Body {
                year: 2020,
                latitude: 40.5
            }
        );
        assert!(super::parse::<Body>(br#"{"year": 2020.5, "latitude": 1}"#).is_err());
    }
}
