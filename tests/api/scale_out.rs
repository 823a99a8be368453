//! Past one process: the read replica's settings and fallback, rate limits shared in Redis and
//! their fallback, and what must agree across processes (cursors). The real streaming replica,
//! three processes and a Redis stopped and started again are in `tests/replica/run`.

use clap::Parser;
use clinic_finder::config::{Cli, Secret, Settings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, TestBackend};

const METRICS_TOKEN: &str = "scale-out-metrics-token-0123456789abcdef";

fn parse(args: &[&str]) -> Result<Settings, clap::Error> {
    let mut argv = vec!["clinic-finder"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).map(|cli| cli.settings)
}

#[test]
fn scale_out_settings_are_checked() {
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.read_database_url, None);
    assert_eq!(defaults.redis_url, None);
    assert_eq!(defaults.max_replica_lag_ms, 5000);
    let set = parse(&[
        "--read-database-url",
        "postgresql://reader@replica:5432/cf",
        "--max-replica-lag-ms",
        "250",
        "--redis-url",
        "redis://:secret@limits:6379/2",
    ])
    .unwrap();
    assert_eq!(
        set.read_database_url.as_deref(),
        Some("postgresql://reader@replica:5432/cf")
    );
    assert_eq!(set.max_replica_lag_ms, 250);
    assert_eq!(
        set.redis_url.as_deref(),
        Some("redis://:secret@limits:6379/2")
    );
    for bad in [
        ["--read-database-url", "replica.sqlite3"],
        ["--read-database-url", "mysql://replica/cf"],
        ["--max-replica-lag-ms", "10"],
        ["--max-replica-lag-ms", "soon"],
        ["--redis-url", "http://limits:6379"],
        ["--redis-url", "redis://limits:notaport"],
    ] {
        assert!(parse(&bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn a_read_replica_needs_a_postgresql_primary() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("cf.sqlite3");
    let mut settings = Settings::for_database(path.to_str().unwrap());
    settings.read_database_url = Some("postgres://postgres@127.0.0.1:5432/test".to_owned());
    let refused = clinic_finder::startup::Application::build(settings, Default::default());
    assert!(matches!(
        refused,
        Err(clinic_finder::startup::StartupError::ReplicaNeedsPostgres)
    ));
}

async fn ready(app: &TestApp) -> Value {
    app.get_json("/readyz").await
}

async fn metrics(app: &TestApp) -> String {
    let response = app
        .request(reqwest::Method::GET, "/metrics")
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

fn metrics_token(settings: &mut Settings) {
    settings.metrics_token = Some(Secret::new(METRICS_TOKEN.to_owned()));
}

#[actix_web::test]
async fn public_reads_use_a_replica_in_use_and_the_header_is_checked() {
    // The read URL names the primary itself: a server not in recovery reports lag 0.
    let Some(app) = TestApp::spawn_with(TestBackend::Postgres, Some(20), |settings| {
        settings.read_database_url = Some(settings.database_url.clone());
        metrics_token(settings);
    })
    .await
    else {
        return;
    };
    let replica = &ready(&app).await["replica"];
    assert_eq!(replica["state"], "in_use", "{replica}");
    assert_eq!(replica["lag_ms"], 0);
    let providers = app.get_json("/v1/providers?limit=3").await;
    let id = providers["items"][0]["id"]
        .as_i64()
        .expect("a verified provider");
    for consistency in ["primary", "eventual", "PRIMARY"] {
        let response = app
            .request(reqwest::Method::GET, &format!("/v1/providers/{id}"))
            .header("Consistency", consistency)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "Consistency: {consistency}"
        );
    }
    for (path, bad) in [("/v1/providers/1", "strong"), ("/fhir/Practitioner/1", "")] {
        let response = app
            .request(reqwest::Method::GET, path)
            .header("Consistency", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {bad:?}"
        );
    }
    let text = metrics(&app).await;
    assert!(text.contains("\ndb_replica_in_use 1\n"), "{text}");
    assert!(text.contains("\ndb_replica_lag_seconds 0\n"), "{text}");
}

#[actix_web::test]
async fn reads_fall_back_to_the_primary_while_the_replica_is_down() {
    let Some(app) = TestApp::spawn_with(TestBackend::Postgres, Some(20), |settings| {
        // Nothing listens on port 1: the replica is down from the start.
        settings.read_database_url = Some("postgres://postgres@127.0.0.1:1/nowhere".to_owned());
        metrics_token(settings);
    })
    .await
    else {
        return;
    };
    let replica = &ready(&app).await["replica"];
    assert_eq!(replica["state"], "down", "{replica}");
    assert!(replica["lag_ms"].is_null());
    // Every read the replica would have served is served by the primary.
    let providers = app.get_json("/v1/providers?limit=3").await;
    let id = providers["items"][0]["id"]
        .as_i64()
        .expect("a verified provider");
    app.get_json(&format!("/v1/providers/{id}")).await;
    app.get_json("/v1/clinics?limit=3").await;
    app.get_json(&format!("/fhir/Practitioner/{id}")).await;
    let search = app
        .get_json("/v1/search/providers?postal_code=10001&radius=300")
        .await;
    assert!(!search["results"].as_array().unwrap().is_empty());
    let text = metrics(&app).await;
    assert!(text.contains("\ndb_replica_in_use 0\n"), "{text}");
    assert!(text.contains("\ndb_replica_lag_seconds NaN\n"), "{text}");
}

/// Requests from `client` (an address behind a trusted proxy) to `apps` in turn: (200s, 429s).
async fn burst(apps: &[&TestApp], client: &str, each: usize) -> (usize, usize) {
    let (mut allowed, mut refused) = (0, 0);
    for _ in 0..each {
        for app in apps {
            let response = app
                .request(reqwest::Method::GET, "/v1/treatments")
                .header("X-Forwarded-For", client)
                .send()
                .await
                .unwrap();
            match response.status() {
                StatusCode::OK => allowed += 1,
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                other => panic!("GET /v1/treatments answered {other}"),
            }
        }
    }
    (allowed, refused)
}

fn limited(settings: &mut Settings, redis_url: &str) {
    settings.redis_url = Some(redis_url.to_owned());
    settings.rate_limit_public = 10;
    settings.trusted_proxies = vec![clinic_finder::config::IpNetwork::parse("127.0.0.1").unwrap()];
}

#[actix_web::test]
async fn without_redis_each_process_keeps_its_own_limits_and_never_fails() {
    let configure = |settings: &mut Settings| limited(settings, "redis://127.0.0.1:1");
    let one = TestApp::spawn_with(TestBackend::Sqlite, None, configure)
        .await
        .unwrap();
    let two = TestApp::spawn_with(TestBackend::Sqlite, None, configure)
        .await
        .unwrap();
    let (allowed, refused) = burst(&[&one, &two], "198.51.100.20", 15).await;
    assert_eq!((allowed, refused), (20, 10), "10 a process");
    assert_eq!(ready(&one).await["rate_limits"], "per_process");
}

/// The Redis the suite may use: `CLINIC_FINDER_TEST_REDIS_URL`, or the local default; `None`
/// (with a notice) when it does not answer, which fails under `CI=true`.
fn test_redis() -> Option<String> {
    let url = std::env::var("CLINIC_FINDER_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let answers = redis::Client::open(url.as_str())
        .and_then(|client| client.get_connection_with_timeout(std::time::Duration::from_secs(1)))
        .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
        .is_ok();
    if answers {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true and Redis is not reachable at {url}");
    }
    eprintln!("skipped: Redis is not reachable at {url} (set CLINIC_FINDER_TEST_REDIS_URL)");
    None
}

#[actix_web::test]
async fn with_redis_two_processes_share_one_bucket() {
    let Some(url) = test_redis() else { return };
    let configure = |settings: &mut Settings| limited(settings, &url);
    let one = TestApp::spawn_with(TestBackend::Sqlite, None, configure)
        .await
        .unwrap();
    let two = TestApp::spawn_with(TestBackend::Sqlite, None, configure)
        .await
        .unwrap();
    // An address of this run's own: buckets in Redis outlive the test by a minute.
    let client = format!("198.51.100.{}", rand::random::<u8>() % 200 + 30);
    let (allowed, refused) = burst(&[&one, &two], &client, 15).await;
    // One bucket of 10 (a token comes back every 6 s: at most one more within the test).
    assert!(
        (10..=11).contains(&allowed),
        "{allowed} allowed, {refused} refused"
    );
    assert_eq!(ready(&two).await["rate_limits"], "shared");
}

/// A search cursor issued by one process is accepted by another on the same database: the
/// signing key is configured or kept in the database, never made up by each process.
async fn a_cursor_from_one_process_is_good_on_another(backend: TestBackend) {
    let Some(first) = TestApp::spawn_with(backend, Some(60), |_| {}).await else {
        return;
    };
    let second = first.replica(|_| {}).await;
    let query = "/v1/search/providers?postal_code=10001&radius=300&limit=2";
    let page = first.get_json(query).await;
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let next = second.get_json(&format!("{query}&cursor={cursor}")).await;
    let ids = |page: &Value| -> Vec<i64> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["provider"]["id"].as_i64().unwrap())
            .collect()
    };
    assert!(!ids(&next).is_empty());
    assert!(ids(&next).iter().all(|id| !ids(&page).contains(id)));
}

#[actix_web::test]
async fn a_cursor_crosses_processes_on_sqlite() {
    a_cursor_from_one_process_is_good_on_another(TestBackend::Sqlite).await;
}

#[actix_web::test]
async fn a_cursor_crosses_processes_on_postgres() {
    a_cursor_from_one_process_is_good_on_another(TestBackend::Postgres).await;
}
