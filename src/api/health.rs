//! Liveness and readiness.

use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::{ApiError, ApiResult, ProblemDetails};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok`.
    #[schema(value_type = String, pattern = "^ok$", max_length = 2)]
    pub status: &'static str,
}

/// Liveness.
///
/// Answers 200 while the process is alive, without touching the database. For load balancers and
/// container health checks.
#[utoipa::path(tag = "health", responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Liveness (Kubernetes name).
///
/// The same as `/healthz`, under the name Kubernetes probes use: the process is alive and serving
/// HTTP.
#[utoipa::path(tag = "health", responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/livez")]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness.
///
/// Answers 200 when the database answers a query, so the instance can take traffic; 503 otherwise.
#[utoipa::path(tag = "health", responses((status = 200, description = "The database answers", body = Health),
    (status = 503, description = "The database is unreachable", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .read(|connection| {
            connection.batch_execute("SELECT 1").map_err(|_| {
                ApiError::ServiceUnavailable("the database does not answer".to_owned())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
