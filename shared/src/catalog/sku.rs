//! Stock-keeping unit codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A product code: 1–64 characters of `A–Z a–z 0–9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Result<Self, InvalidSku> {
        let valid = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidSku)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = InvalidSku;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(value: Sku) -> Self {
        value.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")]
pub struct InvalidSku;

#[cfg(test)]
mod tests {
    use super::Sku;

    #[test]
    fn skus_are_short_and_plain() {
        for good in ["TSHIRT-M", "a", "x.y_z-1", &"A".repeat(64)] {
            assert!(Sku::parse(good).is_ok(), "{good:?} was refused");
        }
        for bad in ["", " ", "T SHIRT", "ß", "a/b", &"A".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
