//! Roles, the provider lifecycle, credential verification, queues, keys and the audit trail.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, npi, TestApp, ADMIN_KEY};

async fn key(app: &TestApp, role: &str, expires_in_days: Option<i64>) -> (i64, String) {
    let mut body = json!({"name": format!("{role} key"), "role": role});
    if let Some(days) = expires_in_days {
        body["expires_in_days"] = json!(days);
    }
    let created = app
        .admin_ok(Method::POST, "/v1/admin/keys", Some(body), None)
        .await;
    (
        created["id"].as_i64().unwrap(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn the_lifecycle_allows_exactly_its_transitions(app: TestApp) {
    let provider = app.create_provider(&npi(600), "2084N0400X").await;
    let problem = assert_problem(app.transition(provider, "verified").await, 409).await;
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(problem["allowed"], json!(["under_review"]));
    assert_eq!(
        app.transition(provider, "under_review").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.transition(provider, "rejected").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        assert_problem(app.transition(provider, "verified").await, 409).await["allowed"],
        json!(["pending"])
    );
    assert_eq!(
        app.transition(provider, "pending").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.transition(provider, "under_review").await.status(),
        StatusCode::OK
    );
    app.verified_licence(provider, "2099-01-01").await;
    assert_eq!(
        app.transition(provider, "verified").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        assert_problem(app.transition(provider, "pending").await, 409).await["allowed"],
        json!(["suspended"])
    );
    assert_eq!(
        app.transition(provider, "suspended").await.status(),
        StatusCode::OK
    );
    assert_problem(app.get(&format!("/v1/providers/{provider}")).await, 404).await;
    assert_eq!(
        app.transition(provider, "verified").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/v1/providers/{provider}")).await.status(),
        StatusCode::OK
    );

    // Stale version, missing reason, unknown state.
    let path = format!("/v1/admin/providers/{provider}/transitions");
    let stale = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"to": "suspended", "reason": "complaint"})),
            Some(1),
        )
        .await;
    assert_problem(stale, 412).await;
    let version = app.provider_version(provider).await;
    assert_problem(
        app.admin(
            Method::POST,
            &path,
            Some(json!({"to": "suspended"})),
            Some(version),
        )
        .await,
        422,
    )
    .await;
    assert_problem(
        app.admin(
            Method::POST,
            &path,
            Some(json!({"to": "sainted", "reason": "why not"})),
            Some(version),
        )
        .await,
        422,
    )
    .await;
}

async fn every_write_is_audited_once_with_before_and_after(app: TestApp) {
    let provider = app.create_provider(&npi(601), "2084N0400X").await;
    let licence = app.verified_licence(provider, "2099-01-01").await;
    app.approve(provider).await;
    let audit = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/audit?target_type=provider&target_id={provider}"),
            None,
            None,
        )
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "provider.transition",
            "provider.transition",
            "provider.create"
        ]
    );
    let approval = &audit["items"][0];
    assert_eq!(approval["before"]["vetting_status"], "under_review");
    assert_eq!(approval["after"]["vetting_status"], "verified");
    assert_eq!(approval["reason"], "moving to verified");
    assert_eq!(approval["actor_role"], "admin");
    assert!(approval["request_id"].is_string() && approval["actor_key_id"].is_i64());

    let verification = app.admin_ok(Method::GET, &format!("/v1/admin/audit?target_type=credential&target_id={licence}&action=credential.verify"), None, None).await;
    let entry = &verification["items"][0];
    assert_eq!(entry["before"]["verification_status"], "unverified");
    assert_eq!(entry["after"]["verification_status"], "verified");
    assert_eq!(
        entry["after"]["verification_source_type"],
        "state_medical_board"
    );
    assert_eq!(verification["items"].as_array().unwrap().len(), 1);

    // The database refuses to change history.
    let mut connection = app.database().connection().unwrap();
    use diesel::connection::SimpleConnection;
    let update = connection.batch_execute("UPDATE audit_log SET reason = 'rewritten'");
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = connection.batch_execute("DELETE FROM audit_log");
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

