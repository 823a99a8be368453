//! Admin and reviewer endpoints: unvetted data, the provider lifecycle, work queues, the audit
//! trail, and API keys.

use actix_web::{get, post, web, HttpResponse};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::credentials::CredentialView;
use super::extract::{etag, IfMatch, JsonBody};
use super::providers::{admin_view, ProviderAdminView};
use super::responses::{AdminReadErrors, WriteErrors};
use super::{parse_limit, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db::models::{ApiKeyRow, AuditRow, CredentialRow};
use crate::db::schema::{credentials, providers};
use crate::db::{self, audit::AuditFilter};
use crate::domain::validation::Checks;
use crate::domain::{CredentialKind, Role, VerificationStatus, VettingStatus};
use crate::search::{cursor, Affected};
use crate::state::AppState;

const REVIEWERS: &[Role] = &[Role::Admin, Role::Reviewer];

/// Paging and an optional vetting-status filter.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminProviderListParams {
    /// Only providers in this vetting status.
    #[param(value_type = Option<VettingStatus>, example = "pending")]
    pub vetting_status: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

fn list_page(
    kind: &str,
    limit: Option<&str>,
    cursor_text: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> (i64, i64) {
    let limit = parse_limit(limit, 20, 100, errors) as i64;
    let after = match cursor_text {
        None => 0,
        Some(text) => cursor::decode_list(kind, text).unwrap_or_else(|| {
            errors.push(FieldError::query(
                "cursor",
                "invalid_cursor",
                "not a cursor this list gave out",
            ));
            0
        }),
    };
    (limit, after)
}

/// Get any provider.
///
/// Any provider whatever its vetting state, with all its credentials verified or not (admin,
/// reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 200, description = "The provider, with every credential", body = ProviderAdminView, headers(("ETag" = String))), AdminReadErrors))]
#[get("/admin/providers/{id}")]
pub async fn get_provider_admin(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let id = id.into_inner();
    let provider = admin_view(
        state
            .read(move |c| Ok(db::providers::get_record(c, id)?))
            .await?,
    );
    Ok(HttpResponse::Ok()
        .insert_header(etag(provider.version))
        .json(provider))
}

/// List all providers.
///
/// Every provider, optionally in one vetting status, ordered by id (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(AdminProviderListParams),
    responses((status = 200, description = "A page of providers", body = Page<ProviderAdminView>), AdminReadErrors))]
#[get("/admin/providers")]
pub async fn list_providers_admin(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<AdminProviderListParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let mut errors = Vec::new();
    let status = params.vetting_status.as_deref().and_then(|text| {
        let status = VettingStatus::parse(text);
        if status.is_none() {
            errors.push(FieldError::query(
                "vetting_status",
                "unknown_value",
                format!("expected one of {}", VettingStatus::expected()),
            ));
        }
        status
    });
    let (limit, after) = list_page(
        "admin_providers",
        params.limit.as_deref(),
        params.cursor.as_deref(),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let page = provider_page(&state, "admin_providers", status, after, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn provider_page(
    state: &AppState,
    kind: &'static str,
    status: Option<VettingStatus>,
    after: i64,
    limit: i64,
) -> ApiResult<Page<ProviderAdminView>> {
    state
        .read(move |c| {
            let rows = db::providers::list(c, status.map(VettingStatus::as_str), after, limit + 1)?;
            let page = super::page_of(kind, rows, limit, |row| row.id, |row| row);
            let items = page
                .items
                .into_iter()
                .map(|row| db::providers::record(c, row).map(admin_view))
                .collect::<Result<Vec<_>, crate::db::DbError>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await
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
    #[schema(min_length = 3, max_length = 1000)]
    pub reason: String,
}

/// Move a provider through the lifecycle.
///
/// Moves a provider (admin, reviewer): pending → under_review → verified | rejected; verified →
/// suspended → verified; rejected → pending. Needs `If-Match` and a reason. Becoming verified needs
/// a verified, unexpired state licence; 409 lists the states allowed from where the provider is.
#[utoipa::path(tag = "vetting", request_body = TransitionInput, security(("api_key" = ["admin", "reviewer"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("If-Match" = String, Header, description = "The provider's ETag")),
    responses((status = 200, description = "The provider in its new state", body = ProviderAdminView, headers(("ETag" = String))), WriteErrors))]
#[post("/admin/providers/{id}/transitions")]
pub async fn transition_provider(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<TransitionInput>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let (id, input) = (id.into_inner(), body.into_inner()?);
    let mut checks = Checks::of(&input);
    let to = checks.enum_value(
        "/to",
        &input.to,
        VettingStatus::parse,
        VettingStatus::expected(),
    );
    checks.finish()?;
    let to = to.ok_or_else(|| ApiError::internal("unreachable: checked above"))?;
    let expected = if_match.required()?;
    let today = state.clock.now().date_naive();
    let provider = state
        .write(
            move |c| {
            let before = admin_view(db::providers::get_record(c, id)?);
            if before.version != expected {
                return Err(ApiError::PreconditionFailed { current_version: before.version });
            }
            let allowed = before.vetting_status.allowed_next();
            if !allowed.contains(&to) {
                return Err(ApiError::InvalidTransition {
                    from: before.vetting_status.to_string(),
                    to: to.to_string(),
                    allowed: allowed.iter().map(|s| s.to_string()).collect(),
                });
            }
            if to == VettingStatus::Verified && !has_active_licence(&before, today) {
                return Err(ApiError::Conflict {
                    code: "licence_required",
                    detail: "a provider becomes verified only with at least one verified, unexpired state licence".to_owned(),
                });
            }
            let row = db::providers::set_vetting_status(c, id, expected, to.as_str())?;
            let after = admin_view(db::providers::record(c, row)?);
            db::audit::record(c, &actor, "provider.transition", "provider", id, Some(&before), Some(&after), Some(&input.reason))?;
            Ok(after)
        },
            move |_| Affected::provider(id),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(provider.version))
        .json(provider))
}

fn has_active_licence(provider: &ProviderAdminView, today: NaiveDate) -> bool {
    provider.credentials.iter().any(|c| {
        c.kind == CredentialKind::StateLicense
            && c.verification_status == VerificationStatus::Verified
            && c.expires_on.is_none_or(|expires| expires >= today)
    })
}

/// Queue: providers waiting for review.
///
/// Providers in `pending` and `under_review`, oldest first (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(super::ListParams),
    responses((status = 200, description = "A page of providers waiting for review", body = Page<ProviderAdminView>), AdminReadErrors))]
