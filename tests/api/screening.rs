//! Exclusion screening against the OIG LEIE: an NPI hit excludes at once (audited by the service,
//! naming the source row) and leaves search on every process; `0000000000` never matches; name
//! and date of birth go to the reviewer queue, name and state to a weaker entry; both
//! resolutions; reinstatements and waivers. And the date of birth: admin-only, redacted in the
//! audit trail, never public.

use chrono::NaiveDate;
use clinic_finder::directory::Principal;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{eventually, npi, TestApp};

const LEIE: &str = include_str!("../fixtures/leie_sample.csv");
/// JOHN ANTHONY MARSH's NPI on the list (an optician in Georgia).
const LISTED_NPI: &str = "1548489156";

fn load_leie(app: &TestApp, text: &str, supplement: bool) {
    let rows = clinic_finder::import::leie::read(text.as_bytes()).expect("LEIE rows");
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let by = Principal::import(chrono::Utc::now());
    clinic_finder::directory::exclusions::import(
        &mut connection,
        &by,
        "oig_leie",
        NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        "UPDATED.csv",
        rows,
        supplement,
    )
    .expect("the list loads");
    let system = Principal::system(chrono::Utc::now());
    clinic_finder::directory::screening::screen_all(&mut connection, &system, |_| {})
        .expect("screening runs");
}

async fn provider_named(app: &TestApp, n: u32, given: &str, family: &str, extra: Value) -> i64 {
    let mut body = json!({"npi": npi(n), "given_name": given, "family_name": family, "degree": "MD",
        "primary_specialty_code": "2084N0400X"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.admin_ok(Method::POST, "/v1/providers", Some(body), None)
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn queue(app: &TestApp) -> Vec<Value> {
    app.admin_ok(Method::GET, "/v1/admin/queue/screening", None, None)
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn an_npi_hit_excludes_and_leaves_search_everywhere(app: TestApp) {
    let replica = app.replica(|_| {}).await;
    let clinic = app.create_clinic("Listed Clinic").await;
    let location = app
        .create_location(clinic, 40.7506, -73.9972, "America/New_York")
        .await;
    let listed = app
        .public_provider(LISTED_NPI, "2084N0400X", location, "chronic_migraine")
        .await;
    let clean = app
        .public_provider(&npi(70), "2084N0400X", location, "chronic_migraine")
        .await;
    let query = "/v1/search/providers?postal_code=10001&treatment=chronic_migraine";
    let ids = |body: Value| -> Vec<i64> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["provider"]["id"].as_i64().unwrap())
            .collect()
    };
    eventually(
        &replica,
        query,
        "both providers reach the replica",
        |body| ids(body.clone()).len() == 2,
    )
    .await;
    let profile = app.get_json(&format!("/v1/providers/{clean}")).await;
    assert_eq!(
        profile["screening"],
        json!({"sources": [], "status": "not_screened"})
    );

    load_leie(&app, LEIE, false);

    // Excluded, by the service, naming the source row.
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{listed}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["vetting_status"], "excluded");
    let audit = app
        .admin_ok(
            Method::GET,
            &format!(
                "/v1/admin/audit?target_type=provider&target_id={listed}&action=provider.exclude"
            ),
            None,
            None,
        )
        .await;
    let event = &audit["items"][0];
    assert_eq!(event["actor_role"], "system");
    assert_eq!(event["before"]["vetting_status"], "verified");
    assert_eq!(event["after"]["vetting_status"], "excluded");
    let reason = event["reason"].as_str().unwrap();
    assert!(
        reason.contains("OIG LEIE row")
            && reason.contains("MARSH, JOHN")
            && reason.contains("1128a1"),
        "{reason}"
    );
    // Out of search on every process (the import and the screening ran as another process, as
    // the CLI does): each learns of it through the change feed.
    for process in [&app, &replica] {
        eventually(
            process,
            query,
            "the excluded provider leaves search",
            |body| ids(body.clone()) == vec![clean],
        )
        .await;
    }
    // The others are clear as of the list's date, on both processes.
    let expected = json!({"sources": ["OIG LEIE"], "as_of": "2026-07-01", "status": "clear"});
    assert_eq!(
        app.get_json(&format!("/v1/providers/{clean}")).await["screening"],
        expected
    );
    eventually(&replica, query, "the replica shows the screening", |body| {
        body["results"][0]["provider"]["screening"] == expected
    })
    .await;
    // The history shows the confirmed match; a reviewer can only move it back to pending.
    let history = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{listed}/screening"),
            None,
            None,
        )
        .await;
    assert_eq!(history["matches"][0]["rule"], "npi");
    assert_eq!(history["matches"][0]["status"], "confirmed");
    assert_eq!(history["lists"][0]["source"], "OIG LEIE");
    let refused = app.transition(listed, "verified").await;
    let problem = crate::helpers::assert_problem(refused, 409).await;
    assert_eq!(problem["allowed"], json!(["pending"]), "{problem}");
    // Not even back to pending while the row stands…
    let refused = app.transition(listed, "pending").await;
    let problem = crate::helpers::assert_problem(refused, 409).await;
    assert_eq!(problem["code"], "exclusion_standing", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("OIG LEIE row"),
        "{problem}"
    );
    // …and once a newer full list no longer holds it, vetting starts again.
    let without = LEIE
        .lines()
        .filter(|line| !line.contains(LISTED_NPI))
        .collect::<Vec<_>>()
        .join("\n");
    load_leie(&app, &without, false);
    let moved = app.transition(listed, "pending").await;
    assert_eq!(moved.status(), 200);
}

