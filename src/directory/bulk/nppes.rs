//! NPPES records through the directory: individuals become pending providers (never more: an
//! import does not advance vetting), organisations clinics, and each practice location a
//! location, shared by every provider at the same normalised address and ZIP code. Licences are
//! recorded as unverified state licences, self-reported: NPPES never counts as verification.
//!
//! A batch is one write (one `import.batch` audit event, its change-log rows). An NPI that NPPES
//! deactivated suspends its provider, and a later reactivation returns it to `pending`: each of
//! those is a write of its own, audited as a lifecycle move with the reason. `nppes_npis`
//! remembers each NPI's Last Update Date, so the same file again changes nothing and only a newer
//! row updates.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::Connection;
use sha2::{Digest, Sha256};

use super::super::audit::EDITORS;
use super::super::vetting;
use super::super::{
    clinics, credentials, locations, write, AuditAction, AuditEvent, Change, DirectoryError,
    DirectoryResult, Principal,
};
use crate::db::change_log::Affected;
use crate::db::models::{NewProvider, NppesNpiRow};
use crate::db::nppes::ProviderIdentity;
use crate::db::{self, DbConnection};
use crate::domain::{Coordinates, Degree, FieldError, Invalid, Npi, ProviderSource, VettingStatus};

/// Who issued an NPPES licence, as far as NPPES says: the provider, about themselves.
pub const NPPES_LICENCE_ISSUER: &str = "NPPES (self-reported)";

/// A practice location, placed at its ZIP code's centroid.
#[derive(Debug, Clone, PartialEq)]
pub struct NppesPlace {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    /// Five digits.
    pub postal_code: String,
    pub phone: Option<String>,
    pub coordinates: Coordinates,
    pub timezone: String,
}

/// USPS abbreviations, so "123 Main Street, Suite 4" and "123 MAIN ST STE 4" are one address.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("STREET", "ST"),
    ("AVENUE", "AVE"),
    ("ROAD", "RD"),
    ("BOULEVARD", "BLVD"),
    ("DRIVE", "DR"),
    ("LANE", "LN"),
    ("COURT", "CT"),
    ("PLACE", "PL"),
    ("PARKWAY", "PKWY"),
    ("HIGHWAY", "HWY"),
    ("SUITE", "STE"),
    ("FLOOR", "FL"),
    ("BUILDING", "BLDG"),
    ("NORTH", "N"),
    ("SOUTH", "S"),
    ("EAST", "E"),
    ("WEST", "W"),
];

impl NppesPlace {
    /// The address as compared: upper case, words of letters and digits, USPS abbreviations,
    /// and the ZIP code.
    pub fn normalised(&self) -> String {
        let text = format!("{} {}", self.line1, self.line2.as_deref().unwrap_or(""));
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let upper = w.to_uppercase();
                ABBREVIATIONS
                    .iter()
                    .find(|(long, _)| *long == upper)
                    .map(|(_, short)| (*short).to_owned())
                    .unwrap_or(upper)
            })
            .filter(|w| w != "#")
            .collect();
        format!("{}|{}", words.join(" "), self.postal_code)
    }

    /// The location's external id: co-located providers share it.
    pub fn external_id(&self) -> String {
        let digest = Sha256::digest(self.normalised().as_bytes());
        format!("nppes:site:{}", &hex::encode(digest)[..24])
    }

    /// A readable name for the placeholder clinic of an address no organisation claims.
    fn placeholder_name(&self) -> String {
        format!(
            "Practice at {}, {}",
            title_case(&self.line1),
            title_case(&self.city)
        )
    }
}

fn title_case(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, PartialEq)]
pub struct NppesLicence {
    pub number: String,
    pub state: String,
}

/// An individual (entity type 1).
#[derive(Debug, Clone, PartialEq)]
pub struct NppesIndividual {
    pub npi: String,
    pub last_update_on: Option<NaiveDate>,
    pub reactivated_on: Option<NaiveDate>,
    pub given_name: String,
    pub middle_name: Option<String>,
    pub family_name: String,
    /// `None` when the credential text names no degree (it is kept as written).
    pub degree: Option<Degree>,
    pub credential_text: Option<String>,
    pub primary_taxonomy: String,
    pub other_taxonomies: Vec<String>,
    pub licences: Vec<NppesLicence>,
    pub practice: NppesPlace,
}

