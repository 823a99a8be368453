//! A read-only FHIR R4 (4.0.1) facade over the public directory, in the shape of the Da Vinci
//! PDex Plan-Net guide: `Location` (read, and `near` search in distance order from the public
//! search engine), `Organization` (the clinics), `Practitioner` (the public provider profile),
//! `PractitionerRole` (a public provider at a location) and the `CapabilityStatement`. It shows
//! exactly what the public `/v1` endpoints show; errors are `OperationOutcome`s (see `outcome`).
//! See docs/fhir.md.
//!
//! One file per job: `negotiation` (FHIR JSON only: `_format`, `Accept`, `_pretty`), `params`
//! (the search parameters and their parsing), `links` (the base URL and link queries), one file
//! per resource with its handlers (`location`, `organization`, `practitioner`,
//! `practitioner_role`), `capability` (the CapabilityStatement), `mapping` (directory → FHIR),
//! `model` (the resource types), `outcome` (errors as OperationOutcomes) and `responses` (the
//! errors the operations document).

pub mod capability;
pub mod links;
pub mod location;
pub mod mapping;
pub mod model;
pub mod negotiation;
pub mod organization;
pub mod outcome;
pub mod params;
pub mod practitioner;
pub mod practitioner_role;
pub mod responses;

// The handlers, for `api::routes`.
pub use self::capability::metadata;
pub use self::location::{read_location, search_location};
pub use self::organization::read_organization;
pub use self::practitioner::read_practitioner;
pub use self::practitioner_role::{read_practitioner_role, search_practitioner_role};
