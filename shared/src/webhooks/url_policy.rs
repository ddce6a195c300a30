//! Which URLs a webhook may be sent to. By default only `https` URLs whose
//! host resolves to public addresses: a webhook must not become a way to
//! reach the service's own network (the database, a metadata service, an
//! admin port). The check runs when an endpoint is saved and again at every
//! delivery, on the very addresses the request then connects to, since DNS
//! can change in between.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use url::{Host, Url};

/// How long resolving a host may take when an endpoint is saved.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the deployment allows (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOW_PRIVATE_URLS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// `http://` URLs as well as `https://`.
    pub allow_http: bool,
    /// Hosts that resolve to loopback, private or link-local addresses.
    pub allow_private: bool,
}

/// Why a URL was refused; each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("{0:?} is not an absolute URL")]
    Unparsable(String),
    #[error(
        "the URL's scheme is {0:?}; webhooks need https (http only where WEBHOOK_ALLOW_HTTP is true)"
    )]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error(
        "the URL carries a user name or password; put credentials in the URL's path or query instead"
    )]
    Credentials,
    #[error(
        "{host} resolves to {address}, a loopback, private or link-local address; webhooks go to public addresses (WEBHOOK_ALLOW_PRIVATE_URLS allows others, for development)"
    )]
    PrivateAddress { host: String, address: IpAddr },
    #[error("{host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
}

impl UrlPolicy {
    /// Checks what can be checked without DNS: the scheme, a host, no
    /// credentials, and an address written in the URL.
    pub fn check_syntax(&self, raw: &str) -> Result<Url, UrlRefused> {
        let url = Url::parse(raw).map_err(|_| UrlRefused::Unparsable(raw.to_owned()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => return Err(UrlRefused::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefused::Credentials);
        }
        match url.host() {
            None => return Err(UrlRefused::NoHost),
            Some(Host::Ipv4(v4)) => self.check_address(&v4.to_string(), IpAddr::V4(v4))?,
            Some(Host::Ipv6(v6)) => self.check_address(&v6.to_string(), IpAddr::V6(v6))?,
            Some(Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// Checks one address a host resolved to.
    pub fn check_address(&self, host: &str, address: IpAddr) -> Result<(), UrlRefused> {
        if self.allow_private || is_public(address) {
            Ok(())
        } else {
            Err(UrlRefused::PrivateAddress {
                host: host.to_owned(),
                address,
            })
        }
    }

    /// The whole check: the syntax, then every address the host resolves
    /// to now.
    pub async fn check(&self, raw: &str) -> Result<Url, UrlRefused> {
        let url = self.check_syntax(raw)?;
        if let Some(Host::Domain(host)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            let unresolvable = |reason: String| UrlRefused::Unresolvable {
                host: host.to_owned(),
                reason,
            };
            let addresses =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
                    .await
                    .map_err(|_| unresolvable("no answer within 5 s".to_owned()))?
                    .map_err(|e| unresolvable(e.to_string()))?;
            for address in addresses {
                self.check_address(host, address.ip())?;
            }
        }
        Ok(url)
    }
}

/// Whether `address` is a public unicast address: not loopback, private,
/// link-local, shared (carrier NAT), unspecified, multicast, broadcast,
/// documentation or reserved, in IPv4 or IPv6 (an IPv4 address mapped into
/// IPv6 is judged as IPv4).
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    !(v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        || v6.to_ipv4().is_some_and(|v4| !is_public_v4(v4) && first == 0)) // IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_http: false,
        allow_private: false,
    };

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(address.parse().unwrap()), "{address}");
        }
        for address in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(address.parse().unwrap()), "{address}");
        }
    }

    #[test]
    fn only_https_to_a_public_host_passes_by_default() {
        assert!(STRICT.check_syntax("https://shop.example/hooks").is_ok());
        assert_eq!(
            STRICT.check_syntax("http://shop.example/hooks"),
            Err(UrlRefused::Scheme("http".to_owned()))
        );
        assert!(matches!(
            STRICT.check_syntax("https://127.0.0.1:9000/"),
            Err(UrlRefused::PrivateAddress { .. })
        ));
        assert!(matches!(
            STRICT.check_syntax("https://[::1]/"),
            Err(UrlRefused::PrivateAddress { .. })
        ));
        assert_eq!(
            STRICT.check_syntax("https://user:pw@shop.example/"),
            Err(UrlRefused::Credentials)
        );
        assert!(matches!(
            STRICT.check_syntax("shop.example/hooks"),
            Err(UrlRefused::Unparsable(_))
        ));
        let open = UrlPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(open.check_syntax("http://127.0.0.1:9000/hooks").is_ok());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        assert!(matches!(
            STRICT.check("https://localhost:9000/").await,
            Err(UrlRefused::PrivateAddress { .. })
        ));
    }
}
