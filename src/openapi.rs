//! The OpenAPI document: the paths and schemas come from the routes themselves (see
//! `api::routes`); this adds the info, tags and the security scheme.

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
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "search", description = "Near-me search ranked by distance and credentials"),
        (name = "providers", description = "Provider profiles; admin writes"),
        (name = "credentials", description = "Credentials (admin writes)"),
        (name = "clinics", description = "Clinics"),
        (name = "locations", description = "A clinic's locations"),
        (name = "taxonomy", description = "Treatments and specialties"),
        (name = "vetting", description = "Reviewer workflow: lifecycle, verification, queues, audit trail"),
        (name = "keys", description = "API keys (admin)"),
        (name = "health", description = "Liveness and readiness"),
        (name = "FHIR", description = "Read-only FHIR R4 facade (application/fhir+json; errors are OperationOutcomes): docs/fhir.md"),
    ),
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
/// has no camelCase rename); this puts the OpenAPI names back.
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
    value
}

/// What the routes cannot say about themselves, added to the generated document: the edge limits
/// every operation may answer with (429, 414), and links from each create to where the created
/// resource can be read, so that clients (and stateful testers) can chain them.
pub fn finish(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, Type};

    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemDetails")))
            .build()
    };
    let integer = |description: &str| {
        HeaderBuilder::new()
            .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some(description))
            .build()
    };
    let too_many = ResponseBuilder::new()
        .description("Rate limited: wait `Retry-After` seconds (see the RateLimit headers)")
        .content(crate::error::PROBLEM_JSON, problem())
        .header(
            "Retry-After",
            integer("Seconds until a request will be accepted"),
        )
        .header(
            "RateLimit-Limit",
            integer("Requests a minute this client may make"),
        )
        .header("RateLimit-Remaining", integer("Requests left now"))
        .header(
            "RateLimit-Reset",
            integer("Seconds until the full allowance is back"),
        )
        .build();
    let too_long = ResponseBuilder::new()
        .description("The query string is longer than the service accepts")
        .content(crate::error::PROBLEM_JSON, problem())
        .build();
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
    for (path, item) in api.paths.paths.iter_mut() {
        let exempt = ["/livez", "/healthz", "/readyz", "/metrics"].contains(&path.as_str());
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
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.name == "If-Match" {
                    parameter.schema = Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(r#"^(W/)?"[1-9][0-9]{0,17}"$"#))
                            .into(),
                    );
                }
            }
            let responses = &mut operation.responses.responses;
            responses.insert("414".to_owned(), too_long.clone().into());
            if !exempt {
                responses.insert("429".to_owned(), too_many.clone().into());
            }
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
    crate::api::fhir::document_edge_errors(api);
}
