//! The application builder: state, middleware, routes. Tests start the same app on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::contract::Contract;
use crate::api::error::ApiError;
use crate::api::extract::{path_error, query_error};
use crate::api::middleware::telemetry::request_middleware;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::replica::ReadReplica;
use crate::db::{self, Database, DbError, OpenError};
use crate::directory::taxonomy::Taxonomy;
use crate::directory::{keys, secrets, DirectoryError, Principal};
use crate::search::cursor::CursorKey;
use crate::search::feed::FeedReader;
use crate::search::{SearchError, SearchIndex};
use crate::state::AppState;

/// Why the service could not start; the binary prints it and exits.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("--read-database-url needs a PostgreSQL primary (--database-url)")]
    ReplicaNeedsPostgres,
    #[error("--redis-url: {0}")]
    Redis(String),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("bootstrap key or service secret: {0}")]
    BootstrapKey(#[from] DirectoryError),
    #[error("search index: {0}")]
    SearchIndex(#[from] SearchError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Polls the change feed until the app is gone, so writes made through other processes reach
/// this one's index; reconciles the whole index with the database every `reconcile` (if not
/// zero); prunes the change log hourly.
fn spawn_feed_poller(
    state: std::sync::Weak<AppState>,
    mut reader: FeedReader,
    interval: Duration,
    reconcile: Duration,
) {
    std::thread::spawn(move || {
        let mut last_prune = std::time::Instant::now();
        let mut last_reconcile = std::time::Instant::now();
        loop {
            std::thread::sleep(interval);
            let Some(state) = state.upgrade() else { return };
            let polled = (|| -> Result<usize, SearchError> {
                // On the replica when it is in use: the feed's rows and the rows they name arrive
                // there together (one WAL, replayed in commit order), so a change is never applied
                // before the replica has it. On the primary while the replica is away.
                let (mut connection, source) = state.stale_connection()?;
                let reloaded = reader.poll(&mut connection, &state.index)?;
                if !reconcile.is_zero() && last_reconcile.elapsed() >= reconcile {
                    last_reconcile = std::time::Instant::now();
                    let started = std::time::Instant::now();
                    let repaired = state.index.reconcile(&mut connection, &source)?;
                    tracing::info!(
                        repaired,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "search index reconciled with the database"
                    );
                }
                if last_prune.elapsed() > Duration::from_secs(3600) {
                    let mut primary = state.db.connection()?;
                    db::change_log::prune(&mut primary)?;
                    last_prune = std::time::Instant::now();
                }
                Ok(reloaded)
            })();
            match polled {
                Ok(0) => {}
                Ok(reloaded) => tracing::debug!(reloaded, "change feed applied"),
                Err(error) => tracing::warn!(%error, "change feed poll failed; retrying"),
            }
        }
    });
}

/// Checks the read replica's lag every `check_interval` until the app is gone.
fn spawn_replica_monitor(state: std::sync::Weak<AppState>, interval: Duration) {
    std::thread::spawn(move || loop {
        std::thread::sleep(interval);
        let Some(state) = state.upgrade() else { return };
        if let Some(replica) = &state.replica {
            replica.check(&state.db);
        }
    });
}

/// Writes noted key use (`last_used_at`) every second, off the requests, until the app is gone.
fn spawn_usage_writer(state: std::sync::Weak<AppState>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(state) = state.upgrade() else { return };
        if state.key_usage.is_empty() {
            continue;
        }
        let flushed = state
            .db
            .connection()
            .map_err(DirectoryError::from)
            .and_then(|mut connection| state.key_usage.flush(&mut connection));
        if let Err(error) = flushed {
            tracing::debug!(%error, "recording key use failed; retrying");
        }
    });
}

pub struct Application {
    server: Server,
    port: u16,
    pub state: web::Data<AppState>,
}

