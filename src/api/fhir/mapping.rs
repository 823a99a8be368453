//! From the directory's rows and public views to FHIR R4 resources. What is public is decided
//! before this point (the public provider profile, the public search); this only maps.

use std::collections::BTreeMap;

use chrono::SecondsFormat;

use super::model::*;
use crate::db::models::{ClinicRow, LocationRow};
use crate::directory::providers::{ProviderProfile, PublicCredential};
use crate::domain::{CredentialKind, OpeningInterval, WeeklyHours};

/// The NPI's identifier system.
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
/// The NUCC Health Care Provider Taxonomy.
pub const NUCC_SYSTEM: &str = "http://nucc.org/provider-taxonomy";
pub const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";
pub const LOCATION_DISTANCE: &str = "http://hl7.org/fhir/StructureDefinition/location-distance";
/// The core extension carrying an IANA timezone: the hours of operation are local to it.
pub const TIMEZONE: &str = "http://hl7.org/fhir/StructureDefinition/timezone";
const PLAN_NET: &str = "http://hl7.org/fhir/us/davinci-pdex-plan-net";
const USPS_SYSTEM: &str = "https://www.usps.com/";
/// The service's own code systems and extensions. A URN rather than a URL: the project has no
/// canonical web address to host their definitions at.
pub const OWN: &str = "urn:clinic-finder:fhir";

pub fn own(path: &str) -> String {
    format!("{OWN}:{path}")
}

fn reference(kind: &str, id: i64, display: Option<String>) -> Reference {
    Reference {
        reference: format!("{kind}/{id}"),
        display,
    }
}

fn phone(value: &str) -> ContactPoint {
    ContactPoint {
        system: "phone".to_owned(),
        value: value.to_owned(),
        use_: Some("work".to_owned()),
    }
}

/// `HH:MM` → `HH:MM:SS`; FHIR's `time` stops at 23:59:59, so a midnight close is that.
fn fhir_time(text: &str) -> String {
    if text == "24:00" {
        "23:59:59".to_owned()
    } else {
        format!("{text}:00")
    }
}

/// One entry per distinct interval, listing the days it applies to (week order).
pub fn hours_of_operation(hours: &WeeklyHours) -> Vec<HoursOfOperation> {
    let days: [(&str, &Vec<OpeningInterval>); 7] = [
        ("mon", &hours.mon),
        ("tue", &hours.tue),
        ("wed", &hours.wed),
        ("thu", &hours.thu),
        ("fri", &hours.fri),
        ("sat", &hours.sat),
        ("sun", &hours.sun),
    ];
    // Keyed by (opens, closes); the value keeps the days in week order.
    let mut by_interval: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (day, intervals) in days {
        for interval in intervals {
            by_interval
                .entry((interval.opens.clone(), interval.closes.clone()))
                .or_default()
                .push(day.to_owned());
        }
    }
    by_interval
        .into_iter()
        .map(|((opens, closes), days_of_week)| {
            if opens == "00:00" && closes == "24:00" {
                HoursOfOperation {
                    days_of_week,
                    all_day: Some(true),
                    opening_time: None,
                    closing_time: None,
                }
            } else {
                HoursOfOperation {
                    days_of_week,
                    all_day: None,
                    opening_time: Some(fhir_time(&opens)),
                    closing_time: Some(fhir_time(&closes)),
                }
            }
        })
        .collect()
}

