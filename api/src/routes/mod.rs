//! The API's operations, one `#[OpenApi]` impl per resource.

pub mod catalog;
pub mod events;
pub mod operations;
pub mod orders;
pub mod probes;
pub mod queue_kinds;
pub mod queue_workers;
pub mod webhooks;

mod pagination;

use poem_openapi::Tags;

#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Products, prices and stock.
    Catalog,
    /// Placing, reading and cancelling orders.
    Orders,
    /// What happened to orders, oldest first.
    Events,
    /// Endpoints that order events are POSTed to, signed, and their deliveries.
    Webhooks,
    /// Tasks and the queue, for operators (`admin` scope).
    Operations,
    /// Liveness and readiness, for load balancers and orchestrators.
    Probes,
}
