//! The directory's use cases: every write to clinics, locations, providers, credentials, the
//! vetting state and API keys goes through this module, whoever makes it — the API, the
//! importers, the CLI or start-up. There is no other way to write.
//!
//! Each write is one function taking a connection, the acting [`Principal`] and a typed command,
//! and returning [`Written`]: the new view and what the search index must reload. It
//!
//! 1. checks that the principal may make it ([`Allowed`]),
//! 2. validates the command with the directory's rules (the same for every writer; field errors
//!    come back together as [`DirectoryError::Invalid`]),
//! 3. then, inside one write transaction ([`write`]): checks the version the writer expects,
//!    writes the change, appends exactly one typed [`AuditEvent`] and the change-log rows that
//!    carry the change to every API process's search index.
//!
//! The business rules sit beside the functions that apply them: the provider lifecycle and the
//! licence rule in [`vetting`], what a credential edit does to its verification in
//! [`credentials`]. Callers map [`DirectoryError`] to what their users see (problem details in
//! the API, a line-numbered report in the importer).

pub mod audit;
pub mod bulk;
pub mod clinics;
pub mod credentials;
pub mod exclusions;
pub mod keys;
pub mod locations;
pub mod providers;
pub mod screening;
pub mod secrets;
pub mod taxonomy;
pub mod vetting;

pub use audit::{Allowed, AuditAction, AuditEvent, Principal, Who};

use crate::db::change_log::{self, Affected};
use crate::db::{self, DbConnection, DbError, Violation};
use crate::domain::{FieldError, Invalid, VettingStatus};

/// Why a write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The command breaks the rules: every field that is wrong.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },
    /// The change conflicts with what is stored (a duplicate NPI, a rule such as the licence
    /// rule). `code` is stable and machine-readable.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("cannot move from {from} to {to}")]
    InvalidTransition {
        from: VettingStatus,
        to: VettingStatus,
        allowed: Vec<VettingStatus>,
    },
    /// The writer expected another version than the stored one.
    #[error("the resource has changed: it is at version {current_version}")]
    Stale { current_version: i64 },
    /// The write must say which version it expects (an update without one).
    #[error("the write must name the version it expects")]
    VersionRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Database(DbError),
}

impl DirectoryError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> DirectoryError {
        DirectoryError::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}

impl From<DbError> for DirectoryError {
    fn from(error: DbError) -> Self {
        match error.violation() {
            Some(Violation::Duplicate(field)) => {
                return DirectoryError::Conflict {
                    code: "duplicate",
                    detail: format!("a resource with this {field} already exists"),
                }
            }
            Some(Violation::Referenced) => {
                return DirectoryError::Conflict {
                    code: "referenced",
                    detail: "the change conflicts with a related resource (it is referenced, or \
                             refers to one that does not exist)"
                        .to_owned(),
                }
            }
            None => {}
        }
        match error {
            DbError::NotFound { entity, id } => DirectoryError::NotFound { entity, id },
            DbError::Stale { current_version } => DirectoryError::Stale { current_version },
            other => DirectoryError::Database(other),
        }
    }
}

impl From<FieldError> for DirectoryError {
    fn from(error: FieldError) -> Self {
        DirectoryError::Invalid(error.into())
    }
}

impl From<diesel::result::Error> for DirectoryError {
    fn from(error: diesel::result::Error) -> Self {
        DirectoryError::from(DbError::from(error))
    }
}

pub type DirectoryResult<T> = Result<T, DirectoryError>;

/// A committed write: the new view, and what each process's search index must reload (already
/// in the change log; the writing process refreshes its own index at once).
#[derive(Debug)]
pub struct Written<T> {
    pub view: T,
    pub affected: Affected,
}

/// What a use case did inside its transaction, for [`write`] to record.
pub(crate) struct Change<T> {
    pub view: T,
    /// `None` only for a write that changed nothing (an idempotent repeat).
    pub event: Option<AuditEvent>,
    pub affected: Affected,
}

impl<T> Change<T> {
    pub fn new(view: T, event: AuditEvent, affected: Affected) -> Change<T> {
        Change {
            view,
            event: Some(event),
            affected,
        }
    }

    /// Nothing was written: no audit event, nothing for the index.
    pub fn unchanged(view: T) -> Change<T> {
        Change {
            view,
            event: None,
            affected: Affected::default(),
        }
    }
}

/// The one transaction every write runs in: the change, its audit event and its change-log rows
/// commit together or not at all.
pub(crate) fn write<T>(
    connection: &mut DbConnection,
    by: &Principal,
    work: impl FnOnce(&mut DbConnection) -> DirectoryResult<Change<T>>,
) -> DirectoryResult<Written<T>> {
    db::write_transaction(connection, |connection| {
        let change = work(connection)?;
        if let Some(event) = &change.event {
            audit::record(connection, by, event)?;
        }
        change_log::record(connection, &change.affected)?;
        Ok(Written {
            view: change.view,
            affected: change.affected,
        })
    })
}

/// The version a write expects, checked against the stored one.
pub(crate) fn check_version(expected: i64, current: i64) -> DirectoryResult<()> {
    if expected == current {
        Ok(())
    } else {
        Err(DirectoryError::Stale {
            current_version: current,
        })
    }
}

/// A version-guarded update that matched no row: someone else wrote in between.
pub(crate) fn raced(read_version: i64) -> DirectoryError {
    DirectoryError::Stale {
        current_version: read_version + 1,
    }
}
