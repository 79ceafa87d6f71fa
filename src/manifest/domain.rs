//! Domain manifests: `domains/<domain>.yaml`, a domain's registrar settings.
//!
//! ```yaml
//! registrar: gandi            # a provider name; default `defaults.registrar`
//! nameservers: [ns1.example.net., ns2.example.net.]
//! lock: true                  # transfer lock
//! privacy: true               # WHOIS privacy
//! auto_renew: true
//! ds:                         # DS records at the registry (RFC 4034 section 5)
//!   - {key_tag: 2371, algorithm: 13, digest_type: 2, digest: E2D3C916...}
//! ```
//!
//! Every field is optional; an absent field is not managed (left as the registrar has
//! it). The domain is the file name. Read like zone files: duplicate and unknown keys are
//! refused, and every problem is a [`Diagnostic`] with the file and line. Knows nothing of
//! the configuration: the caller passes the default registrar and a check of registrar
//! names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::input::{from_yaml_error, Diagnostic, Pos};
use crate::model::{domain, DomainField, DomainSettings, Fqdn};

/// Most nameservers a domain manifest may list (registries take at most 13; a longer list
/// is a mistake, and checking it must stay cheap).
pub const MAX_NAMESERVERS: usize = 20;

/// Most DS records a domain manifest may list (a key roll-over needs a handful).
pub const MAX_DS: usize = 16;

/// A domain manifest as written.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDomain {
    /// The registrar holding the domain: a provider name in zonekeeper.yaml
    /// (default `defaults.registrar`).
    #[schemars(with = "Option<String>")]
    pub registrar: Option<Spanned<String>>,
    /// The delegation: host names of the domain's nameservers (order does not matter).
    #[schemars(with = "Option<Vec<String>>")]
    pub nameservers: Option<Spanned<Vec<Spanned<String>>>>,
    /// Transfer lock (clientTransferProhibited).
    #[schemars(with = "Option<bool>")]
    pub lock: Option<Spanned<bool>>,
    /// WHOIS/RDAP privacy. Never bought implicitly: registrars where privacy is a
    /// purchase report it as unsupported.
    #[schemars(with = "Option<bool>")]
    pub privacy: Option<Spanned<bool>>,
    /// Renew automatically before expiry.
    #[schemars(with = "Option<bool>")]
    pub auto_renew: Option<Spanned<bool>>,
    /// DS records the registry publishes; `[]` removes them all (DNSSEC off).
    #[schemars(with = "Option<Vec<RawDs>>")]
    pub ds: Option<Spanned<Vec<Spanned<RawDs>>>>,
}

/// One DS record as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDs {
    /// 0-65535.
    #[schemars(with = "u16")]
    pub key_tag: Spanned<i64>,
    /// DNSSEC algorithm number, 1-255 (13 = ECDSA P-256).
    #[schemars(with = "u8")]
    pub algorithm: Spanned<i64>,
    /// Digest type, 1-255 (2 = SHA-256, 4 = SHA-384).
    #[schemars(with = "u8")]
    pub digest_type: Spanned<i64>,
    /// The digest in hex.
    #[schemars(with = "String")]
    pub digest: Spanned<String>,
}

/// A checked domain manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSpec {
    /// The domain (from the file name).
    pub domain: Fqdn,
    pub file: PathBuf,
    /// The registrar's name (from the file or the default).
    pub registrar: String,
    /// The managed settings (`None` = unmanaged), normalised.
    pub desired: DomainSettings,
    /// Where each set field is written (for messages about it).
    pub positions: BTreeMap<DomainField, Pos>,
}

/// What checking a domain manifest needs from outside it.
pub struct DomainContext<'a> {
    /// `defaults.registrar`, used when the file names none.
    pub default_registrar: Option<&'a str>,
    /// Checks a registrar name: `Err(why)` when it is not a configured registrar.
    pub check_registrar: &'a dyn Fn(&str) -> Result<(), String>,
}

