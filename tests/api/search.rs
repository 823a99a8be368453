//! Near-me search over HTTP: ranking scenarios, freshness, opening hours, pagination, GeoJSON,
//! and every bad parameter.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, npi, pointers, TestApp};

const CENTRE: (f64, f64) = (40.75065, -73.997293); // ZIP 10001's centroid

fn result_provider_ids(body: &Value) -> Vec<i64> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"]["id"].as_i64().unwrap())
        .collect()
}

/// Two providers for chronic migraine: a nearer one with only a licence, and a farther board
/// certified neurologist with verified injector training.
async fn migraine_scenario(app: &TestApp) -> (i64, i64) {
    let clinic = app.create_clinic("Scenario Clinic").await;
    let near = app
        .create_location(clinic, CENTRE.0 + 0.01, CENTRE.1, "America/New_York")
        .await; // ~1.1 km
    let far = app
        .create_location(clinic, CENTRE.0 + 0.06, CENTRE.1, "America/New_York")
        .await; // ~6.7 km
    let nearer = app
        .public_provider(&npi(100), "207Q00000X", near, "chronic_migraine")
        .await;
    let expert = app
        .public_provider(&npi(101), "2084N0400X", far, "chronic_migraine")
        .await;
    let board = app
        .add_credential(expert, json!({"kind": "board_certification", "issuer": "American Board of Psychiatry and Neurology", "specialty_code": "2084N0400X", "expires_on": "2099-01-01"}))
        .await;
    app.verify_credential(board, "abms_member_board").await;
    let training = app
        .add_credential(
            expert,
            json!({"kind": "injector_training", "issuer": "AAN Botulinum Toxin Course"}),
        )
        .await;
    app.verify_credential(training, "training_provider").await;
    (nearer, expert)
}

async fn credentials_outrank_distance_under_best_but_not_under_distance(app: TestApp) {
    let (nearer, expert) = migraine_scenario(&app).await;
    let query = format!(
        "/v1/search/providers?lat={}&lon={}&radius=25&treatment=chronic_migraine",
        CENTRE.0, CENTRE.1
    );
    let best = app.get_json(&query).await;
    assert_eq!(result_provider_ids(&best), vec![expert, nearer]);
    let by_distance = app.get_json(&format!("{query}&sort=distance")).await;
    assert_eq!(result_provider_ids(&by_distance), vec![nearer, expert]);
    let by_credentials = app.get_json(&format!("{query}&sort=credentials")).await;
    assert_eq!(result_provider_ids(&by_credentials), vec![expert, nearer]);

    // The explanation adds up and names its factors.
    for result in best["results"].as_array().unwrap() {
        let ranking = &result["ranking"];
        let total = ranking["distance_contribution"].as_f64().unwrap()
            + ranking["credential_contribution"].as_f64().unwrap();
        assert!(
            (total - ranking["score"].as_f64().unwrap()).abs() < 1e-9,
            "{ranking}"
        );
        let factors = ranking["factors"].as_object().unwrap();
        let credential: f64 = factors
            .values()
            .map(|f| f["contribution"].as_f64().unwrap())
            .sum();
        assert!((credential - ranking["credential_score"].as_f64().unwrap()).abs() < 1e-9);
    }
    let top = &best["results"][0];
    assert_eq!(
        top["ranking"]["factors"]["board_certification"]["value"],
        1.0
    );
    assert_eq!(top["ranking"]["factors"]["injector_training"]["value"], 1.0);
    assert_eq!(
        top["provider"]["credentials"]["board_certifications"][0]["relevant"],
        true
    );
    assert_eq!(top["provider"]["credentials"]["licences"][0]["state"], "NY");
    // Distances: exact, and miles derived from kilometres.
    let km = top["distance_km"].as_f64().unwrap();
    let mi = top["distance_mi"].as_f64().unwrap();
    assert!((km / 1.609344 - mi).abs() < 1e-9);
    let expected = clinic_finder::search::geodesy::geodesic_distance_m(
        CENTRE.0,
        CENTRE.1,
        CENTRE.0 + 0.06,
        CENTRE.1,
    ) / 1000.0;
    assert!((km - expected).abs() < 0.001, "{km} vs {expected}");
    // Meta echoes the query as understood.
    assert_eq!(best["meta"]["radius_km"], 25.0);
    assert_eq!(
        best["meta"]["filters"]["treatment"],
        json!(["chronic_migraine"])
    );
    assert_eq!(best["meta"]["weights"]["distance"], 0.5);
}

