//! The same dataset as an import file, for `clinic-finder generate` and the benchmarks.

use super::generator::generate;
use super::DemoSummary;

/// Writes the dataset for `providers` and `seed` as NDJSON in the format `clinic-finder import`
/// reads (clinics, then locations, then providers, then credentials), with external ids
/// `C{n}`/`L{n}`. Vetting state is included: import it with `--trusted-source`.
pub fn write_import_file(
    mut output: impl std::io::Write,
    providers: usize,
    locations: Option<usize>,
    seed: u64,
) -> std::io::Result<DemoSummary> {
    let dataset =
        generate(providers, locations, seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut summary = DemoSummary {
        clinics: dataset.clinics.len(),
        locations: dataset.locations.len(),
        providers: dataset.providers.len(),
        credentials: 0,
    };
    let mut line = |value: serde_json::Value| -> std::io::Result<()> {
        serde_json::to_writer(&mut output, &value)?;
        output.write_all(b"\n")
    };
    for (index, clinic) in dataset.clinics.iter().enumerate() {
        let row = &clinic.row;
        line(serde_json::json!({
            "type": "clinic", "external_id": format!("C{index}"), "name": row.name,
            "website": row.website, "phone": row.phone, "description": row.description,
        }))?;
    }
    for (index, location) in dataset.locations.iter().enumerate() {
        let row = &location.row;
        let hours: serde_json::Value = serde_json::from_str(&row.opening_hours).unwrap_or_default();
        line(serde_json::json!({
            "type": "location", "external_id": format!("L{index}"), "clinic_external_id": format!("C{}", location.clinic_index),
            "name": row.name, "address_line1": row.address_line1, "address_line2": row.address_line2, "city": row.city,
            "state": row.state, "postal_code": row.postal_code, "country": row.country, "latitude": row.latitude,
            "longitude": row.longitude, "timezone": row.timezone, "opening_hours": hours, "phone": row.phone,
        }))?;
    }
    for provider in &dataset.providers {
        let row = &provider.row;
        let languages: serde_json::Value = serde_json::from_str(&row.languages).unwrap_or_default();
        let treatments: Vec<serde_json::Value> = provider
            .treatments
            .iter()
            .map(|(code, volume)| serde_json::json!({"code": code, "annual_volume": volume}))
            .collect();
        line(serde_json::json!({
            "type": "provider", "npi": row.npi, "given_name": row.given_name, "family_name": row.family_name,
            "degree": row.degree, "primary_specialty_code": row.primary_specialty_code,
            "other_specialty_codes": provider.secondary_specialties, "practice_start_year": row.practice_start_year,
            "languages": languages, "accepting_new_patients": row.accepting_new_patients, "bio": row.bio,
            "vetting_status": row.vetting_status,
            "location_external_ids": provider.location_indexes.iter().map(|i| format!("L{i}")).collect::<Vec<_>>(),
            "treatments": treatments,
        }))?;
    }
    for provider in &dataset.providers {
        for (position, credential) in provider.credentials.iter().enumerate() {
            summary.credentials += 1;
            // The importer recognises a credential by (provider, kind, issuer, identifier): give
            // the ones without an identifier a stable one so that a re-import matches them.
            let identifier = credential
                .identifier
                .clone()
                .unwrap_or_else(|| format!("{}-{position}", credential.kind));
            let mut record = serde_json::json!({
                "type": "credential", "provider_npi": provider.row.npi, "kind": credential.kind, "issuer": credential.issuer,
                "identifier": identifier, "jurisdiction": credential.jurisdiction,
                "specialty_code": credential.specialty_code, "issued_on": credential.issued_on, "expires_on": credential.expires_on,
            });
            if let (Some(verified_at), Some(source)) =
                (credential.verified_at, &credential.verification_source_type)
            {
                record["verification"] = serde_json::json!({
                    "status": credential.verification_status, "verified_at": verified_at, "source_type": source,
                    "reference": credential.verification_reference.clone().unwrap_or_else(|| "demo".to_owned()),
                    "next_due_on": credential.next_due_on,
                });
            }
            line(record)?;
        }
    }
    Ok(summary)
}
