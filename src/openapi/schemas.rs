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
