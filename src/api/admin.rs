//! Admin and reviewer endpoints: unvetted data, the provider lifecycle, work queues, the audit
//! trail, and API keys.

use actix_web::{get, post, web, HttpResponse};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{AdminReadErrors, WriteErrors};
use super::{parse_limit, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db::models::AuditRow;
use crate::db::{self, audit::AuditFilter};
use crate::directory::audit::{KEY_ADMINS, REVIEWERS};
use crate::directory::credentials::CredentialView;
use crate::directory::keys::{self, ApiKeyView, CreatedApiKey, NewApiKeyInput};
use crate::directory::providers::{admin_view, admin_view_with_listing, ProviderAdminView};
use crate::directory::screening::{self, ProviderScreening, ResolutionInput, ScreeningMatchView};
use crate::directory::vetting::{self, TransitionInput};
use crate::directory::AuditAction;
use crate::domain::{ProviderSource, Role, ScreeningRule, VettingStatus};
use crate::search::cursor;
use crate::state::AppState;

/// Paging and filters: vetting status, NPI, name, source.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminProviderListParams {
    /// Only providers in this vetting status.
    #[param(value_type = Option<VettingStatus>, example = "pending")]
    pub vetting_status: Option<String>,
    /// Only the provider with exactly this NPI.
    #[param(value_type = Option<String>, min_length = 10, max_length = 10, pattern = "^[0-9]{10}$",
        example = "1234567893")]
    pub npi: Option<String>,
    /// Text the provider's "given family" name contains (case-insensitive), 2–100 characters.
    #[param(value_type = Option<String>, min_length = 2, max_length = 100, pattern = "^[^\\x00]*$",
        example = "okafor")]
    pub q: Option<String>,
    /// Only providers that came in this way: `manual` (the API), `import` (an import file) or
    /// `nppes` (an NPPES import).
    #[param(value_type = Option<ProviderSource>, example = "nppes")]
    pub source: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A query parameter that must be one of an enum's values: a field error naming them otherwise.
fn enum_param<T>(
    name: &str,
    text: Option<&str>,
    parse: fn(&str) -> Option<T>,
    expected: String,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let value = parse(text?);
    if value.is_none() {
        errors.push(FieldError::query(
            name,
            "unknown_value",
            format!("expected one of {expected}"),
        ));
    }
    value
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
/// Any provider whatever its vetting state, with all its credentials verified or not, and at
/// which of its locations it is listed in search now and why not at the others (admin,
/// reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 200, description = "The provider, with every credential", body = ProviderAdminView, headers(("ETag" = String))), AdminReadErrors))]
#[get("/admin/providers/{id}")]
pub async fn get_provider_admin(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
    let id = id.into_inner();
    let provider = admin_view_with_listing(
        state
            .read(move |c| Ok(db::providers::get_record(c, id)?))
            .await?,
        &state.freshness(),
    );
    Ok(HttpResponse::Ok()
        .insert_header(etag(provider.version))
        .json(provider))
}

/// List all providers.
///
/// Every provider, ordered by id (admin, reviewer); filter by vetting status, exact NPI, name
/// (`q`) or how it came in (`source=nppes` lists what an NPPES import brought).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(AdminProviderListParams),
    responses((status = 200, description = "A page of providers", body = Page<ProviderAdminView>), AdminReadErrors))]
