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

async fn served_spec_is_sound_openapi_3(app: TestApp) {
    let served = app.get_json("/openapi.json").await;
    assert_eq!(served, committed());
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
    assert!(served["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer");
    let mut refs = Vec::new();
    collect_refs(&served, &mut refs);
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .expect("local schema ref");
        assert!(
            served["components"]["schemas"].get(name).is_some(),
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
            let writes = *method != "get";
            let public = operation.get("security").is_none();
            assert!(
                !(writes && public),
                "{method} {path}: every write needs a key"
            );
            if !public {
                assert!(
                    operation["responses"].get("401").is_some(),
                    "{method} {path} documents 401"
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