impl Application {
    /// Opens the database (migrating it), builds the search index, binds the listener.
    pub fn build(settings: Settings, clock: Clock) -> Result<Application, StartupError> {
        let postgres = db::Backend::of(&settings.database_url) == db::Backend::Postgres;
        if settings.read_database_url.is_some() && !postgres {
            return Err(StartupError::ReplicaNeedsPostgres);
        }
        let limiter =
            crate::api::middleware::ratelimit::RateLimiter::new(settings.redis_url.as_deref())
                .map_err(StartupError::Redis)?;
        let pool_timeout = Duration::from_secs(settings.pool_timeout_secs);
        let database = Database::connect(&settings.database_url, settings.pool_size, pool_timeout)?;
        let replica = match &settings.read_database_url {
            Some(url) => {
                let replica = ReadReplica::open(
                    url,
                    settings.pool_size,
                    pool_timeout,
                    Duration::from_millis(settings.max_replica_lag_ms),
                );
                let status = replica.check(&database);
                tracing::info!(
                    state = status.state.as_str(),
                    lag_ms = status.lag_ms,
                    "read replica checked"
                );
                Some(Arc::new(replica))
            }
            None => None,
        };
        let mut connection = database.connection()?;
        if let Some(key) = &settings.admin_key {
            let by = Principal::system(clock.now());
            keys::register_bootstrap(&mut connection, &by, key.expose())?;
        }
        let cursor_key = match &settings.cursor_key {
            Some(key) => CursorKey::from_secret(key.expose()),
            None => CursorKey::from_secret(&secrets::cursor_key(
                &mut connection,
                &Principal::system(clock.now()),
            )?),
        };
        // Read the feed position before the index, from the same database (the replica when it
        // is in use): a change committed while the index loads is then replayed (reloading is
        // idempotent) rather than missed.
        let gap = Duration::from_millis(settings.change_feed_gap_ms);
        let started = std::time::Instant::now();
        let load = |connection: &mut db::DbConnection, source: &Database| {
            let feed = FeedReader::start(connection, gap)?;
            Ok::<_, SearchError>((feed, SearchIndex::load(connection, source)?))
        };
        let on_replica = replica
            .as_deref()
            .and_then(|replica| Some((replica.connection()?, replica.database())));
        let (feed, index) = match on_replica {
            Some((mut on_replica, source)) => load(&mut on_replica, &source)?,
            None => load(&mut connection, &database)?,
        };
        let locations = index.read().locations.len();
        tracing::info!(
            locations,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search index built"
        );
        let taxonomy = Taxonomy::load(&mut connection)?;
        drop(connection);

        let address = settings.bind;
        let listen_error = |source| StartupError::Listen { address, source };
        let listener = TcpListener::bind(address).map_err(listen_error)?;
        let port = listener.local_addr().map_err(listen_error)?.port();
        let workers = settings.workers;
        let poll_interval = Duration::from_millis(settings.change_feed_ms);
        let reconcile = Duration::from_secs(settings.index_reconcile_secs);
        let search_slots = match settings.search_concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let state = web::Data::new(AppState {
            db: database,
            index,
            clock,
            taxonomy,
            settings,
            limiter,
            metrics: Default::default(),
            cursor_key,
            search_slots: tokio::sync::Semaphore::new(search_slots),
            key_usage: Default::default(),
            readiness: Default::default(),
            replica,
        });
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        if !poll_interval.is_zero() {
            spawn_feed_poller(weak.clone(), feed, poll_interval, reconcile);
        }
        if let Some(replica) = &state.replica {
            spawn_replica_monitor(weak.clone(), replica.check_interval());
        }
        spawn_usage_writer(weak);
        let app_state = state.clone();
        let mut server = HttpServer::new(move || build_app(app_state.clone()));
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(listen_error)?.run();
        Ok(Application {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The actix app with every route, extractor error handler and middleware.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.settings.max_body_bytes;
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(<crate::openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .app_data(state)
        .app_data(web::PayloadConfig::new(max_body))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .configure(crate::api::routes)
        .split_for_parts();
    let mut api = api;
    crate::openapi::finish(&mut api);
    let contract = web::Data::new(Contract::from_document(&api));
    let served = web::Data::new(crate::api::document::ServedDocument(
        crate::openapi::to_json(&api),
    ));
    app.app_data(contract.clone())
        .app_data(served)
        .route(
            "/openapi.json",
            web::get().to(crate::api::document::openapi_json),
        )
        .service(
            SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")),
        )
        // The finder page: registered here, after the split, so that it stays out of the document.
        .configure(crate::finder::routes)
        .default_service(web::to(move |request: HttpRequest| {
            let contract = contract.clone();
            async move { unmatched(&contract, &request) }
        }))
        .wrap(from_fn(
            crate::api::middleware::contract::contract_middleware,
        ))
        .wrap(from_fn(
            crate::api::middleware::consistency::consistency_middleware,
        ))
        .wrap(from_fn(crate::api::middleware::caching::caching_middleware))
        .wrap(from_fn(
            crate::api::middleware::ratelimit::limits_middleware,
        ))
        .wrap(from_fn(
            crate::api::middleware::security::security_middleware,
        ))
        .wrap(from_fn(request_middleware))
        // Outside the request middleware: it turns the problem+json that makes into OperationOutcomes.
        .wrap(from_fn(
            crate::api::fhir::outcome::operation_outcome_middleware,
        ))
        .wrap(from_fn(crate::api::middleware::metrics::metrics_middleware))
}

/// A documented path under a method it does not have: `OPTIONS` is answered with `Allow` (204),
/// anything else is 405 with `Allow`; an unknown path is 404.
fn unmatched(contract: &Contract, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(path) = contract.path(request.path()) else {
        return Err(ApiError::RouteNotFound);
    };
    let mut response = if request.method() == actix_web::http::Method::OPTIONS {
        HttpResponse::NoContent().finish()
    } else {
        actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed)
    };
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&path.allow()) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    Ok(response)
}
