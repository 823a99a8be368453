//! The closed vocabularies of the directory. Stored as TEXT (with CHECK constraints in the
//! migrations), exchanged as snake_case strings, listed in the OpenAPI document as enums.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares a string enum with `as_str`, `parse`, `ALL` and the serde/OpenAPI derives.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted values, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// The provider's professional degree.
    Degree {
        Md = "MD", Do = "DO", Np = "NP", Pa = "PA", Rn = "RN", Dds = "DDS", Dmd = "DMD", Dpm = "DPM",
    }
}

string_enum! {
    /// Where a provider is in vetting. Only `verified` providers are public. `excluded`: on a
    /// federal exclusion list (screening), from any state; only a reviewer moves it back to `pending`.
    VettingStatus {
        Pending = "pending", UnderReview = "under_review", Verified = "verified", Rejected = "rejected", Suspended = "suspended",
        Excluded = "excluded",
    }
}

string_enum! {
    /// What a credential is.
    CredentialKind {
        StateLicense = "state_license", BoardCertification = "board_certification", DeaRegistration = "dea_registration",
        Education = "education", InjectorTraining = "injector_training",
    }
}

string_enum! {
    /// The outcome of checking a credential against its primary source.
    VerificationStatus {
        Unverified = "unverified", Verified = "verified", Rejected = "rejected", Revoked = "revoked",
    }
}

string_enum! {
    /// The primary source a credential was checked against.
    SourceType {
        StateMedicalBoard = "state_medical_board", AbmsMemberBoard = "abms_member_board", AoaBoard = "aoa_board",
        Dea = "dea", Nppes = "nppes", TrainingProvider = "training_provider",
        EducationInstitution = "education_institution", Other = "other",
    }
}

string_enum! {
    /// Whether an indication is on the approved labelling, off-label, or cosmetic.
    LabelStatus {
        OnLabel = "on_label", OffLabel = "off_label", Cosmetic = "cosmetic",
    }
}

string_enum! {
    /// What an API key may do. The public needs no key.
    Role {
        Admin = "admin", Reviewer = "reviewer", Partner = "partner",
    }
}

impl Role {
    /// Roles that may use vetting actions and queues.
    pub fn can_review(self) -> bool {
        matches!(self, Role::Admin | Role::Reviewer)
    }
}

string_enum! {
    /// How a location's coordinates were found: an admin's edit, or a ZIP code's centroid (an
    /// import from NPPES, which has addresses but no coordinates).
    GeocodePrecision {
        Rooftop = "rooftop", PostalCode = "postal_code",
    }
}

string_enum! {
    /// How a provider came into the directory: through the API, an import file, or NPPES.
    ProviderSource {
        Manual = "manual", Import = "import", Nppes = "nppes",
    }
}

string_enum! {
    /// What an exclusion-list row matched a provider on: the NPI (the provider is excluded at once,
    /// unless the row carries a waiver), name and date of birth, or name and state only (a weaker
    /// match). Both of the latter wait for a reviewer.
    ScreeningRule {
        Npi = "npi", NameDob = "name_dob", NameState = "name_state",
    }
}

string_enum! {
    /// Where a screening match stands: waiting for a reviewer, confirmed (the provider is
    /// excluded), or a false positive (not raised again for the same source row).
    MatchStatus {
        Open = "open", Confirmed = "confirmed", FalsePositive = "false_positive",
    }
}
