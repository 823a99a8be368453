//! Parsed domain types: a value of one of these types has been checked at the edge
//! ("parse, don't validate"), so the layers below never see an invalid NPI or latitude.

mod coordinates;
mod enums;
pub mod hours;
pub mod json;
pub mod licensing;
pub mod names;
mod npi;
pub mod patch;
pub mod schemas;
mod us_state;
pub mod utc;
pub mod validation;

pub use coordinates::{Coordinates, CoordinatesError};
pub use enums::{
    CredentialKind, Degree, GeocodePrecision, LabelStatus, MatchStatus, ProviderSource, Role,
    ScreeningRule, SourceType, VerificationStatus, VettingStatus,
};
pub use hours::{CompiledHours, OpenStatus, OpeningInterval, WeeklyHours};
pub use licensing::Freshness;
pub use npi::{Npi, NpiError};
pub use schemas::{is_treatment_code, UsState, TREATMENT_CODES};
pub use us_state::{is_us_state, US_STATE_CODES};
pub use validation::{Checks, FieldError, Invalid, ParamLocation};

/// A NUCC health care provider taxonomy code: 10 characters, 9 alphanumerics and a trailing X.
pub fn is_taxonomy_code(code: &str) -> bool {
    code.len() == 10
        && code.ends_with('X')
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// An ISO 639-1 language code, lower case.
pub fn is_language_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())
}
