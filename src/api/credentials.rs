//! Credentials: created and edited by admins; verified against a primary source by reviewers.
//! Editing a credential's substance sends it back to `unverified`: what was checked is no longer
//! what is recorded.

use actix_web::{delete, patch, post, web, HttpResponse};
use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::WriteErrors;
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult};
use crate::db::models::{CredentialRow, NewCredential};
use crate::db::schema::credentials;
use crate::db::{self, DbConnection};
use crate::domain::validation::Checks;
use crate::domain::{CredentialKind, Role, SourceType, VerificationStatus};
use crate::search::Affected;
use crate::state::AppState;

/// A credential as admins and reviewers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "provider_id": 42, "kind": "board_certification", "issuer": "American Board of Psychiatry and Neurology",
    "identifier": "N12345", "specialty_code": "2084N0400X", "issued_on": "2015-07-01", "expires_on": "2027-12-31",
    "verification_status": "verified", "verified_at": "2026-11-20T14:03:00Z", "verified_by_key_id": 2,
    "verification_source_type": "abms_member_board", "verification_reference": "https://www.certificationmatters.org/",
    "next_due_on": "2027-12-31", "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-20T14:03:00Z", "version": 2}))]
pub struct CredentialView {
    pub id: i64,
    pub provider_id: i64,
    pub kind: CredentialKind,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// US state, for licences and registrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// The specialty a board certification is in (NUCC code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specialty_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    pub verification_status: VerificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub verified_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by_key_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_source_type: Option<SourceType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_reference: Option<String>,
    /// When the credential must be checked again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due_on: Option<NaiveDate>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub updated_at: NaiveDateTime,
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
    #[schema(min_length = 1, max_length = 200)]
    pub issuer: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub identifier: Option<String>,
    /// USPS state code; required for a state licence.
    pub jurisdiction: Option<String>,
    /// NUCC code of the specialty a board certification is in.
    pub specialty_code: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
}

/// Changes to a credential. Changing anything returns it to `unverified`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expires_on": "2029-02-28"}))]
pub struct CredentialPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub issuer: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub identifier: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub jurisdiction: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub specialty_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub issued_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub expires_on: Option<Option<NaiveDate>>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = credentials)]
struct CredentialChanges {
    issuer: Option<String>,
    identifier: Option<Option<String>>,
    jurisdiction: Option<Option<String>>,
    specialty_code: Option<Option<String>>,
    issued_on: Option<Option<NaiveDate>>,
    expires_on: Option<Option<NaiveDate>>,
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
    #[schema(min_length = 1, max_length = 500)]
    pub reference: String,
    /// When to check again; defaults to the expiry date, or 36 months after verification.
    pub next_due_on: Option<NaiveDate>,
    /// Why: recorded in the audit trail.
    #[validate(length(min = 3, max = 1000))]
    #[schema(min_length = 3, max_length = 1000)]
    pub reason: String,
}