/// An organisation (entity type 2).
#[derive(Debug, Clone, PartialEq)]
pub struct NppesOrganisation {
    pub npi: String,
    pub last_update_on: Option<NaiveDate>,
    pub reactivated_on: Option<NaiveDate>,
    pub name: String,
    pub taxonomies: Vec<String>,
    pub practice: NppesPlace,
}

/// One row of the NPPES file that passed the filter.
#[derive(Debug, Clone, PartialEq)]
pub enum NppesRecord {
    Individual(NppesIndividual),
    Organisation(NppesOrganisation),
    /// CMS writes a deactivated NPI as a row with only the NPI and the date.
    Deactivated {
        npi: String,
        deactivated_on: NaiveDate,
    },
}

impl NppesRecord {
    pub fn npi(&self) -> &str {
        match self {
            NppesRecord::Individual(r) => &r.npi,
            NppesRecord::Organisation(r) => &r.npi,
            NppesRecord::Deactivated { npi, .. } => npi,
        }
    }

    /// What `nppes_npis` keeps of it.
    fn seen(&self, previous: Option<&NppesNpiRow>) -> NppesNpiRow {
        let (entity_type, last_update_on, deactivated_on, reactivated_on) = match self {
            NppesRecord::Individual(r) => (Some(1), r.last_update_on, None, r.reactivated_on),
            NppesRecord::Organisation(r) => (Some(2), r.last_update_on, None, r.reactivated_on),
            NppesRecord::Deactivated { deactivated_on, .. } => (
                previous.and_then(|p| p.entity_type),
                previous.and_then(|p| p.last_update_on),
                Some(*deactivated_on),
                None,
            ),
        };
        NppesNpiRow {
            npi: self.npi().to_owned(),
            entity_type,
            last_update_on,
            // A reactivated NPI's row no longer carries the deactivation: remember it, so that
            // the reactivation is recognised (and applied once).
            deactivated_on: deactivated_on.or(previous.and_then(|p| p.deactivated_on)),
            reactivated_on,
            seen_at: db::now(),
        }
    }
}

/// A row the directory refused, with its line.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: String,
}

/// What an NPPES import did, summed over its batches.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NppesReport {
    pub records: usize,
    pub providers_created: usize,
    pub providers_updated: usize,
    pub clinics_created: usize,
    pub clinics_updated: usize,
    pub locations_created: usize,
    pub unchanged: usize,
    pub deactivated: usize,
    pub reactivated: usize,
    pub rejected: Vec<RejectedRow>,
}

/// What applying one record did.
#[derive(Debug, Default)]
struct Applied {
    provider_created: bool,
    provider_updated: bool,
    clinic_created: bool,
    clinic_updated: bool,
    locations_created: usize,
}

impl Applied {
    fn changed(&self) -> bool {
        self.provider_created
            || self.provider_updated
            || self.clinic_created
            || self.clinic_updated
            || self.locations_created > 0
    }
}

/// A lifecycle move an NPPES row calls for: written on its own, after the batch.
struct Move {
    line: u64,
    record: NppesRecord,
}

/// One batch's work: what it read once, and what it touched.
struct Batch {
    known_specialties: HashSet<String>,
    sites: HashMap<String, i64>,
    affected: Affected,
}

fn invalid(reason: impl Into<String>) -> DirectoryError {
    DirectoryError::Invalid(Invalid(vec![FieldError::body("", "invalid_row", reason)]))
}

fn check_npi(npi: &str) -> DirectoryResult<()> {
    Npi::parse(npi)
        .map(|_| ())
        .map_err(|e| invalid(format!("NPI `{npi}`: {}", e.detail())))
}

impl Batch {
    fn new(connection: &mut DbConnection) -> DirectoryResult<Batch> {
        Ok(Batch {
            known_specialties: db::taxonomy::specialties(connection)?
                .into_iter()
                .map(|row| row.code)
                .collect(),
            sites: HashMap::new(),
            affected: Affected::default(),
        })
    }