/// The domain a manifest file is for: its name without `.yaml`, which must be a domain
/// name written canonically (lower case, punycode, no trailing dot) so two files can
/// never name the same domain.
///
/// # Errors
/// A diagnostic saying why the file name is not a domain manifest name.
pub fn domain_of(file: &Path) -> Result<Fqdn, Diagnostic> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".yaml"))
        .ok_or_else(|| Diagnostic::file(file, "a domain manifest is named <domain>.yaml"))?;
    let fqdn = Fqdn::parse(name)
        .map_err(|e| Diagnostic::file(file, format!("the file name is not a domain: {e}")))?;
    // A DNS label may hold any octet (RFC 2181 section 11); a registered domain only
    // letters, digits and `-` (RFC 1123 section 2.1; IDNs in punycode).
    if let Some(ch) = fqdn
        .without_dot()
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    {
        return Err(Diagnostic::file(
            file,
            format!("the file name is not a domain: a registered domain holds letters, digits and '-', not {ch:?}"),
        ));
    }
    if fqdn.label_count() < 2 {
        return Err(Diagnostic::file(
            file,
            format!("{fqdn} is not a registrable domain (a domain has at least two labels)"),
        ));
    }
    if fqdn.without_dot() != name {
        return Err(Diagnostic::file(
            file,
            format!(
                "name the file {}.yaml (lower case, punycode, no trailing dot)",
                fqdn.without_dot()
            ),
        ));
    }
    Ok(fqdn)
}

/// JSON Schema of a domain manifest (`zonekeeper schema domain`), for editors and CI.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawDomain)).unwrap_or(serde_json::Value::Null)
}

fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos::from_saphyr(&s.referenced)
}

