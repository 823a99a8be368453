//! The FHIR R4 (4.0.1) data types and resources the facade returns, as serde structs that also
//! give the OpenAPI document simplified schemas of them. Only the elements the facade fills are
//! here; every optional one is omitted when empty, because FHIR forbids empty arrays, objects
//! and strings.

use serde::Serialize;
use utoipa::ToSchema;

/// A FHIR `Coding`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coding {
    #[schema(max_length = 2048, format = "uri")]
    pub system: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: impl Into<String>, display: Option<String>) -> Coding {
        Coding {
            system: system.to_owned(),
            code: code.into(),
            display,
        }
    }
}

/// A FHIR `CodeableConcept`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub text: Option<String>,
}

/// A FHIR `Identifier`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identifier {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 16, pattern = "^(usual|official|temp|secondary|old)$")]
    pub use_: Option<String>,
    #[schema(max_length = 2048, format = "uri")]
    pub system: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub value: String,
}

/// A FHIR `Reference`: a relative reference (`Organization/7`) with a display text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reference {
    #[schema(
        max_length = 64,
        pattern = "^[A-Za-z]+/[1-9][0-9]{0,15}(-[1-9][0-9]{0,15})?$",
        example = "Organization/7"
    )]
    pub reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub display: Option<String>,
}

/// A FHIR `Reference` that only names (an issuer that is not a resource here).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisplayReference {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub display: String,
}

/// A FHIR `Period` (dates, `YYYY-MM-DD`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Period {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub end: Option<String>,
}

/// A FHIR `ContactPoint`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactPoint {
    /// `phone` or `url`.
    #[schema(max_length = 5, pattern = "^(phone|url)$")]
    pub system: String,
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\x00]*$")]
    pub value: String,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 6, pattern = "^(work|mobile)$")]
    pub use_: Option<String>,
}

/// A FHIR `Address` (named `FhirAddress` in the OpenAPI document: the API has its own `Address`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = FhirAddress)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(rename = "use")]
    #[schema(max_length = 4, pattern = "^work$")]
    pub use_: String,
    #[serde(rename = "type")]
    #[schema(max_length = 8, pattern = "^physical$")]
    pub kind: String,
    #[schema(
        max_items = 2,
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00]*$"
    )]
    pub line: Vec<String>,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub city: String,
    /// USPS state code.
    #[schema(value_type = crate::domain::schemas::UsState)]
    pub state: String,
    #[schema(min_length = 3, max_length = 10, pattern = "^[^\\x00]*$")]
    pub postal_code: String,
    #[schema(max_length = 2, pattern = "^US$")]
    pub country: String,
}

/// A FHIR `Distance` (a Quantity in UCUM units).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Distance {
    pub value: f64,
    /// `km`, `[mi_i]` or `m`.
    #[schema(max_length = 6, pattern = "^(km|\\[mi_i\\]|m)$")]
    pub unit: String,
    /// `http://unitsofmeasure.org`.
    #[schema(max_length = 2048, format = "uri")]
    pub system: String,
    #[schema(max_length = 6, pattern = "^(km|\\[mi_i\\]|m)$")]
    pub code: String,
}

/// A FHIR `Extension`: a URL and one value (only the value types the facade uses).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    #[schema(max_length = 2048, format = "uri-reference")]
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_distance: Option<Distance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub value_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 35,
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    pub value_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_boolean: Option<bool>,
    /// Nested extensions (complex extensions carry these instead of a value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion, max_items = 10)]
    pub extension: Vec<Extension>,
}

impl Extension {
    fn empty(url: &str) -> Extension {
        Extension {
            url: url.to_owned(),
            value_distance: None,
            value_code: None,
            value_codeable_concept: None,
            value_date_time: None,
            value_boolean: None,
            extension: Vec::new(),
        }
    }
    pub fn distance(url: &str, value: Distance) -> Extension {
        Extension {
            value_distance: Some(value),
            ..Extension::empty(url)
        }
    }
    pub fn code(url: &str, value: impl Into<String>) -> Extension {
        Extension {
            value_code: Some(value.into()),
            ..Extension::empty(url)
        }
    }
    pub fn concept(url: &str, value: CodeableConcept) -> Extension {
        Extension {
            value_codeable_concept: Some(value),
            ..Extension::empty(url)
        }
    }
    pub fn date_time(url: &str, value: String) -> Extension {
        Extension {
            value_date_time: Some(value),
            ..Extension::empty(url)
        }
    }
    pub fn boolean(url: &str, value: bool) -> Extension {
        Extension {
            value_boolean: Some(value),
            ..Extension::empty(url)
        }
    }
    pub fn complex(url: &str, parts: Vec<Extension>) -> Extension {
        Extension {
            extension: parts,
            ..Extension::empty(url)
        }
    }
}

