//! How the domain's values look in the OpenAPI document, where a Rust `String` or `i64` says too
//! little: schema-only types for fields to name with `#[schema(value_type = …)]`. Each states
//! exactly what the domain's parser accepts (the closed lists as enums, the rest as patterns and
//! bounds); enums become components, the others are written inline.

use std::borrow::Cow;

use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// Ids are positive, and stay within 2^53 − 1 so that JavaScript clients read them exactly.
pub const MAX_ID: i64 = 9_007_199_254_740_991;

/// The botulinum toxin indications the taxonomy migration seeds (`GET /v1/treatments`); a test
/// holds the two together. A new one comes with a migration, and so with a new document.
pub const TREATMENT_CODES: &[&str] = &[
    "chronic_migraine",
    "cervical_dystonia",
    "spasticity_adult",
    "spasticity_pediatric",
    "blepharospasm",
    "strabismus",
    "axillary_hyperhidrosis",
    "overactive_bladder",
    "neurogenic_detrusor_overactivity",
    "myofascial_back_pain",
    "tmj_bruxism",
    "plantar_fasciitis",
    "sialorrhea",
    "glabellar_lines",
    "forehead_lines",
    "lateral_canthal_lines",
];

pub fn is_treatment_code(code: &str) -> bool {
    TREATMENT_CODES.contains(&code)
}

macro_rules! schema_type {
    ($(#[$meta:meta])* $name:ident, $schema:expr) => {
        $(#[$meta])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

schema_type!(
    /// A US state, the District of Columbia or an inhabited territory, as its USPS code.
    UsState,
    string("A US state, DC or an inhabited territory: its USPS code.")
        .enum_values(Some(super::US_STATE_CODES.iter().copied()))
        .examples([serde_json::json!("NY")])
);

schema_type!(
    /// A treatment code of the taxonomy ([`TREATMENT_CODES`]).
    TreatmentCode,
    string("A botulinum toxin indication (`GET /v1/treatments`).")
        .enum_values(Some(TREATMENT_CODES.iter().copied()))
        .examples([serde_json::json!("chronic_migraine")])
);

/// Longest IANA timezone name (`America/Argentina/ComodRivadavia`).
pub const MAX_TIMEZONE_LEN: usize = 32;

schema_type!(
    /// An IANA timezone name (a location's hours are judged in it): a pattern, not an enum of the
    /// database's 600 names, which collide as identifiers in generated clients (`GMT0`, `GMT-0`)
    /// and change with the IANA releases. A name that fits but is not in the database is refused.
    Timezone,
    string("An IANA timezone name, e.g. America/New_York.")
        .min_length(Some(1))
        .max_length(Some(MAX_TIMEZONE_LEN))
        .pattern(Some("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"))
        .examples([serde_json::json!("America/New_York")])
);

/// A NUCC provider taxonomy code (`GET /v1/specialties`): a pattern, not an enum, because the
/// specialties are data (a taxonomy import adds codes without a new document, and a client
/// generated from an enum would refuse a profile naming a new one).
pub fn specialty_code() -> ObjectBuilder {
    string("A NUCC provider taxonomy code: 9 digits or capitals and a trailing X.")
        .min_length(Some(10))
        .max_length(Some(10))
        .pattern(Some("^[0-9A-Z]{9}X$"))
        .examples([serde_json::json!("2084N0400X")])
}

schema_type!(
    /// See [`specialty_code`].
    SpecialtyCode,
    specialty_code()
);

schema_type!(
    /// An ISO 639-1 language code, lower case.
    LanguageCode,
    string("An ISO 639-1 language code, lower case.")
        .min_length(Some(2))
        .max_length(Some(2))
        .pattern(Some("^[a-z]{2}$"))
        .examples([serde_json::json!("es")])
);

schema_type!(
    /// The name of an exclusion list as the API shows it, e.g. `OIG LEIE`.
    ListName,
    string("The name of an exclusion list, e.g. OIG LEIE.")
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some("^[^\\x00]*$"))
        .examples([serde_json::json!("OIG LEIE")])
);

schema_type!(
    /// An id: positive, at most [`MAX_ID`].
    Id,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64
        )))
        .minimum(Some(1))
        .maximum(Some(MAX_ID))
);

schema_type!(
    /// A UTC instant as responses write it (`domain::utc`): RFC 3339 with `Z`, to the microsecond.
    Timestamp,
    string("A UTC instant, RFC 3339 with Z.")
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime
        )))
        .max_length(Some(30))
);

schema_type!(
    /// A calendar date, `YYYY-MM-DD`.
    CalendarDate,
    string("A calendar date, YYYY-MM-DD.")
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Date
        )))
        .max_length(Some(10))
);

schema_type!(
    /// Any JSON object (a resource as the audit trail kept it).
    JsonObject,
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
);

#[cfg(test)]
mod tests {
    #[test]
    fn every_iana_timezone_fits_the_documented_pattern() {
        let word = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
        };
        for tz in chrono_tz::TZ_VARIANTS {
            let name = tz.name();
            let parts: Vec<&str> = name.split('/').collect();
            assert!(name.len() <= super::MAX_TIMEZONE_LEN, "{name}");
            assert!(name.as_bytes()[0].is_ascii_alphabetic(), "{name}");
            assert!(
                parts.len() <= 3 && parts.iter().all(|part| word(part)),
                "{name}"
            );
        }
    }
}
