//! Bulk import: validated like the API, reported by line, idempotent, all-or-nothing on request,
//! audited, and picked up by a running server through the change feed.

use std::io::Cursor;

use clinic_finder::import::{import, Format, ImportOptions, RecordType};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{npi, TestApp};

fn options(format: Format, atomic: bool, trusted: bool) -> ImportOptions {
    ImportOptions {
        format,
        atomic,
        batch_size: 3,
        trusted_source: trusted.then(|| "test fixtures".to_owned()),
        file_name: "fixture.ndjson".to_owned(),
    }
}

fn ndjson(records: &[serde_json::Value]) -> Cursor<Vec<u8>> {
    let text: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    Cursor::new(text.join("\n").into_bytes())
}

fn fixture() -> Vec<serde_json::Value> {
    vec![
        json!({"type": "clinic", "external_id": "C1", "name": "Imported Neurology"}),
        json!({"type": "location", "external_id": "L1", "clinic_external_id": "C1", "address_line1": "1 Import Way",
               "city": "New York", "state": "NY", "postal_code": "10001", "latitude": 40.7506, "longitude": -73.9972,
               "timezone": "America/New_York", "opening_hours": {"mon": [{"opens": "09:00", "closes": "17:00"}]}}),
        json!({"type": "provider", "npi": npi(800), "given_name": "Imani", "family_name": "Imported", "degree": "MD",
               "primary_specialty_code": "2084N0400X", "practice_start_year": 2008, "vetting_status": "verified",
               "location_external_ids": ["L1"], "treatments": [{"code": "chronic_migraine", "annual_volume": 150}]}),
        json!({"type": "credential", "provider_npi": npi(800), "kind": "state_license", "issuer": "NYSED", "identifier": "123",
               "jurisdiction": "NY", "expires_on": "2099-01-01",
               "verification": {"status": "verified", "verified_at": "2026-11-20T10:00:00", "source_type": "state_medical_board", "reference": "https://example.org/x"}}),
    ]
}

async fn imports_are_validated_idempotent_and_reach_search(app: TestApp) {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let report = import(
        &mut connection,
        ndjson(&fixture()),
        &options(Format::Ndjson, false, true),
    )
    .unwrap();
    assert_eq!(
        (report.read, report.created, report.rejected.len()),
        (4, 4, 0),
        "{report:?}"
    );

    // A running server learns of it through the change feed.
    let query = "/v1/search/providers?postal_code=10001&treatment=chronic_migraine";
    let started = std::time::Instant::now();
    loop {
        let body = app.get_json(query).await;
        if body["results"].as_array().unwrap().len() == 1 {
            assert_eq!(body["results"][0]["provider"]["family_name"], "Imported");
            assert_eq!(
                body["results"][0]["provider"]["credentials"]["annual_procedure_volume"],
                150
            );
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the import reached search"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Again: nothing changes.
    let again = import(
        &mut connection,
        ndjson(&fixture()),
        &options(Format::Ndjson, false, true),
    )
    .unwrap();
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, 4),
        "{again:?}"
    );
    // One audit row per batch (batches of 3: two batches per run).
    let audit = app
        .admin_ok(
            reqwest::Method::GET,
            "/v1/admin/audit?action=import.batch",
            None,
            None,
        )
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 4);
    assert_eq!(audit["items"][0]["reason"], "test fixtures");
}

