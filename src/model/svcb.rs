//! SVCB and HTTPS record values (RFC 9460): the typed value, its presentation form
//! (RFC 9460 §2.1 and Appendix A) and its wire form (§2.2).
//!
//! Canonical form: [`SvcParams`] holds its parameters sorted by key number (the wire order
//! §2.2 requires), `mandatory` keys sorted, every known key typed and every other key kept as
//! raw octets under its number. A `keyNNNNN` written for a known key (`key3=...`) is read as
//! that key, so two values are equal exactly when their wire forms are. Duplicate keys are
//! kept (not merged) so that [`super::check`] can refuse them with their section.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::Fqdn;

/// One SVCB or HTTPS value: `SvcPriority TargetName SvcParams` (RFC 9460 §2.1).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Svcb {
    /// 0 is AliasMode (§2.4.2), 1-65535 ServiceMode (§2.4.3).
    pub priority: u16,
    /// `.` means the owner name in ServiceMode and "no service" in AliasMode (§2.5).
    pub target: Fqdn,
    pub params: SvcParams,
}

/// SvcParamKey numbers with a registered name zonekeeper types (RFC 9460 §14.3.2).
pub mod key {
    pub const MANDATORY: u16 = 0;
    pub const ALPN: u16 = 1;
    pub const NO_DEFAULT_ALPN: u16 = 2;
    pub const PORT: u16 = 3;
    pub const IPV4HINT: u16 = 4;
    pub const ECH: u16 = 5;
    pub const IPV6HINT: u16 = 6;
    /// "Invalid key" (§14.3.2).
    pub const INVALID: u16 = 65535;
}

/// One SvcParam, typed when its key is one RFC 9460 defines (or `ech`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum SvcParam {
    /// Keys that must be understood (§8), sorted by number.
    Mandatory(Vec<u16>),
    /// ALPN protocol ids, in order (§7.1).
    Alpn(Vec<Vec<u8>>),
    /// §7.1: no value.
    NoDefaultAlpn,
    /// §7.2.
    Port(u16),
    /// §7.3, in order.
    Ipv4Hint(Vec<Ipv4Addr>),
    /// An ECHConfigList (draft-ietf-tls-svcb-ech), as octets; base64 in presentation.
    Ech(Vec<u8>),
    /// §7.3, in order.
    Ipv6Hint(Vec<Ipv6Addr>),
    /// Any other key: its number and raw value octets (`keyNNNNN="..."`, §2.1).
    Unknown(u16, Vec<u8>),
}

impl SvcParam {
    /// The SvcParamKey number.
    pub fn key(&self) -> u16 {
        match self {
            SvcParam::Mandatory(_) => key::MANDATORY,
            SvcParam::Alpn(_) => key::ALPN,
            SvcParam::NoDefaultAlpn => key::NO_DEFAULT_ALPN,
            SvcParam::Port(_) => key::PORT,
            SvcParam::Ipv4Hint(_) => key::IPV4HINT,
            SvcParam::Ech(_) => key::ECH,
            SvcParam::Ipv6Hint(_) => key::IPV6HINT,
            SvcParam::Unknown(k, _) => *k,
        }
    }

    /// The SvcParamValue octets (§2.2).
    pub fn value_wire(&self) -> Vec<u8> {
        match self {
            SvcParam::Mandatory(keys) => keys.iter().flat_map(|k| k.to_be_bytes()).collect(),
            SvcParam::Alpn(ids) => {
                let mut w = Vec::new();
                for id in ids {
                    // Lengths over 255 are refused by the checks; never wrap silently.
                    w.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
                    w.extend_from_slice(id);
                }
                w
            }
            SvcParam::NoDefaultAlpn => Vec::new(),
            SvcParam::Port(p) => p.to_be_bytes().to_vec(),
            SvcParam::Ipv4Hint(a) => a.iter().flat_map(|ip| ip.octets()).collect(),
            SvcParam::Ech(b) | SvcParam::Unknown(_, b) => b.clone(),
            SvcParam::Ipv6Hint(a) => a.iter().flat_map(|ip| ip.octets()).collect(),
        }
    }

