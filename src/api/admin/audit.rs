//! The audit trail: who changed what, when and why, filtered and paged (admins; reviewers without
//! the API-key events).

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::responses::AdminReadErrors;
use crate::api::{parse_limit, Page};
use crate::db::models::AuditRow;
use crate::db::{self, audit::AuditFilter};
use crate::directory::audit::REVIEWERS;
use crate::directory::AuditAction;
use crate::domain::Role;
use crate::search::cursor;
use crate::state::AppState;

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
    Ok(HttpResponse::Ok().json(crate::api::page_of(
        "audit",
        rows,
        limit,
        |row| row.id,
        AuditEntry::from,
    )))
}
