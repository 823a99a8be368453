//! Providers: public profiles (verified providers, active verified credentials only), admin
//! create/update/delete, and their links to locations and treatments.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::credentials::CredentialView;
use super::extract::{etag, IfMatch, JsonBody};
use super::responses::{ListErrors, ReadErrors, WriteErrors};
use super::{page_of, ListParams, Page};
use crate::api::auth::Actor;
use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::db::models::{NewProvider, ProviderTreatmentRow};
use crate::db::providers::{ProviderChanges, ProviderRecord};
use crate::db::{self, DbConnection};
use crate::domain::validation::Checks;
use crate::domain::{
    is_language_code, CredentialKind, Degree, Role, SourceType, VerificationStatus, VettingStatus,
};
use crate::search::Affected;
use crate::state::AppState;

/// A treatment a provider offers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "spasticity_adult", "annual_volume": 348}))]
pub struct OfferedTreatment {
    /// Treatment code, see `GET /v1/treatments`.
    pub code: String,
    /// Procedures a year, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_volume: Option<i32>,
}

impl From<ProviderTreatmentRow> for OfferedTreatment {
    fn from(row: ProviderTreatmentRow) -> Self {
        OfferedTreatment {
            code: row.treatment_code,
            annual_volume: row.annual_volume,
        }
    }
}

/// A credential as the public sees it: verified, unexpired, with its freshness.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "kind": "state_license", "issuer": "Medical Board of California", "jurisdiction": "CA",
    "expires_on": "2027-02-28", "verified_at": "2026-11-20T14:03:00Z", "verification_source_type": "state_medical_board", "next_due_on": "2027-02-28"}))]
pub struct PublicCredential {
    pub id: i64,
    pub kind: CredentialKind,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specialty_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// When a reviewer checked it against the primary source (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    pub verified_at: Option<NaiveDateTime>,
    /// The kind of primary source checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_source_type: Option<SourceType>,
    /// When it is due to be checked again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due_on: Option<NaiveDate>,
}

/// A provider's public profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::api::examples::provider_profile)]
pub struct ProviderProfile {
    pub id: i64,
    pub npi: String,
    pub given_name: String,
    pub family_name: String,
    pub degree: Degree,
    pub primary_specialty_code: String,
    pub other_specialty_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub practice_start_year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub years_of_experience: Option<i32>,
    /// ISO 639-1 codes.
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    pub treatments: Vec<OfferedTreatment>,
    pub location_ids: Vec<i64>,
    /// Verified credentials that have not expired, today.
    pub credentials: Vec<PublicCredential>,
    /// False while the provider has no verified, unexpired state licence: then it does not
    /// appear in search.
    pub listed_in_search: bool,
}

