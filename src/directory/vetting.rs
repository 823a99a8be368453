//! Vetting: the provider lifecycle and the primary-source verification of credentials. The
//! lifecycle table and the licence rule are here, next to each other and to the two writes that
//! apply them: a change to either rule is one edit in this file.

use chrono::{Months, NaiveDate};

use crate::domain::FieldError;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::audit::REVIEWERS;
use super::credentials::CredentialView;
use super::providers::{admin_view, LocationListing, ProviderAdminView};
use super::{check_version, raced, write, Change, DirectoryError, DirectoryResult, Principal};
use super::{AuditAction, AuditEvent, Written};
use crate::db::change_log::Affected;
use crate::db::credentials::Verification;
use crate::db::providers::ProviderRecord;
use crate::db::{self, DbConnection};
use crate::domain::schemas::CalendarDate;
use crate::domain::{
    Checks, CredentialKind, Freshness, MatchStatus, SourceType, VerificationStatus, VettingStatus,
};

/// The provider lifecycle a reviewer drives: pending → under_review → verified | rejected;
/// verified → suspended → verified (reinstated); rejected → pending (resubmitted); excluded →
/// pending (the exclusion lifted, vetting starts again).
pub fn allowed_moves(from: VettingStatus) -> &'static [VettingStatus] {
    use VettingStatus::*;
    match from {
        Pending => &[UnderReview],
        UnderReview => &[Verified, Rejected],
        Verified => &[Suspended],
        Suspended => &[Verified],
        Rejected => &[Pending],
        Excluded => &[Pending],
    }
}

/// The moves the service makes itself, from any state the table allows, with a reason:
/// - `excluded`, from every other state: an exclusion-list hit (screening). A lifecycle state
///   rather than a suspension, because a hit can come at any point of vetting (most NPPES imports
///   are `pending`, and only `verified` can be suspended), and because leaving it must restart
///   vetting (`excluded → pending`), never reinstate (`suspended → verified`).
/// - `suspended`, from `pending`, `under_review`, `verified` or `rejected`: NPPES deactivated the
///   NPI.
/// - `pending`, from `suspended`: NPPES reactivated it.
pub fn automatic_move_allowed(from: VettingStatus, to: VettingStatus) -> bool {
    use VettingStatus::*;
    match to {
        Excluded => from != Excluded,
        Suspended => matches!(from, Pending | UnderReview | Verified | Rejected),
        Pending => from == Suspended,
        _ => false,
    }
}

/// A move the service makes (screening, NPPES), inside the caller's write: the change with its
/// audit event (`action`, the reason) and the provider for every index.
pub(crate) fn automatic_move(
    connection: &mut DbConnection,
    id: i64,
    to: VettingStatus,
    action: AuditAction,
    reason: String,
) -> DirectoryResult<Change<ProviderAdminView>> {
    // Locked first, as a reviewer's decision is: a concurrent transition waits rather than
    // making the service's own move fail on a stale version.
    db::providers::lock_for_vetting(connection, id)?;
    let before = admin_view(db::providers::get_record(connection, id)?);
    if !automatic_move_allowed(before.vetting_status, to) {
        return Err(DirectoryError::InvalidTransition {
            from: before.vetting_status,
            to,
            allowed: allowed_moves(before.vetting_status).to_vec(),
        });
    }
    let row = db::providers::set_vetting_status(connection, id, before.version, to.as_str())?
        .ok_or_else(|| raced(before.version))?;
    let after = admin_view(db::providers::record(connection, row)?);
    let event = AuditEvent::of(action, id)
        .before(&before)
        .after(&after)
        .reason(reason);
    Ok(Change::new(after, event, Affected::provider(id)))
}

/// The exclusion that keeps a provider excluded, described: a confirmed match (an NPI on the
/// list, or a reviewer's confirmation) whose list row is still held and not reinstated by
/// `today`. `None` once every such row is reinstated or gone (a newer full list without it).
fn standing_exclusion(
    connection: &mut DbConnection,
    provider_id: i64,
    today: NaiveDate,
) -> db::DbResult<Option<String>> {
    let confirmed = db::exclusions::matches_of(
        connection,
        provider_id,
        db::exclusions::MAX_MATCHES_PER_PROVIDER,
    )?
    .into_iter()
    .filter(|m| m.status == MatchStatus::Confirmed.as_str());
    for found in confirmed {
        let row = db::exclusions::find_by_key(connection, &found.source, &found.row_key)?;
        if row.is_some_and(|row| row.in_force_on(today)) {
            return Ok(Some(format!(
                "confirmed match {} ({} row {})",
                found.id,
                crate::domain::names::exclusion_source_name(&found.source),
                found.row_key
            )));
        }
    }
    Ok(None)
}

