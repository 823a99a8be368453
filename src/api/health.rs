//! Liveness and readiness.

use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ProblemDetails};
use crate::startup::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// The process is alive.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The process is alive and serving HTTP (the same as `/healthz`, under the name Kubernetes uses).
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/livez")]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers: ready for traffic.
#[utoipa::path(tag = "health", responses((status = 200, body = Health),
    (status = 503, description = "The database is unreachable", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .db
        .run(|connection| {
            connection.batch_execute("SELECT 1").map_err(|_| {
                ApiError::ServiceUnavailable("the database does not answer".to_owned())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
