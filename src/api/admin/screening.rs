//! Exclusion screening for reviewers: the queue of possible matches, a provider's screening
//! history, and resolving a match.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{enum_param, list_page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::JsonBody;
use crate::api::responses::{AdminReadErrors, WriteErrors};
use crate::api::Page;
use crate::db;
use crate::directory::audit::REVIEWERS;
use crate::directory::screening::{self, ProviderScreening, ResolutionInput, ScreeningMatchView};
use crate::domain::ScreeningRule;
use crate::state::AppState;

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
    Ok(HttpResponse::Ok().json(crate::api::page_of(
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
