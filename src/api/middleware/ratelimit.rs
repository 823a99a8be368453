//! Request limits at the edge: the query-string length and rate limits.
//!
//! Rate limits are token buckets: a bucket holds `limit` tokens, refills at `limit` a minute, and
//! each request takes one. Traffic without a valid API key is counted per client address (IPv6
//! per network of `--rate-limit-ipv6-prefix` bits, /64 by default: one subscriber holds a whole
//! /64); traffic with one is counted per key, with a higher limit for partners and staff (admin,
//! reviewer). A bucket that has refilled completely is the same as no bucket, so idle buckets
//! are dropped: memory follows the clients of the last minute, and is capped at [`MAX_BUCKETS`].
//!
//! A bearer token is looked up only after its sender's address bucket gave a token, unless the
//! key is already known to be valid: a flood of invented tokens costs the database at most the
//! address's limit, and a token that cannot be a key (see `config::is_token_shaped`) or was
//! found invalid in the last minute costs it nothing. Known keys and invalid tokens are kept
//! apart, each in a least-recently-used cache of [`MAX_CACHED_KEYS`], so invented tokens cannot
//! push real keys out. The lookup made here is handed to the `Actor` extractor, which therefore
//! does not repeat it.
//!
//! Every limited response carries the IETF draft headers (draft-ietf-httpapi-ratelimit-headers,
//! the separate-field form): `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds
//! until the bucket is full again) and `RateLimit-Policy` (`<limit>;w=60`). A refused request gets
//! 429 problem+json with `Retry-After` (seconds until one token is back).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::api::error::{ApiError, FieldError, ParamLocation};
use crate::config::{canonical_ip as canonical, is_token_shaped, rate_limit_network, IpNetwork};
use crate::db::models::ApiKeyRow;
use crate::domain::Role;
use crate::state::AppState;

/// Most buckets held at once; past it the least recently used are dropped.
pub const MAX_BUCKETS: usize = 100_000;
/// Most valid keys, and separately most invalid tokens, remembered (by hash).
pub const MAX_CACHED_KEYS: usize = 10_000;
/// How long an invalid token is remembered as invalid, and a valid key's role trusted for
/// choosing its bucket. Authentication never uses this cache for a valid key: a revoked key is
/// refused at once, it only keeps its bucket a little longer.
const KEY_CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a key once found valid skips the address bucket when it is looked up again.
const KNOWN_KEY_RETENTION: Duration = Duration::from_secs(3600);
/// Paths never limited: the liveness probes (no database) from the orchestrator. `/readyz`
/// reuses its answer for a second instead (see `api::health`).
const EXEMPT_PATHS: [&str; 3] = ["/livez", "/healthz", "/readyz"];

