//! Request limits at the edge: the query-string length and rate limits.
//!
//! Rate limits are token buckets: a bucket holds `limit` tokens, refills at `limit` a minute, and
//! each request takes one. Traffic without a valid API key is counted per client IP; traffic with
//! one is counted per key, with a higher limit for partners and staff (admin, reviewer). A bucket
//! that has refilled completely is the same as no bucket, so idle buckets are dropped: memory
//! follows the clients of the last minute, and is capped at [`MAX_BUCKETS`].
//!
//! Every limited response carries the IETF draft headers (draft-ietf-httpapi-ratelimit-headers,
//! the separate-field form): `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds
//! until the bucket is full again) and `RateLimit-Policy` (`<limit>;w=60`). A refused request gets
//! 429 problem+json with `Retry-After` (seconds until one token is back).

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::api::error::{ApiError, FieldError, ParamLocation};
use crate::config::{canonical_ip as canonical, IpNetwork};
use crate::domain::Role;
use crate::state::AppState;

/// Most buckets held at once; past it the least recently used are dropped.
pub const MAX_BUCKETS: usize = 100_000;
/// Most API keys remembered (by hash) for choosing a bucket.
const MAX_CACHED_KEYS: usize = 10_000;
/// How long a key's role is remembered for choosing its bucket. Authentication itself never
/// uses this cache: a revoked key is refused at once, it only keeps its bucket a little longer.
const KEY_CACHE_TTL: Duration = Duration::from_secs(60);
/// Paths never limited: probes from the orchestrator, and the token-protected metrics.
const EXEMPT_PATHS: [&str; 4] = ["/livez", "/healthz", "/readyz", "/metrics"];

/// The client's address: the TCP peer, unless the peer is a trusted proxy. Then it is the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its left
/// are whatever the client chose to send, and are never believed).
pub fn client_ip(peer: IpAddr, forwarded_for: &HeaderMap, trusted: &[IpNetwork]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|network| network.contains(ip));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    let entries: Vec<&str> = forwarded_for
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for entry in entries.into_iter().rev() {
        let Ok(ip) = IpAddr::from_str(entry.trim()) else {
            break;
        };
        client = canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    Ip(IpAddr),
    Key(i64),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    per_minute: u32,
}

impl Bucket {
    fn refill_rate(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    fn tokens_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * self.refill_rate()).min(f64::from(self.per_minute))
    }

    fn is_full_at(&self, now: Instant) -> bool {
        self.tokens_at(now) >= f64::from(self.per_minute)
    }
}

/// The outcome of taking a token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until a token is available (0 when allowed).
    pub retry_after_secs: u64,
}

impl Decision {
    fn headers(&self) -> [(&'static str, String); 4] {
        [
            ("ratelimit-limit", self.limit.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", self.reset_secs.to_string()),
            ("ratelimit-policy", format!("{};w=60", self.limit)),
        ]
    }
}

#[derive(Debug, Clone, Copy)]
struct CachedKey {
    key: Option<(i64, Role)>,
    fetched: Instant,
}

/// The buckets, shared by every worker.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Client, Bucket>>,
    keys: Mutex<HashMap<String, CachedKey>>,
    last_sweep: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// Takes a token from `client`'s bucket of `per_minute` tokens.
    pub fn take(&self, client: Client, per_minute: u32, now: Instant) -> Decision {
        self.sweep(now);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&client) {
            evict(&mut buckets, now);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: f64::from(per_minute),
            updated: now,
            per_minute,
        });
        // A changed limit (a key changing role) starts from what is left, capped at the new size.
        bucket.tokens = bucket.tokens_at(now).min(f64::from(per_minute));
        bucket.per_minute = per_minute;
        bucket.updated = now;
        let rate = bucket.refill_rate();
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let seconds = |tokens: f64| (tokens / rate).ceil().max(0.0) as u64;
        Decision {
            allowed,
            limit: per_minute,
            remaining: bucket.tokens.floor() as u32,
            reset_secs: seconds(f64::from(per_minute) - bucket.tokens),
            retry_after_secs: if allowed {
                0
            } else {
                seconds(1.0 - bucket.tokens).max(1)
            },
        }
    }

    /// Drops full buckets once a minute, so memory follows the clients of the last minute.
    fn sweep(&self, now: Instant) {
        let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(60)) {
            return;
        }
        *last = Some(now);
        drop(last);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|_, bucket| !bucket.is_full_at(now));
    }

    pub fn bucket_count(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    fn cached_key(&self, hash: &str, now: Instant) -> Option<Option<(i64, Role)>> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(hash)
            .filter(|cached| now.saturating_duration_since(cached.fetched) < KEY_CACHE_TTL)
            .map(|cached| cached.key)
    }

    fn remember_key(&self, hash: String, key: Option<(i64, Role)>, now: Instant) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= MAX_CACHED_KEYS {
            keys.retain(|_, cached| now.saturating_duration_since(cached.fetched) < KEY_CACHE_TTL);
            if keys.len() >= MAX_CACHED_KEYS {
                keys.clear();
            }
        }
        keys.insert(hash, CachedKey { key, fetched: now });
    }
}

