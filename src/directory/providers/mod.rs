//! Providers: creating, changing and deleting them, where they practise and what they treat.
//! A provider starts `pending`; only the vetting lifecycle (`directory::vetting`) moves it.

mod input;
mod views;

pub use input::{
    check_new, check_new_with, check_patch, languages_json, NewProviderInput, ProviderPatch,
    TreatmentOfferInput,
};
pub use views::{
    admin_view, admin_view_with_listing, public_profile, LocationListing, OfferedTreatment,
    ProviderAdminView, ProviderProfile, PublicCredential,
};

use super::audit::EDITORS;
use super::{check_version, raced, write, Change, DirectoryError, DirectoryResult, Principal};
use super::{AuditAction, AuditEvent, Written};
use crate::db::change_log::Affected;
use crate::db::models::NewProvider;
use crate::db::providers::ProviderChanges;
use crate::db::{self, DbConnection};
use crate::domain::{Checks, FieldError, ParamLocation, ProviderSource, VettingStatus};

/// Screens a provider whose name, NPI or date of birth a write just set (as the service itself,
/// in a write of its own) and returns the view as it now stands: an NPI hit has excluded it.
fn screened(
    connection: &mut DbConnection,
    by: &Principal,
    mut written: Written<ProviderAdminView>,
) -> DirectoryResult<Written<ProviderAdminView>> {
    let system = Principal::system(by.now);
    let id = written.view.id;
    let screening = super::screening::screen(connection, &system, id)?;
    if screening.view.excluded || screening.view.matches_raised > 0 {
        written.view = admin_view(db::providers::get_record(connection, id)?);
        written
            .affected
            .providers
            .extend(screening.affected.providers);
    }
    Ok(written)
}

/// Adds a provider. It starts `pending` and stays out of public view until a reviewer verifies
/// it.
pub fn create(
    connection: &mut DbConnection,
    by: &Principal,
    input: NewProviderInput,
) -> DirectoryResult<Written<ProviderAdminView>> {
    by.require(EDITORS)?;
    let written = write(connection, by, |c| {
        let (checks, languages) = check_new(c, &input)?;
        checks.finish()?;
        let now = db::now();
        let row = db::providers::insert(
            c,
            &NewProvider {
                npi: input.npi,
                given_name: input.given_name,
                family_name: input.family_name,
                degree: Some(input.degree),
                primary_specialty_code: input.primary_specialty_code,
                practice_start_year: input.practice_start_year,
                languages: languages_json(&languages),
                accepting_new_patients: input.accepting_new_patients.unwrap_or(true),
                bio: input.bio,
                vetting_status: VettingStatus::Pending.as_str().to_owned(),
                external_id: input.external_id,
                created_at: now,
                updated_at: now,
                credential_text: None,
                date_of_birth: input.date_of_birth,
                source: ProviderSource::Manual.as_str().to_owned(),
            },
            &input.other_specialty_codes,
        )?;
        let view = admin_view(db::providers::record(c, row)?);
        let event = AuditEvent::of(AuditAction::ProviderCreate, view.id).after(&view);
        let affected = Affected::provider(view.id);
        Ok(Change::new(view, event, affected))
    })?;
    screened(connection, by, written)
}

/// Changes the details sent, at the version the writer expects.
pub fn update(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
    patch: ProviderPatch,
) -> DirectoryResult<Written<ProviderAdminView>> {
    by.require(EDITORS)?;
    let screen_again = patch.npi.is_some()
        || patch.given_name.is_some()
        || patch.family_name.is_some()
        || patch.date_of_birth.is_some();
    let written = write(connection, by, |c| {
        let before = admin_view(db::providers::get_record(c, id)?);
        check_patch(c, &patch)?.finish()?;
        let expected = expected_version.ok_or(DirectoryError::VersionRequired)?;
        check_version(expected, before.version)?;
        let changes = ProviderChanges {
            npi: patch.npi,
            given_name: patch.given_name,
            family_name: patch.family_name,
            degree: patch.degree,
            primary_specialty_code: patch.primary_specialty_code,
            practice_start_year: patch.practice_start_year,
            languages: patch.languages.as_deref().map(languages_json),
            accepting_new_patients: patch.accepting_new_patients,
            bio: patch.bio,
            external_id: patch.external_id,
            date_of_birth: patch.date_of_birth,
        };
        let row =
            db::providers::update(c, id, expected, &changes)?.ok_or_else(|| raced(expected))?;
        if let Some(codes) = &patch.other_specialty_codes {
            db::providers::replace_specialties(c, id, codes)?;
        }
        let after = admin_view(db::providers::record(c, row)?);
        let event = AuditEvent::of(AuditAction::ProviderUpdate, id)
            .before(&before)
            .after(&after);
        Ok(Change::new(after, event, Affected::provider(id)))
    })?;
    if screen_again {
        screened(connection, by, written)
    } else {
        Ok(written)
    }
}

