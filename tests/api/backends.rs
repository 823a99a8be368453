//! What only the PostgreSQL backend has to prove: the index it loads gives the same answers as
//! SQLite's, and an outage is a fast 503 that heals by itself.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::helpers::{TestApp, TestBackend};

fn summary(body: &Value) -> Vec<(i64, i64, f64)> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let provider = r["provider"]["id"].as_i64().unwrap_or(-1);
            (
                r["location"]["location_id"].as_i64().unwrap(),
                provider,
                r["distance_km"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn sqlite_and_postgres_give_the_same_answers() {
    let Some(postgres) = TestApp::spawn_with(TestBackend::Postgres, Some(4_000), |_| {}).await
    else {
        return;
    };
    let sqlite = TestApp::spawn_with(TestBackend::Sqlite, Some(4_000), |_| {})
        .await
        .unwrap();
    let centres = [
        (40.7549, -73.984),
        (34.0522, -118.2437),
        (41.8781, -87.6298),
        (29.7604, -95.3698),
        (47.6062, -122.3321),
        (44.37, -100.35),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut compared = 0;
    let mut nonempty = 0;
    for round in 0..300 {
        let (lat, lon) = centres[round % centres.len()];
        let lat = lat + rng.gen_range(-0.5..0.5);
        let lon = lon + rng.gen_range(-0.5..0.5);
        let endpoint = if round % 2 == 0 {
            "locations"
        } else {
            "providers"
        };
        let sort = ["best", "distance", "credentials"][rng.gen_range(0..3)];
        let radius = [1.0, 5.0, 25.0, 80.0, 300.0][rng.gen_range(0..5)];
        let treatment = [
            "",
            "&treatment=chronic_migraine",
            "&treatment=cervical_dystonia,spasticity_adult",
            "&degree=MD,DO",
        ][rng.gen_range(0..4)];
        let path = format!("/v1/search/{endpoint}?lat={lat}&lon={lon}&radius={radius}&sort={sort}&limit=20{treatment}");
        let (a, b) = (sqlite.get_json(&path).await, postgres.get_json(&path).await);
        let (a, b) = (summary(&a), summary(&b));
        assert_eq!(a.len(), b.len(), "{path}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!((x.0, x.1), (y.0, y.1), "{path}");
            assert!(
                (x.2 - y.2).abs() < 0.001,
                "{path}: {} km vs {} km",
                x.2,
                y.2
            );
        }
        compared += 1;
        nonempty += usize::from(!a.is_empty());
    }
    assert_eq!(compared, 300);
    assert!(nonempty > 150, "most queries find something ({nonempty})");
}

fn database_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[actix_web::test]
async fn an_outage_is_a_fast_503_and_heals_itself() {
    let Some(app) =
        TestApp::spawn_with(TestBackend::Postgres, None, |s| s.pool_timeout_secs = 2).await
    else {
        return;
    };
    assert_eq!(app.get("/readyz").await.status(), 200);
    let clinic = app.create_clinic("Before the outage").await;
    let name = database_name(&app.database_url).to_owned();
    let admin_url = std::env::var("CLINIC_FINDER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin = diesel::PgConnection::establish(&admin_url).unwrap();
    use diesel::connection::SimpleConnection;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid();"
        ))
        .unwrap();

    // `/readyz` reuses its answer for a second (probes cannot load the database): within that
    // second it may still say 200.
    let started = Instant::now();
    let response = loop {
        let response = app.get("/readyz").await;
        if response.status() != 200 || started.elapsed() > Duration::from_secs(4) {
            break response;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert!(
        elapsed < Duration::from_secs(4),
        "answered within the pool timeout and the reuse of the last answer: {elapsed:?}"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "service_unavailable");
    assert_eq!(
        app.get(&format!("/v1/clinics/{clinic}")).await.status(),
        503
    );
    // Search reads the in-memory index: it keeps answering.
    assert_eq!(
        app.get("/v1/search/locations?postal_code=10001")
            .await
            .status(),
        200
    );

    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
        ))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if app.get("/readyz").await.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the service recovers once the database is back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.get_json(&format!("/v1/clinics/{clinic}")).await["name"],
        "Before the outage"
    );
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    statement_timeout: String,
}

/// The index's load reads whole tables: at national scale on PostgreSQL that outlasted the
/// statement timeout requests run under, and start-up failed. The load lifts it for its own
/// transaction only.
#[actix_web::test]
async fn the_index_load_is_not_cut_by_the_request_statement_timeout() {
    let Some(app) = TestApp::spawn_with(TestBackend::Postgres, None, |_| {}).await else {
        return;
    };
    let mut connection = app.database().connection().unwrap();
    use diesel::connection::SimpleConnection;
    connection
        .batch_execute("SET statement_timeout = 300")
        .unwrap();
    let slow = || diesel::sql_query("SELECT pg_sleep(0.6)");
    let error = slow().execute(&mut *connection).unwrap_err();
    assert!(
        error.to_string().contains("statement timeout"),
        "a request's statement is cut: {error}"
    );
    clinic_finder::db::without_statement_timeout(&mut connection, |c| slow().execute(c))
        .expect("the load's statement runs to the end");
    let setting: Setting = diesel::sql_query("SHOW statement_timeout")
        .get_result(&mut *connection)
        .unwrap();
    assert_eq!(
        setting.statement_timeout, "300ms",
        "the connection goes back with its timeout"
    );
}

/// Drops what differs by when each app was seeded (timestamps, the version counters' ETags).
fn without_instants(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.ends_with("_at"));
            map.values_mut().for_each(without_instants);
        }
        Value::Array(items) => items.iter_mut().for_each(without_instants),
        _ => {}
    }
}

/// The bulk path writes differently per backend (multi-row `VALUES` on SQLite, one array per
/// column on PostgreSQL): the same demo load must give the same records, field by field, in the
/// same order (the ids), as an admin and the public profiles show them.
#[actix_web::test]
async fn a_bulk_load_writes_the_same_records_on_both_backends() {
    let Some(postgres) = TestApp::spawn_with(TestBackend::Postgres, Some(600), |_| {}).await else {
        return;
    };
    let sqlite = TestApp::spawn_with(TestBackend::Sqlite, Some(600), |_| {})
        .await
        .unwrap();
    let mut compared = 0;
    for id in (1..=600).step_by(7) {
        for path in [
            format!("/v1/admin/providers/{id}"),
            format!("/v1/clinics/{id}"),
            format!("/v1/locations/{id}"),
        ] {
            let (a, b) = if path.starts_with("/v1/admin") {
                (
                    sqlite.admin(reqwest::Method::GET, &path, None, None).await,
                    postgres
                        .admin(reqwest::Method::GET, &path, None, None)
                        .await,
                )
            } else {
                (sqlite.get(&path).await, postgres.get(&path).await)
            };
            assert_eq!(a.status(), b.status(), "{path}");
            if !a.status().is_success() {
                continue;
            }
            let (mut a, mut b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
            without_instants(&mut a);
            without_instants(&mut b);
            assert_eq!(a, b, "{path}");
            compared += 1;
        }
    }
    assert!(compared > 150, "most ids exist on both ({compared})");
}