/// Whether a verified state licence counts today (unexpired, not overdue for re-verification).
fn licence_counts(c: &CredentialView, freshness: &Freshness) -> bool {
    c.kind == CredentialKind::StateLicense
        && c.verification_status == VerificationStatus::Verified
        && freshness.counts(c.expires_on, c.next_due_on)
}

/// The licence rule: a provider becomes (or is reinstated as) verified only while it holds a
/// verified state licence that has not expired and is not overdue for re-verification.
pub fn has_active_licence(credentials: &[CredentialView], freshness: &Freshness) -> bool {
    credentials.iter().any(|c| licence_counts(c, freshness))
}

/// Where a provider is listed in search, and why not elsewhere: at a location only while it is
/// verified and holds a counting licence *for that location's state*.
pub fn listing(record: &ProviderRecord, freshness: &Freshness) -> Vec<LocationListing> {
    let verified = record.row.vetting_status == VettingStatus::Verified.as_str();
    let credentials: Vec<CredentialView> = record
        .credentials
        .iter()
        .cloned()
        .map(CredentialView::from)
        .collect();
    record
        .location_states
        .iter()
        .map(|(location_id, state)| {
            let in_state: Vec<&CredentialView> = credentials
                .iter()
                .filter(|c| {
                    c.kind == CredentialKind::StateLicense
                        && c.verification_status == VerificationStatus::Verified
                        && c.jurisdiction.as_deref() == Some(state.as_str())
                })
                .collect();
            let reason = if !verified {
                Some(format!("the provider is {}, not verified", record.row.vetting_status))
            } else if in_state.is_empty() {
                Some(format!("no verified state licence for {state}"))
            } else if in_state.iter().all(|c| {
                c.expires_on
                    .is_some_and(|expires| expires < freshness.today)
            }) {
                Some(format!("the {state} licence has expired"))
            } else if !in_state.iter().any(|c| licence_counts(c, freshness)) {
                Some(format!(
                    "the {state} licence is overdue for re-verification (more than {} days past its due date)",
                    freshness.reverify_grace_days
                ))
            } else {
                None
            };
            LocationListing {
                location_id: *location_id,
                state: state.clone(),
                listed: reason.is_none(),
                reason,
            }
        })
        .collect()
}

/// A move in the provider lifecycle.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "verified", "reason": "Licence and ABPN certification verified at the primary sources."}))]
pub struct TransitionInput {
    /// The state to move to.
    #[schema(value_type = VettingStatus)]
    pub to: String,
    /// Why: kept in the audit trail.
    #[validate(length(min = 3, max = 1000))]
    #[schema(min_length = 3, max_length = 1000, pattern = "^[^\\x00]*$")]
    pub reason: String,
}

/// Moves a provider through the lifecycle, at the version the reviewer expects, with a reason.
pub fn transition(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
    input: TransitionInput,
) -> DirectoryResult<Written<ProviderAdminView>> {
    by.require(REVIEWERS)?;
    let mut checks = Checks::of(&input);
    let to = checks.enum_value(
        "/to",
        &input.to,
        VettingStatus::parse,
        VettingStatus::expected(),
    );
    let to = checks.finish_with(to)?;
    let expected = expected_version.ok_or(DirectoryError::VersionRequired)?;
    let freshness = by.freshness();
    write(connection, by, |c| {
        // Before reading the credentials the decision rests on: see `lock_for_vetting`.
        db::providers::lock_for_vetting(c, id)?;
        let before = admin_view(db::providers::get_record(c, id)?);
        check_version(expected, before.version)?;
        let allowed = allowed_moves(before.vetting_status);
        if !allowed.contains(&to) {
            return Err(DirectoryError::InvalidTransition {
                from: before.vetting_status,
                to,
                allowed: allowed.to_vec(),
            });
        }
        if before.vetting_status == VettingStatus::Excluded {
            if let Some(standing) = standing_exclusion(c, id, by.today())? {
                return Err(DirectoryError::Conflict {
                    code: "exclusion_standing",
                    detail: format!(
                        "the provider stays excluded while {standing} is on the list: vetting \
                         starts again once the row is reinstated or gone from the list"
                    ),
                });
            }
        }
        if to == VettingStatus::Verified && !has_active_licence(&before.credentials, &freshness) {
            return Err(DirectoryError::Conflict {
                code: "licence_required",
                detail: "a provider becomes verified only with at least one verified, unexpired \
                         state licence that is not overdue for re-verification"
                    .to_owned(),
            });
        }
        if to == VettingStatus::Verified && before.degree.is_none() {
            return Err(DirectoryError::Conflict {
                code: "degree_required",
                detail: "a provider becomes verified only with a degree: set it (PATCH \
                         /v1/providers/{id}) from the credential text the source gave"
                    .to_owned(),
            });
        }
        let row = db::providers::set_vetting_status(c, id, expected, to.as_str())?
            .ok_or_else(|| raced(expected))?;
        let after = admin_view(db::providers::record(c, row)?);
        let event = AuditEvent::of(AuditAction::ProviderTransition, id)
            .before(&before)
            .after(&after)
            .reason(input.reason);
        Ok(Change::new(after, event, Affected::provider(id)))
    })
}

