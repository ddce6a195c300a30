//! The catalog: products with a price and a stock count.
//!
//! Stock only changes in two places: [`restock`] adds to it, and the
//! `reserve_inventory` step's end (`crate::orders::end_step`) takes an
//! order's quantities, all lines or none. The database refuses negative
//! stock whatever the code does.

mod sku;
mod store;

pub use sku::{InvalidSku, Sku};
pub use store::{
    CatalogError, NewProduct, Product, ProductChanges, get, insert, list, restock, update,
};
