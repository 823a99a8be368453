//! Database access: the connection pool, migrations, rows and queries.
//!
//! Everything above this module sees [`Database`]; the backend-specific parts (connection setup,
//! migrations, the immediate transaction) are here and nowhere else.

pub mod audit;
pub mod bulk;
pub mod change_log;
pub mod clinics;
pub mod credentials;
pub mod exclusions;
pub mod keys;
pub mod locations;
pub mod models;
pub mod nppes;
pub mod providers;
pub mod replica;
pub mod schema;
pub mod secrets;
pub mod taxonomy;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// What the database layer can fail with. The layers above map it: the directory keeps it as
/// the cause of its own errors, the API turns it into problem details (409, 503, a logged 500).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("no database connection: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },
    /// A version-guarded write found the row at another version.
    #[error("the row has changed: it is at version {current_version}")]
    Stale { current_version: i64 },
}

/// A constraint the database refused a write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A unique value taken; names the field (`npi`, `external_id`, …) or `value`.
    Duplicate(&'static str),
    /// A foreign key: the row is referenced, or refers to one that does not exist.
    Referenced,
}

impl DbError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> DbError {
        DbError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Which constraint refused the write, if that is what happened.
    pub fn violation(&self) -> Option<Violation> {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                // SQLite says "UNIQUE constraint failed: providers.npi"; PostgreSQL names the
                // constraint, "providers_npi_key". Name the field without echoing SQL.
                let text = info.constraint_name().unwrap_or(info.message());
                let field = ["npi", "external_id", "key_hash", "prefix"]
                    .into_iter()
                    .find(|field| text.contains(field))
                    .unwrap_or("value");
                Some(Violation::Duplicate(field))
            }
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                Some(Violation::Referenced)
            }
            _ => None,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// Start-up failures of the database: the binary prints them and exits.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create {path}: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Open(diesel::r2d2::Error),
    #[error("migrations failed: {0}")]
    Migrations(String),
    #[error("cannot open the connection pool: {0}")]
    Pool(diesel::r2d2::PoolError),
    /// A setting that would let an acknowledged write be lost.
    #[error("the database would not keep acknowledged writes: {0}")]
    NotDurable(String),
}

/// The settings acknowledged writes depend on, as the database reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// `PRAGMA journal_mode` (must be `wal`) and `PRAGMA synchronous` (must be 2, `FULL`).
    Sqlite {
        journal_mode: String,
        synchronous: i32,
    },
    /// `synchronous_commit` (anything but `off` waits for the local flush) and `fsync` (`on`).
    Postgres {
        synchronous_commit: String,
        fsync: String,
    },
}

impl Durability {
    /// Reads the settings of this connection.
    pub fn of(connection: &mut DbConnection) -> DbResult<Durability> {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        #[derive(diesel::QueryableByName)]
        struct Int {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            value: i32,
        }
        Ok(match connection {
            DbConnection::Sqlite(inner) => Durability::Sqlite {
                journal_mode: diesel::sql_query(
                    "SELECT journal_mode AS value FROM pragma_journal_mode",
                )
                .get_result::<Text>(inner)?
                .value,
                synchronous: diesel::sql_query(
                    "SELECT synchronous AS value FROM pragma_synchronous",
                )
                .get_result::<Int>(inner)?
                .value,
            },
            DbConnection::Postgres(inner) => Durability::Postgres {
                synchronous_commit: diesel::sql_query(
                    "SELECT current_setting('synchronous_commit') AS value",
                )
                .get_result::<Text>(inner)?
                .value,
                fsync: diesel::sql_query("SELECT current_setting('fsync') AS value")
                    .get_result::<Text>(inner)?
                    .value,
            },
        })
    }

    /// Why an acknowledged write could be lost with these settings, if it could.
    pub fn problem(&self) -> Option<String> {
        match self {
            Durability::Sqlite {
                journal_mode,
                synchronous,
            } => {
                if !journal_mode.eq_ignore_ascii_case("wal") {
                    Some(format!("SQLite journal_mode is {journal_mode}, not wal"))
                } else if *synchronous < 2 {
                    Some(format!("SQLite synchronous is {synchronous}, not 2 (FULL)"))
                } else {
                    None
                }
            }
            Durability::Postgres {
                synchronous_commit,
                fsync,
            } => {
                if synchronous_commit == "off" {
                    Some("PostgreSQL synchronous_commit is off".to_owned())
                } else if fsync != "on" {
                    Some(format!("PostgreSQL fsync is {fsync}"))
                } else {
                    None
                }
            }
        }
    }
}