async fn keys_roles_and_the_authorization_matrix(app: TestApp) {
    let (_, reviewer) = key(&app, "reviewer", None).await;
    let (_, partner) = key(&app, "partner", None).await;
    let (revoked_id, revoked) = key(&app, "admin", None).await;
    app.admin_ok(
        Method::POST,
        &format!("/v1/admin/keys/{revoked_id}/revoke"),
        None,
        None,
    )
    .await;
    let (_, expired) = key(&app, "admin", Some(1)).await;
    app.advance_clock(chrono::Duration::days(2));

    // Generated from the spec, so that a new route cannot escape the matrix.
    let spec = app.get_json("/openapi.json").await;
    let provider = app.create_provider(&npi(602), "2084N0400X").await;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // Operations without a key requirement are public; `/metrics` takes its own token
            // (tests/api/hardening.rs), not an API key.
            let roles: Vec<String> = match operation
                .get("security")
                .and_then(|security| security[0]["api_key"].as_array())
            {
                Some(roles) => roles
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect(),
                None => continue,
            };
            let concrete = path
                .replace("{id}", &provider.to_string())
                .replace("{location_id}", "1")
                .replace("{code}", "chronic_migraine");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (who, secret) in [
                ("none", None),
                ("revoked", Some(&revoked)),
                ("expired", Some(&expired)),
            ] {
                let mut request = app.request(method.clone(), &concrete);
                if let Some(secret) = secret {
                    request = request.bearer_auth(secret);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 401, "{method} {path} as {who}");
            }
            for (role, secret) in [("reviewer", &reviewer), ("partner", &partner)] {
                let response = app
                    .with_key(secret, method.clone(), &concrete, Some(json!({})), None)
                    .await;
                let status = response.status().as_u16();
                if roles.contains(&role.to_owned()) {
                    assert_ne!(status, 403, "{method} {path} as {role}");
                    assert_ne!(status, 401, "{method} {path} as {role}");
                } else {
                    assert_eq!(status, 403, "{method} {path} as {role}");
                }
            }
        }
    }

    // Keys are listed without secrets; the raw key is never stored.
    let keys = app
        .admin_ok(Method::GET, "/v1/admin/keys", None, None)
        .await;
    let text = keys.to_string();
    assert!(!text.contains(&reviewer) && !text.contains(ADMIN_KEY));
    assert!(keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("secret").is_none() && k["prefix"].is_string()));
    for secret in [&reviewer, &partner, &ADMIN_KEY.to_owned()] {
        assert!(!app.database_contains(secret), "a raw key is stored");
    }
    // The check itself can see what is stored: the admin key's prefix is.
    assert!(app.database_contains(&ADMIN_KEY[..11]));
}