/// Who a client is, as `X-Forwarded-For` and the peer say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAddress {
    Ip(IpAddr),
    /// A forwarded entry that names no address (`unknown`, an obfuscated RFC 7239 name): it gets
    /// a bucket of its own rather than the proxy's.
    Unnamed(String),
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`
/// (optionally quoted).
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    if let Ok(ip) = IpAddr::from_str(entry) {
        return Some(ip);
    }
    if let Ok(socket) = SocketAddr::from_str(entry) {
        return Some(socket.ip());
    }
    let bracketed = entry.strip_prefix('[')?.strip_suffix(']')?;
    IpAddr::from_str(bracketed).ok()
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy. Then it is the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its left
/// are whatever the client chose to send, and are never believed).
pub fn client_address(
    peer: IpAddr,
    forwarded_for: &HeaderMap,
    trusted: &[IpNetwork],
) -> ClientAddress {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|network| network.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return ClientAddress::Ip(peer);
    }
    let entries: Vec<&str> = forwarded_for
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter(|entry| !entry.trim().is_empty())
        .collect();
    for entry in entries.into_iter().rev() {
        match parse_forwarded_entry(entry) {
            Some(ip) if is_trusted(canonical(ip)) => continue,
            Some(ip) => return ClientAddress::Ip(canonical(ip)),
            None => return ClientAddress::Unnamed(entry.trim().chars().take(64).collect()),
        }
    }
    ClientAddress::Ip(peer)
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// An address (IPv6: its network, see `config::rate_limit_network`).
    Ip(IpAddr),
    /// A forwarded name that is not an address, by hash.
    Unnamed(u64),
    Key(i64),
    /// The key lookups an address may still make once its public bucket is empty (so that a
    /// valid key is never locked out by its address's traffic): [`LOOKUPS_PER_MINUTE`].
    Lookups(IpAddr),
    UnnamedLookups(u64),
}

/// Lookups of unknown tokens an address may make a minute beyond its public limit.
pub const LOOKUPS_PER_MINUTE: u32 = 10;

impl Client {
    /// The bucket's name in Redis (`middleware::shared_limits`).
    fn shared_key(&self) -> String {
        match self {
            Client::Ip(ip) => format!("ip:{ip}"),
            Client::Unnamed(hash) => format!("unnamed:{hash:016x}"),
            Client::Key(id) => format!("key:{id}"),
            Client::Lookups(ip) => format!("lookups:{ip}"),
            Client::UnnamedLookups(hash) => format!("lookups-unnamed:{hash:016x}"),
        }
    }

    fn of(address: &ClientAddress, ipv6_prefix: u8) -> Client {
        match address {
            ClientAddress::Ip(ip) => Client::Ip(rate_limit_network(*ip, ipv6_prefix)),
            ClientAddress::Unnamed(name) => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                name.hash(&mut hasher);
                Client::Unnamed(hasher.finish())
            }
        }
    }
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

    /// Sets the RateLimit headers on `response`.
    pub fn apply(&self, response: &mut ServiceResponse<BoxBody>) {
        for (name, value) in self.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// What the limiter knows of a token, by its hash.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Known {
    /// A valid key, fetched at that instant.
    Valid {
        id: i64,
        role: Role,
        fetched: Instant,
    },
    /// Not a valid key, as of that instant.
    Invalid { fetched: Instant },
}

/// A least-recently-used map of bounded size: when full, the least recently used tenth goes.
#[derive(Debug, Default)]
struct LruCache {
    entries: HashMap<String, (Known, u64)>,
    clock: u64,
}

impl LruCache {
    fn get(&mut self, hash: &str) -> Option<Known> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(hash).map(|(known, used)| {
            *used = clock;
            *known
        })
    }

    fn insert(&mut self, hash: String, known: Known) {
        self.clock += 1;
        if self.entries.len() >= MAX_CACHED_KEYS && !self.entries.contains_key(&hash) {
            let mut uses: Vec<u64> = self.entries.values().map(|(_, used)| *used).collect();
            let cut = uses.len() / 10;
            uses.select_nth_unstable(cut);
            let threshold = uses[cut];
            self.entries.retain(|_, (_, used)| *used > threshold);
        }
        self.entries.insert(hash, (known, self.clock));
    }

    fn remove(&mut self, hash: &str) {
        self.entries.remove(hash);
    }
}

/// The key lookup this request's limiter made, for the `Actor` extractor: the row as the
/// database had it (`None`: no such key), or that the token is not a key at all.
#[derive(Debug, Clone)]
pub enum KeyLookup {
    Fetched(Option<ApiKeyRow>),
    Invalid,
}

/// The buckets, shared by every worker (and, with Redis, by every process).
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Redis, when configured: the buckets every process shares; these below while it is down.
    shared: Option<super::shared_limits::SharedBuckets>,
    buckets: Mutex<HashMap<Client, Bucket>>,
    valid_keys: Mutex<LruCache>,
    invalid_tokens: Mutex<LruCache>,
    last_sweep: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter whose buckets live in Redis at `redis_url` (this process's own while Redis does
    /// not answer), or in this process without one.
    pub fn new(redis_url: Option<&str>) -> Result<RateLimiter, String> {
        Ok(RateLimiter {
            shared: redis_url
                .map(super::shared_limits::SharedBuckets::new)
                .transpose()?,
            ..Default::default()
        })
    }

    /// Whether the buckets are in Redis: `None` without Redis, `Some(false)` while it does not
    /// answer (the process counts alone).
    pub fn shared(&self) -> Option<bool> {
        self.shared.as_ref().map(|shared| shared.is_healthy())
    }

    /// Takes a token from `client`'s bucket of `per_minute` tokens: in Redis when it answers, in
    /// this process otherwise.
    pub fn take(&self, client: Client, per_minute: u32, now: Instant) -> Decision {
        if let Some(shared) = &self.shared {
            if let Some((allowed, tokens)) = shared.call(&client.shared_key(), per_minute, 1) {
                return decision(allowed, per_minute, tokens);
            }
        }
        self.take_here(client, per_minute, now)
    }

    fn take_here(&self, client: Client, per_minute: u32, now: Instant) -> Decision {
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
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        decision(allowed, per_minute, bucket.tokens)
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

    /// Gives back the token a request took (a valid key's first request pays at its key's
    /// bucket, not its address's).
    pub fn refund(&self, client: Client, per_minute: u32) {
        if let Some(shared) = &self.shared {
            if shared.call(&client.shared_key(), per_minute, -1).is_some() {
                return;
            }
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.get_mut(&client) {
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(bucket.per_minute));
        }
    }

    pub fn bucket_count(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    fn known(&self, hash: &str) -> Option<Known> {
        let valid = self
            .valid_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash);
        valid.or_else(|| {
            self.invalid_tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(hash)
        })
    }

    fn remember(&self, hash: String, known: Known) {
        let (keep, drop) = match known {
            Known::Valid { .. } => (&self.valid_keys, &self.invalid_tokens),
            Known::Invalid { .. } => (&self.invalid_tokens, &self.valid_keys),
        };
        drop.lock().unwrap_or_else(|e| e.into_inner()).remove(&hash);
        keep.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash, known);
    }
}

/// The outcome of a take that left `tokens` in a bucket of `per_minute`.
fn decision(allowed: bool, per_minute: u32, tokens: f64) -> Decision {
    let rate = f64::from(per_minute) / 60.0;
    let seconds = |tokens: f64| (tokens / rate).ceil().max(0.0) as u64;
    Decision {
        allowed,
        limit: per_minute,
        remaining: tokens.max(0.0).floor() as u32,
        reset_secs: seconds(f64::from(per_minute) - tokens),
        retry_after_secs: if allowed {
            0
        } else {
            seconds(1.0 - tokens).max(1)
        },
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

/// The key behind `token` from the database, remembered either way; `None` when the database
/// did not answer (the request then counts as public, and the extractor reports the outage).
async fn look_up(state: &AppState, token: String, hash: String, now: Instant) -> Option<KeyLookup> {
    let at = state.clock.now().naive_utc();
    let row = state
        .read(move |connection| Ok(crate::db::keys::find_by_secret(connection, &token)?))
        .await
        .ok()?;
    let valid = row
        .as_ref()
        .filter(|key| key.revoked_at.is_none() && key.expires_at.is_none_or(|e| e > at))
        .and_then(|key| Role::parse(&key.role).map(|role| (key.id, role)));
    let known = match valid {
        Some((id, role)) => Known::Valid {
            id,
            role,
            fetched: now,
        },
        None => Known::Invalid { fetched: now },
    };
    state.limiter.remember(hash, known);
    Some(KeyLookup::Fetched(row))
}

/// The client as the address bucket sees it.
fn address_client(state: &AppState, request: &ServiceRequest) -> Client {
    let peer = request
        .peer_addr()
        .map(|address| address.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let address = client_address(peer, request.headers(), &state.settings.trusted_proxies);
    Client::of(&address, state.settings.rate_limit_ipv6_prefix)
}

/// The lookup allowance of an address's bucket.
fn lookups_of(address: Client) -> Client {
    match address {
        Client::Ip(ip) => Client::Lookups(ip),
        Client::Unnamed(name) => Client::UnnamedLookups(name),
        other => other,
    }
}

/// Takes a token for a CORS preflight (it carries no key: its address pays).
pub fn take_for_preflight(state: &AppState, request: &ServiceRequest) -> Option<Decision> {
    let per_minute = state.settings.rate_limit_public;
    (per_minute > 0).then(|| {
        state
            .limiter
            .take(address_client(state, request), per_minute, Instant::now())
    })
}

fn key_limit(state: &AppState, role: Role) -> u32 {
    match role {
        Role::Partner => state.settings.rate_limit_partner,
        Role::Admin | Role::Reviewer => state.settings.rate_limit_staff,
    }
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
    // `/metrics` takes its own token, which is not an API key: nothing to look up there.
    let token = (request.path() != "/metrics")
        .then(|| crate::api::auth::bearer_token(request.request()).ok())
        .flatten();
    let shaped = token.filter(|token| is_token_shaped(token));
    let hash = shaped.as_deref().map(crate::db::keys::hash_key);
    let known = hash.as_deref().and_then(|hash| state.limiter.known(hash));

    let mut decision = None;
    let mut refused = None;
    let mut key = None;
    match known {
        // A key known to be valid: its own bucket, no lookup (the extractor authenticates it).
        Some(Known::Valid { id, role, fetched })
            if now.saturating_duration_since(fetched) < KEY_CACHE_TTL =>
        {
            key = Some((id, role));
        }
        // Known before: look it up again without spending its address's tokens.
        Some(Known::Valid { fetched, .. })
            if now.saturating_duration_since(fetched) < KNOWN_KEY_RETENTION =>
        {
            if let (Some(token), Some(hash)) = (shaped.clone(), hash.clone()) {
                if let Some(lookup) = look_up(&state, token, hash.clone(), now).await {
                    if let Some(Known::Valid { id, role, .. }) = state.limiter.known(&hash) {
                        key = Some((id, role));
                    }
                    request.extensions_mut().insert(lookup);
                }
            }
        }
        Some(Known::Invalid { fetched })
            if now.saturating_duration_since(fetched) < KEY_CACHE_TTL =>
        {
            request.extensions_mut().insert(KeyLookup::Invalid);
        }
        _ => {}
    }
    if key.is_none() {
        // Unknown senders pay at their address first, before any lookup.
        let unlooked = request.extensions().get::<KeyLookup>().is_none();
        let address = address_client(&state, &request);
        let public = state.settings.rate_limit_public;
        if public > 0 {
            let taken = state.limiter.take(address, public, now);
            if taken.allowed {
                decision = Some(taken);
            } else {
                refused = Some(taken);
            }
        }
        // With the address's bucket empty, a token may still be looked up a few times a
        // minute: a valid key is not locked out by its address's traffic.
        let may_look_up = unlooked
            && shaped.is_some()
            && (refused.is_none()
                || state
                    .limiter
                    .take(lookups_of(address), LOOKUPS_PER_MINUTE, now)
                    .allowed);
        if unlooked {
            match (shaped, hash) {
                (Some(token), Some(hash)) if may_look_up => {
                    if let Some(lookup) = look_up(&state, token, hash.clone(), now).await {
                        if let Some(Known::Valid { id, role, .. }) = state.limiter.known(&hash) {
                            key = Some((id, role));
                            if decision.is_some() {
                                state.limiter.refund(address, public);
                            }
                        }
                        request.extensions_mut().insert(lookup);
                    }
                }
                (Some(_), Some(_)) => {}
                // A bearer token that cannot be a key: refused without a query.
                (None, _)
                    if request.path() != "/metrics"
                        && crate::api::auth::bearer_token(request.request()).is_ok() =>
                {
                    request.extensions_mut().insert(KeyLookup::Invalid);
                }
                _ => {}
            }
        }
    }
    if let Some((id, role)) = key {
        request
            .extensions_mut()
            .insert(super::consistency::KeyRole(role));
        let per_minute = key_limit(&state, role);
        decision = (per_minute > 0).then(|| state.limiter.take(Client::Key(id), per_minute, now));
    } else if let Some(refused) = refused {
        let mut response = request.error_response(ApiError::TooManyRequests {
            retry_after_secs: refused.retry_after_secs,
        });
        refused.apply(&mut response);
        return Ok(response);
    }
    let mut response = match decision {
        Some(decision) if !decision.allowed => request.error_response(ApiError::TooManyRequests {
            retry_after_secs: decision.retry_after_secs,
        }),
        _ => next.call(request).await?.map_into_boxed_body(),
    };
    if let Some(decision) = decision {
        decision.apply(&mut response);
    }
    Ok(response)
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
