//! The facade's own URLs, for `fullUrl`s and Bundle links: its base, and query values encoded
//! for a link.

use actix_web::HttpRequest;

pub use crate::api::origin::vary_on_forwarded;
use crate::api::origin::{origin, Origin};
use crate::state::AppState;

/// The facade's base URL, for `fullUrl` and links (see [`origin`]).
pub fn base_url(state: &AppState, request: &HttpRequest) -> String {
    let Origin { scheme, host } = origin(state, request);
    format!("{scheme}://{host}/fhir")
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub(super) fn query_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
