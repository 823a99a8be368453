//! The finder page: a static page at `/` that calls the public search API from the browser, for
//! newcomers and front-end developers to see the API at work. Vanilla HTML, CSS and JavaScript,
//! embedded in the binary (no build step, no CDN, nothing to deploy beside the binary).
//!
//! These routes are registered on the app directly, not through utoipa: they serve a page, not
//! API data, so they stay out of the OpenAPI document, like Swagger UI under `/docs/`. Their
//! Content-Security-Policy is set in [`crate::api::middleware::security`].

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// The page's path; [`crate::api::middleware::security`] gives it a CSP that lets it load its own script and style.
pub const PAGE_PATH: &str = "/";
pub const SCRIPT_PATH: &str = "/finder/finder.js";
pub const STYLE_PATH: &str = "/finder/finder.css";

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("finder.js");
const STYLE: &str = include_str!("finder.css");

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(PAGE_PATH, web::get().to(page))
        .route(SCRIPT_PATH, web::get().to(script))
        .route(STYLE_PATH, web::get().to(style));
}

/// Revalidate on every load: the assets change with the binary, and they are small.
fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}
