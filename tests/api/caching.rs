//! HTTP caching of public reads: ETag, Cache-Control, 304 on If-None-Match; keyed and admin
//! responses and errors are never stored.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::{npi, TestApp, ADMIN_KEY};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

fn etag(response: &Response) -> String {
    header(response, "etag").expect("ETag")
}

async fn get_if_none_match(app: &TestApp, path: &str, tags: &str) -> Response {
    app.request(Method::GET, path)
        .header("If-None-Match", tags)
        .send()
        .await
        .unwrap()
}

async fn public_reads_carry_a_stable_etag_and_cache_control(app: TestApp) {
    let clinic = app.create_clinic("Cached Clinic").await;
    let path = format!("/v1/clinics/{clinic}");
    let first = app.get(&path).await;
    let second = app.get(&path).await;
    assert_eq!(first.status(), StatusCode::OK);
    // The version the admin API compares, then a hash of the body.
    let tag = etag(&first);
    assert!(tag.starts_with("\"1-") && tag.ends_with('"'), "{tag}");
    assert_eq!(etag(&second), tag, "identical requests, identical tags");
    assert_eq!(
        header(&first, "cache-control").as_deref(),
        Some("public, max-age=60")
    );
    for (path, cache_control) in [
        ("/v1/clinics", "public, max-age=60"),
        ("/v1/locations", "public, max-age=60"),
        ("/v1/providers", "public, max-age=60"),
        ("/v1/treatments", "public, max-age=3600"),
        ("/v1/specialties", "public, max-age=3600"),
        ("/openapi.json", "public, max-age=300"),
        (
            "/v1/search/providers?postal_code=10001",
            "public, max-age=30",
        ),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some(cache_control),
            "{path}"
        );
        let tag = etag(&response);
        assert_eq!(etag(&app.get(path).await), tag, "{path}");
    }
}

async fn a_matching_if_none_match_gets_304_without_a_body(app: TestApp) {
    let clinic = app.create_clinic("Conditional Clinic").await;
    let path = format!("/v1/clinics/{clinic}");
    let tag = etag(&app.get(&path).await);
    let weak = format!("W/{tag}");
    let listed = format!("\"stale\", {weak}");
    for tags in [tag.as_str(), "*", weak.as_str(), listed.as_str()] {
        let response = get_if_none_match(&app, &path, tags).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tags}");
        assert_eq!(etag(&response), tag, "{tags}");
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some("public, max-age=60")
        );
        assert!(response.bytes().await.unwrap().is_empty(), "{tags}");
    }
    let other = get_if_none_match(&app, &path, "\"1-0000000000000000\"").await;
    assert_eq!(other.status(), StatusCode::OK);
    let body: serde_json::Value = other.json().await.unwrap();
    assert_eq!(body["name"], "Conditional Clinic");
}

