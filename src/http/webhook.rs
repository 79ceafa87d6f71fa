//! Webhook authentication: HMAC-SHA256 over the raw body (GitHub's `X-Hub-Signature-256`,
//! or a generic `X-Signature: sha256=<hex>`), or GitLab's shared `X-Gitlab-Token`. All
//! comparisons are constant-time. The webhook never reconciles by itself: a valid call only
//! asks the controller to fetch now.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a call was refused (logged; the caller only ever sees 401).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("no webhook secret is configured")]
    NoSecret,
    #[error("no signature header (X-Hub-Signature-256, X-Signature or X-Gitlab-Token)")]
    Missing,
    #[error("malformed signature header")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a webhook call against the shared secret.
pub fn verify(secret: Option<&[u8]>, headers: &HeaderMap, body: &[u8]) -> Result<(), Refused> {
    let secret = secret.ok_or(Refused::NoSecret)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(sig) = header("x-hub-signature-256").or_else(|| header("x-signature")) {
        let hex_sig = sig
            .trim()
            .strip_prefix("sha256=")
            .ok_or(Refused::Malformed)?;
        let expected = hex::decode(hex_sig).map_err(|_| Refused::Malformed)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Refused::Malformed)?;
        mac.update(body);
        return mac.verify_slice(&expected).map_err(|_| Refused::Mismatch);
    }
    if let Some(token) = header("x-gitlab-token") {
        return if same_secret(token.as_bytes(), secret) {
            Ok(())
        } else {
            Err(Refused::Mismatch)
        };
    }
    Err(Refused::Missing)
}

/// Whether two shared secrets are equal, in constant time whatever their lengths (their
/// MACs are compared, never the values).
pub fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let mac = |v: &[u8]| {
        let mut m = Hmac::<Sha256>::new_from_slice(b"zonekeeper-token-compare")
            .expect("HMAC takes any key length");
        m.update(v);
        m
    };
    mac(given)
        .verify_slice(&mac(secret).finalize().into_bytes())
        .is_ok()
}

/// The `sha256=<hex>` signature of `body` (for tests and CI scripts).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn github_generic_and_gitlab() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign(b"s3cret", body);
        assert_eq!(
            verify(
                Some(b"s3cret"),
                &headers("x-hub-signature-256", &good),
                body
            ),
            Ok(())
        );
        assert_eq!(
            verify(Some(b"s3cret"), &headers("x-signature", &good), body),
            Ok(())
        );
        assert_eq!(
            verify(Some(b"s3cret"), &headers("x-gitlab-token", "s3cret"), body),
            Ok(())
        );
        assert_eq!(
            verify(Some(b"other"), &headers("x-hub-signature-256", &good), body),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            verify(
                Some(b"s3cret"),
                &headers("x-hub-signature-256", &good),
                b"{}"
            ),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            verify(Some(b"s3cret"), &headers("x-gitlab-token", "s3cre"), body),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            verify(Some(b"s3cret"), &HeaderMap::new(), body),
            Err(Refused::Missing)
        );
        assert_eq!(
            verify(Some(b"s3cret"), &headers("x-signature", "md5=00"), body),
            Err(Refused::Malformed)
        );
        assert_eq!(
            verify(None, &headers("x-signature", &good), body),
            Err(Refused::NoSecret)
        );
    }
}
