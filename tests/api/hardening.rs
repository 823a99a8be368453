//! Limits at the edge (rate limits, query length), security headers, CORS, metrics and probes,
//! as a client sees them. Each test runs on both backends with its own settings.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, TestApp, ADMIN_KEY};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn number(response: &Response, name: &str) -> u64 {
    header(response, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} is a number on {:?}", response.headers()))
}

on_both_backends_with!(public_traffic_is_limited_per_ip, |settings| {
    settings.rate_limit_public = 5;
});
async fn public_traffic_is_limited_per_ip(app: TestApp) {
    for expected_remaining in (0..5).rev() {
        let response = app.get("/v1/treatments").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(number(&response, "ratelimit-limit"), 5);
        assert_eq!(number(&response, "ratelimit-remaining"), expected_remaining);
        assert_eq!(
            header(&response, "ratelimit-policy").as_deref(),
            Some("5;w=60")
        );
    }
    let refused = app.get("/v1/treatments").await;
    assert_eq!(number(&refused, "ratelimit-remaining"), 0);
    // 5 a minute: a token comes back every 12 s, the bucket is full again in 60 s.
    let retry_after = number(&refused, "retry-after");
    assert!((1..=12).contains(&retry_after), "Retry-After {retry_after}");
    assert!((55..=60).contains(&number(&refused, "ratelimit-reset")));
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["code"], "rate_limited");

    // Every public route shares the bucket; the probes are never limited.
    assert_problem(app.get("/v1/providers/1").await, 429).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);
    // A wrong key is public traffic: it does not get a bucket of its own.
    let guessed = app
        .with_key(
            "cf_guessed_0000000000000000000000000000000000",
            Method::GET,
            "/v1/admin/keys",
            None,
            None,
        )
        .await;
    assert_problem(guessed, 429).await;
    // A valid key has its own bucket, with the staff limit.
    let keyed = app.admin(Method::GET, "/v1/admin/keys", None, None).await;
    assert_eq!(keyed.status(), StatusCode::OK);
    assert_eq!(number(&keyed, "ratelimit-limit"), 3000);
}

on_both_backends_with!(each_key_has_its_own_bucket_by_role, |settings| {
    settings.rate_limit_staff = 4;
    settings.rate_limit_partner = 2;
    settings.rate_limit_public = 100;
});
async fn each_key_has_its_own_bucket_by_role(app: TestApp) {
    let created = app
        .admin(
            Method::POST,
            "/v1/admin/keys",
            Some(json!({"name": "partner", "role": "partner"})),
            None,
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let partner: serde_json::Value = created.json().await.expect("json");
    let partner = partner["secret"].as_str().expect("secret").to_owned();

    for _ in 0..2 {
        let response = app
            .with_key(&partner, Method::GET, "/v1/treatments", None, None)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(number(&response, "ratelimit-limit"), 2);
    }
    let refused = app
        .with_key(&partner, Method::GET, "/v1/treatments", None, None)
        .await;
    assert_problem(refused, 429).await;

    // The admin key used once above has 3 left; the partner's exhaustion does not touch it.
    for _ in 0..3 {
        let response = app.admin(Method::GET, "/v1/admin/keys", None, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(number(&response, "ratelimit-limit"), 4);
    }
    assert_problem(
        app.admin(Method::GET, "/v1/admin/keys", None, None).await,
        429,
    )
    .await;
    // Writes are limited too, and a refused write does not happen.
    let write = app
        .admin(
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "Refused"})),
            None,
        )
        .await;
    assert_problem(write, 429).await;
    let clinics = app.get_json("/v1/clinics").await;
    assert_eq!(
        clinics["items"].as_array().map(Vec::len),
        Some(0),
        "{clinics}"
    );
    // The public bucket is untouched by keyed traffic (one public read above).
    let public = app.get("/v1/treatments").await;
    assert_eq!(number(&public, "ratelimit-remaining"), 98);
}