pub(crate) fn check_fields(
    checks: &mut Checks,
    connection: &mut DbConnection,
    kind: CredentialKind,
    jurisdiction: Option<&str>,
    specialty_code: Option<&str>,
    issued_on: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
) -> ApiResult<()> {
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
        if !db::providers::specialty_exists(connection, code)? {
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

fn get(connection: &mut DbConnection, id: i64) -> ApiResult<CredentialRow> {
    credentials::table
        .find(id)
        .select(CredentialRow::as_select())
        .first(connection)
        .optional()?
        .ok_or_else(|| ApiError::not_found("credential", id))
}

/// Add a credential.
///
/// Adds a licence, board certification, DEA registration or training record to a provider (admin).
/// It starts `unverified` and counts publicly only once verified.
#[utoipa::path(tag = "credentials", request_body = NewCredentialInput, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 201, description = "The credential, created (unverified)", body = CredentialView, headers(("ETag" = String))), WriteErrors))]
#[post("/providers/{id}/credentials")]
pub async fn create_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    body: JsonBody<NewCredentialInput>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let (provider_id, input) = (id.into_inner(), body.into_inner()?);
    let credential = state
        .write(
            move |c| {
                db::providers::get(c, provider_id)?;
                let mut checks = Checks::of(&input);
                let kind = checks.enum_value(
                    "/kind",
                    &input.kind,
                    CredentialKind::parse,
                    CredentialKind::expected(),
                );
                if let Some(kind) = kind {
                    check_fields(
                        &mut checks,
                        c,
                        kind,
                        input.jurisdiction.as_deref(),
                        input.specialty_code.as_deref(),
                        input.issued_on,
                        input.expires_on,
                    )?;
                }
                checks.finish()?;
                let now = db::now();
                let row = diesel::insert_into(credentials::table)
                    .values(NewCredential {
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
                    })
                    .returning(credentials::all_columns)
                    .get_result::<CredentialRow>(c)?;
                let view = CredentialView::from(row);
                db::audit::record(
                    c,
                    &actor,
                    "credential.create",
                    "credential",
                    view.id,
                    None::<&CredentialView>,
                    Some(&view),
                    None,
                )?;
                Ok(view)
            },
            |_| crate::search::Affected::default(),
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(credential.version))
        .json(credential))
}

/// Edit a credential.
///
/// Changes a credential (admin). It returns to `unverified`: a changed credential must be checked
/// again. Needs `If-Match` with the credential's current ETag.
#[utoipa::path(tag = "credentials", request_body = CredentialPatch, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Credential id", example = 7), ("If-Match" = String, Header, description = "The credential's ETag")),
    responses((status = 200, description = "The credential, updated and back to unverified", body = CredentialView, headers(("ETag" = String))), WriteErrors))]
#[patch("/credentials/{id}")]
pub async fn update_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<CredentialPatch>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let (id, input) = (id.into_inner(), body.into_inner()?);
    let expected = if_match.required()?;
    let credential = state
        .write(
            move |c| {
                let before = get(c, id)?;
                let mut checks = Checks::of(&input);
                let kind = CredentialKind::parse(&before.kind).unwrap_or(CredentialKind::Education);
                let jurisdiction = input
                    .jurisdiction
                    .clone()
                    .unwrap_or(before.jurisdiction.clone());
                let specialty = input
                    .specialty_code
                    .clone()
                    .unwrap_or(before.specialty_code.clone());
                let issued_on = input.issued_on.unwrap_or(before.issued_on);
                let expires_on = input.expires_on.unwrap_or(before.expires_on);
                check_fields(
                    &mut checks,
                    c,
                    kind,
                    jurisdiction.as_deref(),
                    specialty.as_deref(),
                    issued_on,
                    expires_on,
                )?;
                checks.finish()?;
                if before.version != expected {
                    return Err(ApiError::PreconditionFailed {
                        current_version: before.version,
                    });
                }
                let changes = CredentialChanges {
                    issuer: input.issuer,
                    identifier: input.identifier,
                    jurisdiction: input.jurisdiction,
                    specialty_code: input.specialty_code,
                    issued_on: input.issued_on,
                    expires_on: input.expires_on,
                };
                let row = diesel::update(
                    credentials::table
                        .find(id)
                        .filter(credentials::version.eq(before.version)),
                )
                .set((
                    changes,
                    credentials::verification_status.eq(VerificationStatus::Unverified.as_str()),
                    credentials::verified_at.eq(None::<NaiveDateTime>),
                    credentials::verified_by_key_id.eq(None::<i64>),
                    credentials::next_due_on.eq(None::<NaiveDate>),
                    credentials::updated_at.eq(db::now()),
                    credentials::version.eq(before.version + 1),
                ))
                .returning(credentials::all_columns)
                .get_result::<CredentialRow>(c)
                .optional()?
                .ok_or(ApiError::PreconditionFailed {
                    current_version: before.version + 1,
                })?;
                let (before, after) = (CredentialView::from(before), CredentialView::from(row));
                db::audit::record(
                    c,
                    &actor,
                    "credential.update",
                    "credential",
                    id,
                    Some(&before),
                    Some(&after),
                    None,
                )?;
                Ok(after)
            },
            move |credential: &CredentialView| Affected::provider(credential.provider_id),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(credential.version))
        .json(credential))
}