/// `Location.position`: WGS84 degrees.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Position {
    pub longitude: f64,
    pub latitude: f64,
}

/// `Location.hoursOfOperation`: local times in the location's timezone (see the `timezone`
/// extension).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoursOfOperation {
    /// `mon` … `sun`.
    #[schema(
        max_items = 7,
        max_length = 3,
        pattern = "^(mon|tue|wed|thu|fri|sat|sun)$"
    )]
    pub days_of_week: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_day: Option<bool>,
    /// `HH:MM:SS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 8, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]:00$")]
    pub opening_time: Option<String>,
    /// `HH:MM:SS` (a closing at midnight is `23:59:59`: FHIR times stop there).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 8, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]:(00|59)$")]
    pub closing_time: Option<String>,
}

/// A FHIR R4 `Location`: one site of a clinic.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resourceType": "Location", "id": "11", "status": "active", "name": "Midtown office", "mode": "instance",
    "address": {"use": "work", "type": "physical", "line": ["350 5th Ave"], "city": "New York", "state": "NY", "postalCode": "10118", "country": "US"},
    "telecom": [{"system": "phone", "value": "+1-212-555-0100", "use": "work"}],
    "position": {"longitude": -73.9857, "latitude": 40.7484},
    "managingOrganization": {"reference": "Organization/7", "display": "Midtown Neurology & Headache Center"},
    "hoursOfOperation": [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"], "openingTime": "09:00:00", "closingTime": "17:00:00"}],
    "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": "America/New_York"}]}))]
pub struct Location {
    /// `Location`.
    #[schema(value_type = String, pattern = "^Location$", max_length = 8)]
    pub resource_type: &'static str,
    #[schema(max_length = 16, pattern = "^[1-9][0-9]{0,15}$")]
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 1)]
    pub identifier: Vec<Identifier>,
    /// `active`.
    #[schema(value_type = String, pattern = "^active$", max_length = 6)]
    pub status: &'static str,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    /// `instance`.
    #[schema(value_type = String, pattern = "^instance$", max_length = 8)]
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 2)]
    pub telecom: Vec<ContactPoint>,
    pub address: Address,
    pub position: Position,
    pub managing_organization: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 56)]
    pub hours_of_operation: Vec<HoursOfOperation>,
}

/// A FHIR R4 `Organization`: a clinic.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resourceType": "Organization", "id": "7", "active": true,
    "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}]}],
    "name": "Midtown Neurology & Headache Center",
    "telecom": [{"system": "phone", "value": "+1-212-555-0142", "use": "work"}, {"system": "url", "value": "https://example-midtown-neuro.com", "use": "work"}]}))]
pub struct Organization {
    /// `Organization`.
    #[schema(value_type = String, pattern = "^Organization$", max_length = 12)]
    pub resource_type: &'static str,
    #[schema(max_length = 16, pattern = "^[1-9][0-9]{0,15}$")]
    pub id: String,
    pub active: bool,
    #[serde(rename = "type")]
    #[schema(max_items = 1)]
    pub kind: Vec<CodeableConcept>,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 2)]
    pub telecom: Vec<ContactPoint>,
}

/// A FHIR `HumanName`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HumanName {
    #[serde(rename = "use")]
    #[schema(max_length = 8, pattern = "^official$")]
    pub use_: String,
    #[schema(min_length = 1, max_length = 300, pattern = "^[^\\x00]*$")]
    pub text: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub family: String,
    #[schema(
        max_items = 1,
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00]*$"
    )]
    pub given: Vec<String>,
    /// The degree, e.g. `MD`.
    #[schema(max_items = 1, min_length = 1, max_length = 8, pattern = "^[^\\x00]*$")]
    pub suffix: Vec<String>,
}

/// `Practitioner.communication`: a language (BCP 47 code).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Communication {
    #[schema(max_items = 1)]
    pub coding: Vec<Coding>,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub text: String,
}

/// `Practitioner.qualification`: one verified, unexpired credential.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Qualification {
    /// `credential-{id}`: the credential's id in the directory.
    #[schema(max_length = 27, pattern = "^credential-[1-9][0-9]{0,15}$")]
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub extension: Vec<Extension>,
    pub code: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    pub issuer: DisplayReference,
}

