//! What every step test needs: a gateway, a mailer, an order in a given
//! status with its task claimed, and a way to run one step on it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mock_gateway::{Faults, MockGateway};
use shared::catalog::{self, NewProduct, Sku};
use shared::money::{Cents, Currency};
use shared::orders::{self, Order, OrderRequest, OrderStatus, RequestedItem, TaskKind, Transition};
use shared::queue::{self, ClaimedTask};
use shared::trace::TraceParent;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::{HandOff, Successor};
use crate::gateway::{GatewayCalls, GatewayClient, GatewayConfig};
use crate::mailer::{MailConfig, Mailer};
use crate::steps::{SagaDeps, next};
use crate::{StepContext, StepError, StepHandler};

pub const WORKER: &str = "step-test";
pub const PRICE: i64 = 1_250;

/// The mock gateway running in this process, and the saga's dependencies
/// pointed at it; the gateway stops when this is dropped.
pub struct Saga {
    pub pool: PgPool,
    pub deps: Arc<SagaDeps>,
    pub gateway_url: String,
    pub mail_dir: PathBuf,
    stop: CancellationToken,
}

impl Drop for Saga {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

impl Saga {
    /// A gateway with `faults` and a mail folder of its own, and a catalog
    /// with `MUG` (stock `stock`).
    pub async fn start(pool: PgPool, faults: Faults, stock: i32) -> Self {
        let gateway = MockGateway::bind("127.0.0.1:0", faults)
            .await
            .expect("the mock gateway binds a free port");
        let gateway_url = format!("http://{}", gateway.local_addr());
        let stop = CancellationToken::new();
        tokio::spawn(gateway.run(stop.clone()));
        let client = GatewayClient::new(&GatewayConfig {
            gateway_url: gateway_url.clone(),
            calls: GatewayCalls {
                gateway_timeout_ms: 1_000,
            },
        })
        .expect("a gateway client");
        let mail_dir = std::env::temp_dir().join(format!("asynccheckout-steps-{}", Uuid::new_v4()));
        let mailer = Mailer::new(&MailConfig {
            smtp_url: None,
            mail_dir: mail_dir.clone(),
            mail_from: "AsyncCheckout <orders@asynccheckout.localhost>".to_owned(),
        })
        .expect("a folder mailer");
        let product = NewProduct {
            sku: Sku::parse("MUG").expect("a valid sku"),
            name: "Mug".to_owned(),
            price: Cents::new(PRICE).expect("a price"),
            currency: "USD".parse::<Currency>().expect("a currency"),
            stock,
        };
        let mut conn = pool.acquire().await.expect("a connection");
        catalog::insert(&mut conn, &product)
            .await
            .expect("the product is created");
        Self {
            pool,
            deps: Arc::new(SagaDeps {
                gateway: client,
                mailer,
            }),
            gateway_url,
            mail_dir,
            stop,
        }
    }

    /// A new order for `quantity` mugs paid with `token`, moved along the
    /// chart to `status`, with the task of the step that runs there claimed.
    pub async fn order_at(&self, status: OrderStatus, token: &str, quantity: i64) -> ClaimedTask {
        let mut conn = self.pool.acquire().await.expect("a connection");
        let request = OrderRequest {
            customer_email: "ada@example.com".to_owned(),
            items: vec![RequestedItem {
                sku: "MUG".to_owned(),
                quantity,
            }],
            payment_token: token.to_owned(),
            metadata: Default::default(),
            capture_method: None,
        };
        let fingerprint = request.fingerprint();
        let order = orders::check(request, TraceParent::new_root()).expect("the order is valid");
        let key = order.id.to_string();
        orders::place(&mut conn, "test", &key, &fingerprint, &order)
            .await
            .expect("the order is priced and placed");
        let path: &[OrderStatus] = match status {
            OrderStatus::Pending => &[],
            OrderStatus::Paid => &[OrderStatus::Paid],
            OrderStatus::Confirmed => &[OrderStatus::Paid, OrderStatus::Confirmed],
            OrderStatus::Refunding => &[OrderStatus::Refunding],
            other => panic!("no step runs on a {other} order"),
        };
        let mut at = OrderStatus::Pending;
        for &to in path {
            let moved = Transition::new(order.id, at, to, "moved by the test");
            orders::transition(&mut conn, &moved)
                .await
                .expect("a charted move");
            at = to;
        }
        let kind = match status {
            OrderStatus::Pending => TaskKind::ChargePayment,
            OrderStatus::Paid => TaskKind::ReserveInventory,
            OrderStatus::Confirmed => TaskKind::SendConfirmation,
            _ => TaskKind::RefundPayment,
        };
        if kind != TaskKind::ChargePayment {
            let mut tx = self.pool.begin().await.expect("a transaction");
            sqlx::query("DELETE FROM tasks WHERE order_id = $1")
                .bind(order.id)
                .execute(&mut *tx)
                .await
                .expect("the placed task is withdrawn");
            queue::enqueue(&mut tx, &next(kind, order.id, None))
                .await
                .expect("the step's task is enqueued");
            tx.commit().await.expect("committed");
        }
        self.claim(kind).await
    }