/// Delete a credential.
///
/// Deletes a credential (admin). Public profiles and search stop counting it at once; a provider
/// whose only verified licence it was leaves search.
#[utoipa::path(tag = "credentials", security(("api_key" = ["admin"])), params(("id" = i64, Path, description = "Credential id", example = 7)),
    responses((status = 204, description = "Deleted"), WriteErrors))]
#[delete("/credentials/{id}")]
pub async fn delete_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let id = id.into_inner();
    state
        .write(
            move |c| {
                let before = CredentialView::from(get(c, id)?);
                diesel::delete(credentials::table.find(id)).execute(c)?;
                db::audit::record(
                    c,
                    &actor,
                    "credential.delete",
                    "credential",
                    id,
                    Some(&before),
                    None::<&CredentialView>,
                    None,
                )?;
                Ok(before.provider_id)
            },
            move |provider_id| Affected::provider(*provider_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Record a verification.
///
/// Records the outcome of a primary-source check on a credential (admin or reviewer): the source
/// type and reference, the outcome and the reason. Needs `If-Match` with the credential's current
/// ETag.
#[utoipa::path(tag = "vetting", request_body = VerificationInput, security(("api_key" = ["admin", "reviewer"])),
    params(("id" = i64, Path, description = "Credential id", example = 7), ("If-Match" = String, Header, description = "The credential's ETag")),
    responses((status = 200, description = "The credential with the outcome recorded", body = CredentialView, headers(("ETag" = String))), WriteErrors))]
#[post("/credentials/{id}/verification")]
pub async fn verify_credential(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<VerificationInput>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin, Role::Reviewer])?;
    let (id, input) = (id.into_inner(), body.into_inner()?);
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
    checks.finish()?;
    let expected = if_match.required()?;
    let (outcome, source_type) = (
        outcome.unwrap_or(VerificationStatus::Rejected),
        source_type.unwrap_or(SourceType::Other),
    );
    let now = state.clock.now().naive_utc();
    let credential = state
        .write(
            move |c| {
                let before = get(c, id)?;
                if before.version != expected {
                    return Err(ApiError::PreconditionFailed {
                        current_version: before.version,
                    });
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
                let row = diesel::update(
                    credentials::table
                        .find(id)
                        .filter(credentials::version.eq(before.version)),
                )
                .set((
                    credentials::verification_status.eq(outcome.as_str()),
                    credentials::verified_at.eq(Some(now)),
                    credentials::verified_by_key_id.eq(Some(actor.key_id)),
                    credentials::verification_source_type.eq(Some(source_type.as_str())),
                    credentials::verification_reference.eq(Some(input.reference.clone())),
                    credentials::next_due_on.eq(next_due_on),
                    credentials::updated_at.eq(db::now()),
                    credentials::version.eq(before.version + 1),
                ))
                .returning(credentials::all_columns)
                .get_result::<CredentialRow>(c)
                .optional()?
                .ok_or(ApiError::PreconditionFailed {
                    current_version: before.version + 1,
                })?;
                let (before, after) = (CredentialView::from(before), CredentialView::from(row));
                db::audit::record(
                    c,
                    &actor,
                    "credential.verify",
                    "credential",
                    id,
                    Some(&before),
                    Some(&after),
                    Some(&input.reason),
                )?;
                Ok(after)
            },
            move |credential: &CredentialView| Affected::provider(credential.provider_id),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(credential.version))
        .json(credential))
}
