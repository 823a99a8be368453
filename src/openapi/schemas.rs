//! Passes over the component schemas of the finished document.

use serde_json::{Map, Value};

/// utoipa writes a generic (`Page<T>`, `BundleEntry<T>`) out per argument as `Page_ClinicView`,
/// inlining the argument's schema where the generic uses it. Generators then invent a name for
/// the inlined copy (`PageClinicViewItemsItem`); this refers them to the argument's own component
/// (`#/components/schemas/ClinicView`) instead, so every client names it as the API does.
pub fn refer_generic_arguments(schemas: &mut Map<String, Value>) {
    let generics: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|name| {
            let (_, argument) = name.split_once('_')?;
            schemas
                .contains_key(argument)
                .then(|| (name.clone(), argument.to_owned()))
        })
        .collect();
    for (name, argument) in generics {
        let Some(target) = schemas.get(&argument).cloned() else {
            continue;
        };
        if let Some(schema) = schemas.get_mut(&name) {
            refer(schema, &argument, &target, true);
        }
    }
}

fn refer(value: &mut Value, name: &str, target: &Value, root: bool) {
    if !root && *value == *target {
        *value = serde_json::json!({"$ref": format!("#/components/schemas/{name}")});
        return;
    }
    match value {
        Value::Object(map) => map
            .values_mut()
            .for_each(|value| refer(value, name, target, false)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|value| refer(value, name, target, false)),
        _ => {}
    }
}

/// Simplifies what utoipa writes for a field with a `value_type` and a doc comment
/// (`{"oneOf": [X], "description": …}`) or an optional one (`{"oneOf": [{"type": "null"}, X]}`):
/// the first becomes X with the description, the second X with `null` added to its `type` (and to
/// its `enum`), which every generator reads as a plain nullable value. A `$ref` stays in `oneOf`.
pub fn simplify_one_of(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(simplify_one_of);
            let Some(Value::Array(branches)) = map.get("oneOf") else {
                return;
            };
            let is_null = |branch: &Value| *branch == serde_json::json!({"type": "null"});
            let merged = match branches.as_slice() {
                [only] if only.get("$ref").is_none() => Some(only.clone()),
                [null, only] if is_null(null) && only.get("$ref").is_none() => {
                    let mut only = only.clone();
                    if let Some(Value::String(kind)) = only.get("type").cloned() {
                        only["type"] = serde_json::json!([kind, "null"]);
                        if let Some(Value::Array(values)) = only.get_mut("enum") {
                            values.push(Value::Null);
                        }
                        Some(only)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(Value::Object(merged)) = merged {
                map.remove("oneOf");
                for (key, value) in merged {
                    map.entry(key).or_insert(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(simplify_one_of),
        _ => {}
    }
}
