//! `asynccheckout mock-gateway`: the payment gateway stand-in, in its own
//! process so that timeouts and resets are real.

use std::time::Duration;

use anyhow::Context;
use mock_gateway::MockGateway;

use crate::cli::MockGatewayArgs;
use crate::shutdown;

pub async fn run(args: MockGatewayArgs) -> anyhow::Result<()> {
    let listen_addr = &args.listen_addr;
    let shutdown = shutdown::on_signal()?;
    let gateway = MockGateway::bind(listen_addr, args.faults)
        .await
        .with_context(|| format!("cannot start the mock gateway on {listen_addr} (LISTEN_ADDR)"))?
        .authorization_ttl(Duration::from_secs(args.authorization_ttl_secs));
    tracing::info!(addr = %gateway.local_addr(), "mock payment gateway listening (ledger in memory)");
    // One line for scripts and tests that start the gateway on port 0.
    println!("ready gateway=http://{}", gateway.local_addr());
    gateway.run(shutdown).await?;
    Ok(())
}
