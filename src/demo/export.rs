//! The planned dataset as the records of a bulk load: what `seed_demo` loads through the
//! directory, and what `clinic-finder generate` writes as an import file (for `import` and the
//! benchmarks). External ids are `C{n}` for clinics and `L{n}` for locations; vetting state is
//! included, so a load needs a trusted source.

use super::generator::{generate, Dataset};
use super::{DemoError, DemoSummary};
use crate::directory::bulk::{
    BulkRecord, ClinicRecord, CredentialRecord, LocationRecord, ProviderRecord, TreatmentRecord,
    VerificationRecord,
};

/// Every record of `dataset`: clinics, then locations, then providers, then credentials.
pub(super) fn records(dataset: &Dataset) -> impl Iterator<Item = BulkRecord> + '_ {
    let clinics = dataset.clinics.iter().enumerate().map(|(index, clinic)| {
        let row = &clinic.row;
        BulkRecord::Clinic(ClinicRecord {
            external_id: format!("C{index}"),
            name: row.name.clone(),
            website: row.website.clone(),
            phone: row.phone.clone(),
            description: row.description.clone(),
        })
    });
    let locations = dataset
        .locations
        .iter()
        .enumerate()
        .map(|(index, location)| {
            let row = &location.row;
            BulkRecord::Location(LocationRecord {
                external_id: format!("L{index}"),
                clinic_external_id: format!("C{}", location.clinic_index),
                name: row.name.clone(),
                address_line1: row.address_line1.clone(),
                address_line2: row.address_line2.clone(),
                city: row.city.clone(),
                state: row.state.clone(),
                postal_code: row.postal_code.clone(),
                country: Some(row.country.clone()),
                latitude: row.latitude,
                longitude: row.longitude,
                timezone: row.timezone.clone(),
                opening_hours: serde_json::from_str(&row.opening_hours).unwrap_or_default(),
                phone: row.phone.clone(),
            })
        });
    let providers = dataset.providers.iter().map(|provider| {
        let row = &provider.row;
        BulkRecord::Provider(ProviderRecord {
            npi: row.npi.clone(),
            external_id: row.external_id.clone(),
            given_name: row.given_name.clone(),
            family_name: row.family_name.clone(),
            degree: row.degree.clone().unwrap_or_default(),
            primary_specialty_code: row.primary_specialty_code.clone(),
            other_specialty_codes: provider
                .secondary_specialties
                .iter()
                .map(|code| code.to_string())
                .collect(),
            practice_start_year: row.practice_start_year,
            languages: serde_json::from_str(&row.languages).ok(),
            accepting_new_patients: Some(row.accepting_new_patients),
            bio: row.bio.clone(),
            vetting_status: Some(row.vetting_status.clone()),
            location_external_ids: provider
                .location_indexes
                .iter()
                .map(|index| format!("L{index}"))
                .collect(),
            treatments: provider
                .treatments
                .iter()
                .map(|(code, volume)| TreatmentRecord {
                    code: code.to_string(),
                    annual_volume: *volume,
                })
                .collect(),
        })
    });
    let credentials = dataset.providers.iter().flat_map(|provider| {
        provider
            .credentials
            .iter()
            .enumerate()
            .map(|(position, credential)| {
                let verification =
                    match (credential.verified_at, &credential.verification_source_type) {
                        (Some(verified_at), Some(source_type)) => Some(VerificationRecord {
                            status: credential.verification_status.clone(),
                            verified_at,
                            source_type: source_type.clone(),
                            reference: credential
                                .verification_reference
                                .clone()
                                .unwrap_or_else(|| "demo".to_owned()),
                            next_due_on: credential.next_due_on,
                        }),
                        _ => None,
                    };
                BulkRecord::Credential(CredentialRecord {
                    provider_npi: provider.row.npi.clone(),
                    kind: credential.kind.clone(),
                    issuer: credential.issuer.clone(),
                    // A credential is known by (provider, kind, issuer, identifier): those
                    // without an identifier get a stable one, so a second load matches them.
                    identifier: Some(
                        credential
                            .identifier
                            .clone()
                            .unwrap_or_else(|| format!("{}-{position}", credential.kind)),
                    ),
                    jurisdiction: credential.jurisdiction.clone(),
                    specialty_code: credential.specialty_code.clone(),
                    issued_on: credential.issued_on,
                    expires_on: credential.expires_on,
                    verification,
                })
            })
    });
    clinics.chain(locations).chain(providers).chain(credentials)
}

pub(super) fn summary(dataset: &Dataset) -> DemoSummary {
    DemoSummary {
        clinics: dataset.clinics.len(),
        locations: dataset.locations.len(),
        providers: dataset.providers.len(),
        credentials: dataset.providers.iter().map(|p| p.credentials.len()).sum(),
    }
}

/// Writes the dataset for `providers` and `seed` as NDJSON in the format `clinic-finder import`
/// reads.
pub fn write_import_file(
    mut output: impl std::io::Write,
    providers: usize,
    locations: Option<usize>,
    seed: u64,
) -> Result<DemoSummary, DemoError> {
    let dataset = generate(providers, locations, seed)?;
    for record in records(&dataset) {
        serde_json::to_writer(&mut output, &record).map_err(std::io::Error::from)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary(&dataset))
}
