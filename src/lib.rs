//! clinic-finder: a clinic finder and provider-credential directory for therapeutic botulinum
//! toxin. See README.md and docs/architecture.md for the layers: `api` (HTTP) → `directory`
//! (every write) → `db` / `search` → `domain`.

pub mod api;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod finder;
pub mod import;
pub mod openapi;
pub mod search;
pub mod startup;
pub mod state;
