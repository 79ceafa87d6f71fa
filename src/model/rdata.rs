//! Typed record values in canonical form.
//!
//! Every constructor path (octoDNS YAML, zone files, provider APIs) produces these values, so
//! equality here is equality on the wire: names are lower-cased [`Fqdn`]s, hex is lower-case,
//! TXT is the raw bytes (never its quoting or chunking). [`fmt::Display`] renders RFC 1035
//! presentation format, the form zone files and most provider APIs use.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::Fqdn;
use super::rtype::RecordType;
pub use super::svcb::{SvcParam, SvcParams, Svcb};

/// One record value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Alias(Fqdn),
    Caa(Caa),
    Cname(Fqdn),
    Dname(Fqdn),
    Ds(Ds),
    /// RFC 9460 HTTPS (type 65).
    Https(Box<Svcb>),
    Loc(Box<Loc>),
    Mx(Mx),
    Naptr(Box<Naptr>),
    Ns(Fqdn),
    Ptr(Fqdn),
    Spf(Txt),
    Srv(Srv),
    Sshfp(Sshfp),
    /// RFC 9460 SVCB (type 64).
    Svcb(Box<Svcb>),
    Tlsa(Tlsa),
    Txt(Txt),
    Uri(Uri),
    /// A value of a type in [`RecordType::NOT_DNS`] (URLFWD, `Route53Provider/ALIAS`), kept
    /// as written: no target stores it, so it is only ever planned to be skipped.
    Foreign(RecordType, Box<super::ExtValue>),
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Mx {
    pub preference: u16,
    pub exchange: Fqdn,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: Fqdn,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Caa {
    pub flags: u8,
    /// Lower-case tag (`issue`, `issuewild`, `iodef`, ...).
    pub tag: String,
    pub value: Vec<u8>,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Ds {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    /// Lower-case hex.
    pub digest: String,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Naptr {
    pub order: u16,
    pub preference: u16,
    pub flags: Vec<u8>,
    pub service: Vec<u8>,
    pub regexp: Vec<u8>,
    pub replacement: Fqdn,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sshfp {
    pub algorithm: u8,
    pub fingerprint_type: u8,
    /// Lower-case hex.
    pub fingerprint: String,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Tlsa {
    pub certificate_usage: u8,
    pub selector: u8,
    pub matching_type: u8,
    /// Lower-case hex.
    pub certificate_association_data: String,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Uri {
    pub priority: u16,
    pub weight: u16,
    pub target: Vec<u8>,
}

/// TXT/SPF data: the bytes of the value, however it was split into character-strings.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Txt(pub Vec<u8>);

/// RFC 1876 location, kept in the exact decimal units octoDNS uses so it compares exactly.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Loc {
    pub lat_degrees: u8,
    pub lat_minutes: u8,
    /// Thousandths of a second.
    pub lat_millis: u32,
    /// `'N'` or `'S'`.
    pub lat_direction: char,
    pub long_degrees: u8,
    pub long_minutes: u8,
    pub long_millis: u32,
    /// `'E'` or `'W'`.
    pub long_direction: char,
    /// Centimetres; may be negative down to -100000.00 m.
    pub altitude_cm: i64,
    pub size_cm: u64,
    pub precision_horz_cm: u64,
    pub precision_vert_cm: u64,
}

impl Loc {
    /// The same wire value in one spelling: seconds of 60 and more carried into minutes,
    /// minutes into degrees (PowerDNS 4.x renders 49 18 0 as `49 17 60.000`), and a zero
    /// latitude or longitude north or east (RFC 1876 §2 stores one equator and one prime
    /// meridian; PowerDNS 4.x renders them `S` and `W`).
    pub fn canonical(mut self) -> Loc {
        for (deg, min, millis, dir, pos) in [
            (
                &mut self.lat_degrees,
                &mut self.lat_minutes,
                &mut self.lat_millis,
                &mut self.lat_direction,
                'N',
            ),
            (
                &mut self.long_degrees,
                &mut self.long_minutes,
                &mut self.long_millis,
                &mut self.long_direction,
                'E',
            ),
        ] {
            let total = u64::from(*deg) * 3_600_000 + u64::from(*min) * 60_000 + u64::from(*millis);
            // Out-of-range values are left for `model::check` to name, not wrapped.
            if let Ok(d) = u8::try_from(total / 3_600_000) {
                *deg = d;
                *min = ((total % 3_600_000) / 60_000) as u8;
                *millis = (total % 60_000) as u32;
            }
            if total == 0 {
                *dir = pos;
            }
        }
        self
    }
}

impl RData {
    pub fn rtype(&self) -> RecordType {
        match self {
            RData::A(_) => RecordType::A,
            RData::Aaaa(_) => RecordType::AAAA,
            RData::Alias(_) => RecordType::ALIAS,
            RData::Caa(_) => RecordType::CAA,
            RData::Cname(_) => RecordType::CNAME,
            RData::Dname(_) => RecordType::DNAME,
            RData::Ds(_) => RecordType::DS,
            RData::Https(_) => RecordType::HTTPS,
            RData::Loc(_) => RecordType::LOC,
            RData::Mx(_) => RecordType::MX,
            RData::Naptr(_) => RecordType::NAPTR,
            RData::Ns(_) => RecordType::NS,
            RData::Ptr(_) => RecordType::PTR,
            RData::Spf(_) => RecordType::SPF,
            RData::Srv(_) => RecordType::SRV,
            RData::Sshfp(_) => RecordType::SSHFP,
            RData::Svcb(_) => RecordType::SVCB,
            RData::Tlsa(_) => RecordType::TLSA,
            RData::Txt(_) => RecordType::TXT,
            RData::Uri(_) => RecordType::URI,
            RData::Foreign(t, _) => *t,
        }
    }

    /// The name this value points at, for types whose value is (or ends in) a domain name.
    pub fn target(&self) -> Option<&Fqdn> {
        match self {
            RData::Alias(n) | RData::Cname(n) | RData::Dname(n) | RData::Ns(n) | RData::Ptr(n) => {
                Some(n)
            }
            RData::Mx(mx) => Some(&mx.exchange),
            RData::Srv(srv) => Some(&srv.target),
            RData::Naptr(n) => Some(&n.replacement),
            RData::Https(s) | RData::Svcb(s) => Some(&s.target),
            _ => None,
        }
    }
}

/// Writes bytes as one RFC 1035 `<character-string>` in double quotes: `"` and `\` escaped,
/// bytes outside printable ASCII as `\DDD`.
pub fn write_quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

/// TXT data as quoted character-strings of at most 255 bytes, space separated (`""` when empty).
pub fn write_txt_chunks(out: &mut String, bytes: &[u8]) {
    if bytes.is_empty() {
        out.push_str("\"\"");
        return;
    }
    for (i, chunk) in bytes.chunks(255).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_quoted(out, chunk);
    }
}

/// Formats a fixed-point integer with `scale` decimals (`fixed(1234, 2)` is `12.34`).
pub fn fixed(v: i128, scale: u32) -> String {
    let div = 10i128.pow(scale);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.abs();
    format!(
        "{sign}{}.{:0width$}",
        a / div,
        a % div,
        width = scale as usize
    )
}

impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(ip) => write!(f, "{ip}"),
            RData::Aaaa(ip) => write!(f, "{ip}"),
            RData::Alias(n) | RData::Cname(n) | RData::Dname(n) | RData::Ns(n) | RData::Ptr(n) => {
                write!(f, "{n}")
            }
            RData::Mx(mx) => write!(f, "{} {}", mx.preference, mx.exchange),
            RData::Srv(s) => write!(f, "{} {} {} {}", s.priority, s.weight, s.port, s.target),
            RData::Caa(c) => {
                let mut v = String::new();
                write_quoted(&mut v, &c.value);
                write!(f, "{} {} {v}", c.flags, c.tag)
            }
            RData::Ds(d) => write!(
                f,
                "{} {} {} {}",
                d.key_tag,
                d.algorithm,
                d.digest_type,
                d.digest.to_ascii_uppercase()
            ),
            RData::Sshfp(s) => write!(
                f,
                "{} {} {}",
                s.algorithm, s.fingerprint_type, s.fingerprint
            ),
            RData::Tlsa(t) => write!(
                f,
                "{} {} {} {}",
                t.certificate_usage, t.selector, t.matching_type, t.certificate_association_data
            ),
            RData::Naptr(n) => {
                let mut s = String::new();
                write_quoted(&mut s, &n.flags);
                s.push(' ');
                write_quoted(&mut s, &n.service);
                s.push(' ');
                write_quoted(&mut s, &n.regexp);
                write!(f, "{} {} {s} {}", n.order, n.preference, n.replacement)
            }
            RData::Https(s) | RData::Svcb(s) => write!(f, "{s}"),
            // No presentation format: the value as octoDNS's YAML holds it.
            RData::Foreign(_, v) => write!(f, "{v}"),
            RData::Uri(u) => {
                let mut s = String::new();
                write_quoted(&mut s, &u.target);
                write!(f, "{} {} {s}", u.priority, u.weight)
            }
            RData::Txt(t) | RData::Spf(t) => {
                let mut s = String::new();
                write_txt_chunks(&mut s, &t.0);
                f.write_str(&s)
            }
            RData::Loc(l) => write!(
                f,
                "{} {} {} {} {} {} {} {} {}m {}m {}m {}m",
                l.lat_degrees,
                l.lat_minutes,
                fixed(l.lat_millis.into(), 3),
                l.lat_direction,
                l.long_degrees,
                l.long_minutes,
                fixed(l.long_millis.into(), 3),
                l.long_direction,
                fixed(l.altitude_cm.into(), 2),
                fixed(l.size_cm.into(), 2),
                fixed(l.precision_horz_cm.into(), 2),
                fixed(l.precision_vert_cm.into(), 2),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_is_chunked_at_255_and_escaped() {
        let mut s = String::new();
        write_txt_chunks(&mut s, &[b'a'; 256]);
        assert_eq!(s, format!("\"{}\" \"a\"", "a".repeat(255)));
        let mut s = String::new();
        write_txt_chunks(&mut s, b"say \"hi\"; back\\slash \x01");
        assert_eq!(s, r#""say \"hi\"; back\\slash \001""#);
        let mut s = String::new();
        write_txt_chunks(&mut s, b"");
        assert_eq!(s, "\"\"");
    }

    #[test]
    fn fixed_point() {
        assert_eq!(fixed(-200, 2), "-2.00");
        assert_eq!(fixed(5, 3), "0.005");
        assert_eq!(fixed(1_000_000, 2), "10000.00");
    }
}
