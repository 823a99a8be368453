//! The document's examples and schemas against each other and against the running service:
//! every example fits its schema, every answer of the service fits the schema of its status and
//! media type, and every error example is what the service answers to the request it describes.
//! Schemas are read strictly here: an object may hold no member its schema does not declare, so
//! an example (or an answer) with a stale or undocumented field fails.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{npi, TestApp, ADMIN_KEY};

fn document() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("committed spec is JSON")
}

/// Adds `additionalProperties: false` to every object schema that declares its properties (and
/// `unevaluatedProperties: false` beside an `allOf`, whose branches are then left open).
fn strict(value: &mut Value, open: &[String], name: Option<&str>) {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(|item| strict(item, open, None));
        }
        return;
    };
    if map.contains_key("allOf") {
        map.entry("unevaluatedProperties").or_insert(json!(false));
    } else if map.contains_key("properties") && !name.is_some_and(|n| open.iter().any(|o| o == n)) {
        map.entry("additionalProperties").or_insert(json!(false));
    }
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "example" | "examples" => {}
            // The branches of an `allOf` stay open: the composite is closed instead.
            "allOf" => {
                for branch in child.as_array_mut().into_iter().flatten() {
                    if let Some(branch) = branch.as_object_mut() {
                        branch
                            .values_mut()
                            .for_each(|value| strict(value, open, None));
                    }
                }
            }
            _ => strict(child, open, None),
        }
    }
}

/// The document's components, read strictly.
fn strict_components(document: &Value) -> Value {
    let mut components = document["components"].clone();
    // Schemas composed into others by `allOf` stay open (their composite is closed instead).
    let mut open = Vec::new();
    for schema in components["schemas"].as_object().unwrap().values() {
        for branch in schema["allOf"].as_array().into_iter().flatten() {
            if let Some(reference) = branch["$ref"].as_str() {
                open.push(reference.rsplit('/').next().unwrap().to_owned());
            }
        }
    }
    if let Some(schemas) = components["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            strict(schema, &open, Some(name));
        }
    }
    components
}

/// The reasons `instance` does not fit `schema` (which may refer to the components).
fn violations(components: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut schema = schema.clone();
    strict(&mut schema, &[], None);
    let root = json!({"components": components, "allOf": [schema]});
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

fn assert_fits(components: &Value, schema: &Value, instance: &Value, what: &str) {
    let errors = violations(components, schema, instance);
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{instance}");
}

/// Every example of the document: schema examples (at any depth), parameter and header examples,
/// and the examples of request and response bodies.
#[test]
fn every_example_fits_its_schema() {
    let document = document();
    let components = strict_components(&document);
    let mut checked = 0;
    fn schema_examples(node: &Value, at: String, found: &mut Vec<(String, Value, Value)>) {
        let Value::Object(map) = node else { return };
        if let Some(example) = map.get("example") {
            found.push((at.clone(), node.clone(), example.clone()));
        }
        for (key, child) in map {
            match key.as_str() {
                "example" | "examples" => {}
                "properties" => {
                    for (name, property) in child.as_object().into_iter().flatten() {
                        schema_examples(property, format!("{at}.{name}"), found);
                    }
                }
                "items" | "additionalProperties" => {
                    schema_examples(child, format!("{at}[]"), found)
                }
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        schema_examples(schema, format!("schema {name}"), &mut found);
    }
    for kind in ["headers", "parameters"] {
        for (name, object) in document["components"][kind]
            .as_object()
            .into_iter()
            .flatten()
        {
            if let Some(example) = object.get("example") {
                found.push((
                    format!("{kind} {name}"),
                    object["schema"].clone(),
                    example.clone(),
                ));
            }
        }
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if let Some(example) = parameter.get("example") {
                    let at = format!("{method} {path} parameter {}", parameter["name"]);
                    found.push((at, parameter["schema"].clone(), example.clone()));
                }
            }
            let mut contents = Vec::new();
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                contents.extend(content.iter().map(|(t, c)| (format!("request {t}"), c)));
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                if let Some(content) = response["content"].as_object() {
                    contents.extend(content.iter().map(|(t, c)| (format!("{status} {t}"), c)));
                }
            }
            for (what, content) in contents {
                let at = format!("{method} {path} {what}");
                if let Some(example) = content.get("example") {
                    found.push((at.clone(), content["schema"].clone(), example.clone()));
                }
                for (name, example) in content["examples"].as_object().into_iter().flatten() {
                    let at = format!("{at} example {name}");
                    found.push((at, content["schema"].clone(), example["value"].clone()));
                }
            }
        }
    }
    for (at, schema, example) in found {
        // A schema's own example is checked against the schema without it (examples are data).
        let mut schema = schema;
        if let Some(map) = schema.as_object_mut() {
            map.remove("example");
        }
        assert_fits(&components, &schema, &example, &at);
        checked += 1;
    }
    assert!(checked > 150, "only {checked} examples found");
}

