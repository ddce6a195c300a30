//! `405 Method Not Allowed` answers carry an `Allow` header (RFC 9110)
//! listing the methods the path does take, read from the OpenAPI document.

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// Each documented path template, split into segments, with its methods.
#[derive(Debug, Default)]
pub struct AllowedMethods(Vec<(Vec<String>, Vec<String>)>);

impl AllowedMethods {
    /// Reads the paths and methods of an OpenAPI document.
    pub fn from_spec(spec: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let paths = spec["paths"].as_object().cloned().unwrap_or_default();
        Self(
            paths
                .into_iter()
                .map(|(path, operations)| {
                    let segments = path.split('/').map(str::to_owned).collect();
                    let mut methods: Vec<String> = operations
                        .as_object()
                        .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                        .unwrap_or_default();
                    methods.sort();
                    (segments, methods)
                })
                .collect(),
        )
    }

    /// The methods `path` takes, `, `-separated; `None` for an unknown path.
    pub fn for_path(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == segments.len()
                    && template
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t.starts_with('{') || t == s)
            })
            .map(|(_, methods)| methods.join(", "))
    }
}

pub async fn allow_header<E: Endpoint>(
    next: E,
    req: Request,
    allowed: Arc<AllowedMethods>,
) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let mut response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(error) => super::error::to_problem(error).await,
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(value) = allowed
            .for_path(&path)
            .and_then(|m| HeaderValue::from_str(&m).ok())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::AllowedMethods;

    #[test]
    fn templates_match_any_value_in_a_parameter_segment() {
        let spec =
            r#"{"paths": {"/v1/orders": {"get": {}, "post": {}}, "/v1/orders/{id}": {"get": {}}}}"#;
        let allowed = AllowedMethods::from_spec(spec);
        assert_eq!(allowed.for_path("/v1/orders").as_deref(), Some("GET, POST"));
        assert_eq!(allowed.for_path("/v1/orders/abc").as_deref(), Some("GET"));
        assert_eq!(allowed.for_path("/v1/orders/abc/def"), None);
    }
}
