//! Signing as the Standard Webhooks specification says: a secret is
//! `whsec_` and the base64 of its key bytes; a signature is
//! `v1,` and the base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}"),
//! several separated by spaces while a rotated secret still signs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// Key bytes in a new secret (the specification asks for 24 to 64).
const KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("a webhook secret must be \"whsec_\" followed by base64; this one is not")]
pub struct MalformedSecret;

/// A new random secret, `whsec_…`.
pub fn new_secret() -> String {
    let mut key = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header's value: one `v1,<signature>` per secret,
/// separated by spaces.
pub fn signature_header(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, MalformedSecret> {
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body).map(|s| format!("v1,{s}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// The base64 HMAC-SHA256 of `"{msg_id}.{timestamp}.{body}"` under `secret`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, MalformedSecret> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).ok_or(MalformedSecret)?)
        .map_err(|_| MalformedSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| MalformedSecret)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the Standard Webhooks specification's reference
    /// libraries' tests.
    #[test]
    fn signs_the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotated_secret_signs_beside_the_new_one() {
        let (old, new) = (new_secret(), new_secret());
        let header = signature_header(&[&new, &old], "7", 1, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            format!("v1,{}", sign(&new, "7", 1, b"{}").unwrap())
        );
        assert_eq!(
            parts[1],
            format!("v1,{}", sign(&old, "7", 1, b"{}").unwrap())
        );
    }

    #[test]
    fn a_malformed_secret_is_refused() {
        assert!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "1", 1, b"").is_err());
        assert!(sign("whsec_not base64!", "1", 1, b"").is_err());
        assert!(new_secret().starts_with(SECRET_PREFIX));
    }
}
