//! `asynccheckout mock-gateway`: the payment gateway stand-in, in its own
//! process so that timeouts and resets are real.

use anyhow::Context;
use mock_gateway::{Faults, MockGateway};

use crate::shutdown;

pub async fn run(listen_addr: &str, faults: Faults) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let gateway = MockGateway::bind(listen_addr, faults)
        .await
        .with_context(|| format!("cannot start the mock gateway on {listen_addr} (LISTEN_ADDR)"))?;
    tracing::info!(addr = %gateway.local_addr(), "mock payment gateway listening (ledger in memory)");
    // One line for scripts and tests that start the gateway on port 0.
    println!("ready gateway=http://{}", gateway.local_addr());
    gateway.run(shutdown).await?;
    Ok(())
}
