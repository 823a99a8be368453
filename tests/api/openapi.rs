//! The spec is the contract: the committed document is what the code generates, the served one
//! is the same, and it is a sound OpenAPI 3.1 document.

use serde_json::Value;

use crate::helpers::TestApp;

fn committed() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("committed spec is JSON")
}

#[test]
fn committed_spec_matches_the_code() {
    let generated: Value = serde_json::from_str(&clinic_finder::openapi::document_json()).unwrap();
    assert!(
        generated == committed(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

/// No control character in any string of the document (a regular expression says `\x00`, never
/// holds one): generators copy patterns and descriptions into source code, and Python refuses a
/// module with a NUL byte in it.
#[test]
fn the_document_holds_no_control_characters() {
    let text = clinic_finder::openapi::document_json();
    let found: Vec<(usize, char)> = text
        .char_indices()
        .filter(|(_, c)| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        .collect();
    assert!(found.is_empty(), "control characters at {found:?}");
    // JSON escapes them: look for the escapes too.
    assert!(!text.contains("\\u0000"), "an escaped NUL in the document");
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// Whether a media type or schema (following `$ref`) carries an example.
fn has_example(spec: &Value, value: &Value) -> bool {
    if let Some(reference) = value["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return has_example(spec, &spec["components"]["schemas"][name]);
    }
    value.get("example").is_some()
        || value["examples"]
            .as_object()
            .is_some_and(|examples| !examples.is_empty())
        || value["examples"]
            .as_array()
            .is_some_and(|examples| !examples.is_empty())
}

async fn served_spec_is_sound_openapi_3(app: TestApp) {
    let mut served = app.get_json("/openapi.json").await;
    // The server's defaults are the origin the document was read from (so that /docs/ and a
    // generator reading it from a deployment call that deployment); the rest is the committed
    // document.
    let host = app.address.trim_start_matches("http://");
    let variables = served.pointer_mut("/servers/0/variables").unwrap();
    assert_eq!(variables["scheme"]["default"], "http");
    assert_eq!(variables["host"]["default"], host);
    variables["host"]["default"] = "127.0.0.1:8080".into();
    assert_eq!(served, committed());
    // Forwarded headers are not believed without trusted proxies.
    let forwarded: Value = app
        .request(reqwest::Method::GET, "/openapi.json")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        forwarded["servers"][0]["variables"]["host"]["default"],
        host
    );
    assert_eq!(
        forwarded["servers"][0]["variables"]["scheme"]["default"],
        "http"
    );
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
    assert!(served["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer");
    let mut refs = Vec::new();
    collect_refs(&served, &mut refs);
    for reference in refs {
        let target = reference
            .strip_prefix("#/components/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(kind, name)| &served["components"][kind][name]);
        assert!(
            target.is_some_and(Value::is_object),
            "dangling $ref {reference}"
        );
    }
    let methods = ["get", "post", "put", "patch", "delete"];
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in methods.iter().filter(|m| item.get(**m).is_some()) {
            let operation = &item[*method];
            assert!(
                operation["operationId"].is_string(),
                "{method} {path} has an operationId"
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|s| s.starts_with('2')),
                "{method} {path} documents success"
            );
            for field in ["summary", "description"] {
                assert!(
                    operation[field]
                        .as_str()
                        .is_some_and(|text| !text.is_empty()),
                    "{method} {path} has a {field}"
                );
            }
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            assert!(
                served["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["name"] == tag && t["description"].is_string()),
                "{method} {path} has a described tag"
            );
            // Every body, sent or received, has an example (its own, or its schema's).
            let mut contents: Vec<(String, &Value)> = Vec::new();
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                contents.extend(content.iter().map(|(t, c)| (format!("request {t}"), c)));
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|text| !text.is_empty()),
                    "{method} {path}: {status} has a description"
                );
                if let Some(content) = response["content"].as_object() {
                    contents.extend(content.iter().map(|(t, c)| (format!("{status} {t}"), c)));
                }
            }
            for (what, content) in contents {
                assert!(
                    has_example(&served, content) || has_example(&served, &content["schema"]),
                    "{method} {path}: {what} has an example"
                );
            }
            let writes = *method != "get";
            // Public operations inherit the document's security: no key, or any valid key.
            let security = operation.get("security").unwrap_or(&served["security"]);
            let requirements = security.as_array().cloned().unwrap_or_default();
            let public = requirements.contains(&serde_json::json!({}));
            let keyed = !public && !requirements.is_empty();
            assert!(
                !(writes && public),
                "{method} {path}: every write needs a key"
            );
            if public && *method == "get" && path.starts_with("/v1/") {
                // Public reads are cacheable: they say how (see tests/api/caching.rs).
                assert!(
                    operation["responses"]["304"].is_object()
                        && operation["responses"]["200"]["headers"]["ETag"].is_object()
                        && operation["responses"]["200"]["headers"]["Cache-Control"].is_object(),
                    "{method} {path} documents its caching"
                );
                assert!(
                    operation["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| { p["$ref"] == "#/components/parameters/If-None-Match" }),
                    "{method} {path} takes If-None-Match"
                );
            }
            // A key sent must be valid wherever one is looked at: 401 is documented there.
            if public || keyed {
                assert!(
                    operation["responses"].get("401").is_some(),
                    "{method} {path} documents 401"
                );
            }
            // Every response says its request id.
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert_eq!(
                    response["headers"]["X-Request-Id"]["$ref"],
                    "#/components/headers/X-Request-Id",
                    "{method} {path}: {status}"
                );
            }
        }
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    // Swagger UI loads this service's document.
    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("\"url\": \"/openapi.json\""),
        "{initializer}"
    );
}

on_both_backends!(served_spec_is_sound_openapi_3,);
