//! clinic-finder: a clinic finder and provider-credential directory for therapeutic botulinum
//! toxin. See README.md and docs/architecture.md.

pub mod api;
pub mod auth;
pub mod caching;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod finder;
pub mod import;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod search;
pub mod security;
pub mod startup;
pub mod telemetry;
