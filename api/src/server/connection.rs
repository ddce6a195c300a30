//! One accepted connection, served by hyper until the client closes it,
//! shutdown drains it, or it stalls past a timeout.
//!
//! hyper has a header timeout of its own, but it runs from the moment the
//! connection waits for a request, so it cannot tell a kept-alive connection
//! at rest from a client that sent half its headers. This module watches the
//! connection itself: the bytes read, the requests in flight, and when their
//! responses were sent.
//! - No request in flight and nothing read since the last response: the
//!   connection is idle, and closed after the idle timeout.
//! - No request in flight but bytes read (or the connection just opened): a
//!   request's head is arriving, and must be complete within the header
//!   timeout.
//! - A request in flight: its body is read under the body timeout (see
//!   `http::guard`) and its handler under the request timeout. While its
//!   answer is being sent, a client that stops reading it for the idle
//!   timeout (the socket's buffers full, nothing taken) is closed too, as
//!   nginx's `send_timeout` does.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use poem::Endpoint;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ConnectionLimits;
use super::capacity::ConnectionSlot;

/// Why a connection was closed by us before its client closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// A request's headers did not all arrive within the header timeout.
    Headers,
    /// A kept-alive connection sent no new request within the idle timeout.
    Idle,
    /// The client took nothing of an answer for the idle timeout.
    Send,
}

impl Stall {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Headers => "header_timeout",
            Self::Idle => "idle_timeout",
            Self::Send => "send_timeout",
        }
    }
}

/// Everything one connection needs besides its socket.
pub struct Serving<E> {
    pub endpoint: Arc<E>,
    pub limits: ConnectionLimits,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Fired at shutdown: finish the request in flight, take no more.
    pub drain: CancellationToken,
    /// Fired when the shutdown grace is over: close now.
    pub abort: CancellationToken,
}

/// Serves `socket` until it closes; the connection's `slot` is given back
/// when it does.
pub async fn serve<E>(socket: TcpStream, slot: ConnectionSlot, serving: Serving<E>)
where
    E: Endpoint<Output = poem::Response> + 'static,
{
    let _slot = slot;
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: socket,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        let endpoint = Arc::clone(&serving.endpoint);
        let local = poem::web::LocalAddr(poem::Addr::SocketAddr(serving.local));
        let remote = poem::web::RemoteAddr(poem::Addr::SocketAddr(serving.remote));
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = activity.request_started();
            let endpoint = Arc::clone(&endpoint);
            let request = poem::Request::from((
                request,
                local.clone(),
                remote.clone(),
                poem::http::uri::Scheme::HTTP,
            ));
            async move {
                // Boxed: hyper keeps room for this future for the whole life
                // of the connection, and the handlers' futures are large
                // (16 KB). Unboxed, every open event stream and every
                // kept-alive connection held that much for nothing.
                let handling = Box::pin(async move { endpoint.get_response(request).await });
                let response: hyper::Response<PoemBody> = handling.await.into();
                Ok::<_, Infallible>(response.map(|body| InFlightBody { body, in_flight }))
            }
        })
    };
    // HTTP/1.1 only: the watch above reads HTTP/1's turns (a head, its
    // answer, the next head); HTTP/2 multiplexes streams and sends frames of
    // its own, which it cannot tell from a request. Clients and balancers
    // speak HTTP/1.1 to a service like this one.
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            stall = activity.stalled(&serving.limits) => {
                metrics::counter!("asynccheckout_api_connections_closed_total", "reason" => stall.as_str())
                    .increment(1);
                tracing::debug!(remote = %serving.remote, reason = stall.as_str(), "closing a stalled connection");
                return;
            }
            _ = serving.drain.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = serving.abort.cancelled() => return,
        }
    }
}

/// The body poem hands hyper.
type PoemBody = http_body_util::combinators::BoxBody<hyper::body::Bytes, std::io::Error>;

/// What a connection is doing, as seen from its socket and its requests.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    in_flight: usize,
    /// A request's head is on its way: bytes have been read since the last
    /// answer was sent, or the connection is new.
    reading_head: bool,
    /// When the current phase (idle, or reading a head) began.
    since: Instant,
    /// Since when a write has been waiting for the client to take data.
    write_blocked_since: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                // A new connection owes its first request's head from the
                // moment it is accepted: one that says nothing gets no longer.
                reading_head: true,
                since: Instant::now(),
                write_blocked_since: None,
            }),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut ActivityState) -> bool) {
        let changed = match self.state.lock() {
            Ok(mut state) => change(&mut state),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        };
        if changed {
            self.changed.notify_one();
        }
    }

    fn snapshot(&self) -> ActivityState {
        match self.state.lock() {
            Ok(state) => *state,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn bytes_read(&self) {
        self.update(|state| {
            if state.in_flight == 0 && !state.reading_head {
                state.reading_head = true;
                state.since = Instant::now();
                return true;
            }
            false
        });
    }

    fn write_blocked(&self, blocked: bool) {
        self.update(|state| match (blocked, state.write_blocked_since) {
            (true, None) => {
                state.write_blocked_since = Some(Instant::now());
                true
            }
            (false, Some(_)) => {
                state.write_blocked_since = None;
                true
            }
            _ => false,
        });
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.update(|state| {
            state.in_flight += 1;
            state.reading_head = false;
            true
        });
        InFlight(Arc::clone(self))
    }

    /// Resolves when the connection has stalled past its timeout; pending
    /// while requests are in flight.
    async fn stalled(&self, limits: &ConnectionLimits) -> Stall {
        loop {
            // Registered before the state is read, so no change is missed.
            let changed = self.changed.notified();
            let state = self.snapshot();
            let deadline = if let Some(blocked) = state.write_blocked_since {
                Some((blocked + limits.idle_timeout, Stall::Send))
            } else if state.in_flight > 0 {
                None
            } else if state.reading_head {
                Some((state.since + limits.header_read_timeout, Stall::Headers))
            } else {
                Some((state.since + limits.idle_timeout, Stall::Idle))
            };
            match deadline {
                None => changed.await,
                Some((at, stall)) => {
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep_until(at) => return stall,
                    }
                }
            }
        }
    }
}

/// A request from the moment its head was read until its response was sent.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|state| {
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight == 0 {
                state.reading_head = false;
                state.since = Instant::now();
            }
            true
        });
    }
}

/// A response body that keeps its request in flight until hyper is done
/// sending it (a long answer, or a stream, is not an idle connection).
struct InFlightBody {
    body: PoemBody,
    in_flight: InFlight,
}

impl Body for InFlightBody {
    type Data = hyper::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl std::fmt::Debug for InFlightBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlightBody")
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

/// The socket, telling [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.activity.write_blocked(polled.is_pending());
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.write_blocked(polled.is_pending());
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
