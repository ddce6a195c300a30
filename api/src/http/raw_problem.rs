//! Problems as raw poem responses, for the middleware outside poem-openapi
//! and for failed authentication (which poem-openapi answers itself).

use poem::Response;
use poem::http::StatusCode;

use super::problem::{Problem, ProblemType};

/// The `WWW-Authenticate` challenge of every 401.
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"asynccheckout\"";

/// A problem as a raw response, for middleware outside poem-openapi.
pub fn problem_response(problem: Problem) -> Response {
    use poem_openapi::types::ToJSON;

    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = problem
        .to_json()
        .map(|json| json.to_string())
        .unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(body)
}

/// The 401 every authentication failure gets.
pub fn unauthorized(detail: &str) -> Response {
    let mut response = problem_response(Problem::new(ProblemType::Unauthorized, detail));
    response.headers_mut().insert(
        poem::http::header::WWW_AUTHENTICATE,
        poem::http::HeaderValue::from_static(BEARER_CHALLENGE),
    );
    response
}
