//! The larger response examples of the OpenAPI document, kept as JSON files next to this module.
//! They are real responses of `serve --demo` (floats rounded, one result per search); Redocly's
//! lint in `.ci/run` checks each against its schema.

use serde_json::Value;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the example files are JSON (see the test below)")
}

pub fn provider_profile() -> Value {
    parse(include_str!("examples/provider_profile.json"))
}

pub fn provider_admin_view() -> Value {
    parse(include_str!("examples/provider_admin_view.json"))
}

pub fn search_locations() -> Value {
    parse(include_str!("examples/search_locations.json"))
}

pub fn search_providers() -> Value {
    parse(include_str!("examples/search_providers.json"))
}

pub fn search_geojson() -> Value {
    parse(include_str!("examples/search_locations.geojson"))
}

/// The providers example as GeoJSON: each result a Feature at its location's point.
pub fn search_providers_geojson() -> Value {
    let mut answer = search_providers();
    let features: Vec<Value> = answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|result| {
            let point = &result["location"]["coordinates"];
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [point["lon"], point["lat"]]},
                "properties": result,
            })
        })
        .collect();
    let mut collection = serde_json::json!({"type": "FeatureCollection", "features": features});
    collection["meta"] = answer["meta"].take();
    if let Some(cursor) = answer.get("next_cursor") {
        collection["next_cursor"] = cursor.clone();
    }
    collection
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_example_is_a_json_object() {
        for example in [
            super::provider_profile(),
            super::provider_admin_view(),
            super::search_locations(),
            super::search_providers(),
            super::search_geojson(),
            super::search_providers_geojson(),
        ] {
            assert!(example.is_object());
        }
    }
}
