//! Create, read, update and delete every resource; what the public sees; versions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, npi, TestApp, ADMIN_KEY};

async fn clinic_round_trip(app: TestApp) {
    let created = app
        .admin_ok(
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "Hudson Neurology", "website": "https://example-hudson.com"})),
            None,
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["version"], 1);

    let fetched = app.get_json(&format!("/v1/clinics/{id}")).await;
    assert_eq!(fetched["name"], "Hudson Neurology");
    assert_eq!(fetched["website"], "https://example-hudson.com");

    let updated = app
        .admin_ok(
            Method::PATCH,
            &format!("/v1/clinics/{id}"),
            Some(json!({"name": "Hudson Neurology & Headache", "website": null})),
            Some(1),
        )
        .await;
    assert_eq!(updated["version"], 2);
    assert!(
        updated.get("website").is_none(),
        "null clears the website: {updated}"
    );
    assert_eq!(
        app.get_json(&format!("/v1/clinics/{id}")).await["name"],
        "Hudson Neurology & Headache"
    );

    let list = app.get_json("/v1/clinics?limit=10").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    app.admin_ok(Method::DELETE, &format!("/v1/clinics/{id}"), None, None)
        .await;
    assert_problem(app.get(&format!("/v1/clinics/{id}")).await, 404).await;
}

async fn location_round_trip_and_cascade(app: TestApp) {
    let clinic = app.create_clinic("Lakeside Pain & Spine").await;
    let location = app
        .create_location(clinic, 41.88, -87.63, "America/Chicago")
        .await;
    let fetched = app.get_json(&format!("/v1/locations/{location}")).await;
    assert_eq!(fetched["coordinates"]["lat"], 41.88);
    assert_eq!(fetched["timezone"], "America/Chicago");
    assert_eq!(fetched["opening_hours"]["mon"][0]["opens"], "09:00");

    let moved = app
        .admin_ok(
            Method::PATCH,
            &format!("/v1/locations/{location}"),
            Some(json!({"latitude": 41.9, "city": "Chicago"})),
            Some(1),
        )
        .await;
    assert_eq!(moved["coordinates"]["lat"], 41.9);
    assert_eq!(moved["address"]["city"], "Chicago");

    let by_clinic = app
        .get_json(&format!("/v1/locations?clinic_id={clinic}"))
        .await;
    assert_eq!(by_clinic["items"][0]["id"], location);

    // Deleting the clinic deletes its locations.
    app.admin_ok(Method::DELETE, &format!("/v1/clinics/{clinic}"), None, None)
        .await;
    assert_problem(app.get(&format!("/v1/locations/{location}")).await, 404).await;
}

async fn provider_profile_shows_verified_credentials_only(app: TestApp) {
    let clinic = app.create_clinic("Midtown Neurology").await;
    let location = app
        .create_location(clinic, 40.75, -73.99, "America/New_York")
        .await;
    let provider = app.create_provider(&npi(1), "2084N0400X").await;

    // Unvetted: not public.
    assert_problem(app.get(&format!("/v1/providers/{provider}")).await, 404).await;
    assert_eq!(
        app.get_json("/v1/providers").await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let licence = app.verified_licence(provider, "2099-12-31").await;
    let unverified = app
        .add_credential(provider, json!({"kind": "board_certification", "issuer": "American Board of Psychiatry and Neurology", "specialty_code": "2084N0400X"}))
        .await;
    app.approve(provider).await;
    app.link(provider, location).await;
    app.offer(provider, "chronic_migraine").await;

    let profile = app.get_json(&format!("/v1/providers/{provider}")).await;
    let credential_ids: Vec<i64> = profile["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        credential_ids,
        vec![licence],
        "the unverified certification {unverified} is hidden"
    );
    assert_eq!(
        profile["credentials"][0]["verification_source_type"],
        "state_medical_board"
    );
    assert!(profile["credentials"][0]["verified_at"].is_string());
    assert_eq!(profile["credentials"][0]["next_due_on"], "2099-12-31");
    assert_eq!(profile["listed_in_search"], true);
    assert_eq!(profile["treatments"][0]["code"], "chronic_migraine");
    assert_eq!(profile["location_ids"], json!([location]));
    assert!(profile.get("vetting_status").is_none() && profile.get("version").is_none());
    assert_eq!(
        app.get_json(&format!("/v1/locations/{location}")).await["provider_ids"],
        json!([provider])
    );

    // Admin view sees everything.
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["credentials"].as_array().unwrap().len(), 2);
    assert_eq!(admin["vetting_status"], "verified");
}

async fn credential_update_returns_it_to_unverified_and_delete_removes_it(app: TestApp) {
    let provider = app.create_provider(&npi(2), "207N00000X").await;
    let licence = app.verified_licence(provider, "2099-12-31").await;
    let updated = app
        .admin_ok(
            Method::PATCH,
            &format!("/v1/credentials/{licence}"),
            Some(json!({"expires_on": "2098-01-01"})),
            Some(2),
        )
        .await;
    assert_eq!(updated["verification_status"], "unverified");
    assert!(updated.get("verified_at").is_none());
    assert_eq!(updated["version"], 3);
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/credentials/{licence}"),
        None,
        None,
    )
    .await;
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["credentials"], json!([]));
}

