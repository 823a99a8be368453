//! The safety rules search applies: a provider is listed at a location only with a counting
//! licence for that location's state; a credential overdue for re-verification past the grace no
//! longer counts; the `label` filter; admins find providers by NPI, name and source.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{eventually, npi, TestApp};

async fn location_in(app: &TestApp, clinic: i64, state: &str, lat: f64, lon: f64) -> i64 {
    let body = json!({"clinic_id": clinic, "address_line1": "1 Main St", "city": "Somewhere", "state": state,
        "postal_code": "10001", "latitude": lat, "longitude": lon, "timezone": "America/New_York"});
    app.admin_ok(Method::POST, "/v1/locations", Some(body), None)
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn licence_in(app: &TestApp, provider: i64, state: &str, body_extra: Value) -> i64 {
    let mut body = json!({"kind": "state_license", "issuer": format!("{state} board"), "jurisdiction": state,
        "identifier": format!("{state}-1"), "expires_on": "2099-12-31"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), body_extra.as_object()) {
        body.extend(extra.clone());
    }
    app.add_credential(provider, body).await
}

fn found(body: &Value, provider: i64) -> bool {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["provider"]["id"] == provider)
}

async fn listed_only_where_licensed(app: TestApp) {
    let clinic = app.create_clinic("Hudson Neurology").await;
    let manhattan = location_in(&app, clinic, "NY", 40.7506, -73.9972).await;
    let hoboken = location_in(&app, clinic, "NJ", 40.7440, -74.0324).await;
    let provider = app.create_provider(&npi(61), "2084N0400X").await;
    let nj = licence_in(&app, provider, "NJ", json!({})).await;
    app.verify_credential(nj, "state_medical_board").await;
    app.approve(provider).await;
    app.link(provider, manhattan).await;
    app.link(provider, hoboken).await;
    app.offer(provider, "chronic_migraine").await;

    let query =
        "/v1/search/providers?lat=40.7506&lon=-73.9972&radius=10&treatment=chronic_migraine";
    let body = app.get_json(query).await;
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(
        results[0]["location"]["location_id"], hoboken,
        "listed in New Jersey only"
    );
    let locations = app
        .get_json("/v1/search/locations?lat=40.7506&lon=-73.9972&radius=10")
        .await;
    let ids: Vec<i64> = locations["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"]["location_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![hoboken],
        "the Manhattan site has nobody licensed in New York"
    );

    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    let listing = admin["listing"].as_array().unwrap();
    let at = |id: i64| {
        listing
            .iter()
            .find(|l| l["location_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(at(hoboken)["listed"], true);
    assert_eq!(at(manhattan)["listed"], false);
    assert_eq!(at(manhattan)["reason"], "no verified state licence for NY");
    // The public location pages agree with search.
    let listed_at = |location: Value| -> Vec<i64> {
        location["provider_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        listed_at(app.get_json(&format!("/v1/locations/{hoboken}")).await),
        vec![provider]
    );
    assert!(listed_at(app.get_json(&format!("/v1/locations/{manhattan}")).await).is_empty());

    // A verified New York licence lists the provider at Manhattan too.
    let ny = licence_in(&app, provider, "NY", json!({})).await;
    app.verify_credential(ny, "state_medical_board").await;
    let body = app.get_json(query).await;
    assert_eq!(
        body["results"][0]["location"]["location_id"], manhattan,
        "{body}"
    );
    assert_eq!(
        listed_at(app.get_json(&format!("/v1/locations/{manhattan}")).await),
        vec![provider]
    );
    // An NPPES licence claim is not a primary source for a licence.
    let claim = licence_in(
        &app,
        provider,
        "CT",
        json!({"issuer": "NPPES (self-reported)"}),
    )
    .await;
    let refused = app
        .admin(
            Method::POST,
            &format!("/v1/credentials/{claim}/verification"),
            Some(json!({"outcome": "verified", "source_type": "nppes", "reference": "NPPES", "reason": "self-reported"})),
            Some(1),
        )
        .await;
    let problem = crate::helpers::assert_problem(refused, 422).await;
    assert_eq!(problem["errors"][0]["code"], "not_a_primary_source");
}

async fn overdue_reverification_stops_counting_after_the_grace(app: TestApp) {
    let clinic = app.create_clinic("Overdue Clinic").await;
    let location = app
        .create_location(clinic, 40.7506, -73.9972, "America/New_York")
        .await;
    let provider = app.create_provider(&npi(62), "2084N0400X").await;
    let licence = licence_in(&app, provider, "NY", json!({})).await;
    let due = (app.clock.now() + Duration::days(10)).date_naive();
    app.admin_ok(
        Method::POST,
        &format!("/v1/credentials/{licence}/verification"),
        Some(json!({"outcome": "verified", "source_type": "state_medical_board", "reference": "https://example.org",
            "next_due_on": due, "reason": "checked"})),
        Some(1),
    )
    .await;
    app.approve(provider).await;
    app.link(provider, location).await;
    app.offer(provider, "chronic_migraine").await;
    let query = "/v1/search/providers?postal_code=10001&treatment=chronic_migraine";
    assert!(found(&app.get_json(query).await, provider));

    // Due, and 29 days into the 30-day grace: still counts, in the queue but not overdue.
    app.advance_clock(Duration::days(10 + 29));
    assert!(found(&app.get_json(query).await, provider));
    let queue = app
        .admin_ok(
            Method::GET,
            "/v1/admin/queue/expiring?within_days=30",
            None,
            None,
        )
        .await;
    let entry = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == licence)
        .unwrap()
        .clone();
    assert!(entry.get("reverification_overdue").is_none(), "{entry}");

    // Past the grace: out of search, and the queue says overdue; the profile says not listed.
    app.advance_clock(Duration::days(2));
    assert!(!found(&app.get_json(query).await, provider));
    let queue = app
        .admin_ok(
            Method::GET,
            "/v1/admin/queue/expiring?within_days=30",
            None,
            None,
        )
        .await;
    let entry = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == licence)
        .unwrap()
        .clone();
    assert_eq!(entry["reverification_overdue"], true);
    let profile = app.get_json(&format!("/v1/providers/{provider}")).await;
    assert_eq!(profile["listed_in_search"], false);
    assert!(profile["credentials"].as_array().unwrap().is_empty());
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert!(
        admin["listing"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("overdue"),
        "{admin}"
    );
}

async fn a_longer_grace_keeps_counting(app: TestApp) {
    let replica = app
        .replica(|settings| settings.reverify_grace_days = 90)
        .await;
    let clinic = app.create_clinic("Grace Clinic").await;
    let location = app
        .create_location(clinic, 40.7506, -73.9972, "America/New_York")
        .await;
    let provider = app.create_provider(&npi(63), "2084N0400X").await;
    let licence = licence_in(&app, provider, "NY", json!({})).await;
    let due = app.clock.now().date_naive();
    app.admin_ok(
        Method::POST,
        &format!("/v1/credentials/{licence}/verification"),
        Some(json!({"outcome": "verified", "source_type": "state_medical_board", "reference": "https://example.org",
            "next_due_on": due, "reason": "checked"})),
        Some(1),
    )
    .await;
    app.approve(provider).await;
    app.link(provider, location).await;
    app.advance_clock(Duration::days(45));
    let query = "/v1/search/providers?postal_code=10001";
    eventually(&replica, query, "90 days of grace: still listed", |body| {
        found(body, provider)
    })
    .await;
    assert!(
        !found(&app.get_json(query).await, provider),
        "30 days of grace: not listed"
    );
}

async fn label_filter_and_labels_in_results(app: TestApp) {
    let clinic = app.create_clinic("Label Clinic").await;
    let location = app
        .create_location(clinic, 40.7506, -73.9972, "America/New_York")
        .await;
    let on_label = app
        .public_provider(&npi(64), "2084N0400X", location, "chronic_migraine")
        .await;
    let cosmetic = app
        .public_provider(&npi(65), "207N00000X", location, "glabellar_lines")
        .await;
    let ids = |body: &Value| -> Vec<i64> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["provider"]["id"].as_i64().unwrap())
            .collect()
    };
    let all = app.get_json("/v1/search/providers?postal_code=10001").await;
    assert_eq!(ids(&all).len(), 2);
    let on = app
        .get_json("/v1/search/providers?postal_code=10001&label=on_label")
        .await;
    assert_eq!(ids(&on), vec![on_label]);
    assert_eq!(on["meta"]["filters"]["label"], json!(["on_label"]));
    assert_eq!(
        on["results"][0]["provider"]["treatment_labels"],
        json!([{"code": "chronic_migraine", "label_status": "on_label"}])
    );
    let cosmetic_only = app
        .get_json("/v1/search/providers?postal_code=10001&label=cosmetic")
        .await;
    assert_eq!(ids(&cosmetic_only), vec![cosmetic]);
    let none = app
        .get_json("/v1/search/providers?postal_code=10001&treatment=glabellar_lines&label=on_label")
        .await;
    assert!(ids(&none).is_empty());
    let profile = app.get_json(&format!("/v1/providers/{cosmetic}")).await;
    assert_eq!(profile["treatments"][0]["label_status"], "cosmetic");
    let bad = app
        .get("/v1/search/providers?postal_code=10001&label=maybe")
        .await;
    let problem = crate::helpers::assert_problem(bad, 422).await;
    assert_eq!(problem["errors"][0]["pointer"], "/label");
}

async fn admins_find_providers_by_npi_name_and_source(app: TestApp) {
    let okafor = app.create_provider(&npi(66), "2084N0400X").await;
    app.admin_ok(
        Method::PATCH,
        &format!("/v1/providers/{okafor}"),
        Some(json!({"given_name": "Maya", "family_name": "O'Kafor-Smith"})),
        Some(1),
    )
    .await;
    app.create_provider(&npi(67), "2084N0400X").await;
    let ids = |body: Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    let by_npi = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers?npi={}", npi(66)),
            None,
            None,
        )
        .await;
    assert_eq!(ids(by_npi), vec![okafor]);
    let by_name = app
        .admin_ok(
            Method::GET,
            "/v1/admin/providers?q=maya%20o%27kafor",
            None,
            None,
        )
        .await;
    assert_eq!(ids(by_name), vec![okafor]);
    let wildcard = app
        .admin_ok(Method::GET, "/v1/admin/providers?q=%25%25", None, None)
        .await;
    assert!(ids(wildcard).is_empty(), "% is a character, not a wildcard");
    let manual = app
        .admin_ok(Method::GET, "/v1/admin/providers?source=manual", None, None)
        .await;
    assert_eq!(ids(manual).len(), 2);
    let bad = app
        .admin(
            Method::GET,
            "/v1/admin/providers?source=fax&npi=12",
            None,
            None,
        )
        .await;
    let problem = crate::helpers::assert_problem(bad, 422).await;
    assert_eq!(crate::helpers::pointers(&problem), vec!["/npi", "/source"]);
}

on_both_backends!(
    listed_only_where_licensed,
    overdue_reverification_stops_counting_after_the_grace,
    a_longer_grace_keeps_counting,
    label_filter_and_labels_in_results,
    admins_find_providers_by_npi_name_and_source,
);