#[get("/admin/queue/pending")]
pub async fn queue_pending(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<super::ListParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let page = params.parse("queue_pending")?;
    let page = state
        .read(move |c| {
            let rows = providers::table
                .filter(providers::vetting_status.eq_any([
                    VettingStatus::Pending.as_str(),
                    VettingStatus::UnderReview.as_str(),
                ]))
                .filter(providers::id.gt(page.after_id))
                .order(providers::id)
                .limit(page.limit + 1)
                .select(crate::db::models::ProviderRow::as_select())
                .load(c)?;
            let page = super::page_of("queue_pending", rows, page.limit, |row| row.id, |row| row);
            let items = page
                .items
                .into_iter()
                .map(|row| db::providers::record(c, row).map(admin_view))
                .collect::<Result<Vec<_>, crate::db::DbError>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Window for the expiring queue.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExpiringParams {
    /// Credentials due (expiring or due for re-verification) within this many days, 1–365 (default 30).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 365, example = 30)]
    pub within_days: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

fn credential_queue(
    connection: &mut db::DbConnection,
    from: Option<NaiveDate>,
    until: NaiveDate,
    after: i64,
    limit: i64,
) -> ApiResult<Page<CredentialView>> {
    let due = credentials::expires_on
        .le(until)
        .or(credentials::next_due_on.le(until));
    let mut query = credentials::table
        .filter(credentials::verification_status.eq(VerificationStatus::Verified.as_str()))
        .filter(due)
        .filter(credentials::id.gt(after))
        .into_boxed();
    if let Some(from) = from {
        // Not yet lapsed: expiring, not expired.
        query = query.filter(
            credentials::expires_on
                .is_null()
                .or(credentials::expires_on.ge(from)),
        );
    } else {
        query = query.filter(credentials::expires_on.lt(until));
    }
    let rows: Vec<CredentialRow> = query
        .order(credentials::id)
        .limit(limit + 1)
        .select(CredentialRow::as_select())
        .load(connection)?;
    Ok(super::page_of(
        if from.is_some() {
            "queue_expiring"
        } else {
            "queue_expired"
        },
        rows,
        limit,
        |row| row.id,
        CredentialView::from,
    ))
}

/// Queue: credentials expiring soon.
///
/// Verified credentials that expire, or are due for re-verification, within `within_days` days
/// (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(ExpiringParams),
    responses((status = 200, description = "A page of credentials expiring soon", body = Page<CredentialView>), AdminReadErrors))]
#[get("/admin/queue/expiring")]
pub async fn queue_expiring(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<ExpiringParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let mut errors = Vec::new();
    let within_days = match params.within_days.as_deref().map(str::parse::<i64>) {
        None => 30,
        Some(Ok(days)) if (1..=365).contains(&days) => days,
        Some(_) => {
            errors.push(FieldError::query(
                "within_days",
                "out_of_range",
                "within_days must be an integer from 1 to 365",
            ));
            30
        }
    };
    let (limit, after) = list_page(
        "queue_expiring",
        params.limit.as_deref(),
        params.cursor.as_deref(),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let today = state.clock.now().date_naive();
    let page = state
        .read(move |c| {
            credential_queue(
                c,
                Some(today),
                today + Duration::days(within_days),
                after,
                limit,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Queue: expired credentials.
///
/// Verified credentials that have expired: their providers may have left search until they are
/// renewed (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(super::ListParams),
    responses((status = 200, description = "A page of expired credentials", body = Page<CredentialView>), AdminReadErrors))]
#[get("/admin/queue/expired")]
pub async fn queue_expired(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<super::ListParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let page = params.parse("queue_expired")?;
    let today = state.clock.now().date_naive();
    let page = state
        .read(move |c| credential_queue(c, None, today, page.after_id, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One audited write.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 4182, "occurred_at": "2026-11-20T14:03:00Z", "actor_key_id": 1, "actor_role": "admin",
    "action": "clinic.update", "target_type": "clinic", "target_id": "7",
    "before": {"id": 7, "name": "Midtown Neurology & Headache Center", "phone": "+1-212-555-0142", "location_ids": [11, 12], "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:00:00Z", "version": 1},
    "after": {"id": 7, "name": "Midtown Neurology & Headache Center", "phone": "+1-212-555-0199", "location_ids": [11, 12], "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-20T14:03:00Z", "version": 2},
    "request_id": "5f0c6b1e9d7a4c21"}))]
pub struct AuditEntry {
    pub id: i64,
    /// UTC.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub occurred_at: NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_key_id: Option<i64>,
    pub actor_role: String,
    /// e.g. `provider.transition`, `credential.verify`, `clinic.update`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// The resource before the write (absent for a create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// The resource after the write (absent for a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> AuditEntry {
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        AuditEntry {
            id: row.id,
            occurred_at: row.occurred_at,
            actor_key_id: row.actor_key_id,
            actor_role: row.actor_role,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            before: parse(row.before_json),
            after: parse(row.after_json),
            reason: row.reason,
            request_id: row.request_id,
        }
    }
}

/// Filters for the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// e.g. `provider`, `credential`, `clinic`, `location`, `api_key`.
    #[param(example = "provider")]
    pub target_type: Option<String>,
    #[param(example = "42")]
    pub target_id: Option<String>,
    /// The acting key's id.
    #[param(value_type = Option<i64>, example = 2)]
    pub actor_key_id: Option<String>,
    #[param(example = "provider.transition")]
    pub action: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-01T00:00:00Z")]
    pub since: Option<String>,
    /// Before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub until: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

fn parse_instant(
    name: &str,
    text: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDateTime> {
    let text = text?;
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(instant) => Some(instant.naive_utc()),
        Err(_) => {
            errors.push(FieldError::query(
                name,
                "invalid_datetime",
                "an RFC 3339 date-time, e.g. 2026-11-26T09:00:00Z",
            ));
            None
        }
    }
}

/// Audit trail.
///
/// Every write, newest first: who, when, what, the resource before and after, and why (admin,
/// reviewer). Filter by target, acting key, action or time.
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(AuditParams),
    responses((status = 200, description = "A page of audit entries, newest first", body = Page<AuditEntry>), AdminReadErrors))]
#[get("/admin/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS)?;
    let mut errors = Vec::new();
    let limit = parse_limit(params.limit.as_deref(), 50, 100, &mut errors) as i64;
    let before_id = params.cursor.as_deref().and_then(|text| {
        let id = cursor::decode_list("audit", text);
        if id.is_none() {
            errors.push(FieldError::query(
                "cursor",
                "invalid_cursor",
                "not a cursor this list gave out",
            ));
        }
        id
    });
    let actor_key_id = params.actor_key_id.as_deref().and_then(|text| {
        let id = text.parse().ok();
        if id.is_none() {
            errors.push(FieldError::query(
                "actor_key_id",
                "invalid_value",
                "an integer key id",
            ));
        }
        id
    });
    let filter = AuditFilter {
        target_type: params.target_type.clone(),
        target_id: params.target_id.clone(),
        actor_key_id,
        action: params.action.clone(),
        since: parse_instant("since", params.since.as_deref(), &mut errors),
        until: parse_instant("until", params.until.as_deref(), &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let rows = state
        .read(move |c| Ok(db::audit::list(c, &filter, before_id, limit + 1)?))
        .await?;
    Ok(HttpResponse::Ok().json(super::page_of(
        "audit",
        rows,
        limit,
        |row| row.id,
        AuditEntry::from,
    )))
}

/// An API key's public facts (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 2, "name": "Reviewer: J. Alvarez", "role": "reviewer", "prefix": "cf_BwgJCgsM", "created_at": "2026-11-01T09:00:00Z", "last_used_at": "2026-11-20T14:03:00Z", "expires_at": "2027-11-01T09:00:00Z"}))]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub expires_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(row: ApiKeyRow) -> ApiKeyView {
        ApiKeyView {
            id: row.id,
            name: row.name,
            role: Role::parse(&row.role).unwrap_or(Role::Partner),
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A new key: the secret is in this response and nowhere else.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 2, "name": "Reviewer: J. Alvarez", "role": "reviewer", "prefix": "cf_BwgJCgsM", "created_at": "2026-11-01T09:00:00Z", "expires_at": "2027-11-01T09:00:00Z", "secret": "cf_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY"}))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key itself: shown once, stored only as a hash.
    pub secret: String,
}