    /// The location at this address (created when new, under `clinic_id` or a placeholder
    /// clinic); an organisation takes over an address's placeholder clinic.
    fn site(
        &mut self,
        connection: &mut DbConnection,
        place: &NppesPlace,
        organisation_clinic: Option<i64>,
        applied: &mut Applied,
    ) -> DirectoryResult<i64> {
        let external_id = place.external_id();
        let existing = match self.sites.get(&external_id) {
            Some(&id) => db::locations::find(connection, id)?,
            None => db::locations::find_by_external_id(connection, &external_id)?,
        };
        if let Some(location) = existing {
            self.sites.insert(external_id, location.id);
            if let Some(clinic_id) = organisation_clinic.filter(|id| *id != location.clinic_id) {
                let current = db::clinics::get(connection, location.clinic_id)?;
                if current
                    .external_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("nppes:site:"))
                {
                    db::nppes::move_location(connection, location.id, clinic_id, db::now())?;
                    self.affected.locations.push(location.id);
                }
            }
            return Ok(location.id);
        }
        let clinic_id = match organisation_clinic {
            Some(id) => id,
            None => {
                let clinic_external_id = external_id.clone();
                match db::clinics::find_by_external_id(connection, &clinic_external_id)? {
                    Some(clinic) => clinic.id,
                    None => {
                        let input = clinics::NewClinicInput {
                            name: place.placeholder_name(),
                            website: None,
                            phone: place.phone.clone(),
                            description: Some(
                                "Created by an NPPES import for the providers at this address"
                                    .to_owned(),
                            ),
                            external_id: Some(clinic_external_id),
                        };
                        clinics::check_new(&input)?;
                        let id = db::clinics::insert(connection, &clinics::new_row(input))?.id;
                        self.affected.clinics.push(id);
                        id
                    }
                }
            }
        };
        let input = locations::NewLocationInput {
            clinic_id,
            name: None,
            address_line1: place.line1.clone(),
            address_line2: place.line2.clone(),
            city: place.city.clone(),
            state: place.state.clone(),
            postal_code: place.postal_code.clone(),
            country: Some("US".to_owned()),
            latitude: place.coordinates.lat,
            longitude: place.coordinates.lon,
            timezone: place.timezone.clone(),
            opening_hours: Default::default(),
            phone: place.phone.clone(),
            external_id: Some(external_id.clone()),
            geocode_precision: Some("postal_code".to_owned()),
        };
        let (checks, hours) = locations::check_new(&input);
        checks.finish()?;
        let row = locations::new_row(input, hours.unwrap_or_else(|| "{}".to_owned()));
        let id = db::locations::insert(connection, &row)?.id;
        self.sites.insert(external_id, id);
        self.affected.locations.push(id);
        applied.locations_created += 1;
        Ok(id)
    }

    fn individual(
        &mut self,
        connection: &mut DbConnection,
        record: &NppesIndividual,
    ) -> DirectoryResult<Applied> {
        check_npi(&record.npi)?;
        for (name, value) in [
            ("first name", &record.given_name),
            ("last name", &record.family_name),
        ] {
            if value.is_empty() || value.chars().count() > 100 {
                return Err(invalid(format!("the {name} is empty or longer than 100")));
            }
        }
        if !self.known_specialties.contains(&record.primary_taxonomy) {
            return Err(invalid(format!(
                "taxonomy code `{}` is not a known specialty (load the NUCC code set with \
                 import-nucc)",
                record.primary_taxonomy
            )));
        }
        let mut others: Vec<String> = record
            .other_taxonomies
            .iter()
            .filter(|code| self.known_specialties.contains(*code))
            .cloned()
            .collect();
        others.sort();
        others.dedup();
        let credential_text: Option<String> = record
            .credential_text
            .as_ref()
            .map(|text| text.chars().filter(|c| *c != '\0').take(100).collect());
        let degree = record.degree.map(Degree::as_str);
        let mut applied = Applied::default();
        let existing = db::providers::find_by_npi(connection, &record.npi)?;
        // A provider an admin or an import file brought in is theirs: NPPES does not overwrite
        // it (nor add a site for it).
        if existing
            .as_ref()
            .is_some_and(|p| p.source != ProviderSource::Nppes.as_str())
        {
            return Ok(applied);
        }
        let location_id = self.site(connection, &record.practice, None, &mut applied)?;
        let now = db::now();
        let id = match existing {
            None => {
                let row = NewProvider {
                    npi: record.npi.clone(),
                    given_name: record.given_name.clone(),
                    family_name: record.family_name.clone(),
                    degree: degree.map(str::to_owned),
                    primary_specialty_code: record.primary_taxonomy.clone(),
                    practice_start_year: None,
                    languages: "[\"en\"]".to_owned(),
                    accepting_new_patients: true,
                    bio: None,
                    vetting_status: VettingStatus::Pending.as_str().to_owned(),
                    external_id: None,
                    created_at: now,
                    updated_at: now,
                    credential_text,
                    date_of_birth: None,
                    source: ProviderSource::Nppes.as_str().to_owned(),
                };
                // New: the row, its specialties and its location in a statement each (nothing to
                // replace or look up first).
                let bundle = db::bulk::NewProviderBundle {
                    provider: &row,
                    specialty_codes: &others,
                    location_ids: &[location_id],
                    treatments: &[],
                };
                let id = db::bulk::insert_providers(connection, &[bundle], now)?
                    .first()
                    .copied()
                    .ok_or_else(|| invalid("the provider was not stored"))?;
                self.affected.locations.push(location_id);
                applied.provider_created = true;
                id
            }
            Some(existing) => {
                let same = existing.given_name == record.given_name
                    && existing.family_name == record.family_name
                    && existing.degree.as_deref() == degree
                    && existing.credential_text == credential_text
                    && existing.primary_specialty_code == record.primary_taxonomy;
                if !same {
                    let identity = ProviderIdentity {
                        given_name: &record.given_name,
                        family_name: &record.family_name,
                        degree,
                        credential_text: credential_text.as_deref(),
                        primary_specialty_code: &record.primary_taxonomy,
                    };
                    if !db::nppes::update_identity(
                        connection,
                        existing.id,
                        existing.version,
                        &identity,
                        now,
                    )? {
                        return Err(super::super::raced(existing.version));
                    }
                    applied.provider_updated = true;
                }
                if db::bulk::specialty_codes_of(connection, existing.id)? != others {
                    db::providers::replace_specialties(connection, existing.id, &others)?;
                    applied.provider_updated = true;
                }
                // The practice location moved: the old NPPES sites no longer hold the provider.
                for old in db::nppes::nppes_location_ids(connection, existing.id)? {
                    if old != location_id {
                        db::providers::unlink_location(connection, existing.id, old)?;
                        self.affected.locations.push(old);
                        applied.provider_updated = true;
                    }
                }
                existing.id
            }
        };
        if !applied.provider_created && db::providers::link_location(connection, id, location_id)? {
            self.affected.locations.push(location_id);
            applied.provider_updated = true;
        }
        let mut new_licences = Vec::new();
        for licence in &record.licences {
            let input = credentials::NewCredentialInput {
                kind: "state_license".to_owned(),
                issuer: NPPES_LICENCE_ISSUER.to_owned(),
                identifier: Some(licence.number.chars().take(100).collect()),
                jurisdiction: Some(licence.state.clone()),
                specialty_code: None,
                issued_on: None,
                expires_on: None,
            };
            let (checks, _) = credentials::check_new(connection, &input)?;
            if checks.finish().is_err() {
                continue; // a licence state outside the US list: nothing to verify against
            }
            let known = !applied.provider_created
                && db::credentials::find_same(
                    connection,
                    id,
                    "state_license",
                    NPPES_LICENCE_ISSUER,
                    input.identifier.as_deref(),
                )?
                .is_some();
            if !known {
                new_licences.push(credentials::new_row(id, input));
                applied.provider_updated |= !applied.provider_created;
            }
        }
        db::bulk::insert_credentials(connection, &new_licences.iter().collect::<Vec<_>>())?;
        if applied.changed() {
            self.affected.providers.push(id);
        }
        Ok(applied)
    }

    fn organisation(
        &mut self,
        connection: &mut DbConnection,
        record: &NppesOrganisation,
    ) -> DirectoryResult<Applied> {
        check_npi(&record.npi)?;
        let mut applied = Applied::default();
        let input = clinics::NewClinicInput {
            name: record.name.chars().take(200).collect(),
            website: None,
            phone: record.practice.phone.clone(),
            description: Some(format!("Organisation NPI {} (NPPES)", record.npi)),
            external_id: Some(format!("nppes:org:{}", record.npi)),
        };
        clinics::check_new(&input)?;
        let row = clinics::new_row(input);
        let clinic_id = match db::clinics::find_by_external_id(
            connection,
            &format!("nppes:org:{}", record.npi),
        )? {
            Some(existing)
                if existing.name == row.name
                    && existing.phone == row.phone
                    && existing.description == row.description =>
            {
                existing.id
            }
            Some(existing) => {
                db::bulk::replace_clinic(connection, existing.id, existing.version, &row)?;
                self.affected.clinics.push(existing.id);
                applied.clinic_updated = true;
                existing.id
            }
            None => {
                let id = db::clinics::insert(connection, &row)?.id;
                self.affected.clinics.push(id);
                applied.clinic_created = true;
                id
            }
        };
        self.site(connection, &record.practice, Some(clinic_id), &mut applied)?;
        Ok(applied)
    }

    fn apply(
        &mut self,
        connection: &mut DbConnection,
        record: &NppesRecord,
    ) -> DirectoryResult<Applied> {
        match record {
            NppesRecord::Individual(r) => self.individual(connection, r),
            NppesRecord::Organisation(r) => self.organisation(connection, r),
            NppesRecord::Deactivated { npi, .. } => {
                check_npi(npi)?;
                Ok(Applied::default())
            }
        }
    }
}

