//! Telling "the database is unreachable for the moment" apart from "the
//! request went wrong": the first is worth retrying, the second is a bug or
//! bad input.

/// True when `error` says the connection was lost or could not be had: the
/// pool timed out or is closed, the socket failed, the server spoke out of
/// turn (a protocol error: seen from a server restarting after a crash,
/// which answered a new connection's TLS request with a zero byte), or the
/// server ended the session or refused new ones (SQLSTATE class 08,
/// `57P01`–`57P03`, `53300`).
/// Whether a statement that failed this way took effect is unknown when it
/// was a COMMIT or ran on its own (autocommit); inside a transaction that
/// did not reach its COMMIT, nothing took effect.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// True when `error` is a transaction PostgreSQL gave up on to let another
/// through: a deadlock's victim (`40P01`) or a serialization failure
/// (`40001`). Nothing of it took effect, and the same request, sent again,
/// may well succeed: an answer for "try again", not for "this is broken".
pub fn is_retryable_conflict(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e)
        if e.code().is_some_and(|code| matches!(code.as_ref(), "40P01" | "40001")))
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
        assert!(is_unavailable(&sqlx::Error::Protocol(
            "unexpected response from SSLRequest: 0x00".into()
        )));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }

    /// A server error with only a SQLSTATE, as the server would send it.
    #[derive(Debug)]
    struct ServerError(&'static str);

    impl std::fmt::Display for ServerError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "server error {}", self.0)
        }
    }

    impl std::error::Error for ServerError {}

    impl sqlx::error::DatabaseError for ServerError {
        fn message(&self) -> &str {
            "server error"
        }

        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn each_connection_loss_sqlstate_is_unavailability_and_others_are_not() {
        let server = |code| sqlx::Error::Database(Box::new(ServerError(code)));
        // Connection exceptions (class 08), admin/crash shutdown, cannot
        // connect now, too many connections.
        for code in [
            "08000", "08001", "08003", "08004", "08006", "08007", "08P01", "57P01", "57P02",
            "57P03", "53300",
        ] {
            assert!(is_unavailable(&server(code)), "{code} is a lost connection");
        }
        // Constraint, serialization, missing table, statement cancelled,
        // out of disk: wrong or too slow, not unreachable.
        for code in ["23505", "40001", "40P01", "42P01", "57014", "53100"] {
            assert!(!is_unavailable(&server(code)), "{code} is not");
        }
        // A deadlock's victim and a serialization failure are conflicts
        // worth a retry; nothing else is.
        for code in ["40001", "40P01"] {
            assert!(is_retryable_conflict(&server(code)), "{code} is a conflict");
        }
        for code in ["23505", "08006", "57014"] {
            assert!(!is_retryable_conflict(&server(code)), "{code} is not");
        }
    }
}
