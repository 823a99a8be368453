//! A PostgreSQL streaming replica for reads that may be slightly stale (`--read-database-url`).
//!
//! [`ReadReplica`] holds a second pool and decides, from a monitor that runs every
//! [`ReadReplica::check_interval`], whether reads may go to it:
//!
//! - **Lag** is measured against the primary, not by the replica's own clock: every check samples
//!   the primary's flushed WAL position (`pg_current_wal_flush_lsn()`, what a walsender can ship)
//!   with the instant it was read, then asks the replica how far it has replayed
//!   (`pg_last_wal_replay_lsn()`). The lag is the age of the oldest sample the replica has not yet
//!   replayed (0 when it has replayed the newest). An idle primary therefore reads as lag 0, not
//!   as "minutes since the last commit", and the figure is exact to one check interval.
//! - **In use** while reachable and at most `--max-replica-lag-ms` behind. Down (no connection,
//!   or a query error) or lagging past the bound: reads go to the primary. To come back, the
//!   replica must be within one check interval of the primary (see [`next_state`]).
//! - A server that is not in recovery (the read URL names a primary, e.g. the same database)
//!   reports its own WAL position: lag 0.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::r2d2::Pool;
use diesel::RunQueryDsl;

use super::{ConnectionManager, Database, DbConnection, DbResult, PooledDb};

/// How long a request waits for a replica connection before it reads from the primary instead.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_millis(250);
/// Most primary positions remembered while the replica is behind (the oldest is always kept).
const MAX_SAMPLES: usize = 4096;

/// Where replica reads stand, as `/readyz` and `/metrics` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not checked yet: reads go to the primary.
    Starting,
    /// Reads that may be stale go to the replica.
    InUse,
    /// Reachable, but further behind than the bound (or catching up after an absence): reads go
    /// to the primary.
    Lagging,
    /// Unreachable, or a query failed: reads go to the primary.
    Down,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Starting => "starting",
            ReplicaState::InUse => "in_use",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Down => "down",
        }
    }
}

/// The replica's state and lag at the last check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaStatus {
    pub state: ReplicaState,
    /// Milliseconds behind the primary; `None` while unreachable.
    pub lag_ms: Option<u64>,
}

/// The primary's WAL positions over time, and the replica's place among them.
#[derive(Debug, Default)]
pub struct LagTracker {
    /// (when read, primary flush position), oldest first, positions increasing.
    samples: VecDeque<(Instant, u64)>,
}

impl LagTracker {
    /// Notes the primary's position at `at`.
    pub fn primary_at(&mut self, at: Instant, position: u64) {
        if self
            .samples
            .back()
            .is_some_and(|(_, last)| *last >= position)
        {
            return;
        }
        if self.samples.len() >= MAX_SAMPLES {
            // Keep the oldest (it sets the lag); thin the rest.
            self.samples.remove(1);
        }
        self.samples.push_back((at, position));
    }

    /// The replica has replayed up to `replayed`: how far behind it is at `now`.
    pub fn replica_at(&mut self, now: Instant, replayed: u64) -> Duration {
        while self
            .samples
            .front()
            .is_some_and(|(_, position)| *position <= replayed)
        {
            self.samples.pop_front();
        }
        self.samples
            .front()
            .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(*at))
    }

    pub fn forget(&mut self) {
        self.samples.clear();
    }
}

/// What the state becomes after a check, given the state before it and what the check found
/// (`None`: the replica did not answer). Reads leave the replica past `max_lag`, and come back
/// (or start) only once it is within `return_within` of the primary (one check interval): a
/// replica hovering at the bound does not flap, and what a process read from the primary while
/// it was away is on the replica within that interval. Not "lag 0": a busy primary's position
/// moves between the two queries of a check, so a replica that keeps up can still read a few
/// milliseconds behind at every check.
pub fn next_state(
    before: ReplicaState,
    lag: Option<Duration>,
    max_lag: Duration,
    return_within: Duration,
) -> ReplicaState {
    match lag {
        None => ReplicaState::Down,
        Some(lag) if lag > max_lag => ReplicaState::Lagging,
        Some(_) if before == ReplicaState::InUse => ReplicaState::InUse,
        Some(lag) if lag <= return_within => ReplicaState::InUse,
        Some(_) => ReplicaState::Lagging,
    }
}

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    position: i64,
}

/// The read replica's pool and its health.
pub struct ReadReplica {
    pool: Pool<ConnectionManager>,
    max_lag: Duration,
    in_use: AtomicBool,
    status: Mutex<ReplicaStatus>,
    tracker: Mutex<LagTracker>,
}

