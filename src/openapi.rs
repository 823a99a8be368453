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
    api
}

pub fn document_json() -> String {
    document().to_pretty_json().unwrap_or_default()
}