async fn zero_npis_never_match_and_names_go_to_the_queue(app: TestApp) {
    load_leie(&app, LEIE, false);
    // The list's 0000000000 is no NPI at all.
    {
        use clinic_finder::db::schema::exclusions;
        use diesel::prelude::*;
        let database = app.database();
        let mut connection = database.connection().unwrap();
        let zeros: i64 = exclusions::table
            .filter(exclusions::npi.eq("0000000000"))
            .count()
            .get_result(&mut *connection)
            .unwrap();
        let without: i64 = exclusions::table
            .filter(exclusions::npi.is_null())
            .count()
            .get_result(&mut *connection)
            .unwrap();
        assert_eq!((zeros, without), (0, 17));
    }
    // DANA GABRIELLE MARSH, born 1970-04-12, on the list without an NPI.
    let dana = provider_named(
        &app,
        71,
        "Dana",
        "Marsh",
        json!({"date_of_birth": "1970-04-12"}),
    )
    .await;
    let created = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{dana}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        created["vetting_status"], "pending",
        "a possible match does not exclude"
    );
    // Another Dana Marsh, born another day: not the same person.
    provider_named(
        &app,
        72,
        "Dana",
        "Marsh",
        json!({"date_of_birth": "1981-01-01"}),
    )
    .await;
    // JESSICA MARSHALL (FL) without a date of birth here, practising in Florida.
    let jessica = provider_named(&app, 73, "Jessica", "Marshall", json!({})).await;
    let clinic = app.create_clinic("Florida Clinic").await;
    let body = json!({"clinic_id": clinic, "address_line1": "1 Las Olas Blvd", "city": "Fort Lauderdale", "state": "FL",
        "postal_code": "33301", "latitude": 26.12, "longitude": -80.14, "timezone": "America/New_York"});
    let florida = app
        .admin_ok(Method::POST, "/v1/locations", Some(body), None)
        .await["id"]
        .as_i64()
        .unwrap();
    app.link(jessica, florida).await;
    clinic_finder::directory::screening::screen(
        &mut app.database().connection().unwrap(),
        &Principal::system(chrono::Utc::now()),
        jessica,
    )
    .unwrap();

    let open = queue(&app).await;
    let rules: Vec<(i64, String)> = open
        .iter()
        .map(|m| {
            (
                m["provider_id"].as_i64().unwrap(),
                m["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (dana, "name_dob".to_owned()),
            (jessica, "name_state".to_owned())
        ]
    );
    let dana_match = &open[0];
    assert_eq!(
        dana_match["evidence"]["matched_on"],
        json!(["name", "date_of_birth"])
    );
    assert_eq!(dana_match["evidence"]["row"]["last_name"], "MARSH");
    assert_eq!(dana_match["evidence"]["row"]["exclusion_type"], "1128b4");
    let low = app
        .admin_ok(
            Method::GET,
            "/v1/admin/queue/screening?rule=name_state",
            None,
            None,
        )
        .await;
    assert_eq!(low["items"].as_array().unwrap().len(), 1);

    // False positive: cleared, and not raised again for the same row.
    let cleared = app
        .admin_ok(
            Method::POST,
            &format!("/v1/admin/screening/{}/resolution", dana_match["id"]),
            Some(json!({"resolution": "false_positive", "reason": "A different Dana Marsh: licence history checked."})),
            None,
        )
        .await;
    assert_eq!(cleared["status"], "false_positive");
    load_leie(&app, LEIE, false);
    assert_eq!(
        queue(&app).await.len(),
        1,
        "the cleared match stays cleared"
    );
    let again = app
        .admin(
            Method::POST,
            &format!("/v1/admin/screening/{}/resolution", dana_match["id"]),
            Some(json!({"resolution": "confirmed", "reason": "second thoughts"})),
            None,
        )
        .await;
    crate::helpers::assert_problem(again, 409).await;

    // Confirmed: excluded, audited by the reviewer naming the match and the row.
    let jessica_match = queue(&app).await[0]["id"].as_i64().unwrap();
    app.admin_ok(
        Method::POST,
        &format!("/v1/admin/screening/{jessica_match}/resolution"),
        Some(json!({"resolution": "confirmed", "reason": "Same pharmacist: Florida licence history."})),
        None,
    )
    .await;
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{jessica}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["vetting_status"], "excluded");
    let audit = app
        .admin_ok(
            Method::GET,
            "/v1/admin/audit?action=provider.exclude",
            None,
            None,
        )
        .await;
    let reason = audit["items"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("screening match {jessica_match} confirmed"))
            && reason.contains("MARSHALL, JESSICA"),
        "{reason}"
    );
    assert_eq!(audit["items"][0]["actor_role"], "admin");
    let resolved = app
        .admin_ok(
            Method::GET,
            "/v1/admin/audit?action=screening.resolve",
            None,
            None,
        )
        .await;
    assert_eq!(resolved["items"][0]["after"]["status"], "false_positive");
    assert_eq!(
        resolved["items"][0]["reason"],
        "A different Dana Marsh: licence history checked."
    );
}

