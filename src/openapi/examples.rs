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
        ] {
            assert!(example.is_object());
        }
    }
}
