//! Who writes, what they may write, and the audit event each write leaves.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{DirectoryError, DirectoryResult};
use crate::db::models::NewAuditEntry;
use crate::db::{self, DbConnection};
use crate::domain::{Freshness, Role};

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// An API key, with its role.
    Key { id: i64, role: Role },
    /// The service itself: start-up (the bootstrap key), automatic screening.
    System,
    /// An operator at the command line (`clinic-finder keys create`).
    Cli,
    /// A bulk import (`clinic-finder import`, the demo dataset); the batch's audit event names
    /// the file and the source that vouches for it.
    Import,
}

/// The acting principal of a write: who, for which request, and the instant the rules judge by
/// (the service's clock, which tests move; audit rows carry the wall-clock time of the write).
#[derive(Debug, Clone)]
pub struct Principal {
    pub who: Who,
    pub request_id: Option<String>,
    pub now: DateTime<Utc>,
    /// How long past its re-verification date a credential still counts (the vetting rules judge
    /// by it as search does).
    pub reverify_grace_days: u32,
}

impl Principal {
    pub fn key(id: i64, role: Role, request_id: Option<String>, now: DateTime<Utc>) -> Principal {
        Principal {
            who: Who::Key { id, role },
            request_id,
            now,
            reverify_grace_days: crate::domain::licensing::DEFAULT_REVERIFY_GRACE_DAYS,
        }
    }

    /// The same principal, judging credentials with this re-verification grace.
    pub fn with_reverify_grace(mut self, days: u32) -> Principal {
        self.reverify_grace_days = days;
        self
    }

    /// The day and grace credentials are judged by.
    pub fn freshness(&self) -> Freshness {
        Freshness::new(self.today(), self.reverify_grace_days)
    }

    pub fn system(now: DateTime<Utc>) -> Principal {
        Principal::other(Who::System, now)
    }

    pub fn cli(now: DateTime<Utc>) -> Principal {
        Principal::other(Who::Cli, now)
    }

    pub fn import(now: DateTime<Utc>) -> Principal {
        Principal::other(Who::Import, now)
    }

    fn other(who: Who, now: DateTime<Utc>) -> Principal {
        Principal {
            who,
            request_id: None,
            now,
            reverify_grace_days: crate::domain::licensing::DEFAULT_REVERIFY_GRACE_DAYS,
        }
    }

    pub fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }

    pub fn key_id(&self) -> Option<i64> {
        match self.who {
            Who::Key { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The audit trail's `actor_role`: the key's role, or `system`, `cli`, `import`.
    pub fn role_name(&self) -> &'static str {
        match self.who {
            Who::Key { role, .. } => role.as_str(),
            Who::System => "system",
            Who::Cli => "cli",
            Who::Import => "import",
        }
    }

    pub(crate) fn require(&self, allowed: Allowed) -> DirectoryResult<()> {
        let permitted = match self.who {
            Who::Key { role, .. } => allowed.roles.contains(&role),
            Who::System => allowed.system,
            Who::Cli => allowed.cli,
            Who::Import => allowed.import,
        };
        if permitted {
            Ok(())
        } else {
            let roles: Vec<_> = allowed.roles.iter().map(|r| r.as_str()).collect();
            Err(DirectoryError::Forbidden(format!(
                "this operation needs the role {}; the caller is {}",
                roles.join(" or "),
                self.role_name()
            )))
        }
    }
}

/// Who may make a kind of write. The API checks `roles` before it reads a request body (so a
/// caller without the role gets 403 rather than a complaint about the body); the directory
/// checks the whole of it again for every writer.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub roles: &'static [Role],
    pub system: bool,
    pub cli: bool,
    pub import: bool,
}

/// Editing the directory's data: admins, and imports.
pub const EDITORS: Allowed = Allowed {
    roles: &[Role::Admin],
    system: false,
    cli: false,
    import: true,
};

/// Vetting decisions: admins and reviewers, and the service's own screening.
pub const REVIEWERS: Allowed = Allowed {
    roles: &[Role::Admin, Role::Reviewer],
    system: true,
    cli: false,
    import: false,
};

/// API keys: admins, the operator at the command line, and start-up (the bootstrap key).
pub const KEY_ADMINS: Allowed = Allowed {
    roles: &[Role::Admin],
    system: true,
    cli: true,
    import: false,
};

/// What a write did: the action names its target's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    ClinicCreate,
    ClinicUpdate,
    ClinicDelete,
    LocationCreate,
    LocationUpdate,
    LocationDelete,
    ProviderCreate,
    ProviderUpdate,
    ProviderDelete,
    ProviderLinkLocation,
    ProviderUnlinkLocation,
    ProviderSetTreatment,
    ProviderRemoveTreatment,
    ProviderTransition,
    CredentialCreate,
    CredentialUpdate,
    CredentialDelete,
    CredentialVerify,
    ApiKeyCreate,
    ApiKeyRevoke,
    ImportBatch,
    /// A provider excluded on an exclusion-list hit (by the service, or a reviewer confirming).
    ProviderExclude,
    /// A batch of providers screened against the exclusion lists (the matches it raised).
    ScreeningRun,
    /// A reviewer's decision on a screening match.
    ScreeningResolve,
    /// An exclusion list loaded (a full file or a supplement).
    ExclusionsImport,
    /// The NUCC taxonomy code set loaded into the specialties.
    TaxonomyImport,
}

