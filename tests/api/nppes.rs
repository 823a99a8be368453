//! NPPES and NUCC imports: columns by name, the mapping rules, co-located providers sharing a
//! location, ZIP-centroid placing with boundary time zones, deactivation and reactivation, bad
//! rows by line, idempotent re-runs. Each on both backends, through the library as the CLI calls
//! it, and read back through the API.

use std::sync::Arc;

use clinic_finder::directory::Principal;
use clinic_finder::import::nppes::{NppesFilter, ScanProgress};
use clinic_finder::import::{import_nppes, NppesSummary};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

const SAMPLE: &str = include_str!("../fixtures/nppes_sample.csv");
const NUCC: &str = include_str!("../fixtures/nucc_taxonomy_sample.csv");

fn load_nucc(app: &TestApp) {
    let rows = clinic_finder::import::nucc::read(NUCC.as_bytes()).expect("NUCC fixture");
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let by = Principal::import(chrono::Utc::now());
    clinic_finder::directory::taxonomy::import_nucc(&mut connection, &by, "nucc.csv", rows)
        .expect("NUCC loads");
}

fn run(app: &TestApp, text: String, filter: NppesFilter) -> NppesSummary {
    let database = app.database();
    let mut connection = database.connection().unwrap();
    import_nppes(
        &mut connection,
        std::io::Cursor::new(text.into_bytes()),
        "npidata_pfile_test.csv",
        filter,
        7,
        Arc::new(ScanProgress::default()),
    )
    .expect("the import runs")
}

/// The real header, and rows written in NPPES's format (every value quoted).
fn header() -> Vec<String> {
    let mut csv = csv::Reader::from_reader(SAMPLE.as_bytes());
    csv.headers().unwrap().iter().map(str::to_owned).collect()
}

