//! Database access: the connection pool, migrations, rows and queries.
//!
//! Everything above this module sees [`Database`]; the backend-specific parts (connection setup,
//! migrations, the immediate transaction) are here and nowhere else.

pub mod audit;
pub mod clinics;
pub mod keys;
pub mod locations;
pub mod models;
pub mod providers;
pub mod schema;
pub mod taxonomy;

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiResult;

pub type DbConnection = SqliteConnection;
pub type DbPool = Pool<ConnectionManager<DbConnection>>;
pub type PooledDb = PooledConnection<ConnectionManager<DbConnection>>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Per-connection SQLite settings. WAL lets readers run beside the one writer; `synchronous = NORMAL`
/// in WAL mode keeps every committed transaction across a process crash (kill -9) and only risks
/// the last transactions on a power loss (see docs/architecture.md); `busy_timeout` makes a writer
/// wait for the lock instead of failing with "database is locked".
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, connection: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        connection
            .batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The SQLite file a database URL names (`sqlite://path`, `sqlite:path` or a bare path).
pub fn sqlite_path(database_url: &str) -> &str {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url)
}

#[derive(Clone)]
pub struct Database {
    pool: DbPool,
}

impl Database {
    /// Opens the pool (creating the SQLite file's directory) and applies pending migrations.
    pub fn connect(
        database_url: &str,
        pool_size: u32,
        pool_timeout: Duration,
    ) -> anyhow_like::Result<Database> {
        let path = sqlite_path(database_url);
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let mut connection = DbConnection::establish(path)
            .map_err(|e| format!("cannot open the database {path}: {e}"))?;
        SqlitePragmas
            .on_acquire(&mut connection)
            .map_err(|e| format!("cannot configure the database: {e}"))?;
        connection
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| format!("migrations failed: {e}"))?;
        drop(connection);

        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(pool_timeout)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(ConnectionManager::new(path))
            .map_err(|e| format!("cannot open the connection pool: {e}"))?;
        Ok(Database { pool })
    }

    /// Runs `work` on a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut connection = pool.get()?;
            work(&mut connection)
        })
        .await?
    }

    /// Runs `work` in a write transaction (SQLite: `BEGIN IMMEDIATE`, so a read-then-write never
    /// fails half-way on a lock upgrade).
    pub async fn write<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |connection| write_transaction(connection, work))
            .await
    }

    pub fn connection(&self) -> ApiResult<PooledDb> {
        Ok(self.pool.get()?)
    }

    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}

pub fn write_transaction<T>(
    connection: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> ApiResult<T>,
) -> ApiResult<T> {
    connection.immediate_transaction(work)
}

/// Start-up errors are plain messages: they are printed and the process exits.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
}

/// The current time, truncated to microseconds (what the database stores).
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    now.with_nanosecond_truncated()
}

trait TruncateNanos {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateNanos for chrono::NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(self.nanosecond() / 1000 * 1000)
            .unwrap_or(self)
    }
}
