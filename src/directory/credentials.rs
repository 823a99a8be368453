//! Credentials: licences, board certifications, DEA registrations, training and education,
//! created and edited by admins. Editing a credential's substance sends it back to
//! `unverified`: what was checked is no longer what is recorded. Verifying one is a vetting
//! decision (`vetting::verify_credential`).

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::audit::EDITORS;
use super::{check_version, raced, write, Change, DirectoryError, DirectoryResult, Principal};
use super::{AuditAction, AuditEvent, Written};
use crate::db::change_log::Affected;
use crate::db::credentials::CredentialChanges;
use crate::db::models::{CredentialRow, NewCredential};
use crate::db::{self, DbConnection, DbResult};
use crate::domain::schemas::{CalendarDate, Id, SpecialtyCode, Timestamp, UsState};
use crate::domain::{Checks, CredentialKind, SourceType, VerificationStatus};

/// A credential as admins and reviewers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "provider_id": 42, "kind": "board_certification", "issuer": "American Board of Psychiatry and Neurology",
    "identifier": "N12345", "specialty_code": "2084N0400X", "issued_on": "2015-07-01", "expires_on": "2027-12-31",
    "verification_status": "verified", "verified_at": "2026-11-20T14:03:00Z", "verified_by_key_id": 2,
    "verification_source_type": "abms_member_board", "verification_reference": "https://www.certificationmatters.org/",
    "next_due_on": "2027-12-31", "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-20T14:03:00Z", "version": 2}))]
pub struct CredentialView {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(value_type = Id, inline)]
    pub provider_id: i64,
    pub kind: CredentialKind,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub identifier: Option<String>,
    /// US state, for licences and registrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<UsState>)]
    pub jurisdiction: Option<String>,
    /// The specialty a board certification is in (NUCC code).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SpecialtyCode>, inline)]
    pub specialty_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub issued_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub expires_on: Option<NaiveDate>,
    pub verification_status: VerificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<Timestamp>, inline)]
    pub verified_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>, inline)]
    pub verified_by_key_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_source_type: Option<SourceType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\x00]*$")]
    pub verification_reference: Option<String>,
    /// When the credential must be checked again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub next_due_on: Option<NaiveDate>,
    /// Past `next_due_on` by more than the re-verification grace
    /// (`CLINIC_FINDER_REVERIFY_GRACE_DAYS`): it no longer counts until checked again. Present
    /// (`true`) only then, in the queues and the admin view of a provider.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reverification_overdue: bool,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub updated_at: NaiveDateTime,
    #[schema(value_type = Id, inline)]
    pub version: i64,
}

impl From<CredentialRow> for CredentialView {
    fn from(row: CredentialRow) -> CredentialView {
        CredentialView {
            id: row.id,
            provider_id: row.provider_id,
            kind: CredentialKind::parse(&row.kind).unwrap_or(CredentialKind::Education),
            issuer: row.issuer,
            identifier: row.identifier,
            jurisdiction: row.jurisdiction,
            specialty_code: row.specialty_code,
            issued_on: row.issued_on,
            expires_on: row.expires_on,
            verification_status: VerificationStatus::parse(&row.verification_status)
                .unwrap_or(VerificationStatus::Unverified),
            verified_at: row.verified_at,
            verified_by_key_id: row.verified_by_key_id,
            verification_source_type: row
                .verification_source_type
                .as_deref()
                .and_then(SourceType::parse),
            verification_reference: row.verification_reference,
            next_due_on: row.next_due_on,
            reverification_overdue: false,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A new credential; it starts `unverified`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "state_license", "issuer": "Medical Board of California", "identifier": "A123456",
    "jurisdiction": "CA", "issued_on": "2012-03-01", "expires_on": "2027-02-28"}))]
pub struct NewCredentialInput {
    #[schema(value_type = CredentialKind)]
    pub kind: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub issuer: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub identifier: Option<String>,
    /// USPS state code; required for a state licence.
    #[schema(value_type = Option<UsState>)]
    pub jurisdiction: Option<String>,
    /// NUCC code of the specialty a board certification is in.
    #[schema(value_type = Option<SpecialtyCode>, inline)]
    pub specialty_code: Option<String>,
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub issued_on: Option<NaiveDate>,
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub expires_on: Option<NaiveDate>,
}

/// Changes to a credential. Changing anything returns it to `unverified`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expires_on": "2029-02-28"}))]
pub struct CredentialPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub issuer: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub identifier: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[schema(value_type = Option<UsState>)]
    pub jurisdiction: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[schema(value_type = Option<SpecialtyCode>, inline)]
    pub specialty_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub issued_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub expires_on: Option<Option<NaiveDate>>,
}

/// `specialty_exists` answers whether a specialty code is in the taxonomy (the database, or the
/// codes a bulk load read once).
fn check_fields(
    checks: &mut Checks,
    specialty_exists: &mut dyn FnMut(&str) -> DbResult<bool>,
    kind: CredentialKind,
    jurisdiction: Option<&str>,
    specialty_code: Option<&str>,
    issued_on: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
) -> DbResult<()> {
    if let Some(state) = jurisdiction {
        checks.us_state("/jurisdiction", state);
    } else if kind == CredentialKind::StateLicense {
        checks.push(
            "/jurisdiction",
            "required",
            "a state licence needs its state",
        );
    }
    if let Some(code) = specialty_code {
        if !crate::domain::is_taxonomy_code(code) {
            checks.taxonomy_code("/specialty_code", code);
        } else if !specialty_exists(code)? {
            checks.push(
                "/specialty_code",
                "unknown_value",
                format!("`{code}` is not a specialty in GET /v1/specialties"),
            );
        }
    }
    if let (Some(issued), Some(expires)) = (issued_on, expires_on) {
        if expires < issued {
            checks.push(
                "/expires_on",
                "before_issued_on",
                "expires_on is before issued_on",
            );
        }
    }
    Ok(())
}

