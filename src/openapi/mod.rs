//! The OpenAPI document: the paths and schemas come from the routes themselves (see
//! `api::routes`); this adds the info, tags and the security scheme.

pub mod examples;
mod headers;
mod schemas;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clinic-finder",
        description = "Find a safe, qualified therapeutic Botox injector near you. Public search and profiles show \
only providers an admin has verified, and only credentials verified against their primary source and unexpired at \
the time of the request. Errors are RFC 9457 problem details (`application/problem+json`). Writes need \
`Authorization: Bearer <key>`; the roles a key needs are listed in each operation's security requirement.",
        contact(name = "clinic-finder maintainers"),
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    // Templated, so that generators (which need an absolute URL) get a working default: the local
    // service `serve --demo` starts; a deployment fills in `https` and its own host.
    servers((url = "{scheme}://{host}", description = "The service: local (`cargo run --release -- serve --demo` \
listens on http://127.0.0.1:8080) or a production or staging deployment (`https`, behind the TLS-terminating \
proxy of docs/deploy.md)",
        variables(
            ("scheme" = (default = "http", enum_values("http", "https"),
                description = "`http` for a local run; `https` in production (HSTS: `CLINIC_FINDER_HSTS_MAX_AGE`)")),
            ("host" = (default = "127.0.0.1:8080", description = "Host and port (`CLINIC_FINDER_BIND` locally)"))))),
    tags(
        (name = "search", description = "Near-me search for clinic locations and providers, ranked by distance and \
verified credentials, with an explanation of every rank; JSON or GeoJSON"),
        (name = "providers", description = "Public profiles of verified providers with their verified, unexpired \
credentials; admin writes to providers, their locations and the treatments they offer"),
        (name = "credentials", description = "Licences, board certifications, DEA registrations and training \
records; admins write them, reviewers verify them against the primary source"),
        (name = "clinics", description = "Clinics: the practices that run one or more locations"),
        (name = "locations", description = "A clinic's sites: address, coordinates, timezone and opening hours"),
        (name = "taxonomy", description = "The treatments (botulinum toxin indications) and NUCC specialties that \
search filters by"),
        (name = "vetting", description = "Reviewer workflow: the provider lifecycle, credential verification, work \
queues and the audit trail"),
        (name = "keys", description = "API keys and their roles (admin only)"),
        (name = "health", description = "Liveness, readiness and metrics for operators and orchestrators"),
        (name = "FHIR", description = "Read-only FHIR R4 facade (application/fhir+json; errors are \
OperationOutcomes): docs/fhir.md"),
    ),
    // Enums only parameters name (`value_type`), which utoipa does not collect by itself.
    components(schemas(
        crate::api::search::query::DistanceUnit,
        crate::api::search::query::ResponseFormat,
        crate::api::fhir::negotiation::FhirFormat
    )),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("API key")
                    .description(Some("An API key: `Authorization: Bearer cf_…`. Roles: admin, reviewer, partner."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The metrics token (`CLINIC_FINDER_METRICS_TOKEN`), for `/metrics` only.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as the running service serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::routes)
        .split_for_parts();
    let mut api = api;
    finish(&mut api);
    api
}

pub fn document_json() -> String {
    serde_json::to_string_pretty(&to_json(&document())).unwrap_or_default()
}

/// The document as JSON. utoipa 5 writes a link's `operationId` as `operation_id` (its `Link`
/// has no camelCase rename); this puts the OpenAPI names back. It also derives the examples of
/// pages and arrays from their items' and drops the components nothing refers to.
pub fn to_json(api: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(api).unwrap_or_default();
    let operations = value
        .get_mut("paths")
        .and_then(|paths| paths.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let links = operation
            .get_mut("responses")
            .and_then(|responses| responses.as_object_mut())
            .into_iter()
            .flat_map(|responses| responses.values_mut())
            .filter_map(|response| response.get_mut("links").and_then(|l| l.as_object_mut()))
            .flat_map(|links| links.values_mut())
            .filter_map(|link| link.as_object_mut());
        for link in links {
            for (from, to) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(found) = link.remove(from) {
                    link.insert(to.to_owned(), found);
                }
            }
        }
    }
    if let Some(schemas) = value
        .pointer_mut("/components/schemas")
        .and_then(|schemas| schemas.as_object_mut())
    {
        schemas::refer_generic_arguments(schemas);
        page_examples(schemas);
    }
    schemas::simplify_one_of(&mut value);
    array_examples(&mut value);
    headers::declare(&mut value);
    drop_unreferenced_schemas(&mut value);
    value
}

