//! Rate-limit buckets shared by every process, in Redis (`--redis-url`).
//!
//! Each bucket is a Redis hash (`tokens`, `ts`) updated by one Lua script, so taking a token is
//! atomic whichever process asks: three processes behind a load balancer allow a client the
//! configured limit once, not three times. The script reads Redis's own clock (`TIME`), so the
//! processes' clocks need not agree, and sets the key to expire once the bucket would be full
//! again (a full bucket is the same as none). The arithmetic is the in-process bucket's: `limit`
//! tokens, refilled at `limit` a minute.
//!
//! Redis must never fail a request: every call has a 50 ms connect, read and write timeout, and
//! the first error opens a circuit breaker for [`RETRY_AFTER`], during which the process counts
//! in its own buckets, as without Redis; then it tries Redis again. The client is the blocking one
//! (no async runtime glue): a call on a healthy local Redis takes well under a millisecond, and
//! the breaker bounds what a sick one can cost a worker to one timeout per [`RETRY_AFTER`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connect, read and write timeout of every Redis call.
pub const TIMEOUT: Duration = Duration::from_millis(50);
/// How long the process counts locally after Redis failed, before it tries Redis again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Most idle connections kept.
const MAX_IDLE: usize = 32;
const PREFIX: &str = "clinic-finder:ratelimit:";

/// KEYS[1]: the bucket; ARGV[1]: its size (tokens, refilled per minute); ARGV[2]: tokens to take
/// (1), or to give back (-1). Returns {1 if taken, tokens left as text}.
const SCRIPT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local size = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local rate = size / 60
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or size
local since = tonumber(bucket[2]) or now
tokens = math.min(size, tokens + math.max(0, now - since) * rate)
local taken = 0
if cost < 0 then
  tokens = math.min(size, tokens - cost)
  taken = 1
elseif tokens >= cost then
  tokens = tokens - cost
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((size - tokens) / rate * 1000) + 1000)
return {taken, tostring(tokens)}
"#;

/// The Redis side of the rate limiter.
pub struct SharedBuckets {
    client: redis::Client,
    script: redis::Script,
    idle: Mutex<Vec<redis::Connection>>,
    /// Until when Redis is not asked (the circuit breaker is open).
    open_until: Mutex<Option<Instant>>,
    /// Whether the last call reached Redis (for `/metrics`).
    healthy: AtomicBool,
}

impl std::fmt::Debug for SharedBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBuckets")
            .field("healthy", &self.is_healthy())
            .finish_non_exhaustive()
    }
}

impl SharedBuckets {
    /// A client for `url` (parsed, not connected: Redis may come up later).
    pub fn new(url: &str) -> Result<SharedBuckets, String> {
        let client = redis::Client::open(url).map_err(|_| "not a valid Redis URL".to_owned())?;
        Ok(SharedBuckets {
            client,
            script: redis::Script::new(SCRIPT),
            idle: Mutex::new(Vec::new()),
            open_until: Mutex::new(None),
            healthy: AtomicBool::new(true),
        })
    }

    /// Whether the buckets are shared right now (Redis answered the last call).
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Takes (`cost` 1) or gives back (`cost` -1) a token of the bucket `key` of `size`; the
    /// tokens left, and whether one was taken. `None`: Redis did not answer (count locally).
    pub fn call(&self, key: &str, size: u32, cost: i32) -> Option<(bool, f64)> {
        let now = Instant::now();
        {
            let mut open = self.open_until.lock().unwrap_or_else(|e| e.into_inner());
            match *open {
                Some(until) if now < until => return None,
                Some(_) => *open = None,
                None => {}
            }
        }
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let connection = match pooled {
            Some(connection) => Ok(connection),
            None => self.connect(),
        };
        let outcome = connection.and_then(|mut connection| {
            let (taken, tokens): (i64, String) = self
                .script
                .key(format!("{PREFIX}{key}"))
                .arg(size)
                .arg(cost)
                .invoke(&mut connection)?;
            Ok((connection, taken == 1, tokens.parse::<f64>().unwrap_or(0.0)))
        });
        match outcome {
            Ok((connection, taken, tokens)) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < MAX_IDLE {
                    idle.push(connection);
                }
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: rate limits are shared");
                }
                Some((taken, tokens))
            }
            Err(error) => {
                *self.open_until.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now() + RETRY_AFTER);
                self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
                if self.healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(%error, retry_in_secs = RETRY_AFTER.as_secs(),
                        "Redis does not answer: rate limits are per process until it does");
                }
                None
            }
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let connection = self.client.get_connection_with_timeout(TIMEOUT)?;
        connection.set_read_timeout(Some(TIMEOUT))?;
        connection.set_write_timeout(Some(TIMEOUT))?;
        Ok(connection)
    }
}
