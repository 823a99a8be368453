//! What the OpenAPI document promises about each path, read from the document itself so that the
//! HTTP layer and the spec cannot disagree: which methods a path has (for `Allow`, `OPTIONS` and
//! 405), which query parameters each operation takes (any other is refused, everywhere), whether a
//! key is optional on it, and the media types its success answers come in (for `Accept`).

use actix_web::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

/// One operation as the contract sees it.
#[derive(Debug, Clone)]
pub struct OperationContract {
    pub method: Method,
    /// The query parameters it documents; any other is refused with 422.
    pub query_parameters: Vec<String>,
    /// Public, with a key optional (the effective security list has the empty requirement).
    pub key_optional: bool,
    /// The media types of its success responses, the preferred first.
    pub offered: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PathContract {
    pub template: String,
    pub operations: Vec<OperationContract>,
}

impl PathContract {
    pub fn operation(&self, method: &Method) -> Option<&OperationContract> {
        self.operations.iter().find(|o| o.method == *method)
    }

    /// The `Allow` header: the documented methods, `HEAD` wherever `GET` is, and `OPTIONS`.
    pub fn allow(&self) -> String {
        let mut methods: Vec<&str> = self.operations.iter().map(|o| o.method.as_str()).collect();
        if self.operation(&Method::GET).is_some() {
            methods.push("HEAD");
        }
        methods.push("OPTIONS");
        methods.join(", ")
    }
}

/// Every path of the document.
#[derive(Debug, Clone, Default)]
pub struct Contract {
    paths: Vec<PathContract>,
}

impl Contract {
    /// Reads the finished document (`openapi::finish` has set the security lists).
    pub fn from_document(api: &OpenApi) -> Contract {
        let global_optional = api
            .security
            .as_ref()
            .is_some_and(|list| list.iter().any(is_empty_requirement));
        let paths = api
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let operations = [
                    (Method::GET, &item.get),
                    (Method::POST, &item.post),
                    (Method::PUT, &item.put),
                    (Method::PATCH, &item.patch),
                    (Method::DELETE, &item.delete),
                ]
                .into_iter()
                .filter_map(|(method, operation)| {
                    let operation = operation.as_ref()?;
                    Some(OperationContract {
                        method,
                        query_parameters: query_parameters(operation),
                        key_optional: match &operation.security {
                            None => global_optional,
                            Some(list) => list.iter().any(is_empty_requirement) && list.len() > 1,
                        },
                        offered: offered(operation),
                    })
                })
                .collect();
                PathContract {
                    template: template.clone(),
                    operations,
                }
            })
            .collect();
        Contract { paths }
    }

    /// The documented path a request path falls under, if any.
    pub fn path(&self, path: &str) -> Option<&PathContract> {
        self.paths
            .iter()
            .find(|entry| template_matches(&entry.template, path))
    }
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement)
        .is_ok_and(|value| value.as_object().is_some_and(|o| o.is_empty()))
}

fn query_parameters(operation: &Operation) -> Vec<String> {
    operation
        .parameters
        .iter()
        .flatten()
        .filter(|parameter| parameter.parameter_in == ParameterIn::Query)
        .map(|parameter| parameter.name.clone())
        .collect()
}

fn offered(operation: &Operation) -> Vec<String> {
    operation
        .responses
        .responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .filter_map(|(_, response)| match response {
            RefOr::T(response) => Some(response.content.keys().cloned().collect::<Vec<_>>()),
            RefOr::Ref(_) => None,
        })
        .flatten()
        .fold(Vec::new(), |mut offered, media_type| {
            if !offered.contains(&media_type) {
                offered.push(media_type);
            }
            offered
        })
}

/// Whether `path` fits `template` (`/v1/clinics/{id}`): the same segments, a parameter matching
/// any non-empty segment.
pub fn template_matches(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}
