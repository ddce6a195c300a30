//! Keyset pagination: `limit` and an opaque `cursor` that continues after the
//! last item of the previous page.

use shared::validation::Violations;

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

/// The cursor asked for, parsed as the key this API hands out; a cursor
/// that does not parse is a violation (it was not one of ours).
pub fn cursor<T: std::str::FromStr>(asked: Option<&str>, violations: &mut Violations) -> Option<T> {
    let parsed = asked.map(str::parse::<T>)?;
    if parsed.is_err() {
        violations.add("cursor", "is not a cursor this API returned");
    }
    parsed.ok()
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
