//! HTTP plumbing shared by every route: API-key authentication,
//! problem+json errors, the request guard (size, content type, well-formed
//! JSON, body read timeout), per-key rate limits, request ids and timeouts.

pub mod auth;
pub mod catch_all;
mod domain_errors;
pub mod error;
pub mod guard;
pub mod nul;
pub mod problem;
pub mod rate_limit;
pub mod raw_problem;
pub mod request_id;
pub mod route_table;
pub mod strict_string;