impl AuditAction {
    /// As stored and filtered on (`GET /v1/admin/audit?action=`).
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            ClinicCreate => "clinic.create",
            ClinicUpdate => "clinic.update",
            ClinicDelete => "clinic.delete",
            LocationCreate => "location.create",
            LocationUpdate => "location.update",
            LocationDelete => "location.delete",
            ProviderCreate => "provider.create",
            ProviderUpdate => "provider.update",
            ProviderDelete => "provider.delete",
            ProviderLinkLocation => "provider.link_location",
            ProviderUnlinkLocation => "provider.unlink_location",
            ProviderSetTreatment => "provider.set_treatment",
            ProviderRemoveTreatment => "provider.remove_treatment",
            ProviderTransition => "provider.transition",
            CredentialCreate => "credential.create",
            CredentialUpdate => "credential.update",
            CredentialDelete => "credential.delete",
            CredentialVerify => "credential.verify",
            ApiKeyCreate => "api_key.create",
            ApiKeyRevoke => "api_key.revoke",
            ImportBatch => "import.batch",
            ProviderExclude => "provider.exclude",
            ScreeningRun => "screening.run",
            ScreeningResolve => "screening.resolve",
            ExclusionsImport => "exclusions.import",
            TaxonomyImport => "taxonomy.import",
        }
    }

    /// The audit row's `target_type`.
    pub fn target_type(self) -> &'static str {
        use AuditAction::*;
        match self {
            ClinicCreate | ClinicUpdate | ClinicDelete => "clinic",
            LocationCreate | LocationUpdate | LocationDelete => "location",
            ProviderCreate
            | ProviderUpdate
            | ProviderDelete
            | ProviderLinkLocation
            | ProviderUnlinkLocation
            | ProviderSetTreatment
            | ProviderRemoveTreatment
            | ProviderTransition
            | ProviderExclude => "provider",
            CredentialCreate | CredentialUpdate | CredentialDelete | CredentialVerify => {
                "credential"
            }
            ApiKeyCreate | ApiKeyRevoke => "api_key",
            ImportBatch => "import",
            ScreeningRun => "screening",
            ScreeningResolve => "screening_match",
            ExclusionsImport => "exclusion_source",
            TaxonomyImport => "taxonomy",
        }
    }
}

/// One write, as the audit trail keeps it: the action and its target, the resource before and
/// after (absent for a create or a delete), and why.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}

impl AuditEvent {
    pub fn of(action: AuditAction, target_id: impl ToString) -> AuditEvent {
        AuditEvent {
            action,
            target_id: target_id.to_string(),
            before: None,
            after: None,
            reason: None,
        }
    }

    pub fn before(mut self, view: &impl Serialize) -> AuditEvent {
        self.before = serde_json::to_value(view).ok();
        self
    }

    pub fn after(mut self, view: &impl Serialize) -> AuditEvent {
        self.after = serde_json::to_value(view).ok();
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> AuditEvent {
        self.reason = Some(reason.into());
        self
    }
}

/// Appends the event; called only by [`super::write`], inside the write's transaction.
pub(super) fn record(
    connection: &mut DbConnection,
    by: &Principal,
    event: &AuditEvent,
) -> DirectoryResult<()> {
    let (mut before, mut after) = (event.before.clone(), event.after.clone());
    redact_date_of_birth(&mut before, &mut after);
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(|v| v.to_string());
    db::audit::insert(
        connection,
        &NewAuditEntry {
            occurred_at: db::now(),
            actor_key_id: by.key_id(),
            actor_role: by.role_name().to_owned(),
            action: event.action.as_str().to_owned(),
            target_type: event.action.target_type().to_owned(),
            target_id: event.target_id.clone(),
            before_json: json(&before),
            after_json: json(&after),
            reason: event.reason.clone(),
            request_id: by.request_id.clone(),
        },
    )?;
    Ok(())
}

/// A date of birth never reaches the audit trail: where a view carries one, it reads `"changed"`
/// on both sides when the write changed it, and `"unchanged"` when it did not.
fn redact_date_of_birth(
    before: &mut Option<serde_json::Value>,
    after: &mut Option<serde_json::Value>,
) {
    const FIELD: &str = "date_of_birth";
    let value = |view: &Option<serde_json::Value>| {
        view.as_ref()
            .and_then(|v| v.get(FIELD))
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    };
    let marker = if value(before) == value(after) {
        "unchanged"
    } else {
        "changed"
    };
    for view in [before, after].into_iter().flatten() {
        if let Some(object) = view.as_object_mut() {
            if object.contains_key(FIELD) {
                object.insert(FIELD.to_owned(), marker.into());
            }
        }
    }
}