fn row(header: &[String], values: &[(&str, &str)]) -> String {
    header
        .iter()
        .map(|name| {
            let value = values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .unwrap_or("");
            format!("\"{value}\"")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn file(header: &[String], rows: &[String]) -> String {
    let names: Vec<String> = header.iter().map(|h| format!("\"{h}\"")).collect();
    let mut text = names.join(",");
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

#[allow(clippy::too_many_arguments)]
fn individual<'a>(
    npi: &'a str,
    given: &'a str,
    family: &'a str,
    credential: &'a str,
    line1: &'a str,
    city: &'a str,
    state: &'a str,
    zip: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("NPI", npi),
        ("Entity Type Code", "1"),
        ("Provider First Name", given),
        ("Provider Last Name (Legal Name)", family),
        ("Provider Credential Text", credential),
        (
            "Provider First Line Business Practice Location Address",
            line1,
        ),
        (
            "Provider Business Practice Location Address City Name",
            city,
        ),
        (
            "Provider Business Practice Location Address State Name",
            state,
        ),
        (
            "Provider Business Practice Location Address Postal Code",
            zip,
        ),
        (
            "Provider Business Practice Location Address Country Code (If outside U.S.)",
            "US",
        ),
        ("Last Update Date", "01/15/2026"),
        ("Healthcare Provider Taxonomy Code_1", "2084N0400X"),
        ("Healthcare Provider Primary Taxonomy Switch_1", "Y"),
        ("Provider License Number_1", "L-1"),
        ("Provider License Number State Code_1", state),
    ]
}

async fn admin_provider(app: &TestApp, npi: &str) -> Value {
    let page = app
        .admin_ok(
            Method::GET,
            &format!("/v1/admin/providers?npi={npi}"),
            None,
            None,
        )
        .await;
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one provider with NPI {npi}: {page}");
    items[0].clone()
}

async fn location(app: &TestApp, id: i64) -> Value {
    app.get_json(&format!("/v1/locations/{id}")).await
}

async fn the_sample_imports_by_the_mapping_rules_and_again_changes_nothing(app: TestApp) {
    load_nucc(&app);
    let first = run(&app, SAMPLE.to_owned(), NppesFilter::default());
    assert_eq!((first.rows, first.matched), (61, 61), "{first:?}");
    assert!(
        first.skipped.is_empty() && first.report.rejected.is_empty(),
        "{first:?}"
    );
    // 43 individuals, 16 organisations, 2 deactivated NPIs we never held.
    assert_eq!(first.report.providers_created, 43, "{:?}", first.report);
    assert_eq!(first.report.clinics_created, 16, "{:?}", first.report);

    // Entity type 1: names, degree from the credential text, the `Y` taxonomy as primary, each
    // licence an unverified, self-reported state licence; pending.
    let robert = admin_provider(&app, "1323321137").await;
    assert_eq!(robert["given_name"], "ROBERT");
    assert_eq!(robert["family_name"], "O'BRIEN");
    assert_eq!(robert["degree"], "MD");
    assert_eq!(robert["credential_text"], "M.D., FAAN");
    assert_eq!(robert["primary_specialty_code"], "2084N0402X");
    assert_eq!(
        robert["other_specialty_codes"],
        serde_json::json!(["2084N0400X"])
    );
    assert_eq!(robert["vetting_status"], "pending");
    assert_eq!(robert["source"], "nppes");
    let licences: Vec<(String, String, String, String)> = robert["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["jurisdiction"].as_str().unwrap().to_owned(),
                c["issuer"].as_str().unwrap().to_owned(),
                c["verification_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(licences.len(), 2);
    for (kind, _, issuer, status) in &licences {
        assert_eq!(
            (kind.as_str(), issuer.as_str(), status.as_str()),
            ("state_license", "NPPES (self-reported)", "unverified")
        );
    }
    assert!(licences.iter().any(|l| l.1 == "CA") && licences.iter().any(|l| l.1 == "TX"));
    for (npi, degree) in [
        ("1084421100", Some("MD")), // MD MPH
        ("1999132453", Some("MD")), // MD, PHD
        ("1011136185", Some("DO")), // D.O.
        ("1936922537", Some("NP")), // NP-C
        ("1485322642", Some("NP")), // FNP-BC
        ("1806997668", Some("PA")), // PA-C
        ("1779859424", None),       // no credential text: kept pending without a degree
    ] {
        let provider = admin_provider(&app, npi).await;
        assert_eq!(provider["degree"].as_str(), degree, "{npi}: {provider}");
        assert_eq!(provider["vetting_status"], "pending");
    }
    // The practice location: at the ZIP code's centroid, says so, in the boundary's time zone.
    let location_id = robert["location_ids"][0].as_i64().unwrap();
    let place = location(&app, location_id).await;
    assert_eq!(place["geocode_precision"], "postal_code");
    assert_eq!(place["address"]["postal_code"], "90048");
    assert_eq!(place["timezone"], "America/Los_Angeles");
    let centroid = clinic_finder::search::zip_codes::centroid("90048").unwrap();
    assert_eq!(place["coordinates"]["lat"].as_f64(), Some(centroid.lat));
    // Entity type 2: a clinic.
    let clinics = app.get_json("/v1/clinics?limit=100").await;
    assert!(clinics["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "SPASTICITY CENTER OF LOS ANGELES"));
    // source=nppes lists what the import brought in.
    let imported = app
        .admin_ok(
            Method::GET,
            "/v1/admin/providers?source=nppes&limit=100",
            None,
            None,
        )
        .await;
    assert_eq!(imported["items"].as_array().unwrap().len(), 43);
    let manual = app
        .admin_ok(Method::GET, "/v1/admin/providers?source=manual", None, None)
        .await;
    assert_eq!(manual["items"].as_array().unwrap().len(), 0);

    // The same file again changes nothing: no version moves, no provider or location is added.
    let audit_before = app
        .admin_ok(Method::GET, "/v1/admin/audit?limit=100", None, None)
        .await["items"]
        .as_array()
        .unwrap()
        .len();
    let again = run(&app, SAMPLE.to_owned(), NppesFilter::default());
    assert_eq!(again.report.unchanged, 61, "{:?}", again.report);
    assert_eq!(
        (
            again.report.providers_created,
            again.report.providers_updated,
            again.report.locations_created
        ),
        (0, 0, 0)
    );
    assert_eq!(
        admin_provider(&app, "1323321137").await["version"],
        robert["version"]
    );
    let audit_after = app
        .admin_ok(Method::GET, "/v1/admin/audit?limit=100", None, None)
        .await["items"]
        .as_array()
        .unwrap()
        .len();
    // Each batch still says what it read (an `import.batch` event a write), nothing else.
    assert!(audit_after > audit_before);
    let batches = app
        .admin_ok(
            Method::GET,
            "/v1/admin/audit?action=import.batch&limit=100",
            None,
            None,
        )
        .await;
    assert!(batches["items"][0]["after"]["unchanged"].as_u64().unwrap() > 0);
}

async fn columns_are_found_by_name_and_a_missing_one_is_named(app: TestApp) {
    load_nucc(&app);
    // The sample with its columns reversed imports the same providers.
    let mut csv = csv::Reader::from_reader(SAMPLE.as_bytes());
    let names: Vec<String> = csv
        .headers()
        .unwrap()
        .iter()
        .rev()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.unwrap();
        let fields: Vec<String> = record.iter().rev().map(|v| format!("\"{v}\"")).collect();
        rows.push(fields.join(","));
    }
    let reversed = file(&names, &rows);
    let summary = run(&app, reversed, NppesFilter::default());
    assert_eq!(summary.report.providers_created, 43, "{summary:?}");
    let robert = admin_provider(&app, "1323321137").await;
    assert_eq!(robert["primary_specialty_code"], "2084N0402X");

    // Without `Provider Credential Text` the file is refused before any row is read.
    let header = header();
    let without: Vec<String> = header
        .iter()
        .filter(|h| *h != "Provider Credential Text")
        .cloned()
        .collect();
    let database = app.database();
    let mut connection = database.connection().unwrap();
    let error = import_nppes(
        &mut connection,
        std::io::Cursor::new(file(&without, &[]).into_bytes()),
        "broken.csv",
        NppesFilter::default(),
        10,
        Arc::new(ScanProgress::default()),
    )
    .expect_err("a missing column is an error");
    assert!(
        error.to_string().contains("`Provider Credential Text`"),
        "{error}"
    );
}

async fn filters_co_location_time_zones_and_bad_rows(app: TestApp) {
    let header = header();
    let line1 = "100 Main Street, Suite 4";
    let rows = vec![
        // Two providers at one address (written two ways) and an organisation there too.
        row(
            &header,
            &individual(
                "1234567893",
                "ANA",
                "REYES",
                "MD",
                line1,
                "EL PASO",
                "TX",
                "799011234",
            ),
        ),
        row(
            &header,
            &individual(
                "1245319599",
                "BEN",
                "OKAFOR",
                "DO",
                "100 MAIN ST STE 4",
                "EL PASO",
                "TX",
                "79901",
            ),
        ),
        row(
            &header,
            &[
                ("NPI", "1982689006"),
                ("Entity Type Code", "2"),
                (
                    "Provider Organization Name (Legal Business Name)",
                    "BORDERLAND NEUROLOGY PLLC",
                ),
                (
                    "Provider First Line Business Practice Location Address",
                    "100 Main St.",
                ),
                (
                    "Provider Second Line Business Practice Location Address",
                    "Suite 4",
                ),
                (
                    "Provider Business Practice Location Address City Name",
                    "EL PASO",
                ),
                (
                    "Provider Business Practice Location Address State Name",
                    "TX",
                ),
                (
                    "Provider Business Practice Location Address Postal Code",
                    "79901",
                ),
                ("Last Update Date", "01/15/2026"),
                ("Healthcare Provider Taxonomy Code_1", "2084N0400X"),
                ("Healthcare Provider Primary Taxonomy Switch_1", "Y"),
            ],
        ),
        // Pensacola is on Central time, though most of Florida is Eastern.
        row(
            &header,
            &individual(
                "1326042698",
                "CARA",
                "DIAZ",
                "MBBS, FRCS",
                "1 Palafox Pl",
                "PENSACOLA",
                "FL",
                "32501",
            ),
        ),
        // Filtered out: a taxonomy outside the filter.
        row(&header, &{
            let mut values = individual(
                "1215930367",
                "DAN",
                "ROSS",
                "MD",
                "5 Elm St",
                "DENVER",
                "CO",
                "80218",
            );
            values[11] = ("Healthcare Provider Taxonomy Code_1", "207Q00000X");
            values
        }),
        // Cannot be placed: an unknown ZIP code, and an address abroad.
        row(
            &header,
            &individual(
                "1710983663",
                "EVA",
                "LINDQVIST",
                "MD",
                "9 Nowhere Rd",
                "NOWHERE",
                "NY",
                "00000",
            ),
        ),
        row(&header, &{
            let mut values = individual(
                "1588667638",
                "FAY",
                "MOREAU",
                "MD",
                "3 Rue X",
                "PARIS",
                "NY",
                "75001",
            );
            values[9] = (
                "Provider Business Practice Location Address Country Code (If outside U.S.)",
                "FR",
            );
            values
        }),
        // Placed, but refused by the directory's rules: a wrong NPI check digit.
        row(
            &header,
            &individual(
                "1234567890",
                "GIA",
                "ROSSI",
                "MD",
                "2 Elm St",
                "NEW YORK",
                "NY",
                "10001",
            ),
        ),
    ];
    let filter = NppesFilter {
        taxonomies: ["2084N0400X".to_owned()].into_iter().collect(),
        states: Default::default(),
    };
    let summary = run(&app, file(&header, &rows), filter);
    assert_eq!(summary.rows, 8);
    assert_eq!(
        summary.matched, 7,
        "the family-medicine row is filtered out"
    );
    let rejected: Vec<(u64, bool)> = summary
        .report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.contains("check digit")))
        .collect();
    assert_eq!(rejected, vec![(9, true)], "{:?}", summary.report.rejected);
    let skipped: Vec<(u64, bool)> = summary
        .skipped
        .iter()
        .map(|s| {
            (
                s.line,
                s.reason.contains("00000") || s.reason.contains("outside the US"),
            )
        })
        .collect();
    assert_eq!(skipped, vec![(7, true), (8, true)], "{:?}", summary.skipped);

    let ana = admin_provider(&app, "1234567893").await;
    let ben = admin_provider(&app, "1245319599").await;
    assert_eq!(
        ana["location_ids"], ben["location_ids"],
        "co-located providers share a location"
    );
    let shared = location(&app, ana["location_ids"][0].as_i64().unwrap()).await;
    assert_eq!(
        shared["timezone"], "America/Denver",
        "El Paso is on Mountain time"
    );
    let clinic = app
        .get_json(&format!("/v1/clinics/{}", shared["clinic_id"]))
        .await;
    assert_eq!(
        clinic["name"], "BORDERLAND NEUROLOGY PLLC",
        "the organisation at the address runs it"
    );
    let cara = admin_provider(&app, "1326042698").await;
    assert!(
        cara.get("degree").is_none(),
        "MBBS names no degree we know: {cara}"
    );
    assert_eq!(cara["credential_text"], "MBBS, FRCS", "kept as written");
    assert_eq!(cara["vetting_status"], "pending");
    let pensacola = location(&app, cara["location_ids"][0].as_i64().unwrap()).await;
    assert_eq!(pensacola["timezone"], "America/Chicago");
    assert_eq!(pensacola["geocode_precision"], "postal_code");
    // An admin's move of the coordinates makes them rooftop.
    let moved = app
        .admin_ok(
            Method::PATCH,
            &format!("/v1/locations/{}", pensacola["id"]),
            Some(serde_json::json!({"latitude": 30.4110, "longitude": -87.2153})),
            Some(pensacola["version"].as_i64().unwrap()),
        )
        .await;
    assert_eq!(moved["geocode_precision"], "rooftop");
}

async fn deactivation_suspends_and_reactivation_returns_to_pending(app: TestApp) {
    let header = header();
    let mut values = individual(
        "1234567893",
        "ANA",
        "REYES",
        "MD",
        "1 Main St",
        "NEW YORK",
        "NY",
        "10001",
    );
    let first = run(
        &app,
        file(&header, &[row(&header, &values)]),
        NppesFilter::default(),
    );
    assert_eq!(first.report.providers_created, 1);

    // A newer Last Update Date updates; an older one does not.
    values[3] = ("Provider Last Name (Legal Name)", "REYES-SOTO");
    values[10] = ("Last Update Date", "03/01/2026");
    run(
        &app,
        file(&header, &[row(&header, &values)]),
        NppesFilter::default(),
    );
    assert_eq!(
        admin_provider(&app, "1234567893").await["family_name"],
        "REYES-SOTO"
    );
    let mut older = values.clone();
    older[3] = ("Provider Last Name (Legal Name)", "OLD");
    older[10] = ("Last Update Date", "02/01/2026");
    run(
        &app,
        file(&header, &[row(&header, &older)]),
        NppesFilter::default(),
    );
    assert_eq!(
        admin_provider(&app, "1234567893").await["family_name"],
        "REYES-SOTO"
    );

    // CMS writes a deactivation as the NPI and the date alone.
    let deactivated = row(
        &header,
        &[
            ("NPI", "1234567893"),
            ("NPI Deactivation Date", "04/02/2026"),
        ],
    );
    let summary = run(
        &app,
        file(&header, std::slice::from_ref(&deactivated)),
        NppesFilter::default(),
    );
    assert_eq!(summary.report.deactivated, 1, "{:?}", summary.report);
    let provider = admin_provider(&app, "1234567893").await;
    assert_eq!(provider["vetting_status"], "suspended");
    let audit = app
        .admin_ok(
            Method::GET,
            &format!(
                "/v1/admin/audit?target_type=provider&target_id={}&action=provider.transition",
                provider["id"]
            ),
            None,
            None,
        )
        .await;
    assert_eq!(
        audit["items"][0]["reason"],
        "NPI deactivated on 2026-04-02 (NPPES)"
    );
    assert_eq!(audit["items"][0]["actor_role"], "import");
    // The same deactivation again changes nothing.
    assert_eq!(
        run(&app, file(&header, &[deactivated]), NppesFilter::default())
            .report
            .deactivated,
        0
    );

    // Reactivated: the full row comes back with a reactivation date; the provider is pending.
    values[10] = ("Last Update Date", "05/01/2026");
    values.push(("NPI Reactivation Date", "05/01/2026"));
    let summary = run(
        &app,
        file(&header, &[row(&header, &values)]),
        NppesFilter::default(),
    );
    assert_eq!(summary.report.reactivated, 1, "{:?}", summary.report);
    assert_eq!(
        admin_provider(&app, "1234567893").await["vetting_status"],
        "pending"
    );
}

async fn nucc_names_the_specialties(app: TestApp) {
    load_nucc(&app);
    // Running processes read the taxonomy at start-up: a new one lists the code set.
    let fresh = app.replica(|_| {}).await;
    let specialties = fresh.get_json("/v1/specialties").await;
    let rheumatology = specialties
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "207RR0500X")
        .expect("a code outside the seeded subset");
    assert_eq!(
        rheumatology["grouping"],
        "Allopathic & Osteopathic Physicians"
    );
    assert_eq!(rheumatology["classification"], "Internal Medicine");
    assert_eq!(rheumatology["specialization"], "Rheumatology");
    assert_eq!(rheumatology["display_name"], "Rheumatology Physician");
    let neurology = specialties
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "2084N0400X")
        .unwrap();
    assert_eq!(neurology["name"], "Neurology", "the seeded name stays");
    assert_eq!(neurology["display_name"], "Neurology Physician");
}

on_both_backends!(
    the_sample_imports_by_the_mapping_rules_and_again_changes_nothing,
    columns_are_found_by_name_and_a_missing_one_is_named,
    filters_co_location_time_zones_and_bad_rows,
    deactivation_suspends_and_reactivation_returns_to_pending,
    nucc_names_the_specialties,
);
