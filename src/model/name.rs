//! Domain names as a type: [`Fqdn`] is always absolute, lower-case ASCII (IDN labels in
//! punycode) and syntactically valid, so code past the parsing edge never re-checks names.

use std::fmt;

/// An absolute, normalised domain name: lower-case ASCII, punycode for IDN labels, with the
/// trailing dot (`www.example.com.`). The root is `.`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fqdn(Box<str>);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty label in name {0:?}")]
    EmptyLabel(String),
    #[error("label {label:?} in {name:?} is longer than 63 bytes")]
    LabelTooLong { name: String, label: String },
    #[error("name {0:?} is longer than 253 bytes")]
    NameTooLong(String),
    #[error("name {name:?} has an invalid character {ch:?}")]
    BadChar { name: String, ch: char },
    #[error("name {0:?} is not a valid internationalised domain name")]
    BadIdn(String),
    #[error("wildcard '*' must be a whole, left-most label in {0:?}")]
    BadWildcard(String),
}

impl Fqdn {
    /// The root name `.`.
    pub fn root() -> Fqdn {
        Fqdn(".".into())
    }

    /// Parses an absolute name; a missing trailing dot is added (the name is taken as absolute).
    /// Upper case is folded and Unicode labels are converted to punycode.
    pub fn parse(input: &str) -> Result<Fqdn, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return if input == "." || input.is_empty() {
                Ok(Fqdn::root())
            } else {
                Err(NameError::EmptyLabel(input.to_string()))
            };
        }
        let ascii: String = if trimmed.is_ascii() {
            // Room for the dot: one allocation per name (big zones parse 100,000s).
            let mut s = String::with_capacity(trimmed.len() + 1);
            s.push_str(trimmed);
            s.make_ascii_lowercase();
            s
        } else {
            idna::domain_to_ascii_cow(trimmed.as_bytes(), idna::AsciiDenyList::EMPTY)
                .map_err(|_| NameError::BadIdn(input.to_string()))?
                .into_owned()
        };
        check_labels(input, &ascii)?;
        let mut s = ascii;
        s.push('.');
        Ok(Fqdn(s.into_boxed_str()))
    }

    /// Parses `rel` relative to `origin`: `""` or `"@"` is the origin itself, a name ending in
    /// `.` is absolute, anything else gets the origin appended.
    pub fn parse_relative(rel: &str, origin: &Fqdn) -> Result<Fqdn, NameError> {
        if rel.is_empty() || rel == "@" {
            return Ok(origin.clone());
        }
        if rel.ends_with('.') {
            return Fqdn::parse(rel);
        }
        if origin.is_root() {
            return Fqdn::parse(rel);
        }
        Fqdn::parse(&format!("{rel}.{}", origin.as_str()))
    }

    /// The name with its trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without the trailing dot (`example.com`), `""` for the root.
    pub fn without_dot(&self) -> &str {
        self.0.strip_suffix('.').unwrap_or(&self.0)
    }

    pub fn is_root(&self) -> bool {
        &*self.0 == "."
    }

    /// True when `self` equals `zone` or lies below it.
    pub fn is_in(&self, zone: &Fqdn) -> bool {
        if zone.is_root() {
            return true;
        }
        self.0.len() >= zone.0.len()
            && self.0.ends_with(&*zone.0)
            && (self.0.len() == zone.0.len()
                || self.0.as_bytes()[self.0.len() - zone.0.len() - 1] == b'.')
    }

    /// The part of the name left of `zone`: `""` at the apex, `"www"` for `www.<zone>`.
    /// Returns `None` when the name is not inside `zone`.
    pub fn relative_to(&self, zone: &Fqdn) -> Option<&str> {
        if !self.is_in(zone) {
            return None;
        }
        if zone.is_root() {
            return Some(self.without_dot());
        }
        let n = self.0.len() - zone.0.len();
        Some(if n == 0 { "" } else { &self.0[..n - 1] })
    }

    /// Number of labels (root has 0).
    pub fn label_count(&self) -> usize {
        if self.is_root() {
            0
        } else {
            self.without_dot().split('.').count()
        }
    }

    /// The left-most label (`""` for the root).
    pub fn first_label(&self) -> &str {
        self.without_dot().split('.').next().unwrap_or("")
    }

    /// True when the left-most label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.first_label() == "*"
    }

    /// The name as a human would read it: punycode labels decoded to Unicode.
    pub fn to_unicode(&self) -> String {
        if !self.0.contains("xn--") {
            return self.0.to_string();
        }
        let (s, res) = idna::domain_to_unicode(self.without_dot());
        if res.is_err() {
            return self.0.to_string();
        }
        format!("{s}.")
    }
}

