//! How an order's payment is taken: charged at once, or authorized first and
//! captured once its stock is held (see the charts in [`super::status`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// Stored as text in `orders.capture_method`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    /// Charge the card, reserve the stock; refund the charge when the stock
    /// is short.
    #[default]
    Automatic,
    /// Authorize (hold the money), reserve the stock, then capture; void the
    /// hold when the stock is short, so nothing is ever charged for it.
    Manual,
}

impl CaptureMethod {
    pub const ALL: [CaptureMethod; 2] = [Self::Automatic, Self::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for CaptureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaptureMethod {
    type Err = UnknownCaptureMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownCaptureMethod(s.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a capture method (automatic or manual)")]
pub struct UnknownCaptureMethod(String);

impl Type<Postgres> for CaptureMethod {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for CaptureMethod {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
    }
}

impl Decode<'_, Postgres> for CaptureMethod {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        Ok(<&str as Decode<Postgres>>::decode(value)?.parse()?)
    }
}

#[cfg(test)]
mod tests {
    use super::CaptureMethod;

    #[test]
    fn names_round_trip() {
        for method in CaptureMethod::ALL {
            assert_eq!(method.as_str().parse::<CaptureMethod>().ok(), Some(method));
        }
        assert!("Manual".parse::<CaptureMethod>().is_err());
    }
}
