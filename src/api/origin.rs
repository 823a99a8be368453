//! The service's own origin as a client reached it, for the URLs it writes into answers (FHIR
//! `fullUrl`s and links, the served OpenAPI document's server): the scheme and host come from
//! `X-Forwarded-Proto`/`X-Forwarded-Host` only when the peer is a trusted proxy (like the client
//! address for rate limits), and then from the right-most value — the one the nearest proxy
//! wrote; values to its left are whatever the client sent. Otherwise they come from the `Host`
//! header. A host that is not a plain `name[:port]` is replaced by the address the server listens
//! on. Responses built from it say so with [`vary_on_forwarded`].

use actix_web::{HttpRequest, HttpResponse};

use crate::state::AppState;

/// Scheme (`http` or `https`) and host (`name[:port]`).
pub struct Origin {
    pub scheme: String,
    pub host: String,
}

pub fn origin(state: &AppState, request: &HttpRequest) -> Origin {
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
    Origin { scheme, host }
}

/// Marks a response built from [`origin`] as varying with the forwarded headers (when proxies
/// are trusted, they change the body): a shared cache must not hand one forwarded host's URLs to
/// another.
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
