//! The Rust client generated from openapi.json drives the main flows, so a
//! spec that drifts from the server breaks this test (or its build).

use std::time::Duration;

use asynccheckout_client::types::{
    CaptureMethod, CreateProduct, Order, OrderItemInput, OrderStatus, PlaceOrder, Problem,
};
use asynccheckout_client::{Client, Error};
use futures::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{DEADLINE, Options, System};

fn order(token: &str, quantity: i64) -> PlaceOrder {
    PlaceOrder {
        customer_email: "ada@example.com".to_owned(),
        items: vec![OrderItemInput {
            sku: "TSHIRT-M".to_owned(),
            quantity,
        }],
        payment_token: token.to_owned(),
        metadata: None,
        capture_method: None,
    }
}

async fn settled(client: &Client, id: &str) -> Order {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let order = client.get_order(id).await.unwrap().into_inner();
        if matches!(
            order.status,
            OrderStatus::Completed
                | OrderStatus::Failed
                | OrderStatus::Cancelled
                | OrderStatus::Refunded
        ) {
            return order;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "order {id} never settled: {:?}",
            order.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_generated_rust_client_drives_the_happy_declined_and_refunded_flows(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("rust_client", &db, Options::default()).await;
    let client = asynccheckout_client::with_api_key(&system.api, &system.admin_key).unwrap();
    let product = CreateProduct {
        sku: "TSHIRT-M".to_owned(),
        name: "T-shirt M".to_owned(),
        price_cents: 1999,
        currency: "USD".to_owned(),
        stock: 3,
    };
    let created = client.create_product(&product).await.unwrap().into_inner();
    assert_eq!(created.stock, 3);

    let placed = client
        .place_order("client-happy", None, &order("tok_visa", 2))
        .await
        .unwrap();
    assert_eq!(placed.status(), 202);
    let happy = settled(&client, &placed.into_inner().id.to_string()).await;
    assert_eq!(happy.status, OrderStatus::Completed);
    assert_eq!(happy.total_cents, 3998);
    assert!(happy.payment.charge_id.is_some());

    let declined = client
        .place_order("client-declined", None, &order("tok_chargeDeclined", 1))
        .await
        .unwrap();
    let declined = settled(&client, &declined.into_inner().id.to_string()).await;
    assert_eq!(declined.status, OrderStatus::Failed);
    assert_eq!(
        declined.failure.map(|f| f.code).as_deref(),
        Some("payment_declined")
    );

    // One left in stock: two is more than there is, once the card is charged.
    let short = client
        .place_order("client-refund", None, &order("tok_visa", 2))
        .await
        .unwrap();
    let refunded = settled(&client, &short.into_inner().id.to_string()).await;
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert!(refunded.payment.refund_id.is_some());

    // Paid manually, the same shortfall voids the hold: nothing charged.
    let manual = PlaceOrder {
        capture_method: Some(CaptureMethod::Manual),
        ..order("tok_visa", 2)
    };
    let voided = client
        .place_order("client-void", None, &manual)
        .await
        .unwrap();
    let voided = settled(&client, &voided.into_inner().id.to_string()).await;
    assert_eq!(voided.status, OrderStatus::Failed);
    assert_eq!(voided.payment.capture_method, CaptureMethod::Manual);
    assert!(voided.payment.authorization_id.is_some());
    assert!(voided.payment.charge_id.is_none());
    assert_eq!(
        voided.history.iter().map(|h| h.status).collect::<Vec<_>>(),
        [
            OrderStatus::Pending,
            OrderStatus::Authorized,
            OrderStatus::Voiding,
            OrderStatus::Failed
        ]
    );

    match client.get_order("not-an-order").await {
        Err(Error::ErrorResponse(response)) => {
            assert_eq!(response.status(), 404);
            // progenitor hands application/problem+json bodies over as bytes;
            // they parse as the spec's Problem schema.
            let mut body = Vec::new();
            let mut stream = response.into_inner();
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk.unwrap());
            }
            let problem: Problem = serde_json::from_slice(&body).unwrap();
            assert_eq!(problem.type_.to_string(), "/problems/not-found");
        }
        other => panic!("expected a typed 404 problem, got {other:?}"),
    }
}