impl std::fmt::Debug for ReadReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadReplica")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl ReadReplica {
    /// A pool on the replica. Nothing is migrated or checked here (a replica is read-only), and
    /// the pool opens even while the replica is down: the first check decides whether it is used.
    pub fn open(
        url: &str,
        pool_size: u32,
        statement_timeout: Duration,
        max_lag: Duration,
    ) -> ReadReplica {
        let manager = ConnectionManager {
            url: url.to_owned(),
            backend: super::Backend::Postgres,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .connection_customizer(Box::new(super::SessionSettings {
                statement_timeout_ms: statement_timeout.as_millis() as u64,
            }))
            .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
            .build_unchecked(manager);
        ReadReplica {
            pool,
            max_lag,
            in_use: AtomicBool::new(false),
            status: Mutex::new(ReplicaStatus {
                state: ReplicaState::Starting,
                lag_ms: None,
            }),
            tracker: Mutex::new(LagTracker::default()),
        }
    }

    /// How often the monitor checks: a quarter of the lag bound, between 50 ms and a second.
    pub fn check_interval(&self) -> Duration {
        (self.max_lag / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// Whether reads that may be stale go to the replica now.
    pub fn in_use(&self) -> bool {
        self.in_use.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> ReplicaStatus {
        *self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A replica connection, if the replica is in use and one comes within [`CHECKOUT_TIMEOUT`];
    /// a failed checkout marks the replica down until the next check.
    pub fn connection(&self) -> Option<PooledDb> {
        if !self.in_use() {
            return None;
        }
        match self.pool.get() {
            Ok(connection) => Some(connection),
            Err(error) => {
                tracing::warn!(%error, "read replica unreachable; reading from the primary");
                self.set(ReplicaStatus {
                    state: ReplicaState::Down,
                    lag_ms: None,
                });
                None
            }
        }
    }

    /// Measures the lag against `primary` and updates the state; returns the new status.
    pub fn check(&self, primary: &Database) -> ReplicaStatus {
        let sampled = primary
            .connection()
            .and_then(|mut connection| flush_position(&mut connection));
        let now = Instant::now();
        let mut tracker = self.tracker.lock().unwrap_or_else(|e| e.into_inner());
        match sampled {
            Ok(position) => tracker.primary_at(now, position),
            // The primary is down: the replica's lag cannot be judged; keep the last state.
            Err(_) => return self.status(),
        }
        let replayed = self
            .pool
            .get()
            .map_err(super::DbError::from)
            .and_then(|mut connection| replay_position(&mut connection));
        let lag = match replayed {
            Ok(replayed) => Some(tracker.replica_at(Instant::now(), replayed)),
            Err(_) => {
                tracker.forget();
                None
            }
        };
        drop(tracker);
        let before = self.status().state;
        let state = next_state(before, lag, self.max_lag, self.check_interval());
        if state != before {
            match state {
                ReplicaState::InUse => tracing::info!("read replica in use"),
                other => tracing::warn!(
                    state = other.as_str(),
                    lag_ms = lag.map(|l| l.as_millis() as u64),
                    "read replica not used; reading from the primary"
                ),
            }
        }
        let status = ReplicaStatus {
            state,
            lag_ms: lag.map(|lag| lag.as_millis() as u64),
        };
        self.set(status);
        status
    }

    fn set(&self, status: ReplicaStatus) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = status;
        self.in_use
            .store(status.state == ReplicaState::InUse, Ordering::Relaxed);
    }

    /// The replica's pool as a [`Database`], for work that takes one (the index load).
    pub fn database(&self) -> Database {
        Database {
            pool: self.pool.clone(),
            backend: super::Backend::Postgres,
            checkouts: Default::default(),
        }
    }
}

/// The primary's flushed WAL position, in bytes.
fn flush_position(connection: &mut DbConnection) -> DbResult<u64> {
    let row: Position = diesel::sql_query(
        "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint AS position",
    )
    .get_result(connection)?;
    Ok(row.position.max(0) as u64)
}

/// How far the replica has replayed (its own position when it is not in recovery).
fn replay_position(connection: &mut DbConnection) -> DbResult<u64> {
    let row: Position = diesel::sql_query(
        "SELECT pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
         ELSE pg_current_wal_flush_lsn() END, '0/0')::bigint AS position",
    )
    .get_result(connection)?;
    Ok(row.position.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let start = Instant::now();
        let mut tracker = LagTracker::default();
        tracker.primary_at(start, 100);
        assert_eq!(tracker.replica_at(start, 100), Duration::ZERO);
        // The primary moves on; the replica stays behind for 3 s.
        tracker.primary_at(start + Duration::from_secs(1), 200);
        tracker.primary_at(start + Duration::from_secs(2), 300);
        let at = start + Duration::from_secs(4);
        assert_eq!(tracker.replica_at(at, 100), Duration::from_secs(3));
        // It replays 200: the oldest position it lacks is 300, read at 2 s.
        assert_eq!(tracker.replica_at(at, 250), Duration::from_secs(2));
        // An idle primary (the same position again) does not make an up-to-date replica lag.
        tracker.primary_at(start + Duration::from_secs(10), 300);
        assert_eq!(
            tracker.replica_at(start + Duration::from_secs(60), 300),
            Duration::ZERO
        );
    }

    #[test]
    fn reads_leave_a_replica_past_the_bound_and_return_only_once_it_caught_up() {
        let ms = Duration::from_millis;
        let next = |before, lag| next_state(before, lag, ms(1000), ms(250));
        use ReplicaState::*;
        assert_eq!(next(Starting, Some(ms(0))), InUse);
        assert_eq!(next(Starting, Some(ms(300))), Lagging);
        assert_eq!(next(InUse, Some(ms(900))), InUse);
        assert_eq!(next(InUse, Some(ms(1001))), Lagging);
        assert_eq!(next(InUse, None), Down);
        assert_eq!(
            next(Down, Some(ms(600))),
            Lagging,
            "back, but not caught up"
        );
        assert_eq!(
            next(Lagging, Some(ms(900))),
            Lagging,
            "within the bound is not enough"
        );
        assert_eq!(
            next(Lagging, Some(ms(3))),
            InUse,
            "a busy primary: a few ms behind"
        );
    }
}
