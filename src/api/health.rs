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

/// The readiness answer: `ok`, and where reads and rate limits stand when they are configured.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "replica": {"state": "in_use", "lag_ms": 12}, "rate_limits": "shared"}))]
pub struct Ready {
    /// `ok`.
    #[schema(value_type = String, pattern = "^ok$", max_length = 2)]
    pub status: &'static str,
    /// The read replica (`CLINIC_FINDER_READ_DATABASE_URL`), when there is one. Any state is
    /// ready: while it is not `in_use`, reads go to the primary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<ReplicaReport>,
    /// Where rate-limit buckets are, when Redis is configured (`CLINIC_FINDER_REDIS_URL`):
    /// `shared` (in Redis) or `per_process` (Redis does not answer; each process counts alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(shared|per_process)$", max_length = 11)]
    pub rate_limits: Option<&'static str>,
}

/// The read replica, as the last check found it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicaReport {
    /// `in_use` (reads that may be stale go to it), `lagging` (further behind than
    /// `CLINIC_FINDER_MAX_REPLICA_LAG_MS`, or catching up), `down` (unreachable) or `starting`.
    #[schema(value_type = String, pattern = "^(starting|in_use|lagging|down)$", max_length = 8)]
    pub state: &'static str,
    /// Milliseconds behind the primary; `null` while unreachable.
    #[schema(minimum = 0, maximum = 3_600_000_000u64)]
    pub lag_ms: Option<u64>,
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
/// The answer is reused for a second, so probes cannot load the database. With a read replica it
/// says where reads go (a replica that is down or lagging leaves the instance ready: reads fall
/// back to the primary), and with Redis whether rate limits are shared.
#[utoipa::path(tag = "health", responses((status = 200, description = "The database answers", body = Ready),
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
    let replica = state.replica.as_ref().map(|replica| {
        let status = replica.status();
        ReplicaReport {
            state: status.state.as_str(),
            lag_ms: status.lag_ms,
        }
    });
    let rate_limits = state
        .limiter
        .shared()
        .map(|shared| if shared { "shared" } else { "per_process" });
    Ok(HttpResponse::Ok().json(Ready {
        status: "ok",
        replica,
        rate_limits,
    }))
}