fn check_labels(input: &str, ascii: &str) -> Result<(), NameError> {
    if ascii.len() > 253 {
        return Err(NameError::NameTooLong(input.to_string()));
    }
    for (i, label) in ascii.split('.').enumerate() {
        if label.is_empty() {
            return Err(NameError::EmptyLabel(input.to_string()));
        }
        if label.len() > 63 {
            return Err(NameError::LabelTooLong {
                name: input.to_string(),
                label: label.to_string(),
            });
        }
        if label.contains('*') && (label != "*" || i != 0) {
            return Err(NameError::BadWildcard(input.to_string()));
        }
        // Hostname rules are too strict for DNS: a label may hold any octet (RFC 2181
        // section 11; `_sip`, `#legacy`), and octoDNS accepts them. Refused: what a zone
        // file (RFC 1035 section 5.1) cannot hold without escapes (blanks, controls,
        // `\ " ( ) ;`), `@` and `$` (the origin and directives there), and non-ASCII.
        if let Some(ch) = label.chars().find(|c| {
            !c.is_ascii_graphic() || matches!(c, '\\' | '"' | '(' | ')' | ';' | '@' | '$')
        }) {
            return Err(NameError::BadChar {
                name: input.to_string(),
                ch,
            });
        }
    }
    Ok(())
}

impl fmt::Display for Fqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fqdn({})", self.0)
    }
}

impl serde::Serialize for Fqdn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_dot_and_idn() {
        assert_eq!(
            Fqdn::parse("WWW.Example.COM").unwrap().as_str(),
            "www.example.com."
        );
        assert_eq!(
            Fqdn::parse("bücher.example.").unwrap().as_str(),
            "xn--bcher-kva.example."
        );
        assert_eq!(
            Fqdn::parse("xn--bcher-kva.example.").unwrap().to_unicode(),
            "bücher.example."
        );
        assert!(Fqdn::parse(".").unwrap().is_root());
    }

    #[test]
    fn relative_names() {
        let z = Fqdn::parse("example.com").unwrap();
        assert_eq!(Fqdn::parse_relative("", &z).unwrap(), z);
        assert_eq!(
            Fqdn::parse_relative("Www", &z).unwrap().as_str(),
            "www.example.com."
        );
        let w = Fqdn::parse("a.b.example.com").unwrap();
        assert_eq!(w.relative_to(&z), Some("a.b"));
        assert_eq!(z.relative_to(&z), Some(""));
        assert_eq!(Fqdn::parse("badexample.com").unwrap().relative_to(&z), None);
    }

    #[test]
    fn rejects_bad_names() {
        assert!(matches!(Fqdn::parse("a..b"), Err(NameError::EmptyLabel(_))));
        assert!(matches!(
            Fqdn::parse(&"a".repeat(64)),
            Err(NameError::LabelTooLong { .. })
        ));
        assert!(matches!(
            Fqdn::parse("a.*.b"),
            Err(NameError::BadWildcard(_))
        ));
        assert!(matches!(Fqdn::parse("a b"), Err(NameError::BadChar { .. })));
        for bad in ["a;b", "a\"b", "a(b", "a\\b", "@x", "a$b", "a\tb"] {
            assert!(
                matches!(Fqdn::parse(bad), Err(NameError::BadChar { .. })),
                "{bad:?}"
            );
        }
        // Any other octet is a valid label character (RFC 2181 section 11); octoDNS 1.22
        // accepts these names and octodns-bind writes them as they are.
        for good in [
            "#legacy.example.com.",
            "a+b=c.example.com.",
            "x!y.example.com.",
        ] {
            assert_eq!(Fqdn::parse(good).unwrap().as_str(), good);
        }
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(matches!(Fqdn::parse(&long), Err(NameError::NameTooLong(_))));
        assert!(Fqdn::parse("*.example.com").unwrap().is_wildcard());
        assert!(Fqdn::parse("_sip._tcp.example.com").is_ok());
    }
}
