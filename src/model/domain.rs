//! A domain's settings at its registrar (nameservers, transfer lock, WHOIS privacy,
//! auto-renew, DS set): the values a domain manifest asks for and a registrar reports.
//!
//! Pure data and the value checks both sides share, so a manifest and a registrar read
//! produce the same normalised values and compare exactly.

use std::fmt;

use super::name::Fqdn;
use super::rdata::Ds;

/// One setting of a domain at its registrar. The names are the manifest keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainField {
    /// The delegation: the NS names the registry publishes for the domain.
    Nameservers,
    /// The transfer lock (EPP `clientTransferProhibited`).
    Lock,
    /// WHOIS/RDAP privacy (redacted contact data).
    Privacy,
    /// Renew automatically before expiry.
    AutoRenew,
    /// The DS records the registry publishes (DNSSEC chain of trust, RFC 4034 section 5).
    Ds,
}

impl DomainField {
    /// Every field, in the order plans list them.
    pub const ALL: [DomainField; 5] = [
        DomainField::Nameservers,
        DomainField::Lock,
        DomainField::Privacy,
        DomainField::AutoRenew,
        DomainField::Ds,
    ];

    /// The manifest key (`nameservers`, `lock`, `privacy`, `auto_renew`, `ds`).
    pub fn as_str(self) -> &'static str {
        match self {
            DomainField::Nameservers => "nameservers",
            DomainField::Lock => "lock",
            DomainField::Privacy => "privacy",
            DomainField::AutoRenew => "auto_renew",
            DomainField::Ds => "ds",
        }
    }
}

impl fmt::Display for DomainField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain's registrar settings, one `Option` per field.
///
/// Desired (from a manifest): `None` = not managed, left as it is. Observed (from a
/// registrar): `None` = the registrar cannot report it. Lists are kept sorted and without
/// duplicates ([`DomainSettings::normalize`]): the order of nameservers and DS records
/// carries no meaning at any registry.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DomainSettings {
    pub nameservers: Option<Vec<Fqdn>>,
    pub lock: Option<bool>,
    pub privacy: Option<bool>,
    pub auto_renew: Option<bool>,
    pub ds: Option<Vec<Ds>>,
}

impl DomainSettings {
    /// Sorts and de-duplicates the lists, so equal sets compare equal.
    pub fn normalize(&mut self) {
        if let Some(ns) = &mut self.nameservers {
            ns.sort();
            ns.dedup();
        }
        if let Some(ds) = &mut self.ds {
            ds.sort();
            ds.dedup();
        }
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        DomainField::ALL.iter().all(|f| !self.has(*f))
    }

    /// True when `field` is set.
    pub fn has(&self, field: DomainField) -> bool {
        match field {
            DomainField::Nameservers => self.nameservers.is_some(),
            DomainField::Lock => self.lock.is_some(),
            DomainField::Privacy => self.privacy.is_some(),
            DomainField::AutoRenew => self.auto_renew.is_some(),
            DomainField::Ds => self.ds.is_some(),
        }
    }
}

/// Checks a nameserver name: an absolute host name (letters, digits, hyphens; at least two
/// labels; no wildcard or underscore labels, RFC 952/1123 host syntax). IDN names become
/// punycode.
///
/// # Errors
/// Why the name is not a nameserver name.
pub fn nameserver(text: &str) -> Result<Fqdn, String> {
    let name = Fqdn::parse(text).map_err(|e| format!("invalid nameserver {text:?}: {e}"))?;
    if name.label_count() < 2 {
        return Err(format!(
            "invalid nameserver {text:?}: a nameserver is a host name with at least two labels"
        ));
    }
    let host = name
        .without_dot()
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !host {
        return Err(format!(
            "invalid nameserver {text:?}: only letters, digits and '-' are allowed in host names"
        ));
    }
    Ok(name)
}

/// Checks and builds a DS record as registrars take it: key tag 0-65535, algorithm
/// 1-255, digest type 1-255, digest in hex, its length as the digest type fixes it
/// ([`super::check`], the same rules as a DS record in a zone). The digest is stored
/// lower-case.
///
/// # Errors
/// Every problem found, one message per field.
pub fn ds(key_tag: i64, algorithm: i64, digest_type: i64, digest: &str) -> Result<Ds, Vec<String>> {
    let mut errs = Vec::new();
    let mut int = |what: &str, v: i64, lo: i64, hi: i64| -> i64 {
        if v < lo || v > hi {
            errs.push(format!("{what} {v} is out of range ({lo}-{hi})"));
        }
        v.clamp(lo, hi)
    };
    let key_tag = int("key_tag", key_tag, 0, 65535) as u16;
    let algorithm = int("algorithm", algorithm, 1, 255) as u8;
    let digest_type = int("digest_type", digest_type, 1, 255) as u8;
    let digest = digest.to_ascii_lowercase();
    let ds = Ds {
        key_tag,
        algorithm,
        digest_type,
        digest,
    };
    if ds.digest.is_empty() || !ds.digest.bytes().all(|c| c.is_ascii_hexdigit()) {
        errs.push(format!("digest {:?} must be hex", ds.digest));
    } else {
        errs.extend(super::check::problems(&super::RData::Ds(ds.clone())));
    }
    if errs.is_empty() {
        Ok(ds)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_are_host_names() {
        assert_eq!(
            nameserver("NS1.Example.NET").unwrap().as_str(),
            "ns1.example.net."
        );
        assert!(nameserver("localhost").unwrap_err().contains("two labels"));
        assert!(nameserver("_ns.example.net")
            .unwrap_err()
            .contains("host names"));
        assert!(nameserver("*.example.net").is_err());
        assert!(nameserver("a..b").is_err());
    }

    #[test]
    fn ds_ranges_and_digest_lengths() {
        let sha256 = "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";
        let d = ds(2371, 13, 2, sha256).unwrap();
        assert_eq!(d.digest, sha256.to_ascii_lowercase());
        let e = ds(70000, 0, 2, "abcd").unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("key_tag 70000"));
        assert!(e[1].contains("algorithm 0"));
        assert!(
            e[2].contains("digest_type 2 (SHA-256, RFC 4509 §2.2) is 32 octets"),
            "{e:?}"
        );
        assert!(ds(1, 8, 9, "abc").unwrap_err()[0].contains("odd"));
        assert!(ds(1, 8, 2, "zz").unwrap_err()[0].contains("hex"));
    }

    #[test]
    fn normalize_sorts_and_dedups() {
        let n = |s: &str| Fqdn::parse(s).unwrap();
        let mut s = DomainSettings {
            nameservers: Some(vec![n("b.example."), n("a.example."), n("b.example.")]),
            ..DomainSettings::default()
        };
        s.normalize();
        assert_eq!(s.nameservers, Some(vec![n("a.example."), n("b.example.")]));
        assert!(!s.is_empty());
        assert!(DomainSettings::default().is_empty());
    }
}
