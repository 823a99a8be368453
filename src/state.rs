//! What every handler can reach, and the bridge from async handlers to the blocking database:
//! reads and writes run on actix's blocking thread pool, never on an I/O worker.

use actix_web::web;

use crate::api::error::ApiResult;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::replica::ReadReplica;
use crate::db::{Database, DbConnection, DbResult, PooledDb};
use crate::directory::taxonomy::Taxonomy;
use crate::directory::{DirectoryResult, Written};
use crate::search::SearchIndex;

pub struct AppState {
    pub db: Database,
    pub index: SearchIndex,
    pub clock: Clock,
    pub taxonomy: Taxonomy,
    pub settings: Settings,
    pub limiter: crate::api::middleware::ratelimit::RateLimiter,
    pub metrics: crate::api::middleware::metrics::Metrics,
    /// Signs and checks search cursors (shared by every replica).
    pub cursor_key: crate::search::cursor::CursorKey,
    /// Searches that may run at once (`--search-concurrency`).
    pub search_slots: tokio::sync::Semaphore,
    /// Key use waiting to be written (`directory::keys::KeyUsage`).
    pub key_usage: crate::directory::keys::KeyUsage,
    /// The last `/readyz` answer.
    pub readiness: crate::api::health::Readiness,
    /// The read replica (`--read-database-url`), if there is one.
    pub replica: Option<std::sync::Arc<ReadReplica>>,
}

impl AppState {
    /// The day and re-verification grace credentials are judged by, now.
    pub fn freshness(&self) -> crate::domain::Freshness {
        crate::domain::Freshness::new(
            self.clock.now().date_naive(),
            self.settings.reverify_grace_days,
        )
    }

    /// Runs `work` on a pooled connection on the blocking thread pool.
    pub async fn read<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let database = self.db.clone();
        web::block(move || {
            let mut connection = database.connection()?;
            work(&mut connection)
        })
        .await?
    }

    /// Runs `work`, a read that may be slightly stale (public lists and profiles, FHIR reads), on
    /// the read replica when it is in use and the request did not ask for the primary (see
    /// `middleware::consistency`); on the primary otherwise.
    pub async fn read_public<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        if crate::api::middleware::consistency::wants_primary() {
            return self.read(work).await;
        }
        let (database, replica) = (self.db.clone(), self.replica.clone());
        web::block(move || {
            let mut connection = stale_connection(&database, replica.as_deref())?;
            work(&mut connection)
        })
        .await?
    }

    /// A connection for reads that may be stale and that every process makes on its own (the
    /// change feed, the index reconcile): the replica's when it is in use, else the primary's.
    /// Blocking. Also says which database it came from (for work that takes a whole pool).
    pub fn stale_connection(&self) -> DbResult<(PooledDb, Database)> {
        if let Some(replica) = self.replica.as_deref() {
            if let Some(connection) = replica.connection() {
                return Ok((connection, replica.database()));
            }
        }
        Ok((self.db.connection()?, self.db.clone()))
    }

    /// Runs one of the directory's writes on the blocking thread pool, then refreshes this
    /// process's search index with what it touched (other processes get it from the change log).
    pub async fn write<T, W>(&self, work: W) -> ApiResult<T>
    where
        T: Send + 'static,
        W: FnOnce(&mut DbConnection) -> DirectoryResult<Written<T>> + Send + 'static,
    {
        let (database, index) = (self.db.clone(), self.index.clone());
        web::block(move || {
            let mut connection = database.connection()?;
            let written = work(&mut connection)?;
            if !written.affected.is_empty() {
                if let Err(error) = index.refresh_with(&mut connection, &written.affected) {
                    // The write is committed and stands; the change feed retries on its next poll.
                    tracing::error!(%error, "refreshing the search index after a write failed");
                }
            }
            Ok(written.view)
        })
        .await?
    }
}

/// The replica's connection when it is in use and answers, the primary's otherwise.
fn stale_connection(primary: &Database, replica: Option<&ReadReplica>) -> DbResult<PooledDb> {
    match replica.and_then(ReadReplica::connection) {
        Some(connection) => Ok(connection),
        None => primary.connection(),
    }
}