/// The documented schema of `operation`'s answer `status` in `media_type`.
fn response_schema(
    document: &Value,
    path: &str,
    method: &str,
    status: u16,
    media_type: &str,
) -> Value {
    let responses = &document["paths"][path][method]["responses"];
    let content = &responses[status.to_string()]["content"][media_type];
    assert!(
        content["schema"].is_object(),
        "{method} {path}: {status} {media_type} is not documented"
    );
    content["schema"].clone()
}

/// Checks a live answer against the document: its status is documented, its body fits the schema
/// for its media type, and an error that the document gives an example of is exactly that example
/// (everything but the request id).
async fn check_answer(
    document: &Value,
    components: &Value,
    (method, path): (&str, &str),
    response: Response,
    compare_example: bool,
) -> Value {
    let status = response.status().as_u16();
    let media_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let what = format!("{method} {path} → {status} {media_type}");
    let schema = response_schema(document, path, method, status, &media_type);
    assert_fits(components, &schema, &body, &what);
    if compare_example {
        let example = &document["paths"][path][method]["responses"][status.to_string()]["content"]
            [&media_type]["example"];
        let mut live = body.clone();
        let mut expected = example.clone();
        for value in [&mut live, &mut expected] {
            if let Some(map) = value.as_object_mut() {
                map.remove("request_id");
            }
        }
        assert_eq!(
            live, expected,
            "{what}: the live answer is not the documented example"
        );
    }
    body
}