async fn bad_records_are_reported_by_line_and_atomic_writes_nothing(app: TestApp) {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let mut records = fixture();
    records.insert(
        1,
        json!({"type": "clinic", "external_id": "C2", "name": ""}),
    );
    records.insert(3, json!({"type": "provider", "npi": "1234567890", "given_name": "Bad", "family_name": "Npi", "degree": "MD", "primary_specialty_code": "2084N0400X"}));
    records.push(json!({"type": "location", "external_id": "L9", "clinic_external_id": "NOPE", "address_line1": "x", "city": "x",
                        "state": "NY", "postal_code": "10001", "latitude": 91.0, "longitude": 0.0, "timezone": "UTC"}));
    let mut text: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    text.insert(5, "{not json".to_owned());
    let input = || Cursor::new(text.join("\n").into_bytes());

    let atomic = import(
        &mut connection,
        input(),
        &options(Format::Ndjson, true, true),
    )
    .unwrap();
    assert!(atomic.rolled_back);
    assert_eq!(
        app.get_json("/v1/clinics").await["items"],
        json!([]),
        "--atomic wrote nothing"
    );

    let report = import(
        &mut connection,
        input(),
        &options(Format::Ndjson, false, true),
    )
    .unwrap();
    let lines: Vec<(usize, Vec<String>)> = report
        .rejected
        .iter()
        .map(|r| {
            let mut errors: Vec<String> = r
                .errors
                .iter()
                .map(|e| format!("{} {}", e.pointer, e.code))
                .collect();
            errors.sort();
            (r.line, errors)
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (2, vec!["/name invalid_length".to_owned()]),
            (4, vec!["/npi npi_check_digit".to_owned()]),
            (6, vec![" malformed_body".to_owned()]),
            (
                8,
                vec![
                    "/clinic_external_id not_found".to_owned(),
                    "/latitude out_of_range".to_owned()
                ]
            ),
        ]
    );
    assert_eq!(report.created, 4, "the good records went in");
    let clinics = app.get_json("/v1/clinics").await;
    assert_eq!(clinics["items"].as_array().unwrap().len(), 1);
}

async fn vetting_state_needs_a_trusted_source_and_csv_works(app: TestApp) {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let report = import(
        &mut connection,
        ndjson(&fixture()),
        &options(Format::Ndjson, false, false),
    )
    .unwrap();
    let rejected: Vec<(usize, Vec<&str>)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.errors.iter().map(|e| e.code.as_str()).collect()))
        .collect();
    // The provider is refused for its vetting state; its credential for the same reason, and
    // because the provider it names is therefore not there.
    assert_eq!(
        rejected,
        vec![
            (3, vec!["untrusted_vetting_state"]),
            (4, vec!["not_found", "untrusted_vetting_state"])
        ]
    );

    let csv = "external_id,clinic_external_id,address_line1,city,state,postal_code,latitude,longitude,timezone\n\
               L2,C1,2 Csv St,Newark,NJ,07102,40.7357,-74.1724,America/New_York\n\
               L3,C1,3 Csv St,Newark,NJ,07102,not-a-number,-74.17,America/New_York\n";
    let report = import(
        &mut connection,
        Cursor::new(csv.as_bytes().to_vec()),
        &options(Format::Csv(RecordType::Location), false, false),
    )
    .unwrap();
    assert_eq!(report.created, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].line, 3);
    assert_eq!(report.rejected[0].errors[0].pointer, "/latitude");
}

/// New rows go in with multi-row statements; when the database refuses one (here two new
/// providers claim the same external id, which only the unique index catches), the statement is
/// undone and its records replayed one by one: the first goes in, the second is reported against
/// its own line, and nothing else in the batch is lost.
async fn a_refused_multi_row_insert_is_replayed_record_by_record(app: TestApp) {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let provider = |n: u32, family: &str| {
        json!({"type": "provider", "npi": npi(n), "external_id": "P-SHARED", "given_name": "Dana",
               "family_name": family, "degree": "MD", "primary_specialty_code": "2084N0400X"})
    };
    let records = vec![
        json!({"type": "clinic", "external_id": "C1", "name": "Imported Neurology"}),
        provider(810, "First"),
        provider(811, "Second"),
        json!({"type": "provider", "npi": npi(812), "given_name": "Eli", "family_name": "Third",
               "degree": "DO", "primary_specialty_code": "2084N0400X"}),
    ];
    let mut options = options(Format::Ndjson, false, false);
    options.batch_size = 100;
    let report = import(&mut connection, ndjson(&records), &options).unwrap();
    assert_eq!((report.read, report.created), (4, 3), "{report:?}");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].line, 3);
    assert_eq!(report.rejected[0].errors[0].code, "duplicate");
    let listed = app
        .admin_ok(Method::GET, "/v1/admin/providers?limit=100", None, None)
        .await;
    let mut families: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["family_name"].as_str().unwrap())
        .collect();
    families.sort();
    assert_eq!(families, ["First", "Third"]);
}