/// Runs the same diesel code on the concrete connection of either backend, for the statements
/// diesel's multi-backend connection cannot express (batch inserts of many rows).
#[macro_export]
macro_rules! with_backend {
    ($connection:expr, |$inner:ident| $body:expr) => {
        match $connection {
            $crate::db::DbConnection::Sqlite($inner) => $body,
            $crate::db::DbConnection::Postgres($inner) => $body,
        }
    };
}

/// A connection to either backend; the database URL decides which.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite path.
    pub fn of(database_url: &str) -> Backend {
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Opens connections of the backend the URL names, and no other: diesel's own manager would
/// try PostgreSQL first and then open a SQLite *file* named after an unreachable PostgreSQL URL.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

/// SQLite's library-wide settings, once, before its first connection: no memory statistics (with
/// them every allocation SQLite makes takes a global mutex) and multi-thread mode (no mutex around
/// every call on a connection: a diesel connection is `Send` but not `Sync`, so no two threads
/// ever use one at once, which is all multi-thread mode asks). A bulk import spent 12 % of its
/// time in those locks. Once SQLite is initialised (something opened a connection first), the
/// calls are refused and change nothing.
fn configure_sqlite_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` is called before any connection this process opens through
        // the pool (and is refused, harmlessly, if SQLite was initialised already); the
        // arguments are the ones these two options take (an int; none).
        unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
        }
    });
}

/// Initialises OpenSSL, which libpq uses for TLS, as rust-openssl does: without OpenSSL's own
/// `atexit` cleanup, which frees state that threads still running at exit (pools, the change
/// feed) can touch — it crashed a test process in libcrypto after every test had passed. Only the
/// first initialisation counts, so this runs before every PostgreSQL connection; it is idempotent.
pub fn init_tls_library() {
    openssl_sys::init();
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let connection = match self.backend {
            Backend::Sqlite => {
                configure_sqlite_library();
                SqliteConnection::establish(sqlite_path(&self.url)).map(DbConnection::Sqlite)
            }
            Backend::Postgres => {
                init_tls_library();
                PgConnection::establish(&self.url).map(DbConnection::Postgres)
            }
        };
        connection.map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, connection: &mut DbConnection) -> Result<(), Self::Error> {
        connection.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, connection: &mut DbConnection) -> bool {
        connection.is_broken()
    }
}

/// How much of the SQLite file each connection may memory-map (`PRAGMA mmap_size`).
const SQLITE_MMAP_SIZE: u64 = 2_147_418_112;

/// Unmaps what a SQLite connection has mapped of the database file (it maps again as it reads).
/// A connection that read the whole database — the search index's load at start-up — would
/// otherwise keep every page it touched counted in the process's resident memory for the life
/// of the process; unmapped, they are only the kernel's page cache (shared, reclaimable).
pub fn release_mapped_pages(connection: &mut DbConnection) -> DbResult<()> {
    if let DbConnection::Sqlite(sqlite) = connection {
        sqlite.batch_execute(&format!(
            "PRAGMA mmap_size = 0; PRAGMA mmap_size = {SQLITE_MMAP_SIZE};"
        ))?;
    }
    Ok(())
}

/// Per-connection settings.
///
/// SQLite: WAL lets readers run beside the one writer; `synchronous = FULL` syncs the WAL at
/// every commit, so a transaction the client heard about survives a power loss as well as a
/// process crash (docs/security.md, "Durability"); `busy_timeout` makes a writer wait for the
/// lock instead of failing with "database is locked" — set first, because switching a new
/// database to WAL takes that lock too, and the pool opens its connections side by side.
/// PostgreSQL: the session speaks UTC (timestamps are `timestamptz`, diesel's values are UTC),
/// and no statement runs longer than the pool timeout.
#[derive(Debug, Clone, Copy)]
struct SessionSettings {
    statement_timeout_ms: u64,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, connection: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        let settings = match connection {
            DbConnection::Sqlite(_) => {
                format!(
                "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA mmap_size = {SQLITE_MMAP_SIZE};"
            )
            }
            DbConnection::Postgres(_) => {
                format!(
                    "SET TIME ZONE 'UTC'; SET statement_timeout = {};",
                    self.statement_timeout_ms
                )
            }
        };
        connection
            .batch_execute(&settings)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Runs `read` without the statement timeout. Connections carry one for requests (the pool
/// timeout), but the search index's load reads whole tables, which at national scale takes longer
/// than any request may: on PostgreSQL a 1.5M-row credential table outlasted it and start-up
/// failed. There `read` runs in a transaction with `SET LOCAL statement_timeout = 0`, which ends
/// with it, so the connection returns to the pool with its timeout; SQLite has none to lift.
pub fn without_statement_timeout<T, E: From<diesel::result::Error>>(
    connection: &mut DbConnection,
    read: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    match connection {
        DbConnection::Sqlite(_) => read(connection),
        DbConnection::Postgres(_) => connection.transaction(|connection| {
            connection.batch_execute("SET LOCAL statement_timeout = 0")?;
            read(connection)
        }),
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
    backend: Backend,
    /// Connections taken from the pool (for `/metrics`).
    checkouts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Database {
    /// Opens the pool (creating the SQLite file's directory) and applies pending migrations.
    pub fn connect(
        database_url: &str,
        pool_size: u32,
        pool_timeout: Duration,
    ) -> Result<Database, OpenError> {
        let backend = Backend::of(database_url);
        if backend == Backend::Sqlite {
            let path = sqlite_path(database_url);
            if let Some(parent) = Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|source| OpenError::CreateDirectory {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
        }
        let manager = ConnectionManager {
            url: database_url.to_owned(),
            backend,
        };
        let settings = SessionSettings {
            statement_timeout_ms: pool_timeout.as_millis() as u64,
        };
        let mut connection = manager.connect().map_err(OpenError::Open)?;
        settings
            .on_acquire(&mut connection)
            .map_err(OpenError::Open)?;
        let migrated = match &mut connection {
            DbConnection::Sqlite(inner) => {
                inner.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ())
            }
            DbConnection::Postgres(inner) => inner
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ()),
        };
        migrated.map_err(|e| OpenError::Migrations(e.to_string()))?;
        // Refuse to serve on settings that would lose acknowledged writes.
        let durability = Durability::of(&mut connection)
            .map_err(|e| OpenError::NotDurable(format!("cannot read the settings: {e}")))?;
        if let Some(problem) = durability.problem() {
            return Err(OpenError::NotDurable(problem));
        }
        drop(connection);

        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(pool_timeout)
            .connection_customizer(Box::new(settings))
            .build(manager)
            .map_err(OpenError::Pool)?;
        Ok(Database {
            pool,
            backend,
            checkouts: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection, waiting up to the pool's timeout. Blocking: async code takes it on
    /// the blocking thread pool (`AppState::read`, `AppState::write`).
    pub fn connection(&self) -> DbResult<PooledDb> {
        self.count_checkout();
        Ok(self.pool.get()?)
    }

    /// A connection if one is free right now (without waiting for the pool's timeout).
    pub fn try_connection(&self) -> Option<PooledDb> {
        self.count_checkout();
        self.pool.try_get()
    }

    fn count_checkout(&self) {
        self.checkouts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many times a connection was asked of the pool since start-up.
    pub fn checkouts(&self) -> u64 {
        self.checkouts.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}

/// A write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up front, so a
/// read-then-write never fails half-way on a lock upgrade ("database is locked"). On PostgreSQL
/// it is an ordinary transaction; updates guard on the row's version instead.
pub fn write_transaction<T, E: From<diesel::result::Error>>(
    connection: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    match connection {
        DbConnection::Postgres(_) => connection.transaction(work),
        DbConnection::Sqlite(inner) => {
            // Through diesel's transaction manager, so statements that open a transaction of
            // their own inside (SQLite batch inserts) nest as savepoints.
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(connection)));
            let DbConnection::Sqlite(inner) = connection else {
                unreachable!("the variant does not change")
            };
            match outcome {
                Ok(Ok(value)) => match AnsiTransactionManager::commit_transaction(inner) {
                    Ok(()) => Ok(value),
                    Err(error) => {
                        let _ = AnsiTransactionManager::rollback_transaction(inner);
                        Err(E::from(error))
                    }
                },
                Ok(Err(error)) => {
                    AnsiTransactionManager::rollback_transaction(inner)?;
                    Err(error)
                }
                Err(panic) => {
                    let _ = AnsiTransactionManager::rollback_transaction(inner);
                    std::panic::resume_unwind(panic)
                }
            }
        }
    }
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
