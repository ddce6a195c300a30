//! `/v1/products`: create, read, list, change and restock products.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shared::catalog::{self, NewProduct, Product, ProductChanges, Sku};
use shared::db::Session;
use shared::keys::Scope;
use shared::money::{Cents, Currency};

use super::{ApiTags, pagination};
use crate::AppState;
use crate::http::auth::ApiKeyAuth;
use crate::http::error::{ApiError, ErrorResponse};
use crate::http::strict_string::StrictString;
use shared::validation::{Violations, char_len};

pub struct CatalogApi;

/// A product as sold.
#[derive(Debug, Object)]
#[oai(rename = "Product", example)]
pub struct ProductView {
    /// 1–64 characters of `A–Z a–z 0–9 . _ -`.
    pub sku: String,
    pub name: String,
    /// Price in the currency's minor unit (cents).
    pub price_cents: i64,
    /// ISO 4217, uppercase.
    pub currency: String,
    /// Units available to reserve.
    pub stock: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for ProductView {
    fn example() -> Self {
        let at = crate::views::example_time();
        Self {
            sku: "TSHIRT-M".to_owned(),
            name: "T-shirt M".to_owned(),
            price_cents: 1999,
            currency: "USD".to_owned(),
            stock: 25,
            created_at: at,
            updated_at: at,
        }
    }
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            sku: p.sku,
            name: p.name,
            price_cents: p.price_cents,
            currency: p.currency,
            stock: p.stock,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A product to create.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct CreateProduct {
    /// 1–64 characters of `A–Z a–z 0–9 . _ -`; unique.
    pub sku: StrictString,
    /// 1–200 characters.
    pub name: StrictString,
    /// Price in minor units, ≥ 0.
    pub price_cents: i64,
    /// ISO 4217 code, three uppercase letters.
    pub currency: StrictString,
    /// Initial stock, 0 – 2,147,483,647.
    pub stock: i64,
}

impl poem_openapi::types::Example for CreateProduct {
    fn example() -> Self {
        Self {
            sku: "TSHIRT-M".into(),
            name: "T-shirt M".into(),
            price_cents: 1999,
            currency: "USD".into(),
            stock: 25,
        }
    }
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct PatchProduct {
    /// 1–200 characters.
    #[oai(nullable)]
    pub name: Option<StrictString>,
    /// Price in minor units, ≥ 0.
    #[oai(nullable)]
    pub price_cents: Option<i64>,
}

/// Stock to add.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct Restock {
    /// Units to add, 1 – 1,000,000.
    pub quantity: i64,
}

/// One page of products, in sku order.
#[derive(Debug, Object)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum CreatedProduct {
    /// Created.
    #[oai(status = 201)]
    Created(Json<ProductView>, #[oai(header = "Location")] String),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum FoundProduct {
    #[oai(status = 200)]
    Ok(Json<ProductView>),
}

#[derive(Debug, ApiResponse)]
#[oai(header(
    name = "X-Request-Id",
    ty = "String",
    description = "The request's id: the one sent, or a new one. Every log line of the request carries it."
))]
pub enum ProductList {
    #[oai(status = 200)]
    Ok(Json<ProductPage>),
}

const MAX_RESTOCK: i64 = 1_000_000;

fn check_name(name: &str, violations: &mut Violations) {
    violations.check(
        (1..=200).contains(&char_len(name)),
        "name",
        "must be 1 to 200 characters",
    );
}

fn check_price(price: i64, violations: &mut Violations) -> Cents {
    violations.check(price >= 0, "price_cents", "must be 0 or more");
    Cents::new(price).unwrap_or(Cents::ZERO)
}

fn not_found(sku: &str) -> ApiError {
    ApiError::not_found(format!("no product has sku {sku:?}"))
}