/// A FHIR R4 `Practitioner`: a verified provider, with its verified, unexpired credentials.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resourceType": "Practitioner", "id": "42", "active": true,
    "identifier": [{"use": "official", "system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
    "name": [{"use": "official", "text": "Maya Okafor, MD", "family": "Okafor", "given": ["Maya"], "suffix": ["MD"]}],
    "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}], "text": "en"}],
    "qualification": [{"id": "credential-5",
        "extension": [{"url": "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/practitioner-qualification",
            "extension": [{"url": "status", "valueCode": "active"},
                          {"url": "whereValid", "valueCodeableConcept": {"coding": [{"system": "https://www.usps.com/", "code": "CA"}]}}]},
            {"url": "urn:clinic-finder:fhir:StructureDefinition/verified-at", "valueDateTime": "2026-11-20T14:03:00Z"}],
        "code": {"coding": [{"system": "urn:clinic-finder:fhir:CodeSystem/credential-kind", "code": "state_license", "display": "State medical licence"}], "text": "State medical licence (CA)"},
        "period": {"end": "2027-02-28"}, "issuer": {"display": "Medical Board of California"}}]}))]
pub struct Practitioner {
    /// `Practitioner`.
    #[schema(value_type = String, pattern = "^Practitioner$", max_length = 12)]
    pub resource_type: &'static str,
    #[schema(max_length = 16, pattern = "^[1-9][0-9]{0,15}$")]
    pub id: String,
    #[schema(max_items = 1)]
    pub identifier: Vec<Identifier>,
    pub active: bool,
    #[schema(max_items = 1)]
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub communication: Vec<Communication>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qualification: Vec<Qualification>,
}

/// A FHIR R4 `PractitionerRole`: a verified provider practising at a location.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resourceType": "PractitionerRole", "id": "42-11", "active": true,
    "extension": [{"url": "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients",
        "extension": [{"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/AcceptingPatientsCS", "code": "newpt"}]}}]}],
    "practitioner": {"reference": "Practitioner/42", "display": "Maya Okafor, MD"},
    "organization": {"reference": "Organization/7", "display": "Midtown Neurology & Headache Center"},
    "location": [{"reference": "Location/11", "display": "Midtown office"}],
    "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "2084N0400X", "display": "Neurology"}]}]}))]
pub struct PractitionerRole {
    /// `PractitionerRole`.
    #[schema(value_type = String, pattern = "^PractitionerRole$", max_length = 16)]
    pub resource_type: &'static str,
    /// `{practitioner id}-{location id}`.
    #[schema(max_length = 33, pattern = "^[1-9][0-9]{0,15}-[1-9][0-9]{0,15}$")]
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub extension: Vec<Extension>,
    pub active: bool,
    pub practitioner: Reference,
    pub organization: Reference,
    #[schema(max_items = 1)]
    pub location: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 11)]
    pub specialty: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 2)]
    pub telecom: Vec<ContactPoint>,
}

/// `Bundle.link`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundleLink {
    /// `self` or `next`.
    #[schema(max_length = 4, pattern = "^(self|next)$")]
    pub relation: String,
    #[schema(max_length = 2048, format = "uri")]
    pub url: String,
}

/// `Bundle.entry.search`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntrySearch {
    /// For `near` searches: the `location-distance` extension.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 1)]
    pub extension: Vec<Extension>,
    /// `match`.
    #[schema(value_type = String, pattern = "^match$", max_length = 5)]
    pub mode: &'static str,
}

/// `Bundle.entry`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry<T> {
    #[schema(max_length = 2048, format = "uri")]
    pub full_url: String,
    pub resource: T,
    pub search: EntrySearch,
}

/// A FHIR R4 `Bundle` of type `searchset`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bundle<T> {
    /// `Bundle`.
    #[schema(value_type = String, pattern = "^Bundle$", max_length = 6)]
    pub resource_type: &'static str,
    /// `searchset`.
    #[serde(rename = "type")]
    #[schema(value_type = String, pattern = "^searchset$", max_length = 9)]
    pub kind: &'static str,
    /// The number of matches, when the search knows it without extra work (PractitionerRole
    /// searches); absent for `Location?near` (the search stops early).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub total: Option<u64>,
    #[schema(max_items = 2)]
    pub link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry<T>>,
}

/// `OperationOutcome.issue`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeIssue {
    /// `fatal`, `error`, `warning` or `information`.
    #[schema(max_length = 11, pattern = "^(fatal|error|warning|information)$")]
    pub severity: String,
    /// A code of http://hl7.org/fhir/issue-type, e.g. `invalid`, `not-found`, `not-supported`,
    /// `throttled`, `transient`.
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub code: String,
    /// The problem code of the rest of the API (docs/errors.md), and its title.
    pub details: CodeableConcept,
    /// What went wrong, for a human; for a parameter, it is named first.
    #[schema(min_length = 1, max_length = 4096, pattern = "^[^\\x00]*$")]
    pub diagnostics: String,
    /// For a bad search parameter: its name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(
        max_items = 1,
        min_length = 1,
        max_length = 2048,
        pattern = "^[^\\x00]*$"
    )]
    pub expression: Vec<String>,
}

