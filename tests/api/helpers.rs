//! `TestApp`: the application on port 0 with its own database (SQLite or PostgreSQL), a bootstrap admin key, and
//! helpers that make the requests a client would.

use chrono::Duration;
use clinic_finder::clock::Clock;
use clinic_finder::config::{Secret, Settings};
use clinic_finder::startup::Application;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub backend: TestBackend,
    /// The database the app runs on (a SQLite path or a PostgreSQL URL).
    pub database_url: String,
    _database: TestDatabase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// The test's own database, removed when the test ends.
enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] PostgresDatabase),
    /// A replica's: the database belongs to the app it was made from.
    Shared,
}

impl TestApp {
    /// The app on a fresh database of `backend`; `None` when PostgreSQL is not reachable
    /// (outside CI only: under `CI=true` that fails the test).
    pub async fn spawn_on(backend: TestBackend) -> Option<TestApp> {
        TestApp::spawn_with(backend, None, |_| {}).await
    }

    /// Like [`spawn_on`], with the demo dataset (`providers`, fixed seed) loaded before start-up
    /// and the settings adjusted by `configure`.
    pub async fn spawn_with(
        backend: TestBackend,
        demo_providers: Option<usize>,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        TestApp::spawn_prepared(
            backend,
            |connection| {
                if let Some(providers) = demo_providers {
                    clinic_finder::demo::seed_demo(connection, providers, 20261126)
                        .expect("demo data");
                }
            },
            configure,
        )
        .await
    }

