//! The directory's use cases: every write to clinics, locations, providers, credentials, the
//! vetting state and API keys goes through this module, whoever makes it (the API, the importers,
//! the CLI, start-up).

pub mod taxonomy;
