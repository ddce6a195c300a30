//! HTTP plumbing shared by every route: problem+json errors, the request
//! guard (size, content type, well-formed JSON) and request ids.

pub mod error;
pub mod guard;
pub mod problem;
pub mod request_id;
