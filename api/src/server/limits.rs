//! How long a connection may stall, and how many may be open at once.

use std::time::Duration;

/// What a client may hold of an API process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the first byte of a request to the end of its headers.
    pub header_read_timeout: Duration,
    /// Longest wait for the next piece of a request body.
    pub body_read_timeout: Duration,
    /// Longest a kept-alive connection may wait, idle, for its next request,
    /// and longest a client may take none of an answer.
    pub idle_timeout: Duration,
}

/// nginx's `client_header_timeout` is 60 s and Go's servers are often given
/// 5–10 s; a storefront backend sends its headers in one write.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Between two pieces of a body (nginx's `client_body_timeout` works the same
/// way). Bodies here are at most 1 MiB.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// nginx's `keepalive_timeout`, and above the 60 s idle timeout of the
/// common load balancers (AWS's ALB among them): they should close their idle
/// connections to us before we do, or a request they send on one races our
/// close.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// Descriptors kept back from connections for the listeners, log files and
/// the files the process opens, besides the database pool's and the
/// refusals' (see [`super::MAX_LINGERING_REFUSALS`]).
pub const RESERVED_DESCRIPTORS: u64 = 256;

/// No default cap above this, however many descriptors the process may open:
/// beyond it a process's memory, not its descriptors, runs out first.
pub const MAX_DEFAULT_CONNECTIONS: u64 = 32_768;

/// Fewest connections a default cap allows, even under a tiny descriptor limit.
const MIN_DEFAULT_CONNECTIONS: u64 = 64;

/// The descriptors this process may open, after raising its soft limit to
/// the hard one (as Go's runtime does at start); `u64::MAX` when unlimited.
pub fn raise_descriptor_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum) {
        if maximum > current {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                return maximum;
            }
        }
    }
    limit.current.unwrap_or(u64::MAX)
}

/// Descriptors a process needs besides its connections, with a database
/// pool of `database_connections`.
pub fn descriptors_besides_connections(database_connections: u32) -> u64 {
    RESERVED_DESCRIPTORS + super::MAX_LINGERING_REFUSALS as u64 + u64::from(database_connections)
}

/// The default connection cap for a process that may open `descriptors`:
/// what is left after [`descriptors_besides_connections`], at most
/// [`MAX_DEFAULT_CONNECTIONS`].
pub fn default_max_connections(descriptors: u64, database_connections: u32) -> usize {
    let usable = descriptors.saturating_sub(descriptors_besides_connections(database_connections));
    let cap = usable.clamp(MIN_DEFAULT_CONNECTIONS, MAX_DEFAULT_CONNECTIONS);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_room_for_the_pool_and_the_process_own_files() {
        assert_eq!(default_max_connections(1024, 10), 1024 - 512 - 10);
        assert_eq!(default_max_connections(20_000, 10), 20_000 - 512 - 10);
    }

    #[test]
    fn the_default_cap_stays_within_its_bounds() {
        assert_eq!(default_max_connections(1 << 20, 10), 32_768);
        assert_eq!(default_max_connections(u64::MAX, 10), 32_768);
        assert_eq!(default_max_connections(100, 10), 64);
    }
}
