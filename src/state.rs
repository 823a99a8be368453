//! What every handler can reach, and the bridge from async handlers to the blocking database:
//! reads and writes run on actix's blocking thread pool, never on an I/O worker.

use actix_web::web;

use crate::api::error::ApiResult;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{Database, DbConnection};
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
