//! The directory's writes called directly, without HTTP, as the importers and the CLI call
//! them: each one leaves its row, exactly one audit event naming who, what and (where there is
//! one) why, and the change-log rows that carry it to every process's search index.

use chrono::Utc;
use clinic_finder::db::models::AuditRow;
use clinic_finder::db::schema::{audit_log, change_log};
use clinic_finder::db::{self, DbConnection, PooledDb};
use clinic_finder::directory::bulk::{self, BulkOptions, BulkRecord, ClinicRecord, ImportReport};
use clinic_finder::directory::clinics::{self, ClinicPatch, NewClinicInput};
use clinic_finder::directory::credentials::{self, CredentialPatch, NewCredentialInput};
use clinic_finder::directory::keys::{self, NewApiKeyInput};
use clinic_finder::directory::locations::{self, LocationPatch, NewLocationInput};
use clinic_finder::directory::providers::TreatmentOfferInput;
use clinic_finder::directory::providers::{self, NewProviderInput, ProviderPatch};
use clinic_finder::directory::vetting::{self, TransitionInput, VerificationInput};
use clinic_finder::directory::{DirectoryError, DirectoryResult, Principal, Written};
use clinic_finder::domain::Role;
use diesel::prelude::*;

use crate::helpers::{npi, TestApp};

/// The admin key every test app registers first (the bootstrap key).
fn admin() -> Principal {
    Principal::key(
        1,
        Role::Admin,
        Some("directory-test".to_owned()),
        Utc::now(),
    )
}

fn connection(app: &TestApp) -> PooledDb {
    app.database().connection().expect("connection")
}

fn last_ids(c: &mut DbConnection) -> (i64, i64) {
    let audit: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::id))
        .first(c)
        .unwrap();
    let changes: Option<i64> = change_log::table
        .select(diesel::dsl::max(change_log::id))
        .first(c)
        .unwrap();
    (audit.unwrap_or(0), changes.unwrap_or(0))
}

