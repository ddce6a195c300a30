//! The order events as the API serves them: read and published to this
//! process's streams by [`feed`], and sent by [`streams`] as Server-Sent
//! Events ([`sse`]) (`GET /v1/orders/{id}/events`, `GET /v1/events/stream`);
//! read in pages by `GET /v1/events` (see `routes::events`).

pub mod feed;
pub mod sse;
pub mod streams;
