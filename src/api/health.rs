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

/// How long a readiness answer is reused: whatever the traffic on `/readyz`, the database sees at
/// most one probe query a second.
const READINESS_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The last readiness answer, shared by every worker. Probes that arrive while the database is
/// being asked wait for that answer instead of asking again.
#[derive(Debug, Default)]
pub struct Readiness(tokio::sync::Mutex<Option<(std::time::Instant, bool)>>);

/// Readiness.
///
/// Answers 200 when the database answers a query, so the instance can take traffic; 503 otherwise.
/// The answer is reused for a second, so probes cannot load the database.
#[utoipa::path(tag = "health", responses((status = 200, description = "The database answers", body = Health),
    (status = 503, description = "The database is unreachable", body = ProblemDetails, content_type = "application/problem+json")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut last = state.readiness.0.lock().await;
    let ready = match *last {
        Some((at, ready)) if at.elapsed() < READINESS_TTL => ready,
        _ => {
            let ready = state
                .read(|connection| Ok(connection.batch_execute("SELECT 1").is_ok()))
                .await
                .unwrap_or(false);
            *last = Some((std::time::Instant::now(), ready));
            ready
        }
    };
    drop(last);
    if !ready {
        return Err(ApiError::ServiceUnavailable(
            "the database does not answer".to_owned(),
        ));
    }
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