/// A provider as admins and reviewers see it: everything, including vetting state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::api::examples::provider_admin_view)]
pub struct ProviderAdminView {
    pub id: i64,
    pub npi: String,
    pub given_name: String,
    pub family_name: String,
    pub degree: Degree,
    pub primary_specialty_code: String,
    pub other_specialty_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub practice_start_year: Option<i32>,
    pub languages: Vec<String>,
    pub accepting_new_patients: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    pub vetting_status: VettingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub treatments: Vec<OfferedTreatment>,
    pub location_ids: Vec<i64>,
    pub credentials: Vec<CredentialView>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

fn languages_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub fn admin_view(record: ProviderRecord) -> ProviderAdminView {
    let row = record.row;
    ProviderAdminView {
        id: row.id,
        languages: languages_of(&row.languages),
        npi: row.npi,
        given_name: row.given_name,
        family_name: row.family_name,
        degree: Degree::parse(&row.degree).unwrap_or(Degree::Md),
        primary_specialty_code: row.primary_specialty_code,
        other_specialty_codes: record.other_specialty_codes,
        practice_start_year: row.practice_start_year,
        accepting_new_patients: row.accepting_new_patients,
        bio: row.bio,
        vetting_status: VettingStatus::parse(&row.vetting_status).unwrap_or(VettingStatus::Pending),
        external_id: row.external_id,
        treatments: record
            .treatments
            .into_iter()
            .map(OfferedTreatment::from)
            .collect(),
        location_ids: record.location_ids,
        credentials: record
            .credentials
            .into_iter()
            .map(CredentialView::from)
            .collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    }
}

/// The public profile, or `None` when the provider is not verified.
pub fn public_profile(record: ProviderRecord, today: NaiveDate) -> Option<ProviderProfile> {
    let row = record.row;
    if row.vetting_status != VettingStatus::Verified.as_str() {
        return None;
    }
    let credentials: Vec<PublicCredential> = record
        .credentials
        .into_iter()
        .filter(|c| c.verification_status == VerificationStatus::Verified.as_str())
        .filter(|c| c.expires_on.is_none_or(|expires| expires >= today))
        .filter_map(|c| {
            Some(PublicCredential {
                id: c.id,
                kind: CredentialKind::parse(&c.kind)?,
                issuer: c.issuer,
                jurisdiction: c.jurisdiction,
                specialty_code: c.specialty_code,
                expires_on: c.expires_on,
                verified_at: c.verified_at,
                verification_source_type: c
                    .verification_source_type
                    .as_deref()
                    .and_then(SourceType::parse),
                next_due_on: c.next_due_on,
            })
        })
        .collect();
    let listed_in_search = credentials
        .iter()
        .any(|c| c.kind == CredentialKind::StateLicense);
    Some(ProviderProfile {
        id: row.id,
        languages: languages_of(&row.languages),
        npi: row.npi,
        given_name: row.given_name,
        family_name: row.family_name,
        degree: Degree::parse(&row.degree)?,
        primary_specialty_code: row.primary_specialty_code,
        other_specialty_codes: record.other_specialty_codes,
        practice_start_year: row.practice_start_year,
        years_of_experience: row
            .practice_start_year
            .map(|start| (today.year() - start).max(0)),
        accepting_new_patients: row.accepting_new_patients,
        bio: row.bio,
        treatments: record
            .treatments
            .into_iter()
            .map(OfferedTreatment::from)
            .collect(),
        location_ids: record.location_ids,
        credentials,
        listed_in_search,
    })
}

/// A new provider. It starts `pending`: only the vetting workflow makes it public.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"npi": "1234567893", "given_name": "Maya", "family_name": "Okafor", "degree": "MD",
    "primary_specialty_code": "2084N0400X", "other_specialty_codes": ["2081P2900X"], "practice_start_year": 2011,
    "languages": ["en", "es"], "accepting_new_patients": true, "bio": "Headache medicine; botulinum toxin for chronic migraine since 2013."}))]
pub struct NewProviderInput {
    /// 10 digits with a valid check digit.
    #[schema(pattern = "^[0-9]{10}$")]
    pub npi: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: String,
    #[schema(value_type = Degree)]
    pub degree: String,
    /// NUCC taxonomy code, see `GET /v1/specialties`.
    pub primary_specialty_code: String,
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    pub other_specialty_codes: Vec<String>,
    #[validate(range(min = 1940, max = 2100))]
    #[schema(minimum = 1940, maximum = 2100)]
    pub practice_start_year: Option<i32>,
    /// ISO 639-1 codes (default `["en"]`).
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub languages: Option<Vec<String>>,
    pub accepting_new_patients: Option<bool>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<String>,
}

/// Changes to a provider. Vetting state is not here: see the transitions endpoint.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"accepting_new_patients": false, "languages": ["en", "fr"]}))]
pub struct ProviderPatch {
    #[schema(pattern = "^[0-9]{10}$")]
    pub npi: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    #[schema(value_type = Option<Degree>)]
    pub degree: Option<String>,
    pub primary_specialty_code: Option<String>,
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    pub other_specialty_codes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(range(min = 1940, max = 2100))]
    #[schema(minimum = 1940, maximum = 2100)]
    pub practice_start_year: Option<Option<i32>>,
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub languages: Option<Vec<String>>,
    pub accepting_new_patients: Option<bool>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<Option<String>>,
}

pub(crate) struct ProviderFields<'a> {
    pub(crate) npi: Option<&'a str>,
    pub(crate) degree: Option<&'a str>,
    pub(crate) primary_specialty_code: Option<&'a str>,
    pub(crate) other_specialty_codes: Option<&'a [String]>,
    pub(crate) languages: Option<&'a [String]>,
}

