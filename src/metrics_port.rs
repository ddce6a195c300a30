//! The metrics and probes port (`METRICS_ADDR`), served by the API and by
//! each worker beside their main work: `/metrics` (Prometheus text format),
//! `/healthz` (the process serves) and `/readyz` (the database answers and
//! its migrations are current; 503 otherwise).

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::endpoint::make;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Response, Route, get};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Seconds: from a fast database step to a slow gateway call.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process-wide Prometheus recorder.
pub fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".to_owned()),
            &DURATION_BUCKETS,
        )?
        // How late an order event reached this process's streams.
        .set_buckets_for_metric(Matcher::Suffix("lag_seconds".to_owned()), &DURATION_BUCKETS)?
        .install_recorder()
        .context("installing the metrics recorder failed")
}

/// The port, bound.
pub struct MetricsPort {
    acceptor: TcpAcceptor,
    pub addr: SocketAddr,
}

/// Binds `METRICS_ADDR`; `0` means a free port on 127.0.0.1.
pub async fn bind(addr: &str) -> anyhow::Result<MetricsPort> {
    let addr = if addr == "0" { "127.0.0.1:0" } else { addr };
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot serve metrics on {addr} (METRICS_ADDR; 0 picks a free port)")
    })?;
    let addr = listener.local_addr()?;
    Ok(MetricsPort {
        acceptor: TcpAcceptor::from_tokio(listener)?,
        addr,
    })
}

/// Serves the port until `shutdown` fires.
pub async fn serve(
    port: MetricsPort,
    metrics: PrometheusHandle,
    pool: PgPool,
    shutdown: CancellationToken,
) {
    let scrape_pool = pool.clone();
    let app = Route::new()
        .at(
            "/metrics",
            get(make(move |_| {
                let (metrics, pool) = (metrics.clone(), scrape_pool.clone());
                async move {
                    let idle = pool.num_idle() as f64;
                    let open = f64::from(pool.size());
                    metrics::gauge!("asynccheckout_db_pool_connections", "state" => "idle")
                        .set(idle);
                    metrics::gauge!("asynccheckout_db_pool_connections", "state" => "in_use")
                        .set(open - idle);
                    Response::builder()
                        .content_type("text/plain; version=0.0.4")
                        .body(metrics.render())
                }
            })),
        )
        .at("/healthz", get(make(|_| async { "ok" })))
        .at(
            "/readyz",
            get(make(move |_| {
                let pool = pool.clone();
                async move {
                    match shared::db::migrations_are_current(&pool).await {
                        Ok(true) => Response::builder().body("ok"),
                        Ok(false) => Response::builder()
                            .status(StatusCode::SERVICE_UNAVAILABLE)
                            .body("database migrations are pending"),
                        Err(_) => Response::builder()
                            .status(StatusCode::SERVICE_UNAVAILABLE)
                            .body("database unreachable"),
                    }
                }
            })),
        );
    let served = poem::Server::new_with_acceptor(port.acceptor)
        .run_with_graceful_shutdown(app, async move { shutdown.cancelled().await }, None)
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "the metrics port stopped");
    }
}
