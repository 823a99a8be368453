//! The finder page at `/`: served as HTML with a CSP that admits only its own script and style,
//! every asset it references served, the API it calls documented, and the page itself kept out of
//! the OpenAPI document. What it shows is checked in Chromium (`tests/e2e/browser.ts`).

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The values of every `src="…"` and `href="…"` attribute in `html`.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_owned());
            }
        }
    }
    found
}

on_both_backends!(
    the_finder_page_is_html_with_a_strict_csp,
    every_asset_the_page_references_is_served,
    the_page_calls_documented_operations_and_is_not_one,
);

async fn the_finder_page_is_html_with_a_strict_csp(app: TestApp) {
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    let csp = header(&response, "content-security-policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&expected), "{expected} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    let html = response.text().await.expect("body");
    assert!(html.starts_with("<!doctype html>"), "{html}");
    // The CSP would block inline code, so the page must have none: each script is a file.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/").count(),
        "{html}"
    );
    assert!(!html.contains(" style=\""), "inline style in {html}");
    let inline_handler = html.match_indices(" on").any(|(start, _)| {
        let name: String = html[start + 3..]
            .chars()
            .take_while(char::is_ascii_lowercase)
            .collect();
        !name.is_empty() && html[start + 3 + name.len()..].starts_with("=\"")
    });
    assert!(!inline_handler, "an inline event handler in {html}");
    // Nothing from elsewhere: every reference is a path on this server, or a place on the page.
    for reference in references(&html) {
        assert!(
            reference.starts_with('/') || reference.starts_with('#'),
            "{reference} is not on this server"
        );
    }

    // The page's CSP is the page's alone: API responses keep theirs.
    let api = app.get("/v1/treatments").await;
    assert!(
        header(&api, "content-security-policy").starts_with("default-src 'none'; frame-ancestors")
    );
}

async fn every_asset_the_page_references_is_served(app: TestApp) {
    let html = app.get("/").await.text().await.expect("body");
    let references = references(&html);
    for (asset, content_type) in [
        ("/finder/finder.js", "text/javascript; charset=utf-8"),
        ("/finder/finder.css", "text/css; charset=utf-8"),
    ] {
        assert!(
            references.iter().any(|r| r == asset),
            "the page loads {asset}"
        );
        let response = app.get(asset).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(header(&response, "content-type"), content_type, "{asset}");
        assert!(!response.text().await.expect("body").is_empty(), "{asset}");
    }
    for reference in references.iter().filter(|r| r.starts_with('/')) {
        let response = app.get(reference).await;
        assert_eq!(response.status(), StatusCode::OK, "{reference}");
    }
    // An asset that does not exist is a problem, like any unknown path.
    assert_problem(app.get("/finder/nothing.js").await, 404).await;
}

async fn the_page_calls_documented_operations_and_is_not_one(app: TestApp) {
    let script = app
        .get("/finder/finder.js")
        .await
        .text()
        .await
        .expect("body");
    let spec: Value = app.get_json("/openapi.json").await;
    let paths = spec["paths"].as_object().expect("paths");
    for called in ["/v1/search/locations", "/v1/treatments"] {
        assert!(
            script.contains(&format!("\"{called}\"")),
            "the page calls {called}"
        );
        assert!(
            paths[called].get("get").is_some(),
            "{called} is a documented GET"
        );
        // Public: the page has no key to send.
        let security = &paths[called]["get"]["security"];
        assert!(
            security.is_null() || security.as_array().is_some_and(|r| r.contains(&json!({}))),
            "{called} is public"
        );
    }
    // The page is not an API operation.
    assert!(paths
        .keys()
        .all(|path| path != "/" && !path.starts_with("/finder")));
}