    /// Claims the one due task of `kind`.
    pub async fn claim(&self, kind: TaskKind) -> ClaimedTask {
        let mut conn = self.pool.acquire().await.expect("a connection");
        let worker: Arc<str> = Arc::from(WORKER);
        let mut claimed = queue::claim_batch(
            &mut conn,
            &worker,
            &[kind.as_str().to_owned()],
            1,
            Duration::from_secs(30),
        )
        .await
        .expect("the claim");
        claimed.pop().expect("a task of that kind was due")
    }

    /// Runs `step` on `task` as the runtime would, without handing
    /// successors to this worker.
    pub async fn run(&self, step: &dyn StepHandler, task: &ClaimedTask) -> Result<(), StepError> {
        let ctx = StepContext::new(
            self.pool.clone(),
            task.lease.clone(),
            CancellationToken::new(),
            None,
        );
        step.run(task, &ctx).await
    }

    /// Runs `step` on `task` as the runtime would, handing a successor of a
    /// kind in `kinds` to this worker; returns the successor it was handed
    /// once committed.
    pub async fn run_handing_off(
        &self,
        step: &dyn StepHandler,
        task: &ClaimedTask,
        kinds: &[&str],
    ) -> Option<ClaimedTask> {
        let hand_off = HandOff {
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            lease: Duration::from_secs(30),
        };
        let ctx = StepContext::new(
            self.pool.clone(),
            task.lease.clone(),
            CancellationToken::new(),
            Some(hand_off),
        );
        step.run(task, &ctx).await.expect("the step succeeds");
        match ctx.take_successor() {
            Some(Successor::Committed(next)) => Some(next),
            _ => None,
        }
    }

    pub async fn order(&self, task: &ClaimedTask) -> Order {
        let id = task.order_id.expect("a saga task names its order");
        let mut conn = self.pool.acquire().await.expect("a connection");
        orders::get(&mut conn, id)
            .await
            .expect("the order reads")
            .expect("the order exists")
    }

    /// The kinds and states of the order's tasks, oldest first.
    pub async fn tasks(&self, task: &ClaimedTask) -> Vec<(String, String)> {
        sqlx::query_as("SELECT kind, state::text FROM tasks WHERE order_id = $1 ORDER BY id")
            .bind(task.order_id)
            .fetch_all(&self.pool)
            .await
            .expect("the tasks read")
    }

    /// The kind of the order's newest task: the step named next.
    pub async fn next_kind(&self, task: &ClaimedTask) -> Option<String> {
        self.tasks(task).await.pop().map(|(kind, _)| kind)
    }

    /// Replaces the gateway's faults from now on.
    pub async fn set_faults(&self, faults: &Faults) {
        reqwest::Client::new()
            .put(format!("{}/v1/faults", self.gateway_url))
            .json(faults)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("the gateway takes the faults");
    }

    /// The idempotency keys of the gateway's ledger entries of `kind`
    /// (`charge` or `refund`), oldest first.
    pub async fn ledger(&self, kind: &str) -> Vec<String> {
        let ledger: serde_json::Value = reqwest::get(format!("{}/v1/ledger", self.gateway_url))
            .await
            .expect("the ledger answers")
            .json()
            .await
            .expect("the ledger is JSON");
        ledger["entries"]
            .as_array()
            .expect("a list of entries")
            .iter()
            .filter(|entry| entry["kind"] == kind)
            .map(|entry| entry["idempotency_key"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}