async fn reinstatements_are_no_hit_and_waivers_are_shown(app: TestApp) {
    load_leie(&app, LEIE, false);
    // The monthly reinstatement supplement: DANA MARSH reinstated in 2025.
    let header = LEIE.lines().next().unwrap();
    let dana = LEIE
        .lines()
        .find(|line| line.starts_with("\"MARSH\",\"DANA\""))
        .unwrap();
    let reinstated = dana.replacen("\"20180620\",\"00000000\"", "\"20180620\",\"20250101\"", 1);
    assert_ne!(reinstated, dana);
    load_leie(&app, &format!("{header}\n{reinstated}\n"), true);
    provider_named(
        &app,
        74,
        "Dana",
        "Marsh",
        json!({"date_of_birth": "1970-04-12"}),
    )
    .await;
    assert!(queue(&app).await.is_empty(), "a reinstated row is no hit");

    // A waiver keeps an NPI hit from excluding: a reviewer weighs it, with the waiver shown.
    let steven = LEIE
        .lines()
        .find(|line| line.contains("\"1790156693\""))
        .unwrap();
    let waived = steven.replacen(
        "\"00000000\",\"00000000\",\"\"",
        "\"00000000\",\"20200101\",\"NY\"",
        1,
    );
    assert_ne!(waived, steven);
    load_leie(&app, &format!("{header}\n{waived}\n"), true);
    let provider = provider_named(&app, 0, "Steven", "Marsh", json!({"npi": "1790156693"})).await;
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["vetting_status"], "pending");
    let open = queue(&app).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["rule"], "npi");
    assert_eq!(
        open[0]["evidence"]["waiver"],
        json!({"state": "NY", "since": "2020-01-01"})
    );
}

/// What a response shows, searched for the date of birth in the forms a serialiser could use.
fn shows(text: &str) -> bool {
    ["1975-04-12", "19750412", "04/12/1975"]
        .iter()
        .any(|form| text.contains(form))
}

