//! `GET /openapi.json`: the document `clinic-finder openapi` prints (and `openapi/openapi.json`
//! holds), with its server's defaults set to the origin the reader reached. A generator reading
//! it from a deployment, and the /docs/ page's "Try it out", then call that deployment rather
//! than the committed default (`http://127.0.0.1:8080`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::api::origin::{origin, vary_on_forwarded, Origin};
use crate::state::AppState;

/// The document as the code generates it.
pub struct ServedDocument(pub Value);

pub async fn openapi_json(
    state: web::Data<AppState>,
    document: web::Data<ServedDocument>,
    request: HttpRequest,
) -> HttpResponse {
    let Origin { scheme, host } = origin(&state, &request);
    let mut served = document.0.clone();
    if let Some(variables) = served.pointer_mut("/servers/0/variables") {
        variables["scheme"]["default"] = json!(scheme);
        variables["host"]["default"] = json!(host);
    }
    let mut response = HttpResponse::Ok().json(served);
    vary_on_forwarded(&state, &mut response);
    response
}