#[get("/admin/providers")]
pub async fn list_providers_admin(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<AdminProviderListParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
    let mut errors = Vec::new();
    let status = enum_param(
        "vetting_status",
        params.vetting_status.as_deref(),
        VettingStatus::parse,
        VettingStatus::expected(),
        &mut errors,
    );
    if let Some(npi) = params.npi.as_deref() {
        if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::query(
                "npi",
                "invalid_npi",
                "an NPI has 10 digits",
            ));
        }
    }
    let name = params.q.as_deref().map(str::trim).and_then(|q| {
        if !(2..=100).contains(&q.chars().count()) {
            errors.push(FieldError::query(
                "q",
                "invalid_length",
                "2 to 100 characters",
            ));
            return None;
        }
        Some(q.to_lowercase())
    });
    enum_param(
        "source",
        params.source.as_deref(),
        ProviderSource::parse,
        ProviderSource::expected(),
        &mut errors,
    );
    let (limit, after) = list_page(
        "admin_providers",
        params.limit.as_deref(),
        params.cursor.as_deref(),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = db::providers::ProviderFilter {
        statuses: status.into_iter().collect(),
        npi: params.npi.clone(),
        name,
        source: params.source.clone(),
    };
    let page = provider_page(&state, "admin_providers", filter, after, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn provider_page(
    state: &AppState,
    kind: &'static str,
    filter: db::providers::ProviderFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<ProviderAdminView>> {
    state
        .read(move |c| {
            let rows = db::providers::list_filtered(c, &filter, after, limit + 1)?;
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
    actor.require(REVIEWERS.roles)?;
    let (by, id, input) = (
        actor
            .principal(&state.clock)
            .with_reverify_grace(state.settings.reverify_grace_days),
        id.into_inner(),
        body.into_inner()?,
    );
    let provider = state
        .write(move |c| vetting::transition(c, &by, id, if_match.0, input))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(provider.version))
        .json(provider))
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
    actor.require(REVIEWERS.roles)?;
    let page = params.parse("queue_pending")?;
    let page = state
        .read(move |c| {
            let rows = db::providers::list(
                c,
                &[VettingStatus::Pending, VettingStatus::UnderReview],
                page.after_id,
                page.limit + 1,
            )?;
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
    #[param(value_type = Option<i32>, minimum = 1, maximum = 365, example = 30)]
    pub within_days: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

fn credential_queue(
    connection: &mut db::DbConnection,
    not_expired_on: Option<NaiveDate>,
    until: NaiveDate,
    after: i64,
    limit: i64,
    freshness: crate::domain::Freshness,
) -> ApiResult<Page<CredentialView>> {
    let rows = db::credentials::due(connection, not_expired_on, until, after, limit + 1)?;
    Ok(super::page_of(
        if not_expired_on.is_some() {
            "queue_expiring"
        } else {
            "queue_expired"
        },
        rows,
        limit,
        |row| row.id,
        |row| {
            let mut view = CredentialView::from(row);
            view.reverification_overdue = freshness.overdue(view.next_due_on);
            view
        },
    ))
}

/// Queue: credentials expiring soon.
///
/// Verified credentials that expire, or are due for re-verification, within `within_days` days,
/// and those already due; `reverification_overdue` marks the ones past their due date by more
/// than the grace period, which no longer count (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(ExpiringParams),
    responses((status = 200, description = "A page of credentials expiring soon", body = Page<CredentialView>), AdminReadErrors))]
#[get("/admin/queue/expiring")]
pub async fn queue_expiring(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<ExpiringParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
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
    let freshness = state.freshness();
    let today = freshness.today;
    let page = state
        .read(move |c| {
            credential_queue(
                c,
                Some(today),
                today + Duration::days(within_days),
                after,
                limit,
                freshness,
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
    actor.require(REVIEWERS.roles)?;
    let page = params.parse("queue_expired")?;
    let freshness = state.freshness();
    let page = state
        .read(move |c| {
            credential_queue(
                c,
                None,
                freshness.today,
                page.after_id,
                page.limit,
                freshness,
            )
        })
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
    #[schema(value_type = crate::domain::schemas::Id, inline)]
    pub id: i64,
    /// UTC.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = crate::domain::schemas::Timestamp, inline)]
    pub occurred_at: NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::schemas::Id>, inline)]
    pub actor_key_id: Option<i64>,
    #[schema(
        max_length = 16,
        pattern = "^(admin|reviewer|partner|system|cli|import)$"
    )]
    pub actor_role: String,
    /// e.g. `provider.transition`, `credential.verify`, `clinic.update`.
    #[schema(min_length = 3, max_length = 64, pattern = "^[a-z_]+\\.[a-z_]+$")]
    pub action: String,
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z_]+$")]
    pub target_type: String,
    #[schema(min_length = 1, max_length = 4096, pattern = "^[^\\x00]*$")]
    pub target_id: String,
    /// The resource before the write (absent for a create).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::domain::schemas::JsonObject, inline)]
    pub before: Option<serde_json::Value>,
    /// The resource after the write (absent for a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::domain::schemas::JsonObject, inline)]
    pub after: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 1000, pattern = "^[^\\x00]*$")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
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
    #[param(value_type = Option<String>, min_length = 1, max_length = 32, pattern = "^[a-z_]+$", example = "provider")]
    pub target_type: Option<String>,
    #[param(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\x00]*$", example = "42")]
    pub target_id: Option<String>,
    /// The acting key's id.
    #[param(value_type = Option<crate::domain::schemas::Id>, inline, example = 2)]
    pub actor_key_id: Option<String>,
    #[param(value_type = Option<String>, min_length = 3, max_length = 64, pattern = "^[a-z_]+\\.[a-z_]+$", example = "provider.transition")]
    pub action: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    #[param(value_type = Option<String>, format = DateTime, max_length = 64, example = "2026-11-01T00:00:00Z")]
    pub since: Option<String>,
    /// Before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 64, example = "2026-12-01T00:00:00Z")]
    pub until: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
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
/// reviewer). Filter by target, acting key, action or time. Events on API keys (`api_key.*`) are
/// shown to admins only, as the keys themselves are.
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(AuditParams),
    responses((status = 200, description = "A page of audit entries, newest first", body = Page<AuditEntry>), AdminReadErrors))]