pub(crate) fn check_provider_fields(
    checks: &mut Checks,
    connection: &mut DbConnection,
    fields: ProviderFields<'_>,
) -> ApiResult<()> {
    if let Some(npi) = fields.npi {
        checks.npi("/npi", npi);
    }
    if let Some(degree) = fields.degree {
        checks.enum_value("/degree", degree, Degree::parse, Degree::expected());
    }
    if let Some(code) = fields.primary_specialty_code {
        if !db::providers::specialty_exists(connection, code)? {
            checks.push(
                "/primary_specialty_code",
                "unknown_value",
                format!("`{code}` is not a specialty in GET /v1/specialties"),
            );
        }
    }
    for (index, code) in fields
        .other_specialty_codes
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !db::providers::specialty_exists(connection, code)? {
            checks.push(
                format!("/other_specialty_codes/{index}"),
                "unknown_value",
                format!("`{code}` is not a specialty"),
            );
        }
    }
    for (index, code) in fields.languages.unwrap_or_default().iter().enumerate() {
        if !is_language_code(code) {
            checks.push(
                format!("/languages/{index}"),
                "invalid_language",
                "an ISO 639-1 code in lower case, e.g. en, es",
            );
        }
    }
    Ok(())
}

pub(crate) fn languages_json(languages: &[String]) -> String {
    let mut unique: Vec<&String> = Vec::new();
    for language in languages {
        if !unique.contains(&language) {
            unique.push(language);
        }
    }
    serde_json::to_string(&unique).unwrap_or_else(|_| "[\"en\"]".to_owned())
}

/// List verified providers.
///
/// The public profiles of verified providers, ordered by id, a page at a time. Unvetted, rejected
/// and suspended providers never appear.
#[utoipa::path(tag = "providers", params(ListParams), responses((status = 200, description = "A page of verified providers' public profiles", body = Page<ProviderProfile>), ListErrors))]
#[get("/providers")]
pub async fn list_providers(
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let page = params.parse("providers")?;
    let today = state.clock.now().date_naive();
    let page = state
        .read(move |c| {
            let rows = db::providers::list(
                c,
                Some(VettingStatus::Verified.as_str()),
                page.after_id,
                page.limit + 1,
            )?;
            let page = page_of("providers", rows, page.limit, |row| row.id, |row| row);
            let mut items = Vec::with_capacity(page.items.len());
            for row in page.items {
                items.extend(public_profile(db::providers::record(c, row)?, today));
            }
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a provider's public profile.
///
/// A verified provider's public profile with the credentials that are verified and unexpired at the
/// time of the request, and how fresh each verification is. 404 for a provider that is not
/// verified.
#[utoipa::path(tag = "providers", params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 200, description = "The provider's public profile", body = ProviderProfile), ReadErrors))]
#[get("/providers/{id}")]
pub async fn get_provider(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let today = state.clock.now().date_naive();
    let record = state
        .read(move |c| Ok(db::providers::get_record(c, id)?))
        .await?;
    let profile =
        public_profile(record, today).ok_or_else(|| ApiError::not_found("provider", id))?;
    Ok(HttpResponse::Ok().json(profile))
}

/// Create a provider.
///
/// Adds a provider (admin). It starts `pending` and stays out of public view until a reviewer
/// verifies it. The NPI must pass its check digit and be unique.
#[utoipa::path(tag = "providers", request_body = NewProviderInput, security(("api_key" = ["admin"])),
    responses((status = 201, description = "The provider, created (pending)", body = ProviderAdminView, headers(("ETag" = String), ("Location" = String))), WriteErrors))]
#[post("/providers")]
pub async fn create_provider(
    state: web::Data<AppState>,
    actor: Actor,
    body: JsonBody<NewProviderInput>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let input = body.into_inner()?;
    let provider = state
        .write(
            move |c| {
                let mut checks = Checks::of(&input);
                let languages = input
                    .languages
                    .clone()
                    .unwrap_or_else(|| vec!["en".to_owned()]);
                check_provider_fields(
                    &mut checks,
                    c,
                    ProviderFields {
                        npi: Some(&input.npi),
                        degree: Some(&input.degree),
                        primary_specialty_code: Some(&input.primary_specialty_code),
                        other_specialty_codes: Some(&input.other_specialty_codes),
                        languages: Some(&languages),
                    },
                )?;
                checks.finish()?;
                let now = db::now();
                let row = db::providers::insert(
                    c,
                    &NewProvider {
                        npi: input.npi,
                        given_name: input.given_name,
                        family_name: input.family_name,
                        degree: input.degree,
                        primary_specialty_code: input.primary_specialty_code,
                        practice_start_year: input.practice_start_year,
                        languages: languages_json(&languages),
                        accepting_new_patients: input.accepting_new_patients.unwrap_or(true),
                        bio: input.bio,
                        vetting_status: VettingStatus::Pending.as_str().to_owned(),
                        external_id: input.external_id,
                        created_at: now,
                        updated_at: now,
                    },
                    &input.other_specialty_codes,
                )?;
                let view = admin_view(db::providers::record(c, row)?);
                db::audit::record(
                    c,
                    &actor,
                    "provider.create",
                    "provider",
                    view.id,
                    None::<&ProviderAdminView>,
                    Some(&view),
                    None,
                )?;
                Ok(view)
            },
            |_| crate::search::Affected::default(),
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(provider.version))
        .insert_header(("Location", format!("/v1/admin/providers/{}", provider.id)))
        .json(provider))
}

