//! What the gateway answers: a status and a JSON body, as sent and as
//! stored under an idempotency key, and whether it is a replay.

use poem::http::StatusCode;
use serde_json::Value;

/// A JSON answer as it is sent and, under a key, stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

/// A reply and whether it is a replay of a stored one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) reply: Reply,
    pub(crate) replayed: bool,
}

impl Answer {
    pub(crate) fn fresh(reply: Reply) -> Self {
        Self {
            reply,
            replayed: false,
        }
    }
}
