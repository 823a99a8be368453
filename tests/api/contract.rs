//! HTTP semantics the document promises on every operation alike: HEAD wherever GET works,
//! OPTIONS and 405 with `Allow`, one policy for unknown query parameters, content negotiation with
//! 406, a key optional on public operations (but checked when sent), and CORS for public reads.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::helpers::{assert_problem, npi, TestApp, ADMIN_KEY};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// A verified provider at a location near ZIP 10001, offering chronic migraine.
async fn one_public_provider(app: &TestApp) -> (i64, i64, i64) {
    let clinic = app.create_clinic("Contract Clinic").await;
    let location = app
        .create_location(clinic, 40.75065, -73.997293, "America/New_York")
        .await;
    let provider = app
        .public_provider(&npi(300), "2084N0400X", location, "chronic_migraine")
        .await;
    (clinic, location, provider)
}

async fn head_answers_as_get_without_a_body(app: TestApp) {
    let (clinic, _, provider) = one_public_provider(&app).await;
    for path in [
        "/v1/search/locations?postal_code=10001&treatment=chronic_migraine".to_owned(),
        format!("/v1/clinics/{clinic}"),
        format!("/v1/providers/{provider}"),
        "/v1/treatments".to_owned(),
        "/fhir/metadata".to_owned(),
        "/healthz".to_owned(),
        "/openapi.json".to_owned(),
    ] {
        let get = app.get(&path).await;
        assert_eq!(get.status(), StatusCode::OK, "GET {path}");
        let (get_etag, get_type) = (header(&get, "etag"), header(&get, "content-type"));
        let get_length = get.bytes().await.unwrap().len();
        let head = app.request(Method::HEAD, &path).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
        assert_eq!(header(&head, "etag"), get_etag, "HEAD {path}");
        assert_eq!(header(&head, "content-type"), get_type, "HEAD {path}");
        assert_eq!(
            header(&head, "content-length"),
            Some(get_length.to_string()),
            "HEAD {path} says how long the GET's body is"
        );
        assert!(header(&head, "x-request-id").is_some());
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
    // HEAD where there is no GET: 405 like any other method.
    let head = app
        .request(Method::HEAD, "/v1/admin/keys/1/revoke")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&head, "allow").as_deref(), Some("POST, OPTIONS"));
    // A conditional HEAD is answered 304 like the GET.
    let etag = header(&app.get("/v1/treatments").await, "etag").unwrap();
    let not_modified = app
        .request(Method::HEAD, "/v1/treatments")
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
}

async fn options_and_405_name_the_methods(app: TestApp) {
    for (path, allow) in [
        ("/v1/clinics", "GET, POST, HEAD, OPTIONS"),
        ("/v1/clinics/7", "GET, PATCH, DELETE, HEAD, OPTIONS"),
        ("/v1/treatments", "GET, HEAD, OPTIONS"),
        ("/v1/admin/keys/3/revoke", "POST, OPTIONS"),
        ("/fhir/Location", "GET, HEAD, OPTIONS"),
    ] {
        let options = app.request(Method::OPTIONS, path).send().await.unwrap();
        assert_eq!(options.status(), StatusCode::NO_CONTENT, "OPTIONS {path}");
        assert_eq!(header(&options, "allow").as_deref(), Some(allow), "{path}");
        let trace = app.request(Method::TRACE, path).send().await.unwrap();
        assert_eq!(header(&trace, "allow").as_deref(), Some(allow), "{path}");
        assert_eq!(trace.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
    assert_problem(
        app.request(Method::OPTIONS, "/v1/nothing-here")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

async fn unknown_query_parameters_are_refused_everywhere(app: TestApp) {
    let (clinic, _, _) = one_public_provider(&app).await;
    for path in [
        "/v1/treatments?nickname=x".to_owned(),
        "/v1/specialties?nickname=x".to_owned(),
        format!("/v1/clinics/{clinic}?nickname=x"),
        "/v1/search/locations?postal_code=10001&nickname=x".to_owned(),
        "/v1/clinics?limit=5&nickname=x".to_owned(),
        "/healthz?nickname=x".to_owned(),
    ] {
        let problem = assert_problem(app.get(&path).await, 422).await;
        assert_eq!(problem["errors"][0]["pointer"], "/nickname", "{path}");
        assert_eq!(problem["errors"][0]["code"], "unknown_parameter", "{path}");
        assert_eq!(problem["errors"][0]["in"], "query", "{path}");
    }
    // Keyed operations too, and the FHIR facade (as an OperationOutcome).
    let keyed = app
        .admin(Method::GET, "/v1/admin/keys?nickname=x", None, None)
        .await;
    assert_eq!(
        assert_problem(keyed, 422).await["errors"][0]["code"],
        "unknown_parameter"
    );
    let fhir = app.get("/fhir/metadata?nickname=x").await;
    assert_eq!(fhir.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let outcome: Value = fhir.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["expression"][0], "nickname");
    assert_eq!(outcome["issue"][0]["code"], "not-supported");
}

async fn accept_chooses_the_media_type_or_406(app: TestApp) {
    let (clinic, _, _) = one_public_provider(&app).await;
    let search = "/v1/search/locations?postal_code=10001&treatment=chronic_migraine";
    let content_type = |accept: &'static str, path: &str| {
        let request = app.request(Method::GET, path).header("Accept", accept);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                header(&response, "content-type"),
            )
        }
    };
    let json = Some("application/json".to_owned());
    let geo = Some("application/geo+json".to_owned());
    assert_eq!(content_type("*/*", search).await, (200, json.clone()));
    assert_eq!(
        content_type("application/geo+json", search).await,
        (200, geo.clone())
    );
    // A tie goes to JSON, the operation's first offer, whatever order the client lists them in.
    assert_eq!(
        content_type("application/geo+json, application/json", search).await,
        (200, json.clone())
    );
    assert_eq!(
        content_type("application/json;q=0.5, application/geo+json", search).await,
        (200, geo.clone())
    );
    // `format` decides over `Accept`.
    let with_format = format!("{search}&format=geojson");
    assert_eq!(
        content_type("application/xml", &with_format).await,
        (200, geo)
    );
    // Nothing offered is acceptable: 406 problem+json, on /v1 as on /fhir (an OperationOutcome).
    for path in [
        search.to_owned(),
        format!("/v1/clinics/{clinic}"),
        "/v1/treatments".to_owned(),
    ] {
        let response = app
            .request(Method::GET, &path)
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 406).await;
        assert_eq!(problem["code"], "not_acceptable", "{path}");
    }
    let fhir = app
        .request(Method::GET, "/fhir/metadata")
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(fhir.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        fhir.json::<Value>().await.unwrap()["resourceType"],
        "OperationOutcome"
    );
    // Errors are problem+json whatever `Accept` asked for.
    let error = app
        .request(Method::GET, "/v1/clinics/987654")
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(error, 404).await;
}

