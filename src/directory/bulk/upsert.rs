//! Each record type's upsert: checked by the API's rules for the same resource, then created,
//! replaced or left alone, by the key the source knows it by.

use super::pending::PlannedProvider;
use super::{changed, Batch, Outcome};
use super::{ClinicRecord, CredentialRecord, LocationRecord, ProviderRecord};
use crate::db::models::NewProvider;
use crate::db::{self, DbConnection};
use crate::directory::{clinics, credentials, locations, providers, DirectoryResult};
use crate::domain::{Checks, SourceType, VerificationStatus, VettingStatus};

impl Batch<'_> {
    pub(super) fn clinic(
        &mut self,
        connection: &mut DbConnection,
        record: ClinicRecord,
    ) -> DirectoryResult<Outcome> {
        let input = record.to_input();
        clinics::check_new(&input)?;
        let row = clinics::new_row(input);
        let (id, outcome) = match self.lookups.clinic(connection, &record.external_id)? {
            Some(existing)
                if existing.name == row.name
                    && existing.website == row.website
                    && existing.phone == row.phone
                    && existing.description == row.description =>
            {
                (existing.id, Outcome::Unchanged)
            }
            Some(existing) => {
                db::bulk::replace_clinic(connection, existing.id, existing.version, &row)?;
                (existing.id, Outcome::Updated)
            }
            None if self.deferring => {
                self.pending.clinics.push((self.line, record, row));
                return Ok(Outcome::Deferred);
            }
            None => (db::clinics::insert(connection, &row)?.id, Outcome::Created),
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.clinics.push(id);
        }
        Ok(outcome)
    }

    pub(super) fn location(
        &mut self,
        connection: &mut DbConnection,
        record: LocationRecord,
    ) -> DirectoryResult<Outcome> {
        let clinic_id = self
            .lookups
            .clinic_id(connection, &record.clinic_external_id)?;
        let input = record.to_input(clinic_id.unwrap_or_default());
        let (mut checks, hours) = locations::check_new(&input);
        if clinic_id.is_none() {
            checks.push(
                "/clinic_external_id",
                "not_found",
                format!("no clinic has external_id `{}`", record.clinic_external_id),
            );
        }
        checks.finish()?;
        let row = locations::new_row(input, hours.unwrap_or_else(|| "{}".to_owned()));
        let existing = self.lookups.location(connection, &record.external_id)?;
        let (id, outcome) = match existing {
            Some(existing) => {
                let same = existing.clinic_id == row.clinic_id
                    && existing.name == row.name
                    && existing.address_line1 == row.address_line1
                    && existing.address_line2 == row.address_line2
                    && existing.city == row.city
                    && existing.state == row.state
                    && existing.postal_code == row.postal_code
                    && existing.country == row.country
                    && existing.latitude == row.latitude
                    && existing.longitude == row.longitude
                    && existing.timezone == row.timezone
                    && existing.opening_hours == row.opening_hours
                    && existing.phone == row.phone
                    && existing.geocode_precision == row.geocode_precision;
                if same {
                    (existing.id, Outcome::Unchanged)
                } else {
                    db::bulk::replace_location(connection, existing.id, existing.version, &row)?;
                    (existing.id, Outcome::Updated)
                }
            }
            None if self.deferring => {
                self.pending.locations.push((self.line, record, row));
                return Ok(Outcome::Deferred);
            }
            None => (
                db::locations::insert(connection, &row)?.id,
                Outcome::Created,
            ),
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.locations.push(id);
        }
        Ok(outcome)
    }

    /// Whether vetting state in the file may be taken: only when a trusted source vouches for
    /// it. Otherwise the record is refused, naming the field.
    fn trusts(&self, checks: &mut Checks, pointer: &str) -> bool {
        if self.options.trusted_source.is_none() {
            checks.push(
                pointer,
                "untrusted_vetting_state",
                "vetting state is imported only with --trusted-source",
            );
            return false;
        }
        true
    }

    pub(super) fn provider(
        &mut self,
        connection: &mut DbConnection,
        record: ProviderRecord,
    ) -> DirectoryResult<Outcome> {
        let specialties = self.lookups.specialties(connection)?;
        let (mut checks, languages) =
            providers::check_new_with(connection, &record.to_input(), Some(&specialties))?;
        let vetting_status = match &record.vetting_status {
            Some(text) if self.trusts(&mut checks, "/vetting_status") => checks.enum_value(
                "/vetting_status",
                text,
                VettingStatus::parse,
                VettingStatus::expected(),
            ),
            _ => None,
        };
        let mut location_ids = Vec::with_capacity(record.location_external_ids.len());
        for (index, external_id) in record.location_external_ids.iter().enumerate() {
            match self.lookups.location_id(connection, external_id)? {
                Some(id) => location_ids.push(id),
                None => checks.push(
                    format!("/location_external_ids/{index}"),
                    "not_found",
                    format!("no location has external_id `{external_id}`"),
                ),
            }
        }
        let known_treatments = match self.known_treatments.take() {
            Some(known) => known,
            None => db::bulk::treatment_codes(connection)?,
        };
        let known_treatments = self.known_treatments.insert(known_treatments);
        for (index, treatment) in record.treatments.iter().enumerate() {
            checks.extend_under(
                &format!("/treatments/{index}"),
                Checks::of(&treatment.to_input()),
            );
            if !known_treatments.contains(&treatment.code) {
                checks.push(
                    format!("/treatments/{index}/code"),
                    "unknown_value",
                    format!("`{}` is not a treatment", treatment.code),
                );
            }
        }
        checks.finish()?;

        let now = db::now();
        let existing = self.lookups.provider(connection, &record.npi)?;
        let status = vetting_status
            .map(|s| s.as_str().to_owned())
            .or_else(|| existing.as_ref().map(|row| row.vetting_status.clone()))
            .unwrap_or_else(|| VettingStatus::Pending.as_str().to_owned());
        let row = NewProvider {
            npi: record.npi.clone(),
            given_name: record.given_name.clone(),
            family_name: record.family_name.clone(),
            degree: Some(record.degree.clone()),
            primary_specialty_code: record.primary_specialty_code.clone(),
            practice_start_year: record.practice_start_year,
            languages: providers::languages_json(&languages),
            accepting_new_patients: record.accepting_new_patients.unwrap_or(true),
            bio: record.bio.clone(),
            vetting_status: status,
            external_id: record.external_id.clone(),
            created_at: now,
            updated_at: now,
            credential_text: existing
                .as_ref()
                .and_then(|row| row.credential_text.clone()),
            date_of_birth: existing.as_ref().and_then(|row| row.date_of_birth),
            source: existing
                .as_ref()
                .map(|row| row.source.clone())
                .unwrap_or_else(|| crate::domain::ProviderSource::Import.as_str().to_owned()),
        };
        let mut specialties = record.other_specialty_codes.clone();
        specialties.sort();
        specialties.dedup();
        let Some(existing) = existing else {
            if self.deferring {
                location_ids.sort_unstable();
                location_ids.dedup();
                let treatments = record
                    .treatments
                    .iter()
                    .map(|t| (t.code.clone(), t.annual_volume))
                    .collect();
                let planned = PlannedProvider {
                    row,
                    specialties,
                    location_ids,
                    treatments,
                };
                self.pending.providers.push((self.line, record, planned));
                return Ok(Outcome::Deferred);
            }
            let id = db::providers::insert(connection, &row, &specialties)?.id;
            self.attach(connection, id, &location_ids, &record)?;
            self.affected.providers.push(id);
            return Ok(Outcome::Created);
        };
        let id = existing.id;
        let same = existing.given_name == row.given_name
            && existing.family_name == row.family_name
            && existing.degree == row.degree
            && existing.primary_specialty_code == row.primary_specialty_code
            && existing.practice_start_year == row.practice_start_year
            && existing.languages == row.languages
            && existing.accepting_new_patients == row.accepting_new_patients
            && existing.bio == row.bio
            && existing.vetting_status == row.vetting_status
            && (row.external_id.is_none() || existing.external_id == row.external_id);
        let mut outcome = if same {
            Outcome::Unchanged
        } else {
            db::providers::lock_for_vetting(connection, id)?;
            db::bulk::replace_provider(connection, id, existing.version, &row)?;
            Outcome::Updated
        };
        // Specialties replace; links and treatments are added. Anything new marks it updated.
        if db::bulk::specialty_codes_of(connection, id)? != specialties {
            db::providers::replace_specialties(connection, id, &specialties)?;
            outcome = changed(outcome);
        }
        if self.attach(connection, id, &location_ids, &record)? {
            outcome = changed(outcome);
        }
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.providers.push(id);
        }
        Ok(outcome)
    }

    /// Adds the record's practice locations and treatments to a provider; true when any was
    /// new or changed.
    fn attach(
        &mut self,
        connection: &mut DbConnection,
        id: i64,
        location_ids: &[i64],
        record: &ProviderRecord,
    ) -> DirectoryResult<bool> {
        let mut changed = false;
        for &location_id in location_ids {
            if db::providers::link_location(connection, id, location_id)? {
                self.affected.locations.push(location_id);
                changed = true;
            }
        }
        for treatment in &record.treatments {
            let current = db::bulk::treatment_volume(connection, id, &treatment.code)?;
            if current != Some(treatment.annual_volume) {
                db::providers::upsert_treatment(
                    connection,
                    id,
                    &treatment.code,
                    treatment.annual_volume,
                )?;
                changed = true;
            }
        }
        Ok(changed)
    }

    pub(super) fn credential(
        &mut self,
        connection: &mut DbConnection,
        record: CredentialRecord,
    ) -> DirectoryResult<Outcome> {
        let specialties = self.lookups.specialties(connection)?;
        let (mut checks, _) =
            credentials::check_new_with(connection, &record.to_input(), Some(&specialties))?;
        let provider_id = self.lookups.provider_id(connection, &record.provider_npi)?;
        if provider_id.is_none() {
            checks.push(
                "/provider_npi",
                "not_found",
                format!("no provider has NPI {}", record.provider_npi),
            );
        }
        let verification = match &record.verification {
            Some(verification) if self.trusts(&mut checks, "/verification") => {
                checks.extend_under("/verification", Checks::of(verification));
                let status = checks.enum_value(
                    "/verification/status",
                    &verification.status,
                    VerificationStatus::parse,
                    VerificationStatus::expected(),
                );
                let source = checks.enum_value(
                    "/verification/source_type",
                    &verification.source_type,
                    SourceType::parse,
                    SourceType::expected(),
                );
                status
                    .zip(source)
                    .map(|(status, source)| (status, source, verification))
            }
            _ => None,
        };
        checks.finish()?;
        let provider_id = provider_id.unwrap_or_default();
        let mut row = credentials::new_row(provider_id, record.to_input());
        if let Some((status, source, v)) = verification {
            row.verification_status = status.as_str().to_owned();
            row.verified_at = Some(v.verified_at);
            row.verification_source_type = Some(source.as_str().to_owned());
            row.verification_reference = Some(v.reference.clone());
            row.next_due_on = v
                .next_due_on
                .or(record.expires_on)
                .or_else(|| Some(v.verified_at.date() + chrono::Months::new(36)));
        }
        let existing = self.lookups.credential(connection, provider_id, &record)?;
        let outcome = match existing {
            Some(existing)
                if existing.jurisdiction == row.jurisdiction
                    && existing.specialty_code == row.specialty_code
                    && existing.issued_on == row.issued_on
                    && existing.expires_on == row.expires_on
                    && (record.verification.is_none()
                        || (existing.verification_status == row.verification_status
                            && existing.verified_at == row.verified_at)) =>
            {
                Outcome::Unchanged
            }
            Some(existing) => {
                // Without imported verification an edited credential goes back to unverified,
                // as it does through the API; the provider is locked as for any credential write.
                db::providers::lock_for_vetting(connection, provider_id)?;
                db::bulk::replace_credential(connection, existing.id, existing.version, &row)?;
                Outcome::Updated
            }
            None if self.deferring => {
                self.pending.credentials.push((self.line, record, row));
                return Ok(Outcome::Deferred);
            }
            None => {
                db::credentials::insert(connection, &row)?;
                Outcome::Created
            }
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.affected.providers.push(provider_id);
        }
        Ok(outcome)
    }
}