/// Checks one domain manifest's text, read from `file`. Every problem is returned.
pub fn parse_domain(
    text: &str,
    file: &Path,
    ctx: &DomainContext,
) -> Result<DomainSpec, Vec<Diagnostic>> {
    let domain = domain_of(file).map_err(|d| vec![d])?;
    // A file with only comments is a managed domain with nothing set yet.
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    let raw: RawDomain = if blank {
        RawDomain::default()
    } else {
        serde_saphyr::from_str_with_options(text, crate::input::yaml_options(text.len()))
            .map_err(|e| vec![from_yaml_error(file, &e)])?
    };
    let mut diags = Vec::new();
    let mut positions = BTreeMap::new();
    let mut diag = |p: Pos, field: &str, msg: String| {
        diags.push(Diagnostic::new(file, p, Some(field.to_string()), msg));
    };

    let registrar = match (&raw.registrar, ctx.default_registrar) {
        (Some(r), _) => {
            if let Err(why) = (ctx.check_registrar)(&r.value) {
                diag(pos(r), "registrar", why);
            }
            r.value.clone()
        }
        (None, Some(d)) => {
            if let Err(why) = (ctx.check_registrar)(d) {
                diag(
                    Pos::default(),
                    "registrar",
                    format!("defaults.registrar: {why}"),
                );
            }
            d.to_string()
        }
        (None, None) => {
            diag(
                Pos::default(),
                "registrar",
                "no registrar: set `registrar:` here or `defaults.registrar` in zonekeeper.yaml"
                    .into(),
            );
            String::new()
        }
    };

    let mut desired = DomainSettings::default();
    if let Some(list) = &raw.nameservers {
        positions.insert(DomainField::Nameservers, pos(list));
        if list.value.is_empty() {
            diag(
                pos(list),
                "nameservers",
                "empty list: a domain needs nameservers (remove the key to leave them unmanaged)"
                    .into(),
            );
        }
        if list.value.len() > MAX_NAMESERVERS {
            diag(
                pos(list),
                "nameservers",
                format!(
                    "{} nameservers: registries accept at most {MAX_NAMESERVERS}",
                    list.value.len()
                ),
            );
        }
        let mut names: Vec<Fqdn> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for ns in list.value.iter().take(MAX_NAMESERVERS) {
            match domain::nameserver(&ns.value) {
                Ok(n) if !seen.insert(n.clone()) => {
                    diag(pos(ns), "nameservers", format!("{n} is listed twice"))
                }
                Ok(n) => names.push(n),
                Err(e) => diag(pos(ns), "nameservers", e),
            }
        }
        desired.nameservers = Some(names);
    }
    for (field, v, slot) in [
        (DomainField::Lock, &raw.lock, &mut desired.lock),
        (DomainField::Privacy, &raw.privacy, &mut desired.privacy),
        (
            DomainField::AutoRenew,
            &raw.auto_renew,
            &mut desired.auto_renew,
        ),
    ] {
        if let Some(v) = v {
            positions.insert(field, pos(v));
            *slot = Some(v.value);
        }
    }
    if let Some(list) = &raw.ds {
        positions.insert(DomainField::Ds, pos(list));
        if list.value.len() > MAX_DS {
            diag(
                pos(list),
                "ds",
                format!(
                    "{} DS records: more than {MAX_DS} is no real key roll-over",
                    list.value.len()
                ),
            );
        }
        let mut records = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for r in list.value.iter().take(MAX_DS) {
            let d = &r.value;
            match domain::ds(
                d.key_tag.value,
                d.algorithm.value,
                d.digest_type.value,
                &d.digest.value,
            ) {
                Ok(ds) if !seen.insert(ds.clone()) => {
                    diag(pos(r), "ds", "this DS record is listed twice".into())
                }
                Ok(ds) => records.push(ds),
                Err(errs) => {
                    for e in errs {
                        // Point at the field the message is about.
                        let at = if e.starts_with("key_tag") {
                            pos(&d.key_tag)
                        } else if e.starts_with("algorithm") {
                            pos(&d.algorithm)
                        } else if e.starts_with("digest_type") {
                            pos(&d.digest_type)
                        } else {
                            pos(&d.digest)
                        };
                        diag(at, "ds", e);
                    }
                }
            }
        }
        desired.ds = Some(records);
    }
    desired.normalize();
    if diags.is_empty() {
        Ok(DomainSpec {
            domain,
            file: file.to_path_buf(),
            registrar,
            desired,
            positions,
        })
    } else {
        diags.sort_by_key(|d| (d.pos.line, d.pos.column));
        Err(diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";

    fn check(name: &str) -> Result<(), String> {
        match name {
            "reg" | "other" => Ok(()),
            "local" => Err("provider \"local\" (zonefile) is not a registrar".into()),
            n => Err(format!("{n:?} is not a provider in `providers:`")),
        }
    }

    fn parse(file: &str, text: &str, default: Option<&str>) -> Result<DomainSpec, Vec<String>> {
        let ctx = DomainContext {
            default_registrar: default,
            check_registrar: &check,
        };
        parse_domain(text, Path::new(file), &ctx)
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn long_lists_are_refused_cheaply() {
        let names: Vec<String> = (0..5000).map(|i| format!("ns{i}.example.net.")).collect();
        let text = format!("registrar: reg\nnameservers: [{}]\n", names.join(", "));
        let e = parse("domains/example.com.yaml", &text, None).unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("5000 nameservers: registries accept at most 20")),
            "{e:?}"
        );
    }

    #[test]
    fn a_full_manifest() {
        let text = format!(
            "registrar: other\nnameservers: [NS2.example.net, ns1.example.net.]\nlock: true\nprivacy: false\nauto_renew: true\nds:\n  - {{key_tag: 2371, algorithm: 13, digest_type: 2, digest: {DIGEST}}}\n"
        );
        let s = parse("d/example.com.yaml", &text, Some("reg")).unwrap();
        assert_eq!(s.domain.as_str(), "example.com.");
        assert_eq!(s.registrar, "other");
        let ns: Vec<&str> = s
            .desired
            .nameservers
            .as_ref()
            .unwrap()
            .iter()
            .map(Fqdn::as_str)
            .collect();
        assert_eq!(ns, ["ns1.example.net.", "ns2.example.net."]);
        assert_eq!(s.desired.lock, Some(true));
        assert_eq!(s.desired.privacy, Some(false));
        assert_eq!(s.desired.auto_renew, Some(true));
        assert_eq!(s.desired.ds.as_ref().unwrap()[0].key_tag, 2371);
        assert_eq!(s.positions[&DomainField::Ds].line, 7);

        // A digest of digits only is still the digest's text, not a number.
        let digits = "1".repeat(64);
        let text =
            format!("ds:\n  - {{key_tag: 1, algorithm: 8, digest_type: 2, digest: {digits}}}\n");
        let s = parse("example.com.yaml", &text, Some("reg")).unwrap();
        assert_eq!(s.desired.ds.unwrap()[0].digest, digits);
    }

    #[test]
    fn absent_fields_are_unmanaged_and_the_default_registrar_applies() {
        let s = parse("example.org.yaml", "# nothing managed yet\n", Some("reg")).unwrap();
        assert!(s.desired.is_empty());
        assert_eq!(s.registrar, "reg");
        let s = parse("example.org.yaml", "lock: false\n", Some("reg")).unwrap();
        assert_eq!(s.desired.lock, Some(false));
        assert_eq!(s.desired.nameservers, None);
    }

    #[test]
    fn every_problem_with_its_line() {
        let text = "registrar: local\nnameservers:\n  - ns1.example.net\n  - localhost\n  - ns1.example.net.\nds:\n  - key_tag: 70000\n    algorithm: 13\n    digest_type: 2\n    digest: abcd\n";
        let e = parse("domains/example.com.yaml", text, None).unwrap_err();
        assert_eq!(
            e,
            [
                "domains/example.com.yaml:1:12: registrar: provider \"local\" (zonefile) is not a registrar",
                "domains/example.com.yaml:4:5: nameservers: invalid nameserver \"localhost\": a nameserver is a host name with at least two labels",
                "domains/example.com.yaml:5:5: nameservers: ns1.example.net. is listed twice",
                "domains/example.com.yaml:7:14: ds: key_tag 70000 is out of range (0-65535)",
                "domains/example.com.yaml:10:13: ds: digest is 2 octets; digest_type 2 (SHA-256, RFC 4509 §2.2) is 32 octets (64 hex digits)",
            ]
        );
    }

    #[test]
    fn unknown_and_duplicate_keys_and_bad_types_are_refused() {
        let e = parse(
            "example.com.yaml",
            "lock: true\nlocked: true\n",
            Some("reg"),
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("example.com.yaml:2:"), "{e:?}");
        assert!(e[0].contains("locked"), "{e:?}");
        let e = parse("example.com.yaml", "lock: true\nlock: false\n", Some("reg")).unwrap_err();
        assert!(
            e[0].starts_with("example.com.yaml:2:") && e[0].contains("uplicate"),
            "{e:?}"
        );
        let e = parse("example.com.yaml", "privacy: yes\n", Some("reg")).unwrap_err();
        assert!(e[0].starts_with("example.com.yaml:1:"), "{e:?}");
        let e = parse("example.com.yaml", "nameservers: []\n", Some("reg")).unwrap_err();
        assert!(e[0].contains("empty list"), "{e:?}");
    }

    #[test]
    fn registrar_and_file_name_rules() {
        let e = parse("example.com.yaml", "lock: true\n", None).unwrap_err();
        assert_eq!(
            e,
            ["example.com.yaml: registrar: no registrar: set `registrar:` here or `defaults.registrar` in zonekeeper.yaml"]
        );
        let e = parse("example.com.yaml", "registrar: nope\n", None).unwrap_err();
        assert_eq!(
            e,
            ["example.com.yaml:1:12: registrar: \"nope\" is not a provider in `providers:`"]
        );
        for (file, want) in [
            ("Example.com.yaml", "name the file example.com.yaml"),
            ("example.com..yaml", "name the file example.com.yaml"),
            ("com.yaml", "not a registrable domain"),
            ("bad_name!.com.yaml", "not a domain"),
        ] {
            let e = parse(file, "", Some("reg")).unwrap_err();
            assert!(e[0].contains(want), "{file}: {e:?}");
        }
    }
}