async fn unverified_or_expired_licences_never_appear(app: TestApp) {
    let clinic = app.create_clinic("Licence Clinic").await;
    let location = app
        .create_location(clinic, CENTRE.0, CENTRE.1, "America/New_York")
        .await;
    // Verified provider whose only licence is unverified: cannot even become verified.
    let unlicensed = app.create_provider(&npi(200), "2084N0400X").await;
    app.add_credential(
        unlicensed,
        json!({"kind": "state_license", "issuer": "NY", "jurisdiction": "NY"}),
    )
    .await;
    app.transition(unlicensed, "under_review").await;
    let problem = assert_problem(app.transition(unlicensed, "verified").await, 409).await;
    assert_eq!(problem["code"], "licence_required");
    app.link(unlicensed, location).await;
    app.offer(unlicensed, "chronic_migraine").await;

    // A public provider whose licence expires tomorrow.
    let tomorrow = (app.clock.now() + Duration::days(1))
        .date_naive()
        .to_string();
    let expiring = app.create_provider(&npi(201), "2084N0400X").await;
    app.verified_licence(expiring, &tomorrow).await;
    app.approve(expiring).await;
    app.link(expiring, location).await;
    app.offer(expiring, "chronic_migraine").await;

    let query = format!(
        "/v1/search/providers?lat={}&lon={}&treatment=chronic_migraine",
        CENTRE.0, CENTRE.1
    );
    assert_eq!(
        result_provider_ids(&app.get_json(&query).await),
        vec![expiring]
    );
    app.advance_clock(Duration::days(1));
    assert_eq!(
        result_provider_ids(&app.get_json(&query).await),
        vec![expiring],
        "valid through its expiry date"
    );
    app.advance_clock(Duration::days(1));
    assert_eq!(
        result_provider_ids(&app.get_json(&query).await),
        Vec::<i64>::new(),
        "gone the day after"
    );
    let profile = app.get_json(&format!("/v1/providers/{expiring}")).await;
    assert_eq!(profile["listed_in_search"], false);
    assert_eq!(profile["credentials"], json!([]));
}

async fn pages_yield_every_result_once_in_order(app: TestApp) {
    let clinic = app.create_clinic("Paging Clinic").await;
    let mut expected = Vec::new();
    for i in 0..7 {
        // Pairs at the same spot tie on score and distance: the id breaks the tie.
        let location = app
            .create_location(
                clinic,
                CENTRE.0 + f64::from(i / 2) * 0.01,
                CENTRE.1,
                "America/New_York",
            )
            .await;
        expected.push(
            app.public_provider(
                &npi(300 + i as u32),
                "2084N0400X",
                location,
                "cervical_dystonia",
            )
            .await,
        );
    }
    let base = format!(
        "/v1/search/locations?lat={}&lon={}&treatment=cervical_dystonia&limit=3",
        CENTRE.0, CENTRE.1
    );
    let everything = app.get_json(&base.replace("limit=3", "limit=50")).await;
    let all: Vec<i64> = everything["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"]["location_id"].as_i64().unwrap())
        .collect();
    assert_eq!(all.len(), 7);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.clone(),
        };
        let page = app.get_json(&path).await;
        walked.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["location"]["location_id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, all);

    // A cursor from this query given to another query is refused.
    let first = app.get_json(&base).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let other = format!(
        "/v1/search/locations?lat={}&lon={}&treatment=chronic_migraine&cursor={cursor}",
        CENTRE.0, CENTRE.1
    );
    let problem = assert_problem(app.get(&other).await, 422).await;
    assert_eq!(problem["errors"][0]["code"], "cursor_query_mismatch");
}