async fn the_date_of_birth_stays_with_admins(app: TestApp) {
    let replica = app
        .replica(|settings| {
            settings.metrics_token = Some(clinic_finder::config::Secret::new(
                "metrics-token-0123456789abcdef0123456789".to_owned(),
            ))
        })
        .await;
    let clinic = app.create_clinic("Privacy Clinic").await;
    let location = app
        .create_location(clinic, 40.7506, -73.9972, "America/New_York")
        .await;
    let provider = provider_named(
        &app,
        75,
        "Priya",
        "Private",
        json!({"date_of_birth": "1975-04-12"}),
    )
    .await;
    app.verified_licence(provider, "2099-12-31").await;
    app.approve(provider).await;
    app.link(provider, location).await;
    app.offer(provider, "chronic_migraine").await;

    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["date_of_birth"], "1975-04-12", "admins see it");
    eventually(
        &replica,
        "/v1/search/providers?postal_code=10001",
        "the replica lists the provider",
        |body| !body["results"].as_array().unwrap().is_empty(),
    )
    .await;

    for path in [
        format!("/v1/providers/{provider}"),
        "/v1/providers".to_owned(),
        "/v1/search/providers?postal_code=10001&treatment=chronic_migraine".to_owned(),
        "/v1/search/locations?postal_code=10001".to_owned(),
        format!("/v1/locations/{location}"),
        format!("/fhir/Practitioner/{provider}"),
        format!("/fhir/PractitionerRole?practitioner={provider}"),
        "/fhir/Location?near=40.7506|-73.9972|10|km".to_owned(),
    ] {
        let response = replica.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("Private") || !path.contains("rovider"),
            "{path}: {text}"
        );
        assert!(!shows(&text), "{path} shows the date of birth: {text}");
    }
    let metrics = replica
        .request(Method::GET, "/metrics")
        .bearer_auth("metrics-token-0123456789abcdef0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(!shows(&metrics.text().await.unwrap()));

    // The audit trail says whether a write changed it, never what it is.
    app.admin_ok(
        Method::PATCH,
        &format!("/v1/providers/{provider}"),
        Some(json!({"date_of_birth": "1975-04-13"})),
        Some(app.provider_version(provider).await),
    )
    .await;
    app.admin_ok(
        Method::PATCH,
        &format!("/v1/providers/{provider}"),
        Some(json!({"bio": "Headache medicine."})),
        Some(app.provider_version(provider).await),
    )
    .await;
    let audit = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/audit?target_type=provider&target_id={provider}&limit=100"),
            None,
            None,
        )
        .await;
    let text = audit.to_string();
    assert!(!shows(&text) && !text.contains("1975-04-13"), "{text}");
    let events = audit["items"].as_array().unwrap();
    let of = |action: &str| {
        events
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("provider.create")[0]["after"]["date_of_birth"],
        "changed"
    );
    let updates = of("provider.update");
    assert_eq!(
        updates[1]["before"]["date_of_birth"], "changed",
        "newest first: the DOB change is second"
    );
    assert_eq!(updates[1]["after"]["date_of_birth"], "changed");
    assert_eq!(updates[0]["after"]["date_of_birth"], "unchanged");
    assert!(
        !app.database_contains("1975-04-13") || app.backend == crate::helpers::TestBackend::Sqlite,
        "no audit row holds the date (PostgreSQL looks in the audit and key tables)"
    );
}

/// A provider an NDJSON import brings in is screened like one written through the API.
async fn imported_providers_are_screened(app: TestApp) {
    load_leie(&app, LEIE, false);
    let record = json!({"type": "provider", "npi": LISTED_NPI, "given_name": "Imported", "family_name": "Listed",
        "degree": "MD", "primary_specialty_code": "2084N0400X"});
    let options = clinic_finder::import::ImportOptions {
        format: clinic_finder::import::Format::Ndjson,
        atomic: false,
        batch_size: 100,
        trusted_source: None,
        file_name: "listed.ndjson".to_owned(),
    };
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let input = std::io::Cursor::new(record.to_string().into_bytes());
    let report = clinic_finder::import::import(&mut connection, input, &options).unwrap();
    assert_eq!(report.created, 1, "{report:?}");
    let providers = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers?npi={LISTED_NPI}"),
            None,
            None,
        )
        .await;
    let provider = &providers["items"][0];
    assert_eq!(provider["vetting_status"], "excluded", "{provider}");
    let audit = app
        .admin_ok(
            Method::GET,
            &format!(
                "/v1/admin/audit?target_type=provider&target_id={}",
                provider["id"]
            ),
            None,
            None,
        )
        .await;
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["action"].as_str().unwrap(),
                row["actor_role"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("provider.exclude", "system")),
        "{actions:?}"
    );
}

on_both_backends!(
    imported_providers_are_screened,
    an_npi_hit_excludes_and_leaves_search_everywhere,
    zero_npis_never_match_and_names_go_to_the_queue,
    reinstatements_are_no_hit_and_waivers_are_shown,
    the_date_of_birth_stays_with_admins,
);
