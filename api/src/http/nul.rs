//! U+0000 (NUL) refused wherever text enters the API: the path, the query and
//! JSON bodies at every depth, keys included. PostgreSQL cannot store NUL in
//! `text` or `jsonb`, so without this one check any field could turn an odd
//! request into a database error. A path holding NUL names nothing that can
//! exist (404, like any malformed id); a query parameter or body field holding
//! it is a 422 that names the field.
//!
//! Other control characters pass here: free text (names, metadata) keeps
//! them as sent, and fields with a shape of their own (skus, e-mail
//! addresses, keys, cursors) refuse them in their own validation.

use serde_json::Value;

use super::problem::{FieldError, Problem, ProblemType};

const REASON: &str = "must not contain the NUL character (U+0000)";

/// The problem for a request whose path or query holds an encoded NUL.
pub fn check_uri(path: &str, query: Option<&str>) -> Option<Problem> {
    // A NUL can only arrive percent-encoded: raw control bytes are not a URI.
    if path.contains("%00") {
        return Some(Problem::new(
            ProblemType::NotFound,
            "no such resource: the path holds a NUL character (%00)",
        ));
    }
    let errors: Vec<FieldError> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| pair.contains("%00"))
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            FieldError::new(name, REASON)
        })
        .collect();
    (!errors.is_empty()).then(|| Problem::invalid(errors))
}

/// The problem for a JSON body that holds a NUL in a string or a key.
pub fn check_body(body: &[u8]) -> Option<Problem> {
    // JSON can only carry NUL as the escape `\u0000`: most bodies are done here.
    if !body.windows(6).any(|w| w == br"\u0000") {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let mut errors = Vec::new();
    find_nul(&value, "", &mut errors);
    (!errors.is_empty()).then(|| Problem::invalid(errors))
}

/// Collects every place under `value` (at `path`, named like
/// `items[1].sku`) whose string or key holds a NUL.
fn find_nul(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let here = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(text) if text.contains('\0') => errors.push(FieldError::new(here(), REASON)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                if key.contains('\0') {
                    errors.push(FieldError::new(here(), format!("has a key that {REASON}")));
                    continue;
                }
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                find_nul(item, &field, errors);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(problem: Option<Problem>) -> Vec<String> {
        problem
            .and_then(|p| p.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_nul_anywhere_in_a_body_is_named_by_its_field() {
        let body = br#"{"metadata": {"note": "a\u0000b", "ok": "x"},
                        "items": [{"sku": "A"}, {"sku": "B\u0000"}]}"#;
        let mut found = fields(check_body(body));
        found.sort();
        assert_eq!(found, ["items[1].sku", "metadata.note"]);
        let key = br#"{"metadata": {"a\u0000b": "x"}}"#;
        assert_eq!(fields(check_body(key)), ["metadata"]);
        assert_eq!(fields(check_body(br#""\u0000""#)), ["body"]);
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_not_a_nul() {
        assert!(check_body(br#"{"note": "\\u0000"}"#).is_none());
        assert!(check_body(br#"{"note": "plain"}"#).is_none());
    }

    #[test]
    fn a_nul_in_the_path_is_not_found_and_in_the_query_names_the_parameter() {
        let path = check_uri("/v1/products/A%00B", None).expect("refused");
        assert_eq!(path.status, 404);
        let query = check_uri("/v1/tasks", Some("limit=5&kind=a%00b")).expect("refused");
        assert_eq!(query.status, 422);
        assert_eq!(fields(Some(query)), ["kind"]);
        assert!(check_uri("/v1/tasks", Some("kind=a%20b")).is_none());
    }
}