/// A FHIR R4 `OperationOutcome`: every error from `/fhir/*`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resourceType": "OperationOutcome",
    "extension": [{"url": "urn:clinic-finder:fhir:StructureDefinition/request-id", "valueCode": "5f0c6b1e9d7a4c21"}],
    "issue": [{"severity": "error", "code": "value",
        "details": {"coding": [{"system": "urn:clinic-finder:fhir:CodeSystem/problem", "code": "validation_failed"}], "text": "The request is not valid"},
        "diagnostics": "near: 91: latitude must be between -90 and 90", "expression": ["near"]}]}))]
pub struct OperationOutcome {
    /// `OperationOutcome`.
    #[schema(value_type = String, pattern = "^OperationOutcome$", max_length = 16)]
    pub resource_type: &'static str,
    /// The request id (`X-Request-Id`), for support.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 1)]
    pub extension: Vec<Extension>,
    #[schema(max_items = 256)]
    pub issue: Vec<OutcomeIssue>,
}

/// `CapabilityStatement.rest.resource.interaction`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Interaction {
    /// `read` or `search-type`.
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub code: &'static str,
}

/// `CapabilityStatement.rest.resource.searchParam`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchParam {
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub name: &'static str,
    #[schema(max_length = 2048, format = "uri")]
    pub definition: &'static str,
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub kind: &'static str,
    #[schema(min_length = 1, max_length = 2000, pattern = "^[^\\x00]*$")]
    pub documentation: &'static str,
}

/// `CapabilityStatement.rest.resource`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestResource {
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\s]+( [^\\s]+)*$")]
    pub kind: &'static str,
    #[schema(max_length = 2048, format = "uri")]
    pub profile: &'static str,
    #[schema(max_items = 10)]
    pub interaction: Vec<Interaction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub search_param: Vec<SearchParam>,
    #[schema(min_length = 1, max_length = 2000, pattern = "^[^\\x00]*$")]
    pub documentation: &'static str,
}

/// `CapabilityStatement.rest`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rest {
    /// `server`.
    #[schema(value_type = String, pattern = "^server$", max_length = 6)]
    pub mode: &'static str,
    #[schema(min_length = 1, max_length = 2000, pattern = "^[^\\x00]*$")]
    pub documentation: &'static str,
    #[schema(max_items = 10)]
    pub resource: Vec<RestResource>,
}

/// `CapabilityStatement.software`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Software {
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub name: &'static str,
    #[schema(min_length = 1, max_length = 32, pattern = "^[^\\x00]*$")]
    pub version: &'static str,
}

/// `CapabilityStatement.implementation`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Implementation {
    #[schema(min_length = 1, max_length = 2000, pattern = "^[^\\x00]*$")]
    pub description: &'static str,
    #[schema(max_length = 2048, format = "uri")]
    pub url: String,
}

/// A FHIR R4 `CapabilityStatement`: what this facade implements, exactly.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = capability_statement_example)]
pub struct CapabilityStatement {
    /// `CapabilityStatement`.
    #[schema(value_type = String, pattern = "^CapabilityStatement$", max_length = 19)]
    pub resource_type: &'static str,
    #[schema(value_type = String, pattern = "^active$", max_length = 6)]
    pub status: &'static str,
    #[schema(
        max_length = 35,
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    pub date: &'static str,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub publisher: &'static str,
    #[schema(value_type = String, pattern = "^instance$", max_length = 8)]
    pub kind: &'static str,
    pub software: Software,
    pub implementation: Implementation,
    /// `4.0.1`.
    #[schema(value_type = String, pattern = "^4\\.0\\.1$", max_length = 5)]
    pub fhir_version: &'static str,
    #[schema(max_items = 5, max_length = 32, pattern = "^[a-z/+]+$")]
    pub format: Vec<&'static str>,
    #[schema(max_items = 1)]
    pub rest: Vec<Rest>,
}

/// The statement this server sends, as served from `http://127.0.0.1:8080` (the document's
/// example is the real thing, so it cannot drift from the code).
fn capability_statement_example() -> serde_json::Value {
    serde_json::to_value(super::capability::capability_statement(
        "http://127.0.0.1:8080".to_owned(),
    ))
    .unwrap_or_default()
}