async fn provider_update_and_delete(app: TestApp) {
    let provider = app.create_provider(&npi(3), "2084N0400X").await;
    let updated = app
        .admin_ok(
            Method::PATCH,
            &format!("/v1/providers/{provider}"),
            Some(json!({"languages": ["en", "es"], "other_specialty_codes": ["2081P2900X"]})),
            Some(1),
        )
        .await;
    assert_eq!(updated["languages"], json!(["en", "es"]));
    assert_eq!(updated["other_specialty_codes"], json!(["2081P2900X"]));
    assert_eq!(updated["vetting_status"], "pending");
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/providers/{provider}"),
        None,
        None,
    )
    .await;
    assert_problem(
        app.admin(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
}

async fn links_and_treatments_round_trip(app: TestApp) {
    let clinic = app.create_clinic("Link Clinic").await;
    let location = app
        .create_location(clinic, 40.0, -75.0, "America/New_York")
        .await;
    let provider = app.create_provider(&npi(4), "208800000X").await;
    app.link(provider, location).await;
    app.link(provider, location).await; // idempotent
    let offered = app
        .admin_ok(
            Method::PUT,
            &format!("/v1/providers/{provider}/treatments/overactive_bladder"),
            Some(json!({"annual_volume": 120})),
            None,
        )
        .await;
    assert_eq!(
        offered,
        json!({"code": "overactive_bladder", "label_status": "on_label", "annual_volume": 120})
    );
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["location_ids"], json!([location]));
    assert_eq!(admin["treatments"][0]["annual_volume"], 120);

    app.admin_ok(
        Method::DELETE,
        &format!("/v1/providers/{provider}/locations/{location}"),
        None,
        None,
    )
    .await;
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/providers/{provider}/treatments/overactive_bladder"),
        None,
        None,
    )
    .await;
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["location_ids"], json!([]));
    assert_eq!(admin["treatments"], json!([]));
    assert_problem(
        app.admin(
            Method::DELETE,
            &format!("/v1/providers/{provider}/locations/{location}"),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
}

async fn writes_need_a_valid_key(app: TestApp) {
    let response = app
        .request(Method::POST, "/v1/clinics")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("www-authenticate").is_some());
    assert_problem(response, 401).await;
    let wrong = app
        .with_key(
            "not-the-key-0000000000000000000000000000",
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "x"})),
            None,
        )
        .await;
    assert_problem(wrong, 401).await;
    let ok = app
        .with_key(
            ADMIN_KEY,
            Method::POST,
            "/v1/clinics",
            Some(json!({"name": "x"})),
            None,
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}

async fn two_updates_with_the_same_version_one_wins(app: TestApp) {
    let clinic = app.create_clinic("Race Clinic").await;
    let path = format!("/v1/clinics/{clinic}");
    let first = app.admin(
        Method::PATCH,
        &path,
        Some(json!({"name": "First"})),
        Some(1),
    );
    let second = app.admin(
        Method::PATCH,
        &path,
        Some(json!({"name": "Second"})),
        Some(1),
    );
    let (first, second) = futures_util::future::join(first, second).await;
    let mut statuses = vec![first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412]);
    let stale = if first.status() == StatusCode::PRECONDITION_FAILED {
        first
    } else {
        second
    };
    let problem = assert_problem(stale, 412).await;
    assert_eq!(problem["current_version"], 2);

    // No If-Match at all: 428.
    assert_problem(
        app.admin(
            Method::PATCH,
            &format!("/v1/clinics/{clinic}"),
            Some(json!({"name": "Third"})),
            None,
        )
        .await,
        428,
    )
    .await;
}

async fn duplicate_npi_is_a_conflict(app: TestApp) {
    app.create_provider(&npi(5), "2084N0400X").await;
    let body = json!({"npi": npi(5), "given_name": "A", "family_name": "B", "degree": "DO", "primary_specialty_code": "2084N0400X"});
    let problem = assert_problem(
        app.admin(Method::POST, "/v1/providers", Some(body), None)
            .await,
        409,
    )
    .await;
    assert_eq!(problem["code"], "duplicate");
    assert!(
        problem["detail"].as_str().unwrap().contains("npi"),
        "{problem}"
    );
}

#[actix_web::test]
async fn migrations_apply_to_an_empty_database_and_restart_cleanly() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("restart.sqlite3");
    let url = path.to_str().unwrap();
    let timeout = std::time::Duration::from_secs(5);
    let database =
        clinic_finder::db::Database::connect(url, 1, timeout).expect("fresh database migrates");
    let mut connection = database.connection().unwrap();
    let treatments = clinic_finder::db::taxonomy::treatments(&mut connection).unwrap();
    assert_eq!(treatments.len(), 16);
    drop(connection);
    drop(database);
    // A second start on the same file finds nothing to do and keeps the data.
    let database =
        clinic_finder::db::Database::connect(url, 1, timeout).expect("existing database opens");
    let mut connection = database.connection().unwrap();
    assert_eq!(
        clinic_finder::db::taxonomy::treatments(&mut connection)
            .unwrap()
            .len(),
        16
    );
}

on_both_backends!(
    clinic_round_trip,
    location_round_trip_and_cascade,
    provider_profile_shows_verified_credentials_only,
    credential_update_returns_it_to_unverified_and_delete_removes_it,
    provider_update_and_delete,
    links_and_treatments_round_trip,
    writes_need_a_valid_key,
    two_updates_with_the_same_version_one_wins,
    duplicate_npi_is_a_conflict,
);
