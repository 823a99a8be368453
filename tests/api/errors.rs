//! Bad input gets a clear 4xx problem+json, never a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, npi, pointers, TestApp, ADMIN_KEY};

fn provider_body(npi: &str) -> serde_json::Value {
    json!({"npi": npi, "given_name": "Ada", "family_name": "Lovelace", "degree": "MD", "primary_specialty_code": "2084N0400X"})
}

async fn npi_validation_names_the_field(app: TestApp) {
    for (bad, code) in [
        ("1234567890", "npi_check_digit"),
        ("123456789", "npi_length"),
        ("12345678901", "npi_length"),
        ("12345abcde", "npi_digits"),
    ] {
        let problem = assert_problem(
            app.admin(
                Method::POST,
                "/v1/providers",
                Some(provider_body(bad)),
                None,
            )
            .await,
            422,
        )
        .await;
        assert_eq!(pointers(&problem), vec!["/npi"], "{bad}");
        assert_eq!(problem["errors"][0]["code"], code, "{bad}");
        assert_eq!(problem["errors"][0]["in"], "body");
    }
    let created = app
        .admin(
            Method::POST,
            "/v1/providers",
            Some(provider_body("1234567893")),
            None,
        )
        .await;
    assert_eq!(created.status(), 201);
    let created = app
        .admin(
            Method::POST,
            "/v1/providers",
            Some(provider_body(&npi(77))),
            None,
        )
        .await;
    assert_eq!(created.status(), 201);
}

async fn malformed_json_wrong_type_and_unknown_fields(app: TestApp) {
    let response = app
        .request(Method::POST, "/v1/clinics")
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_problem(response, 400).await["code"],
        "malformed_body"
    );

    let problem = assert_problem(
        app.admin(Method::POST, "/v1/clinics", Some(json!({"name": 42})), None)
            .await,
        422,
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/name"]);
    assert_eq!(problem["errors"][0]["code"], "invalid_type");

    // Mass assignment: vetting state, version and id are not fields of a create.
    for field in ["vetting_status", "version", "id", "verified_at"] {
        let mut body = provider_body(&npi(10));
        body[field] = json!("verified");
        let problem = assert_problem(
            app.admin(Method::POST, "/v1/providers", Some(body), None)
                .await,
            422,
        )
        .await;
        assert_eq!(pointers(&problem), vec![format!("/{field}")]);
        assert_eq!(problem["errors"][0]["code"], "unknown_field");
    }

    let problem = assert_problem(
        app.admin(Method::POST, "/v1/clinics", Some(json!({})), None)
            .await,
        422,
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/name"]);
    assert_eq!(problem["errors"][0]["code"], "required");
}

async fn wrong_content_type_and_oversized_body(app: TestApp) {
    let response = app
        .request(Method::POST, "/v1/clinics")
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "text/plain")
        .body("{\"name\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415).await;

    let huge = json!({"name": "x", "description": "a".repeat(200 * 1024)});
    assert_problem(
        app.admin(Method::POST, "/v1/clinics", Some(huge), None)
            .await,
        413,
    )
    .await;
}

async fn unknown_enum_values_and_out_of_range_coordinates(app: TestApp) {
    let mut body = provider_body(&npi(11));
    body["degree"] = json!("Wizard");
    let problem = assert_problem(
        app.admin(Method::POST, "/v1/providers", Some(body), None)
            .await,
        422,
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/degree"]);
    assert_eq!(problem["errors"][0]["code"], "unknown_value");

    let clinic = app.create_clinic("Bounds").await;
    let location = |lat: f64, lon: f64| {
        json!({"clinic_id": clinic, "address_line1": "1 St", "city": "X", "state": "NY", "postal_code": "10001",
               "latitude": lat, "longitude": lon, "timezone": "America/New_York"})
    };
    let problem = assert_problem(
        app.admin(
            Method::POST,
            "/v1/locations",
            Some(location(91.0, 0.0)),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/latitude"]);
    let problem = assert_problem(
        app.admin(
            Method::POST,
            "/v1/locations",
            Some(location(0.0, -181.0)),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/longitude"]);
    let mut bad = location(40.0, -74.0);
    bad["timezone"] = json!("Mars/Olympus_Mons");
    bad["state"] = json!("ZZ");
    bad["opening_hours"] = json!({"mon": [{"opens": "18:00", "closes": "09:00"}]});
    let problem = assert_problem(
        app.admin(Method::POST, "/v1/locations", Some(bad), None)
            .await,
        422,
    )
    .await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(found, vec!["/opening_hours/mon/0", "/state", "/timezone"]);
    // NaN cannot be written in JSON: a body that tries is malformed, not a crash.
    let response = app
        .request(Method::POST, "/v1/locations")
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(format!("{{\"clinic_id\": {clinic}, \"latitude\": NaN}}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 400).await;
}

async fn list_paging_limits_and_cursors(app: TestApp) {
    for name in ["A", "B", "C"] {
        app.create_clinic(name).await;
    }
    let first = app.get_json("/v1/clinics?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_json(&format!("/v1/clinics?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["items"][0]["name"], "C");
    assert!(second.get("next_cursor").is_none());

    for bad in [
        "limit=0",
        "limit=-1",
        "limit=101",
        "limit=99999999999999999999",
        "limit=abc",
        "cursor=garbage!!",
        "cursor=bG9jYXRpb25zOjE",
    ] {
        let problem = assert_problem(app.get(&format!("/v1/clinics?{bad}")).await, 422).await;
        let parameter = bad.split('=').next().unwrap();
        assert_eq!(pointers(&problem), vec![format!("/{parameter}")], "{bad}");
        assert_eq!(problem["errors"][0]["in"], "query");
    }
    let problem = assert_problem(app.get("/v1/clinics?colour=blue").await, 422).await;
    assert_eq!(problem["errors"][0]["code"], "unknown_parameter");
}

async fn unknown_ids_routes_and_methods(app: TestApp) {
    assert_eq!(
        assert_problem(app.get("/v1/clinics/999999").await, 404).await["code"],
        "not_found"
    );
    let problem = assert_problem(app.get("/v1/clinics/not-a-number").await, 422).await;
    assert_eq!(problem["errors"][0]["in"], "path");
    assert_problem(app.get("/v1/clinics/99999999999999999999999").await, 422).await;
    assert_eq!(
        assert_problem(app.get("/v1/nothing-here").await, 404).await["code"],
        "route_not_found"
    );
    let response = app
        .request(Method::PUT, "/v1/clinics")
        .send()
        .await
        .unwrap();
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        assert_problem(response, 405).await["code"],
        "method_not_allowed"
    );
    assert_eq!(allow, "GET, POST, HEAD, OPTIONS");
}

async fn request_ids_are_echoed(app: TestApp) {
    let response = app
        .request(Method::GET, "/v1/clinics/424242")
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "trace-abc-123"
    );
    let problem = assert_problem(response, 404).await;
    assert_eq!(problem["request_id"], "trace-abc-123");
}

on_both_backends!(
    npi_validation_names_the_field,
    malformed_json_wrong_type_and_unknown_fields,
    wrong_content_type_and_oversized_body,
    unknown_enum_values_and_out_of_range_coordinates,
    list_paging_limits_and_cursors,
    unknown_ids_routes_and_methods,
    request_ids_are_echoed,
);
