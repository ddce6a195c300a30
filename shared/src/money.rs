//! Money as integer minor units (cents) in an ISO 4217 currency.
//!
//! Amounts are never floating point. A [`Cents`] is never negative: refunds and
//! charges are separate records, not signed amounts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A non-negative amount in the currency's minor unit (cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Cents(i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// `None` when `value` is negative.
    pub fn new(value: i64) -> Option<Self> {
        (value >= 0).then_some(Self(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// `None` on overflow.
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    /// `None` on overflow.
    pub fn checked_mul(self, factor: u32) -> Option<Cents> {
        self.0.checked_mul(i64::from(factor)).map(Cents)
    }
}

impl TryFrom<i64> for Cents {
    type Error = NegativeAmount;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Cents::new(value).ok_or(NegativeAmount(value))
    }
}

impl From<Cents> for i64 {
    fn from(value: Cents) -> Self {
        value.0
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("amount {0} is negative; amounts are counted in non-negative minor units")]
pub struct NegativeAmount(i64);

/// An ISO 4217 currency code: three uppercase ASCII letters, such as `USD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII uppercase letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(InvalidCurrency(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an ISO 4217 currency code (three uppercase letters, such as USD)")]
pub struct InvalidCurrency(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_amounts_are_refused() {
        assert!(Cents::new(-1).is_none());
        assert_eq!(Cents::new(0), Some(Cents::ZERO));
        assert!(serde_json::from_str::<Cents>("-5").is_err());
    }

    #[test]
    fn arithmetic_reports_overflow_instead_of_wrapping() {
        let big = Cents::new(i64::MAX).expect("non-negative");
        assert!(
            big.checked_add(Cents::new(1).expect("non-negative"))
                .is_none()
        );
        assert!(big.checked_mul(2).is_none());
        assert_eq!(
            Cents::new(1999).and_then(|c| c.checked_mul(2)),
            Cents::new(3998)
        );
    }

    #[test]
    fn currencies_are_three_uppercase_letters() {
        assert_eq!("USD".parse::<Currency>().expect("valid").as_str(), "USD");
        for bad in ["usd", "US", "USDX", "", "U$D", "ÜSD"] {
            assert!(bad.parse::<Currency>().is_err(), "{bad:?} was accepted");
        }
    }
}