    /// Reads a value from its wire octets (§2.2, §7, §8); a known key whose octets do not
    /// have its shape is an error.
    pub fn from_wire(k: u16, v: &[u8]) -> Result<SvcParam, String> {
        let name = key_name(k);
        Ok(match k {
            key::MANDATORY => {
                if v.is_empty() || !v.len().is_multiple_of(2) {
                    return Err(format!(
                        "{name}: a non-empty list of 2-octet keys (RFC 9460 §8)"
                    ));
                }
                let mut keys: Vec<u16> = v
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                keys.sort_unstable();
                SvcParam::Mandatory(keys)
            }
            key::ALPN => {
                let mut ids = Vec::new();
                let mut i = 0;
                while i < v.len() {
                    let n = usize::from(v[i]);
                    let id = v
                        .get(i + 1..i + 1 + n)
                        .ok_or_else(|| format!("{name}: truncated alpn-id (RFC 9460 §7.1.1)"))?;
                    ids.push(id.to_vec());
                    i += 1 + n;
                }
                SvcParam::Alpn(ids)
            }
            key::NO_DEFAULT_ALPN => {
                if !v.is_empty() {
                    return Err(format!("{name} has no value (RFC 9460 §7.1.1)"));
                }
                SvcParam::NoDefaultAlpn
            }
            key::PORT => match v {
                [a, b] => SvcParam::Port(u16::from_be_bytes([*a, *b])),
                _ => return Err(format!("{name}: 2 octets (RFC 9460 §7.2)")),
            },
            key::IPV4HINT => {
                if v.is_empty() || !v.len().is_multiple_of(4) {
                    return Err(format!(
                        "{name}: one or more 4-octet addresses (RFC 9460 §7.3)"
                    ));
                }
                SvcParam::Ipv4Hint(
                    v.chunks(4)
                        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        .collect(),
                )
            }
            key::ECH => SvcParam::Ech(v.to_vec()),
            key::IPV6HINT => {
                if v.is_empty() || !v.len().is_multiple_of(16) {
                    return Err(format!(
                        "{name}: one or more 16-octet addresses (RFC 9460 §7.3)"
                    ));
                }
                SvcParam::Ipv6Hint(
                    v.chunks(16)
                        .map(|c| {
                            let mut o = [0u8; 16];
                            o.copy_from_slice(c);
                            Ipv6Addr::from(o)
                        })
                        .collect(),
                )
            }
            other => SvcParam::Unknown(other, v.to_vec()),
        })
    }