#[OpenApi(tag = "ApiTags::Catalog")]
impl CatalogApi {
    /// Create a product
    ///
    /// Adds a product to the catalog. 409 `conflict` if the sku exists.
    /// Needs the `catalog:write` scope.
    #[oai(path = "/v1/products", method = "post", operation_id = "createProduct")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: Json<CreateProduct>,
    ) -> Result<CreatedProduct, ErrorResponse> {
        auth.0.require(Scope::CatalogWrite)?;
        let body = body.0;
        let mut violations = Violations::default();
        let sku = Sku::parse(&body.sku)
            .map_err(|e| violations.add("sku", e.to_string()))
            .ok();
        check_name(&body.name, &mut violations);
        let price = check_price(body.price_cents, &mut violations);
        let currency = body
            .currency
            .parse::<Currency>()
            .map_err(|_| {
                violations.add(
                    "currency",
                    "must be an ISO 4217 code of three uppercase letters",
                )
            })
            .ok();
        let stock = i32::try_from(body.stock).ok().filter(|s| *s >= 0);
        violations.check(stock.is_some(), "stock", "must be between 0 and 2147483647");
        violations.finish()?;
        let (Some(sku), Some(currency), Some(stock)) = (sku, currency, stock) else {
            return Err(ApiError::internal("validated fields went missing").into());
        };
        let product = NewProduct {
            sku,
            name: body.name.into(),
            price,
            currency,
            stock,
        };
        let mut conn = Session::acquire(&state.pool).await?;
        let created = catalog::insert(&mut conn, &product).await?;
        conn.finish().await?;
        let location = format!("/v1/products/{}", created.sku);
        Ok(CreatedProduct::Created(Json(created.into()), location))
    }

    /// Get a product
    ///
    /// Needs any valid API key.
    #[oai(
        path = "/v1/products/:sku",
        method = "get",
        operation_id = "getProduct"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        _auth: ApiKeyAuth,
        sku: Path<String>,
    ) -> Result<FoundProduct, ErrorResponse> {
        let mut conn = Session::acquire(&state.pool).await?;
        let product = catalog::get(&mut conn, &sku.0).await?;
        let product = product.ok_or_else(|| not_found(&sku.0))?;
        Ok(FoundProduct::Ok(Json(product.into())))
    }

    /// List products
    ///
    /// Products in sku order, `limit` (1–100, default 20) at a time. Pass the
    /// `next_cursor` of a page as `cursor` to get the next one. Needs any
    /// valid API key.
    #[oai(path = "/v1/products", method = "get", operation_id = "listProducts")]
    async fn list(
        &self,
        state: Data<&AppState>,
        _auth: ApiKeyAuth,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<ProductList, ErrorResponse> {
        let mut violations = Violations::default();
        let limit = pagination::limit(limit.0, &mut violations);
        violations.finish()?;
        let mut conn = Session::acquire(&state.pool).await?;
        let rows = catalog::list(&mut conn, cursor.0.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |p| p.sku.clone());
        Ok(ProductList::Ok(Json(ProductPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        })))
    }

    /// Change a product
    ///
    /// Changes the name and/or the price. Orders already placed keep the
    /// price they were placed at. Needs the `catalog:write` scope.
    #[oai(
        path = "/v1/products/:sku",
        method = "patch",
        operation_id = "updateProduct"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        sku: Path<String>,
        body: Json<PatchProduct>,
    ) -> Result<FoundProduct, ErrorResponse> {
        auth.0.require(Scope::CatalogWrite)?;
        let mut violations = Violations::default();
        if let Some(name) = &body.0.name {
            check_name(name, &mut violations);
        }
        let price = body.0.price_cents.map(|p| check_price(p, &mut violations));
        violations.finish()?;
        let changes = ProductChanges {
            name: body.0.name.map(Into::into),
            price,
        };
        let mut conn = Session::acquire(&state.pool).await?;
        let product = catalog::update(&mut conn, &sku.0, &changes).await?;
        let product = product.ok_or_else(|| not_found(&sku.0))?;
        conn.finish().await?;
        Ok(FoundProduct::Ok(Json(product.into())))
    }

    /// Restock a product
    ///
    /// Adds `quantity` to the stock in one atomic increment. Needs the
    /// `catalog:write` scope.
    #[oai(
        path = "/v1/products/:sku/restock",
        method = "post",
        operation_id = "restockProduct"
    )]
    async fn restock(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        sku: Path<String>,
        body: Json<Restock>,
    ) -> Result<FoundProduct, ErrorResponse> {
        auth.0.require(Scope::CatalogWrite)?;
        let quantity = i32::try_from(body.0.quantity)
            .ok()
            .filter(|q| (1..=MAX_RESTOCK).contains(&i64::from(*q)));
        let Some(quantity) = quantity else {
            return Err(ApiError::field(
                "quantity",
                format!("must be between 1 and {MAX_RESTOCK}"),
            )
            .into());
        };
        let mut conn = Session::acquire(&state.pool).await?;
        let product = catalog::restock(&mut conn, &sku.0, quantity)
            .await?
            .ok_or_else(|| not_found(&sku.0))?;
        conn.finish().await?;
        Ok(FoundProduct::Ok(Json(product.into())))
    }
}
