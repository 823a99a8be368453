//! The reviewers' work queues: providers waiting for review, credentials expiring or due for
//! re-verification, credentials expired.

use actix_web::{get, web, HttpResponse};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use utoipa::IntoParams;

use super::list_page;
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::responses::AdminReadErrors;
use crate::api::Page;
use crate::db;
use crate::directory::audit::REVIEWERS;
use crate::directory::credentials::CredentialView;
use crate::directory::providers::{admin_view, ProviderAdminView};
use crate::domain::VettingStatus;
use crate::state::AppState;

/// Queue: providers waiting for review.
///
/// Providers in `pending` and `under_review`, oldest first (admin, reviewer).
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(crate::api::ListParams),
    responses((status = 200, description = "A page of providers waiting for review", body = Page<ProviderAdminView>), AdminReadErrors))]
#[get("/admin/queue/pending")]
pub async fn queue_pending(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<crate::api::ListParams>,
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
            let page =
                crate::api::page_of("queue_pending", rows, page.limit, |row| row.id, |row| row);
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
    Ok(crate::api::page_of(
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
#[utoipa::path(tag = "vetting", security(("api_key" = ["admin", "reviewer"])), params(crate::api::ListParams),
    responses((status = 200, description = "A page of expired credentials", body = Page<CredentialView>), AdminReadErrors))]
#[get("/admin/queue/expired")]
pub async fn queue_expired(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<crate::api::ListParams>,
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