/// What a batch reads ahead (the rows its records may replace, the ids they refer to) must not
/// hide what the batch itself writes: a key repeated within one batch is an update of the row the
/// batch just created, and a file loaded over stored rows updates or leaves them as before, with
/// the same counts and one audit event per batch.
async fn keys_repeated_within_a_batch_and_stored_rows_are_upserted(app: TestApp) {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let mut records = fixture();
    let mut renamed = records[0].clone();
    renamed["name"] = json!("Renamed Neurology");
    let again_provider = records[2].clone();
    let mut relicensed = records[3].clone();
    relicensed["expires_on"] = json!("2098-01-01");
    records.insert(1, renamed); // line 2: the clinic of line 1 again, renamed
    records.push(again_provider); // line 6: the provider of line 4 again, the same
    records.push(relicensed); // line 7: the credential of line 5 again, changed
    let mut options = options(Format::Ndjson, false, true);
    options.batch_size = 100;
    let report = import(&mut connection, ndjson(&records), &options).unwrap();
    assert_eq!(
        (
            report.read,
            report.created,
            report.updated,
            report.unchanged
        ),
        (7, 4, 2, 1),
        "{report:?}"
    );
    let clinics = app.get_json("/v1/clinics").await;
    assert_eq!(clinics["items"].as_array().unwrap().len(), 1);
    assert_eq!(clinics["items"][0]["name"], "Renamed Neurology");

    // Over the stored rows: the credential changes twice (back to 2099, then to 2098 again), the
    // rest is as stored; then the clinic renamed back.
    let report = import(&mut connection, ndjson(&records[1..]), &options).unwrap();
    assert_eq!(
        (
            report.read,
            report.created,
            report.updated,
            report.unchanged
        ),
        (6, 0, 2, 4),
        "{report:?}"
    );
    let report = import(&mut connection, ndjson(&records[..1]), &options).unwrap();
    assert_eq!((report.updated, report.unchanged), (1, 0), "{report:?}");
    let clinics = app.get_json("/v1/clinics").await;
    assert_eq!(clinics["items"][0]["name"], "Imported Neurology");
    let audit = app
        .admin_ok(
            Method::GET,
            "/v1/admin/audit?action=import.batch",
            None,
            None,
        )
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 3);
}

on_both_backends!(
    keys_repeated_within_a_batch_and_stored_rows_are_upserted,
    a_refused_multi_row_insert_is_replayed_record_by_record,
    imports_are_validated_idempotent_and_reach_search,
    bad_records_are_reported_by_line_and_atomic_writes_nothing,
    vetting_state_needs_a_trusted_source_and_csv_works,
    the_api_and_the_importer_refuse_the_same_records,
);

/// Each error's pointer and code, sorted.
fn codes<'a>(errors: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut codes: Vec<String> = errors
        .map(|(pointer, code)| format!("{pointer} {code}"))
        .collect();
    codes.sort();
    codes
}