/// Runs one write and checks what it left: exactly one audit row with `action` on `target_id`,
/// by `by`, and change-log rows for exactly `changes` (entity, id).
fn one_write<T>(
    c: &mut DbConnection,
    by: &Principal,
    action: &str,
    target_id: impl FnOnce(&T) -> String,
    changes: impl FnOnce(&T) -> Vec<(&'static str, i64)>,
    work: impl FnOnce(&mut DbConnection) -> DirectoryResult<Written<T>>,
) -> T {
    let (audit_before, changes_before) = last_ids(c);
    let written = work(c).unwrap_or_else(|e| panic!("{action}: {e:?}"));
    let audit: Vec<AuditRow> = audit_log::table
        .filter(audit_log::id.gt(audit_before))
        .select(AuditRow::as_select())
        .load(c)
        .unwrap();
    assert_eq!(audit.len(), 1, "{action}: one audit row, got {audit:?}");
    let row = &audit[0];
    assert_eq!(row.action, action);
    assert_eq!(row.target_id, target_id(&written.view), "{action}");
    assert_eq!(row.actor_key_id, by.key_id(), "{action}");
    assert_eq!(row.actor_role, by.role_name(), "{action}");
    assert_eq!(row.request_id, by.request_id, "{action}");
    let mut logged: Vec<(String, i64)> = change_log::table
        .filter(change_log::id.gt(changes_before))
        .select((change_log::entity, change_log::entity_id))
        .load(c)
        .unwrap();
    logged.sort();
    let mut expected: Vec<(String, i64)> = changes(&written.view)
        .into_iter()
        .map(|(entity, id)| (entity.to_owned(), id))
        .collect();
    expected.sort();
    assert_eq!(logged, expected, "{action}: change-log rows");
    let mut affected: Vec<(String, i64)> = written
        .affected
        .clinics
        .iter()
        .map(|id| ("clinic".to_owned(), *id))
        .chain(
            written
                .affected
                .locations
                .iter()
                .map(|id| ("location".to_owned(), *id)),
        )
        .chain(
            written
                .affected
                .providers
                .iter()
                .map(|id| ("provider".to_owned(), *id)),
        )
        .collect();
    affected.sort();
    assert_eq!(affected, expected, "{action}: what the index must reload");
    written.view
}

fn clinic_input(name: &str) -> NewClinicInput {
    NewClinicInput {
        name: name.to_owned(),
        website: Some("https://clinic.example.org".to_owned()),
        phone: None,
        description: None,
        external_id: None,
    }
}

fn new_clinic(c: &mut DbConnection, name: &str) -> i64 {
    clinics::create(c, &admin(), clinic_input(name))
        .unwrap()
        .view
        .id
}

fn location_input(clinic_id: i64) -> NewLocationInput {
    serde_json::from_value(serde_json::json!({
        "clinic_id": clinic_id, "address_line1": "1 Main St", "city": "New York", "state": "NY",
        "postal_code": "10001", "latitude": 40.7506, "longitude": -73.9972, "timezone": "America/New_York",
        "opening_hours": {"mon": [{"opens": "09:00", "closes": "17:00"}]}
    }))
    .unwrap()
}

fn provider_input(n: u32) -> NewProviderInput {
    serde_json::from_value(serde_json::json!({
        "npi": npi(n), "given_name": "Dana", "family_name": "Direct", "degree": "MD",
        "primary_specialty_code": "2084N0400X", "practice_start_year": 2010
    }))
    .unwrap()
}

fn licence_input() -> NewCredentialInput {
    serde_json::from_value(serde_json::json!({
        "kind": "state_license", "issuer": "NYSED", "identifier": "L-1", "jurisdiction": "NY",
        "issued_on": "2015-01-01", "expires_on": "2099-01-01"
    }))
    .unwrap()
}

on_both_backends!(
    clinic_writes_each_leave_one_event,
    location_writes_each_leave_one_event,
    provider_writes_each_leave_one_event,
    credential_and_vetting_writes_each_leave_one_event,
    key_writes_each_leave_one_event,
    a_bulk_batch_is_one_event_with_its_changes,
    writers_without_the_role_are_refused_before_anything_is_written,
    a_stale_or_missing_version_writes_nothing,
);

async fn clinic_writes_each_leave_one_event(app: TestApp) {
    let mut c = connection(&app);
    let by = admin();
    let clinic = one_write(
        &mut c,
        &by,
        "clinic.create",
        |v: &clinics::ClinicView| v.id.to_string(),
        |v| vec![("clinic", v.id)],
        |c| clinics::create(c, &by, clinic_input("Direct Neurology")),
    );
    assert_eq!(
        db::clinics::get(&mut c, clinic.id).unwrap().name,
        "Direct Neurology"
    );
    let patch = ClinicPatch {
        phone: Some(Some("+1-212-555-0100".to_owned())),
        ..Default::default()
    };
    let updated = one_write(
        &mut c,
        &by,
        "clinic.update",
        |v: &clinics::ClinicView| v.id.to_string(),
        |v| vec![("clinic", v.id)],
        |c| clinics::update(c, &by, clinic.id, Some(1), patch),
    );
    assert_eq!(updated.version, 2);
    let row = db::clinics::get(&mut c, clinic.id).unwrap();
    assert_eq!(
        (row.phone.as_deref(), row.version),
        (Some("+1-212-555-0100"), 2)
    );
    let location = locations::create(&mut c, &by, location_input(clinic.id))
        .unwrap()
        .view;
    one_write(
        &mut c,
        &by,
        "clinic.delete",
        |_: &()| clinic.id.to_string(),
        |_| vec![("clinic", clinic.id), ("location", location.id)],
        |c| clinics::delete(c, &by, clinic.id, Some(2)),
    );
    assert!(db::clinics::find(&mut c, clinic.id).unwrap().is_none());
    assert!(
        db::locations::find(&mut c, location.id).unwrap().is_none(),
        "its locations went with it"
    );
}

async fn location_writes_each_leave_one_event(app: TestApp) {
    let mut c = connection(&app);
    let by = admin();
    let clinic = new_clinic(&mut c, "Sites");
    let location = one_write(
        &mut c,
        &by,
        "location.create",
        |v: &locations::LocationView| v.id.to_string(),
        |v| vec![("location", v.id)],
        |c| locations::create(c, &by, location_input(clinic)),
    );
    assert_eq!(
        db::locations::get(&mut c, location.id).unwrap().city,
        "New York"
    );
    let patch = LocationPatch {
        latitude: Some(40.75),
        ..Default::default()
    };
    one_write(
        &mut c,
        &by,
        "location.update",
        |v: &locations::LocationView| v.id.to_string(),
        |v| vec![("location", v.id)],
        |c| locations::update(c, &by, location.id, Some(1), patch),
    );
    assert_eq!(
        db::locations::get(&mut c, location.id).unwrap().latitude,
        40.75
    );
    one_write(
        &mut c,
        &by,
        "location.delete",
        |_: &()| location.id.to_string(),
        |_| vec![("location", location.id)],
        |c| locations::delete(c, &by, location.id, None),
    );
    assert!(db::locations::find(&mut c, location.id).unwrap().is_none());
}

async fn provider_writes_each_leave_one_event(app: TestApp) {
    let mut c = connection(&app);
    let by = admin();
    let clinic = new_clinic(&mut c, "Practice");
    let location = locations::create(&mut c, &by, location_input(clinic))
        .unwrap()
        .view
        .id;
    let provider = one_write(
        &mut c,
        &by,
        "provider.create",
        |v: &providers::ProviderAdminView| v.id.to_string(),
        |v| vec![("provider", v.id)],
        |c| providers::create(c, &by, provider_input(900)),
    );
    let id = provider.id;
    assert_eq!(
        db::providers::get(&mut c, id).unwrap().vetting_status,
        "pending"
    );
    let patch = ProviderPatch {
        accepting_new_patients: Some(false),
        ..Default::default()
    };
    one_write(
        &mut c,
        &by,
        "provider.update",
        |v: &providers::ProviderAdminView| v.id.to_string(),
        |v| vec![("provider", v.id)],
        |c| providers::update(c, &by, id, Some(1), patch),
    );
    assert!(
        !db::providers::get(&mut c, id)
            .unwrap()
            .accepting_new_patients
    );
    one_write(
        &mut c,
        &by,
        "provider.link_location",
        |_: &()| id.to_string(),
        |_| vec![("location", location)],
        |c| providers::link_location(c, &by, id, location),
    );
    let offer = TreatmentOfferInput {
        annual_volume: Some(120),
    };
    one_write(
        &mut c,
        &by,
        "provider.set_treatment",
        |_: &providers::OfferedTreatment| id.to_string(),
        |_| vec![("provider", id)],
        |c| providers::set_treatment(c, &by, id, "chronic_migraine".to_owned(), offer),
    );
    let record = db::providers::get_record(&mut c, id).unwrap();
    assert_eq!(record.location_ids, vec![location]);
    assert_eq!(record.treatments[0].annual_volume, Some(120));
    one_write(
        &mut c,
        &by,
        "provider.remove_treatment",
        |_: &()| id.to_string(),
        |_| vec![("provider", id)],
        |c| providers::remove_treatment(c, &by, id, "chronic_migraine".to_owned()),
    );
    one_write(
        &mut c,
        &by,
        "provider.unlink_location",
        |_: &()| id.to_string(),
        |_| vec![("location", location)],
        |c| providers::unlink_location(c, &by, id, location),
    );
    let record = db::providers::get_record(&mut c, id).unwrap();
    assert!(record.location_ids.is_empty() && record.treatments.is_empty());
    one_write(
        &mut c,
        &by,
        "provider.delete",
        |_: &()| id.to_string(),
        |_| vec![("provider", id)],
        |c| providers::delete(c, &by, id, Some(2)),
    );
    assert!(db::providers::find(&mut c, id).unwrap().is_none());
}

async fn credential_and_vetting_writes_each_leave_one_event(app: TestApp) {
    let mut c = connection(&app);
    let by = admin();
    let provider = providers::create(&mut c, &by, provider_input(901))
        .unwrap()
        .view
        .id;
    let licence = one_write(
        &mut c,
        &by,
        "credential.create",
        |v: &credentials::CredentialView| v.id.to_string(),
        |_| vec![("provider", provider)],
        |c| credentials::create(c, &by, provider, licence_input()),
    );
    let reviewer = Principal::key(1, Role::Reviewer, None, Utc::now());
    let verification: VerificationInput = serde_json::from_value(serde_json::json!({
        "outcome": "verified", "source_type": "state_medical_board",
        "reference": "https://example.org/licence", "reason": "checked on the board's lookup"
    }))
    .unwrap();
    one_write(
        &mut c,
        &reviewer,
        "credential.verify",
        |v: &credentials::CredentialView| v.id.to_string(),
        |_| vec![("provider", provider)],
        |c| vetting::verify_credential(c, &reviewer, licence.id, Some(1), verification),
    );
    let row = db::credentials::get(&mut c, licence.id).unwrap();
    assert_eq!(row.verification_status, "verified");
    assert_eq!(row.verified_by_key_id, Some(1));
    let reason = "licence verified at the primary source";
    for (version, to) in [(1, "under_review"), (2, "verified")] {
        let input = TransitionInput {
            to: to.to_owned(),
            reason: reason.to_owned(),
        };
        one_write(
            &mut c,
            &reviewer,
            "provider.transition",
            |v: &providers::ProviderAdminView| v.id.to_string(),
            |_| vec![("provider", provider)],
            |c| vetting::transition(c, &reviewer, provider, Some(version), input),
        );
    }
    assert_eq!(
        db::providers::get(&mut c, provider).unwrap().vetting_status,
        "verified"
    );
    let transition: AuditRow = audit_log::table
        .filter(audit_log::action.eq("provider.transition"))
        .order(audit_log::id.desc())
        .select(AuditRow::as_select())
        .first(&mut c)
        .unwrap();
    assert_eq!(
        transition.reason.as_deref(),
        Some(reason),
        "the why is kept"
    );
    let patch = CredentialPatch {
        expires_on: Some(Some(chrono::NaiveDate::from_ymd_opt(2098, 1, 1).unwrap())),
        ..Default::default()
    };
    one_write(
        &mut c,
        &by,
        "credential.update",
        |v: &credentials::CredentialView| v.id.to_string(),
        |_| vec![("provider", provider)],
        |c| credentials::update(c, &by, licence.id, Some(2), patch),
    );
    assert_eq!(
        db::credentials::get(&mut c, licence.id)
            .unwrap()
            .verification_status,
        "unverified",
        "an edited credential must be checked again"
    );
    one_write(
        &mut c,
        &by,
        "credential.delete",
        |_: &()| licence.id.to_string(),
        |_| vec![("provider", provider)],
        |c| credentials::delete(c, &by, licence.id, None),
    );
    assert!(db::credentials::find(&mut c, licence.id).unwrap().is_none());
}

async fn key_writes_each_leave_one_event(app: TestApp) {
    let mut c = connection(&app);
    // The operator at the command line, as `clinic-finder keys create` acts.
    let cli = Principal::cli(Utc::now());
    let input = NewApiKeyInput {
        name: "night reviewer".to_owned(),
        role: "reviewer".to_owned(),
        expires_in_days: Some(30),
    };
    let created = one_write(
        &mut c,
        &cli,
        "api_key.create",
        |v: &keys::CreatedApiKey| v.key.id.to_string(),
        |_| vec![],
        |c| keys::create(c, &cli, input),
    );
    let stored = db::keys::find_by_secret(&mut c, &created.secret)
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.id, stored.role.as_str()),
        (created.key.id, "reviewer")
    );
    assert!(stored.expires_at.is_some());
    let by = admin();
    one_write(
        &mut c,
        &by,
        "api_key.revoke",
        |v: &keys::ApiKeyView| v.id.to_string(),
        |_| vec![],
        |c| keys::revoke(c, &by, created.key.id),
    );
    assert!(db::keys::find(&mut c, created.key.id)
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    // Revoking again changes nothing and records nothing.
    let (audit_before, _) = last_ids(&mut c);
    keys::revoke(&mut c, &by, created.key.id).unwrap();
    assert_eq!(last_ids(&mut c).0, audit_before);
}