async fn open_at_is_judged_in_each_locations_timezone(app: TestApp) {
    let clinic = app.create_clinic("Coast to Coast").await;
    let los_angeles = app
        .create_location(clinic, 34.05, -118.24, "America/Los_Angeles")
        .await;
    app.public_provider(&npi(400), "2084N0400X", los_angeles, "chronic_migraine")
        .await;
    let query = "/v1/search/locations?lat=34.05&lon=-118.24&treatment=chronic_migraine";
    // 11:30 in New York on a Wednesday is 08:30 in Los Angeles: closed (opens 09:00).
    let closed = app
        .get_json(&format!("{query}&open_at=2026-06-10T11:30:00-04:00"))
        .await;
    assert_eq!(closed["results"].as_array().unwrap().len(), 0);
    let all = app.get_json(query).await;
    assert_eq!(all["results"].as_array().unwrap().len(), 1);
    // 12:30 in New York is 09:30 in Los Angeles: open.
    let open = app
        .get_json(&format!("{query}&open_at=2026-06-10T12:30:00-04:00"))
        .await;
    assert_eq!(open["results"][0]["location"]["opening"]["open"], true);
    // DST begins on Sunday 2026-03-08 and the clinic is closed on Sundays; Monday 09:30 local is
    // 16:30Z after the change (it would be 17:30Z before it).
    let monday = app
        .get_json(&format!("{query}&open_at=2026-03-09T16:30:00Z"))
        .await;
    assert_eq!(monday["results"].as_array().unwrap().len(), 1);
    let early = app
        .get_json(&format!("{query}&open_at=2026-03-09T15:59:00Z"))
        .await;
    assert_eq!(
        early["results"].as_array().unwrap().len(),
        0,
        "08:59 PDT is before opening"
    );
    let unfiltered = app.get_json(&format!("{query}&sort=distance")).await;
    assert!(unfiltered["results"][0]["location"]["opening"]["open"].is_boolean());
}

async fn postal_code_and_geojson(app: TestApp) {
    let (_, expert) = migraine_scenario(&app).await;
    let by_zip = app
        .get_json("/v1/search/providers?postal_code=10001&treatment=chronic_migraine")
        .await;
    assert_eq!(by_zip["results"][0]["provider"]["id"], expert);
    assert_eq!(by_zip["meta"]["postal_code"], "10001");
    assert!((by_zip["meta"]["centre"]["lat"].as_f64().unwrap() - CENTRE.0).abs() < 1e-6);

    let response = app
        .request(
            Method::GET,
            "/v1/search/locations?postal_code=10001&treatment=chronic_migraine",
        )
        .header("accept", "application/geo+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/geo+json"
    );
    let collection: Value = response.json().await.unwrap();
    assert_eq!(collection["type"], "FeatureCollection");
    let feature = &collection["features"][0];
    assert_eq!(feature["type"], "Feature");
    assert_eq!(feature["geometry"]["type"], "Point");
    let position = feature["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(
        position[0],
        feature["properties"]["location"]["coordinates"]["lon"]
    );
    assert_eq!(
        position[1],
        feature["properties"]["location"]["coordinates"]["lat"]
    );
    let same = app
        .get_json(
            "/v1/search/locations?postal_code=10001&treatment=chronic_migraine&format=geojson",
        )
        .await;
    assert_eq!(
        same["features"].as_array().unwrap().len(),
        collection["features"].as_array().unwrap().len()
    );
}

async fn bad_search_parameters_name_the_parameter(app: TestApp) {
    let cases = [
        ("lat=90.5&lon=0", "/lat"),
        ("lat=0&lon=200", "/lon"),
        ("lat=NaN&lon=0", "/lat"),
        ("lat=0&lon=inf", "/lon"),
        ("lat=abc&lon=0", "/lat"),
        ("lat=0&lon=0&radius=0", "/radius"),
        ("lat=0&lon=0&radius=-1", "/radius"),
        ("lat=0&lon=0&radius=10000", "/radius"),
        ("lat=0&lon=0&radius=200&unit=mi", "/radius"),
        ("lat=0&lon=0&unit=furlong", "/unit"),
        ("lat=0&lon=0&treatment=hair_growth", "/treatment"),
        ("lat=0&lon=0&specialty=XYZ", "/specialty"),
        ("lat=0&lon=0&degree=PhD", "/degree"),
        ("lat=0&lon=0&language=english", "/language"),
        (
            "lat=0&lon=0&min_years_experience=-3",
            "/min_years_experience",
        ),
        ("lat=0&lon=0&board_certified=maybe", "/board_certified"),
        ("lat=0&lon=0&open_at=yesterday", "/open_at"),
        ("lat=0&lon=0&sort=random", "/sort"),
        ("lat=0&lon=0&q=x", "/q"),
        ("lat=0&lon=0&format=xml", "/format"),
        ("postal_code=ABCDE", "/postal_code"),
        ("postal_code=00000", "/postal_code"),
        ("", "/lat"),
        ("lat=10", "/lon"),
        ("lat=0&lon=0&limit=0", "/limit"),
        ("lat=0&lon=0&limit=51", "/limit"),
        ("lat=0&lon=0&cursor=%%%", "/cursor"),
        ("lat=0&lon=0&cursor=eyJxIjoiIn0", "/cursor"),
        ("lat=0&lon=0&treatment=a,b,c,d,e,f,g,h,i,j,k", "/treatment"),
        ("lat=0&lon=0&lat=1", "/lat"),
        (
            "lat=0&lon=0&treatment=chronic_migraine&treatment=hair_growth",
            "/treatment",
        ),
        ("lat=0&lon=0&radius_km=5", "/radius_km"),
        // List filters take exactly the documented form: values separated by single commas.
        ("lat=0&lon=0&treatment=chronic_migraine,", "/treatment"),
        ("lat=0&lon=0&treatment=%20chronic_migraine", "/treatment"),
        // A place: well formed, known, and not given with another centre.
        ("place=Nowhereville", "/place"),
        ("place=x", "/place"),
        ("place=%3Cscript%3E", "/place"),
        ("place=Chicago&postal_code=10001", "/place"),
        ("place=Chicago&lat=1&lon=1", "/place"),
    ];
    for (query, pointer) in cases {
        for endpoint in ["locations", "providers"] {
            let problem = assert_problem(
                app.get(&format!("/v1/search/{endpoint}?{query}")).await,
                422,
            )
            .await;
            assert!(
                pointers(&problem).contains(&pointer.to_owned()),
                "{query}: {problem}"
            );
        }
    }
}

