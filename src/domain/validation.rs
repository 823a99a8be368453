//! Body validation: `validator`'s derive for lengths, ranges and URLs, plus the domain parsers,
//! collected into one field-level list so a client sees every problem at once. The API, the
//! importers and the CLI all validate through these: one rule set, one list of codes.

use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use serde::Serialize;
use utoipa::ToSchema;

use super::{is_taxonomy_code, is_us_state, Npi};

/// Which part of the request a field error points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamLocation {
    Body,
    Query,
    Path,
    Header,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"in": "body", "pointer": "/npi", "code": "npi_check_digit", "detail": "NPI check digit is wrong (Luhn over 80840 + the first 9 digits)"}))]
pub struct FieldError {
    /// The part of the request the field is in.
    #[serde(rename = "in")]
    pub location: ParamLocation,
    /// JSON pointer (RFC 6901) to the field within that part, e.g. `/npi`, `/lat`, `/opening_hours/mon/0`.
    #[schema(max_length = 2048, pattern = "^(/[^\\x00]*)?$")]
    pub pointer: String,
    /// Machine-readable reason, e.g. `required`, `out_of_range`, `unknown_value`, `npi_check_digit`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_]+$")]
    pub code: String,
    /// What is wrong, for a human.
    #[schema(min_length = 1, max_length = 4096, pattern = "^[^\\x00]*$")]
    pub detail: String,
}

impl FieldError {
    pub fn new(
        location: ParamLocation,
        pointer: impl Into<String>,
        code: &str,
        detail: impl Into<String>,
    ) -> Self {
        let pointer = pointer.into();
        let pointer = if pointer.starts_with('/') || pointer.is_empty() {
            pointer
        } else {
            format!("/{pointer}")
        };
        FieldError {
            location,
            pointer: documented(pointer, 2048),
            code: code.to_owned(),
            detail: documented(detail.into(), 4096),
        }
    }
    pub fn body(pointer: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Self::new(ParamLocation::Body, pointer, code, detail)
    }
    pub fn query(pointer: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Self::new(ParamLocation::Query, pointer, code, detail)
    }
}

/// Text as the document promises it (no NUL, at most `max` characters), whatever a request named:
/// a pointer or a detail may echo a field name the client invented.
fn documented(text: String, max: usize) -> String {
    if !text.contains('\0') && text.chars().count() <= max {
        return text;
    }
    text.chars()
        .map(|c| {
            if c == '\0' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .take(max)
        .collect()
}

/// A value refused by the rules: every field that is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} invalid field(s)", .0.len())]
pub struct Invalid(pub Vec<FieldError>);

impl From<FieldError> for Invalid {
    fn from(error: FieldError) -> Invalid {
        Invalid(vec![error])
    }
}

/// Accumulates field errors for one request body.
#[derive(Default)]
pub struct Checks {
    pub errors: Vec<FieldError>,
}

impl Checks {
    /// Starts with the derive-based checks of `input`.
    pub fn of(input: &impl Validate) -> Checks {
        let mut checks = Checks::default();
        if let Err(errors) = input.validate() {
            flatten("", &errors, &mut checks.errors);
        }
        checks
    }

    pub fn push(&mut self, pointer: impl Into<String>, code: &str, detail: impl Into<String>) {
        self.errors.push(FieldError::body(pointer, code, detail));
    }

    /// Adds the errors of a nested value's checks, their pointers under `prefix`.
    pub fn extend_under(&mut self, prefix: &str, nested: Checks) {
        self.errors
            .extend(nested.errors.into_iter().map(|mut error| {
                error.pointer = format!("{prefix}{}", error.pointer);
                error
            }));
    }

    /// Parses an enum value given as a string.
    pub fn enum_value<T>(
        &mut self,
        pointer: &str,
        text: &str,
        parse: fn(&str) -> Option<T>,
        expected: String,
    ) -> Option<T> {
        let parsed = parse(text);
        if parsed.is_none() {
            self.push(
                pointer,
                "unknown_value",
                format!("`{text}` is not one of: {expected}"),
            );
        }
        parsed
    }

    pub fn npi(&mut self, pointer: &str, text: &str) -> Option<Npi> {
        match Npi::parse(text) {
            Ok(npi) => Some(npi),
            Err(error) => {
                self.push(pointer, error.code(), error.detail());
                None
            }
        }
    }

    pub fn taxonomy_code(&mut self, pointer: &str, code: &str) {
        if !is_taxonomy_code(code) {
            self.push(
                pointer,
                "invalid_taxonomy_code",
                "a NUCC taxonomy code has 10 characters ending in X, e.g. 2084N0400X",
            );
        }
    }

    pub fn us_state(&mut self, pointer: &str, code: &str) {
        if !is_us_state(code) {
            self.push(
                pointer,
                "unknown_value",
                format!("`{code}` is not a US state or territory code (e.g. NY, CA)"),
            );
        }
    }

    /// Finishes the checks and hands back `parsed`: values whose parsing pushed an error when it
    /// failed (e.g. [`Checks::enum_value`]), so they are present whenever no error was found.
    pub fn finish_with<T>(self, parsed: Option<T>) -> Result<T, Invalid> {
        self.finish()?;
        parsed.ok_or_else(|| Invalid(Vec::new()))
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.errors))
        }
    }
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    let mut fields: Vec<_> = errors.errors().iter().collect();
    fields.sort_by_key(|(name, _)| name.to_string());
    for (field, kind) in fields {
        let pointer = format!("{prefix}/{field}");
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let detail = error
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe(error));
                    out.push(FieldError::body(
                        pointer.clone(),
                        code_for(&error.code),
                        detail,
                    ));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&pointer, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(&format!("{pointer}/{index}"), inner, out);
                }
            }
        }
    }
}

fn code_for(code: &str) -> &str {
    match code {
        "length" => "invalid_length",
        "range" => "out_of_range",
        "url" => "invalid_url",
        "email" => "invalid_email",
        other => other,
    }
}

fn describe(error: &validator::ValidationError) -> String {
    let param = |name: &str| error.params.get(name).map(|v| v.to_string());
    match error.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(max)) => format!("length must be at most {max}"),
            (Some(min), None) => format!("length must be at least {min}"),
            _ => "invalid length".to_owned(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "out of range".to_owned(),
        },
        "url" => "must be an absolute http(s) URL".to_owned(),
        other => other.replace('_', " "),
    }
}

/// A website: an absolute `http` or `https` URI, in printable ASCII as RFC 3986 spells URIs
/// (an internationalised name must come punycoded, a space percent-encoded).
pub fn http_url(value: &str) -> Result<(), validator::ValidationError> {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    let printable = value.bytes().all(|b| b.is_ascii_graphic());
    if scheme_ok && printable {
        Ok(())
    } else {
        Err(validator::ValidationError::new("url"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_field_names_are_echoed_as_documented() {
        let long = format!("/a\0b{}", "x".repeat(5000));
        let error = FieldError::body(long, "unknown_field", "d\0");
        assert!(!error.pointer.contains('\0') && error.pointer.starts_with("/a\u{FFFD}b"));
        assert_eq!(error.pointer.chars().count(), 2048);
        assert_eq!(error.detail, "d\u{FFFD}");
    }
}
