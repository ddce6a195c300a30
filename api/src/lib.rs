//! AsyncCheckout's HTTP API.
//!
//! The orders and catalog endpoints (poem + poem-openapi) arrive with the
//! order saga; until then the binary's `api` subcommand says so and exits.