/// A location as a FHIR `Location`; `clinic` is the clinic that runs it.
pub fn location(row: &LocationRow, clinic: Option<&ClinicRow>) -> Location {
    let hours: WeeklyHours = serde_json::from_str(&row.opening_hours).unwrap_or_default();
    let clinic_name = clinic.map(|c| c.name.clone());
    // FHIR forbids empty strings: an empty second line is no line.
    let mut line = vec![row.address_line1.clone()];
    line.extend(row.address_line2.clone().filter(|line| !line.is_empty()));
    Location {
        resource_type: "Location",
        id: row.id.to_string(),
        extension: vec![Extension::code(TIMEZONE, row.timezone.clone())],
        identifier: row
            .external_id
            .iter()
            .map(|value| Identifier {
                use_: Some("secondary".to_owned()),
                system: own("location-external-id"),
                value: value.clone(),
            })
            .collect(),
        status: "active",
        name: row
            .name
            .clone()
            .or_else(|| clinic_name.clone())
            .unwrap_or_else(|| format!("Location {}", row.id)),
        mode: "instance",
        telecom: row.phone.as_deref().map(phone).into_iter().collect(),
        address: Address {
            use_: "work".to_owned(),
            kind: "physical".to_owned(),
            line,
            city: row.city.clone(),
            state: row.state.clone(),
            postal_code: row.postal_code.clone(),
            country: row.country.clone(),
        },
        position: Position {
            longitude: row.longitude,
            latitude: row.latitude,
        },
        managing_organization: reference("Organization", row.clinic_id, clinic_name),
        hours_of_operation: hours_of_operation(&hours),
    }
}

/// A clinic as a FHIR `Organization`.
pub fn organization(row: &ClinicRow) -> Organization {
    let mut telecom: Vec<ContactPoint> = row.phone.as_deref().map(phone).into_iter().collect();
    telecom.extend(row.website.as_ref().map(|url| ContactPoint {
        system: "url".to_owned(),
        value: url.clone(),
        use_: Some("work".to_owned()),
    }));
    Organization {
        resource_type: "Organization",
        id: row.id.to_string(),
        active: true,
        kind: vec![CodeableConcept {
            coding: vec![Coding::new(
                "http://terminology.hl7.org/CodeSystem/organization-type",
                "prov",
                Some("Healthcare Provider".to_owned()),
            )],
            text: None,
        }],
        name: row.name.clone(),
        telecom,
    }
}

fn credential_display(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::StateLicense => "State licence to practise",
        CredentialKind::BoardCertification => "Board certification",
        CredentialKind::DeaRegistration => "DEA registration",
        CredentialKind::Education => "Education",
        CredentialKind::InjectorTraining => "Botulinum toxin injector training",
    }
}

/// One public credential as a `qualification`: its kind (and, for a board certification, its
/// NUCC specialty), the expiry as the period's end, the issuer, where it is valid and when it
/// was verified.
fn qualification(
    credential: &PublicCredential,
    specialty_name: &dyn Fn(&str) -> Option<String>,
) -> Qualification {
    let display = credential_display(credential.kind);
    let mut coding = vec![Coding::new(
        &own("CodeSystem/credential-kind"),
        credential.kind.as_str(),
        Some(display.to_owned()),
    )];
    if let Some(code) = &credential.specialty_code {
        coding.push(Coding::new(NUCC_SYSTEM, code.clone(), specialty_name(code)));
    }
    let text = match &credential.jurisdiction {
        Some(state) => format!("{display} ({state})"),
        None => display.to_owned(),
    };
    let mut plan_net = vec![Extension::code("status", "active")];
    if let Some(state) = &credential.jurisdiction {
        plan_net.push(Extension::concept(
            "whereValid",
            CodeableConcept {
                coding: vec![Coding::new(USPS_SYSTEM, state.clone(), None)],
                text: None,
            },
        ));
    }
    let mut extension = vec![Extension::complex(
        &format!("{PLAN_NET}/StructureDefinition/practitioner-qualification"),
        plan_net,
    )];
    if let Some(verified_at) = credential.verified_at {
        extension.push(Extension::date_time(
            &own("StructureDefinition/verified-at"),
            verified_at
                .and_utc()
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ));
    }
    Qualification {
        id: format!("credential-{}", credential.id),
        extension,
        code: CodeableConcept {
            coding,
            text: Some(text),
        },
        period: credential.expires_on.map(|end| Period {
            start: None,
            end: Some(end.to_string()),
        }),
        issuer: DisplayReference {
            display: credential.issuer.clone(),
        },
    }
}

pub fn display_name(profile: &ProviderProfile) -> String {
    format!(
        "{} {}, {}",
        profile.given_name, profile.family_name, profile.degree
    )
}