    /// The app on a fresh database that `prepare` fills before start-up (so the index holds it),
    /// with the settings adjusted by `configure`.
    pub async fn spawn_prepared(
        backend: TestBackend,
        prepare: impl FnOnce(&mut clinic_finder::db::DbConnection),
        configure: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let (database_url, database) = match backend {
            TestBackend::Sqlite => {
                let directory = tempfile::tempdir().expect("temp dir");
                let path = directory.path().join("test.sqlite3");
                (
                    path.to_str().expect("utf-8 path").to_owned(),
                    TestDatabase::Sqlite(directory),
                )
            }
            TestBackend::Postgres => {
                let database = PostgresDatabase::create()?;
                (database.url.clone(), TestDatabase::Postgres(database))
            }
        };
        {
            let database = clinic_finder::db::Database::connect(
                &database_url,
                1,
                std::time::Duration::from_secs(5),
            )
            .expect("database");
            let mut connection = database.connection().expect("connection");
            prepare(&mut connection);
        }
        let mut settings = Settings::for_database(&database_url);
        settings.bind = "127.0.0.1:0".parse().expect("address");
        settings.admin_key = Some(Secret::new(ADMIN_KEY.to_owned()));
        settings.workers = 1;
        settings.pool_size = 4;
        configure(&mut settings);
        let clock = Clock::default();
        let application = Application::build(settings, clock.clone()).expect("the app starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        actix_web::rt::spawn(application.run_until_stopped());
        Some(TestApp {
            address,
            client: reqwest::Client::new(),
            clock,
            backend,
            database_url,
            _database: database,
        })
    }

    /// A second process on the same database (another API replica), with its own index.
    pub async fn replica(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = Settings::for_database(&self.database_url);
        settings.bind = "127.0.0.1:0".parse().expect("address");
        settings.workers = 1;
        settings.pool_size = 4;
        configure(&mut settings);
        let clock = self.clock.clone();
        let application = Application::build(settings, clock.clone()).expect("the replica starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        actix_web::rt::spawn(application.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::new(),
            clock,
            backend: self.backend,
            database_url: self.database_url.clone(),
            _database: TestDatabase::Shared,
        }
    }

    /// A direct connection to the app's database, for what HTTP cannot show.
    pub fn database(&self) -> clinic_finder::db::Database {
        clinic_finder::db::Database::connect(
            &self.database_url,
            1,
            std::time::Duration::from_secs(5),
        )
        .expect("database")
    }

    /// Whether `text` appears anywhere in the stored keys or the audit trail (on SQLite: anywhere
    /// in the database files).
    pub fn database_contains(&self, text: &str) -> bool {
        match self.backend {
            TestBackend::Sqlite => {
                let needle = text.as_bytes();
                ["", "-wal"].iter().any(|suffix| {
                    let bytes =
                        std::fs::read(format!("{}{suffix}", self.database_url)).unwrap_or_default();
                    bytes.windows(needle.len()).any(|w| w == needle)
                })
            }
            TestBackend::Postgres => {
                use diesel::prelude::*;
                #[derive(QueryableByName)]
                struct Found {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    count: i64,
                }
                let mut connection = self.database().connection().expect("connection");
                let found: Found = diesel::sql_query(
                    "SELECT (SELECT count(*) FROM api_keys k WHERE strpos(k::text, $1) > 0) \
                          + (SELECT count(*) FROM audit_log a WHERE strpos(a::text, $1) > 0) AS count",
                )
                .bind::<diesel::sql_types::Text, _>(text)
                .get_result(&mut *connection)
                .expect("query");
                found.count > 0
            }
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("json")
    }

    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        version: Option<i64>,
    ) -> Response {
        self.with_key(ADMIN_KEY, method, path, body, version).await
    }

    pub async fn with_key(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        version: Option<i64>,
    ) -> Response {
        let mut request = self.request(method, path).bearer_auth(key);
        if let Some(version) = version {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// An admin write that must succeed; returns the body (Null for 204).
    pub async fn admin_ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        version: Option<i64>,
    ) -> Value {
        let response = self.admin(method.clone(), path, body, version).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{method} {path} → {status}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json")
        }
    }

    /// A new API key with `role`: (id, secret).
    pub async fn create_key(&self, name: &str, role: &str) -> (i64, String) {
        let created = self
            .admin_ok(
                Method::POST,
                "/v1/admin/keys",
                Some(json!({"name": name, "role": role})),
                None,
            )
            .await;
        (
            created["id"].as_i64().expect("id"),
            created["secret"].as_str().expect("secret").to_owned(),
        )
    }

    pub async fn create_clinic(&self, name: &str) -> i64 {
        let clinic = self
            .admin_ok(
                Method::POST,
                "/v1/clinics",
                Some(json!({"name": name})),
                None,
            )
            .await;
        clinic["id"].as_i64().expect("id")
    }

    pub async fn create_location(&self, clinic_id: i64, lat: f64, lon: f64, timezone: &str) -> i64 {
        let body = json!({
            "clinic_id": clinic_id, "address_line1": "1 Main St", "city": "Somewhere", "state": "NY",
            "postal_code": "10001", "latitude": lat, "longitude": lon, "timezone": timezone,
            "opening_hours": {
                "mon": [{"opens": "09:00", "closes": "17:00"}], "tue": [{"opens": "09:00", "closes": "17:00"}],
                "wed": [{"opens": "09:00", "closes": "17:00"}], "thu": [{"opens": "09:00", "closes": "17:00"}],
                "fri": [{"opens": "09:00", "closes": "17:00"}]
            }
        });
        self.admin_ok(Method::POST, "/v1/locations", Some(body), None)
            .await["id"]
            .as_i64()
            .expect("id")
    }

    pub async fn create_provider(&self, npi: &str, specialty: &str) -> i64 {
        let body = json!({
            "npi": npi, "given_name": "Test", "family_name": format!("Provider {npi}"), "degree": "MD",
            "primary_specialty_code": specialty, "practice_start_year": 2010, "languages": ["en"]
        });
        self.admin_ok(Method::POST, "/v1/providers", Some(body), None)
            .await["id"]
            .as_i64()
            .expect("id")
    }

    pub async fn add_credential(&self, provider_id: i64, body: Value) -> i64 {
        self.admin_ok(
            Method::POST,
            &format!("/v1/providers/{provider_id}/credentials"),
            Some(body),
            None,
        )
        .await["id"]
            .as_i64()
            .expect("id")
    }

    /// Records a verified primary-source check of a credential.
    pub async fn verify_credential(&self, credential_id: i64, source_type: &str) {
        let body = json!({"outcome": "verified", "source_type": source_type, "reference": "https://example.org/check", "reason": "checked at the source"});
        self.admin_ok(
            Method::POST,
            &format!("/v1/credentials/{credential_id}/verification"),
            Some(body),
            Some(1),
        )
        .await;
    }

    pub async fn provider_version(&self, provider_id: i64) -> i64 {
        let response = self
            .admin(
                Method::GET,
                &format!("/v1/admin/providers/{provider_id}"),
                None,
                None,
            )
            .await;
        let provider: Value = response.json().await.expect("json");
        provider["version"].as_i64().expect("version")
    }

    pub async fn transition(&self, provider_id: i64, to: &str) -> Response {
        let version = self.provider_version(provider_id).await;
        self.admin(
            Method::POST,
            &format!("/v1/admin/providers/{provider_id}/transitions"),
            Some(json!({"to": to, "reason": format!("moving to {to}")})),
            Some(version),
        )
        .await
    }

    /// pending → under_review → verified.
    pub async fn approve(&self, provider_id: i64) {
        assert_eq!(
            self.transition(provider_id, "under_review").await.status(),
            StatusCode::OK
        );
        let response = self.transition(provider_id, "verified").await;
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    pub async fn link(&self, provider_id: i64, location_id: i64) {
        self.admin_ok(
            Method::PUT,
            &format!("/v1/providers/{provider_id}/locations/{location_id}"),
            None,
            None,
        )
        .await;
    }

    pub async fn offer(&self, provider_id: i64, treatment: &str) {
        self.admin_ok(
            Method::PUT,
            &format!("/v1/providers/{provider_id}/treatments/{treatment}"),
            Some(json!({})),
            None,
        )
        .await;
    }

    /// A licence in NY, verified at the state board, expiring `expires_on`.
    pub async fn verified_licence(&self, provider_id: i64, expires_on: &str) -> i64 {
        let id = self
            .add_credential(
                provider_id,
                json!({"kind": "state_license", "issuer": "New York State Education Department", "jurisdiction": "NY",
                       "identifier": "123456", "issued_on": "2010-01-01", "expires_on": expires_on}),
            )
            .await;
        self.verify_credential(id, "state_medical_board").await;
        id
    }

    /// A public provider with a verified licence, practising at `location_id`, offering `treatment`.
    pub async fn public_provider(
        &self,
        npi: &str,
        specialty: &str,
        location_id: i64,
        treatment: &str,
    ) -> i64 {
        let id = self.create_provider(npi, specialty).await;
        self.verified_licence(id, "2099-12-31").await;
        self.approve(id).await;
        self.link(id, location_id).await;
        self.offer(id, treatment).await;
        id
    }

    pub fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// Asserts an RFC 9457 problem response and returns its body.
pub async fn assert_problem(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "{body}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type}: {body}"
    );
    let problem: Value = serde_json::from_str(&body).expect("problem json");
    assert_eq!(problem["status"], status, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")),
        "{problem}"
    );
    assert!(
        problem["title"].is_string()
            && problem["detail"].is_string()
            && problem["request_id"].is_string(),
        "{problem}"
    );
    problem
}

/// The pointers of a validation problem's field errors.
pub fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["pointer"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Valid NPIs for tests (check digits computed by the library).
pub fn npi(n: u32) -> String {
    clinic_finder::domain::Npi::from_base(100_000_000 + n).to_string()
}

/// A PostgreSQL database of its own for one test, dropped afterwards.
pub struct PostgresDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

fn postgres_admin_url() -> String {
    std::env::var("CLINIC_FINDER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl PostgresDatabase {
    fn create() -> Option<PostgresDatabase> {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        static SKIP_NOTICE: std::sync::Once = std::sync::Once::new();
        let admin_url = postgres_admin_url();
        clinic_finder::db::init_tls_library(); // before libpq's first connection
        let mut admin = match diesel::PgConnection::establish(&admin_url) {
            Ok(connection) => connection,
            Err(error) => {
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("CI=true and PostgreSQL is not reachable at {admin_url}: {error}");
                }
                SKIP_NOTICE.call_once(|| {
                    // Straight to the stream: libtest would capture an eprintln! of a passing test.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nPostgreSQL tests SKIPPED: no PostgreSQL at {admin_url} ({error}). \
                         Set CLINIC_FINDER_TEST_POSTGRES_URL, or run .ci/run.\n"
                    );
                });
                return None;
            }
        };
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "cf_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            rand_suffix()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin_url);
        Some(PostgresDatabase {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        })
    }
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    hasher.finish() as u32
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Waits up to 5 s for `search` (a GET of `path` on `app`) to satisfy `ready`: another process's
/// writes reach an index through the change feed. Fails with `what` and the last body.
pub async fn eventually(app: &TestApp, path: &str, what: &str, ready: impl Fn(&Value) -> bool) {
    let started = std::time::Instant::now();
    loop {
        let body = app.get_json(path).await;
        if ready(&body) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{what}: {body}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
