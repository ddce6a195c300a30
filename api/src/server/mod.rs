//! The API's own HTTP server: poem's endpoint on hyper, with the bounds a
//! public server needs against slow and greedy clients.
//!
//! - A request's headers must arrive within the header timeout, each piece
//!   of its body within the body timeout, and a kept-alive connection must
//!   send its next request within the idle timeout; a stalled connection is
//!   closed and counted (`asynccheckout_api_connections_closed_total`).
//! - At most `max_connections` are open at once. Past the cap a new
//!   connection gets a canned 503 and is closed within a second
//!   (`asynccheckout_api_connections_refused_total`).
//! - On shutdown, no new connection is accepted, requests in flight finish
//!   within the grace, and what is left is closed.

mod capacity;
mod connection;
mod limits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use capacity::OpenConnections;
pub use limits::{
    ConnectionLimits, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    default_max_connections, descriptors_besides_connections, raise_descriptor_limit,
};

/// A bound socket, ready to serve.
pub struct Bound {
    listener: TcpListener,
    /// The address actually bound (port 0 picks a free one).
    pub addr: SocketAddr,
}

/// Binds `addr`, e.g. `127.0.0.1:8080` or `127.0.0.1:0`.
pub async fn bind(addr: &str) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    Ok(Bound { listener, addr })
}

/// Serves `endpoint` on `bound` until `shutdown` fires, then lets requests in
/// flight finish for up to `grace`.
pub async fn serve<E>(
    bound: Bound,
    endpoint: E,
    limits: ConnectionLimits,
    open: Arc<OpenConnections>,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()>
where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint.map_to_response());
    let connections = TaskTracker::new();
    let abort = CancellationToken::new();
    let lingering = Arc::new(tokio::sync::Semaphore::new(MAX_LINGERING_REFUSALS));
    let Bound { listener, addr } = bound;
    tracing::info!(%addr, max_connections = open.cap(), "serving HTTP");
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                pause_after_accept_error(&error).await;
                continue;
            }
        };
        let Some(slot) = open.try_open() else {
            refuse(socket, &lingering);
            continue;
        };
        let _ = socket.set_nodelay(true);
        let serving = connection::Serving {
            endpoint: Arc::clone(&endpoint),
            limits,
            local: addr,
            remote,
            drain: shutdown.clone(),
            abort: abort.clone(),
        };
        connections.spawn(connection::serve(socket, slot, serving));
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            still_open = connections.len(),
            grace_secs = grace.as_secs_f64(),
            "requests still in flight after the shutdown grace; closing their connections"
        );
        abort.cancel();
        connections.wait().await;
    }
    Ok(())
}

/// The problem a connection past the cap is told of.
const REFUSAL_BODY: &str = "{\"type\":\"/problems/service-unavailable\",\
\"title\":\"Service unavailable\",\"status\":503,\
\"detail\":\"this API process has as many connections open as it allows (MAX_CONNECTIONS); \
retry after Retry-After seconds\"}";

/// The whole answer to a connection past the cap, written before it is closed.
static REFUSAL: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\n\
         content-type: application/problem+json\r\n\
         retry-after: 1\r\n\
         connection: close\r\n\
         content-length: {}\r\n\
         \r\n\
         {REFUSAL_BODY}",
        REFUSAL_BODY.len()
    )
    .into_bytes()
});

/// Refusals being written at once, at most: each holds a descriptor for up
/// to [`REFUSAL_LINGER`] beyond the cap. Past this many, a connection is
/// closed without an answer.
pub const MAX_LINGERING_REFUSALS: usize = 256;

/// How long a refused connection is kept open for its answer to be read.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Answers a connection past the cap with [`REFUSAL`] and closes it.
///
/// Closing a socket whose client's request has not been read yet resets it,
/// and a reset can make the client's system drop the answer unread (the
/// reason for Apache's "lingering close"). So the answer is written, the
/// sending side shut, and what the client sends read and dropped until it
/// closes too, for at most [`REFUSAL_LINGER`], and for at most
/// [`MAX_LINGERING_REFUSALS`] connections at a time: a flood is refused
/// without an answer rather than holding descriptors.
fn refuse(socket: TcpStream, lingering: &Arc<tokio::sync::Semaphore>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    metrics::counter!("asynccheckout_api_connections_refused_total").increment(1);
    let Ok(permit) = Arc::clone(lingering).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut socket = socket;
        let answered = async {
            socket.write_all(&REFUSAL).await?;
            socket.shutdown().await?;
            let mut scratch = [0u8; 4096];
            while socket.read(&mut scratch).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(REFUSAL_LINGER, answered).await;
    });
}

/// After a failed accept: out of descriptors (EMFILE, ENFILE) or memory
/// would fail again at once, so the loop waits a moment instead of spinning;
/// a connection reset before it was accepted is no reason to wait.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;

    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) {
        return;
    }
    metrics::counter!("asynccheckout_api_accept_errors_total").increment(1);
    tracing::error!(
        %error,
        "cannot accept a connection; pausing 100 ms (out of file descriptors: raise the \
         process's limit, `ulimit -n`, or lower MAX_CONNECTIONS)"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::REFUSAL;

    #[test]
    fn the_refusal_is_a_whole_response_whose_length_is_right() {
        let text = std::str::from_utf8(&REFUSAL).expect("ASCII");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        let declared: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.parse().ok())
            .expect("a content length");
        assert_eq!(declared, body.len());
        let problem: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(problem["status"], 503);
    }
}
