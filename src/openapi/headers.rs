//! The response headers, declared once under `components.headers` and referred to from every
//! response that carries them: `X-Request-Id` and the CORS headers on every response, the
//! RateLimit headers on every response of a rate-limited operation (all but the probes and
//! `/metrics`; a 414 is refused before the limiter and has none), `Retry-After` on 429 and 503,
//! and `ETag`, `Cache-Control`, `Vary` and `Location` where the operation sends them.

use serde_json::{json, Map, Value};

/// Paths the rate limiter never counts (`middleware::ratelimit::EXEMPT_PATHS`).
pub const UNLIMITED_PATHS: [&str; 4] = ["/livez", "/healthz", "/readyz", "/metrics"];

const RATE_LIMIT: [&str; 4] = [
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
];

fn integer(description: &str, minimum: u64, maximum: u64, example: u64) -> Value {
    json!({
        "description": description,
        "schema": {"type": "integer", "format": "int64", "minimum": minimum, "maximum": maximum},
        "example": example,
    })
}

fn string(description: &str, schema: Value, example: &str) -> Value {
    json!({"description": description, "schema": schema, "example": example})
}

/// `components.headers`.
fn components() -> Map<String, Value> {
    let limit = u64::from(u32::MAX);
    let mut headers = Map::new();
    let mut add = |name: &str, header: Value| {
        headers.insert(name.to_owned(), header);
    };
    add(
        "X-Request-Id",
        string(
            "The request's id: the client's own `X-Request-Id` when it sent a sane one (1–64 \
characters from `[A-Za-z0-9._-]`), otherwise 16 hex characters. Error bodies carry it as \
`request_id`; quote it to support.",
            json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]{1,64}$"}),
            "5f0c6b1e9d7a4c21",
        ),
    );
    add(
        "RateLimit-Limit",
        integer(
            "Requests a minute this client may make (per IP without a key, per key with one). \
Sent whenever rate limiting is on (the default).",
            1,
            limit,
            300,
        ),
    );
    add(
        "RateLimit-Remaining",
        integer("Requests left now", 0, limit, 299),
    );
    add(
        "RateLimit-Reset",
        integer("Seconds until the full allowance is back", 0, 60, 1),
    );
    add(
        "RateLimit-Policy",
        string(
            "The limit and its window: `<limit>;w=60`",
            json!({"type": "string", "maxLength": 16, "pattern": "^[1-9][0-9]{0,9};w=60$"}),
            "300;w=60",
        ),
    );
    add(
        "Retry-After",
        integer("Seconds to wait before retrying", 1, 60, 12),
    );
    add(
        "Access-Control-Allow-Origin",
        string(
            "CORS: `*` on public `GET`/`HEAD` requests without `Authorization` (by default); the \
request's `Origin` itself when that origin is on `CLINIC_FINDER_CORS_ORIGINS` (any method, keyed or \
not); absent otherwise. Never with credentials (docs/security.md).",
            json!({"type": "string", "maxLength": 2048, "pattern": "^(\\*|[a-z][a-z0-9+.-]*://[!-~]+)$"}),
            "*",
        ),
    );
    add(
        "Access-Control-Expose-Headers",
        string(
            "CORS: the response headers a browser script may read, sent with \
`Access-Control-Allow-Origin`.",
            json!({"type": "string", "maxLength": 256, "pattern": "^[A-Za-z-]+(, [A-Za-z-]+)*$"}),
            "ETag, Location, Retry-After, X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy",
        ),
    );
    add(
        "ETag",
        string(
            "On a public read, a hash of the body: strong, after the resource's version where it \
has one (`\"3-0123456789abcdef\"`), except on search, where it is weak (`W/\"…\"`) and leaves out \
`meta.as_of`; send it back in `If-None-Match`. With a key (and on writes), the resource's version \
alone (`\"3\"`). `If-Match` on an update accepts either.",
            json!({"type": "string", "maxLength": 40, "pattern": "^(W/)?\"[0-9a-f-]{1,36}\"$"}),
            "\"3-0123456789abcdef\"",
        ),
    );
    add(
        "Cache-Control",
        string(
            "`public, max-age=N` on a public read without a key (README, \"Caching\"); `no-store` \
with a key and on errors of those reads.",
            json!({"type": "string", "maxLength": 32, "pattern": "^(public, max-age=[0-9]{1,5}|no-store)$"}),
            "public, max-age=60",
        ),
    );
    add(
        "Vary",
        string(
            "`Accept` on search (JSON or GeoJSON); `Origin` when CORS echoes allowlisted origins.",
            json!({"type": "string", "maxLength": 32, "pattern": "^[A-Za-z-]+(, ?[A-Za-z-]+)*$"}),
            "Accept",
        ),
    );
    add(
        "Location",
        string(
            "Where the created resource can be read.",
            json!({"type": "string", "format": "uri-reference", "maxLength": 64, "pattern": "^/v1/[a-z/]+/[1-9][0-9]{0,15}$"}),
            "/v1/clinics/7",
        ),
    );
    headers
}

/// Declares `If-None-Match` once, under `components.parameters`, and refers every public read to it.
fn declare_if_none_match(document: &mut Value) {
    let mut declared = None;
    let parameters = document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.get_mut("get")?.get_mut("parameters")?.as_array_mut())
        .flat_map(|parameters| parameters.iter_mut());
    for parameter in parameters {
        if parameter["name"] == "If-None-Match" && parameter["in"] == "header" {
            declared.get_or_insert_with(|| parameter.clone());
            *parameter = json!({"$ref": "#/components/parameters/If-None-Match"});
        }
    }
    if let (Some(declared), Some(components)) = (declared, document.get_mut("components")) {
        components["parameters"] = json!({"If-None-Match": declared});
    }
}

/// Adds `components.headers` and refers every response's headers to them.
pub fn declare(document: &mut Value) {
    declare_if_none_match(document);
    let known = components();
    let reference = |name: &str| json!({"$ref": format!("#/components/headers/{name}")});
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let limited = !UNLIMITED_PATHS.contains(&path.as_str());
        let operations = item
            .as_object_mut()
            .into_iter()
            .flat_map(|item| item.values_mut());
        for operation in operations {
            let responses = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|responses| responses.iter_mut());
            for (status, response) in responses {
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                let headers = response
                    .entry("headers")
                    .or_insert_with(|| json!({}))
                    .as_object_mut();
                let Some(headers) = headers else { continue };
                // What the handlers and the finishing passes declared inline, by name.
                for (name, header) in headers.iter_mut() {
                    if known.contains_key(name) {
                        *header = reference(name);
                    }
                }
                let mut add = |name: &str| {
                    headers.insert(name.to_owned(), reference(name));
                };
                add("X-Request-Id");
                add("Access-Control-Allow-Origin");
                add("Access-Control-Expose-Headers");
                if limited && status != "414" {
                    RATE_LIMIT.iter().for_each(|name| add(name));
                }
                if status == "429" || status == "503" {
                    add("Retry-After");
                }
            }
        }
    }
    let components = document
        .as_object_mut()
        .map(|root| root.entry("components").or_insert_with(|| json!({})));
    if let Some(Value::Object(components)) = components {
        components.insert("headers".to_owned(), Value::Object(known));
    }
}
