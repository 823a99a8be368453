//! Prometheus metrics, written out in the text exposition format (no client library: a few
//! counters and one histogram family are all the service needs).
//!
//! - `http_requests_total{method, route, status}`: every response, by route *template*
//!   (`/v1/providers/{id}`, so the label set stays bounded; `unmatched` for unknown paths) and
//!   method (the standard ones; any other is `OTHER`, since a client may invent methods of any
//!   length). Past [`MAX_SERIES`] label sets, new ones are counted under `route="overflow"`;
//! - `http_request_duration_seconds{route}`: a latency histogram;
//! - `db_pool_connections`, `db_pool_idle_connections`, `db_connection_checkouts_total`: the
//!   connection pool, and how many times a connection was taken from it (each read, write,
//!   key lookup or probe takes one);
//! - `rate_limit_buckets`: client buckets held by the rate limiter.
//!
//! `/metrics` is not public: it answers only when `CLINIC_FINDER_METRICS_TOKEN` is set, to a
//! request that carries that token as a bearer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::api::error::{ApiError, ApiResult, ProblemDetails};
use crate::state::AppState;

/// Upper bounds of the latency buckets, seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Most label sets `http_requests_total` keeps; a bound on the registry's memory whatever
/// requests arrive.
pub const MAX_SERIES: usize = 5_000;

/// The method as a label: the methods of RFC 9110 and PATCH, else `OTHER`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Counts per bucket (not cumulative); the last slot is +Inf.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Registry {
    requests: BTreeMap<(String, &'static str, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The process's metrics, shared by every worker.
#[derive(Debug, Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = (route.to_owned(), method_label(method), status);
        if registry.requests.len() >= MAX_SERIES && !registry.requests.contains_key(&key) {
            key = ("overflow".to_owned(), "OTHER", 0);
        }
        let route = key.0.clone();
        *registry.requests.entry(key).or_default() += 1;
        if registry.latency.len() < MAX_SERIES || registry.latency.contains_key(&route) {
            registry.latency.entry(route).or_default().observe(seconds);
        }
    }

    /// The text exposition format, version 0.0.4.
    pub fn render(&self, pool: (u32, u32), checkouts: u64, rate_limit_buckets: usize) -> String {
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP http_requests_total HTTP responses by route template, method and status.\n",
        );
        out.push_str("# TYPE http_requests_total counter\n");
        for ((route, method, status), count) in &registry.requests {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(method),
                escape(route)
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time from request to response head, by route template.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (route, histogram) in &registry.latency {
            let route = escape(route);
            let mut cumulative = 0;
            for (slot, count) in histogram.buckets.iter().enumerate() {
                cumulative += count;
                let bound = LATENCY_BUCKETS
                    .get(slot)
                    .map_or("+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP db_connection_checkouts_total Connections taken from the pool.\n\
             # TYPE db_connection_checkouts_total counter\ndb_connection_checkouts_total {checkouts}"
        );
        let (connections, idle) = pool;
        let gauges = [
            (
                "db_pool_connections",
                "Open database connections in the pool.",
                connections as usize,
            ),
            (
                "db_pool_idle_connections",
                "Idle database connections in the pool.",
                idle as usize,
            ),
            (
                "rate_limit_buckets",
                "Client buckets held by the rate limiter.",
                rate_limit_buckets,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

/// The read replica's lag and use, and whether rate limits are shared, when they are configured.
fn scale_out_gauges(state: &AppState) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    if let Some(replica) = &state.replica {
        let status = replica.status();
        // Unreachable: NaN, Prometheus's "no value" for a gauge.
        let lag = status.lag_ms.map_or(f64::NAN, |ms| ms as f64 / 1000.0);
        gauge(
            "db_replica_lag_seconds",
            "How far the read replica is behind the primary (NaN while unreachable).",
            lag,
        );
        gauge(
            "db_replica_in_use",
            "1 while reads that may be stale go to the replica, 0 while they fall back to the primary.",
            f64::from(u8::from(replica.in_use())),
        );
    }
    if let Some(shared) = state.limiter.shared() {
        gauge(
            "rate_limit_shared",
            "1 while rate-limit buckets are in Redis, 0 while each process counts alone.",
            f64::from(u8::from(shared)),
        );
    }
    out
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every response by route template, method and status, with its latency.
pub async fn metrics_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method().as_str());
    let response = next.call(request).await?.map_into_boxed_body();
    if let Some(state) = state {
        state.metrics.record(
            method,
            &route,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(response)
}

/// Equal secrets, compared through their hashes so that the time taken says nothing about them.
fn same_secret(presented: &str, expected: &str) -> bool {
    Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// Prometheus metrics.
///
/// Responses by route, method and status, and latency histograms by route, in the Prometheus text
/// exposition format 0.0.4. Served only when the service is configured with a metrics token
/// (`CLINIC_FINDER_METRICS_TOKEN`), to requests carrying it as a bearer; otherwise this path
/// answers 404.
#[utoipa::path(tag = "health",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain",
            example = json!("# HELP http_requests_total HTTP responses by route template, method and status.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",route=\"/v1/search/providers\",status=\"200\"} 1027\n")),
        (status = 401, description = "Missing or wrong metrics token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are not enabled on this service", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
#[get("/metrics")]
pub async fn get_metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let Some(expected) = &state.settings.metrics_token else {
        return Err(ApiError::RouteNotFound);
    };
    let presented = crate::api::auth::bearer_token(&request)?;
    if !same_secret(&presented, expected.expose()) {
        return Err(ApiError::Unauthorized(
            "the metrics token is not valid".to_owned(),
        ));
    }
    let mut body = state.metrics.render(
        state.db.pool_state(),
        state.db.checkouts(),
        state.limiter.bucket_count(),
    );
    body.push_str(&scale_out_gauges(state.get_ref()));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let metrics = Metrics::default();
        metrics.record("GET", "/v1/providers/{id}", 200, 0.003);
        metrics.record("GET", "/v1/providers/{id}", 404, 0.2);
        metrics.record("GET", "a\"b", 200, 20.0);
        metrics.record(&"N".repeat(20_000), "/healthz", 200, 0.001);
        let text = metrics.render((3, 2), 11, 7);
        assert!(text
            .contains("http_requests_total{method=\"OTHER\",route=\"/healthz\",status=\"200\"} 1"));
        assert!(!text.contains("NNNN"));
        assert!(text.contains("db_connection_checkouts_total 11\n"));
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/v1/providers/{id}\",status=\"404\"} 1"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{route=\"/v1/providers/{id}\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{route=\"/v1/providers/{id}\",le=\"0.25\"} 2"
        ));
        assert!(
            text.contains("http_request_duration_seconds_bucket{route=\"a\\\"b\",le=\"+Inf\"} 1")
        );
        assert!(
            text.contains("http_request_duration_seconds_count{route=\"/v1/providers/{id}\"} 2")
        );
        assert!(text.contains("db_pool_connections 3\n"));
        assert!(text.contains("rate_limit_buckets 7\n"));
    }
}