fn count(report: &mut NppesReport, applied: &Applied) {
    report.providers_created += usize::from(applied.provider_created);
    report.providers_updated += usize::from(applied.provider_updated);
    report.clinics_created += usize::from(applied.clinic_created);
    report.clinics_updated += usize::from(applied.clinic_updated);
    report.locations_created += applied.locations_created;
    if !applied.changed() {
        report.unchanged += 1;
    }
}

/// Whether the row calls for a lifecycle move of a provider we hold: a deactivation of a provider
/// not already suspended or excluded, or the reactivation of one a deactivation suspended.
fn calls_for_move(
    connection: &mut DbConnection,
    record: &NppesRecord,
    stored: Option<&NppesNpiRow>,
) -> DirectoryResult<bool> {
    let reactivation = match record {
        NppesRecord::Deactivated { .. } => false,
        NppesRecord::Individual(r) => {
            match (r.reactivated_on, stored.and_then(|s| s.deactivated_on)) {
                (Some(reactivated), Some(deactivated)) => reactivated >= deactivated,
                _ => return Ok(false),
            }
        }
        NppesRecord::Organisation(_) => return Ok(false),
    };
    let Some(provider) = db::providers::find_by_npi(connection, record.npi())? else {
        return Ok(false);
    };
    let status = VettingStatus::parse(&provider.vetting_status).unwrap_or(VettingStatus::Pending);
    Ok(if reactivation {
        status == VettingStatus::Suspended
    } else {
        vetting::automatic_move_allowed(status, VettingStatus::Suspended)
    })
}