/// A public provider profile as a FHIR `Practitioner`: the same credentials the profile shows.
pub fn practitioner(
    profile: &ProviderProfile,
    specialty_name: &dyn Fn(&str) -> Option<String>,
) -> Practitioner {
    Practitioner {
        resource_type: "Practitioner",
        id: profile.id.to_string(),
        identifier: vec![Identifier {
            use_: Some("official".to_owned()),
            system: NPI_SYSTEM.to_owned(),
            value: profile.npi.clone(),
        }],
        active: true,
        name: vec![HumanName {
            use_: "official".to_owned(),
            text: display_name(profile),
            family: profile.family_name.clone(),
            given: vec![profile.given_name.clone()],
            suffix: vec![profile.degree.to_string()],
        }],
        communication: profile
            .languages
            .iter()
            .map(|code| Communication {
                coding: vec![Coding::new("urn:ietf:bcp:47", code.clone(), None)],
                text: code.clone(),
            })
            .collect(),
        qualification: profile
            .credentials
            .iter()
            .map(|credential| qualification(credential, specialty_name))
            .collect(),
    }
}

pub fn role_id(provider_id: i64, location_id: i64) -> String {
    format!("{provider_id}-{location_id}")
}

/// A public provider at one of its locations as a FHIR `PractitionerRole`.
pub fn practitioner_role(
    profile: &ProviderProfile,
    location_row: &LocationRow,
    clinic: Option<&ClinicRow>,
    specialty_name: &dyn Fn(&str) -> Option<String>,
) -> PractitionerRole {
    let accepting = if profile.accepting_new_patients {
        ("newpt", "Accepting")
    } else {
        ("nopt", "Not accepting")
    };
    let new_patients = Extension::complex(
        &format!("{PLAN_NET}/StructureDefinition/newpatients"),
        vec![Extension::concept(
            "acceptingPatients",
            CodeableConcept {
                coding: vec![Coding::new(
                    &format!("{PLAN_NET}/CodeSystem/AcceptingPatientsCS"),
                    accepting.0,
                    Some(accepting.1.to_owned()),
                )],
                text: None,
            },
        )],
    );
    let specialties = std::iter::once(&profile.primary_specialty_code)
        .chain(&profile.other_specialty_codes)
        .map(|code| CodeableConcept {
            coding: vec![Coding::new(NUCC_SYSTEM, code.clone(), specialty_name(code))],
            text: None,
        })
        .collect();
    let location_name = location_row
        .name
        .clone()
        .or_else(|| clinic.map(|c| c.name.clone()));
    PractitionerRole {
        resource_type: "PractitionerRole",
        id: role_id(profile.id, location_row.id),
        extension: vec![new_patients],
        active: true,
        practitioner: reference("Practitioner", profile.id, Some(display_name(profile))),
        organization: reference(
            "Organization",
            location_row.clinic_id,
            clinic.map(|c| c.name.clone()),
        ),
        location: vec![reference("Location", location_row.id, location_name)],
        specialty: specialties,
        telecom: location_row
            .phone
            .as_deref()
            .map(phone)
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(opens: &str, closes: &str) -> OpeningInterval {
        OpeningInterval {
            opens: opens.to_owned(),
            closes: closes.to_owned(),
        }
    }

    #[test]
    fn days_sharing_an_interval_share_an_entry_and_midnight_is_the_last_fhir_second() {
        let hours = WeeklyHours {
            mon: vec![interval("09:00", "17:00")],
            tue: vec![interval("09:00", "17:00")],
            sat: vec![interval("10:00", "24:00")],
            sun: vec![interval("00:00", "24:00")],
            ..Default::default()
        };
        let entries = serde_json::to_value(hours_of_operation(&hours)).unwrap();
        assert_eq!(
            entries,
            serde_json::json!([
                {"daysOfWeek": ["sun"], "allDay": true},
                {"daysOfWeek": ["mon", "tue"], "openingTime": "09:00:00", "closingTime": "17:00:00"},
                {"daysOfWeek": ["sat"], "openingTime": "10:00:00", "closingTime": "23:59:59"},
            ])
        );
    }
}
