//! The order events as the API serves them: kept numbered by
//! [`numbering`], and read in pages by `GET /v1/events` (see
//! `routes::events`).

pub mod numbering;