async fn a_bulk_batch_is_one_event_with_its_changes(app: TestApp) {
    let mut c = connection(&app);
    let by = Principal::import(Utc::now());
    let options = BulkOptions {
        trusted_source: None,
        file_name: "direct.ndjson".to_owned(),
    };
    let records = ["B1", "B2", "B3"].map(|external_id| {
        BulkRecord::Clinic(ClinicRecord {
            external_id: external_id.to_owned(),
            name: format!("Bulk {external_id}"),
            website: None,
            phone: None,
            description: None,
        })
    });
    let mut report = ImportReport::default();
    let lines = records.into_iter().enumerate().map(|(i, r)| (i + 1, Ok(r)));
    one_write(
        &mut c,
        &by,
        "import.batch",
        |_: &()| "direct.ndjson".to_owned(),
        |_| {
            let ids: Vec<i64> = clinic_finder::db::schema::clinics::table
                .select(clinic_finder::db::schema::clinics::id)
                .load(&mut connection(&app))
                .unwrap();
            ids.into_iter().map(|id| ("clinic", id)).collect()
        },
        |c| bulk::load_batch(c, &by, &options, lines, false, &mut report),
    );
    assert_eq!((report.created, report.rejected.len()), (3, 0));
}

async fn writers_without_the_role_are_refused_before_anything_is_written(app: TestApp) {
    let mut c = connection(&app);
    let partner = Principal::key(1, Role::Partner, None, Utc::now());
    let reviewer = Principal::key(1, Role::Reviewer, None, Utc::now());
    let import = Principal::import(Utc::now());
    let before = last_ids(&mut c);
    let refused = |result: Result<(), DirectoryError>| {
        assert!(
            matches!(result, Err(DirectoryError::Forbidden(_))),
            "{result:?}"
        );
    };
    refused(clinics::create(&mut c, &partner, clinic_input("No")).map(|_| ()));
    refused(clinics::create(&mut c, &reviewer, clinic_input("No")).map(|_| ()));
    let key = NewApiKeyInput {
        name: "escalation".to_owned(),
        role: "admin".to_owned(),
        expires_in_days: None,
    };
    // An import may write the directory's data, never keys.
    refused(keys::create(&mut c, &import, key).map(|_| ()));
    assert_eq!(last_ids(&mut c), before, "nothing was written or audited");
}

async fn a_stale_or_missing_version_writes_nothing(app: TestApp) {
    let mut c = connection(&app);
    let by = admin();
    let clinic = new_clinic(&mut c, "Versioned");
    let before = last_ids(&mut c);
    let stale = clinics::update(&mut c, &by, clinic, Some(7), ClinicPatch::default());
    assert!(matches!(
        stale,
        Err(DirectoryError::Stale { current_version: 1 })
    ));
    let missing = clinics::update(&mut c, &by, clinic, None, ClinicPatch::default());
    assert!(matches!(missing, Err(DirectoryError::VersionRequired)));
    let stale_delete = clinics::delete(&mut c, &by, clinic, Some(2));
    assert!(matches!(
        stale_delete,
        Err(DirectoryError::Stale { current_version: 1 })
    ));
    assert_eq!(last_ids(&mut c), before);
    assert!(db::clinics::find(&mut c, clinic).unwrap().is_some());
}