#[get("/admin/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
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
        let id = text
            .parse::<i64>()
            .ok()
            .filter(|id| (1..=crate::domain::schemas::MAX_ID).contains(id));
        if id.is_none() {
            errors.push(FieldError::query(
                "actor_key_id",
                "invalid_value",
                "a key id: an integer from 1",
            ));
        }
        id
    });
    // The filters' shapes, as documented; a well-formed name that nothing has is an empty page.
    fn word(text: &str) -> bool {
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    }
    let shapes = [
        (
            "target_type",
            params.target_type.as_deref(),
            (|t| t.len() <= 32 && word(t)) as fn(&str) -> bool,
            "a target type such as provider or api_key",
        ),
        (
            "target_id",
            params.target_id.as_deref(),
            |t| (1..=100).contains(&t.chars().count()),
            "1 to 100 characters",
        ),
        (
            "action",
            params.action.as_deref(),
            |t| {
                t.len() <= 64
                    && t.split_once('.')
                        .is_some_and(|(what, verb)| word(what) && word(verb))
            },
            "an action such as provider.transition",
        ),
    ];
    for (name, value, valid, expected) in shapes {
        if value.is_some_and(|value| !valid(value)) {
            errors.push(FieldError::query(name, "invalid_value", expected));
        }
    }
    let filter = AuditFilter {
        target_type: params.target_type.clone(),
        target_id: params.target_id.clone(),
        actor_key_id,
        action: params.action.clone(),
        since: parse_instant("since", params.since.as_deref(), &mut errors),
        until: parse_instant("until", params.until.as_deref(), &mut errors),
        // API keys are the admins' (listing them is admin-only): so are their events.
        hidden_target_types: if actor.role == Role::Admin {
            Vec::new()
        } else {
            vec![AuditAction::ApiKeyCreate.target_type()]
        },
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
    actor.require(KEY_ADMINS.roles)?;
    let (by, input) = (actor.principal(&state.clock), body.into_inner()?);
    let created = state.write(move |c| keys::create(c, &by, input)).await?;
    Ok(HttpResponse::Created().json(created))
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
    actor.require(KEY_ADMINS.roles)?;
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
    actor.require(KEY_ADMINS.roles)?;
    let (by, id) = (actor.principal(&state.clock), id.into_inner());
    let key = state.write(move |c| keys::revoke(c, &by, id)).await?;
    Ok(HttpResponse::Ok().json(key))
}

/// A provider's exclusion screening.
///
/// The exclusion lists loaded, what the public sees (`screening`), and every match ever raised for
/// this provider with its rule, evidence and resolution, oldest first (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 200, description = "The provider's screening history", body = ProviderScreening), AdminReadErrors))]
#[get("/admin/providers/{id}/screening")]
pub async fn provider_screening(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
    let id = id.into_inner();
    let history = state
        .read(move |c| Ok(screening::provider_screening(c, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(history))
}

/// Paging and the match rule for the screening queue.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScreeningQueueParams {
    /// Only matches of this rule: `name_dob` (name and date of birth), `name_state` (name and
    /// state only, lower confidence) or `npi` (an NPI match a waiver kept from excluding).
    #[param(value_type = Option<ScreeningRule>, example = "name_dob")]
    pub rule: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Queue: possible exclusion-list matches.
///
/// Open screening matches, oldest first, each with its evidence (the source row, what matched, any
/// waiver): name and date of birth equal, or name and state only (lower confidence). Resolve each
/// with `POST /v1/admin/screening/{id}/resolution` (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(ScreeningQueueParams),
    responses((status = 200, description = "A page of open screening matches", body = Page<ScreeningMatchView>), AdminReadErrors))]
#[get("/admin/queue/screening")]
pub async fn queue_screening(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<ScreeningQueueParams>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
    let mut errors = Vec::new();
    let rule = enum_param(
        "rule",
        params.rule.as_deref(),
        ScreeningRule::parse,
        ScreeningRule::expected(),
        &mut errors,
    );
    let (limit, after) = list_page(
        "queue_screening",
        params.limit.as_deref(),
        params.cursor.as_deref(),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let rows = state
        .read(move |c| {
            let rules: Vec<&str> = rule.iter().map(|r| r.as_str()).collect();
            Ok(db::exclusions::open_matches(c, &rules, after, limit + 1)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(super::page_of(
        "queue_screening",
        rows,
        limit,
        |row| row.id,
        ScreeningMatchView::from,
    )))
}

/// Resolve a screening match.
///
/// A reviewer's decision on an open match, with a reason (admin, reviewer): `confirmed` excludes
/// the provider (it leaves search on every process; audited as `provider.exclude`, naming the
/// source row), `false_positive` clears the match (audited as `screening.resolve`), and it is not
/// raised again for the same source row. 409 when the match is already resolved.
#[utoipa::path(tag = "vetting", request_body = ResolutionInput, security(("api_key" = ["admin", "reviewer"])),
    params(("id" = i64, Path, description = "Screening match id", example = 3)),
    responses((status = 200, description = "The match, resolved", body = ScreeningMatchView), WriteErrors))]
#[post("/admin/screening/{id}/resolution")]
pub async fn resolve_screening(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    body: JsonBody<ResolutionInput>,
) -> ApiResult<HttpResponse> {
    actor.require(REVIEWERS.roles)?;
    let (by, id, input) = (
        actor.principal(&state.clock),
        id.into_inner(),
        body.into_inner()?,
    );
    let resolved = state
        .write(move |c| screening::resolve(c, &by, id, input))
        .await?;
    Ok(HttpResponse::Ok().json(resolved))
}
