//! A Server-Sent Events reader on one HTTP response: the frames the API's
//! event streams send (`id:`, `event:`, `data:`), keep-alive comments
//! skipped. For the end-to-end tests and the fan-out bench.

use anyhow::Context;
use serde_json::Value;

/// One event as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: i64,
    pub event: String,
    pub data: Value,
}

pub struct SseReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: Vec::new(),
        }
    }

    /// The next event; `None` when the server ended the stream.
    pub async fn next(&mut self) -> anyhow::Result<Option<SseEvent>> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let frame = std::str::from_utf8(&frame).context("a frame is not UTF-8")?;
                let field = |name: &str| {
                    frame
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_owned())
                };
                // A comment (keep-alive) has none of the fields.
                let (Some(id), Some(event), Some(data)) =
                    (field("id:"), field("event:"), field("data:"))
                else {
                    continue;
                };
                return Ok(Some(SseEvent {
                    id: id
                        .parse()
                        .with_context(|| format!("id {id:?} is not a number"))?,
                    event,
                    data: serde_json::from_str(&data).context("data is not JSON")?,
                }));
            }
            match self.response.chunk().await.context("the stream broke")? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}
