//! The error responses the facade's operations document, all `OperationOutcome`s (see
//! `outcome` for how they are made).

use utoipa::IntoResponses;

use super::model::OperationOutcome;
use super::negotiation::FHIR_JSON;
use super::outcome;

/// The responses every FHIR operation may give besides its 200 (all `application/fhir+json`).
#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum FhirErrors {
    /// No such resource, or it is not public.
    #[response(status = 404, content_type = "application/fhir+json")]
    NotFound(OperationOutcome),
    /// `_format` or `Accept` asks for something other than FHIR JSON.
    #[response(status = 406, content_type = "application/fhir+json")]
    NotAcceptable(OperationOutcome),
    /// A parameter is invalid or not supported; one issue per parameter.
    #[response(status = 422, content_type = "application/fhir+json")]
    Invalid(OperationOutcome),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/fhir+json")]
    Unavailable(OperationOutcome),
}

/// Documents the edge errors `openapi::finish` adds to every operation (401, 414, 429, 500) as
/// OperationOutcomes on the facade's paths, which is what those clients get, and adds the
/// OperationOutcome schema (the `FhirErrors` responses refer to it but do not register it).
pub fn document_edge_errors(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};
    let mut schemas = vec![(
        OperationOutcome::name().into_owned(),
        OperationOutcome::schema(),
    )];
    OperationOutcome::schemas(&mut schemas);
    api.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    for (path, item) in api.paths.paths.iter_mut() {
        if !outcome::is_fhir_path(path) {
            continue;
        }
        for operation in [&mut item.get].into_iter().flatten() {
            for status in ["401", "414", "429", "500"] {
                if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
                    if response
                        .content
                        .shift_remove(crate::api::error::PROBLEM_JSON)
                        .is_some()
                    {
                        response.content.insert(
                            FHIR_JSON.to_owned(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("OperationOutcome")))
                                .build(),
                        );
                    }
                }
            }
        }
    }
}
