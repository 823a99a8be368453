//! The `CapabilityStatement`: what the facade implements, served at `GET /fhir/metadata`.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::links::{base_url, vary_on_forwarded};
use super::model::{
    CapabilityStatement, Implementation, Interaction, Rest, RestResource, SearchParam, Software,
};
use super::negotiation::{fhir_response, negotiate, FormatParams, FHIR_JSON};
use super::responses::FhirErrors;
use crate::api::error::ApiResult;
use crate::state::AppState;

/// What the facade implements, as a FHIR R4 `CapabilityStatement`.
pub fn capability_statement(base: String) -> CapabilityStatement {
    let read = Interaction { code: "read" };
    let search = Interaction {
        code: "search-type",
    };
    CapabilityStatement {
        resource_type: "CapabilityStatement",
        status: "active",
        date: "2026-11-26",
        publisher: "clinic-finder",
        kind: "instance",
        software: Software {
            name: "clinic-finder",
            version: env!("CARGO_PKG_VERSION"),
        },
        implementation: Implementation {
            description: "clinic-finder's read-only FHIR R4 facade over its public directory of verified therapeutic Botox providers",
            url: base,
        },
        fhir_version: "4.0.1",
        format: vec!["json", FHIR_JSON],
        rest: vec![Rest {
            mode: "server",
            documentation: "Read-only and public: no authentication. Only verified providers and their verified, unexpired credentials appear, as in the /v1 API. Errors are OperationOutcomes. Every interaction takes _format (JSON only) and _pretty; other parameters than those listed are refused (422).",
            resource: vec![
                RestResource {
                    kind: "Location",
                    profile: "http://hl7.org/fhir/StructureDefinition/Location",
                    interaction: vec![read.clone(), search.clone()],
                    search_param: vec![SearchParam {
                        name: "near",
                        definition: "http://hl7.org/fhir/SearchParameter/Location-near",
                        kind: "special",
                        documentation: "latitude|longitude|distance|unit; distance optional (default 25 km), at most 300 km; unit km (default), mi, [mi_i] or m. Required. Results nearest first, each with the location-distance extension; _count (at most 50 a page) and next links.",
                    }],
                    documentation: "Clinic sites. The search returns the locations the public near-me search returns (at least one verified, listed provider).",
                },
                RestResource {
                    kind: "Organization",
                    profile: "http://hl7.org/fhir/StructureDefinition/Organization",
                    interaction: vec![read.clone()],
                    search_param: Vec::new(),
                    documentation: "Clinics.",
                },
                RestResource {
                    kind: "Practitioner",
                    profile: "http://hl7.org/fhir/StructureDefinition/Practitioner",
                    interaction: vec![read.clone()],
                    search_param: Vec::new(),
                    documentation: "Verified providers only; qualification lists their verified, unexpired credentials.",
                },
                RestResource {
                    kind: "PractitionerRole",
                    profile: "http://hl7.org/fhir/StructureDefinition/PractitionerRole",
                    interaction: vec![read, search],
                    search_param: vec![
                        SearchParam {
                            name: "location",
                            definition: "http://hl7.org/fhir/SearchParameter/PractitionerRole-location",
                            kind: "reference",
                            documentation: "Location/{id} or a bare id: the verified providers practising there.",
                        },
                        SearchParam {
                            name: "practitioner",
                            definition: "http://hl7.org/fhir/SearchParameter/PractitionerRole-practitioner",
                            kind: "reference",
                            documentation: "Practitioner/{id} or a bare id: where the provider practises.",
                        },
                    ],
                    documentation: "A verified provider at one of its locations; id {practitioner id}-{location id}. A search needs location, practitioner or both.",
                },
            ],
        }],
    }
}

/// Read the FHIR CapabilityStatement.
///
/// The server's FHIR `CapabilityStatement`: the resources, interactions and search parameters
/// this facade implements.
#[utoipa::path(tag = "FHIR", operation_id = "fhir_capabilities", params(FormatParams),
    responses((status = 200, description = "The CapabilityStatement", body = CapabilityStatement, content_type = "application/fhir+json"), FhirErrors))]
#[get("/metadata")]
pub async fn metadata(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<FormatParams>,
) -> ApiResult<HttpResponse> {
    let pretty = negotiate(&request, params.format.as_deref(), params.pretty.as_deref())?;
    let mut response = fhir_response(&capability_statement(base_url(&state, &request)), pretty);
    vary_on_forwarded(&state, &mut response);
    Ok(response)
}