async fn a_reviewer_takes_a_provider_from_the_queue_to_search(app: TestApp) {
    let (_, reviewer) = key(&app, "reviewer", None).await;
    let clinic = app.create_clinic("Queue Clinic").await;
    let location = app
        .create_location(clinic, 40.75, -73.99, "America/New_York")
        .await;
    let provider = app.create_provider(&npi(603), "2084N0400X").await;
    app.link(provider, location).await;
    app.offer(provider, "cervical_dystonia").await;
    let licence = app
        .add_credential(provider, json!({"kind": "state_license", "issuer": "NYSED", "jurisdiction": "NY", "expires_on": "2099-06-30"}))
        .await;

    let queue = |path: &'static str| {
        let reviewer = reviewer.clone();
        let app = &app;
        async move {
            let response = app.with_key(&reviewer, Method::GET, path, None, None).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let pending = queue("/v1/admin/queue/pending").await;
    assert_eq!(pending["items"][0]["id"], provider);

    let verify = json!({"outcome": "verified", "source_type": "state_medical_board", "reference": "https://www.op.nysed.gov/verification-search", "reason": "active, no discipline"});
    let response = app
        .with_key(
            &reviewer,
            Method::POST,
            &format!("/v1/credentials/{licence}/verification"),
            Some(verify),
            Some(1),
        )
        .await;
    assert_eq!(response.status(), 200);
    let credential: Value = response.json().await.unwrap();
    assert_eq!(credential["next_due_on"], "2099-06-30");

    for to in ["under_review", "verified"] {
        let version = app.provider_version(provider).await;
        let body = json!({"to": to, "reason": "primary sources checked"});
        let response = app
            .with_key(
                &reviewer,
                Method::POST,
                &format!("/v1/admin/providers/{provider}/transitions"),
                Some(body),
                Some(version),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(queue("/v1/admin/queue/pending").await["items"], json!([]));
    let found = app
        .get_json("/v1/search/providers?postal_code=10001&treatment=cervical_dystonia")
        .await;
    assert_eq!(found["results"][0]["provider"]["id"], provider);
    assert_eq!(
        found["results"][0]["provider"]["credentials"]["licences"][0]["next_due_on"],
        "2099-06-30"
    );

    // Reviewers cannot delete or manage keys.
    assert_eq!(
        app.with_key(
            &reviewer,
            Method::DELETE,
            &format!("/v1/providers/{provider}"),
            None,
            None
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        app.with_key(&reviewer, Method::GET, "/v1/admin/keys", None, None)
            .await
            .status(),
        403
    );
}

async fn expiring_and_expired_queues(app: TestApp) {
    let provider = app.create_provider(&npi(604), "2084N0400X").await;
    let soon = (app.clock.now() + chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let licence = app.verified_licence(provider, &soon).await;
    let expiring = app
        .admin_ok(
            Method::GET,
            "/v1/admin/queue/expiring?within_days=30",
            None,
            None,
        )
        .await;
    assert_eq!(expiring["items"][0]["id"], licence);
    assert_eq!(
        app.admin_ok(
            Method::GET,
            "/v1/admin/queue/expiring?within_days=5",
            None,
            None
        )
        .await["items"],
        json!([])
    );
    assert_eq!(
        app.admin_ok(Method::GET, "/v1/admin/queue/expired", None, None)
            .await["items"],
        json!([])
    );
    app.advance_clock(chrono::Duration::days(11));
    assert_eq!(
        app.admin_ok(Method::GET, "/v1/admin/queue/expired", None, None)
            .await["items"][0]["id"],
        licence
    );
    assert_problem(
        app.admin(
            Method::GET,
            "/v1/admin/queue/expiring?within_days=0",
            None,
            None,
        )
        .await,
        422,
    )
    .await;
    assert_problem(
        app.admin(
            Method::GET,
            "/v1/admin/queue/expiring?within_days=1000",
            None,
            None,
        )
        .await,
        422,
    )
    .await;
}

async fn audit_count(app: &TestApp) -> (usize, String) {
    let audit = app
        .admin_ok(Method::GET, "/v1/admin/audit?limit=100", None, None)
        .await;
    let items = audit["items"].as_array().unwrap();
    (
        items.len(),
        items
            .first()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .unwrap_or_default(),
    )
}

async fn every_kind_of_write_adds_exactly_one_audit_row(app: TestApp) {
    let clinic = app.create_clinic("Audited").await;
    // The bootstrap key's creation, then the clinic's.
    let (mut expected, first) = audit_count(&app).await;
    assert_eq!((expected, first.as_str()), (2, "clinic.create"));
    let mut check = |(count, action): (usize, String), wanted: &str| {
        expected += 1;
        assert_eq!((count, action.as_str()), (expected, wanted));
    };
    let c = format!("/v1/clinics/{clinic}");
    app.admin_ok(
        Method::PATCH,
        &c,
        Some(json!({"phone": "+1-212-555-0100"})),
        Some(1),
    )
    .await;
    check(audit_count(&app).await, "clinic.update");
    let location = app
        .create_location(clinic, 40.7, -74.0, "America/New_York")
        .await;
    check(audit_count(&app).await, "location.create");
    app.admin_ok(
        Method::PATCH,
        &format!("/v1/locations/{location}"),
        Some(json!({"city": "NYC"})),
        Some(1),
    )
    .await;
    check(audit_count(&app).await, "location.update");
    let provider = app.create_provider(&npi(610), "2084N0400X").await;
    check(audit_count(&app).await, "provider.create");
    app.admin_ok(
        Method::PATCH,
        &format!("/v1/providers/{provider}"),
        Some(json!({"bio": "x"})),
        Some(1),
    )
    .await;
    check(audit_count(&app).await, "provider.update");
    app.link(provider, location).await;
    check(audit_count(&app).await, "provider.link_location");
    app.offer(provider, "blepharospasm").await;
    check(audit_count(&app).await, "provider.set_treatment");
    let credential = app
        .add_credential(
            provider,
            json!({"kind": "state_license", "issuer": "NY", "jurisdiction": "NY"}),
        )
        .await;
    check(audit_count(&app).await, "credential.create");
    app.verify_credential(credential, "state_medical_board")
        .await;
    check(audit_count(&app).await, "credential.verify");
    app.admin_ok(
        Method::PATCH,
        &format!("/v1/credentials/{credential}"),
        Some(json!({"identifier": "A1"})),
        Some(2),
    )
    .await;
    check(audit_count(&app).await, "credential.update");
    assert_eq!(app.transition(provider, "under_review").await.status(), 200);
    check(audit_count(&app).await, "provider.transition");
    let (key_id, _) = key(&app, "partner", None).await;
    check(audit_count(&app).await, "api_key.create");
    app.admin_ok(
        Method::POST,
        &format!("/v1/admin/keys/{key_id}/revoke"),
        None,
        None,
    )
    .await;
    check(audit_count(&app).await, "api_key.revoke");
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/credentials/{credential}"),
        None,
        None,
    )
    .await;
    check(audit_count(&app).await, "credential.delete");
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/providers/{provider}/treatments/blepharospasm"),
        None,
        None,
    )
    .await;
    check(audit_count(&app).await, "provider.remove_treatment");
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/providers/{provider}/locations/{location}"),
        None,
        None,
    )
    .await;
    check(audit_count(&app).await, "provider.unlink_location");
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/locations/{location}"),
        None,
        None,
    )
    .await;
    check(audit_count(&app).await, "location.delete");
    app.admin_ok(
        Method::DELETE,
        &format!("/v1/providers/{provider}"),
        None,
        None,
    )
    .await;
    check(audit_count(&app).await, "provider.delete");
    app.admin_ok(Method::DELETE, &c, None, None).await;
    check(audit_count(&app).await, "clinic.delete");
    // Failed writes leave no trace.
    assert_problem(
        app.admin(Method::PATCH, &c, Some(json!({"name": "gone"})), Some(1))
            .await,
        404,
    )
    .await;
    assert_eq!(audit_count(&app).await.0, expected);
}

async fn updates_cannot_set_vetting_state_or_bookkeeping(app: TestApp) {
    let provider = app.create_provider(&npi(611), "2084N0400X").await;
    for field in [
        "vetting_status",
        "version",
        "id",
        "created_at",
        "npi_verified",
    ] {
        let body = json!({ field: "verified" });
        let problem = assert_problem(
            app.admin(
                Method::PATCH,
                &format!("/v1/providers/{provider}"),
                Some(body),
                Some(1),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["pointer"], format!("/{field}"));
    }
    let credential = app
        .add_credential(
            provider,
            json!({"kind": "state_license", "issuer": "NY", "jurisdiction": "NY"}),
        )
        .await;
    for field in [
        "verification_status",
        "verified_at",
        "verified_by_key_id",
        "next_due_on",
    ] {
        let body = json!({ field: "2030-01-01" });
        assert_problem(
            app.admin(
                Method::PATCH,
                &format!("/v1/credentials/{credential}"),
                Some(body),
                Some(1),
            )
            .await,
            422,
        )
        .await;
    }
    let admin = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers/{provider}"),
            None,
            None,
        )
        .await;
    assert_eq!(admin["vetting_status"], "pending");
    assert_eq!(admin["credentials"][0]["verification_status"], "unverified");
}

on_both_backends!(
    every_kind_of_write_adds_exactly_one_audit_row,
    updates_cannot_set_vetting_state_or_bookkeeping,
    the_lifecycle_allows_exactly_its_transitions,
    every_write_is_audited_once_with_before_and_after,
    keys_roles_and_the_authorization_matrix,
    a_reviewer_takes_a_provider_from_the_queue_to_search,
    expiring_and_expired_queues,
);