/// A response that is an array of a schema with an example (`GET /v1/treatments`) gets an
/// example of one item.
fn array_examples(document: &mut serde_json::Value) {
    let schemas = document
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_default();
    let contents = document
        .get_mut("paths")
        .and_then(|paths| paths.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("content")?.as_object_mut())
        .flat_map(|content| content.values_mut())
        .filter_map(|media| media.as_object_mut());
    for media in contents {
        let item_example = media
            .get("schema")
            .filter(|schema| schema["type"] == "array")
            .and_then(|schema| schema.pointer("/items/$ref")?.as_str())
            .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
            .and_then(|name| schemas.get(name)?.get("example"));
        if let (Some(example), false) = (item_example, media.contains_key("example")) {
            media.insert("example".to_owned(), serde_json::json!([example]));
        }
    }
}

/// A page schema (`Page_ClinicView`, a generic utoipa writes out per item type) gets an example
/// built from its item's: one item and a cursor.
fn page_examples(schemas: &mut serde_json::Map<String, serde_json::Value>) {
    let all = schemas.clone();
    for (name, schema) in schemas.iter_mut() {
        if !name.starts_with("Page_") || schema.get("example").is_some() {
            continue;
        }
        // The items are a `$ref` to the item's component (`schemas::refer_generic_arguments`).
        let item = schema
            .pointer("/properties/items/items/$ref")
            .and_then(|reference| reference.as_str())
            .and_then(|reference| reference.rsplit('/').next())
            .and_then(|item| all.get(item)?.get("example"))
            .or_else(|| schema.pointer("/properties/items/items/example"))
            .cloned();
        if let (Some(item), Some(schema)) = (item, schema.as_object_mut()) {
            schema.insert(
                "example".to_owned(),
                serde_json::json!({"items": [item], "next_cursor": "eyJpZCI6N30"}),
            );
        }
    }
}

/// utoipa registers every generic argument as a component even where the generic inlines it
/// (`Page<AuditEntry>` inlines `AuditEntry`); a component nothing refers to is noise to clients.
fn drop_unreferenced_schemas(document: &mut serde_json::Value) {
    fn refs(value: &serde_json::Value, skip: Option<&str>, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(reference)) = map.get("$ref") {
                    if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                        found.push(name.to_owned());
                    }
                }
                for (key, value) in map {
                    if skip != Some(key.as_str()) {
                        refs(value, None, found);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, None, found)),
            _ => {}
        }
    }
    loop {
        let Some(schemas) = document
            .pointer("/components/schemas")
            .and_then(|s| s.as_object())
        else {
            return;
        };
        let mut used = Vec::new();
        refs(document, Some("components"), &mut used);
        for (name, schema) in schemas {
            // A schema's reference to itself does not keep it.
            let mut inner = Vec::new();
            refs(schema, None, &mut inner);
            used.extend(inner.into_iter().filter(|reference| reference != name));
        }
        let unused: Vec<String> = schemas
            .keys()
            .filter(|name| !used.contains(name))
            .cloned()
            .collect();
        if unused.is_empty() {
            return;
        }
        if let Some(schemas) = document
            .pointer_mut("/components/schemas")
            .and_then(|s| s.as_object_mut())
        {
            for name in unused {
                schemas.remove(&name);
            }
        }
    }
}

/// The `Consistency` request header (`api::middleware::consistency`).
fn consistency_parameter() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    ParameterBuilder::new()
        .name(crate::api::middleware::consistency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "`primary` reads from the primary database, so a client reads what it has just \
written; `eventual` (the default) lets the service read from a replica, at most \
`CLINIC_FINDER_MAX_REPLICA_LAG_MS` behind (requests with an admin or reviewer key always read \
from the primary). Any other value is a 422.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["primary", "eventual"]))
                .default(Some(serde_json::json!("eventual"))),
        ))
        .example(Some(serde_json::json!("primary")))
        .build()
}

