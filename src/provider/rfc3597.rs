//! Wire encodings for the types NLnet Labs `domain` 0.12 cannot parse in presentation form
//! (SPF, URI, LOC) or parses only in part (SVCB and HTTPS: no escapes in `alpn`, RFC 9460
//! Appendix A.1). Zone files carry them in RFC 3597 generic form (`TYPE29 \# 16 ...`), which
//! BIND and `domain` both read.

use crate::model::rdata::{Loc, Svcb, Txt, Uri};
use crate::model::{RData, RecordType};

/// The RFC 3597 text (`\# <len> <hex>`) for values `domain` cannot parse natively, or `None`.
pub fn generic_text(v: &RData) -> Option<String> {
    let wire = match v {
        RData::Spf(t) => txt_wire(&t.0),
        RData::Uri(u) => {
            let mut w = Vec::with_capacity(4 + u.target.len());
            w.extend_from_slice(&u.priority.to_be_bytes());
            w.extend_from_slice(&u.weight.to_be_bytes());
            w.extend_from_slice(&u.target);
            w
        }
        RData::Loc(l) => loc_wire(l),
        RData::Svcb(s) | RData::Https(s) => s.to_wire(),
        _ => return None,
    };
    Some(format!("\\# {} {}", wire.len(), hex::encode(&wire)))
}

/// TXT-style character-strings: chunks of at most 255 bytes, each length-prefixed.
pub fn txt_wire(bytes: &[u8]) -> Vec<u8> {
    let mut w = Vec::with_capacity(bytes.len() + bytes.len() / 255 + 1);
    if bytes.is_empty() {
        w.push(0);
    }
    for chunk in bytes.chunks(255) {
        w.push(chunk.len() as u8);
        w.extend_from_slice(chunk);
    }
    w
}

/// Decodes generic RDATA of one of the types [`generic_text`] writes.
pub fn decode(rtype: RecordType, data: &[u8]) -> Result<RData, String> {
    match rtype {
        RecordType::SPF => {
            let mut out = Vec::with_capacity(data.len());
            let mut i = 0;
            while i < data.len() {
                let n = data[i] as usize;
                let chunk = data
                    .get(i + 1..i + 1 + n)
                    .ok_or("truncated SPF character-string")?;
                out.extend_from_slice(chunk);
                i += 1 + n;
            }
            Ok(RData::Spf(Txt(out)))
        }
        RecordType::URI => {
            if data.len() < 4 {
                return Err("URI RDATA shorter than 4 bytes".into());
            }
            Ok(RData::Uri(Uri {
                priority: u16::from_be_bytes([data[0], data[1]]),
                weight: u16::from_be_bytes([data[2], data[3]]),
                target: data[4..].to_vec(),
            }))
        }
        RecordType::LOC => loc_decode(data).map(|l| RData::Loc(Box::new(l))),
        RecordType::SVCB => Svcb::from_wire(data).map(|s| RData::Svcb(Box::new(s))),
        RecordType::HTTPS => Svcb::from_wire(data).map(|s| RData::Https(Box::new(s))),
        other => Err(format!("no generic decoder for {other}")),
    }
}

/// RFC 1876 size/precision byte: mantissa (high nibble) x 10^exponent (low nibble) cm.
fn prec_byte(cm: u64) -> u8 {
    let mut e = 0u32;
    let mut v = cm;
    while v > 9 && e < 9 {
        v /= 10;
        e += 1;
    }
    ((v.min(9) as u8) << 4) | e as u8
}

fn prec_value(b: u8) -> u64 {
    u64::from(b >> 4) * 10u64.pow(u32::from(b & 0x0f).min(9))
}

/// True when `cm` survives the RFC 1876 encoding exactly (one digit times a power of ten).
pub fn loc_precision_exact(cm: u64) -> bool {
    prec_value(prec_byte(cm)) == cm
}

const EQUATOR: i64 = 1 << 31;

fn angle(deg: u8, min: u8, millis: u32, positive: bool) -> u32 {
    let thousandths = (i64::from(deg) * 3600 + i64::from(min) * 60) * 1000 + i64::from(millis);
    (if positive {
        EQUATOR + thousandths
    } else {
        EQUATOR - thousandths
    }) as u32
}

