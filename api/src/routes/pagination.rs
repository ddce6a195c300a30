//! Keyset pagination: `limit` and an opaque `cursor` that continues after the
//! last item of the previous page.

use super::validate::Violations;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The page size asked for, checked (1–100, default 20).
pub fn limit(asked: Option<i64>, violations: &mut Violations) -> i64 {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    violations.check(
        (1..=MAX_LIMIT).contains(&limit),
        "limit",
        format!("must be between 1 and {MAX_LIMIT}"),
    );
    limit.clamp(1, MAX_LIMIT)
}

/// Splits one extra fetched row off `rows` to learn whether a next page
/// exists, and names its cursor.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    (rows, next)
}
