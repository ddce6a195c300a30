//! One numbering round (`shared::events::sequencer`), as the feed runs it
//! whenever it finds events waiting for their numbers, and every second.
//!
//! Every API process runs rounds; the sequencer's lock makes them take
//! turns, and a round with nothing to number costs one index lookup.

use shared::events::sequencer;
use sqlx::PgPool;

/// Numbers what can be numbered now; a failure is logged and retried by the
/// next round.
pub async fn round(pool: &PgPool) {
    if let Err(error) = sequencer::sequence(pool).await {
        tracing::warn!(%error, "numbering order events failed; trying again");
    }
}
