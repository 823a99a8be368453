//! Clinics: the practices that run one or more locations.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::audit::EDITORS;
use super::{check_version, raced, write, Change, DirectoryError, DirectoryResult, Principal};
use super::{AuditAction, AuditEvent, Written};
use crate::db::change_log::Affected;
use crate::db::clinics::ClinicChanges;
use crate::db::models::{ClinicRow, NewClinic};
use crate::db::{self, DbConnection, DbResult};
use crate::domain::schemas::{Id, Timestamp};
use crate::domain::{Checks, Invalid};

/// A clinic: the practice that runs one or more locations.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "name": "Midtown Neurology & Headache Center", "website": "https://example-midtown-neuro.com",
    "phone": "+1-212-555-0142", "description": "Headache medicine and movement disorders.", "location_ids": [11, 12],
    "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:00:00Z", "version": 1}))]
pub struct ClinicView {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 500,
        format = "uri",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
    )]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub description: Option<String>,
    /// The importer's key for this clinic, when it came from an import.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<String>,
    /// The clinic's locations.
    #[schema(value_type = Vec<Id>, inline)]
    pub location_ids: Vec<i64>,
    /// UTC.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub created_at: NaiveDateTime,
    /// UTC.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub updated_at: NaiveDateTime,
    /// Increases with every change; send it back in `If-Match` to update.
    #[schema(value_type = Id, inline)]
    pub version: i64,
}

impl ClinicView {
    pub fn new(row: ClinicRow, location_ids: Vec<i64>) -> ClinicView {
        ClinicView {
            id: row.id,
            name: row.name,
            website: row.website,
            phone: row.phone,
            description: row.description,
            external_id: row.external_id,
            location_ids,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A new clinic.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Midtown Neurology & Headache Center", "website": "https://example-midtown-neuro.com", "phone": "+1-212-555-0142"}))]
pub struct NewClinicInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: String,
    #[validate(
        url,
        custom(function = "crate::domain::validation::http_url"),
        length(max = 500)
    )]
    #[schema(
        max_length = 500,
        format = "uri",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
    )]
    pub website: Option<String>,
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub description: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<String>,
}

/// Changes to a clinic: absent fields stay as they are; `null` clears an optional field.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+1-212-555-0199", "description": null}))]
pub struct ClinicPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00]*$")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(
        url,
        custom(function = "crate::domain::validation::http_url"),
        length(max = 500)
    )]
    #[schema(
        max_length = 500,
        format = "uri",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
    )]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 3, max = 40))]
    #[schema(min_length = 3, max_length = 40, pattern = "^[^\\x00]*$")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000, pattern = "^[^\\x00]*$")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::patch::nullable")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00]*$")]
    pub external_id: Option<Option<String>>,
}

/// A clinic with the ids of its locations.
pub fn view(connection: &mut DbConnection, row: ClinicRow) -> DbResult<ClinicView> {
    let location_ids = db::clinics::location_ids(connection, row.id)?;
    Ok(ClinicView::new(row, location_ids))
}

/// The rules for a new clinic (the importer applies them to every clinic record too).
pub fn check_new(input: &NewClinicInput) -> Result<(), Invalid> {
    Checks::of(input).finish()
}

/// The row a valid new clinic becomes.
pub(crate) fn new_row(input: NewClinicInput) -> NewClinic {
    let now = db::now();
    NewClinic {
        name: input.name,
        website: input.website,
        phone: input.phone,
        description: input.description,
        external_id: input.external_id,
        created_at: now,
        updated_at: now,
    }
}

/// Adds a clinic.
pub fn create(
    connection: &mut DbConnection,
    by: &Principal,
    input: NewClinicInput,
) -> DirectoryResult<Written<ClinicView>> {
    by.require(EDITORS)?;
    check_new(&input)?;
    let new = new_row(input);
    write(connection, by, |c| {
        let row = db::clinics::insert(c, &new)?;
        let clinic = view(c, row)?;
        let event = AuditEvent::of(AuditAction::ClinicCreate, clinic.id).after(&clinic);
        let affected = Affected::clinic(clinic.id);
        Ok(Change::new(clinic, event, affected))
    })
}

/// Changes the fields sent, at the version the writer expects.
pub fn update(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
    patch: ClinicPatch,
) -> DirectoryResult<Written<ClinicView>> {
    by.require(EDITORS)?;
    Checks::of(&patch).finish()?;
    let expected = expected_version.ok_or(DirectoryError::VersionRequired)?;
    let changes = ClinicChanges {
        name: patch.name,
        website: patch.website,
        phone: patch.phone,
        description: patch.description,
        external_id: patch.external_id,
    };
    write(connection, by, |c| {
        let row = db::clinics::get(c, id)?;
        check_version(expected, row.version)?;
        let before = view(c, row)?;
        let row = db::clinics::update(c, id, expected, &changes)?.ok_or_else(|| raced(expected))?;
        let after = view(c, row)?;
        let event = AuditEvent::of(AuditAction::ClinicUpdate, id)
            .before(&before)
            .after(&after);
        Ok(Change::new(after, event, Affected::clinic(id)))
    })
}

/// Deletes a clinic and its locations (the providers' links to them go too); with an expected
/// version, only at that version.
pub fn delete(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let row = db::clinics::get(c, id)?;
        let version = row.version;
        if let Some(expected) = expected_version {
            check_version(expected, version)?;
        }
        let before = view(c, row)?;
        if !db::clinics::delete(c, id, version)? {
            return Err(raced(version));
        }
        let event = AuditEvent::of(AuditAction::ClinicDelete, id).before(&before);
        let affected = Affected {
            exclusion_sources: Vec::new(),
            clinics: vec![id],
            locations: before.location_ids,
            providers: vec![],
        };
        Ok(Change::new((), event, affected))
    })
}
