//! What a batch's records read before they write, read ahead: for a run of records, the rows they
//! may replace (by external id, NPI, or a credential's key) and the ids of the rows they refer to
//! (a location's clinic, a provider's locations, a credential's provider), a few hundred keys a
//! statement instead of a few statements per record — on PostgreSQL each of those was a round
//! trip. The rules and the writes are unchanged: only where the answer to "does it exist?" comes
//! from.
//!
//! Why the answers stay right while the batch writes:
//! - a **row** read ahead is handed out once ([`Lookups::clinic`] and the like take it out): the
//!   record that gets it may replace or create that row, so a later record with the same key asks
//!   the database again;
//! - an **id** read ahead stays: a row's id never changes, and a key that was not found is asked
//!   of the database again (an earlier record of the batch may have created it);
//! - the **specialty codes** are read once a batch: an import writes none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::records::{BulkRecord, CredentialRecord};
use super::ParsedRecord;
use crate::db::models::{ClinicRow, CredentialRow, LocationRow, ProviderRow};
use crate::db::{self, DbConnection, DbResult};

/// A credential's key: provider, kind, issuer, identifier.
type CredentialKey = (i64, String, String, Option<String>);

#[derive(Default)]
pub(super) struct Lookups {
    clinics: HashMap<String, Option<ClinicRow>>,
    clinic_ids: HashMap<String, i64>,
    locations: HashMap<String, Option<LocationRow>>,
    location_ids: HashMap<String, i64>,
    providers: HashMap<String, Option<ProviderRow>>,
    provider_ids: HashMap<String, i64>,
    /// The credentials of the providers read ahead, by key; a key handed out is removed, and
    /// one asked again is read from the database.
    credentials: HashMap<CredentialKey, Option<CredentialRow>>,
    specialties: Option<Arc<HashSet<String>>>,
}

impl Lookups {
    /// Reads ahead for `records` (a run of a batch).
    pub fn read(connection: &mut DbConnection, records: &[ParsedRecord]) -> DbResult<Lookups> {
        let mut keys: [Vec<&str>; 6] = Default::default();
        let [clinics, clinic_refs, locations, location_refs, npis, provider_refs] = &mut keys;
        for (_, record) in records {
            match record {
                Ok(BulkRecord::Clinic(r)) => clinics.push(&r.external_id),
                Ok(BulkRecord::Location(r)) => {
                    locations.push(&r.external_id);
                    clinic_refs.push(&r.clinic_external_id);
                }
                Ok(BulkRecord::Provider(r)) => {
                    npis.push(&r.npi);
                    location_refs.extend(r.location_external_ids.iter().map(String::as_str));
                }
                Ok(BulkRecord::Credential(r)) => provider_refs.push(&r.provider_npi),
                Err(_) => {}
            }
        }
        for list in keys.iter_mut() {
            list.sort_unstable();
            list.dedup();
        }
        let [clinics, clinic_refs, locations, location_refs, npis, provider_refs] = &keys;
        let mut lookups = Lookups::default();
        if !clinics.is_empty() {
            lookups.clinics = absent(clinics);
            for row in db::bulk::clinics_by_external_ids(connection, clinics)? {
                if let Some(key) = row.external_id.clone() {
                    lookups.clinics.insert(key, Some(row));
                }
            }
        }
        lookups.clinic_ids = ids(db::bulk::clinic_ids_by_external_ids(
            connection,
            clinic_refs,
        )?);
        if !locations.is_empty() {
            lookups.locations = absent(locations);
            for row in db::bulk::locations_by_external_ids(connection, locations)? {
                if let Some(key) = row.external_id.clone() {
                    lookups.locations.insert(key, Some(row));
                }
            }
        }
        lookups.location_ids = ids(db::bulk::location_ids_by_external_ids(
            connection,
            location_refs,
        )?);
        if !npis.is_empty() {
            lookups.providers = absent(npis);
            for row in db::bulk::providers_by_npis(connection, npis)? {
                lookups.providers.insert(row.npi.clone(), Some(row));
            }
        }
        if !provider_refs.is_empty() {
            let found = db::bulk::provider_ids_by_npis(connection, provider_refs)?;
            let provider_ids: Vec<i64> = found.iter().map(|(_, id)| *id).collect();
            lookups.provider_ids = found.into_iter().collect();
            // Every credential key of the run starts absent; the stored ones replace that.
            for (_, record) in records {
                if let Ok(BulkRecord::Credential(r)) = record {
                    if let Some(&id) = lookups.provider_ids.get(&r.provider_npi) {
                        lookups.credentials.insert(credential_key(id, r), None);
                    }
                }
            }
            for row in db::bulk::credentials_of_providers(connection, &provider_ids)? {
                let key = (
                    row.provider_id,
                    row.kind.clone(),
                    row.issuer.clone(),
                    row.identifier.clone(),
                );
                lookups.credentials.insert(key, Some(row));
            }
        }
        Ok(lookups)
    }

