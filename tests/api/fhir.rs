//! The FHIR R4 facade over HTTP: `Location?near` agrees with the public search, only public
//! providers and credentials appear, errors are OperationOutcomes, paging visits each result once.

use chrono::{Duration, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{npi, TestApp};

const CENTRE: (f64, f64) = (40.75065, -73.997293); // ZIP 10001's centroid

async fn fhir_json(response: Response) -> Value {
    let status = response.status().as_u16();
    let content_type = content_type(&response);
    let body = response.text().await.expect("body");
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}"
    );
    serde_json::from_str(&body).expect("json")
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Asserts an OperationOutcome with `status` and returns it.
async fn assert_outcome(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = content_type(&response);
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "{body}");
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}: {body}"
    );
    let outcome: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    let issues = outcome["issue"].as_array().expect("issues");
    assert!(!issues.is_empty(), "{outcome}");
    for issue in issues {
        assert!(
            issue["severity"].is_string() && issue["code"].is_string(),
            "{issue}"
        );
        assert!(issue["diagnostics"].is_string(), "{issue}");
    }
    outcome
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|link| link["relation"] == "next")
        .and_then(|link| link["url"].as_str().map(str::to_owned))
}

/// Four locations north of the centre at growing distances: three with a public provider, one
/// (the nearest) whose only provider is still pending, so public search must skip it.
async fn four_locations(app: &TestApp) -> (Vec<i64>, i64) {
    let clinic = app.create_clinic("Distance Clinic").await;
    let mut public = Vec::new();
    let hidden = app
        .create_location(clinic, CENTRE.0 + 0.005, CENTRE.1, "America/New_York")
        .await;
    let pending = app.create_provider(&npi(300), "2084N0400X").await;
    app.link(pending, hidden).await;
    for (n, offset) in [0.03, 0.01, 0.02].into_iter().enumerate() {
        let location = app
            .create_location(clinic, CENTRE.0 + offset, CENTRE.1, "America/New_York")
            .await;
        app.public_provider(
            &npi(301 + n as u32),
            "2084N0400X",
            location,
            "chronic_migraine",
        )
        .await;
        public.push(location);
    }
    (public, hidden)
}