/// A key to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Reviewer: J. Alvarez", "role": "reviewer", "expires_in_days": 365}))]
pub struct NewApiKeyInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// Days until the key expires, 1–3650; absent: it does not expire.
    #[validate(range(min = 1, max = 3650))]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

/// Create an API key.
///
/// Creates a key with a role (admin). The secret is in this response only; the service stores its
/// SHA-256 hash.
#[utoipa::path(tag = "keys", request_body = NewApiKeyInput, security(("api_key" = ["admin"])),
    responses((status = 201, description = "The key, with its secret (shown only here)", body = CreatedApiKey), WriteErrors))]
#[post("/admin/keys")]
pub async fn create_key(
    state: web::Data<AppState>,
    actor: Actor,
    body: JsonBody<NewApiKeyInput>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let input = body.into_inner()?;
    let mut checks = Checks::of(&input);
    let role = checks.enum_value("/role", &input.role, Role::parse, Role::expected());
    checks.finish()?;
    let role = role.ok_or_else(|| ApiError::internal("unreachable: checked above"))?;
    let expires_at = input
        .expires_in_days
        .map(|days| state.clock.now().naive_utc() + Duration::days(days));
    let secret = db::keys::generate_secret();
    let key_secret = secret.clone();
    let key = state
        .write(
            move |c| {
                let view = ApiKeyView::from(db::keys::insert(
                    c,
                    &input.name,
                    role,
                    &key_secret,
                    expires_at,
                )?);
                db::audit::record(
                    c,
                    &actor,
                    "api_key.create",
                    "api_key",
                    view.id,
                    None::<&ApiKeyView>,
                    Some(&view),
                    None,
                )?;
                Ok(view)
            },
            |_| crate::search::Affected::default(),
        )
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey { key, secret }))
}