/// The rules for a new credential (the importer applies them to every credential record too):
/// the field checks, and the kind when it is one.
pub fn check_new(
    connection: &mut DbConnection,
    input: &NewCredentialInput,
) -> DbResult<(Checks, Option<CredentialKind>)> {
    check_new_with(connection, input, None)
}

/// [`check_new`], with the specialty codes already read (a bulk load reads them once).
pub fn check_new_with(
    connection: &mut DbConnection,
    input: &NewCredentialInput,
    known_specialties: Option<&std::collections::HashSet<String>>,
) -> DbResult<(Checks, Option<CredentialKind>)> {
    let mut checks = Checks::of(input);
    let kind = checks.enum_value(
        "/kind",
        &input.kind,
        CredentialKind::parse,
        CredentialKind::expected(),
    );
    if let Some(kind) = kind {
        check_fields(
            &mut checks,
            &mut |code| db::providers::specialty_known(connection, known_specialties, code),
            kind,
            input.jurisdiction.as_deref(),
            input.specialty_code.as_deref(),
            input.issued_on,
            input.expires_on,
        )?;
    }
    Ok((checks, kind))
}

/// The row a valid new credential becomes: unverified until a reviewer checks it.
pub(crate) fn new_row(provider_id: i64, input: NewCredentialInput) -> NewCredential {
    let now = db::now();
    NewCredential {
        provider_id,
        kind: input.kind,
        issuer: input.issuer,
        identifier: input.identifier,
        jurisdiction: input.jurisdiction,
        specialty_code: input.specialty_code,
        issued_on: input.issued_on,
        expires_on: input.expires_on,
        verification_status: VerificationStatus::Unverified.as_str().to_owned(),
        verified_at: None,
        verified_by_key_id: None,
        verification_source_type: None,
        verification_reference: None,
        next_due_on: None,
        created_at: now,
        updated_at: now,
    }
}

/// Adds a credential to a provider; it starts `unverified` and counts publicly only once
/// verified.
pub fn create(
    connection: &mut DbConnection,
    by: &Principal,
    provider_id: i64,
    input: NewCredentialInput,
) -> DirectoryResult<Written<CredentialView>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        db::providers::get(c, provider_id)?;
        db::providers::lock_for_vetting(c, provider_id)?;
        let (checks, _) = check_new(c, &input)?;
        checks.finish()?;
        let row = db::credentials::insert(c, &new_row(provider_id, input))?;
        let view = CredentialView::from(row);
        let event = AuditEvent::of(AuditAction::CredentialCreate, view.id).after(&view);
        Ok(Change::new(view, event, Affected::provider(provider_id)))
    })
}

/// Changes a credential at the version the writer expects; it returns to `unverified`.
pub fn update(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
    patch: CredentialPatch,
) -> DirectoryResult<Written<CredentialView>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let provider_id = db::credentials::get(c, id)?.provider_id;
        db::providers::lock_for_vetting(c, provider_id)?;
        let before = db::credentials::get(c, id)?;
        let mut checks = Checks::of(&patch);
        let kind = CredentialKind::parse(&before.kind).unwrap_or(CredentialKind::Education);
        let jurisdiction = patch
            .jurisdiction
            .clone()
            .unwrap_or(before.jurisdiction.clone());
        let specialty = patch
            .specialty_code
            .clone()
            .unwrap_or(before.specialty_code.clone());
        check_fields(
            &mut checks,
            &mut |code| db::providers::specialty_exists(c, code),
            kind,
            jurisdiction.as_deref(),
            specialty.as_deref(),
            patch.issued_on.unwrap_or(before.issued_on),
            patch.expires_on.unwrap_or(before.expires_on),
        )?;
        checks.finish()?;
        let expected = expected_version.ok_or(DirectoryError::VersionRequired)?;
        check_version(expected, before.version)?;
        let changes = CredentialChanges {
            issuer: patch.issuer,
            identifier: patch.identifier,
            jurisdiction: patch.jurisdiction,
            specialty_code: patch.specialty_code,
            issued_on: patch.issued_on,
            expires_on: patch.expires_on,
        };
        let row =
            db::credentials::update(c, id, expected, &changes)?.ok_or_else(|| raced(expected))?;
        let (before, after) = (CredentialView::from(before), CredentialView::from(row));
        let event = AuditEvent::of(AuditAction::CredentialUpdate, id)
            .before(&before)
            .after(&after);
        let affected = Affected::provider(after.provider_id);
        Ok(Change::new(after, event, affected))
    })
}

/// Deletes a credential; public profiles and search stop counting it at once. With an expected
/// version, only at that version.
pub fn delete(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let row = db::credentials::get(c, id)?;
        db::providers::lock_for_vetting(c, row.provider_id)?;
        let before = CredentialView::from(db::credentials::get(c, id)?);
        if let Some(expected) = expected_version {
            check_version(expected, before.version)?;
        }
        if !db::credentials::delete(c, id, before.version)? {
            return Err(raced(before.version));
        }
        let event = AuditEvent::of(AuditAction::CredentialDelete, id).before(&before);
        Ok(Change::new(
            (),
            event,
            Affected::provider(before.provider_id),
        ))
    })
}
