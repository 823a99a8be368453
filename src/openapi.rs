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
    document().to_pretty_json().unwrap_or_default()
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
    // Creates and where their result is read: (create operation, read operation, read path parameter).
    const LINKS: [(&str, &str, &str); 5] = [
        ("create_clinic", "get_clinic", "id"),
        ("create_location", "get_location", "id"),
        ("create_provider", "get_provider_admin", "id"),
        ("create_key", "revoke_key", "id"),
        ("create_credential", "verify_credential", "id"),
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
            let responses = &mut operation.responses.responses;
            responses.insert("414".to_owned(), too_long.clone().into());
            if !exempt {
                responses.insert("429".to_owned(), too_many.clone().into());
            }
            let id = operation.operation_id.as_deref().unwrap_or_default();
            for (create, read, parameter) in LINKS.iter().filter(|(create, ..)| *create == id) {
                if let Some(utoipa::openapi::RefOr::T(created)) = responses.get_mut("201") {
                    let link = LinkBuilder::new()
                        .operation_id(*read)
                        .parameter(*parameter, "$response.body#/id")
                        .description(format!("Read what {create} created"))
                        .build();
                    created.links.insert(format!("{read}_created"), link.into());
                }
            }
        }
    }
}