    /// Whether the record's own row is known not to exist (read ahead, not yet handed out): such
    /// a record is checked and held back for a multi-row statement, and writes nothing itself.
    pub fn is_new(&self, record: &BulkRecord) -> bool {
        match record {
            BulkRecord::Clinic(r) => matches!(self.clinics.get(&r.external_id), Some(None)),
            BulkRecord::Location(r) => matches!(self.locations.get(&r.external_id), Some(None)),
            BulkRecord::Provider(r) => matches!(self.providers.get(&r.npi), Some(None)),
            BulkRecord::Credential(r) => {
                self.provider_ids.get(&r.provider_npi).is_some_and(|&id| {
                    matches!(self.credentials.get(&credential_key(id, r)), Some(None))
                })
            }
        }
    }

    /// The specialty codes read by an earlier run of the batch, to keep.
    pub fn take_specialties(&mut self) -> Option<Arc<HashSet<String>>> {
        self.specialties.take()
    }

    pub fn with_specialties(mut self, known: Option<Arc<HashSet<String>>>) -> Lookups {
        self.specialties = known;
        self
    }

    /// The clinic with this external id, if any.
    pub fn clinic(&mut self, c: &mut DbConnection, key: &str) -> DbResult<Option<ClinicRow>> {
        match self.clinics.remove(key) {
            Some(row) => Ok(row),
            None => db::clinics::find_by_external_id(c, key),
        }
    }

    pub fn clinic_id(&mut self, c: &mut DbConnection, key: &str) -> DbResult<Option<i64>> {
        match self.clinic_ids.get(key) {
            Some(&id) => Ok(Some(id)),
            None => db::bulk::clinic_id_by_external_id(c, key),
        }
    }

    pub fn location(&mut self, c: &mut DbConnection, key: &str) -> DbResult<Option<LocationRow>> {
        match self.locations.remove(key) {
            Some(row) => Ok(row),
            None => db::locations::find_by_external_id(c, key),
        }
    }

    pub fn location_id(&mut self, c: &mut DbConnection, key: &str) -> DbResult<Option<i64>> {
        match self.location_ids.get(key) {
            Some(&id) => Ok(Some(id)),
            None => db::bulk::location_id_by_external_id(c, key),
        }
    }

    pub fn provider(&mut self, c: &mut DbConnection, npi: &str) -> DbResult<Option<ProviderRow>> {
        match self.providers.remove(npi) {
            Some(row) => Ok(row),
            None => db::providers::find_by_npi(c, npi),
        }
    }

    pub fn provider_id(&mut self, c: &mut DbConnection, npi: &str) -> DbResult<Option<i64>> {
        match self.provider_ids.get(npi) {
            Some(&id) => Ok(Some(id)),
            None => db::bulk::provider_id_by_npi(c, npi),
        }
    }

    /// The stored credential with the record's key, if any.
    pub fn credential(
        &mut self,
        c: &mut DbConnection,
        provider_id: i64,
        record: &CredentialRecord,
    ) -> DbResult<Option<CredentialRow>> {
        match self
            .credentials
            .remove(&credential_key(provider_id, record))
        {
            Some(row) => Ok(row),
            None => db::credentials::find_same(
                c,
                provider_id,
                &record.kind,
                &record.issuer,
                record.identifier.as_deref(),
            ),
        }
    }

    /// Every specialty code, read once a run.
    pub fn specialties(&mut self, c: &mut DbConnection) -> DbResult<Arc<HashSet<String>>> {
        if let Some(known) = &self.specialties {
            return Ok(known.clone());
        }
        let known = Arc::new(db::bulk::specialty_codes(c)?);
        self.specialties = Some(known.clone());
        Ok(known)
    }
}

fn credential_key(provider_id: i64, record: &CredentialRecord) -> CredentialKey {
    (
        provider_id,
        record.kind.clone(),
        record.issuer.clone(),
        record.identifier.clone(),
    )
}

fn absent<T>(keys: &[&str]) -> HashMap<String, Option<T>> {
    keys.iter().map(|key| ((*key).to_owned(), None)).collect()
}

fn ids(found: Vec<(Option<String>, i64)>) -> HashMap<String, i64> {
    found
        .into_iter()
        .filter_map(|(key, id)| Some((key?, id)))
        .collect()
}
