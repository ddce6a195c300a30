//! The retry schedule: `backoff(n) = min(cap, base·2^(n−1))`, scaled by a
//! random jitter factor in [½, 1] so that tasks failing together (a gateway
//! outage) do not all come back in the same instant.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failed attempt, before jitter.
    pub base: Duration,
    /// No delay exceeds this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The un-jittered delay after failed attempt `attempt` (from 1).
    pub fn ceiling(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(62);
        self.base
            .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .map_or(self.cap, |delay| delay.min(self.cap))
    }

    /// The delay with jitter: uniformly within [ceiling/2, ceiling].
    pub fn delay(&self, attempt: i32) -> Duration {
        self.delay_with(attempt, rand::rng().random_range(0.5..=1.0))
    }

    /// The delay for a given jitter factor (clamped to [½, 1]).
    pub fn delay_with(&self, attempt: i32, jitter: f64) -> Duration {
        self.ceiling(attempt).mul_f64(jitter.clamp(0.5, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let backoff = Backoff::default();
        let ceilings: Vec<u64> = (1..=12).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }

    #[test]
    fn huge_attempt_numbers_stay_at_the_cap() {
        let backoff = Backoff::default();
        assert_eq!(backoff.ceiling(i32::MAX), backoff.cap);
        assert_eq!(backoff.ceiling(0), SECOND);
        assert_eq!(backoff.ceiling(-3), SECOND);
    }

    #[test]
    fn jitter_stays_within_half_and_full_ceiling() {
        let backoff = Backoff::default();
        for attempt in 1..=10 {
            let ceiling = backoff.ceiling(attempt);
            for _ in 0..200 {
                let delay = backoff.delay(attempt);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{delay:?} vs {ceiling:?}"
                );
            }
        }
        assert_eq!(backoff.delay_with(3, 0.0), 2 * SECOND);
        assert_eq!(backoff.delay_with(3, 7.0), 4 * SECOND);
    }
}
