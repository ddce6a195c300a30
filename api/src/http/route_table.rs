//! The documented routes, read from the OpenAPI document, and the middleware
//! that uses them: every request is counted and timed by its route template
//! (`/v1/orders/{id}`, never the raw path, so the metrics stay bounded), and
//! a `405 Method Not Allowed` carries an `Allow` header (RFC 9110) listing
//! the methods the path does take.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// Each documented path template with its methods.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<Route>);

#[derive(Debug)]
struct Route {
    template: String,
    segments: Vec<String>,
    methods: Vec<String>,
}

impl RouteTable {
    /// Reads the paths and methods of an OpenAPI document.
    pub fn from_spec(spec: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let paths = spec["paths"].as_object().cloned().unwrap_or_default();
        Self(
            paths
                .into_iter()
                .map(|(template, operations)| {
                    let segments = template.split('/').map(str::to_owned).collect();
                    let mut methods: Vec<String> = operations
                        .as_object()
                        .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                        .unwrap_or_default();
                    methods.sort();
                    Route {
                        template,
                        segments,
                        methods,
                    }
                })
                .collect(),
        )
    }

    fn find(&self, path: &str) -> Option<&Route> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().find(|route| {
            route.segments.len() == segments.len()
                && route
                    .segments
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with('{') || t == s)
        })
    }

    /// The methods `path` takes, `, `-separated; `None` for an unknown path.
    pub fn for_path(&self, path: &str) -> Option<String> {
        self.find(path).map(|route| route.methods.join(", "))
    }

    /// The template `path` matches, e.g. `/v1/orders/{id}`.
    pub fn template(&self, path: &str) -> Option<&str> {
        self.find(path).map(|route| route.template.as_str())
    }
}

/// Counts and times the request by route and status; adds `Allow` to 405s.
pub async fn observe<E: Endpoint>(
    next: E,
    req: Request,
    routes: Arc<RouteTable>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let mut response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(error) => super::catch_all::to_problem(error).await,
    };
    let status = response.status();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(value) = routes
            .for_path(&path)
            .and_then(|m| HeaderValue::from_str(&m).ok())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    let route = match routes.template(&path) {
        Some(template) => template.to_owned(),
        None if path.starts_with("/docs") => "/docs".to_owned(),
        None if path == "/openapi.json" => path,
        None => "unmatched".to_owned(),
    };
    metrics::counter!(
        "asynccheckout_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!(
        "asynccheckout_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::RouteTable;

    #[test]
    fn templates_match_any_value_in_a_parameter_segment() {
        let spec =
            r#"{"paths": {"/v1/orders": {"get": {}, "post": {}}, "/v1/orders/{id}": {"get": {}}}}"#;
        let routes = RouteTable::from_spec(spec);
        assert_eq!(routes.for_path("/v1/orders").as_deref(), Some("GET, POST"));
        assert_eq!(routes.for_path("/v1/orders/abc").as_deref(), Some("GET"));
        assert_eq!(routes.template("/v1/orders/abc"), Some("/v1/orders/{id}"));
        assert_eq!(routes.for_path("/v1/orders/abc/def"), None);
    }
}
