//! Checking a request field by field: every invalid field is collected
//! before answering, so a client learns all its mistakes in one answer
//! rather than one per round trip.

/// One field that is not as it must be, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path, e.g. `items[2].quantity` or `metadata.cart_id`.
    pub field: String,
    pub message: String,
}

/// Every invalid field of a request, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the request is invalid: {}", describe(.0))]
pub struct InvalidFields(pub Vec<FieldViolation>);

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}", v.field, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects the violations of one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records `message` for `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.add(field, message);
        }
    }

    /// `Err` with every violation so far, if there were any.
    pub fn finish(&mut self) -> Result<(), InvalidFields> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidFields(std::mem::take(&mut self.0)))
        }
    }
}

/// Characters, not bytes, as people count them.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// A plausible email address: one `@`, a local part, a dotted domain, no
/// spaces or control characters (so no header can be smuggled through it),
/// at most 254 characters, and one the mailer can address: an address the
/// API took but the confirmation step could not use would strand the order.
/// Deliverability is the mail server's to judge.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && char_len(s) <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
        && s.parse::<lettre::Address>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_email;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for good in [
            "ada@example.com",
            "a.b+tag@sub.example.co.uk",
            "ü@exämple.de",
        ] {
            assert!(is_email(good), "{good:?} was refused");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada @example.com",
            "ada@.example.com",
            "ada@example..com",
            "ada@example.com.",
            "ada\r\nBcc: eve@example.com@example.com",
            "a\u{0}da@example.com",
            "a(da)@example.com",
        ] {
            assert!(!is_email(bad), "{bad:?} was accepted");
        }
    }
}