/// What the routes cannot say about themselves, added to the generated document: who may call
/// (a key optional on public operations), the edge errors every operation may answer with (401
/// for a bad key, 406, 414, 429, 500), and links from each create to where the created resource
/// can be read, so that clients (and stateful testers) can chain them.
pub fn finish(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Type};

    // Public operations inherit this: no key, or any valid key (a partner's has higher limits).
    api.security = Some(vec![
        SecurityRequirement::default(),
        SecurityRequirement::new("api_key", Vec::<String>::new()),
    ]);
    for server in api.servers.iter_mut().flatten() {
        let mut extensions = utoipa::openapi::extensions::Extensions::default();
        // Public API: the audience the OWASP inventory rule asks servers to state.
        extensions.insert("x-internal".to_owned(), serde_json::json!(false));
        server.extensions = Some(extensions);
    }
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemDetails")))
            .build()
    };
    let edge = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(crate::api::error::PROBLEM_JSON, problem())
            .build()
    };
    let too_many = edge("Rate limited: wait `Retry-After` seconds (see the RateLimit headers)");
    let too_long = edge("The query string is longer than the service accepts");
    let bad_key = edge(
        "The key sent is not valid (unknown, expired or revoked). A key is optional here: \
without `Authorization` the request is served as the public",
    );
    let not_acceptable = edge("`Accept` admits none of the media types this operation answers in");
    let internal = edge(
        "An unexpected error; the body says only that it has been logged (with the request id)",
    );
    // From each create to the operations on what it created: (create, target, pass the ETag).
    const LINKS: [(&str, &str, bool); 11] = [
        ("create_clinic", "get_clinic", false),
        ("create_clinic", "update_clinic", true),
        ("create_clinic", "delete_clinic", true),
        ("create_location", "get_location", false),
        ("create_location", "update_location", true),
        ("create_provider", "get_provider_admin", false),
        ("create_provider", "update_provider", true),
        ("create_provider", "create_credential", false),
        ("create_credential", "update_credential", true),
        ("create_credential", "verify_credential", true),
        ("create_key", "revoke_key", false),
    ];
    // The fields each request body takes (for the example of an unknown one).
    let body_fields: std::collections::HashMap<String, Vec<String>> = api
        .components
        .iter()
        .flat_map(|components| components.schemas.iter())
        .filter_map(|(name, schema)| match schema {
            RefOr::T(utoipa::openapi::Schema::Object(object)) => {
                Some((name.clone(), object.properties.keys().cloned().collect()))
            }
            _ => None,
        })
        .collect();
    for (path, item) in api.paths.paths.iter_mut() {
        if let (Some(policy), Some(get)) = (
            crate::api::middleware::caching::policy(path),
            item.get.as_mut(),
        ) {
            document_caching(get, policy);
        }
        let probe = ["/livez", "/healthz", "/readyz"].contains(&path.as_str());
        let limited = !headers::UNLIMITED_PATHS.contains(&path.as_str());
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            // The ETag a write must echo: a quoted version (what the `IfMatch` extractor accepts).
            // Ids in paths are ids: from 1, JavaScript-safe (any other integer is a 404).
            for parameter in operation.parameters.iter_mut().flatten() {
                let is_integer = parameter.schema.as_ref().is_some_and(|schema| {
                    matches!(schema, RefOr::T(utoipa::openapi::Schema::Object(object))
                        if object.schema_type == utoipa::openapi::schema::SchemaType::Type(Type::Integer))
                });
                if parameter.parameter_in == utoipa::openapi::path::ParameterIn::Path && is_integer
                {
                    parameter.schema =
                        Some(<crate::domain::schemas::Id as utoipa::PartialSchema>::schema());
                }
                if parameter.name == "If-Match" {
                    parameter.schema = Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(Type::String)
                            .max_length(Some(40))
                            .pattern(Some(r#"^(W/)?"[1-9][0-9]{0,17}(-[0-9a-f]{16})?"$"#))
                            .examples([serde_json::json!("\"1\"")])
                            .into(),
                    );
                }
            }
            // Reads that may go to the replica take the `Consistency` header.
            if operation
                .operation_id
                .as_deref()
                .is_some_and(|id| crate::api::middleware::consistency::REPLICA_READS.contains(&id))
            {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(consistency_parameter());
            }
            // Probes take no key at all (the empty list overrides the document's optional key).
            if probe {
                operation.security = Some(Vec::new());
            }
            let key_optional = operation.security.is_none();
            let answers_content = operation.responses.responses.iter().any(|(status, r)| {
                status.starts_with('2') && matches!(r, RefOr::T(r) if !r.content.is_empty())
            });
            let responses = &mut operation.responses.responses;
            responses.insert("414".to_owned(), too_long.clone().into());
            if limited {
                responses.insert("429".to_owned(), too_many.clone().into());
            }
            if key_optional {
                responses.insert("401".to_owned(), bad_key.clone().into());
            }
            if path.starts_with("/v1/") && answers_content {
                responses.insert("406".to_owned(), not_acceptable.clone().into());
            }
            if limited {
                responses.insert("500".to_owned(), internal.clone().into());
            }
            let operation_view = operation.clone();
            let fields = operation
                .request_body
                .as_ref()
                .and_then(|body| body.content.get("application/json")?.schema.as_ref())
                .and_then(|schema| match schema {
                    RefOr::Ref(reference) => reference.ref_location.rsplit('/').next(),
                    RefOr::T(_) => None,
                })
                .and_then(|name| body_fields.get(name));
            for (status, response) in operation.responses.responses.iter_mut() {
                let (RefOr::T(response), Ok(status)) = (response, status.parse::<u16>()) else {
                    continue;
                };
                if let Some(content) = response.content.get_mut(crate::api::error::PROBLEM_JSON) {
                    if content.example.is_none() && content.examples.is_empty() {
                        content.example = problem_example(status, path, &operation_view, fields);
                    }
                }
            }
            let responses = &mut operation.responses.responses;
            let id = operation.operation_id.as_deref().unwrap_or_default();
            for (_, target, with_etag) in LINKS.iter().filter(|(create, ..)| *create == id) {
                if let Some(utoipa::openapi::RefOr::T(created)) = responses.get_mut("201") {
                    let mut link = LinkBuilder::new()
                        .operation_id(*target)
                        .parameter("id", "$response.body#/id");
                    if *with_etag {
                        link = link.parameter("If-Match", "$response.header.ETag");
                    }
                    created
                        .links
                        .insert(target.to_string(), link.build().into());
                }
            }
        }
    }
    // The taxonomy's treatments are a closed list (`domain::schemas::TREATMENT_CODES`).
    let treatments = api
        .paths
        .paths
        .get_mut("/v1/treatments")
        .and_then(|item| item.get.as_mut())
        .and_then(|get| get.responses.responses.get_mut("200"));
    if let Some(RefOr::T(ok)) = treatments {
        for content in ok.content.values_mut() {
            if let Some(RefOr::T(utoipa::openapi::Schema::Array(array))) = content.schema.as_mut() {
                array.max_items = Some(crate::domain::TREATMENT_CODES.len());
            }
        }
    }
    crate::api::fhir::responses::document_edge_errors(api);
}