/// `place`: "City" or "City, ST", resolved offline; the answer says which place it used, and
/// ranks exactly as a search from that place's centre by coordinates.
async fn search_by_place(app: TestApp) {
    let clinic = app.create_clinic("Place Clinic").await;
    // GeoNames' New York City centre, and 3 km north of it.
    let (lat, lon) = (40.71427, -74.00597);
    let near = app
        .create_location(clinic, lat + 0.027, lon, "America/New_York")
        .await;
    let provider = app
        .public_provider(&npi(150), "2084N0400X", near, "chronic_migraine")
        .await;
    for place in ["New York, NY", "new york", "New York City"] {
        let query = format!(
            "/v1/search/providers?place={}&treatment=chronic_migraine&radius=10",
            place.replace(' ', "%20").replace(',', "%2C")
        );
        let body = app.get_json(&query).await;
        assert_eq!(result_provider_ids(&body), vec![provider], "{place}");
        assert_eq!(
            body["meta"]["place"]["place"], "New York City, NY",
            "{place}"
        );
        assert_eq!(body["meta"]["place"]["state"], "NY");
        assert_eq!(body["meta"]["centre"], json!({"lat": lat, "lon": lon}));
        let by_point = app
            .get_json(&format!(
                "/v1/search/providers?lat={lat}&lon={lon}&treatment=chronic_migraine&radius=10"
            ))
            .await;
        assert_eq!(body["results"], by_point["results"], "{place}");
    }
    // A list parameter given as commas or repeated is the same list.
    let commas = app
        .get_json("/v1/search/providers?place=New%20York&radius=10&treatment=chronic_migraine,cervical_dystonia")
        .await;
    let repeated = app
        .get_json("/v1/search/providers?place=New%20York&radius=10&treatment=chronic_migraine&treatment=cervical_dystonia")
        .await;
    assert_eq!(result_provider_ids(&commas), vec![provider]);
    assert_eq!(commas["results"], repeated["results"]);
    assert_eq!(commas["meta"]["filters"], repeated["meta"]["filters"]);
    // An empty list (`treatment=`, what a form sends for no choice) is no filter; an empty value
    // among others is a mistake.
    let unfiltered = app
        .get_json("/v1/search/providers?place=New%20York&radius=10")
        .await;
    let empty = app
        .get_json("/v1/search/providers?place=New%20York&radius=10&treatment=&language=&label=")
        .await;
    assert_eq!(empty["results"], unfiltered["results"]);
    assert_eq!(empty["meta"]["filters"], unfiltered["meta"]["filters"]);
    let problem = assert_problem(
        app.get("/v1/search/providers?place=New%20York&treatment=chronic_migraine,")
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "empty", "{problem}");
    // An ambiguous name: the choices, most populous first, each one a `place` that resolves.
    let problem =
        assert_problem(app.get("/v1/search/locations?place=Springfield").await, 422).await;
    assert_eq!(problem["errors"][0]["code"], "ambiguous_place");
    assert_eq!(problem["errors"][0]["pointer"], "/place");
    let candidates = problem["candidates"].as_array().expect("candidates");
    assert!(candidates.len() >= 2 && candidates.len() <= 10, "{problem}");
    assert_eq!(candidates[0]["place"], "Springfield, MO");
    for candidate in candidates {
        let choice = candidate["place"]
            .as_str()
            .unwrap()
            .replace(' ', "%20")
            .replace(',', "%2C");
        let body = app
            .get_json(&format!("/v1/search/locations?place={choice}"))
            .await;
        assert_eq!(body["meta"]["place"], *candidate);
        assert_eq!(body["meta"]["centre"], candidate["centre"]);
    }
    // Unknown, too long, and not a name at all: a field error each, never a guess.
    for (query, code) in [
        ("place=Nowhereville", "unknown_place"),
        ("place=Chicago%2C%20TX", "unknown_place"),
        (&format!("place={}", "a".repeat(101)), "invalid_place"),
        ("place=%F0%9F%8F%A5", "invalid_place"),
        ("place=12345%3B%20DROP", "invalid_place"),
    ] {
        let problem =
            assert_problem(app.get(&format!("/v1/search/locations?{query}")).await, 422).await;
        assert_eq!(problem["errors"][0]["code"], code, "{query}: {problem}");
        assert!(problem.get("candidates").is_none());
    }
}