/// Full buckets first; if that is not enough, the least recently used tenth.
fn evict(buckets: &mut HashMap<Client, Bucket>, now: Instant) {
    buckets.retain(|_, bucket| !bucket.is_full_at(now));
    if buckets.len() >= MAX_BUCKETS {
        let mut ages: Vec<Instant> = buckets.values().map(|bucket| bucket.updated).collect();
        let cut = ages.len() / 10;
        ages.select_nth_unstable(cut);
        let threshold = ages[cut];
        buckets.retain(|_, bucket| bucket.updated > threshold);
    }
}

/// The key behind a bearer token, if it is valid: from the cache, else from the database.
async fn resolve_key(state: &AppState, token: String, now: Instant) -> Option<(i64, Role)> {
    let hash = crate::db::keys::hash_key(&token);
    if let Some(key) = state.limiter.cached_key(&hash, now) {
        return key;
    }
    let at = state.clock.now().naive_utc();
    let key = state
        .read(move |connection| Ok(crate::db::keys::find_by_secret(connection, &token)?))
        .await
        // The database is down: count the request as public; the handler reports the outage.
        .ok()?
        .filter(|key| key.revoked_at.is_none() && key.expires_at.is_none_or(|e| e > at))
        .and_then(|key| Role::parse(&key.role).map(|role| (key.id, role)));
    state.limiter.remember_key(hash, key, now);
    key
}

/// The query-string limit, then the rate limit; sets the RateLimit headers on the response.
pub async fn limits_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    let max_query = state.settings.max_query_bytes;
    if request.query_string().len() as u64 > max_query {
        return Ok(request.error_response(ApiError::UriTooLong { limit: max_query }));
    }
    // Neither database stores U+0000 in text: refuse it before it reaches a query.
    let nul_in = [
        (ParamLocation::Path, request.uri().path().contains("%00")),
        (ParamLocation::Query, request.query_string().contains("%00")),
    ];
    for (location, has_nul) in nul_in {
        if has_nul {
            let error = FieldError::new(
                location,
                "",
                "invalid_character",
                "the URL may not contain %00 (NUL)",
            );
            return Ok(request.error_response(ApiError::validation(error)));
        }
    }
    if EXEMPT_PATHS.contains(&request.path()) {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let now = Instant::now();
    let settings = &state.settings;
    let key = match crate::api::auth::bearer_token(request.request()) {
        Ok(token) => resolve_key(&state, token, now).await,
        Err(_) => None,
    };
    let (client, per_minute) = match key {
        Some((id, Role::Partner)) => (Client::Key(id), settings.rate_limit_partner),
        Some((id, Role::Admin | Role::Reviewer)) => (Client::Key(id), settings.rate_limit_staff),
        None => {
            let peer = request
                .peer_addr()
                .map(|address| address.ip())
                .unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let ip = client_ip(peer, request.headers(), &settings.trusted_proxies);
            (Client::Ip(ip), settings.rate_limit_public)
        }
    };
    if per_minute == 0 {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let decision = state.limiter.take(client, per_minute, now);
    let mut response = if decision.allowed {
        next.call(request).await?.map_into_boxed_body()
    } else {
        request.error_response(ApiError::TooManyRequests {
            retry_after_secs: decision.retry_after_secs,
        })
    };
    for (name, value) in decision.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_match_their_addresses_only() {
        let network = IpNetwork::parse("10.1.0.0/16").unwrap();
        assert!(network.contains(ip("10.1.255.3")));
        assert!(!network.contains(ip("10.2.0.1")));
        assert!(network.contains(ip("::ffff:10.1.0.9")));
        let single = IpNetwork::parse("2001:db8::1").unwrap();
        assert!(single.contains(ip("2001:db8::1")));
        assert!(!single.contains(ip("2001:db8::2")));
        assert!(IpNetwork::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!(IpNetwork::parse("10.0.0.0/33").is_err());
        assert!(IpNetwork::parse("example.org").is_err());
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = [IpNetwork::parse("10.0.0.0/8").unwrap()];
        let headers = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.2");
        // From a trusted proxy: the right-most untrusted entry; the spoofable left part is ignored.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
        // From anyone else: the peer, whatever the header says.
        assert_eq!(
            client_ip(ip("198.51.100.4"), &headers, &trusted),
            ip("198.51.100.4")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &headers, &[]), ip("10.0.0.1"));
        // Garbage stops the walk at the last hop that could be read.
        let headers = forwarded("203.0.113.9, not-an-ip, 10.0.0.3");
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_evenly() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        let client = Client::Ip(ip("192.0.2.1"));
        for n in 0..60 {
            let decision = limiter.take(client, 60, start);
            assert!(decision.allowed);
            assert_eq!(decision.remaining, 59 - n);
        }
        let refused = limiter.take(client, 60, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.reset_secs, 60);
        // One token a second comes back.
        assert!(
            limiter
                .take(client, 60, start + Duration::from_millis(1001))
                .allowed
        );
        assert!(
            !limiter
                .take(client, 60, start + Duration::from_millis(1002))
                .allowed
        );
        // Another client has its own bucket.
        assert!(limiter.take(Client::Ip(ip("192.0.2.2")), 60, start).allowed);
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        for n in 0..100u8 {
            limiter.take(Client::Ip(IpAddr::from([192, 0, 2, n])), 60, start);
        }
        assert_eq!(limiter.bucket_count(), 100);
        // Two minutes later every bucket is full again; the next request sweeps them.
        limiter.take(Client::Key(1), 60, start + Duration::from_secs(120));
        assert_eq!(limiter.bucket_count(), 1);
    }
}