async fn near_search_agrees_with_the_public_search_by_distance(app: TestApp) {
    let (public, hidden) = four_locations(&app).await;
    let v1 = app
        .get_json(&format!(
            "/v1/search/locations?lat={}&lon={}&radius=10&sort=distance",
            CENTRE.0, CENTRE.1
        ))
        .await;
    let expected: Vec<(String, f64)> = v1["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["location"]["location_id"].as_i64().unwrap().to_string(),
                r["distance_km"].as_f64().unwrap(),
            )
        })
        .collect();
    // The nearest first: public[1] (0.01°), public[2] (0.02°), public[0] (0.03°).
    let expected_ids: Vec<String> = [public[1], public[2], public[0]]
        .iter()
        .map(i64::to_string)
        .collect();
    assert_eq!(
        expected
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        expected_ids
    );

    let bundle = fhir_json(
        app.get(&format!(
            "/fhir/Location?near={}|{}|10|km",
            CENTRE.0, CENTRE.1
        ))
        .await,
    )
    .await;
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    let found: Vec<(String, f64)> = entries(&bundle)
        .iter()
        .map(|entry| {
            assert_eq!(entry["search"]["mode"], "match");
            let extension = &entry["search"]["extension"][0];
            assert_eq!(
                extension["url"],
                "http://hl7.org/fhir/StructureDefinition/location-distance"
            );
            assert_eq!(extension["valueDistance"]["code"], "km");
            assert_eq!(
                extension["valueDistance"]["system"],
                "http://unitsofmeasure.org"
            );
            let id = entry["resource"]["id"].as_str().unwrap().to_owned();
            assert!(
                entry["fullUrl"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/fhir/Location/{id}")),
                "{entry}"
            );
            (id, extension["valueDistance"]["value"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(found, expected, "same locations, order and distances");
    assert!(!found.iter().any(|(id, _)| *id == hidden.to_string()));

    // The resource itself: position, address, the clinic, hours.
    let location = &entries(&bundle)[0]["resource"];
    assert_eq!(location["status"], "active");
    assert_eq!(
        location["position"]["latitude"].as_f64().unwrap(),
        CENTRE.0 + 0.01
    );
    assert_eq!(location["address"]["postalCode"], "10001");
    assert!(location["managingOrganization"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("Organization/"));
    assert_eq!(
        location["hoursOfOperation"][0]["daysOfWeek"],
        json!(["mon", "tue", "wed", "thu", "fri"])
    );
    assert_eq!(location["hoursOfOperation"][0]["openingTime"], "09:00:00");

    // In miles: the same order, distances in [mi_i].
    let miles = fhir_json(
        app.get(&format!(
            "/fhir/Location?near={}|{}|6.2|mi",
            CENTRE.0, CENTRE.1
        ))
        .await,
    )
    .await;
    for (entry, (id, km)) in entries(&miles).iter().zip(&expected) {
        assert_eq!(entry["resource"]["id"], id.as_str());
        let distance = &entry["search"]["extension"][0]["valueDistance"];
        assert_eq!(distance["code"], "[mi_i]");
        assert!((distance["value"].as_f64().unwrap() - km / 1.609344).abs() < 1e-9);
    }

    // A radius that only reaches the nearest public location.
    let close = fhir_json(
        app.get(&format!(
            "/fhir/Location?near={}|{}|1.5",
            CENTRE.0, CENTRE.1
        ))
        .await,
    )
    .await;
    let ids: Vec<String> = entries(&close)
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![public[1].to_string()]);

    // Locations and their clinic read as FHIR too; the hidden location is a public location read.
    let read = fhir_json(app.get(&format!("/fhir/Location/{hidden}")).await).await;
    assert_eq!(read["id"], hidden.to_string());
    let organization = location["managingOrganization"]["reference"]
        .as_str()
        .unwrap();
    let clinic = fhir_json(app.get(&format!("/fhir/{organization}")).await).await;
    assert_eq!(clinic["resourceType"], "Organization");
    assert_eq!(clinic["name"], "Distance Clinic");
}

async fn paging_visits_every_location_exactly_once(app: TestApp) {
    let (public, _) = four_locations(&app).await;
    let mut url = format!(
        "{}/fhir/Location?near={}|{}|10|km&_count=2",
        app.address, CENTRE.0, CENTRE.1
    );
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let bundle = fhir_json(app.client.get(&url).send().await.expect("request")).await;
        pages += 1;
        assert!(entries(&bundle).len() <= 2);
        seen.extend(entries(&bundle).iter().map(|e| {
            e["resource"]["id"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        }));
        let self_link = bundle["link"][0]["url"].as_str().unwrap();
        assert!(self_link.contains("_count=2"), "{self_link}");
        match next_link(&bundle) {
            // The links are absolute, on the address the client used.
            Some(next) => {
                assert!(next.starts_with(&app.address), "{next}");
                url = next;
            }
            None => break,
        }
        assert!(pages < 5, "paging does not end");
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, vec![public[1], public[2], public[0]]);

    // A page token of another search is refused.
    let first = fhir_json(
        app.get(&format!(
            "/fhir/Location?near={}|{}|10|km&_count=1",
            CENTRE.0, CENTRE.1
        ))
        .await,
    )
    .await;
    let token = next_link(&first)
        .unwrap()
        .split("_cursor=")
        .nth(1)
        .unwrap()
        .to_owned();
    let outcome = assert_outcome(
        app.get(&format!(
            "/fhir/Location?near={}|{}|20|km&_cursor={token}",
            CENTRE.0, CENTRE.1
        ))
        .await,
        422,
    )
    .await;
    assert_eq!(outcome["issue"][0]["expression"], json!(["_cursor"]));
}

async fn practitioner_shows_exactly_the_public_profile_credentials(app: TestApp) {
    let clinic = app.create_clinic("Credential Clinic").await;
    let location = app
        .create_location(clinic, CENTRE.0, CENTRE.1, "America/New_York")
        .await;
    let provider = app
        .public_provider(&npi(310), "2084N0400X", location, "chronic_migraine")
        .await;
    let soon = (Utc::now() + Duration::days(10)).date_naive().to_string();
    let board = app
        .add_credential(provider, json!({"kind": "board_certification", "issuer": "American Board of Psychiatry and Neurology",
            "specialty_code": "2084N0400X", "expires_on": soon}))
        .await;
    app.verify_credential(board, "abms_member_board").await;
    // Never verified: must never appear.
    let unverified = app
        .add_credential(
            provider,
            json!({"kind": "injector_training", "issuer": "Unchecked Course"}),
        )
        .await;

    let qualification_ids = |practitioner: &Value| -> Vec<String> {
        practitioner["qualification"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let profile_ids = |profile: &Value| -> Vec<String> {
        profile["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("credential-{}", c["id"]))
            .collect()
    };

    let practitioner = fhir_json(app.get(&format!("/fhir/Practitioner/{provider}")).await).await;
    let profile = app.get_json(&format!("/v1/providers/{provider}")).await;
    assert_eq!(qualification_ids(&practitioner), profile_ids(&profile));
    assert_eq!(
        qualification_ids(&practitioner).len(),
        2,
        "licence and board"
    );
    assert!(!qualification_ids(&practitioner).contains(&format!("credential-{unverified}")));
    assert_eq!(
        practitioner["identifier"][0],
        json!({"use": "official", "system": "http://hl7.org/fhir/sid/us-npi", "value": npi(310)})
    );
    assert_eq!(practitioner["name"][0]["family"], profile["family_name"]);
    assert_eq!(practitioner["name"][0]["suffix"], json!(["MD"]));
    assert_eq!(practitioner["communication"][0]["coding"][0]["code"], "en");
    assert!(
        practitioner.get("gender").is_none(),
        "the directory has no gender"
    );
    let board_qualification = practitioner["qualification"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == format!("credential-{board}"))
        .unwrap()
        .clone();
    assert_eq!(board_qualification["period"]["end"], soon);
    assert_eq!(
        board_qualification["issuer"]["display"],
        "American Board of Psychiatry and Neurology"
    );
    let specialty = &board_qualification["code"]["coding"][1];
    assert_eq!(specialty["system"], "http://nucc.org/provider-taxonomy");
    assert_eq!(specialty["code"], "2084N0400X");
    assert!(specialty["display"].is_string(), "{specialty}");
    let licence = &practitioner["qualification"][0];
    assert_eq!(licence["code"]["coding"][0]["code"], "state_license");
    assert_eq!(
        licence["extension"][0]["extension"][1]["valueCodeableConcept"]["coding"][0]["code"],
        "NY"
    );

    // Once the board certification has expired it leaves both views.
    app.advance_clock(Duration::days(11));
    let practitioner = fhir_json(app.get(&format!("/fhir/Practitioner/{provider}")).await).await;
    let profile = app.get_json(&format!("/v1/providers/{provider}")).await;
    assert_eq!(qualification_ids(&practitioner), profile_ids(&profile));
    assert!(!qualification_ids(&practitioner).contains(&format!("credential-{board}")));

    // An unvetted provider is not found, as an OperationOutcome.
    let pending = app.create_provider(&npi(311), "2084N0400X").await;
    app.verified_licence(pending, "2099-12-31").await;
    let outcome =
        assert_outcome(app.get(&format!("/fhir/Practitioner/{pending}")).await, 404).await;
    assert_eq!(outcome["issue"][0]["code"], "not-found");
    // Suspended: gone as well.
    assert_eq!(
        app.transition(provider, "suspended")
            .await
            .status()
            .as_u16(),
        200
    );
    assert_outcome(
        app.get(&format!("/fhir/Practitioner/{provider}")).await,
        404,
    )
    .await;
}

async fn practitioner_roles_link_public_providers_to_the_location(app: TestApp) {
    let clinic = app.create_clinic("Role Clinic").await;
    let location = app
        .create_location(clinic, CENTRE.0, CENTRE.1, "America/New_York")
        .await;
    let other = app
        .create_location(clinic, CENTRE.0 + 0.01, CENTRE.1, "America/New_York")
        .await;
    let public = app
        .public_provider(&npi(320), "2084N0400X", location, "chronic_migraine")
        .await;
    app.link(public, other).await;
    let pending = app.create_provider(&npi(321), "207Q00000X").await;
    app.link(pending, location).await;

    let role_ids = |bundle: &Value| -> Vec<String> {
        entries(bundle)
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for query in [format!("Location/{location}"), location.to_string()] {
        let bundle = fhir_json(
            app.get(&format!("/fhir/PractitionerRole?location={query}"))
                .await,
        )
        .await;
        assert_eq!(role_ids(&bundle), vec![format!("{public}-{location}")]);
        assert_eq!(bundle["total"], 1);
        let role = &entries(&bundle)[0]["resource"];
        assert_eq!(
            role["practitioner"]["reference"],
            format!("Practitioner/{public}")
        );
        assert_eq!(
            role["location"][0]["reference"],
            format!("Location/{location}")
        );
        assert_eq!(
            role["organization"]["reference"],
            format!("Organization/{clinic}")
        );
        let specialty = &role["specialty"][0]["coding"][0];
        assert_eq!(specialty["system"], "http://nucc.org/provider-taxonomy");
        assert_eq!(specialty["code"], "2084N0400X");
        assert!(specialty["display"].is_string(), "{specialty}");
    }
    // By practitioner: both of their locations; the pending provider has none.
    let bundle = fhir_json(
        app.get(&format!(
            "/fhir/PractitionerRole?practitioner=Practitioner/{public}"
        ))
        .await,
    )
    .await;
    let mut ids = role_ids(&bundle);
    ids.sort();
    let mut expected = vec![format!("{public}-{location}"), format!("{public}-{other}")];
    expected.sort();
    assert_eq!(ids, expected);
    let none = fhir_json(
        app.get(&format!("/fhir/PractitionerRole?practitioner={pending}"))
            .await,
    )
    .await;
    assert_eq!(none["total"], 0);
    assert!(none.get("entry").is_none());

    let role = fhir_json(
        app.get(&format!("/fhir/PractitionerRole/{public}-{other}"))
            .await,
    )
    .await;
    assert_eq!(
        role["location"][0]["reference"],
        format!("Location/{other}")
    );
    assert_outcome(
        app.get(&format!("/fhir/PractitionerRole/{pending}-{location}"))
            .await,
        404,
    )
    .await;
    assert_outcome(app.get("/fhir/PractitionerRole/nonsense").await, 422).await;
    assert_outcome(app.get("/fhir/PractitionerRole").await, 422).await;
    assert_outcome(
        app.get("/fhir/PractitionerRole?location=Practitioner/1")
            .await,
        422,
    )
    .await;
    // A full URL is a reference; one longer than the documented 300 characters, or with
    // characters no URL path has, is not (and two of them still fit the query-string limit).
    let url = format!("https://fhir.example.org/r4/Location/{location}");
    let bundle = fhir_json(
        app.get(&format!("/fhir/PractitionerRole?location={url}"))
            .await,
    )
    .await;
    assert_eq!(bundle["total"], 1);
    let long = format!("https://{}/Location/{location}", "a".repeat(300));
    let odd = format!("https://fhir.example.org/%20x/Location/{location}");
    for bad in [long, odd] {
        assert_outcome(
            app.get(&format!(
                "/fhir/PractitionerRole?location={bad}&practitioner={bad}"
            ))
            .await,
            422,
        )
        .await;
    }
}

async fn bad_input_is_an_operation_outcome_never_a_500(app: TestApp) {
    let bad_near = [
        "40.7",           // a part missing
        "40.7|",          // an empty part
        "|-73.9|5|km",    // no latitude
        "NaN|-73.9|5|km", // not a number
        "40.7|inf|5|km",
        "91|-73.9|5|km",     // latitude out of range
        "40.7|-73.9|301|km", // above the cap
        "40.7|-73.9|187|mi",
        "40.7|-73.9|0|km",
        "40.7|-73.9|5|parsecs", // unknown unit
        "40.7|-73.9|5|km|extra",
    ];
    for near in bad_near {
        let response = app
            .request(Method::GET, "/fhir/Location")
            .query(&[("near", near)])
            .send()
            .await
            .expect("request");
        let outcome = assert_outcome(response, 422).await;
        assert_eq!(
            outcome["issue"][0]["expression"],
            json!(["near"]),
            "{near}: {outcome}"
        );
        assert_eq!(outcome["issue"][0]["severity"], "error");
        assert_eq!(
            outcome["issue"][0]["details"]["coding"][0]["code"],
            "validation_failed"
        );
        assert!(
            outcome["extension"][0]["valueCode"].is_string(),
            "request id"
        );
    }
    let outcome = assert_outcome(app.get("/fhir/Location").await, 422).await;
    assert_eq!(outcome["issue"][0]["code"], "required");
    let outcome = assert_outcome(app.get("/fhir/Location?near=40|-73&_sort=name").await, 422).await;
    assert_eq!(outcome["issue"][0]["code"], "not-supported");
    assert_outcome(app.get("/fhir/Location?near=40|-73&_count=0").await, 422).await;
    assert_outcome(
        app.get("/fhir/Location?near=40|-73&_cursor=garbage").await,
        422,
    )
    .await;
    assert_outcome(app.get("/fhir/Location/abc").await, 422).await;
    assert_outcome(app.get("/fhir/Location/999999").await, 404).await;
    assert_outcome(app.get("/fhir/Organization/999999").await, 404).await;
    assert_outcome(app.get("/fhir/Practitioner/999999").await, 404).await;
    assert_outcome(app.get("/fhir/Basic/1").await, 404).await;
    let outcome = assert_outcome(app.get("/fhir/metadata?_format=xml").await, 406).await;
    assert_eq!(outcome["issue"][0]["code"], "not-supported");
    let response = app
        .request(Method::GET, "/fhir/metadata")
        .header("Accept", "application/fhir+xml")
        .send()
        .await
        .expect("request");
    assert_outcome(response, 406).await;
    let response = app
        .request(Method::DELETE, "/fhir/Location/1")
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["allow"], "GET, HEAD, OPTIONS");
    assert_outcome(response, 405).await;
    // _count above the page maximum is served at the maximum, as FHIR allows.
    let bundle = fhir_json(app.get("/fhir/Location?near=40|-73&_count=500").await).await;
    assert!(bundle["link"][0]["url"]
        .as_str()
        .unwrap()
        .contains("_count=50"));
    // The rest of the API keeps problem details.
    let response = app.get("/v1/locations/999999").await;
    assert!(content_type(&response).starts_with("application/problem+json"));
}

async fn metadata_describes_what_is_implemented(app: TestApp) {
    let response = app
        .request(Method::GET, "/fhir/metadata")
        .header("Accept", "application/fhir+json")
        .send()
        .await
        .expect("request");
    let statement = fhir_json(response).await;
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["status"], "active");
    assert_eq!(statement["kind"], "instance");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    assert_eq!(statement["rest"][0]["mode"], "server");
    let resources: Vec<(String, Vec<String>, Vec<String>)> = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let codes = |key: &str, field: &str| -> Vec<String> {
                r[key]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|i| i[field].as_str().unwrap().to_owned())
                    .collect()
            };
            (
                r["type"].as_str().unwrap().to_owned(),
                codes("interaction", "code"),
                codes("searchParam", "name"),
            )
        })
        .collect();
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        resources,
        vec![
            (
                "Location".into(),
                owned(&["read", "search-type"]),
                owned(&["near"])
            ),
            ("Organization".into(), owned(&["read"]), vec![]),
            ("Practitioner".into(), owned(&["read"]), vec![]),
            (
                "PractitionerRole".into(),
                owned(&["read", "search-type"]),
                owned(&["location", "practitioner"])
            ),
        ]
    );
    // Pretty printing on request.
    let pretty = app.get("/fhir/metadata?_pretty=true&_format=json").await;
    assert!(pretty
        .text()
        .await
        .unwrap()
        .contains("\n  \"resourceType\""));
}

on_both_backends!(
    near_search_agrees_with_the_public_search_by_distance,
    paging_visits_every_location_exactly_once,
    practitioner_shows_exactly_the_public_profile_credentials,
    practitioner_roles_link_public_providers_to_the_location,
    bad_input_is_an_operation_outcome_never_a_500,
    metadata_describes_what_is_implemented,
);
