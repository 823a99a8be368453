//! What every handler can reach, and the bridge from async handlers to the blocking database:
//! reads and writes run on actix's blocking thread pool, never on an I/O worker.

use actix_web::web;

use crate::api::error::{ApiError, ApiResult};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, Database, DbConnection};
use crate::directory::taxonomy::Taxonomy;
use crate::search::{Affected, SearchIndex};

pub struct AppState {
    pub db: Database,
    pub index: SearchIndex,
    pub clock: Clock,
    pub taxonomy: Taxonomy,
    pub settings: Settings,
    pub limiter: crate::api::middleware::ratelimit::RateLimiter,
    pub metrics: crate::api::middleware::metrics::Metrics,
}

impl AppState {
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

    /// Runs a write transaction, records what it touched (`affected`, from its result) in the
    /// change feed within the same transaction, then refreshes this process's search index.
    pub async fn write<T, W, A>(&self, work: W, affected: A) -> ApiResult<T>
    where
        T: Send + 'static,
        W: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        A: FnOnce(&T) -> Affected + Send + 'static,
    {
        let (database, index) = (self.db.clone(), self.index.clone());
        web::block(move || {
            let mut connection = database.connection()?;
            let (value, touched) = db::write_transaction(&mut connection, |connection| {
                let value = work(connection)?;
                let touched = affected(&value);
                db::change_log::record(connection, &touched)?;
                Ok::<_, ApiError>((value, touched))
            })?;
            if !touched.is_empty() {
                if let Err(error) = index.refresh_with(&mut connection, &touched) {
                    // The write is committed and stands; the change feed retries on its next poll.
                    tracing::error!(%error, "refreshing the search index after a write failed");
                }
            }
            Ok(value)
        })
        .await?
    }
}