/// Update a provider.
///
/// Changes the provider's details sent (admin); absent fields stay, `null` clears an optional one.
/// Needs `If-Match` with the provider's current ETag.
#[utoipa::path(tag = "providers", request_body = ProviderPatch, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("If-Match" = String, Header, description = "The provider's ETag")),
    responses((status = 200, description = "The provider, updated", body = ProviderAdminView, headers(("ETag" = String))), WriteErrors))]
#[patch("/providers/{id}")]
pub async fn update_provider(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
    if_match: IfMatch,
    body: JsonBody<ProviderPatch>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let (id, input) = (id.into_inner(), body.into_inner()?);
    let expected = if_match.required()?;
    let provider = state
        .write(
            move |c| {
                let before = admin_view(db::providers::get_record(c, id)?);
                let mut checks = Checks::of(&input);
                check_provider_fields(
                    &mut checks,
                    c,
                    ProviderFields {
                        npi: input.npi.as_deref(),
                        degree: input.degree.as_deref(),
                        primary_specialty_code: input.primary_specialty_code.as_deref(),
                        other_specialty_codes: input.other_specialty_codes.as_deref(),
                        languages: input.languages.as_deref(),
                    },
                )?;
                checks.finish()?;
                let changes = ProviderChanges {
                    npi: input.npi,
                    given_name: input.given_name,
                    family_name: input.family_name,
                    degree: input.degree,
                    primary_specialty_code: input.primary_specialty_code,
                    practice_start_year: input.practice_start_year,
                    languages: input.languages.as_deref().map(languages_json),
                    accepting_new_patients: input.accepting_new_patients,
                    bio: input.bio,
                    external_id: input.external_id,
                };
                let row = db::providers::update(c, id, expected, &changes)?;
                if let Some(codes) = &input.other_specialty_codes {
                    db::providers::replace_specialties(c, id, codes)?;
                }
                let after = admin_view(db::providers::record(c, row)?);
                db::audit::record(
                    c,
                    &actor,
                    "provider.update",
                    "provider",
                    id,
                    Some(&before),
                    Some(&after),
                    None,
                )?;
                Ok(after)
            },
            move |_| Affected::provider(id),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(provider.version))
        .json(provider))
}

/// Delete a provider.
///
/// Deletes a provider with its credentials, location links and treatments (admin). With `If-Match`,
/// only at that version.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])), params(("id" = i64, Path, description = "Provider id", example = 7)),
    responses((status = 204, description = "Deleted"), WriteErrors))]
