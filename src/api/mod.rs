//! HTTP handlers, one module per resource, all registered in [`routes`] through utoipa's actix
//! bindings, so every route is in the OpenAPI document and nothing in the document lacks a route.

pub mod admin;
pub mod auth;
pub mod clinics;
pub mod contract;
pub mod credentials;
pub mod document;
pub mod error;
pub mod extract;
pub mod fhir;
pub mod health;
pub mod locations;
pub mod middleware;
pub mod negotiation;
pub mod origin;
pub mod providers;
pub mod responses;
pub mod search;
pub mod taxonomy;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::api::error::{ApiError, FieldError};
use crate::search::cursor;

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::livez)
        .service(crate::api::middleware::metrics::get_metrics)
        .service(
            scope::scope("/v1")
                .service(search::search_locations)
                .service(search::search_providers)
                .service(clinics::list_clinics)
                .service(clinics::get_clinic)
                .service(clinics::create_clinic)
                .service(clinics::update_clinic)
                .service(clinics::delete_clinic)
                .service(locations::list_locations)
                .service(locations::get_location)
                .service(locations::create_location)
                .service(locations::update_location)
                .service(locations::delete_location)
                .service(providers::list_providers)
                .service(providers::get_provider)
                .service(providers::create_provider)
                .service(providers::update_provider)
                .service(providers::delete_provider)
                .service(providers::link_location)
                .service(providers::unlink_location)
                .service(providers::set_treatment)
                .service(providers::remove_treatment)
                .service(credentials::create_credential)
                .service(credentials::update_credential)
                .service(credentials::delete_credential)
                .service(credentials::verify_credential)
                .service(taxonomy::list_treatments)
                .service(taxonomy::list_specialties)
                .service(admin::get_provider_admin)
                .service(admin::list_providers_admin)
                .service(admin::transition_provider)
                .service(admin::queue_pending)
                .service(admin::queue_expiring)
                .service(admin::queue_expired)
                .service(admin::queue_screening)
                .service(admin::provider_screening)
                .service(admin::resolve_screening)
                .service(admin::list_audit)
                .service(admin::create_key)
                .service(admin::list_keys)
                .service(admin::revoke_key),
        )
        .service(
            scope::scope("/fhir")
                .service(fhir::metadata)
                .service(fhir::search_location)
                .service(fhir::read_location)
                .service(fhir::read_organization)
                .service(fhir::read_practitioner)
                .service(fhir::search_practitioner_role)
                .service(fhir::read_practitioner_role),
        );
}

/// A page of a list; `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    #[schema(max_items = 100)]
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
}

/// Paging for lists ordered by id.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

pub struct ListPage {
    pub after_id: i64,
    pub limit: i64,
}

impl ListParams {
    pub fn parse(&self, kind: &str) -> Result<ListPage, ApiError> {
        let mut errors = Vec::new();
        let limit = parse_limit(self.limit.as_deref(), 20, 100, &mut errors);
        let after_id = match self.cursor.as_deref() {
            None => 0,
            Some(text) => cursor::decode_list(kind, text).unwrap_or_else(|| {
                errors.push(FieldError::query(
                    "cursor",
                    "invalid_cursor",
                    "not a cursor this list gave out",
                ));
                0
            }),
        };
        if errors.is_empty() {
            Ok(ListPage {
                after_id,
                limit: limit as i64,
            })
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

pub fn parse_limit(
    text: Option<&str>,
    default: usize,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> usize {
    match text.map(str::parse::<i64>) {
        None => default,
        Some(Ok(limit)) if (1..=max as i64).contains(&limit) => limit as usize,
        Some(_) => {
            errors.push(FieldError::query(
                "limit",
                "out_of_range",
                format!("limit must be an integer from 1 to {max}"),
            ));
            default
        }
    }
}

/// Builds a page from `limit + 1` rows fetched (the extra row says whether a next page exists).
pub fn page_of<R, T>(
    kind: &str,
    mut rows: Vec<R>,
    limit: i64,
    id: impl Fn(&R) -> i64,
    view: impl Fn(R) -> T,
) -> Page<T> {
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|row| cursor::encode_list(kind, id(row)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}
