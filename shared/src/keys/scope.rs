//! What an API key may do.

use std::fmt;
use std::str::FromStr;

/// One permission. `admin` implies every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Create and cancel orders.
    OrdersWrite,
    /// Read orders.
    OrdersRead,
    /// Create and change products (reading them needs any valid key).
    CatalogWrite,
    /// Manage webhook endpoints and re-send their deliveries.
    WebhooksWrite,
    /// Everything, including tasks, queue stats and keys.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Self::OrdersWrite,
        Self::OrdersRead,
        Self::CatalogWrite,
        Self::WebhooksWrite,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrdersWrite => "orders:write",
            Self::OrdersRead => "orders:read",
            Self::CatalogWrite => "catalog:write",
            Self::WebhooksWrite => "webhooks:write",
            Self::Admin => "admin",
        }
    }

    /// Whether a key holding `held` may do what needs `self`.
    pub fn granted_by(self, held: &[Scope]) -> bool {
        held.contains(&Scope::Admin) || held.contains(&self)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{0:?} is not a scope; scopes are orders:write, orders:read, catalog:write, webhooks:write and admin"
)]
pub struct UnknownScope(String);

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn admin_grants_everything_and_other_scopes_only_themselves() {
        for scope in Scope::ALL {
            assert!(scope.granted_by(&[Scope::Admin]));
            assert!(scope.granted_by(&[scope]));
        }
        assert!(!Scope::OrdersWrite.granted_by(&[Scope::OrdersRead, Scope::CatalogWrite]));
        assert!(!Scope::Admin.granted_by(&[
            Scope::OrdersWrite,
            Scope::OrdersRead,
            Scope::CatalogWrite
        ]));
        assert!("orders:delete".parse::<Scope>().is_err());
    }
}
