//! The `text/event-stream` response of the event streams.
//!
//! Documented in the OpenAPI document exactly as poem-openapi's
//! `EventStream` of [`StreamedEvent`]s, but sent differently: each event's
//! SSE frame is written once, when the feed reads it, and every stream sends
//! that same buffer. poem's own encoder formats the event again for each
//! stream and keeps a 4 KB read buffer per stream for as long as it is open;
//! with thousands of streams, both add up (a copy per event per stream, and
//! 20 MB at 5,000 streams).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::BoxStream;
use hyper::body::Bytes;
use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::EventStream;
use poem_openapi::registry::{MetaResponses, Registry};

use super::streams::StreamedEvent;

/// How often an idle stream sends a comment line, so that proxies keep it.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The comment line sent to keep a stream alive.
const KEEP_ALIVE_COMMENT: &[u8] = b":\n\n";

/// A stream of order events, answered as Server-Sent Events.
pub struct EventsResponse(pub BoxStream<'static, StreamedEvent>);

/// The type whose documentation this response shares.
type Documented = EventStream<BoxStream<'static, StreamedEvent>>;

impl ApiResponse for EventsResponse {
    fn meta() -> MetaResponses {
        Documented::meta()
    }

    fn register(registry: &mut Registry) {
        Documented::register(registry);
    }
}

impl IntoResponse for EventsResponse {
    fn into_response(self) -> Response {
        let frames = Frames {
            events: self.0,
            keep_alive: tokio::time::interval_at(
                tokio::time::Instant::now() + KEEP_ALIVE,
                KEEP_ALIVE,
            ),
        };
        Response::builder()
            .content_type("text/event-stream")
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(Body::from_bytes_stream(frames))
    }
}

/// The events' frames, with a comment line whenever the keep-alive ticks;
/// ends when the events do.
struct Frames {
    events: BoxStream<'static, StreamedEvent>,
    keep_alive: tokio::time::Interval,
}

impl Stream for Frames {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Poll::Ready(event) = this.events.as_mut().poll_next(cx) {
            return Poll::Ready(event.map(|event| Ok(event.0.frame.clone())));
        }
        this.keep_alive
            .poll_tick(cx)
            .map(|_| Some(Ok(Bytes::from_static(KEEP_ALIVE_COMMENT))))
    }
}

/// One event as an SSE frame: `id:` the event id, `event:` its type,
/// `data:` its JSON (one line per line, though compact JSON has one).
pub fn frame(id: i64, event_type: &str, json: &str) -> Bytes {
    let mut frame = String::with_capacity(json.len() + event_type.len() + 40);
    frame.push_str("id: ");
    frame.push_str(&id.to_string());
    frame.push_str("\nevent: ");
    frame.push_str(event_type);
    frame.push('\n');
    for line in json.lines() {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::frame;

    #[test]
    fn a_frame_is_what_an_event_source_parses() {
        let framed = frame(42, "order.paid", r#"{"id":"42","type":"order.paid"}"#);
        assert_eq!(
            framed,
            "id: 42\nevent: order.paid\ndata: {\"id\":\"42\",\"type\":\"order.paid\"}\n\n"
        );
    }

    #[test]
    fn every_line_of_the_data_gets_its_own_field() {
        assert_eq!(
            frame(1, "order.pending", "a\nb"),
            "id: 1\nevent: order.pending\ndata: a\ndata: b\n\n"
        );
    }
}
