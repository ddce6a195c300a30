//! An error with every cause behind it, on one line: how every crate prints
//! an error into a log, an attempt record or an answer.

use std::error::Error;

/// `error` and each of its causes, outermost first.
pub fn causes<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

/// `error` and its causes joined by `": "`, outermost first, e.g. `gateway
/// timed out: connection reset`.
pub fn describe(error: &(dyn Error + 'static)) -> String {
    causes(error)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("gateway timed out")]
    struct Timeout(#[source] std::io::Error);

    #[test]
    fn every_cause_is_joined_outermost_first() {
        let error = Timeout(std::io::Error::other("connection reset"));
        assert_eq!(describe(&error), "gateway timed out: connection reset");
        assert_eq!(causes(&error).count(), 2);
    }
}
