//! API keys seen recently, so that most requests cost no key lookup.
//!
//! An entry lives at most [`TTL`]. Revoking a key (`asynccheckout keys
//! revoke`) notifies [`keys::REVOKED_CHANNEL`] when it commits; every API
//! process listens and forgets all its entries at once, and again whenever
//! its listener (re)connects, because notifications sent while it was away
//! are lost. So a revoked key stops working within moments everywhere, and
//! within [`TTL`] even if every notification were lost. Unknown keys are
//! never cached: each try is looked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use shared::keys::{self, ApiKey};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

/// Longest an entry is trusted without a lookup.
pub const TTL: Duration = Duration::from_secs(10);
/// Most entries kept; past it the cache starts over.
const CAPACITY: usize = 10_000;
const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<Vec<u8>, (ApiKey, Instant)>>,
}

impl KeyCache {
    /// The live key whose secret is `secret`, from the cache or the database.
    pub async fn authenticate(
        &self,
        pool: &PgPool,
        secret: &str,
    ) -> Result<Option<ApiKey>, sqlx::Error> {
        let hash = keys::secret_hash(secret);
        if let Some((key, seen)) = self.lock().get(&hash) {
            if seen.elapsed() < TTL {
                return Ok(Some(key.clone()));
            }
        }
        let mut conn = pool.acquire().await?;
        let found = keys::authenticate(&mut conn, secret).await?;
        let mut entries = self.lock();
        match &found {
            Some(key) => {
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
                entries.insert(hash, (key.clone(), Instant::now()));
            }
            None => {
                entries.remove(&hash);
            }
        }
        Ok(found)
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, (ApiKey, Instant)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Clears the cache on every revocation until `stop` fires.
    pub async fn forget_revoked(self: Arc<Self>, pool: PgPool, stop: CancellationToken) {
        let mut delay = Duration::from_millis(100);
        loop {
            match subscribe(&pool).await {
                Ok(mut listener) => {
                    delay = Duration::from_millis(100);
                    // Revocations sent while we were not listening are unannounced.
                    self.clear();
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            received = listener.try_recv() => match received {
                                Ok(Some(_)) | Ok(None) => self.clear(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "key revocation listener failed; reconnecting");
                                    self.clear();
                                    break;
                                }
                            },
                        }
                    }
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    retry_in_ms = delay.as_millis() as u64,
                    "cannot listen for key revocations; cached keys expire after {} s meanwhile",
                    TTL.as_secs()
                ),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(RECONNECT_DELAY_MAX);
        }
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(keys::REVOKED_CHANNEL).await?;
    Ok(listener)
}