#[delete("/providers/{id}")]
pub async fn delete_provider(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let id = id.into_inner();
    state
        .write(
            move |c| {
                let before = admin_view(db::providers::get_record(c, id)?);
                db::providers::delete(c, id)?;
                db::audit::record(
                    c,
                    &actor,
                    "provider.delete",
                    "provider",
                    id,
                    Some(&before),
                    None::<&ProviderAdminView>,
                    None,
                )?;
                Ok(before.location_ids)
            },
            move |location_ids| Affected {
                providers: vec![id],
                locations: location_ids.clone(),
                clinics: vec![],
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Link a provider to a location.
///
/// Says that a provider practises at a location (admin). Idempotent: linking twice changes nothing.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("location_id" = i64, Path, description = "Location id", example = 7)),
    responses((status = 204, description = "Linked"), WriteErrors))]
#[put("/providers/{id}/locations/{location_id}")]
pub async fn link_location(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let (provider_id, location_id) = path.into_inner();
    state
        .write(
            move |c| {
                db::providers::get(c, provider_id)?;
                db::locations::get(c, location_id)?;
                if db::providers::link_location(c, provider_id, location_id)? {
                    let link =
                        serde_json::json!({"provider_id": provider_id, "location_id": location_id});
                    db::audit::record(
                        c,
                        &actor,
                        "provider.link_location",
                        "provider",
                        provider_id,
                        None::<&()>,
                        Some(&link),
                        None,
                    )?;
                }
                Ok(())
            },
            move |_| Affected::location(location_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unlink a provider from a location.
///
/// Removes a provider from a location (admin); the provider and the location stay.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("location_id" = i64, Path, description = "Location id", example = 7)),
    responses((status = 204, description = "Unlinked"), WriteErrors))]
#[delete("/providers/{id}/locations/{location_id}")]
pub async fn unlink_location(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let (provider_id, location_id) = path.into_inner();
    state
        .write(
            move |c| {
                if !db::providers::unlink_location(c, provider_id, location_id)? {
                    return Err(ApiError::not_found(
                        "provider location link",
                        format!("{provider_id}/{location_id}"),
                    ));
                }
                let link =
                    serde_json::json!({"provider_id": provider_id, "location_id": location_id});
                db::audit::record(
                    c,
                    &actor,
                    "provider.unlink_location",
                    "provider",
                    provider_id,
                    Some(&link),
                    None::<&()>,
                    None,
                )?;
                Ok(())
            },
            move |_| Affected::location(location_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Treatment offered, with the yearly procedure volume when known.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"annual_volume": 240}))]
pub struct TreatmentOfferInput {
    /// Procedures a year.
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    pub annual_volume: Option<i32>,
}

/// Offer a treatment.
///
/// Says that a provider offers a treatment (admin), with its yearly procedure volume when known.
/// Idempotent; a second call replaces the volume.
#[utoipa::path(tag = "providers", request_body = TreatmentOfferInput, security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("code" = String, Path, description = "Treatment code", example = "chronic_migraine")),
    responses((status = 200, description = "The treatment as the provider now offers it", body = OfferedTreatment), WriteErrors))]
#[put("/providers/{id}/treatments/{code}")]
pub async fn set_treatment(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, String)>,
    body: JsonBody<TreatmentOfferInput>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let ((provider_id, code), input) = (path.into_inner(), body.into_inner()?);
    Checks::of(&input).finish()?;
    let offered = state
        .write(
            move |c| {
                db::providers::get(c, provider_id)?;
                if !db::providers::treatment_exists(c, &code)? {
                    return Err(ApiError::validation(FieldError::new(
                        crate::api::error::ParamLocation::Path,
                        "/code",
                        "unknown_value",
                        format!("`{code}` is not a treatment in GET /v1/treatments"),
                    )));
                }
                let before = db::providers::find_treatment(c, provider_id, &code)?
                    .map(OfferedTreatment::from);
                let after = OfferedTreatment::from(db::providers::upsert_treatment(
                    c,
                    provider_id,
                    &code,
                    input.annual_volume,
                )?);
                db::audit::record(
                    c,
                    &actor,
                    "provider.set_treatment",
                    "provider",
                    provider_id,
                    before.as_ref(),
                    Some(&after),
                    None,
                )?;
                Ok(after)
            },
            move |_| Affected::provider(provider_id),
        )
        .await?;
    Ok(HttpResponse::Ok().json(offered))
}

/// Stop offering a treatment.
///
/// Stops listing a treatment for a provider (admin); search for that treatment no longer finds
/// them.
#[utoipa::path(tag = "providers", security(("api_key" = ["admin"])),
    params(("id" = i64, Path, description = "Provider id", example = 7), ("code" = String, Path, description = "Treatment code", example = "chronic_migraine")),
    responses((status = 204, description = "Removed"), WriteErrors))]
#[delete("/providers/{id}/treatments/{code}")]
pub async fn remove_treatment(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(i64, String)>,
) -> ApiResult<HttpResponse> {
    actor.require(&[Role::Admin])?;
    let (provider_id, code) = path.into_inner();
    state
        .write(
            move |c| {
                let before = db::providers::find_treatment(c, provider_id, &code)?
                    .map(OfferedTreatment::from)
                    .ok_or_else(|| {
                        ApiError::not_found("provider treatment", format!("{provider_id}/{code}"))
                    })?;
                db::providers::remove_treatment(c, provider_id, &code)?;
                db::audit::record(
                    c,
                    &actor,
                    "provider.remove_treatment",
                    "provider",
                    provider_id,
                    Some(&before),
                    None::<&()>,
                    None,
                )?;
                Ok(())
            },
            move |_| Affected::provider(provider_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