/// Deletes a provider with its credentials, location links and treatments; with an expected
/// version, only at that version.
pub fn delete(
    connection: &mut DbConnection,
    by: &Principal,
    id: i64,
    expected_version: Option<i64>,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let before = admin_view(db::providers::get_record(c, id)?);
        if let Some(expected) = expected_version {
            check_version(expected, before.version)?;
        }
        if !db::providers::delete(c, id, before.version)? {
            return Err(raced(before.version));
        }
        let affected = Affected {
            providers: vec![id],
            locations: before.location_ids.clone(),
            ..Default::default()
        };
        let event = AuditEvent::of(AuditAction::ProviderDelete, id).before(&before);
        Ok(Change::new((), event, affected))
    })
}

fn link(provider_id: i64, location_id: i64) -> serde_json::Value {
    serde_json::json!({"provider_id": provider_id, "location_id": location_id})
}

/// Says that a provider practises at a location. Linking twice changes nothing.
pub fn link_location(
    connection: &mut DbConnection,
    by: &Principal,
    provider_id: i64,
    location_id: i64,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        db::providers::get(c, provider_id)?;
        db::locations::get(c, location_id)?;
        if !db::providers::link_location(c, provider_id, location_id)? {
            return Ok(Change::unchanged(()));
        }
        let event = AuditEvent::of(AuditAction::ProviderLinkLocation, provider_id)
            .after(&link(provider_id, location_id));
        Ok(Change::new((), event, Affected::location(location_id)))
    })
}

/// Removes a provider from a location; both stay.
pub fn unlink_location(
    connection: &mut DbConnection,
    by: &Principal,
    provider_id: i64,
    location_id: i64,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        if !db::providers::unlink_location(c, provider_id, location_id)? {
            return Err(DirectoryError::not_found(
                "provider location link",
                format!("{provider_id}/{location_id}"),
            ));
        }
        let event = AuditEvent::of(AuditAction::ProviderUnlinkLocation, provider_id)
            .before(&link(provider_id, location_id));
        Ok(Change::new((), event, Affected::location(location_id)))
    })
}

/// Says that a provider offers a treatment, with its yearly volume when known; a second call
/// replaces the volume.
pub fn set_treatment(
    connection: &mut DbConnection,
    by: &Principal,
    provider_id: i64,
    code: String,
    input: TreatmentOfferInput,
) -> DirectoryResult<Written<OfferedTreatment>> {
    by.require(EDITORS)?;
    Checks::of(&input).finish()?;
    write(connection, by, |c| {
        db::providers::get(c, provider_id)?;
        if !db::providers::treatment_exists(c, &code)? {
            return Err(FieldError::new(
                ParamLocation::Path,
                "/code",
                "unknown_value",
                format!("`{code}` is not a treatment in GET /v1/treatments"),
            )
            .into());
        }
        let before =
            db::providers::find_treatment(c, provider_id, &code)?.map(OfferedTreatment::from);
        let mut after = OfferedTreatment::from(db::providers::upsert_treatment(
            c,
            provider_id,
            &code,
            input.annual_volume,
        )?);
        after.label_status = db::taxonomy::treatments(c)?
            .into_iter()
            .find(|(row, _)| row.code == code)
            .and_then(|(row, _)| crate::domain::LabelStatus::parse(&row.label_status));
        let mut event =
            AuditEvent::of(AuditAction::ProviderSetTreatment, provider_id).after(&after);
        if let Some(before) = &before {
            event = event.before(before);
        }
        Ok(Change::new(after, event, Affected::provider(provider_id)))
    })
}

/// Stops listing a treatment for a provider; search for it no longer finds them.
pub fn remove_treatment(
    connection: &mut DbConnection,
    by: &Principal,
    provider_id: i64,
    code: String,
) -> DirectoryResult<Written<()>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let before = db::providers::find_treatment(c, provider_id, &code)?
            .map(OfferedTreatment::from)
            .ok_or_else(|| {
                DirectoryError::not_found("provider treatment", format!("{provider_id}/{code}"))
            })?;
        db::providers::remove_treatment(c, provider_id, &code)?;
        let event =
            AuditEvent::of(AuditAction::ProviderRemoveTreatment, provider_id).before(&before);
        Ok(Change::new((), event, Affected::provider(provider_id)))
    })
}