async fn writes_change_the_tag_and_if_match_takes_it(app: TestApp) {
    let clinic = app.create_clinic("Before").await;
    let path = format!("/v1/clinics/{clinic}");
    let before = etag(&app.get(&path).await);
    // The tag a public read gave out is good for an update's If-Match.
    let updated = app
        .request(Method::PATCH, &path)
        .bearer_auth(ADMIN_KEY)
        .header("If-Match", &before)
        .json(&json!({"name": "After"}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let after = etag(&app.get(&path).await);
    assert_ne!(after, before);
    assert!(after.starts_with("\"2-"), "{after}");
    let stale = get_if_none_match(&app, &path, &before).await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(
        stale.json::<serde_json::Value>().await.unwrap()["name"],
        "After"
    );
    // And a stale public tag in If-Match is refused like a stale version.
    let refused = app
        .request(Method::PATCH, &path)
        .bearer_auth(ADMIN_KEY)
        .header("If-Match", &before)
        .json(&json!({"name": "Again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);

    // A new location changes what the clinic shows (its location ids) but not its version: the
    // tag follows the body, not only the version.
    app.create_location(clinic, 40.75, -73.99, "America/New_York")
        .await;
    let with_location = app.get(&path).await;
    let tag = etag(&with_location);
    assert!(tag.starts_with("\"2-"), "{tag}");
    assert_ne!(tag, after);
    assert_eq!(
        get_if_none_match(&app, &path, &after).await.status(),
        StatusCode::OK
    );
    // Lists change with their items too.
    let list = etag(&app.get("/v1/clinics").await);
    app.create_clinic("Another").await;
    assert_ne!(etag(&app.get("/v1/clinics").await), list);
}

async fn keyed_reads_and_errors_are_not_stored(app: TestApp) {
    let clinic = app.create_clinic("Keyed").await;
    for path in [
        format!("/v1/clinics/{clinic}"),
        "/v1/admin/providers".to_owned(),
        "/v1/treatments".to_owned(),
    ] {
        let response = app
            .request(Method::GET, &path)
            .bearer_auth(ADMIN_KEY)
            .header("If-None-Match", "*")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
    }
    // Admin reads are never publicly cacheable, with or without a key.
    let unkeyed_admin = app.get("/v1/admin/providers").await;
    assert_eq!(unkeyed_admin.status(), StatusCode::UNAUTHORIZED);
    assert_ne!(
        header(&unkeyed_admin, "cache-control").as_deref(),
        Some("public, max-age=60")
    );
    assert!(header(&unkeyed_admin, "etag").is_none());
    // An error on a public path: no-store, no tag, and If-None-Match: * does not make it a 304.
    let missing = get_if_none_match(&app, "/v1/clinics/999999", "*").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header(&missing, "cache-control").as_deref(),
        Some("no-store")
    );
    assert!(header(&missing, "etag").is_none());
    let invalid = app.get("/v1/search/providers?lat=91&lon=0").await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        header(&invalid, "cache-control").as_deref(),
        Some("no-store")
    );
}

async fn geojson_and_json_search_have_different_tags(app: TestApp) {
    let clinic = app.create_clinic("Map Clinic").await;
    let location = app
        .create_location(clinic, 40.7507, -73.9973, "America/New_York")
        .await;
    app.public_provider(&npi(300), "2084N0400X", location, "chronic_migraine")
        .await;
    let path = "/v1/search/locations?postal_code=10001&treatment=chronic_migraine";
    let search = |accept: &'static str| {
        app.request(Method::GET, path)
            .header("Accept", accept)
            .send()
    };
    let json = search("application/json").await.unwrap();
    let geojson = search("application/geo+json").await.unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    assert_eq!(
        header(&geojson, "content-type").as_deref(),
        Some("application/geo+json")
    );
    for response in [&json, &geojson] {
        let vary = header(response, "vary").unwrap_or_default();
        assert!(vary.contains("Accept"), "{vary}");
    }
    let (json_tag, geojson_tag) = (etag(&json), etag(&geojson));
    assert_ne!(json_tag, geojson_tag);
    let body: serde_json::Value = geojson.json().await.unwrap();
    assert_eq!(body["features"].as_array().unwrap().len(), 1);
    // The JSON tag does not validate the GeoJSON representation.
    let geojson_again = app
        .request(Method::GET, path)
        .header("Accept", "application/geo+json")
        .header("If-None-Match", &json_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(geojson_again.status(), StatusCode::OK);
    let json_again = app
        .request(Method::GET, path)
        .header("Accept", "application/json")
        .header("If-None-Match", &json_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(json_again.status(), StatusCode::NOT_MODIFIED);
}

on_both_backends!(
    public_reads_carry_a_stable_etag_and_cache_control,
    a_matching_if_none_match_gets_304_without_a_body,
    writes_change_the_tag_and_if_match_takes_it,
    keyed_reads_and_errors_are_not_stored,
    geojson_and_json_search_have_different_tags,
);