on_both_backends_with!(
    forwarded_for_is_believed_from_trusted_proxies_only,
    |settings| {
        settings.rate_limit_public = 2;
        settings.trusted_proxies =
            vec![clinic_finder::config::IpNetwork::parse("127.0.0.1").unwrap()];
    }
);
async fn forwarded_for_is_believed_from_trusted_proxies_only(app: TestApp) {
    let from = |client: &'static str| {
        app.request(Method::GET, "/v1/treatments")
            // The left-most entry is whatever the client wrote; only the proxy's own entry counts.
            .header("X-Forwarded-For", format!("198.51.100.99, {client}"))
            .send()
    };
    assert_eq!(from("203.0.113.1").await.unwrap().status(), StatusCode::OK);
    assert_eq!(from("203.0.113.1").await.unwrap().status(), StatusCode::OK);
    assert_problem(from("203.0.113.1").await.unwrap(), 429).await;
    assert_eq!(from("203.0.113.2").await.unwrap().status(), StatusCode::OK);
}

on_both_backends_with!(
    forwarded_for_is_ignored_without_trusted_proxies,
    |settings| {
        settings.rate_limit_public = 2;
    }
);
async fn forwarded_for_is_ignored_without_trusted_proxies(app: TestApp) {
    for (n, client) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .into_iter()
        .enumerate()
    {
        let response = app
            .request(Method::GET, "/v1/treatments")
            .header("X-Forwarded-For", client)
            .send()
            .await
            .unwrap();
        if n < 2 {
            assert_eq!(response.status(), StatusCode::OK);
        } else {
            assert_problem(response, 429).await;
        }
    }
}

on_both_backends_with!(long_query_strings_are_refused, |settings| {
    settings.max_query_bytes = 2048;
});
async fn long_query_strings_are_refused(app: TestApp) {
    let q = "a".repeat(2100);
    let problem = assert_problem(app.get(&format!("/v1/search/providers?q={q}")).await, 414).await;
    assert_eq!(problem["code"], "query_too_long");
    // Just under the limit reaches the handler (which refuses q over 100 characters with a 422).
    let q = "a".repeat(2000);
    assert_problem(
        app.get(&format!("/v1/search/providers?postal_code=10001&q={q}"))
            .await,
        422,
    )
    .await;
}