/// Documents what `caching::caching_middleware` does on a public read: the `If-None-Match`
/// parameter, the `ETag`, `Cache-Control` (and `Vary`) headers of the 200, and the 304.
fn document_caching(
    operation: &mut utoipa::openapi::path::Operation,
    policy: crate::api::middleware::caching::Policy,
) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, RefOr, Required, ResponseBuilder, Type};

    let string = || ObjectBuilder::new().schema_type(Type::String);
    let etag = HeaderBuilder::new()
        .schema(string())
        .description(Some(
            "A hash of the body: strong, after the resource's version where it has one \
(`\"3-0123456789abcdef\"`), except on search, where it is weak (`W/\"…\"`) and leaves out \
`meta.as_of`. Send it back in `If-None-Match`. With a key, a resource is tagged with its version \
alone (`\"3\"`). `If-Match` on an update accepts either.",
        ))
        .build();
    let cache_control = HeaderBuilder::new()
        .schema(string())
        .description(Some(format!(
            "`{}` without a key; `no-store` with one (keyed responses are never stored)",
            policy.cache_control()
        )))
        .build();
    let vary = HeaderBuilder::new()
        .schema(string())
        .description(Some(
            "`Accept`: the body is JSON or GeoJSON as `Accept` asks",
        ))
        .build();
    operation.parameters.get_or_insert_with(Vec::new).push(
        ParameterBuilder::new()
            .name("If-None-Match")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .schema(Some(string()))
            .description(Some(
                "ETags of copies the client holds (or `*`): when one still matches, the answer is \
304 with no body. Compared weakly (RFC 9110 §13.1.2). Requests with a key are never answered 304.",
            ))
            .example(Some(serde_json::json!("\"3-0123456789abcdef\"")))
            .build(),
    );
    let responses = &mut operation.responses.responses;
    if let Some(RefOr::T(ok)) = responses.get_mut("200") {
        ok.headers.insert("ETag".to_owned(), etag.clone());
        ok.headers
            .insert("Cache-Control".to_owned(), cache_control.clone());
        if policy.vary_accept {
            ok.headers.insert("Vary".to_owned(), vary.clone());
        }
    }
    let mut not_modified = ResponseBuilder::new()
        .description(
            "Not modified: the copy whose ETag was sent in `If-None-Match` is current; no body",
        )
        .header("ETag", etag)
        .header("Cache-Control", cache_control);
    if policy.vary_accept {
        not_modified = not_modified.header("Vary", vary);
    }
    responses.insert("304".to_owned(), not_modified.build().into());
}