/// List API keys.
///
/// Every key's id, name, role and prefix, and when it was created, last used, expires or was
/// revoked; never the secret (admin).
#[utoipa::path(tag = "keys", security(("api_key" = ["admin"])), params(super::ListParams),
    responses((status = 200, description = "A page of keys", body = Page<ApiKeyView>), AdminReadErrors))]
#[get("/admin/keys")]
pub async fn list_keys(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<super::ListParams>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let page = params.parse("keys")?;
    let rows = state
        .read(move |c| Ok(db::keys::list(c, page.after_id, page.limit + 1)?))
        .await?;
    Ok(HttpResponse::Ok().json(super::page_of(
        "keys",
        rows,
        page.limit,
        |row| row.id,
        ApiKeyView::from,
    )))
}

/// Revoke an API key.
///
/// Revokes a key at once (admin). Idempotent: revoking a revoked key changes nothing.
#[utoipa::path(tag = "keys", security(("api_key" = ["admin"])), params(("id" = i64, Path, description = "Key id", example = 2)),
    responses((status = 200, description = "The key, revoked", body = ApiKeyView), WriteErrors))]
#[post("/admin/keys/{id}/revoke")]
pub async fn revoke_key(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let id = id.into_inner();
    let now = state.clock.now().naive_utc();
    let key = state
        .write(
            move |c| {
                let before =
                    db::keys::find(c, id)?.ok_or_else(|| ApiError::not_found("api key", id))?;
                match db::keys::revoke(c, id, now)? {
                    Some(after) => {
                        let (before, after) = (ApiKeyView::from(before), ApiKeyView::from(after));
                        db::audit::record(
                            c,
                            &actor,
                            "api_key.revoke",
                            "api_key",
                            id,
                            Some(&before),
                            Some(&after),
                            None,
                        )?;
                        Ok(after)
                    }
                    None => Ok(ApiKeyView::from(before)),
                }
            },
            |_| crate::search::Affected::default(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(key))
}