/// One list of bad clinics, locations, providers and credentials, sent through the API and
/// through the importer: one rule set, so both refuse each with the same field errors.
async fn the_api_and_the_importer_refuse_the_same_records(app: TestApp) {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let setup = [
        json!({"type": "clinic", "external_id": "C1", "name": "Rules Clinic"}),
        json!({"type": "provider", "npi": npi(810), "given_name": "Rule", "family_name": "Abiding", "degree": "MD",
               "primary_specialty_code": "2084N0400X"}),
    ];
    let report = import(
        &mut connection,
        ndjson(&setup),
        &options(Format::Ndjson, false, false),
    )
    .unwrap();
    assert_eq!(report.created, 2, "{report:?}");
    let clinics = app.get_json("/v1/clinics").await;
    let clinic_id = clinics["items"][0]["id"].as_i64().unwrap();
    let providers = app
        .admin_ok(Method::GET, "/v1/admin/providers", None, None)
        .await;
    let provider_id = providers["items"][0]["id"].as_i64().unwrap();

    let place = json!({"address_line1": "1 Main St", "city": "New York", "state": "NY", "postal_code": "10001",
                       "latitude": 40.75, "longitude": -73.99, "timezone": "America/New_York"});
    let person = json!({"npi": npi(811), "given_name": "New", "family_name": "Person", "degree": "MD",
                        "primary_specialty_code": "2084N0400X"});
    let licence = json!({"kind": "state_license", "issuer": "NYSED", "identifier": "X-1", "jurisdiction": "NY",
                         "issued_on": "2020-01-01", "expires_on": "2030-01-01"});
    let with = |base: &serde_json::Value, changes: serde_json::Value| {
        let mut value = base.clone();
        for (key, field) in changes.as_object().unwrap() {
            value[key] = field.clone();
        }
        value
    };
    let provider_path = format!("/v1/providers/{provider_id}/credentials");
    // (what, API path, API body, import record)
    let cases: Vec<(&str, &str, serde_json::Value, serde_json::Value)> = vec![
        (
            "javascript: website",
            "/v1/clinics",
            json!({"name": "X", "website": "javascript:alert(1)"}),
            json!({"type": "clinic", "external_id": "B1", "name": "X", "website": "javascript:alert(1)"}),
        ),
        (
            "ftp: website",
            "/v1/clinics",
            json!({"name": "X", "website": "ftp://files.example.org/"}),
            json!({"type": "clinic", "external_id": "B2", "name": "X", "website": "ftp://files.example.org/"}),
        ),
        (
            "empty clinic name",
            "/v1/clinics",
            json!({"name": ""}),
            json!({"type": "clinic", "external_id": "B3", "name": ""}),
        ),
        (
            "bad state",
            "/v1/locations",
            with(&place, json!({"clinic_id": clinic_id, "state": "ZZ"})),
            with(
                &place,
                json!({"type": "location", "external_id": "B4", "clinic_external_id": "C1", "state": "ZZ"}),
            ),
        ),
        (
            "latitude 91 and an unknown timezone",
            "/v1/locations",
            with(
                &place,
                json!({"clinic_id": clinic_id, "latitude": 91.0, "timezone": "Mars/Olympus"}),
            ),
            with(
                &place,
                json!({"type": "location", "external_id": "B5", "clinic_external_id": "C1", "latitude": 91.0, "timezone": "Mars/Olympus"}),
            ),
        ),
        (
            "bad NPI",
            "/v1/providers",
            with(&person, json!({"npi": "1234567890"})),
            with(&person, json!({"type": "provider", "npi": "1234567890"})),
        ),
        (
            "unknown degree, specialty and language",
            "/v1/providers",
            with(
                &person,
                json!({"degree": "Wizard", "primary_specialty_code": "9999999999X", "languages": ["EN"]}),
            ),
            with(
                &person,
                json!({"type": "provider", "degree": "Wizard", "primary_specialty_code": "9999999999X", "languages": ["EN"]}),
            ),
        ),
        (
            "licence expiring before it was issued",
            &provider_path,
            with(&licence, json!({"expires_on": "2019-01-01"})),
            with(
                &licence,
                json!({"type": "credential", "provider_npi": npi(810), "expires_on": "2019-01-01"}),
            ),
        ),
        (
            "licence without a state, and a bad kind",
            &provider_path,
            with(&licence, json!({"jurisdiction": null})),
            with(
                &licence,
                json!({"type": "credential", "provider_npi": npi(810), "jurisdiction": null}),
            ),
        ),
        (
            "a licence in no US state",
            &provider_path,
            with(&licence, json!({"jurisdiction": "ZZ"})),
            with(
                &licence,
                json!({"type": "credential", "provider_npi": npi(810), "jurisdiction": "ZZ"}),
            ),
        ),
    ];
    for (what, path, body, record) in cases {
        let response = app.admin(Method::POST, path, Some(body), None).await;
        assert_eq!(response.status(), 422, "{what}: the API refuses it");
        let problem: serde_json::Value = response.json().await.unwrap();
        let from_api = codes(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["pointer"].as_str().unwrap(), e["code"].as_str().unwrap())),
        );
        let report = import(
            &mut connection,
            ndjson(&[record]),
            &options(Format::Ndjson, false, false),
        )
        .unwrap();
        assert_eq!(
            report.rejected.len(),
            1,
            "{what}: the importer refuses it: {report:?}"
        );
        let from_import = codes(
            report.rejected[0]
                .errors
                .iter()
                .map(|e| (e.pointer.as_str(), e.code.as_str())),
        );
        assert!(!from_api.is_empty(), "{what}");
        assert_eq!(from_api, from_import, "{what}: the same field errors");
    }
    // Nothing of it was written.
    assert_eq!(
        app.get_json("/v1/clinics").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