/// The problem details an error status carries on `operation`, as the service renders them (from
/// [`ApiError`] and the parsers themselves, so the examples cannot drift from the real bodies; a
/// test compares each with the live answer); `None` for a status no error has.
fn problem_example(
    status: u16,
    path: &str,
    operation: &utoipa::openapi::path::Operation,
    body_fields: Option<&Vec<String>>,
) -> Option<serde_json::Value> {
    use crate::api::error::{ApiError, FieldError, ParamLocation};
    use utoipa::openapi::path::ParameterIn;
    let takes_body = operation.request_body.is_some();
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    // The largest page a `limit` parameter allows, as documented.
    let limit_max = parameters
        .iter()
        .filter(|p| p.name == "limit" && p.parameter_in == ParameterIn::Query)
        .find_map(|p| match p.schema.as_ref()? {
            utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(object)) => {
                serde_json::to_value(object.maximum.as_ref()?)
                    .ok()?
                    .as_u64()
            }
            _ => None,
        });
    let path_parameter = parameters
        .iter()
        .find(|p| p.parameter_in == ParameterIn::Path)
        .map(|p| p.name.clone());
    // The resource a 404 names: the last collection in the path before an id.
    let resource = ["keys", "credentials", "locations", "providers", "clinics"]
        .into_iter()
        .find(|collection| path.contains(&format!("/{collection}/{{")))
        .map(|collection| match collection {
            "keys" => "api key",
            "credentials" => "credential",
            "locations" => "location",
            "providers" => "provider",
            _ => "clinic",
        });
    let error = match status {
        401 | 404 if path == "/metrics" => match status {
            401 => ApiError::Unauthorized("the metrics token is not valid".to_owned()),
            _ => ApiError::RouteNotFound,
        },
        400 => match crate::domain::json::parse::<serde_json::Value>(
            crate::domain::json::MALFORMED_EXAMPLE_BODY,
        ) {
            Err(error) => ApiError::from(error),
            Ok(_) => return None,
        },
        401 if operation.security.is_none() => {
            ApiError::Unauthorized("the API key is not valid".to_owned())
        }
        401 => ApiError::Unauthorized(
            "this operation needs an API key: Authorization: Bearer <key>".to_owned(),
        ),
        403 => ApiError::Forbidden(
            "this operation needs the role admin; the key has reviewer".to_owned(),
        ),
        404 => match resource {
            Some(resource) => ApiError::not_found(resource, 7),
            None => ApiError::RouteNotFound,
        },
        406 => {
            // As `middleware::contract` words it: the media types of the success answers.
            let mut offered: Vec<&str> = Vec::new();
            for (status, response) in &operation.responses.responses {
                if let (true, utoipa::openapi::RefOr::T(response)) =
                    (status.starts_with('2'), response)
                {
                    for media_type in response.content.keys() {
                        if !offered.contains(&media_type.as_str()) {
                            offered.push(media_type);
                        }
                    }
                }
            }
            ApiError::NotAcceptable(format!(
                "`Accept: application/xml`: this operation answers in {}",
                offered.join(" or ")
            ))
        }
        409 => ApiError::Conflict {
            code: "duplicate",
            detail: "a resource with this npi already exists".to_owned(),
        },
        412 => ApiError::PreconditionFailed { current_version: 4 },
        413 => ApiError::PayloadTooLarge { limit: 65536 },
        414 => ApiError::UriTooLong { limit: 2048 },
        415 => ApiError::UnsupportedMediaType("the body must be application/json".to_owned()),
        // Every body refuses fields it does not know.
        422 if takes_body => {
            let expected: Vec<&str> = body_fields
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            ApiError::validation(FieldError::body(
                "/nickname",
                "unknown_field",
                crate::domain::json::unknown_field_detail("nickname", &expected),
            ))
        }
        // A page size out of range, as `parse_limit` words it for this list.
        422 if limit_max.is_some() => {
            let mut errors = Vec::new();
            let max = limit_max.unwrap_or_default() as usize;
            crate::api::parse_limit(Some("0"), max, max, &mut errors);
            ApiError::Validation(errors)
        }
        422 => match path_parameter {
            Some(name) => ApiError::validation(FieldError::new(
                ParamLocation::Path,
                name,
                "invalid_value",
                "not a valid value: can not parse \"seven\" to a i64",
            )),
            None => ApiError::validation(crate::api::extract::unknown_parameter("nickname")),
        },
        428 => ApiError::PreconditionRequired,
        429 => ApiError::TooManyRequests {
            retry_after_secs: 12,
        },
        500 => ApiError::Internal(String::new()),
        503 => {
            ApiError::ServiceUnavailable("the database is unavailable; retry shortly".to_owned())
        }
        _ => return None,
    };
    serde_json::to_value(error.problem(Some("5f0c6b1e9d7a4c21".to_owned()))).ok()
}