async fn a_key_is_optional_on_public_operations_but_checked(app: TestApp) {
    let (_, _, provider) = one_public_provider(&app).await;
    let path = format!("/v1/providers/{provider}");
    let public = app.get(&path).await;
    assert_eq!(public.status(), StatusCode::OK);
    let keyed = app.admin(Method::GET, &path, None, None).await;
    assert_eq!(keyed.status(), StatusCode::OK);
    assert_eq!(header(&keyed, "cache-control").as_deref(), Some("no-store"));
    for bad in ["cf_not-a-key-of-this-service", ""] {
        let response = app
            .request(Method::GET, &path)
            .header("Authorization", format!("Bearer {bad}"))
            .send()
            .await
            .unwrap();
        assert!(header(&response, "www-authenticate").is_some());
        assert_problem(response, 401).await;
    }
    let search = app
        .request(Method::GET, "/v1/search/providers?postal_code=10001")
        .bearer_auth("cf_revoked-or-never-issued")
        .send()
        .await
        .unwrap();
    assert_problem(search, 401).await;
    // Probes take no key: a key sent there is not looked at.
    let probe = app
        .request(Method::GET, "/healthz")
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), StatusCode::OK);
    assert_eq!(
        app.request(Method::GET, "/v1/treatments")
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn public_reads_are_open_to_every_origin_by_default(app: TestApp) {
    let origin = "http://localhost:5173";
    let acao = |response: &Response| header(response, "access-control-allow-origin");
    let read = app
        .request(Method::GET, "/v1/search/locations?postal_code=10001")
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(acao(&read).as_deref(), Some("*"));
    assert!(header(&read, "access-control-expose-headers").is_some_and(|h| h.contains("ETag")));
    // Without `Origin` too, so that a shared cache can serve the copy to any site.
    assert_eq!(acao(&app.get("/v1/treatments").await).as_deref(), Some("*"));
    // A browser's preflight for a conditional read is granted; one for a keyed request is not.
    let preflight = |headers: &'static str| {
        app.request(Method::OPTIONS, "/v1/treatments")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", headers)
            .send()
    };
    let granted = preflight("if-none-match").await.unwrap();
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);
    assert_eq!(acao(&granted).as_deref(), Some("*"));
    assert_problem(preflight("authorization").await.unwrap(), 403).await;
    // Keyed requests and writes: no grant for an origin that is not on the allowlist.
    let keyed = app
        .request(Method::GET, "/v1/admin/keys")
        .header("Origin", origin)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), StatusCode::OK);
    assert_eq!(acao(&keyed), None);
    let write = app
        .request(Method::OPTIONS, "/v1/clinics")
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_problem(write, 403).await;
    // Nothing varies by origin when only `*` is configured.
    assert!(!header(&read, "vary").unwrap_or_default().contains("Origin"));
}

on_both_backends!(
    head_answers_as_get_without_a_body,
    options_and_405_name_the_methods,
    unknown_query_parameters_are_refused_everywhere,
    accept_chooses_the_media_type_or_406,
    a_key_is_optional_on_public_operations_but_checked,
    public_reads_are_open_to_every_origin_by_default,
);
