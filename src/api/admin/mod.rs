//! Admin and reviewer endpoints: unvetted data and the provider lifecycle here; the work queues,
//! exclusion screening, the audit trail and API keys in their own modules.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{AdminReadErrors, WriteErrors};
use super::{parse_limit, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db::{self};
use crate::directory::audit::REVIEWERS;
use crate::directory::providers::{admin_view, admin_view_with_listing, ProviderAdminView};
use crate::directory::vetting::{self, TransitionInput};
use crate::domain::{ProviderSource, VettingStatus};
use crate::search::cursor;
use crate::state::AppState;

mod audit;
mod keys;
mod queues;
mod screening;

pub use audit::*;
pub use keys::*;
pub use queues::*;
pub use screening::*;

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
/// suspended → verified; rejected → pending; excluded → pending once no confirmed exclusion is in
/// force (`exclusion_standing` otherwise). Needs `If-Match` and a reason. Becoming verified needs
/// a verified, unexpired state licence and a degree; 409 lists the states allowed from where the
/// provider is.
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