    /// Reads a value from its presentation form (§2.1, Appendix A): `value` is the
    /// `<character-string>` after `key=`, escapes already decoded (`None` when the key was
    /// written alone).
    pub fn from_presentation(k: u16, value: Option<&[u8]>) -> Result<SvcParam, String> {
        let name = key_name(k);
        let text = || -> Result<&str, String> {
            let v = value.ok_or_else(|| format!("{name} needs a value ({name}=...)"))?;
            std::str::from_utf8(v).map_err(|_| format!("{name}: value is not text"))
        };
        Ok(match k {
            key::MANDATORY => {
                let mut keys = Vec::new();
                for item in split_list(value.unwrap_or_default())? {
                    let s = String::from_utf8_lossy(&item).into_owned();
                    keys.push(key_number(&s).ok_or_else(|| {
                        format!("{name}: unknown SvcParamKey {s:?} (RFC 9460 §8)")
                    })?);
                }
                if value.is_none() || keys.is_empty() {
                    return Err(format!("{name} lists no keys (RFC 9460 §8)"));
                }
                keys.sort_unstable();
                SvcParam::Mandatory(keys)
            }
            key::ALPN => {
                let v = value.ok_or_else(|| format!("{name} needs a value (RFC 9460 §7.1.1)"))?;
                SvcParam::Alpn(split_list(v)?)
            }
            key::NO_DEFAULT_ALPN => match value {
                None | Some([]) => SvcParam::NoDefaultAlpn,
                Some(_) => return Err(format!("{name} has no value (RFC 9460 §7.1.1)")),
            },
            key::PORT => {
                let t = text()?;
                if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(format!("{name} {t:?} is not a number (RFC 9460 §7.2)"));
                }
                SvcParam::Port(
                    t.parse()
                        .map_err(|_| format!("{name} {t:?}: 0 to 65535 (RFC 9460 §7.2)"))?,
                )
            }
            key::IPV4HINT => SvcParam::Ipv4Hint(
                text()?
                    .split(',')
                    .map(|a| {
                        a.parse()
                            .map_err(|_| format!("{name}: {a:?} is not an IPv4 address"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            key::ECH => {
                let t = text()?;
                SvcParam::Ech(
                    domain::utils::base64::decode::<Vec<u8>>(t)
                        .map_err(|_| format!("{name}: {t:?} is not base64"))?,
                )
            }
            key::IPV6HINT => SvcParam::Ipv6Hint(
                text()?
                    .split(',')
                    .map(|a| {
                        a.parse()
                            .map_err(|_| format!("{name}: {a:?} is not an IPv6 address"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            // Any key may be written keyNNNNN with its wire value as a character-string
            // (§2.1); a known key so written is read as that key.
            other => SvcParam::Unknown(other, value.unwrap_or_default().to_vec()),
        })
    }
}

/// A key's presentation name: its registered name, or `keyNNNNN` (§2.1).
pub fn key_name(k: u16) -> String {
    match k {
        key::MANDATORY => "mandatory".into(),
        key::ALPN => "alpn".into(),
        key::NO_DEFAULT_ALPN => "no-default-alpn".into(),
        key::PORT => "port".into(),
        key::IPV4HINT => "ipv4hint".into(),
        key::ECH => "ech".into(),
        key::IPV6HINT => "ipv6hint".into(),
        other => format!("key{other}"),
    }
}

/// A key's number from its presentation name: a registered name zonekeeper types, or
/// `keyNNNNN` with the decimal number and no leading zeros (§2.1).
pub fn key_number(name: &str) -> Option<u16> {
    Some(match name {
        "mandatory" => key::MANDATORY,
        "alpn" => key::ALPN,
        "no-default-alpn" => key::NO_DEFAULT_ALPN,
        "port" => key::PORT,
        "ipv4hint" => key::IPV4HINT,
        "ech" => key::ECH,
        "ipv6hint" => key::IPV6HINT,
        _ => {
            let digits = name.strip_prefix("key")?;
            let canonical = !digits.is_empty()
                && digits.bytes().all(|c| c.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            if !canonical {
                return None;
            }
            digits.parse().ok()?
        }
    })
}

/// Names of registered keys zonekeeper keeps as raw octets, accepted when reading
/// presentation text (BIND and `dig` print them): dohpath (RFC 9461) and ohttp (RFC 9540).
fn extra_key_number(name: &str) -> Option<u16> {
    match name {
        "dohpath" => Some(7),
        "ohttp" => Some(8),
        _ => None,
    }
}

/// Splits a decoded value into its comma-separated items, `\,` and `\\` being a literal
/// comma and backslash (RFC 9460 Appendix A.1, the second level of escaping).
pub fn split_list(v: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut items = vec![Vec::new()];
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' => {
                let next = v
                    .get(i + 1)
                    .ok_or("a value list ends in a backslash (RFC 9460 Appendix A.1)")?;
                if let Some(it) = items.last_mut() {
                    it.push(*next);
                }
                i += 2;
            }
            b',' => {
                items.push(Vec::new());
                i += 1;
            }
            c => {
                if let Some(it) = items.last_mut() {
                    it.push(c);
                }
                i += 1;
            }
        }
    }
    if v.is_empty() {
        items.clear();
    }
    Ok(items)
}

/// The parameters of one value, sorted by key number (RFC 9460 §2.2).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct SvcParams(Vec<SvcParam>);

impl SvcParams {
    /// Sorts `params` by key (stable, so duplicates stay for the checks to report).
    pub fn new(mut params: Vec<SvcParam>) -> SvcParams {
        params.sort_by_key(SvcParam::key);
        SvcParams(params)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, SvcParam> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The parameter with key `k`, if any.
    pub fn get(&self, k: u16) -> Option<&SvcParam> {
        self.0.iter().find(|p| p.key() == k)
    }
}

impl Svcb {
    /// The RDATA octets (§2.2): priority, uncompressed target name, then each key, value
    /// length and value.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut w = self.priority.to_be_bytes().to_vec();
        if !self.target.is_root() {
            for label in self.target.as_str().trim_end_matches('.').split('.') {
                w.push(label.len() as u8);
                w.extend_from_slice(label.as_bytes());
            }
        }
        w.push(0);
        for p in self.params.iter() {
            let v = p.value_wire();
            w.extend_from_slice(&p.key().to_be_bytes());
            w.extend_from_slice(&u16::try_from(v.len()).unwrap_or(u16::MAX).to_be_bytes());
            w.extend_from_slice(&v);
        }
        w
    }

    /// Reads RDATA octets (§2.2). Keys out of order are read and sorted; duplicates kept.
    pub fn from_wire(d: &[u8]) -> Result<Svcb, String> {
        let priority = u16::from_be_bytes([
            *d.first().ok_or("SVCB RDATA is empty")?,
            *d.get(1).ok_or("SVCB RDATA is truncated")?,
        ]);
        let mut i = 2;
        let mut labels = Vec::new();
        loop {
            let n = usize::from(*d.get(i).ok_or("SVCB target name is truncated")?);
            i += 1;
            if n == 0 {
                break;
            }
            if n > 63 {
                return Err("SVCB target name is compressed or malformed (RFC 9460 §2.2)".into());
            }
            let label = d.get(i..i + n).ok_or("SVCB target name is truncated")?;
            let mut s = String::new();
            for &b in label {
                // Names as the rest of zonekeeper holds them: text, other octets escaped.
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*' {
                    s.push(b.to_ascii_lowercase() as char);
                } else {
                    let _ = write!(s, "\\{b:03}");
                }
            }
            labels.push(s);
            i += n;
        }
        let target = if labels.is_empty() {
            Fqdn::root()
        } else {
            Fqdn::parse(&format!("{}.", labels.join("."))).map_err(|e| e.to_string())?
        };
        let mut params = Vec::new();
        while i < d.len() {
            let h = d.get(i..i + 4).ok_or("SVCB SvcParam is truncated")?;
            let k = u16::from_be_bytes([h[0], h[1]]);
            let n = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let v = d
                .get(i + 4..i + 4 + n)
                .ok_or("SVCB SvcParam is truncated")?;
            params.push(SvcParam::from_wire(k, v)?);
            i += 4 + n;
        }
        Ok(Svcb {
            priority,
            target,
            params: SvcParams::new(params),
        })
    }

    /// Reads presentation text (`1 . alpn=h2,h3 port=443`, §2.1), in any of the common
    /// renderings (quoted or not, BIND's, PowerDNS's and `dig`'s).
    pub fn parse(content: &str) -> Result<Svcb, String> {
        let b = content.as_bytes();
        let mut i = 0;
        let word = |i: &mut usize| -> String {
            while *i < b.len() && b[*i].is_ascii_whitespace() {
                *i += 1;
            }
            let start = *i;
            while *i < b.len() && !b[*i].is_ascii_whitespace() {
                *i += 1;
            }
            content[start..*i].to_string()
        };
        let p = word(&mut i);
        let priority: u16 = p
            .parse()
            .map_err(|_| format!("SvcPriority {p:?} is not 0 to 65535 (RFC 9460 §2.1)"))?;
        let t = word(&mut i);
        let t = t.trim_matches('"');
        if t.is_empty() {
            return Err("missing TargetName".into());
        }
        let target = if t == "." {
            Fqdn::root()
        } else {
            Fqdn::parse(t).map_err(|e| format!("TargetName {t:?}: {e}"))?
        };
        let mut params = Vec::new();
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let (param, next) = parse_param(content, i)?;
            params.push(param);
            i = next;
        }
        Ok(Svcb {
            priority,
            target,
            params: SvcParams::new(params),
        })
    }
}

/// Reads one `key[=value]` starting at byte `i` of `s`; returns it and where it ended.
pub fn parse_param(s: &str, mut i: usize) -> Result<(SvcParam, usize), String> {
    let b = s.as_bytes();
    let start = i;
    while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
        i += 1;
    }
    let name = &s[start..i];
    let k = key_number(name)
        .or_else(|| extra_key_number(name))
        .ok_or_else(|| {
            format!("unknown SvcParamKey {name:?}: a registered name or keyNNNNN (RFC 9460 §2.1)")
        })?;
    // keyNNNNN carries the wire value as a character-string (§2.1), whatever the key.
    let generic = key_number(name).is_some_and(|_| name.starts_with("key"))
        || extra_key_number(name).is_some();
    let read = |v: Option<&[u8]>| {
        if generic {
            SvcParam::from_wire(k, v.unwrap_or_default())
        } else {
            SvcParam::from_presentation(k, v)
        }
    };
    if i >= b.len() || b[i] != b'=' {
        return Ok((read(None)?, i));
    }
    i += 1;
    let quoted = b.get(i) == Some(&b'"');
    if quoted {
        i += 1;
    }
    let mut v = Vec::new();
    let mut closed = !quoted;
    while i < b.len() {
        let c = b[i];
        if quoted && c == b'"' {
            closed = true;
            i += 1;
            break;
        }
        if !quoted && (c.is_ascii_whitespace() || c == b'"') {
            break;
        }
        if !quoted && c == b';' {
            return Err(format!(
                "{name}: an unescaped ; starts a comment in a zone file (write \\059)"
            ));
        }
        if c == b'\\' {
            let digits = b
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(u8::is_ascii_digit));
            if let Some(d) = digits {
                let n = u16::from(d[0] - b'0') * 100
                    + u16::from(d[1] - b'0') * 10
                    + u16::from(d[2] - b'0');
                v.push(u8::try_from(n).map_err(|_| format!("{name}: escape \\{n} is over 255"))?);
                i += 4;
            } else {
                let next = b
                    .get(i + 1)
                    .ok_or_else(|| format!("{name}: dangling backslash"))?;
                v.push(*next);
                i += 2;
            }
            continue;
        }
        v.push(c);
        i += 1;
    }
    if !closed {
        return Err(format!("{name}: unterminated quoted value"));
    }
    Ok((read(Some(&v))?, i))
}

/// One list item as unquoted presentation text (a space as `\032`), both levels of
/// escaping applied: the form octoDNS YAML lists hold (`import` writes it).
pub fn unquoted_list_item(item: &[u8]) -> String {
    let mut s = String::new();
    write_list_item(&mut s, item);
    s.replace(' ', "\\032")
}

/// Octets as unquoted `<character-string>` text: `\X` for the characters that end or
/// quote a word, `\DDD` for bytes outside printable ASCII.
pub fn unquoted_text(v: &[u8]) -> String {
    let mut s = String::new();
    for &c in v {
        match c {
            b'"' | b'\\' | b';' | b'(' | b')' => {
                s.push('\\');
                s.push(c as char);
            }
            0x21..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
    s
}

/// Writes one list item with both levels of escaping (Appendix A.1): `,` and `\` escaped
/// for the list, then the result as unquoted character-string text (`\\,` for a comma).
fn write_list_item(out: &mut String, item: &[u8]) {
    for &c in item {
        match c {
            b',' => out.push_str("\\\\,"),
            b'\\' => out.push_str("\\\\\\\\"),
            b' ' => out.push(' '),
            b'"' | b';' | b'(' | b')' => {
                let _ = write!(out, "\\{c:03}");
            }
            0x21..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:03}");
            }
        }
    }
}

impl fmt::Display for SvcParam {
    /// `key=value` as RFC 9460 Appendix A writes it, in the rendering PowerDNS 4.7 uses
    /// (its API refuses any other): lists unquoted unless an item holds a space, `ech` and
    /// unknown keys quoted, `no-default-alpn` bare.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&key_name(self.key()))?;
        match self {
            SvcParam::NoDefaultAlpn => Ok(()),
            SvcParam::Mandatory(keys) => {
                let names: Vec<String> = keys.iter().map(|k| key_name(*k)).collect();
                write!(f, "={}", names.join(","))
            }
            SvcParam::Alpn(ids) => {
                let mut s = String::new();
                for (n, id) in ids.iter().enumerate() {
                    if n > 0 {
                        s.push(',');
                    }
                    write_list_item(&mut s, id);
                }
                if s.contains(' ') || s.is_empty() {
                    write!(f, "=\"{s}\"")
                } else {
                    write!(f, "={s}")
                }
            }
            SvcParam::Port(p) => write!(f, "={p}"),
            SvcParam::Ipv4Hint(a) => {
                let s: Vec<String> = a.iter().map(ToString::to_string).collect();
                write!(f, "={}", s.join(","))
            }
            SvcParam::Ipv6Hint(a) => {
                let s: Vec<String> = a.iter().map(ToString::to_string).collect();
                write!(f, "={}", s.join(","))
            }
            SvcParam::Ech(b) => write!(f, "=\"{}\"", domain::utils::base64::encode_string(b)),
            SvcParam::Unknown(_, v) => {
                let mut s = String::new();
                super::rdata::write_quoted(&mut s, v);
                write!(f, "={s}")
            }
        }
    }
}

impl fmt::Display for Svcb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.priority, self.target)?;
        for p in self.params.iter() {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> Svcb {
        let v = Svcb::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(Svcb::parse(&v.to_string()).unwrap(), v, "{s:?} -> {v}");
        assert_eq!(Svcb::from_wire(&v.to_wire()).unwrap(), v, "{s:?} wire");
        v
    }

    /// RFC 9460 Appendix D test vectors: presentation -> wire octets.
    #[test]
    fn rfc9460_appendix_d_vectors() {
        let cases: &[(&str, &str)] = &[
            // D.1 AliasMode
            ("0 foo.example.com.", "0000 03666f6f076578616d706c6503636f6d 00"),
            // D.2 ServiceMode: target ".", port, unknown key, quoted with escapes
            ("1 .", "0001 00"),
            ("16 foo.example.com. port=53", "0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035"),
            ("1 foo.example.com. key667=hello", "0001 03666f6f076578616d706c6503636f6d00 029b 0005 68656c6c6f"),
            (r#"1 foo.example.com. key667="hello\210qoo""#, "0001 03666f6f076578616d706c6503636f6d00 029b 0009 68656c6c6fd271 6f6f"),
            ("1 foo.example.com. ipv6hint=\"2001:db8::1,2001:db8::53:1\"",
             "0001 03666f6f076578616d706c6503636f6d00 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001"),
            ("1 example.com. ipv6hint=\"2001:db8:122:344::192.0.2.33\"",
             "0001 076578616d706c6503636f6d00 0006 0010 20010db80122034400000000c0000221"),
            ("16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1",
             "0010 03666f6f076578616d706c65036f726700 0000 0004 00010004 0001 0009 026832 05 68332d3139 0004 0004 c0000201"),
            (r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#,
             "0010 03666f6f076578616d706c65036f726700 0001 000c 08 665c6f6f2c626172 02 6832"),
            (r"16 foo.example.org. alpn=f\\\092oo\092,bar,h2",
             "0010 03666f6f076578616d706c65036f726700 0001 000c 08 665c6f6f2c626172 02 6832"),
        ];
        for (text, hex_wire) in cases {
            let v = rt(text);
            let want = hex::decode(hex_wire.replace(' ', "")).unwrap();
            assert_eq!(hex::encode(v.to_wire()), hex::encode(&want), "{text}");
        }
    }

    #[test]
    fn canonical_form_and_rendering() {
        // Order of keys and of mandatory's list is not part of the value.
        assert_eq!(
            rt("1 . port=443 mandatory=port,alpn alpn=h2"),
            rt("1 . alpn=h2 mandatory=alpn,port port=443")
        );
        // A known key written keyNNNNN is that key.
        assert_eq!(rt(r#"1 . key3="\001\187""#), rt("1 . port=443"));
        assert_eq!(
            rt("1 . port=443 mandatory=port,alpn alpn=h2 no-default-alpn").to_string(),
            "1 . mandatory=alpn,port alpn=h2 no-default-alpn port=443"
        );
        assert_eq!(
            rt(r#"1 . alpn="f\\\\oo\\,bar,h2" key65000="a b\210""#).to_string(),
            r#"1 . alpn=f\\\\oo\\,bar,h2 key65000="a b\210""#
        );
        assert_eq!(
            rt(r"1 . alpn=a\032b,h2").to_string(),
            r#"1 . alpn="a b,h2""#
        );
        assert_eq!(
            rt("1 . ech=AEn+DQ== ipv4hint=192.0.2.1,192.0.2.2").to_string(),
            r#"1 . ipv4hint=192.0.2.1,192.0.2.2 ech="AEn+DQ==""#
        );
        assert_eq!(
            rt("1 . dohpath=/q{?dns}").to_string(),
            r#"1 . key7="/q{?dns}""#
        );
    }

    #[test]
    fn bad_text_is_an_error() {
        for s in [
            "",
            "70000 .",
            "1",
            "1 . port=x",
            "1 . port=70000",
            "1 . foo=1",
            "1 . key01=1",
            "1 . key65536=1",
            "1 . alpn",
            "1 . ipv4hint=1.2.3",
            "1 . ech=***",
            "1 . mandatory=foo",
            "1 . no-default-alpn=x",
            "1 . key1=\"open",
            "1 . alpn=a;b",
            "1 . alpn=a\\",
        ] {
            assert!(Svcb::parse(s).is_err(), "{s:?} parsed");
        }
        assert!(Svcb::from_wire(&hex::decode("000100000300010000").unwrap()).is_err());
    }
}