on_both_backends_with!(every_response_carries_the_security_headers, |_| {});
async fn every_response_carries_the_security_headers(app: TestApp) {
    let responses = [
        ("api", app.get("/v1/treatments").await),
        ("problem", app.get("/v1/nowhere").await),
        (
            "keyed",
            app.admin(Method::GET, "/v1/admin/keys", None, None).await,
        ),
        ("docs", app.get("/docs/").await),
    ];
    for (kind, response) in &responses {
        assert_eq!(
            header(response, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{kind}"
        );
        assert_eq!(
            header(response, "x-frame-options").as_deref(),
            Some("DENY"),
            "{kind}"
        );
        assert_eq!(
            header(response, "referrer-policy").as_deref(),
            Some("no-referrer"),
            "{kind}"
        );
        assert!(header(response, "x-request-id").is_some(), "{kind}");
        assert_eq!(
            header(response, "strict-transport-security"),
            None,
            "{kind}: not configured"
        );
        let csp = header(response, "content-security-policy").unwrap_or_default();
        if *kind == "docs" {
            assert_eq!(response.status(), StatusCode::OK);
            assert!(csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        } else {
            assert!(csp.starts_with("default-src 'none'"), "{kind}: {csp}");
        }
        let no_store = header(response, "cache-control").as_deref() == Some("no-store");
        assert_eq!(no_store, *kind == "keyed", "{kind}");
    }
}

on_both_backends_with!(hsts_is_sent_when_configured, |settings| {
    settings.hsts_max_age = 31_536_000;
});
async fn hsts_is_sent_when_configured(app: TestApp) {
    let response = app.get("/v1/treatments").await;
    assert_eq!(
        header(&response, "strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
}

on_both_backends_with!(cors_follows_the_allowlist, |settings| {
    settings.cors_origins = vec!["https://app.example.org".to_owned(), "*".to_owned()];
});
async fn cors_follows_the_allowlist(app: TestApp) {
    let allowed = "https://app.example.org";
    let other = "https://elsewhere.example.net";
    let get = |origin: &'static str, key: Option<&'static str>| {
        let mut request = app
            .request(Method::GET, "/v1/admin/keys")
            .header("Origin", origin);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let acao = |response: &Response| header(response, "access-control-allow-origin");
    // The wildcard: any origin, public reads without a key.
    let public = app
        .request(Method::GET, "/v1/treatments")
        .header("Origin", other)
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&public).as_deref(), Some("*"));
    assert!(header(&public, "access-control-expose-headers")
        .is_some_and(|h| h.contains("X-Request-Id")));
    // Keyed requests: only the allowlisted origin, echoed, never with credentials.
    let keyed_other = get(other, Some(ADMIN_KEY)).await.unwrap();
    assert_eq!(keyed_other.status(), StatusCode::OK);
    assert_eq!(acao(&keyed_other), None);
    let keyed_allowed = get(allowed, Some(ADMIN_KEY)).await.unwrap();
    assert_eq!(acao(&keyed_allowed).as_deref(), Some(allowed));
    assert_eq!(
        header(&keyed_allowed, "access-control-allow-credentials"),
        None
    );
    assert!(header(&keyed_allowed, "vary").is_some_and(|v| v.contains("Origin")));

    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        app.request(Method::OPTIONS, "/v1/clinics")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", headers)
            .send()
    };
    let granted = preflight(allowed, "POST", "authorization, content-type")
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);
    assert_eq!(acao(&granted).as_deref(), Some(allowed));
    assert!(header(&granted, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert!(header(&granted, "access-control-allow-headers")
        .is_some_and(|h| h.contains("Authorization")));
    let public_read = preflight(other, "GET", "content-type").await.unwrap();
    assert_eq!(public_read.status(), StatusCode::NO_CONTENT);
    assert_eq!(acao(&public_read).as_deref(), Some("*"));
    assert_problem(
        preflight(other, "POST", "authorization, content-type")
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_problem(preflight(other, "GET", "authorization").await.unwrap(), 403).await;
}

on_both_backends_with!(no_cors_headers_when_turned_off, |settings| {
    settings.cors_origins = vec!["none".to_owned()];
});
async fn no_cors_headers_when_turned_off(app: TestApp) {
    let response = app
        .request(Method::GET, "/v1/treatments")
        .header("Origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

on_both_backends_with!(metrics_need_the_token, |settings| {
    settings.metrics_token = Some(clinic_finder::config::Secret::new(
        super::METRICS_TOKEN.to_owned(),
    ));
});
async fn metrics_need_the_token(app: TestApp) {
    assert_problem(app.get("/v1/providers/987654").await, 404).await;
    assert_eq!(app.get("/v1/treatments").await.status(), StatusCode::OK);
    assert_problem(app.get("/metrics").await, 401).await;
    assert_problem(
        app.with_key(ADMIN_KEY, Method::GET, "/metrics", None, None)
            .await,
        401,
    )
    .await;
    let response = app
        .with_key(METRICS_TOKEN, Method::GET, "/metrics", None, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").is_some_and(|t| t.starts_with("text/plain")));
    let text = response.text().await.unwrap();
    for line in [
        "http_requests_total{method=\"GET\",route=\"/v1/providers/{id}\",status=\"404\"} 1",
        "http_requests_total{method=\"GET\",route=\"/v1/treatments\",status=\"200\"} 1",
        "http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 2",
        "# TYPE http_request_duration_seconds histogram",
        "http_request_duration_seconds_count{route=\"/v1/treatments\"} 1",
        "http_request_duration_seconds_bucket{route=\"/v1/treatments\",le=\"+Inf\"} 1",
        "# TYPE db_pool_connections gauge",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

on_both_backends_with!(metrics_are_off_by_default, |_| {});
async fn metrics_are_off_by_default(app: TestApp) {
    assert_problem(app.get("/metrics").await, 404).await;
    let livez = app.get_json("/livez").await;
    assert_eq!(livez["status"], "ok");
}

// What schemathesis found, pinned: each was a 500 or a schema mismatch.
on_both_backends!(inputs_found_by_fuzzing);
async fn inputs_found_by_fuzzing(app: TestApp) {
    // U+0000 reached the database: SQLite's CHECK (length) failed, PostgreSQL refuses it → 500.
    let nul = app
        .admin(
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "\u{0}x"})),
            None,
        )
        .await;
    let problem = assert_problem(nul, 422).await;
    assert_eq!(problem["errors"][0]["pointer"], "/name");
    assert_eq!(problem["errors"][0]["code"], "invalid_character");
    let problem = assert_problem(app.get("/v1/clinics?cursor=%00").await, 422).await;
    assert_eq!(problem["errors"][0]["code"], "invalid_character");
    // A website must be an ASCII http(s) URI, as the schema's pattern says.
    for website in [
        "https://\u{cf}",
        "ftp://example.org",
        "https://exa mple.org",
    ] {
        let response = app
            .admin(
                Method::POST,
                "/v1/clinics",
                Some(json!({"name": "W", "website": website})),
                None,
            )
            .await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["errors"][0]["pointer"], "/website", "{website}");
    }
    // A struct from an array: serde takes `[null]` for a one-field struct; the schema says object.
    let provider = app
        .create_provider(&crate::helpers::npi(4242), "2084N0400X")
        .await;
    let array = app
        .request(
            Method::PUT,
            &format!("/v1/providers/{provider}/treatments/chronic_migraine"),
        )
        .bearer_auth(ADMIN_KEY)
        .header("Content-Type", "application/json")
        .body("[null]")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(array, 422).await;
    assert_eq!(problem["errors"][0]["code"], "invalid_type");
    // JSON Schema's integers include 2.0: accepted, stored as 2; 2.5 is not an integer.
    let created = app
        .admin_ok(
            Method::POST,
            "/v1/admin/keys",
            Some(json!({"name": "float days", "role": "partner", "expires_in_days": 2.0})),
            None,
        )
        .await;
    assert!(created["expires_at"].is_string(), "{created}");
    let fraction = app
        .admin(
            Method::POST,
            "/v1/admin/keys",
            Some(json!({"name": "float days", "role": "partner", "expires_in_days": 2.5})),
            None,
        )
        .await;
    assert_problem(fraction, 422).await;
    // Timestamps are RFC 3339 with an offset, as `format: date-time` requires.
    let clinic = app
        .admin_ok(
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "Z"})),
            None,
        )
        .await;
    let created_at = clinic["created_at"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
        "{created_at}"
    );
    // An If-Match that is not one of the resource's tags (a quoted version from 1, as the
    // document's pattern says) names no version: the condition is false, nothing is written (412).
    let id = clinic["id"].as_i64().unwrap();
    for tag in ["", "1", "\"01\"", "\"0\"", "*", "0", "\"1\", \"2\""] {
        let response = app
            .request(Method::DELETE, &format!("/v1/clinics/{id}"))
            .bearer_auth(ADMIN_KEY)
            .header("If-Match", tag)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 412).await;
        assert_eq!(problem["code"], "precondition_failed", "{tag}");
        assert_eq!(problem["current_version"], 1, "{tag}");
    }
    let weak = app
        .request(Method::DELETE, &format!("/v1/clinics/{id}"))
        .bearer_auth(ADMIN_KEY)
        .header("If-Match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::NO_CONTENT);
}

// The OpenAPI document chains creates to reads for clients and stateful testers.
on_both_backends!(creates_link_to_their_reads);
async fn creates_link_to_their_reads(app: TestApp) {
    let spec = app.get_json("/openapi.json").await;
    let links = &spec["paths"]["/v1/clinics"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["get_clinic"]["operationId"], "get_clinic");
    assert_eq!(
        links["get_clinic"]["parameters"]["id"],
        "$response.body#/id"
    );
    assert_eq!(
        links["update_clinic"]["parameters"]["If-Match"],
        "$response.header.ETag"
    );
    let too_many = &spec["paths"]["/v1/treatments"]["get"]["responses"]["429"];
    assert!(too_many["headers"]["Retry-After"].is_object(), "{too_many}");
    // And the link works: the id and ETag a create returns read and update what it created.
    let created = app
        .admin(
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "Linked"})),
            None,
        )
        .await;
    let etag = header(&created, "etag").expect("ETag");
    let body: serde_json::Value = created.json().await.unwrap();
    let id = body["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/v1/clinics/{id}")).await.status(),
        StatusCode::OK
    );
    let updated = app
        .request(Method::PATCH, &format!("/v1/clinics/{id}"))
        .bearer_auth(ADMIN_KEY)
        .header("If-Match", etag)
        .json(&json!({"name": "Linked, renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
}
