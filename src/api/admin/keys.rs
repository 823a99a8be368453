//! API keys: create (shown once), list, revoke (admins).

use actix_web::{get, post, web, HttpResponse};

use crate::api::auth::Actor;
use crate::api::error::ApiResult;
use crate::api::extract::JsonBody;
use crate::api::responses::{AdminReadErrors, WriteErrors};
use crate::api::Page;
use crate::db;
use crate::directory::audit::KEY_ADMINS;
use crate::directory::keys::{self, ApiKeyView, CreatedApiKey, NewApiKeyInput};
use crate::state::AppState;

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
#[utoipa::path(tag = "keys", security(("api_key" = ["admin"])), params(crate::api::ListParams),
    responses((status = 200, description = "A page of keys", body = Page<ApiKeyView>), AdminReadErrors))]
#[get("/admin/keys")]
pub async fn list_keys(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<crate::api::ListParams>,
) -> ApiResult<HttpResponse> {
    actor.require(KEY_ADMINS.roles)?;
    let page = params.parse("keys")?;
    let rows = state
        .read(move |c| Ok(db::keys::list(c, page.after_id, page.limit + 1)?))
        .await?;
    Ok(HttpResponse::Ok().json(crate::api::page_of(
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