/// The service on a small directory: every GET answers as documented, and the documented errors
/// of each operation are what the service answers.
async fn live_answers_fit_the_document(app: TestApp) {
    let document = document();
    let components = strict_components(&document);
    // A clinic, a location near ZIP 10001, a verified provider there with credentials.
    let clinic = app.create_clinic("Examples Clinic").await;
    let location = app
        .create_location(clinic, 40.7506, -73.9972, "America/New_York")
        .await;
    let provider = app
        .public_provider(&npi(400), "2084N0400X", location, "chronic_migraine")
        .await;
    let board = app
        .add_credential(provider, json!({"kind": "board_certification", "issuer": "American Board of Psychiatry and Neurology", "specialty_code": "2084N0400X", "issued_on": "2015-07-01", "expires_on": "2099-01-01"}))
        .await;
    app.verify_credential(board, "abms_member_board").await;
    let role = format!("{provider}-{location}");
    // A second location with its provider, so that one-result pages carry a `next_cursor`.
    let neighbour = app
        .create_location(clinic, 40.7520, -73.9950, "America/New_York")
        .await;
    app.public_provider(&npi(401), "2084N0400X", neighbour, "chronic_migraine")
        .await;

    let concrete = |template: &str| {
        let resource = if template.contains("/clinics/") || template.contains("/Organization/") {
            clinic
        } else if template.contains("/locations/") || template.contains("/Location/") {
            location
        } else if template.contains("/keys/") {
            1
        } else {
            provider
        };
        template
            .replace("{id}", &resource.to_string())
            .replace("{location_id}", &location.to_string())
            .replace("{code}", "chronic_migraine")
            .replace(
                &format!("PractitionerRole/{resource}"),
                &format!("PractitionerRole/{role}"),
            )
    };
    // The query a GET needs to answer 200.
    let query = |template: &str| match template {
        "/v1/search/locations" | "/v1/search/providers" => {
            "postal_code=10001&treatment=chronic_migraine&radius=50".to_owned()
        }
        "/fhir/Location" => "near=40.7506|-73.9972|50|km".to_owned(),
        "/fhir/PractitionerRole" => format!("location=Location/{location}"),
        _ => String::new(),
    };
    let mut answered = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else {
            continue;
        };
        if template == "/metrics" {
            continue; // off without a token (tests/api/hardening.rs covers it)
        }
        let keyed = operation
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|list| !list.is_empty() && !list.contains(&json!({})));
        let path = concrete(template);
        let query = query(template);
        let url = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        let send = |request: reqwest::RequestBuilder| async move {
            request.send().await.expect("request")
        };
        let request = |extra: &str, key: Option<&str>| {
            let joined = match (url.contains('?'), extra.is_empty()) {
                (_, true) => url.clone(),
                (true, false) => format!("{url}&{extra}"),
                (false, false) => format!("{url}?{extra}"),
            };
            let mut request = app.request(Method::GET, &joined);
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            request
        };
        let key = keyed.then_some(ADMIN_KEY);
        let at = ("get", template.as_str());
        // 200, in every media type the operation offers.
        let ok = &operation["responses"]["200"]["content"];
        // Pages of one, so that the searches' answers carry a next page.
        let page_of_one = match template.as_str() {
            "/v1/search/locations" | "/v1/search/providers" => "limit=1",
            "/fhir/Location" => "_count=1",
            _ => "",
        };
        for media_type in ok.as_object().unwrap().keys() {
            let response =
                send(request(page_of_one, key).header("Accept", media_type.as_str())).await;
            assert_eq!(response.status(), 200, "GET {url} ({media_type})");
            let body = check_answer(&document, &components, at, response, false).await;
            if template.starts_with("/v1/search/") {
                assert!(
                    body["next_cursor"].is_string(),
                    "GET {url} ({media_type}): a first page of one has a next_cursor to check"
                );
            }
            answered += 1;
        }
        let documented = |status: &str| operation["responses"].get(status).is_some();
        // An unknown parameter, or the documented 422's own mistake.
        if documented("422") {
            let example = &operation["responses"]["422"]["content"];
            let example = example
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| c["example"].clone())
                .unwrap_or_default();
            let mistake = match example["errors"][0]["pointer"].as_str() {
                Some("/limit") => Some(("limit=0".to_owned(), url.clone())),
                Some("/nickname") => Some(("nickname=x".to_owned(), url.clone())),
                _ => None,
            };
            let response = match (mistake, example["errors"][0]["in"].as_str()) {
                (Some((extra, _)), _) => send(request(&extra, key)).await,
                (None, Some("path")) => {
                    let bad = template.replacen("{id}", "seven", 1);
                    let bad = concrete(&bad);
                    let mut r = app.request(Method::GET, &format!("{bad}?{query}"));
                    if let Some(key) = key {
                        r = r.bearer_auth(key);
                    }
                    send(r).await
                }
                _ => send(request("nickname=x", key)).await,
            };
            assert_eq!(response.status(), 422, "GET {url}: the documented 422");
            let fhir = template.starts_with("/fhir/");
            check_answer(&document, &components, at, response, !fhir).await;
        }
        if documented("406") {
            let response = send(request("", key).header("Accept", "application/xml")).await;
            assert_eq!(response.status(), 406, "GET {url}");
            check_answer(
                &document,
                &components,
                at,
                response,
                !template.starts_with("/fhir/"),
            )
            .await;
        }
        if documented("414") {
            let response = send(request(&format!("q={}", "a".repeat(3000)), key)).await;
            assert_eq!(response.status(), 414, "GET {url}");
            check_answer(
                &document,
                &components,
                at,
                response,
                !template.starts_with("/fhir/"),
            )
            .await;
        }
        if documented("401") {
            let response = if keyed {
                send(request("", None)).await
            } else {
                send(request("", Some("cf_not-a-key-of-this-service"))).await
            };
            assert_eq!(response.status(), 401, "GET {url}");
            check_answer(
                &document,
                &components,
                at,
                response,
                !template.starts_with("/fhir/"),
            )
            .await;
        }
        if documented("404") && template.contains("{id}") && !template.starts_with("/fhir/") {
            let missing = template.replacen("{id}", "7", 1);
            let mut r = app.request(Method::GET, &concrete(&missing));
            if let Some(key) = key {
                r = r.bearer_auth(key);
            }
            let response = send(r).await;
            assert_eq!(response.status(), 404, "GET {missing}");
            check_answer(&document, &components, at, response, true).await;
        }
    }
    assert!(answered >= 25, "{answered} answers checked");

    // Writes: the views they answer with, and their documented errors.
    let write = |method: Method, path: String, body: Value, version: Option<i64>| {
        let request = app
            .request(method, &path)
            .bearer_auth(ADMIN_KEY)
            .json(&body);
        async move {
            match version {
                Some(version) => request.header("If-Match", format!("\"{version}\"")),
                None => request,
            }
            .send()
            .await
            .expect("request")
        }
    };
    let created = write(
        Method::POST,
        "/v1/clinics".into(),
        json!({"name": "Second", "website": "https://example.org", "phone": "+1-212-555-0100"}),
        None,
    )
    .await;
    assert_eq!(created.status(), 201);
    let second = check_answer(
        &document,
        &components,
        ("post", "/v1/clinics"),
        created,
        false,
    )
    .await;
    let id = second["id"].as_i64().unwrap();
    let updated = write(
        Method::PATCH,
        format!("/v1/clinics/{id}"),
        json!({"description": "Updated."}),
        Some(1),
    )
    .await;
    assert_eq!(updated.status(), 200);
    check_answer(
        &document,
        &components,
        ("patch", "/v1/clinics/{id}"),
        updated,
        false,
    )
    .await;
    let credential = write(
        Method::PATCH,
        format!("/v1/credentials/{board}"),
        json!({"identifier": "N12345"}),
        Some(2),
    )
    .await;
    assert_eq!(
        credential.status(),
        200,
        "{}",
        credential.text().await.unwrap()
    );
    let verified = write(
        Method::POST,
        format!("/v1/credentials/{board}/verification"),
        json!({"outcome": "verified", "source_type": "abms_member_board", "reference": "https://www.certificationmatters.org/", "reason": "Checked at the board"}),
        Some(3),
    )
    .await;
    assert_eq!(verified.status(), 200);
    check_answer(
        &document,
        &components,
        ("post", "/v1/credentials/{id}/verification"),
        verified,
        false,
    )
    .await;
    let offer = write(
        Method::PUT,
        format!("/v1/providers/{provider}/treatments/cervical_dystonia"),
        json!({"annual_volume": 40}),
        None,
    )
    .await;
    check_answer(
        &document,
        &components,
        ("put", "/v1/providers/{id}/treatments/{code}"),
        offer,
        false,
    )
    .await;
    let key = write(
        Method::POST,
        "/v1/admin/keys".into(),
        json!({"name": "Partner", "role": "partner", "expires_in_days": 30}),
        None,
    )
    .await;
    assert_eq!(key.status(), 201);
    let key = check_answer(
        &document,
        &components,
        ("post", "/v1/admin/keys"),
        key,
        false,
    )
    .await;
    let revoked = write(
        Method::POST,
        format!("/v1/admin/keys/{}/revoke", key["id"]),
        json!({}),
        None,
    )
    .await;
    check_answer(
        &document,
        &components,
        ("post", "/v1/admin/keys/{id}/revoke"),
        revoked,
        false,
    )
    .await;
    let provider_view = write(
        Method::PATCH,
        format!("/v1/providers/{provider}"),
        json!({"bio": "Updated."}),
        Some(app.provider_version(provider).await),
    )
    .await;
    check_answer(
        &document,
        &components,
        ("patch", "/v1/providers/{id}"),
        provider_view,
        false,
    )
    .await;

    // The documented errors of writes: a body that is not JSON (400), not JSON at all (415), an
    // unknown field (422), no If-Match where one is needed (428), no key (401).
    let malformed = app
        .request(Method::POST, "/v1/clinics")
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(clinic_finder::domain::json::MALFORMED_EXAMPLE_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    check_answer(
        &document,
        &components,
        ("post", "/v1/clinics"),
        malformed,
        true,
    )
    .await;
    let plain = app
        .request(Method::POST, "/v1/clinics")
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "text/plain")
        .body("name")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    check_answer(&document, &components, ("post", "/v1/clinics"), plain, true).await;
    for (method, template, path) in [
        ("post", "/v1/clinics", "/v1/clinics".to_owned()),
        ("post", "/v1/locations", "/v1/locations".to_owned()),
        ("post", "/v1/providers", "/v1/providers".to_owned()),
        (
            "post",
            "/v1/providers/{id}/credentials",
            format!("/v1/providers/{provider}/credentials"),
        ),
        ("post", "/v1/admin/keys", "/v1/admin/keys".to_owned()),
        (
            "put",
            "/v1/providers/{id}/treatments/{code}",
            format!("/v1/providers/{provider}/treatments/strabismus"),
        ),
    ] {
        let method_ = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let unknown = write(method_, path, json!({"nickname": "x"}), None).await;
        assert_eq!(unknown.status(), 422, "{method} {template}");
        check_answer(&document, &components, (method, template), unknown, true).await;
    }
    let unconditional = write(
        Method::PATCH,
        format!("/v1/clinics/{id}"),
        json!({"name": "x"}),
        None,
    )
    .await;
    assert_eq!(unconditional.status(), 428);
    check_answer(
        &document,
        &components,
        ("patch", "/v1/clinics/{id}"),
        unconditional,
        true,
    )
    .await;
    let anonymous = app
        .request(Method::POST, "/v1/clinics")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    check_answer(
        &document,
        &components,
        ("post", "/v1/clinics"),
        anonymous,
        true,
    )
    .await;
}

on_both_backends!(live_answers_fit_the_document,);
