//! The catalog: products with a price and a stock count.
//!
//! Stock only changes in two places: [`restock`] adds to it, and [`reserve`]
//! takes an order's quantities, all lines or none, in the caller's
//! transaction. The database refuses negative stock whatever the code does.

mod sku;
mod store;

pub use sku::{InvalidSku, Sku};
pub use store::{
    CatalogError, NewProduct, Product, ProductChanges, Reservation, get, insert, list, price_list,
    reserve, restock, update,
};
