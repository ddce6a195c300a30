//! The API's operations, one `#[OpenApi]` impl per resource.

pub mod catalog;
pub mod orders;
pub mod probes;

mod pagination;
mod validate;

use poem_openapi::Tags;

#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Products, prices and stock.
    Catalog,
    /// Placing, reading and cancelling orders.
    Orders,
    /// Liveness and readiness, for load balancers and orchestrators.
    Probes,
}
