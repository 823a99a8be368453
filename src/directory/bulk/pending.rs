//! New rows held back to be written with one multi-row statement per few hundred: a bulk load is
//! mostly inserts, and a statement per row spends most of its time preparing SQL. Only rows of
//! one record type wait at a time (a record of another type may refer to them), and a record
//! repeating a waiting one's key waits until they are written (it is then an update).

use std::collections::HashSet;

use super::records::{BulkRecord, ClinicRecord, CredentialRecord, LocationRecord, ProviderRecord};
use crate::db::bulk::NewProviderBundle;
use crate::db::change_log::Affected;
use crate::db::models::{NewClinic, NewCredential, NewLocation, NewProvider};
use crate::db::{self, DbConnection, DbResult};

/// A new provider, checked, with what is attached to it.
pub(super) struct PlannedProvider {
    pub row: NewProvider,
    /// Sorted, without repeats.
    pub specialties: Vec<String>,
    /// Sorted, without repeats.
    pub location_ids: Vec<i64>,
    pub treatments: Vec<(String, Option<i32>)>,
}

/// The rows held, each with its line and record (to replay it alone if its statement fails).
#[derive(Default)]
pub(super) struct Pending {
    pub clinics: Vec<(usize, ClinicRecord, NewClinic)>,
    pub locations: Vec<(usize, LocationRecord, NewLocation)>,
    pub credentials: Vec<(usize, CredentialRecord, NewCredential)>,
    pub providers: Vec<(usize, ProviderRecord, PlannedProvider)>,
    pub keys: HashSet<String>,
}

impl Pending {
    pub fn len(&self) -> usize {
        self.clinics.len() + self.locations.len() + self.credentials.len() + self.providers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `record` must wait until the rows held are written.
    pub fn must_flush_before(&self, record: &BulkRecord) -> bool {
        let held_of_type = match record {
            BulkRecord::Clinic(_) => self.clinics.len(),
            BulkRecord::Location(_) => self.locations.len(),
            BulkRecord::Credential(_) => self.credentials.len(),
            BulkRecord::Provider(_) => self.providers.len(),
        };
        held_of_type != self.len() || self.keys.contains(&record.key())
    }

    /// Writes the rows held; the clinics and locations created, and the providers created or
    /// given credentials (with the locations they were linked to).
    pub fn insert(&self, connection: &mut DbConnection) -> DbResult<Affected> {
        let mut affected = Affected::default();
        let clinics: Vec<&NewClinic> = self.clinics.iter().map(|(_, _, row)| row).collect();
        affected
            .clinics
            .extend(db::bulk::insert_clinics(connection, &clinics)?);
        let locations: Vec<&NewLocation> = self.locations.iter().map(|(_, _, row)| row).collect();
        affected
            .locations
            .extend(db::bulk::insert_locations(connection, &locations)?);
        let credentials: Vec<&NewCredential> =
            self.credentials.iter().map(|(_, _, row)| row).collect();
        db::bulk::insert_credentials(connection, &credentials)?;
        affected
            .providers
            .extend(credentials.iter().map(|row| row.provider_id));
        let bundles: Vec<NewProviderBundle<'_>> = self
            .providers
            .iter()
            .map(|(_, _, planned)| NewProviderBundle {
                provider: &planned.row,
                specialty_codes: &planned.specialties,
                location_ids: &planned.location_ids,
                treatments: &planned.treatments,
            })
            .collect();
        let ids = db::bulk::insert_providers(connection, &bundles, db::now())?;
        affected.providers.extend(ids);
        for (_, _, planned) in &self.providers {
            affected.locations.extend(&planned.location_ids);
        }
        Ok(affected)
    }

    /// The records held, in file order.
    pub fn into_records(self) -> Vec<(usize, BulkRecord)> {
        let mut records: Vec<(usize, BulkRecord)> = self
            .clinics
            .into_iter()
            .map(|(line, record, _)| (line, BulkRecord::Clinic(record)))
            .chain(
                self.locations
                    .into_iter()
                    .map(|(line, record, _)| (line, BulkRecord::Location(record))),
            )
            .chain(
                self.credentials
                    .into_iter()
                    .map(|(line, record, _)| (line, BulkRecord::Credential(record))),
            )
            .chain(
                self.providers
                    .into_iter()
                    .map(|(line, record, _)| (line, BulkRecord::Provider(record))),
            )
            .collect();
        records.sort_by_key(|(line, _)| *line);
        records
    }
}
