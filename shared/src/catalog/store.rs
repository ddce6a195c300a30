//! Catalog queries. Each takes a connection, so the caller picks the
//! transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::Sku;
use crate::money::{Cents, Currency};

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A product to create, already validated.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: String,
    pub price: Cents,
    pub currency: Currency,
    pub stock: i32,
}

/// Fields of a product to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub price: Option<Cents>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("a product with sku {0} already exists")]
    SkuTaken(Sku),
    #[error("restocking {sku} by {quantity} would overflow its stock count")]
    StockOverflow { sku: String, quantity: i32 },
    /// Kept as the source (not transparent) so that callers can find the
    /// `sqlx::Error` in the chain, e.g. to tell a lost connection apart.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub async fn insert(
    conn: &mut PgConnection,
    product: &NewProduct,
) -> Result<Product, CatalogError> {
    let inserted = sqlx::query_as!(
        Product,
        r#"
        INSERT INTO products (sku, name, price_cents, currency, stock)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (sku) DO NOTHING
        RETURNING sku, name, price_cents, currency, stock, created_at, updated_at
        "#,
        product.sku.as_str(),
        product.name,
        product.price.get(),
        product.currency.as_str(),
        product.stock,
    )
    .fetch_optional(conn)
    .await?;
    inserted.ok_or_else(|| CatalogError::SkuTaken(product.sku.clone()))
}

pub async fn get(conn: &mut PgConnection, sku: &str) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as!(
        Product,
        "SELECT sku, name, price_cents, currency, stock, created_at, updated_at
         FROM products WHERE sku = $1",
        sku,
    )
    .fetch_optional(conn)
    .await
}

/// Up to `limit` products in sku order, starting after the sku `after`.
pub async fn list(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Product>, sqlx::Error> {
    sqlx::query_as!(
        Product,
        "SELECT sku, name, price_cents, currency, stock, created_at, updated_at
         FROM products
         WHERE $1::text IS NULL OR sku > $1
         ORDER BY sku
         LIMIT $2",
        after,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Applies `changes`; `None` when there is no such product.
pub async fn update(
    conn: &mut PgConnection,
    sku: &str,
    changes: &ProductChanges,
) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as!(
        Product,
        r#"
        UPDATE products
        SET name = coalesce($2, name),
            price_cents = coalesce($3, price_cents),
            updated_at = now()
        WHERE sku = $1
        RETURNING sku, name, price_cents, currency, stock, created_at, updated_at
        "#,
        sku,
        changes.name,
        changes.price.map(Cents::get),
    )
    .fetch_optional(conn)
    .await
}

/// Adds `quantity` to the stock in one atomic increment; `None` when there is
/// no such product.
pub async fn restock(
    conn: &mut PgConnection,
    sku: &str,
    quantity: i32,
) -> Result<Option<Product>, CatalogError> {
    let restocked = sqlx::query_as!(
        Product,
        r#"
        UPDATE products
        SET stock = stock + $2, updated_at = now()
        WHERE sku = $1
        RETURNING sku, name, price_cents, currency, stock, created_at, updated_at
        "#,
        sku,
        quantity,
    )
    .fetch_optional(conn)
    .await;
    match restocked {
        // integer_out_of_range: the count would pass i32::MAX.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("22003") => {
            Err(CatalogError::StockOverflow {
                sku: sku.to_owned(),
                quantity,
            })
        }
        other => Ok(other?),
    }
}
