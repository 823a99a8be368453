//! HTTP caching of public reads: `ETag`, `Cache-Control` and `304 Not Modified`.
//!
//! Which responses: a `200` to a `GET` without `Authorization` on a path [`policy`] names (public
//! data only; keyed responses are `no-store`, see `security.rs`). Errors on those paths are
//! `no-store`: a cache must not keep a 404 for a resource about to be created, or a 503.
//!
//! The `ETag` is **strong**, a SHA-256 of the exact body bytes (first 64 bits), except on search
//! (weak, an xxh3 of the body without its instant, see [`weak_etag`]): two responses
//! with one tag are byte-for-byte the same, so it is safe for any use of a strong validator, and it
//! changes with anything the body shows, including what no row version tracks (a clinic's
//! locations, a credential that expired overnight, the ranking of a search). Where the handler
//! already tagged the response with the resource's version (`"3"`, which `If-Match` on admin
//! updates compares), the tag is `"<version>-<hash>"`, so the tag a public read gives out still
//! works in `If-Match` (the version is what it compares, see `api::extract::IfMatch`).
//!
//! `If-None-Match` (a list of tags, or `*`) is compared weakly, as RFC 9110 §13.1.2 says; a match
//! answers `304` with no body and the `ETag`, `Cache-Control` and `Vary` of the `200`.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use sha2::{Digest, Sha256};

/// How long caches may reuse a public read without asking again, and whether it varies by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_age_secs: u32,
    /// The response is negotiated on `Accept` (search answers JSON or GeoJSON).
    pub vary_accept: bool,
}

/// The caching policy of a public read path (a request path or an OpenAPI path template), or
/// `None` for paths that are not cached. Search is short-lived (open-now and rankings move);
/// the directory a little longer; the taxonomy changes only with a migration, the document only
/// with a deploy.
pub fn policy(path: &str) -> Option<Policy> {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let max_age_secs = if path.starts_with("/v1/search/") || path == "/fhir/Location" {
        30
    } else if path == "/fhir/metadata" {
        3600
    } else if under("/v1/clinics")
        || under("/v1/locations")
        || under("/v1/providers")
        || path.starts_with("/fhir/")
    {
        60
    } else if path == "/v1/treatments" || path == "/v1/specialties" {
        3600
    } else if path == "/openapi.json" {
        300
    } else {
        return None;
    };
    Some(Policy {
        max_age_secs,
        vary_accept: path.starts_with("/v1/search/"),
    })
}

impl Policy {
    pub fn cache_control(&self) -> String {
        format!("public, max-age={}", self.max_age_secs)
    }
}

/// Adds `ETag` and `Cache-Control` to public reads and answers a matching `If-None-Match` with 304.
pub async fn caching_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let cacheable_request = (request.method() == Method::GET || request.method() == Method::HEAD)
        && !request.headers().contains_key(header::AUTHORIZATION);
    let Some(policy) = cacheable_request.then(|| policy(request.path())).flatten() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    let if_none_match: Vec<String> = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();

    let mut response = next.call(request).await?;
    if policy.vary_accept {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept"));
    }
    if response.status() != StatusCode::OK {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(response.map_into_boxed_body());
    }

    let (request, response) = response.into_parts();
    let (mut response, body) = response.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("reading the response body"))?;
    let handler_tag = response
        .headers()
        .get(header::ETAG)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let tag = match handler_tag {
        // The handler's own weak tag (see `weak_etag`) stands.
        Some(weak) if weak.starts_with("W/") => weak,
        version => entity_tag(version.as_deref().map(|v| v.trim_matches('"')), &bytes),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&policy.cache_control()) {
        headers.insert(header::CACHE_CONTROL, value);
    }

    let response = if if_none_match.iter().any(|list| matches_any(list, &tag)) {
        // 304 carries the validator and the caching headers of the 200, and no body.
        let mut not_modified = HttpResponse::new(StatusCode::NOT_MODIFIED);
        for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
            for value in response.headers().get_all(&name) {
                not_modified
                    .headers_mut()
                    .append(name.clone(), value.clone());
            }
        }
        not_modified
    } else {
        response.set_body(BoxBody::new(bytes))
    };
    Ok(ServiceResponse::new(request, response))
}