async fn search_visits_far_fewer_candidates_than_exist(app: TestApp) {
    let clinic = app.create_clinic("Dense").await;
    for i in 0..60 {
        let location = app
            .create_location(
                clinic,
                CENTRE.0 + f64::from(i) * 0.002,
                CENTRE.1,
                "America/New_York",
            )
            .await;
        if i < 30 {
            app.public_provider(
                &npi(500 + i as u32),
                "2084N0400X",
                location,
                "blepharospasm",
            )
            .await;
        }
    }
    let body = app
        .get_json(&format!(
            "/v1/search/locations?lat={}&lon={}&limit=3&sort=distance&radius=300",
            CENTRE.0, CENTRE.1
        ))
        .await;
    assert_eq!(body["results"].as_array().unwrap().len(), 3);
    let visited = body["meta"]["candidates_visited"].as_u64().unwrap();
    assert!(
        visited < 10,
        "a distance search for 3 stops early: visited {visited} of 60"
    );
}

async fn writes_reach_other_replicas_through_the_change_feed(app: TestApp) {
    // The stated bound: a poll interval of 100 ms plus the reload; the test allows 3 s.
    let replica = app.replica(|settings| settings.change_feed_ms = 100).await;
    let clinic = app.create_clinic("Replicated").await;
    let location = app
        .create_location(clinic, CENTRE.0, CENTRE.1, "America/New_York")
        .await;
    let provider = app
        .public_provider(&npi(700), "2084N0400X", location, "sialorrhea")
        .await;
    let query = format!(
        "/v1/search/providers?lat={}&lon={}&treatment=sialorrhea",
        CENTRE.0, CENTRE.1
    );
    assert_eq!(
        result_provider_ids(&app.get_json(&query).await),
        vec![provider],
        "the writer sees it at once"
    );

    let seen_within = |expected: Vec<i64>| {
        let (replica, query) = (&replica, query.clone());
        async move {
            let started = std::time::Instant::now();
            loop {
                if result_provider_ids(&replica.get_json(&query).await) == expected {
                    return started.elapsed();
                }
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(3),
                    "the replica did not catch up"
                );
                actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    let appeared = seen_within(vec![provider]).await;
    // A suspension through the writer removes it from the replica's search too.
    assert_eq!(app.transition(provider, "suspended").await.status(), 200);
    let disappeared = seen_within(vec![]).await;
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "change feed ({:?}): appeared on the replica after {appeared:?}, left after {disappeared:?}", app.backend);
}

on_both_backends!(
    writes_reach_other_replicas_through_the_change_feed,
    credentials_outrank_distance_under_best_but_not_under_distance,
    unverified_or_expired_licences_never_appear,
    pages_yield_every_result_once_in_order,
    open_at_is_judged_in_each_locations_timezone,
    postal_code_and_geojson,
    bad_search_parameters_name_the_parameter,
    search_by_place,
    search_visits_far_fewer_candidates_than_exist,
);
