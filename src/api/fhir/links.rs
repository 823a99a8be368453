//! The facade's own URLs, for `fullUrl`s and Bundle links: its base, and query values encoded
//! for a link.

use actix_web::{HttpRequest, HttpResponse};

use crate::state::AppState;

/// The facade's base URL, for `fullUrl` and links. The scheme and host come from
/// `X-Forwarded-Proto`/`X-Forwarded-Host` only when the peer is a trusted proxy (like the
/// client address for rate limits), and then from the right-most value — the one the nearest
/// proxy wrote; values to its left are whatever the client sent. Otherwise they come from the
/// `Host` header. A host that is not a plain `name[:port]` is replaced by the address the server
/// listens on. Responses built from it say so with [`vary_on_forwarded`].
pub fn base_url(state: &AppState, request: &HttpRequest) -> String {
    let trusted = request.peer_addr().is_some_and(|peer| {
        state
            .settings
            .trusted_proxies
            .iter()
            .any(|network| network.contains(peer.ip()))
    });
    // The right-most value over every line of the header.
    let header_value = |name: &str| {
        request
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .last()
            .map(str::to_owned)
    };
    let sane_host = |host: &String| {
        !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    };
    let forwarded_host = trusted
        .then(|| header_value("x-forwarded-host"))
        .flatten()
        .filter(sane_host);
    let scheme = trusted
        .then(|| header_value("x-forwarded-proto"))
        .flatten()
        .filter(|proto| proto == "https" || proto == "http")
        .unwrap_or_else(|| "http".to_owned());
    let host = forwarded_host
        .or_else(|| header_value("host").filter(sane_host))
        .unwrap_or_else(|| state.settings.bind.to_string());
    format!("{scheme}://{host}/fhir")
}

/// Marks a response whose links came from [`base_url`] as varying with the forwarded headers
/// (when proxies are trusted, they change the body): a shared cache must not hand one
/// forwarded host's links to another.
pub fn vary_on_forwarded(state: &AppState, response: &mut HttpResponse) {
    if !state.settings.trusted_proxies.is_empty() {
        response.headers_mut().append(
            actix_web::http::header::VARY,
            actix_web::http::header::HeaderValue::from_static(
                "X-Forwarded-Host, X-Forwarded-Proto",
            ),
        );
    }
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