/// A weak `ETag` for a serialized JSON body one member of which (`"<volatile_key>": "<string>"`,
/// its first occurrence) changes with every request without changing what the body says:
/// search's `meta.as_of`, the instant of the request. Two answers that differ only there are
/// equivalent, which is what a weak validator claims (RFC 9110 §8.8.1); a strong one over the
/// bytes would never match again. The member is found in the bytes themselves (inside a JSON
/// string a quote is escaped, so `"as_of":"` can only be a member name): the body is serialised
/// once, not once more to take the member out.
///
/// The hash is xxh3 (64 bits), not SHA-256: a weak validator claims no more than equivalence,
/// nothing here needs a cryptographic hash, and on a 36 KB search answer SHA-256 cost a tenth of
/// the request. xxh3's output is specified (the same on every platform and version), so servers
/// behind one balancer give the same tag for the same answer.
pub fn weak_etag(json: &[u8], volatile_key: &str) -> (header::HeaderName, String) {
    let needle = format!("\"{volatile_key}\":\"");
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    match json
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
    {
        Some(start) => {
            let value = start + needle.len();
            let end = json[value..]
                .iter()
                .position(|&byte| byte == b'"')
                .map_or(json.len(), |offset| value + offset + 1);
            hasher.update(&json[..start]);
            hasher.update(&json[end..]);
        }
        None => hasher.update(json),
    }
    (header::ETAG, format!("W/\"{:016x}\"", hasher.digest()))
}

fn short_hash(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `"<hash>"`, or `"<version>-<hash>"` when the handler tagged the response with a version.
fn entity_tag(version: Option<&str>, body: &[u8]) -> String {
    let hash = short_hash(&Sha256::digest(body));
    match version {
        Some(version) if !version.is_empty() => format!("\"{version}-{hash}\""),
        _ => format!("\"{hash}\""),
    }
}

/// Whether an `If-None-Match` value (`*`, or a comma-separated list of entity tags) matches `tag`
/// under the weak comparison: `W/` is ignored on both sides. Anything unparsable matches nothing.
fn matches_any(if_none_match: &str, tag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(tag);
    let mut rest = if_none_match.trim();
    if rest == "*" {
        return true;
    }
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let candidate = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(inner) = candidate.strip_prefix('"') else {
            return false;
        };
        let Some(end) = inner.find('"') else {
            return false;
        };
        if format!("\"{}\"", &inner[..end]) == ours {
            return true;
        }
        rest = &inner[end + 1..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weak_tag_ignores_only_the_instant_of_the_request() {
        let tag = |json: &str| weak_etag(json.as_bytes(), "as_of").1;
        let at_nine = r#"{"meta":{"radius_km":25.0,"as_of":"2026-11-26T09:00:00Z"},"results":[1]}"#;
        let at_ten = r#"{"meta":{"radius_km":25.0,"as_of":"2026-11-26T10:00:00Z"},"results":[1]}"#;
        let other = r#"{"meta":{"radius_km":25.0,"as_of":"2026-11-26T10:00:00Z"},"results":[2]}"#;
        assert!(tag(at_nine).starts_with("W/\""));
        // 64 bits of xxh3, as 16 hex digits.
        assert_eq!(tag(at_nine).len(), "W/\"\"".len() + 16, "{}", tag(at_nine));
        assert_eq!(tag(at_nine), tag(at_ten));
        assert_ne!(tag(at_ten), tag(other));
        // A name that merely contains the text is a string with escaped quotes: no match there.
        let named = r#"{"name":"x\"as_of\":\"y","meta":{"as_of":"2026-11-26T09:00:00Z"}}"#;
        let renamed = r#"{"name":"x\"as_of\":\"z","meta":{"as_of":"2026-11-26T09:00:00Z"}}"#;
        assert_ne!(tag(named), tag(renamed));
    }

    #[test]
    fn if_none_match_compares_weakly_over_lists_and_star() {
        let tag = "\"3-0123456789abcdef\"";
        assert!(matches_any("*", tag));
        assert!(matches_any(tag, tag));
        assert!(matches_any("W/\"3-0123456789abcdef\"", tag));
        assert!(matches_any("\"x\", W/\"y\" ,\"3-0123456789abcdef\"", tag));
        assert!(!matches_any("\"3\"", tag));
        assert!(!matches_any("\"x\", \"y\"", tag));
        assert!(!matches_any("3-0123456789abcdef", tag));
        assert!(!matches_any("\"3-0123456789abcdef", tag));
        assert!(!matches_any("", tag));
    }

    #[test]
    fn the_tag_keeps_the_version_and_follows_the_body() {
        let tag = entity_tag(Some("3"), b"{}");
        assert!(tag.starts_with("\"3-") && tag.len() == 2 + 2 + 16, "{tag}");
        assert_ne!(entity_tag(Some("3"), b"{}"), entity_tag(Some("3"), b"[]"));
        assert_eq!(entity_tag(None, b"{}").len(), 18);
    }

    #[test]
    fn public_reads_have_a_policy_and_admin_paths_do_not() {
        assert_eq!(policy("/v1/search/providers").unwrap().max_age_secs, 30);
        assert!(policy("/v1/search/locations").unwrap().vary_accept);
        assert!(!policy("/v1/clinics/7").unwrap().vary_accept);
        assert!(policy("/v1/providers/{id}").is_some());
        assert!(policy("/v1/treatments").is_some());
        assert!(policy("/openapi.json").is_some());
        assert!(policy("/v1/admin/providers").is_none());
        assert!(policy("/v1/clinicsx").is_none());
        assert!(policy("/healthz").is_none());
    }
}
