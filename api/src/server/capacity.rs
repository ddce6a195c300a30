//! The count of open connections against the cap: a slot per connection,
//! a warning in the log as the count nears the cap, and what `/readyz`
//! reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// From this share of the cap the log warns once, and `/readyz` answers 503
/// so that a load balancer sends new clients elsewhere.
const NEAR_THE_CAP: f64 = 0.9;

/// The warning is given again only after the count fell below this share.
const WELL_BELOW_THE_CAP: f64 = 0.7;

/// Open connections of one API process, against its cap.
#[derive(Debug)]
pub struct OpenConnections {
    open: AtomicUsize,
    cap: usize,
    warned: AtomicBool,
}

/// A connection's place under the cap, given back when dropped.
#[derive(Debug)]
pub struct ConnectionSlot(Arc<OpenConnections>);

impl OpenConnections {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            cap: cap.max(1),
            warned: AtomicBool::new(false),
        })
    }

    /// A slot for a new connection, or `None` when the cap is reached.
    pub fn try_open(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let opened = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.cap).then_some(open + 1)
            })
            .ok()?
            + 1;
        metrics::gauge!("asynccheckout_api_connections_open").set(opened as f64);
        if opened as f64 >= self.cap as f64 * NEAR_THE_CAP
            && !self.warned.swap(true, Ordering::AcqRel)
        {
            tracing::warn!(
                open = opened,
                max_connections = self.cap,
                "open connections are near the cap (MAX_CONNECTIONS): /readyz now answers 503 \
                 and connections past the cap are refused; add API processes or raise the cap"
            );
        }
        Some(ConnectionSlot(Arc::clone(self)))
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether so many connections are open that new clients belong elsewhere.
    pub fn near_the_cap(&self) -> bool {
        self.open() as f64 >= self.cap as f64 * NEAR_THE_CAP
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let connections = &self.0;
        let open = connections.open.fetch_sub(1, Ordering::AcqRel) - 1;
        metrics::gauge!("asynccheckout_api_connections_open").set(open as f64);
        if (open as f64) < connections.cap as f64 * WELL_BELOW_THE_CAP
            && connections.warned.swap(false, Ordering::AcqRel)
        {
            tracing::info!(
                open,
                max_connections = connections.cap,
                "open connections are well below the cap again"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_stop_at_the_cap_and_come_back_when_dropped() {
        let connections = OpenConnections::new(10);
        let mut slots: Vec<_> = (0..10).filter_map(|_| connections.try_open()).collect();
        assert_eq!(slots.len(), 10);
        assert!(connections.try_open().is_none());
        assert!(connections.near_the_cap());
        slots.truncate(5);
        assert_eq!(connections.open(), 5);
        assert!(!connections.near_the_cap());
        assert!(connections.try_open().is_some());
    }
}
