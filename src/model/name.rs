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
    #[error("name {0:?} has a bad escape (RFC 1035 section 5.1: \\X or \\DDD, DDD at most 255)")]
    BadEscape(String),
}

impl Fqdn {
    /// The root name `.`.
    pub fn root() -> Fqdn {
        Fqdn(".".into())
    }

    /// Parses an absolute name in presentation form (RFC 1035 section 5.1); a missing
    /// trailing dot is added (the name is taken as absolute). Upper case is folded and
    /// Unicode labels are converted to punycode. `\X` and `\DDD` escapes give any octet; the
    /// characters a zone file gives a meaning (`" ( ) ; @ $`), blanks and controls must be
    /// escaped. Errors: [`NameError`].
    pub fn parse(input: &str) -> Result<Fqdn, NameError> {
        Fqdn::parse_text(input, false)
    }

    /// As [`Fqdn::parse`], but `" ( ) ; @ $` may also stand unescaped: the form servers
    /// print names in (PowerDNS's API, `domain`'s `Display`), where no zone-file parser reads
    /// them.
    pub fn parse_printed(input: &str) -> Result<Fqdn, NameError> {
        Fqdn::parse_text(input, true)
    }

    fn parse_text(input: &str, lenient: bool) -> Result<Fqdn, NameError> {
        let trimmed = match input.strip_suffix('.') {
            // `a\.` ends in an escaped dot, not the root label.
            Some(t) if !ends_in_escape(t) => t,
            _ => input,
        };
        if trimmed.is_empty() {
            return if input == "." || input.is_empty() {
                Ok(Fqdn::root())
            } else {
                Err(NameError::EmptyLabel(input.to_string()))
            };
        }
        if let Some(plain) = Fqdn::plain(input, trimmed) {
            return plain;
        }
        let unicode_free: std::borrow::Cow<str> = if trimmed.is_ascii() || trimmed.contains('\\') {
            trimmed.into()
        } else {
            idna::domain_to_ascii_cow(trimmed.as_bytes(), idna::AsciiDenyList::EMPTY)
                .map_err(|_| NameError::BadIdn(input.to_string()))?
        };
        let mut labels: Vec<Vec<u8>> = vec![Vec::new()];
        let mut chars = unicode_free.chars().peekable();
        while let Some(c) = chars.next() {
            let label = labels.last_mut().expect("never empty");
            match c {
                '.' => labels.push(Vec::new()),
                '\\' => match chars.next() {
                    Some(d) if d.is_ascii_digit() => {
                        let mut n = d.to_digit(10).unwrap_or(0);
                        for _ in 0..2 {
                            match chars.next().and_then(|d| d.to_digit(10)) {
                                Some(d) => n = n * 10 + d,
                                None => return Err(bad_escape(input)),
                            }
                        }
                        label.push(u8::try_from(n).map_err(|_| bad_escape(input))?);
                    }
                    Some(e) if e.is_ascii() && !e.is_ascii_control() => label.push(e as u8),
                    _ => return Err(bad_escape(input)),
                },
                c if c.is_ascii_graphic()
                    && (lenient || !matches!(c, '"' | '(' | ')' | ';' | '@' | '$')) =>
                {
                    label.push(c as u8)
                }
                c if !c.is_ascii() && lenient => {
                    let mut buf = [0u8; 4];
                    label.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                c if !c.is_ascii() => return Err(NameError::BadIdn(input.to_string())),
                ch => {
                    return Err(NameError::BadChar {
                        name: input.to_string(),
                        ch,
                    })
                }
            }
        }
        Fqdn::from_octets(input, labels.iter().map(Vec::as_slice))
    }

    /// A name of letters, digits, `-`, `_`, `*` and dots only (nearly every name in a zone),
    /// checked as [`Fqdn::from_octets`] checks one, with one allocation (big zones parse
    /// 100,000s); `None` for any other name, which takes the general path.
    fn plain(input: &str, trimmed: &str) -> Option<Result<Fqdn, NameError>> {
        let b = trimmed.as_bytes();
        if !b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'*' | b'.'))
        {
            return None;
        }
        let mut s = String::with_capacity(trimmed.len() + 1);
        s.push_str(trimmed);
        s.make_ascii_lowercase();
        for (i, label) in s.split('.').enumerate() {
            if label.is_empty() {
                return Some(Err(NameError::EmptyLabel(input.to_string())));
            }
            if label.len() > 63 {
                return Some(Err(NameError::LabelTooLong {
                    name: input.to_string(),
                    label: label.to_string(),
                }));
            }
            if label.contains('*') && (label != "*" || i != 0) {
                return Some(Err(NameError::BadWildcard(input.to_string())));
            }
        }
        if s.len() > 253 {
            return Some(Err(NameError::NameTooLong(input.to_string())));
        }
        s.push('.');
        Some(Ok(Fqdn(s.into_boxed_str())))
    }

    /// The name made of these labels (raw octets, left-most first, no root label), as read
    /// off the wire. `shown` names the input in errors. ASCII upper case is folded.
    pub fn from_octets<'a>(
        shown: &str,
        labels: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Fqdn, NameError> {
        let mut s = String::new();
        let mut wire_len = 0usize;
        for (i, label) in labels.into_iter().enumerate() {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(shown.to_string()));
            }
            let text = escape_label(label);
            if label.len() > 63 {
                return Err(NameError::LabelTooLong {
                    name: shown.to_string(),
                    label: text,
                });
            }
            if label.contains(&b'*') && (label != b"*" || i != 0) {
                return Err(NameError::BadWildcard(shown.to_string()));
            }
            wire_len += label.len() + usize::from(i > 0);
            s.push_str(&text);
            s.push('.');
        }
        if s.is_empty() {
            return Ok(Fqdn::root());
        }
        if wire_len > 253 {
            return Err(NameError::NameTooLong(shown.to_string()));
        }
        Ok(Fqdn(s.into_boxed_str()))
    }

    /// A record name as octoDNS holds it (the characters themselves, no escapes: `"a\b"` is
    /// the three octets `a`, `\`, `b`; labels split at every `.`), relative to `origin`. A
    /// non-ASCII label is IDNA-encoded, as octoDNS 1.22's `idna_encode` does per label.
    pub fn from_literal_relative(rel: &str, origin: &Fqdn) -> Result<Fqdn, NameError> {
        let shown = if origin.is_root() {
            rel.to_string()
        } else {
            format!("{rel}.{}", origin.as_str())
        };
        let mut labels: Vec<Vec<u8>> = Vec::new();
        if !rel.is_empty() {
            for label in rel.split('.') {
                if label.is_ascii() {
                    labels.push(label.as_bytes().to_vec());
                } else {
                    let a = idna::domain_to_ascii_cow(label.as_bytes(), idna::AsciiDenyList::EMPTY)
                        .map_err(|_| NameError::BadIdn(shown.clone()))?;
                    labels.push(a.as_bytes().to_vec());
                }
            }
        }
        labels.extend(origin.octet_labels());
        Fqdn::from_octets(&shown, labels.iter().map(Vec::as_slice))
    }

    /// The labels as raw octets (escapes decoded), left-most first, without the root label.
    pub fn octet_labels(&self) -> Vec<Vec<u8>> {
        if self.is_root() {
            return Vec::new();
        }
        self.without_dot().split('.').map(unescape).collect()
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

fn bad_escape(input: &str) -> NameError {
    NameError::BadEscape(input.to_string())
}

/// True when `s` ends in an odd number of backslashes (its last character is escaped).
fn ends_in_escape(s: &str) -> bool {
    s.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// One label's octets in the model's canonical presentation form (RFC 1035 section 5.1):
/// ASCII folded to lower case; `\ " ( ) ; @ $` escaped with a backslash; `.`, blanks,
/// controls and octets above 0x7E as `\DDD` (a `.` never appears inside a label's text, so
/// splitting the text at `.` gives the labels).
pub fn escape_label(label: &[u8]) -> String {
    let mut s = String::with_capacity(label.len());
    for &b in label {
        match b.to_ascii_lowercase() {
            b @ (b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$') => {
                s.push('\\');
                s.push(b as char);
            }
            b if b == b'.' || !b.is_ascii_graphic() => {
                s.push_str(&format!("\\{b:03}"));
            }
            b => s.push(b as char),
        }
    }
    s
}

/// The octets of escaped presentation text (`\X`, `\DDD`); text from [`escape_label`] or any
/// [`Fqdn`] part. Bad escapes are kept as they are.
pub fn unescape(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let digits = &b[i + 1..(i + 4).min(b.len())];
            if digits.len() == 3 && digits.iter().all(u8::is_ascii_digit) {
                let n = digits
                    .iter()
                    .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
                if let Ok(o) = u8::try_from(n) {
                    out.push(o);
                    i += 4;
                    continue;
                }
            }
            out.push(b[i + 1]);
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// A relative or absolute name's text with the escapes decoded: the characters octoDNS
/// keeps in its YAML (`\"legacy` is `"legacy`). Octets that are not UTF-8 are shown as
/// U+FFFD.
pub fn literal_text(text: &str) -> String {
    String::from_utf8_lossy(&unescape(text)).into_owned()
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
        for bad in ["a;b", "a\"b", "a(b", "@x", "a$b", "a\tb", "a b"] {
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

    #[test]
    fn escaped_labels_have_one_canonical_form() {
        // Every octet a zone file must escape, written the canonical way, reads back equal.
        for (text, canonical) in [
            ("\\\"Legacy.example.", "\\\"legacy.example."),
            ("\\034legacy.example.", "\\\"legacy.example."),
            ("a\\;b.example.", "a\\;b.example."),
            ("\\(x\\).example.", "\\(x\\).example."),
            ("back\\\\slash.example.", "back\\\\slash.example."),
            ("\\$d.\\@.example.", "\\$d.\\@.example."),
            ("bell\\007.example.", "bell\\007.example."),
            ("a\\.b.example.", "a\\046b.example."),
            ("\\065\\255.example.", "a\\255.example."),
            ("a\\\\.example", "a\\\\.example."),
        ] {
            let f = Fqdn::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(f.as_str(), canonical, "{text}");
            assert_eq!(Fqdn::parse(f.as_str()).unwrap(), f, "{text} round trip");
        }
        let dot = Fqdn::parse("a\\.b.example.").unwrap();
        assert_eq!(dot.label_count(), 2);
        assert_eq!(dot.octet_labels()[0], b"a.b");
        assert_eq!(Fqdn::parse("a\\.").unwrap().label_count(), 1);
        for bad in ["a\\", "a\\25", "a\\256.x", "a\\\tb"] {
            assert!(
                matches!(Fqdn::parse(bad), Err(NameError::BadEscape(_))),
                "{bad:?}"
            );
        }
        // Servers print `"` and `;` bare; that form is read too.
        assert_eq!(
            Fqdn::parse_printed("\"legacy;x.example.").unwrap().as_str(),
            "\\\"legacy\\;x.example."
        );
        // 63 octets per label counts octets, not escape characters.
        let l63 = format!("{}\\007", "a".repeat(62));
        assert!(Fqdn::parse(&l63).is_ok());
        assert!(Fqdn::parse(&format!("a{l63}")).is_err());
    }

    #[test]
    fn octodns_names_are_literal_characters() {
        let z = Fqdn::parse("example.com").unwrap();
        let cases = [
            ("\"legacy", "\\\"legacy.example.com."),
            ("a\\b", "a\\\\b.example.com."),
            ("x;(y)$@", "x\\;\\(y\\)\\$\\@.example.com."),
            ("ctl\u{7}", "ctl\\007.example.com."),
            ("Bücher", "xn--bcher-kva.example.com."),
            ("", "example.com."),
        ];
        for (raw, want) in cases {
            let f = Fqdn::from_literal_relative(raw, &z).unwrap();
            assert_eq!(f.as_str(), want, "{raw:?}");
            let rel = f.relative_to(&z).unwrap();
            if raw.is_ascii() {
                assert_eq!(literal_text(rel), raw.to_lowercase(), "{raw:?}");
            }
        }
    }
}