fn loc_wire(l: &Loc) -> Vec<u8> {
    let mut w = vec![
        0,
        prec_byte(l.size_cm),
        prec_byte(l.precision_horz_cm),
        prec_byte(l.precision_vert_cm),
    ];
    w.extend_from_slice(
        &angle(
            l.lat_degrees,
            l.lat_minutes,
            l.lat_millis,
            l.lat_direction == 'N',
        )
        .to_be_bytes(),
    );
    w.extend_from_slice(
        &angle(
            l.long_degrees,
            l.long_minutes,
            l.long_millis,
            l.long_direction == 'E',
        )
        .to_be_bytes(),
    );
    w.extend_from_slice(&((l.altitude_cm + 10_000_000) as u32).to_be_bytes());
    w
}

fn split_angle(raw: u32) -> (u8, u8, u32, bool) {
    let v = i64::from(raw) - EQUATOR;
    let positive = v >= 0;
    let a = v.unsigned_abs();
    let deg = a / 3_600_000;
    let min = (a % 3_600_000) / 60_000;
    let millis = a % 60_000;
    (deg as u8, min as u8, millis as u32, positive)
}

fn loc_decode(d: &[u8]) -> Result<Loc, String> {
    if d.len() != 16 || d[0] != 0 {
        return Err("LOC RDATA must be 16 bytes of version 0".into());
    }
    let u32_at = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    let (lat_degrees, lat_minutes, lat_millis, north) = split_angle(u32_at(4));
    let (long_degrees, long_minutes, long_millis, east) = split_angle(u32_at(8));
    Ok(Loc {
        lat_degrees,
        lat_minutes,
        lat_millis,
        lat_direction: if north { 'N' } else { 'S' },
        long_degrees,
        long_minutes,
        long_millis,
        long_direction: if east { 'E' } else { 'W' },
        altitude_cm: i64::from(u32_at(12)) - 10_000_000,
        size_cm: prec_value(d[1]),
        precision_horz_cm: prec_value(d[2]),
        precision_vert_cm: prec_value(d[3]),
    })
}

/// Rewrites presentation-form SPF, URI, LOC, SVCB and HTTPS records (as BIND and
/// octodns-bind write them) into RFC 3597 generic form, which `domain` 0.12 can read. Other lines are kept.
/// A record this cannot convert is left as it is, so the parser reports it with its line.
pub fn generic_for_domain(text: &str) -> std::borrow::Cow<'_, str> {
    let needs = |l: &str| {
        tokens(l).0.iter().any(|t| {
            ["SPF", "URI", "LOC", "SVCB", "HTTPS"]
                .iter()
                .any(|k| t.text.eq_ignore_ascii_case(k))
        })
    };
    if !text.lines().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 1024);
    for line in text.split_inclusive('\n') {
        match convert_line(line) {
            Some(l) => {
                out.push_str(&l);
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One word of a zone-file line, with where it starts.
struct Token<'a> {
    text: &'a str,
    start: usize,
}

/// The words of a line before its comment, and where the record's text ends. Quoted
/// strings are skipped over whole (only the owner/TTL/class/type words matter here).
/// Parentheses end the scan: multi-line records are left to the parser.
fn tokens(line: &str) -> (Vec<Token<'_>>, usize) {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b';' | b'(' | b')' => break,
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.push(Token {
                    text: &line[start..i],
                    start,
                });
            }
            _ => {
                let start = i;
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b';' | b'"') {
                    i += 1;
                }
                out.push(Token {
                    text: &line[start..i],
                    start,
                });
            }
        }
    }
    (out, i.min(b.len()))
}