/// Loads a batch of NPPES rows: one write, then a write per lifecycle move.
pub fn load_batch(
    connection: &mut DbConnection,
    by: &Principal,
    file_name: &str,
    rows: Vec<(u64, NppesRecord)>,
    report: &mut NppesReport,
) -> DirectoryResult<()> {
    by.require(EDITORS)?;
    if rows.is_empty() {
        return Ok(());
    }
    let first_line = rows.first().map(|(line, _)| *line).unwrap_or_default();
    let last_line = rows.last().map(|(line, _)| *line).unwrap_or_default();
    let mut moves = Vec::new();
    let mut batch_report = NppesReport::default();
    write(connection, by, |c| {
        let mut batch = Batch::new(c)?;
        for (line, record) in rows {
            batch_report.records += 1;
            let stored = db::nppes::find(c, record.npi())?;
            let seen = record.seen(stored.as_ref());
            let same_as_stored = stored.as_ref().is_some_and(|s| {
                s.entity_type == seen.entity_type
                    && s.last_update_on == seen.last_update_on
                    && s.deactivated_on == seen.deactivated_on
                    && s.reactivated_on == seen.reactivated_on
            });
            let older = match (
                stored.as_ref().and_then(|s| s.last_update_on),
                seen.last_update_on,
            ) {
                (Some(stored), Some(incoming)) => incoming < stored,
                _ => false,
            };
            if same_as_stored || older {
                batch_report.unchanged += 1;
                continue;
            }
            if calls_for_move(c, &record, stored.as_ref())? {
                moves.push(Move { line, record });
                continue;
            }
            let outcome = c.transaction(|c| {
                let applied = batch.apply(c, &record)?;
                if stored.is_some() {
                    db::nppes::upsert(c, &seen)?;
                } else {
                    db::nppes::insert(c, &seen)?;
                }
                Ok::<_, DirectoryError>(applied)
            });
            match outcome {
                Ok(applied) => count(&mut batch_report, &applied),
                Err(DirectoryError::Invalid(Invalid(errors))) => {
                    batch_report.rejected.push(RejectedRow {
                        line,
                        reason: errors
                            .into_iter()
                            .map(|e| {
                                if e.pointer.is_empty() {
                                    e.detail
                                } else {
                                    format!("{} {}", e.pointer, e.detail)
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    })
                }
                Err(DirectoryError::Conflict { detail, .. }) => {
                    batch_report.rejected.push(RejectedRow {
                        line,
                        reason: detail,
                    })
                }
                Err(error) => return Err(error),
            }
        }
        let summary = serde_json::json!({
            "file": file_name,
            "format": "nppes",
            "lines": [first_line, last_line],
            "records": batch_report.records,
            "providers_created": batch_report.providers_created,
            "providers_updated": batch_report.providers_updated,
            "clinics_created": batch_report.clinics_created,
            "locations_created": batch_report.locations_created,
            "unchanged": batch_report.unchanged,
            "rejected": batch_report.rejected.len(),
        });
        let event = AuditEvent::of(AuditAction::ImportBatch, file_name).after(&summary);
        Ok(Change::new((), event, std::mem::take(&mut batch.affected)))
    })?;
    merge(report, batch_report);
    for Move { line, record } in moves {
        match lifecycle(connection, by, &record) {
            Ok(reactivated) => {
                report.records += 1;
                if reactivated {
                    report.reactivated += 1;
                } else {
                    report.deactivated += 1;
                }
            }
            Err(DirectoryError::Invalid(Invalid(errors))) => report.rejected.push(RejectedRow {
                line,
                reason: errors
                    .into_iter()
                    .map(|e| e.detail)
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn merge(total: &mut NppesReport, batch: NppesReport) {
    total.records += batch.records;
    total.providers_created += batch.providers_created;
    total.providers_updated += batch.providers_updated;
    total.clinics_created += batch.clinics_created;
    total.clinics_updated += batch.clinics_updated;
    total.locations_created += batch.locations_created;
    total.unchanged += batch.unchanged;
    total.deactivated += batch.deactivated;
    total.reactivated += batch.reactivated;
    total.rejected.extend(batch.rejected);
}

/// A deactivation (the provider is suspended) or a reactivation (back to `pending`, with the
/// row's details applied), as one write with the lifecycle move's audit event; true for a
/// reactivation.
fn lifecycle(
    connection: &mut DbConnection,
    by: &Principal,
    record: &NppesRecord,
) -> DirectoryResult<bool> {
    let written = write(connection, by, |c| {
        let mut touched = Affected::default();
        let stored = db::nppes::find(c, record.npi())?;
        let seen = record.seen(stored.as_ref());
        let provider = db::providers::find_by_npi(c, record.npi())?
            .ok_or_else(|| DirectoryError::not_found("provider", record.npi()))?;
        let (to, reason, reactivation) = match record {
            NppesRecord::Deactivated { deactivated_on, .. } => (
                VettingStatus::Suspended,
                format!("NPI deactivated on {deactivated_on} (NPPES)"),
                false,
            ),
            NppesRecord::Individual(individual) => {
                let mut batch = Batch::new(c)?;
                batch.individual(c, individual)?;
                touched = batch.affected;
                (
                    VettingStatus::Pending,
                    format!(
                        "NPI reactivated on {} (NPPES)",
                        individual
                            .reactivated_on
                            .map(|d| d.to_string())
                            .unwrap_or_default()
                    ),
                    true,
                )
            }
            NppesRecord::Organisation(_) => {
                return Err(invalid("an organisation has no lifecycle"));
            }
        };
        db::nppes::upsert(c, &seen)?;
        let change =
            vetting::automatic_move(c, provider.id, to, AuditAction::ProviderTransition, reason)?;
        touched.clinics.extend(change.affected.clinics);
        touched.locations.extend(change.affected.locations);
        touched.providers.extend(change.affected.providers);
        Ok(Change {
            view: reactivation,
            event: change.event,
            affected: touched,
        })
    })?;
    Ok(written.view)
}
