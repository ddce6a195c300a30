//! Telling "the database is unreachable for the moment" apart from "the
//! request went wrong": the first is worth retrying, the second is a bug or
//! bad input.

/// True when `error` says the connection was lost or could not be had: the
/// pool timed out or is closed, the socket failed, or the server ended the
/// session or refused new ones (SQLSTATE class 08, `57P01`–`57P03`, `53300`).
/// Whether a statement that failed this way took effect is unknown when it
/// was a COMMIT or ran on its own (autocommit); inside a transaction that
/// did not reach its COMMIT, nothing took effect.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_socket_failures_are_unavailability_and_bad_sql_is_not() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