/// What a primary-source check can conclude (a credential cannot be checked into `unverified`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used: the handler parses the outcome itself.
pub enum VerificationOutcome {
    Verified,
    Rejected,
    Revoked,
}

/// The outcome of checking a credential against its primary source.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "verified", "source_type": "state_medical_board",
    "reference": "https://search.dca.ca.gov/details/8002/A/123456", "reason": "Licence active, no actions, checked on the board's lookup"}))]
pub struct VerificationInput {
    /// `verified`, `rejected` or `revoked`.
    #[schema(value_type = VerificationOutcome)]
    pub outcome: String,
    /// The primary source checked.
    #[schema(value_type = SourceType)]
    pub source_type: String,
    /// Where the evidence is: a URL or a document id.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\x00]*$")]
    pub reference: String,
    /// When to check again; defaults to the expiry date, or 36 months after verification.
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub next_due_on: Option<NaiveDate>,
    /// Why: recorded in the audit trail.
    #[validate(length(min = 3, max = 1000))]
    #[schema(min_length = 3, max_length = 1000, pattern = "^[^\\x00]*$")]
    pub reason: String,
}

/// Records the outcome of a primary-source check on a credential, at the version the reviewer
/// expects.
pub fn verify_credential(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
    input: VerificationInput,
) -> DirectoryResult<Written<CredentialView>> {
    by.require(REVIEWERS)?;
    let mut checks = Checks::of(&input);
    let outcome = checks.enum_value(
        "/outcome",
        &input.outcome,
        VerificationStatus::parse,
        "verified, rejected, revoked".to_owned(),
    );
    if outcome == Some(VerificationStatus::Unverified) {
        checks.push(
            "/outcome",
            "unknown_value",
            "the outcome is verified, rejected or revoked",
        );
    }
    let source_type = checks.enum_value(
        "/source_type",
        &input.source_type,
        SourceType::parse,
        SourceType::expected(),
    );
    let (outcome, source_type) = checks.finish_with(outcome.zip(source_type))?;
    let expected = expected_version.ok_or(DirectoryError::VersionRequired)?;
    let now = by.now.naive_utc();
    write(connection, by, |c| {
        let provider_id = db::credentials::get(c, id)?.provider_id;
        db::providers::lock_for_vetting(c, provider_id)?;
        let before = db::credentials::get(c, id)?;
        check_version(expected, before.version)?;
        // NPPES is self-reported: a licence is verified at the state board, never there.
        if outcome == VerificationStatus::Verified
            && source_type == SourceType::Nppes
            && before.kind == CredentialKind::StateLicense.as_str()
        {
            return Err(FieldError::body(
                "/source_type",
                "not_a_primary_source",
                "NPPES is self-reported: verify a state licence at the state board (state_medical_board)",
            )
            .into());
        }
        let next_due_on = match outcome {
            VerificationStatus::Verified => Some(
                input
                    .next_due_on
                    .or(before.expires_on)
                    .unwrap_or_else(|| now.date() + Months::new(36)),
            ),
            _ => None,
        };
        let verification = Verification {
            verification_status: outcome.as_str().to_owned(),
            verified_at: Some(now),
            verified_by_key_id: by.key_id(),
            verification_source_type: Some(source_type.as_str().to_owned()),
            verification_reference: Some(input.reference),
            next_due_on,
        };
        let row = db::credentials::set_verification(c, id, expected, &verification)?
            .ok_or_else(|| raced(expected))?;
        let (before, after) = (CredentialView::from(before), CredentialView::from(row));
        let event = AuditEvent::of(AuditAction::CredentialVerify, id)
            .before(&before)
            .after(&after)
            .reason(input.reason);
        let affected = Affected::provider(after.provider_id);
        Ok(Change::new(after, event, affected))
    })
}
