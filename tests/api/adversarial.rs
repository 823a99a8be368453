//! What an attacker and a bad day do, each with the bound the service holds: invented methods,
//! oversized and numerous headers, slow partial requests, random bearer tokens at volume, IPv6
//! neighbours, forged and replayed cursors, nothing-matching searches at the largest radius on
//! 100,000 locations, racing vetting decisions and deletes. Every test runs on both backends
//! (the SQLite-only and PostgreSQL-only ones say so).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, npi, TestApp, TestBackend, ADMIN_KEY};

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

fn port(app: &TestApp) -> u16 {
    app.address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// Writes `request` on a fresh connection and reads until the server closes it or `wait`
/// passes: the status line's code (None when the server answered nothing).
fn raw(port: u16, request: &[u8], wait: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(wait)).ok()?;
    // The server may answer (and close) before it has read everything: ignore a broken pipe.
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1)?.parse().ok()
}

async fn metrics(app: &TestApp) -> String {
    let response = app
        .request(Method::GET, "/metrics")
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("text")
}

fn series(metrics: &str, family: &str) -> usize {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("{family}{{")))
        .count()
}

on_both_backends_with!(invented_methods_do_not_grow_memory, |settings| {
    settings.metrics_token = Some(clinic_finder::config::Secret::new(
        super::METRICS_TOKEN.to_owned(),
    ));
    settings.rate_limit_public = 0;
});
async fn invented_methods_do_not_grow_memory(app: TestApp) {
    let port = port(&app);
    let before = metrics(&app).await;
    // 300 distinct 4 KB method names (the attack used 2,000 of 20 KB).
    let sent = actix_web::rt::task::spawn_blocking(move || {
        (0..300)
            .filter_map(|n| {
                let method = format!("N{}{n}", "A".repeat(4096));
                let request =
                    format!("{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                raw(port, request.as_bytes(), Duration::from_secs(5))
            })
            .count()
    })
    .await
    .unwrap();
    assert!(sent > 0, "the server answered the invented methods");
    let after = metrics(&app).await;
    let grown = series(&after, "http_requests_total") - series(&before, "http_requests_total");
    assert!(
        grown <= 3,
        "300 invented methods added {grown} series to http_requests_total"
    );
    assert!(
        after.len() < before.len() + 6_000,
        "the metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
    assert!(
        after.contains("method=\"OTHER\""),
        "invented methods are counted as OTHER"
    );
}

on_both_backends_with!(oversized_and_numerous_headers_are_refused, |settings| {
    settings.rate_limit_public = 0;
});
async fn oversized_and_numerous_headers_are_refused(app: TestApp) {
    let port = port(&app);
    let statuses = actix_web::rt::task::spawn_blocking(move || {
        let many: String = (0..200).map(|n| format!("X-Header-{n}: {n}\r\n")).collect();
        let huge = format!("X-Huge: {}\r\n", "a".repeat(256 * 1024));
        [many, huge]
            .iter()
            .map(|headers| {
                let request = format!(
                    "GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
                );
                raw(port, request.as_bytes(), Duration::from_secs(5))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for status in statuses {
        // 431 Request Header Fields Too Large (or a plain 400 for a head the parser gave up on);
        // a closed connection without an answer is also a refusal.
        assert!(
            matches!(status, Some(431) | Some(400) | None),
            "got {status:?}"
        );
    }
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);
}

on_both_backends_with!(slow_partial_requests_are_cut_off, |settings| {
    settings.rate_limit_public = 0;
});
async fn slow_partial_requests_are_cut_off(app: TestApp) {
    let port = port(&app);
    let started = Instant::now();
    // A few connections that send half a request head and then one byte a second.
    let slow: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
                let begun = Instant::now();
                let mut buffer = [0u8; 512];
                while begun.elapsed() < Duration::from_secs(15) {
                    if stream.write_all(b"X").is_err() {
                        break;
                    }
                    match stream.read(&mut buffer) {
                        Ok(_) => break, // an answer (408) or the close
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut =>
                        {
                            std::thread::sleep(Duration::from_millis(800))
                        }
                        Err(_) => break,
                    }
                }
                begun.elapsed()
            })
        })
        .collect();
    // Meanwhile the service answers others at once.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let probe = Instant::now();
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);
    assert!(probe.elapsed() < Duration::from_secs(1));
    for connection in slow {
        let held = connection.join().unwrap();
        assert!(
            held < Duration::from_secs(10),
            "a slow request head held its connection for {held:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(12));
}

on_both_backends_with!(ipv6_neighbours_share_a_bucket, |settings| {
    settings.rate_limit_public = 3;
    settings.trusted_proxies = vec![clinic_finder::config::IpNetwork::parse("127.0.0.1").unwrap()];
});
async fn ipv6_neighbours_share_a_bucket(app: TestApp) {
    // One holder of 2001:db8:1:2::/64 owns 2^64 addresses: they count as one client.
    let mut statuses = Vec::new();
    for n in 1..=5 {
        let response = app
            .request(Method::GET, "/v1/treatments")
            .header("X-Forwarded-For", format!("2001:db8:1:2::{n:x}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // Another /64 has its own bucket.
    let other = app
        .request(Method::GET, "/v1/treatments")
        .header("X-Forwarded-For", "2001:db8:1:3::1")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}

on_both_backends_with!(forwarded_headers_are_parsed_strictly, |settings| {
    settings.rate_limit_public = 1;
    settings.trusted_proxies = vec![clinic_finder::config::IpNetwork::parse("127.0.0.1").unwrap()];
});
async fn forwarded_headers_are_parsed_strictly(app: TestApp) {
    // Proxies that append `ip:port` still name the client: two clients, two buckets.
    for client in [
        "203.0.113.7:4711",
        "[2001:db8:9::1]:443",
        "203.0.113.8:4711",
    ] {
        let response = app
            .request(Method::GET, "/v1/treatments")
            .header("X-Forwarded-For", client)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{client}");
    }
    // FHIR links: the host the nearest proxy set (right-most), never the client's left-most
    // value, and the response says it varies with the header.
    let response = app
        .request(Method::GET, "/fhir/Location?near=40.75|-73.99|10|km")
        .header("X-Forwarded-For", "203.0.113.20")
        .header("X-Forwarded-Host", "evil.example, api.example.org")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let vary: Vec<String> = response
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok().map(|v| v.to_ascii_lowercase()))
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("x-forwarded-host")),
        "Vary: {vary:?}"
    );
    let bundle: Value = response.json().await.unwrap();
    let link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(
        link.starts_with("https://api.example.org/fhir/"),
        "the self link is {link}"
    );
}

/// A cursor from a real first page with its rank key rewritten to rank below everything (what
/// the old unsigned cursors let anyone do: the search then walks its whole radius).
fn forge(cursor: &str) -> String {
    let signed = URL_SAFE_NO_PAD.decode(cursor).unwrap();
    // The JSON payload, without the 16-byte signature that follows it.
    let payload = &signed[..signed.len() - 16];
    let mut value: Value = serde_json::from_slice(payload).expect("the cursor's payload is JSON");
    value["p"] = json!((-1e300f64).to_bits());
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
}

on_both_backends!(forged_and_replayed_cursors_are_refused);
async fn forged_and_replayed_cursors_are_refused(app: TestApp) {
    let clinic = app.create_clinic("Cursor clinic").await;
    for i in 0..3 {
        let location = app
            .create_location(
                clinic,
                40.75 + f64::from(i) * 0.01,
                -73.99,
                "America/New_York",
            )
            .await;
        app.public_provider(
            &npi(900 + i as u32),
            "2084N0400X",
            location,
            "blepharospasm",
        )
        .await;
    }
    let query = "/v1/search/locations?lat=40.75&lon=-73.99&radius=50&limit=1";
    let first = app.get_json(query).await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    // The honest cursor pages on.
    let second = app.get_json(&format!("{query}&cursor={cursor}")).await;
    assert_eq!(second["results"].as_array().unwrap().len(), 1);
    // Another replica (sharing the key kept in the database) takes it too.
    let replica = app.replica(|_| {}).await;
    let on_replica = replica.get_json(&format!("{query}&cursor={cursor}")).await;
    assert_eq!(on_replica["results"], second["results"]);
    // A cursor with its rank key rewritten is refused, not walked.
    let forged = forge(&cursor);
    let problem = assert_problem(app.get(&format!("{query}&cursor={forged}")).await, 422).await;
    assert_eq!(problem["errors"][0]["code"], "invalid_cursor", "{problem}");
    // One query's cursor replayed on another is refused.
    let other = "/v1/search/locations?lat=40.76&lon=-73.99&radius=50&limit=1";
    let problem = assert_problem(app.get(&format!("{other}&cursor={cursor}")).await, 422).await;
    assert_eq!(problem["errors"][0]["pointer"], "/cursor", "{problem}");
    // The FHIR facade's page tokens are signed the same way.
    let bundle = app
        .get_json("/fhir/Location?near=40.75|-73.99|50|km&_count=1")
        .await;
    let next = bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .expect("a next link")
        .to_owned();
    let token = next.rsplit("_cursor=").next().unwrap();
    let forged = forge(token);
    let refused = app
        .get(&format!(
            "/fhir/Location?near=40.75|-73.99|50|km&_count=1&_cursor={forged}"
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// 100,000 locations around (40.6, −73.3), one verified provider practising at all of them:
/// written in SQL before start-up so that the test takes seconds (the directory's own tests
/// cover writing them one by one).
fn hundred_thousand_locations(connection: &mut clinic_finder::db::DbConnection) {
    use diesel::connection::SimpleConnection;
    let at = "'2026-01-01 00:00:00'";
    connection
        .batch_execute(&format!(
            "INSERT INTO clinics (name, created_at, updated_at) VALUES ('Grid clinic', {at}, {at});
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
             INSERT INTO locations (clinic_id, address_line1, city, state, postal_code, latitude,
                 longitude, timezone, opening_hours, created_at, updated_at)
             SELECT (SELECT max(id) FROM clinics), 'Grid', 'Grid', 'NY', '10001',
                 40.0 + (i % 300) * 0.004, -73.9 + (i / 300) * 0.004, 'America/New_York', '{{}}',
                 {at}, {at}
             FROM n;
             INSERT INTO providers (npi, given_name, family_name, degree, primary_specialty_code,
                 practice_start_year, vetting_status, created_at, updated_at)
             VALUES ('1000000004', 'Grid', 'Provider', 'MD', '2084N0400X', 2010, 'verified', {at}, {at});
             INSERT INTO credentials (provider_id, kind, issuer, jurisdiction, expires_on,
                 verification_status, verified_at, created_at, updated_at)
             VALUES ((SELECT max(id) FROM providers), 'state_license', 'Board', 'NY', '2099-12-31',
                 'verified', {at}, {at}, {at});
             INSERT INTO provider_locations (provider_id, location_id, created_at)
             SELECT (SELECT max(id) FROM providers), id, {at} FROM locations;"
        ))
        .expect("the grid");
}

/// The default work budget of a search (candidates visited).
const DEFAULT_BUDGET: u64 = 20_000;

async fn nothing_matching_at_the_largest_radius(backend: TestBackend) {
    let Some(app) = TestApp::spawn_prepared(backend, hundred_thousand_locations, |_| {}).await
    else {
        return;
    };
    for filter in ["q=qzxq", "language=zu", "min_years_experience=80"] {
        let body = app
            .get_json(&format!(
                "/v1/search/locations?lat=40.6&lon=-73.3&radius=300&limit=50&{filter}"
            ))
            .await;
        let visited = body["meta"]["candidates_visited"].as_u64().unwrap();
        assert!(
            visited <= DEFAULT_BUDGET,
            "{filter}: visited {visited} of 100,000 locations"
        );
        assert_eq!(body["meta"]["partial"], true, "{filter}: {}", body["meta"]);
        assert!(body["results"].as_array().unwrap().is_empty());
        assert!(body.get("next_cursor").is_none());
    }
    // An honest query in the same place finds its answer within the budget.
    let body = app
        .get_json("/v1/search/locations?lat=40.6&lon=-73.3&radius=300&limit=50&sort=distance")
        .await;
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        50,
        "{}",
        body["meta"]
    );
    assert_eq!(body["meta"]["partial"], false);
    // Ranked by credentials and distance over 100,000 equal candidates, it may run out of
    // budget: it still answers the best it saw, and says within what distance it is complete.
    let body = app
        .get_json("/v1/search/locations?lat=40.6&lon=-73.3&radius=300&limit=50")
        .await;
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        50,
        "{}",
        body["meta"]
    );
    assert!(body["meta"]["candidates_visited"].as_u64().unwrap() <= DEFAULT_BUDGET);
    if body["meta"]["partial"] == true {
        assert!(body["meta"]["complete_within_km"].as_f64().unwrap() > 1.0);
    }
}

mod nothing_matching_searches_stop_at_the_work_budget {
    use crate::helpers::TestBackend;

    #[actix_web::test]
    async fn sqlite() {
        super::nothing_matching_at_the_largest_radius(TestBackend::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        super::nothing_matching_at_the_largest_radius(TestBackend::Postgres).await;
    }
}

/// A provider under review with a verified licence: (provider, licence).
async fn under_review(app: &TestApp, n: u32) -> (i64, i64) {
    let provider = app.create_provider(&npi(n), "2084N0400X").await;
    let licence = app.verified_licence(provider, "2099-12-31").await;
    assert_eq!(
        app.transition(provider, "under_review").await.status(),
        StatusCode::OK
    );
    (provider, licence)
}

on_both_backends!(one_version_one_transition);
async fn one_version_one_transition(app: TestApp) {
    let (provider, _) = under_review(&app, 700).await;
    let version = app.provider_version(provider).await;
    let path = format!("/v1/admin/providers/{provider}/transitions");
    let attempts = (0..6).map(|n| {
        app.admin(
            Method::POST,
            &path,
            Some(
                json!({"to": if n % 2 == 0 { "verified" } else { "rejected" }, "reason": "racing"}),
            ),
            Some(version),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        5,
        "{statuses:?}"
    );
}

/// Transition to verified and revocation of the only licence, started together, many times:
/// whichever commits first, the other sees it. A transition recorded after the revocation
/// would be a provider verified on a licence already revoked.
async fn transition_against_revocation(app: TestApp, rounds: u32) {
    let mut verified = 0;
    for round in 0..rounds {
        let (provider, licence) = under_review(&app, 1000 + round).await;
        let version = app.provider_version(provider).await;
        let (transition_path, verification_path) = (
            format!("/v1/admin/providers/{provider}/transitions"),
            format!("/v1/credentials/{licence}/verification"),
        );
        let transition = app.admin(
            Method::POST,
            &transition_path,
            Some(json!({"to": "verified", "reason": "licence checked"})),
            Some(version),
        );
        let revocation = app.admin(
            Method::POST,
            &verification_path,
            Some(json!({"outcome": "revoked", "source_type": "state_medical_board",
                        "reference": "https://example.org/board", "reason": "licence revoked by the board"})),
            Some(2),
        );
        let (transition, revocation) = futures_util::future::join(transition, revocation).await;
        assert_eq!(revocation.status(), StatusCode::OK);
        let transitioned = transition.status();
        assert!(
            transitioned == StatusCode::OK || transitioned == StatusCode::CONFLICT,
            "round {round}: {transitioned}"
        );
        let entries = |query: String| {
            let app = &app;
            async move {
                let page: Value = app
                    .admin(Method::GET, &format!("/v1/admin/audit?{query}"), None, None)
                    .await
                    .json()
                    .await
                    .unwrap();
                page["items"].as_array().cloned().unwrap_or_default()
            }
        };
        let revoked_at = entries(format!(
            "target_type=credential&target_id={licence}&action=credential.verify"
        ))
        .await
        .iter()
        .find(|e| e["after"]["verification_status"] == "revoked")
        .and_then(|e| e["id"].as_i64())
        .expect("the revocation is audited");
        if transitioned == StatusCode::OK {
            verified += 1;
            let transition_at = entries(format!(
                "target_type=provider&target_id={provider}&action=provider.transition"
            ))
            .await
            .iter()
            .find(|e| e["after"]["vetting_status"] == "verified")
            .and_then(|e| e["id"].as_i64())
            .expect("the transition is audited");
            assert!(
                transition_at < revoked_at,
                "round {round}: provider {provider} verified (audit {transition_at}) after its only \
                 licence was revoked (audit {revoked_at})"
            );
        }
    }
    let _ = std::io::stderr().write_all(
        format!("transition vs revocation: {verified} of {rounds} rounds verified first\n")
            .as_bytes(),
    );
}

#[actix_web::test]
async fn transitions_and_revocations_race_on_postgres() {
    if let Some(app) = TestApp::spawn_on(TestBackend::Postgres).await {
        transition_against_revocation(app, 40).await;
    }
}

on_both_backends!(stale_deletes_are_refused);
async fn stale_deletes_are_refused(app: TestApp) {
    let clinic = app.create_clinic("Delete me").await;
    let location = app
        .create_location(clinic, 40.7, -74.0, "America/New_York")
        .await;
    let provider = app.create_provider(&npi(800), "2084N0400X").await;
    let credential = app
        .add_credential(
            provider,
            json!({"kind": "state_license", "issuer": "Board", "jurisdiction": "NY"}),
        )
        .await;
    for path in [
        format!("/v1/credentials/{credential}"),
        format!("/v1/providers/{provider}"),
        format!("/v1/locations/{location}"),
        format!("/v1/clinics/{clinic}"),
    ] {
        let stale = app.admin(Method::DELETE, &path, None, Some(7)).await;
        assert_problem(stale, 412).await;
        let still_there = if path.starts_with("/v1/credentials") {
            let view: Value = app
                .admin_ok(
                    Method::GET,
                    &format!("/v1/admin/providers/{provider}"),
                    None,
                    None,
                )
                .await;
            view["credentials"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == credential)
        } else {
            let read_path = path.replace("/v1/providers", "/v1/admin/providers");
            app.admin(Method::GET, &read_path, None, None)
                .await
                .status()
                == StatusCode::OK
        };
        assert!(still_there, "{path} is still there after a stale delete");
        let current = app.admin(Method::DELETE, &path, None, Some(1)).await;
        assert_eq!(current.status(), StatusCode::NO_CONTENT, "{path}");
    }
}

on_both_backends!(reviewers_do_not_read_key_audit_rows);
async fn reviewers_do_not_read_key_audit_rows(app: TestApp) {
    let (_, reviewer) = app.create_key("Reviewer R", "reviewer").await;
    let read = |query: &'static str| {
        let (app, reviewer) = (&app, reviewer.clone());
        async move {
            let response = app
                .with_key(
                    &reviewer,
                    Method::GET,
                    &format!("/v1/admin/audit{query}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let page: Value = response.json().await.unwrap();
            page["items"].as_array().cloned().unwrap_or_default()
        }
    };
    assert!(read("?target_type=api_key").await.is_empty());
    assert!(read("?action=api_key.create").await.is_empty());
    assert!(read("").await.iter().all(|e| e["target_type"] != "api_key"));
    // Admins still see them.
    let page: Value = app
        .admin_ok(
            Method::GET,
            "/v1/admin/audit?target_type=api_key",
            None,
            None,
        )
        .await;
    assert!(!page["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn keyed_reads_answer_while_an_import_holds_the_sqlite_write_lock() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = TestApp::spawn_on(TestBackend::Sqlite).await.unwrap();
    let (reviewer_id, reviewer) = app.create_key("Reviewer Q", "reviewer").await;
    // Another process's write transaction (an import batch) holds the lock for 7 s.
    let path = app.database_url.clone();
    let (locked, release) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut connection = diesel::SqliteConnection::establish(&path).unwrap();
        connection.batch_execute("BEGIN IMMEDIATE").unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(7));
        connection.batch_execute("COMMIT").unwrap();
    });
    release.recv().unwrap();
    let started = Instant::now();
    let response = app
        .with_key(
            &reviewer,
            Method::GET,
            "/v1/admin/queue/pending",
            None,
            None,
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        waited < Duration::from_secs(3),
        "a keyed read waited {waited:?} for the write lock"
    );
    // Wait for the lock holder without blocking this runtime (its connections stay serviced).
    actix_web::rt::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();
    // The use is recorded once the lock is free.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let keys: Value = app
            .admin_ok(Method::GET, "/v1/admin/keys", None, None)
            .await;
        let used = keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == reviewer_id && k["last_used_at"].is_string());
        if used {
            break;
        }
        assert!(Instant::now() < deadline, "last_used_at is recorded");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

on_both_backends_with!(preflights_and_metrics_are_rate_limited, |settings| {
    settings.rate_limit_public = 3;
    settings.cors_origins = vec!["https://app.example.org".to_owned()];
    settings.metrics_token = Some(clinic_finder::config::Secret::new(
        super::METRICS_TOKEN.to_owned(),
    ));
});
async fn preflights_and_metrics_are_rate_limited(app: TestApp) {
    let mut preflights = Vec::new();
    for _ in 0..5 {
        let response = app
            .request(Method::OPTIONS, "/v1/clinics")
            .header("Origin", "https://app.example.org")
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        preflights.push(response.status().as_u16());
    }
    assert_eq!(preflights, [204, 204, 204, 429, 429]);
    // Guessing the metrics token from the same address meets the same bucket.
    let guess = app
        .request(Method::GET, "/metrics")
        .bearer_auth("not-the-metrics-token-0123456789abcdef0123")
        .send()
        .await
        .unwrap();
    assert_eq!(guess.status(), StatusCode::TOO_MANY_REQUESTS);
}

on_both_backends!(a_new_bootstrap_key_replaces_the_old_one);
/// A new bootstrap key whose first characters are the old one's: start-up takes it, retires the
/// old one, and leaves alone a key an admin happened to name "bootstrap".
async fn a_new_bootstrap_key_replaces_the_old_one(app: TestApp) {
    let (_, named) = app.create_key("bootstrap", "admin").await;
    let new_key = format!("{}-rotated-0123456789abcdef", &ADMIN_KEY[..20]);
    let replica = app
        .replica(|settings| {
            settings.admin_key = Some(clinic_finder::config::Secret::new(new_key.clone()))
        })
        .await;
    let keys = "/v1/admin/keys";
    let with_new = replica
        .with_key(&new_key, Method::GET, keys, None, None)
        .await;
    assert_eq!(with_new.status(), StatusCode::OK);
    assert_problem(
        replica
            .with_key(ADMIN_KEY, Method::GET, keys, None, None)
            .await,
        401,
    )
    .await;
    assert_eq!(
        replica
            .with_key(&named, Method::GET, keys, None, None)
            .await
            .status(),
        StatusCode::OK,
        "a key named \"bootstrap\" by an admin is not the bootstrap key"
    );
}

on_both_backends!(replicas_starting_together_register_one_bootstrap_key);
/// Replicas starting together with a new key: every one starts, one key is registered.
async fn replicas_starting_together_register_one_bootstrap_key(app: TestApp) {
    let secret = "a-brand-new-bootstrap-key-0123456789abcdef";
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let (database, barrier) = (app.database(), barrier.clone());
            std::thread::spawn(move || {
                let mut connection = database.connection().unwrap();
                let by = clinic_finder::directory::Principal::system(chrono::Utc::now());
                barrier.wait();
                clinic_finder::directory::keys::register_bootstrap(&mut connection, &by, secret)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for start in starts {
        start.join().unwrap().expect("every replica starts");
    }
    let keys: Value = app
        .with_key(secret, Method::GET, "/v1/admin/keys?limit=100", None, None)
        .await
        .json()
        .await
        .unwrap();
    let active = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["revoked_at"].is_null())
        .count();
    assert_eq!(active, 1, "{keys}");
}

/// Connections taken from the pool so far, as `/metrics` reports them.
async fn checkouts(app: &TestApp) -> u64 {
    metrics(app)
        .await
        .lines()
        .find_map(|line| line.strip_prefix("db_connection_checkouts_total "))
        .and_then(|n| n.parse().ok())
        .expect("db_connection_checkouts_total")
}

fn random_token(n: u32) -> String {
    format!("cf_invented{n:08}{}", "x".repeat(32))
}

on_both_backends_with!(
    random_bearer_tokens_cost_no_queries_once_limited,
    |settings| {
        settings.metrics_token = Some(clinic_finder::config::Secret::new(
            super::METRICS_TOKEN.to_owned(),
        ));
        settings.rate_limit_public = 20;
        settings.change_feed_ms = 0;
        settings.trusted_proxies =
            vec![clinic_finder::config::IpNetwork::parse("127.0.0.1").unwrap()];
    }
);
async fn random_bearer_tokens_cost_no_queries_once_limited(app: TestApp) {
    // The attacker is 203.0.113.50 (behind the trusted proxy); the metrics are read from the
    // proxy's own address, a bucket of its own.
    let attack = |token: String| {
        app.request(Method::GET, "/v1/admin/keys")
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Forwarded-For", "203.0.113.50")
            .send()
    };
    let before = checkouts(&app).await;
    // 200 different invented tokens on a keyed route: the first 20 (the public limit) are looked
    // up once each — the lookup serves the extractor too — and refused (401); 10 more are looked
    // up (what an address may look up beyond its limit, so that a real key is never locked out
    // by its address's traffic) and refused (429); the rest are refused unread (429).
    let mut statuses = Vec::new();
    for n in 0..200 {
        statuses.push(attack(random_token(n)).await.unwrap().status().as_u16());
    }
    let spent = checkouts(&app).await - before;
    let _ = std::io::stderr()
        .write_all(format!("200 invented tokens: {spent} pool checkouts\n").as_bytes());
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 180);
    assert!(spent <= 30, "200 invented tokens took {spent} connections");
    // Tokens that cannot be keys cost nothing, from an address with tokens left; nor does a
    // repeated invalid one.
    let fresh = |token: String| {
        app.request(Method::GET, "/v1/admin/keys")
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Forwarded-For", "203.0.113.51")
            .send()
    };
    assert_eq!(
        fresh(random_token(7)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let before = checkouts(&app).await;
    for token in [
        "short".to_owned(),
        "y".repeat(300),
        "cf_ nope-nope-nope-nope-nope-nope-nope-nope".to_owned(),
        random_token(7),
    ] {
        let response = fresh(token).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(checkouts(&app).await - before, 0);
}

on_both_backends_with!(readiness_probes_do_not_load_the_database, |settings| {
    settings.metrics_token = Some(clinic_finder::config::Secret::new(
        super::METRICS_TOKEN.to_owned(),
    ));
    settings.change_feed_ms = 0;
});
async fn readiness_probes_do_not_load_the_database(app: TestApp) {
    let before = checkouts(&app).await;
    let probes = (0..200).map(|_| app.get("/readyz"));
    for response in futures_util::future::join_all(probes).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let spent = checkouts(&app).await - before;
    assert!(spent <= 5, "200 probes took {spent} connections");
}

/// Whether `app`'s search lists `provider` near the feed tests' location.
async fn lists(app: &TestApp, provider: i64) -> bool {
    let body = app
        .get_json("/v1/search/providers?lat=40.75&lon=-73.99&radius=10&limit=50")
        .await;
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["provider"]["id"] == provider)
}

/// Polls until `app`'s search lists `provider` (or not), for up to `seconds`.
async fn until_listed(app: &TestApp, provider: i64, listed: bool, seconds: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if lists(app, provider).await == listed {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Another process's transaction: takes its change-log id now, commits when told.
fn stalled_suspension(database_url: &str, provider: i64) -> diesel::PgConnection {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut connection = diesel::PgConnection::establish(database_url).unwrap();
    connection
        .batch_execute(&format!(
            "BEGIN;
             UPDATE providers SET vetting_status = 'suspended', version = version + 1 WHERE id = {provider};
             INSERT INTO change_log (entity, entity_id, changed_at) VALUES ('provider', {provider}, now());"
        ))
        .unwrap();
    connection
}

fn fast_feed(settings: &mut clinic_finder::config::Settings) {
    settings.change_feed_ms = 100;
    settings.change_feed_gap_ms = 300;
}

/// PostgreSQL hands out change-log ids at insert, not at commit: a transaction that commits
/// after a later one, even after its gap was given up on, still reaches every replica; so does
/// one in flight while a replica starts; and a change the feed never carried is repaired by the
/// periodic reconcile.
#[actix_web::test]
async fn late_commits_and_missed_changes_reach_every_replica_on_postgres() {
    use diesel::connection::SimpleConnection;
    let Some(app) = TestApp::spawn_with(TestBackend::Postgres, None, fast_feed).await else {
        return;
    };
    let replica = app.replica(fast_feed).await;
    let clinic = app.create_clinic("Late commits").await;
    let location = app
        .create_location(clinic, 40.75, -73.99, "America/New_York")
        .await;
    let mut providers = Vec::new();
    for n in 0..3 {
        providers.push(
            app.public_provider(&npi(600 + n), "2084N0400X", location, "blepharospasm")
                .await,
        );
    }
    for provider in &providers {
        assert!(until_listed(&replica, *provider, true, 5).await);
    }

    // 1. A suspension takes id N and stalls; a write with id N + 1 commits; the gap outlives its
    //    timeout (300 ms) before N commits.
    let mut slow = stalled_suspension(&app.database_url, providers[0]);
    app.create_clinic("Committed first").await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    slow.batch_execute("COMMIT").unwrap();
    assert!(
        until_listed(&replica, providers[0], false, 5).await,
        "a suspension that committed late is still listed by the replica"
    );

    // 2. A replica starts while a suspension is in flight below the newest id.
    let mut slow = stalled_suspension(&app.database_url, providers[1]);
    app.create_clinic("Committed before the start").await;
    let starter = app.replica(fast_feed).await;
    assert!(lists(&starter, providers[1]).await, "not committed yet");
    slow.batch_execute("COMMIT").unwrap();
    assert!(
        until_listed(&starter, providers[1], false, 5).await,
        "a suspension in flight at start-up is still listed by the new replica"
    );

    // 3. A change the feed never carried (no change-log row): the reconcile finds it.
    let reconciling = app
        .replica(|settings| {
            fast_feed(settings);
            settings.index_reconcile_secs = 1;
        })
        .await;
    assert!(lists(&reconciling, providers[2]).await);
    let mut direct = {
        use diesel::Connection;
        diesel::PgConnection::establish(&app.database_url).unwrap()
    };
    direct
        .batch_execute(&format!(
            "UPDATE providers SET vetting_status = 'suspended' WHERE id = {}",
            providers[2]
        ))
        .unwrap();
    assert!(
        until_listed(&reconciling, providers[2], false, 5).await,
        "the reconcile repairs what the feed missed"
    );
}
