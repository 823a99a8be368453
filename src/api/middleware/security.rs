//! Security headers on every response, and CORS from the configuration.
//!
//! API responses get a `Content-Security-Policy` of `default-src 'none'` (they are data, never a
//! page); Swagger UI under `/docs/` gets one that lets its own scripts and styles run, and the
//! finder page at `/` one that lets it load its own script and style and call the API. Responses to
//! a request with `Authorization` are never stored by a cache (`Cache-Control: no-store`).
//!
//! CORS: an allowlisted origin may make any request, keyed or not; `*` in the list (the default)
//! admits every other origin for public `GET`/`HEAD` only (no `Authorization`), and such a
//! response says `Access-Control-Allow-Origin: *` whether or not the request named its origin, so
//! that one cached copy serves every site. Credentials (cookies) are never allowed: the API
//! authenticates with bearer keys. Preflights are answered here: 204 with the grant, or 403
//! problem+json when the origin may not make that request. `none` in the list turns CORS off.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::api::error::ApiError;
use crate::state::AppState;

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI loads its bundle and styles from `/docs/` and configures itself with an inline
/// script; it fetches `/openapi.json` from the same origin.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
/// The finder page at `/` runs its own script and style (no inline code) and calls the API on the
/// same origin; nothing else.
const FINDER_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// Headers a browser script may read on a cross-origin response.
const EXPOSED: &str = "ETag, Location, Retry-After, X-Request-Id, RateLimit-Limit, \
RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy";
const ALLOWED_HEADERS: &str =
    "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id, Accept, Consistency";
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";

/// What CORS grants a request from `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The exact origin, echoed (allowlisted).
    Origin(String),
    /// `*` (public GET/HEAD only).
    Any,
    None,
}

/// The CORS decision for an `origin` making a `method` request, with or without a key.
pub fn grant(allowlist: &[String], origin: &str, method: &Method, keyed: bool) -> Grant {
    if allowlist.iter().any(|allowed| allowed == origin) {
        Grant::Origin(origin.to_owned())
    } else if allowlist.iter().any(|allowed| allowed == "*")
        && !keyed
        && (method == Method::GET || method == Method::HEAD)
    {
        Grant::Any
    } else {
        Grant::None
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn set_grant(headers: &mut HeaderMap, grant: &Grant) {
    match grant {
        Grant::Origin(origin) => {
            set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            set(headers, header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
        }
        Grant::Any => {
            set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
            set(headers, header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
        }
        Grant::None => {}
    }
}

/// Answers CORS preflights, grants CORS on actual requests, and sets the security headers.
pub async fn security_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let allowlist: Vec<String> = state
        .as_ref()
        .map(|state| state.settings.cors_origins.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|origin| origin.trim().to_owned())
        .filter(|origin| !origin.is_empty() && origin != "none")
        .collect();
    let allowlist = allowlist.as_slice();
    let hsts_max_age = state.as_ref().map_or(0, |s| s.settings.hsts_max_age);
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let keyed = request.headers().contains_key(header::AUTHORIZATION);
    let csp = match request.path() {
        "/docs" => DOCS_CSP,
        path if path.starts_with("/docs/") => DOCS_CSP,
        crate::finder::PAGE_PATH => FINDER_CSP,
        _ => API_CSP,
    };

    let preflight_method = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|value| Method::from_bytes(value.as_bytes()).ok());
    let mut response = match (&origin, preflight_method) {
        (Some(origin), Some(method)) if request.method() == Method::OPTIONS => {
            // A preflight asks for `Authorization` when the actual request will carry a key.
            let asks_for_key = request
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|names| {
                    names
                        .split(',')
                        .any(|name| name.trim().eq_ignore_ascii_case("authorization"))
                });
            let grant = grant(allowlist, origin, &method, asks_for_key);
            // A preflight is answered here, before the rate limiter: it takes its token here.
            let limited = state
                .as_ref()
                .and_then(|state| super::ratelimit::take_for_preflight(state, &request));
            if let Some(decision) = limited.filter(|decision| !decision.allowed) {
                let mut refused = request.error_response(ApiError::TooManyRequests {
                    retry_after_secs: decision.retry_after_secs,
                });
                decision.apply(&mut refused);
                refused
            } else if grant == Grant::None {
                request.error_response(ApiError::Forbidden(
                    "this origin may not make this cross-origin request".to_owned(),
                ))
            } else {
                let mut preflight = HttpResponse::NoContent().finish();
                let headers = preflight.headers_mut();
                set_grant(headers, &grant);
                set(
                    headers,
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    ALLOWED_METHODS,
                );
                set(
                    headers,
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    ALLOWED_HEADERS,
                );
                set(headers, header::ACCESS_CONTROL_MAX_AGE, "600");
                request.into_response(preflight)
            }
        }
        _ => {
            let method = request.method().clone();
            let mut response = next.call(request).await?.map_into_boxed_body();
            // Without `Origin`, the grant any other origin would get (`*` or nothing): a shared
            // cache may hand this response to a browser on any site.
            let origin = origin.as_deref().unwrap_or("");
            set_grant(
                response.headers_mut(),
                &grant(allowlist, origin, &method, keyed),
            );
            response
        }
    };

    let headers = response.headers_mut();
    if allowlist.iter().any(|origin| origin != "*") {
        // The answer depends on the origin: caches must not hand one origin's grant to another.
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::CONTENT_SECURITY_POLICY, csp);
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-site",
    );
    if keyed {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if hsts_max_age > 0 {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            &format!("max-age={hsts_max_age}"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wildcard_admits_public_reads_only() {
        let list = vec!["https://app.example.org".to_owned(), "*".to_owned()];
        let listed = "https://app.example.org";
        assert_eq!(
            grant(&list, listed, &Method::POST, true),
            Grant::Origin(listed.to_owned())
        );
        assert_eq!(
            grant(&list, "https://x.test", &Method::GET, false),
            Grant::Any
        );
        assert_eq!(
            grant(&list, "https://x.test", &Method::GET, true),
            Grant::None
        );
        assert_eq!(
            grant(&list, "https://x.test", &Method::POST, false),
            Grant::None
        );
        assert_eq!(
            grant(
                &["https://app.example.org".to_owned()],
                "https://x.test",
                &Method::GET,
                false
            ),
            Grant::None
        );
    }
}