fn convert_line(line: &str) -> Option<String> {
    let (toks, end) = tokens(line);
    // A record in parentheses continues past what was scanned: converting the part before
    // `(` would drop the rest. Leave it to the parser (which reads SVCB/HTTPS itself and
    // reports the other types with their line).
    if matches!(line.as_bytes().get(end), Some(b'(' | b')')) {
        return None;
    }
    let owner_present = !line.starts_with([' ', '\t']);
    let mut i = usize::from(owner_present);
    while i < toks.len()
        && (toks[i].text.bytes().all(|c| c.is_ascii_digit())
            || ["IN", "CH", "HS"]
                .iter()
                .any(|c| toks[i].text.eq_ignore_ascii_case(c)))
    {
        i += 1;
    }
    let ty = toks.get(i)?;
    let rtype = match ty.text.to_ascii_uppercase().as_str() {
        "SPF" => RecordType::SPF,
        "URI" => RecordType::URI,
        "LOC" => RecordType::LOC,
        "SVCB" => RecordType::SVCB,
        "HTTPS" => RecordType::HTTPS,
        _ => return None,
    };
    let rdata = toks.get(i + 1)?;
    if rdata.text == "\\#" {
        return None;
    }
    let value = crate::model::presentation::parse(rtype, &line[rdata.start..end]).ok()?;
    Some(format!(
        "{} TYPE{} {}",
        line[..ty.start].trim_end(),
        rtype.code()?,
        generic_text(&value)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loc_round_trips() {
        let l = Loc {
            lat_degrees: 52,
            lat_minutes: 22,
            lat_millis: 23_456,
            lat_direction: 'S',
            long_degrees: 4,
            long_minutes: 53,
            long_millis: 32_000,
            long_direction: 'W',
            altitude_cm: -200,
            size_cm: 100,
            precision_horz_cm: 1_000_000,
            precision_vert_cm: 1000,
        };
        let w = loc_wire(&l);
        assert_eq!(loc_decode(&w).unwrap(), l);
        assert!(loc_precision_exact(1_000_000));
        assert!(!loc_precision_exact(150));
    }

    #[test]
    fn presentation_lines_become_generic() {
        let text = "@ 3600 IN SPF \"v=spf1 \" \"-all\"\nloc 3600 IN LOC 31 58 52.1 S 115 49 11.7 E 20.0m 10.0m 10.0m 2.0m\n_u._tcp IN URI 10 1 \"https://x/\"\nwww A 192.0.2.1\n";
        let out = generic_for_domain(text);
        assert!(out.contains("@ 3600 IN TYPE99 \\# "), "{out}");
        assert!(out.contains("loc 3600 IN TYPE29 \\# 16 "), "{out}");
        assert!(out.contains("_u._tcp IN TYPE256 \\# "), "{out}");
        assert!(out.ends_with("www A 192.0.2.1\n"));
        // The LOC line decodes to the values it was written with.
        let hex_part = out.lines().nth(1).unwrap().rsplit(' ').next().unwrap();
        let RData::Loc(loc) = decode(RecordType::LOC, &hex::decode(hex_part).unwrap()).unwrap()
        else {
            panic!("not a LOC")
        };
        assert_eq!(
            (
                loc.lat_millis,
                loc.lat_direction,
                loc.altitude_cm,
                loc.precision_vert_cm
            ),
            (52_100, 'S', 2000, 200)
        );
    }

    #[test]
    fn svcb_lines_become_generic_and_parentheses_are_left_alone() {
        let text = "svc 300 IN SVCB 1 . alpn=\"f\\\\\\\\oo\\\\,bar,h2\" port=443\np IN HTTPS 1 . ( alpn=h2 )\n";
        let out = generic_for_domain(text);
        let first = out.lines().next().unwrap_or_default();
        assert!(first.starts_with("svc 300 IN TYPE64 \\# "), "{out}");
        let hex_part = first.split(' ').skip(6).collect::<String>();
        let RData::Svcb(v) = decode(RecordType::SVCB, &hex::decode(hex_part).unwrap()).unwrap()
        else {
            panic!("not SVCB")
        };
        assert_eq!(v.to_string(), r"1 . alpn=f\\\\oo\\,bar,h2 port=443");
        // Never cut short: the line in parentheses is kept as written.
        assert_eq!(out.lines().nth(1), Some("p IN HTTPS 1 . ( alpn=h2 )"));
    }

    #[test]
    fn spf_and_uri_round_trip() {
        let long = vec![b'x'; 300];
        let spf = RData::Spf(Txt(long));
        let RData::Spf(t) = &spf else { unreachable!() };
        assert_eq!(decode(RecordType::SPF, &txt_wire(&t.0)).unwrap(), spf);
        let uri = RData::Uri(Uri {
            priority: 10,
            weight: 1,
            target: b"https://example.com/".to_vec(),
        });
        let text = generic_text(&uri).unwrap();
        let hexpart = text.split(' ').nth(2).unwrap();
        assert_eq!(
            decode(RecordType::URI, &hex::decode(hexpart).unwrap()).unwrap(),
            uri
        );
    }
}
