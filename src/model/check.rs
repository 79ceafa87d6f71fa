//! The lengths and ranges the RFCs fix for the record values zonekeeper models, checked on
//! a typed [`RData`] so every way into the model (octoDNS YAML today) refuses the same
//! values, each with the RFC section that forbids it. A value that passes is one a
//! conforming server loads and serves as written.
//!
//! Registries that are open-ended (DNSSEC algorithms, TLSA usages, SSHFP algorithms, CAA
//! tags) accept unknown values the RFC allows; only values the RFC marks reserved, or
//! lengths a known digest type fixes, are refused.

use super::rdata::{Ds, Loc, Naptr, RData, Sshfp, Tlsa};
use super::svcb::{key, key_name, SvcParam, Svcb};

/// Longest RDATA: RDLENGTH is 16 bits (RFC 1035 §3.2.1).
pub const MAX_RDATA: usize = 65_535;

/// Longest `<character-string>`: one length octet (RFC 1035 §3.3).
pub const MAX_CHARACTER_STRING: usize = 255;

/// Everything wrong with `v`, one message per problem, each naming the field and citing
/// the RFC section; empty when the value is valid.
pub fn problems(v: &RData) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        // Never stored anywhere: no wire limits apply.
        RData::Foreign(..) => {}
        RData::Txt(t) | RData::Spf(t) => {
            // Split into 255-octet character-strings, each with its length octet.
            let wire = t.0.len() + t.0.len().div_ceil(MAX_CHARACTER_STRING).max(1);
            if wire > MAX_RDATA {
                out.push(format!(
                    "value is {} octets; it must fit in {MAX_RDATA} octets of RDATA with one length octet per 255 (RFC 1035 §3.2.1, §3.3.14)",
                    t.0.len()
                ));
            }
        }
        RData::Caa(c) => {
            // RFC 8659 §4.1: tag length at least 1 (one octet, so at most 255), letters
            // and digits only.
            if c.tag.is_empty() || c.tag.len() > MAX_CHARACTER_STRING {
                out.push("invalid tag: 1 to 255 characters (RFC 8659 §4.1)".into());
            } else if !c.tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
                out.push(format!(
                    "invalid tag {:?}: letters and digits only (RFC 8659 §4.1)",
                    c.tag
                ));
            }
        }
        RData::Naptr(n) => naptr(n, &mut out),
        RData::Ds(d) => ds(d, &mut out),
        RData::Sshfp(s) => sshfp(s, &mut out),
        RData::Tlsa(t) => tlsa(t, &mut out),
        RData::Uri(u) => {
            if u.target.is_empty() {
                out.push("missing target: a URI of at least one octet (RFC 7553 §4.5)".into());
            }
        }
        RData::Loc(l) => loc(l, &mut out),
        RData::Https(s) | RData::Svcb(s) => svcb(s, &mut out),
        RData::A(_)
        | RData::Aaaa(_)
        | RData::Alias(_)
        | RData::Cname(_)
        | RData::Dname(_)
        | RData::Mx(_)
        | RData::Ns(_)
        | RData::Ptr(_)
        | RData::Srv(_) => {}
    }
    out
}

fn naptr(n: &Naptr, out: &mut Vec<String>) {
    for (field, s) in [
        ("flags", &n.flags),
        ("service", &n.service),
        ("regexp", &n.regexp),
    ] {
        if s.len() > MAX_CHARACTER_STRING {
            out.push(format!(
                "{field} is {} octets; a <character-string> holds at most 255 (RFC 1035 §3.3, RFC 3403 §4.1)",
                s.len()
            ));
        }
    }
    // RFC 3403 §4.1: flags are single characters from A-Z and 0-9 (case-insensitive).
    if !n.flags.iter().all(u8::is_ascii_alphanumeric) {
        out.push(format!(
            "invalid flags {:?}: letters A-Z and digits 0-9 only (RFC 3403 §4.1)",
            String::from_utf8_lossy(&n.flags)
        ));
    }
    if !n.regexp.is_empty() {
        if let Err(why) = naptr_regexp_shape(&n.regexp) {
            out.push(format!(
                "invalid regexp: {why}; it must be <delim>ere<delim>replacement<delim>[i] (RFC 3402 §3.2)"
            ));
        }
    }
    // RFC 3403 §4.1: "The fields are also mutually exclusive" (REGEXP and REPLACEMENT).
    if !n.regexp.is_empty() && !n.replacement.is_root() {
        out.push(
            "regexp and replacement are both set: one of them must be empty (regexp \"\") or \".\" (replacement) (RFC 3403 §4.1)"
                .to_string(),
        );
    }
}

/// The shape RFC 3402 §3.2 gives a substitution expression: `subst-expr = delim-char ere
/// delim-char repl delim-char *flags`, the delimiter neither a digit, a flag (`i`) nor a
/// backslash, a backslash escaping the next octet (so an escaped delimiter does not end a
/// part), `flags = "i"`, and every back-reference `\N` naming one of the ERE's groups. An
/// ERE holds no NUL (POSIX regular expressions are C strings). Conforming servers (BIND)
/// refuse any other regexp on load and on UPDATE.
fn naptr_regexp_shape(re: &[u8]) -> Result<(), String> {
    let (&delim, rest) = re.split_first().ok_or("empty")?;
    if delim.is_ascii_digit() || delim == b'\\' || delim == b'i' || delim == 0 {
        return Err(format!(
            "the delimiter {:?} is a digit, a backslash, the flag i or NUL",
            char::from(delim)
        ));
    }
    if re.contains(&0) {
        return Err("it holds a NUL octet".into());
    }
    // 0: the ERE, 1: the replacement, 2: the flags.
    let mut part = 0;
    let mut groups = 0usize;
    let mut max_ref = 0usize;
    let mut i = 0;
    while i < rest.len() {
        let c = rest[i];
        if part == 2 {
            if c != b'i' {
                return Err(format!("flag {:?} is not i", char::from(c)));
            }
        } else if c == b'\\' {
            let next = *rest.get(i + 1).ok_or("it ends in a lone backslash")?;
            if part == 1 && next.is_ascii_digit() {
                max_ref = max_ref.max(usize::from(next - b'0'));
            }
            i += 2;
            continue;
        } else if c == delim {
            part += 1;
        } else if part == 0 && c == b'(' {
            groups += 1;
        }
        i += 1;
    }
    if part < 2 {
        return Err(format!(
            "it has {} of the three delimiters {:?}",
            part + 1,
            char::from(delim)
        ));
    }
    if max_ref > groups {
        return Err(format!(
            "the replacement refers to group \\{max_ref} but the expression has {groups}"
        ));
    }
    Ok(())
}

/// Digest length in octets fixed by a DS digest type, where the type is assigned.
fn ds_digest_len(digest_type: u8) -> Option<(usize, &'static str)> {
    Some(match digest_type {
        1 => (20, "SHA-1, RFC 4034 §5.1.4"),
        2 => (32, "SHA-256, RFC 4509 §2.2"),
        3 => (32, "GOST R 34.11-94, RFC 5933 §4"),
        4 => (48, "SHA-384, RFC 6605 §2"),
        5 => (32, "GOST R 34.11-2012, RFC 9558 §4"),
        6 => (32, "SM3, RFC 9563 §2"),
        _ => return None,
    })
}

/// Hex text that must be whole octets; returns its length in octets.
fn hex_octets(field: &str, hex: &str, out: &mut Vec<String>) -> usize {
    if !hex.len().is_multiple_of(2) {
        out.push(format!(
            "{field} has {} hex digits: an odd number is not whole octets",
            hex.len()
        ));
    }
    hex.len() / 2
}

/// A hash in hex (`field`) whose length its type number (`type_field` = `type_value`) fixes,
/// where the type is assigned: `want` is (octets, "hash, RFC section"). An odd number of hex
/// digits is reported once, by [`hex_octets`].
fn hash_length(
    field: &str,
    hex: &str,
    type_field: &str,
    type_value: u8,
    want: Option<(usize, &str)>,
    out: &mut Vec<String>,
) {
    let octets = hex_octets(field, hex, out);
    if let Some((want, what)) = want {
        if octets != want && hex.len().is_multiple_of(2) {
            out.push(format!(
                "{field} is {octets} octets; {type_field} {type_value} ({what}) is {want} octets ({} hex digits)",
                want * 2
            ));
        }
    }
}

fn ds(d: &Ds, out: &mut Vec<String>) {
    if d.algorithm == 0 {
        out.push("algorithm 0 is reserved (RFC 4034 Appendix A.1)".into());
    }
    if d.digest_type == 0 {
        out.push("digest_type 0 is reserved (RFC 4034 Appendix A.2)".into());
    }
    hash_length(
        "digest",
        &d.digest,
        "digest_type",
        d.digest_type,
        ds_digest_len(d.digest_type),
        out,
    );
}

fn sshfp(s: &Sshfp, out: &mut Vec<String>) {
    if s.algorithm == 0 {
        out.push("algorithm 0 is reserved (RFC 4255 §3.1.1)".into());
    }
    let want = match s.fingerprint_type {
        0 => {
            out.push("fingerprint_type 0 is reserved (RFC 4255 §3.1.2)".into());
            None
        }
        1 => Some((20, "SHA-1, RFC 4255 §3.1.2")),
        2 => Some((32, "SHA-256, RFC 6594 §3")),
        _ => None,
    };
    hash_length(
        "fingerprint",
        &s.fingerprint,
        "fingerprint_type",
        s.fingerprint_type,
        want,
        out,
    );
}

fn tlsa(t: &Tlsa, out: &mut Vec<String>) {
    // RFC 6698 §2.1.3: 1 is a SHA-256 hash, 2 a SHA-512 hash; 0 (the full data) and
    // unassigned or private (255) types have no fixed length.
    let want = match t.matching_type {
        1 => Some((32, "SHA-256, RFC 6698 §2.1.3")),
        2 => Some((64, "SHA-512, RFC 6698 §2.1.3")),
        _ => None,
    };
    hash_length(
        "certificate_association_data",
        &t.certificate_association_data,
        "matching_type",
        t.matching_type,
        want,
        out,
    );
}

fn loc(l: &Loc, out: &mut Vec<String>) {
    // RFC 1876 §2 and §3: latitude 0-90 degrees, longitude 0-180, minutes and seconds
    // below 60, altitude from -100000.00 m to 42849672.95 m.
    for (what, deg, max_deg, min, millis) in [
        ("lat", l.lat_degrees, 90u8, l.lat_minutes, l.lat_millis),
        ("long", l.long_degrees, 180, l.long_minutes, l.long_millis),
    ] {
        if deg > max_deg {
            out.push(format!(
                "invalid {what}_degrees {deg}: at most {max_deg} (RFC 1876 §3)"
            ));
        }
        if min > 59 {
            out.push(format!(
                "invalid {what}_minutes {min}: 0 to 59 (RFC 1876 §3)"
            ));
        }
        if millis > 59_999 {
            out.push(format!("invalid {what}_seconds: 0 to 59.999 (RFC 1876 §3)"));
        }
        let total = u64::from(deg) * 3_600_000 + u64::from(min) * 60_000 + u64::from(millis);
        if total > u64::from(max_deg) * 3_600_000 {
            out.push(format!(
                "invalid {what}itude: beyond {max_deg} degrees (RFC 1876 §2)"
            ));
        }
    }
    if !(-10_000_000..=4_284_967_295).contains(&l.altitude_cm) {
        out.push("invalid altitude: -100000.00 to 42849672.95 m (RFC 1876 §2)".into());
    }
    // RFC 1876 §2: SIZE, HORIZ PRE and VERT PRE are a base-10 digit and a power of ten
    // (centimetres), so only values d x 10^e cm (d and e 0-9) exist on the wire.
    for (name, cm) in [
        ("size", l.size_cm),
        ("precision_horz", l.precision_horz_cm),
        ("precision_vert", l.precision_vert_cm),
    ] {
        if !loc_size_representable(cm) {
            out.push(format!(
                "invalid {name} {}: LOC stores a digit times a power of ten centimetres, up to 90000000 m (e.g. 1, 10, 2000, 0.05) (RFC 1876 §2)",
                super::rdata::fixed(cm.into(), 2)
            ));
        }
    }
}

/// SvcParamKey `dohpath` (RFC 9461 §5), kept as an unknown key.
const DOHPATH: u16 = 7;

/// RFC 9461 §5: a `dohpath` value is a relative URI template (RFC 6570) in UTF-8 that
/// starts with `/` and names the variable `dns` in one of its expressions.
fn is_dohpath(v: &[u8]) -> bool {
    let Ok(t) = std::str::from_utf8(v) else {
        return false;
    };
    t.starts_with('/')
        && t.split('{').skip(1).any(|expr| {
            let Some((expr, _)) = expr.split_once('}') else {
                return false;
            };
            let vars = expr.trim_start_matches(['+', '#', '.', '/', ';', '?', '&']);
            vars.split(',')
                .any(|var| var.split([':', '*']).next() == Some("dns"))
        })
}

/// RFC 9460 rules for one SVCB/HTTPS value.
fn svcb(s: &Svcb, out: &mut Vec<String>) {
    // §2.4.2: AliasMode carries no SvcParams (octoDNS refuses them too).
    if s.priority == 0 && !s.params.is_empty() {
        out.push("svcparams set on AliasMode (svcpriority 0) record: AliasMode has no SvcParams (RFC 9460 §2.4.2)".into());
    }
    // §2.2: keys in strictly increasing order, so each at most once.
    let keys: Vec<u16> = s.params.iter().map(SvcParam::key).collect();
    for w in keys.windows(2) {
        if w[0] == w[1] {
            out.push(format!(
                "SvcParamKey {} appears twice (RFC 9460 §2.2)",
                key_name(w[0])
            ));
        }
    }
    for p in s.params.iter() {
        match p {
            SvcParam::Mandatory(list) => {
                // §8: mandatory never lists itself, lists each key once, and every key it
                // lists is present.
                if list.is_empty() {
                    out.push("mandatory lists no keys (RFC 9460 §8)".into());
                }
                if list.contains(&key::MANDATORY) {
                    out.push("mandatory lists itself (RFC 9460 §8)".into());
                }
                for w in list.windows(2) {
                    if w[0] == w[1] {
                        out.push(format!(
                            "mandatory lists {} twice (RFC 9460 §8)",
                            key_name(w[0])
                        ));
                    }
                }
                for k in list {
                    if *k != key::MANDATORY && !keys.contains(k) {
                        out.push(format!(
                            "mandatory lists {} but the value has no {} (RFC 9460 §8)",
                            key_name(*k),
                            key_name(*k)
                        ));
                    }
                }
            }
            SvcParam::Alpn(ids) => {
                // §7.1.1: at least one alpn-id, each 1 to 255 octets.
                if ids.is_empty() {
                    out.push("alpn lists no protocol (RFC 9460 §7.1.1)".into());
                }
                for id in ids {
                    if id.is_empty() || id.len() > MAX_CHARACTER_STRING {
                        out.push(format!(
                            "alpn id of {} octets: each is 1 to 255 octets (RFC 9460 §7.1.1)",
                            id.len()
                        ));
                    }
                }
            }
            // §7.1.1: no-default-alpn without alpn is not self-consistent.
            SvcParam::NoDefaultAlpn if s.params.get(key::ALPN).is_none() => {
                out.push("no-default-alpn requires alpn (RFC 9460 §7.1.1)".into());
            }
            SvcParam::Ipv4Hint(a) if a.is_empty() => {
                out.push("ipv4hint lists no address (RFC 9460 §7.3)".into());
            }
            SvcParam::Ipv6Hint(a) if a.is_empty() => {
                out.push("ipv6hint lists no address (RFC 9460 §7.3)".into());
            }
            SvcParam::Unknown(key::INVALID, _) => {
                out.push("key65535 is the reserved \"Invalid key\" (RFC 9460 §14.3.2)".into());
            }
            // BIND checks this registered key and refuses to load a zone that breaks it.
            SvcParam::Unknown(DOHPATH, v) if !is_dohpath(v) => {
                out.push("key7 (dohpath) must be a relative URI template in UTF-8, starting with / and with a dns variable, e.g. /dns-query{?dns} (RFC 9461 §5)".into());
            }
            _ => {}
        }
        if p.value_wire().len() > MAX_RDATA {
            out.push(format!(
                "{} value is over {MAX_RDATA} octets (RFC 9460 §2.2)",
                key_name(p.key())
            ));
        }
    }
    let wire = s.to_wire().len();
    if wire > MAX_RDATA {
        out.push(format!(
            "value is {wire} octets on the wire; RDATA holds at most {MAX_RDATA} (RFC 1035 §3.2.1)"
        ));
    }
}

/// Whether `cm` is `d * 10^e` with `d` and `e` from 0 to 9 (RFC 1876 §2).
pub fn loc_size_representable(cm: u64) -> bool {
    let mut v = cm;
    let mut e = 0;
    while v >= 10 && v.is_multiple_of(10) {
        v /= 10;
        e += 1;
    }
    v <= 9 && e <= 9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rdata::{Caa, Txt, Uri};
    use crate::model::Fqdn;

    fn ds_value(digest_type: u8, hex_len: usize) -> RData {
        RData::Ds(Ds {
            key_tag: 39556,
            algorithm: 13,
            digest_type,
            digest: "ab".repeat(hex_len / 2) + &"a".repeat(hex_len % 2),
        })
    }

    /// (value, expected problem substring or "" for valid), per type.
    #[test]
    fn ds_digest_lengths_follow_their_digest_type() {
        for (digest_type, hex_len, want) in [
            (1, 40, ""),
            (1, 64, "digest_type 1 (SHA-1, RFC 4034 §5.1.4) is 20 octets"),
            (2, 64, ""),
            (
                2,
                12,
                "digest is 6 octets; digest_type 2 (SHA-256, RFC 4509 §2.2) is 32",
            ),
            (3, 64, ""),
            (4, 96, ""),
            (4, 64, "RFC 6605 §2"),
            (5, 64, ""),
            (6, 64, ""),
            // Unassigned types: any whole number of octets (the registry is open).
            (7, 10, ""),
            (200, 2, ""),
            (2, 63, "odd number"),
            (0, 40, "digest_type 0 is reserved (RFC 4034 Appendix A.2)"),
        ] {
            let p = problems(&ds_value(digest_type, hex_len)).join("; ");
            if want.is_empty() {
                assert!(p.is_empty(), "type {digest_type} len {hex_len}: {p}");
            } else {
                assert!(p.contains(want), "type {digest_type} len {hex_len}: {p}");
            }
        }
        let mut zero_alg = ds_value(2, 64);
        if let RData::Ds(d) = &mut zero_alg {
            d.algorithm = 0;
        }
        assert!(problems(&zero_alg)[0].contains("RFC 4034 Appendix A.1"));
    }

    #[test]
    fn sshfp_and_tlsa_hash_lengths() {
        let sshfp = |alg, t, n: usize| {
            RData::Sshfp(Sshfp {
                algorithm: alg,
                fingerprint_type: t,
                fingerprint: "0f".repeat(n),
            })
        };
        for (v, want) in [
            (sshfp(4, 2, 32), ""),
            (sshfp(6, 2, 32), ""), // Ed448, RFC 8709
            (sshfp(1, 1, 20), ""),
            (sshfp(1, 1, 32), "RFC 4255 §3.1.2) is 20 octets"),
            (sshfp(3, 2, 20), "RFC 6594 §3) is 32 octets"),
            (sshfp(0, 2, 32), "algorithm 0 is reserved"),
            (sshfp(1, 0, 20), "fingerprint_type 0 is reserved"),
            (sshfp(1, 9, 7), ""),
        ] {
            let p = problems(&v).join("; ");
            assert!(
                if want.is_empty() {
                    p.is_empty()
                } else {
                    p.contains(want)
                },
                "{v}: {p}"
            );
        }
        let tlsa = |m, n: usize| {
            RData::Tlsa(Tlsa {
                certificate_usage: 3,
                selector: 1,
                matching_type: m,
                certificate_association_data: "a0".repeat(n),
            })
        };
        for (v, want) in [
            (tlsa(1, 32), ""),
            (tlsa(2, 64), ""),
            (tlsa(0, 300), ""),
            (tlsa(255, 3), ""),
            (
                tlsa(1, 31),
                "matching_type 1 (SHA-256, RFC 6698 §2.1.3) is 32 octets",
            ),
            (
                tlsa(2, 32),
                "matching_type 2 (SHA-512, RFC 6698 §2.1.3) is 64 octets",
            ),
        ] {
            let p = problems(&v).join("; ");
            assert!(
                if want.is_empty() {
                    p.is_empty()
                } else {
                    p.contains(want)
                },
                "{v}: {p}"
            );
        }
    }

    #[test]
    fn naptr_caa_uri_and_txt_limits() {
        let naptr = |flags: &str, regexp: &str, replacement: &str| {
            RData::Naptr(Box::new(Naptr {
                order: 100,
                preference: 10,
                flags: flags.into(),
                service: b"E2U+sip".to_vec(),
                regexp: regexp.as_bytes().to_vec(),
                replacement: Fqdn::parse(replacement).unwrap(),
            }))
        };
        for (v, want) in [
            (naptr("U", "!^.*$!sip:a@example.com!", "."), ""),
            (naptr("", "", "sip.example.com."), ""),
            (naptr("S", "", "_sip._udp.example.com."), ""),
            (naptr("u", "!x!y!", "."), ""),
            (
                naptr("U+", "!x!y!", "."),
                "letters A-Z and digits 0-9 only (RFC 3403 §4.1)",
            ),
            (naptr("U", "!x!y!", "sip.example.com."), "mutually"),
            // RFC 3402 §3.2: three delimiters, flags only i, back-references to groups.
            (naptr("U", "!^(.*)$!sip:\\1@example.com!i", "."), ""),
            (naptr("U", "/a\\/b/c\\\\d/", "."), ""),
            (naptr("U", "!\u{e9}!\u{fe}!", "."), ""),
            (naptr("U", "!x!y", "."), "2 of the three delimiters"),
            (naptr("U", "!x\\!y!", "."), "2 of the three delimiters"),
            (naptr("U", "!x!y!g", "."), "flag 'g' is not i"),
            (naptr("U", "!x!y!z!", "."), "flag 'z' is not i"),
            (naptr("U", "1x1y1", "."), "is a digit"),
            (naptr("U", "!x\x00!y!", "."), "NUL"),
            (
                naptr("U", "!x!\\1!", "."),
                "group \\1 but the expression has 0",
            ),
            (
                naptr("U", &"x".repeat(256), "."),
                "regexp is 256 octets; a <character-string> holds at most 255",
            ),
        ] {
            let p = problems(&v).join("; ");
            let ok = if want.is_empty() {
                p.is_empty()
            } else {
                p.contains(want) || (want == "mutually" && p.contains("RFC 3403 §4.1"))
            };
            assert!(ok, "{v}: {p}");
        }
        let caa = |tag: &str| {
            RData::Caa(Caa {
                flags: 128,
                tag: tag.into(),
                value: b"ca.example".to_vec(),
            })
        };
        assert!(problems(&caa("issue")).is_empty());
        assert!(problems(&caa("futuretag9")).is_empty());
        assert!(problems(&caa("is-sue"))[0].contains("RFC 8659 §4.1"));
        assert!(problems(&caa(""))[0].contains("RFC 8659 §4.1"));
        let uri = RData::Uri(Uri {
            priority: 1,
            weight: 1,
            target: vec![],
        });
        assert!(problems(&uri)[0].contains("RFC 7553 §4.5"));
        // 65,535 octets of RDATA: 65,279 octets of text in 256 strings (256 length octets)
        // fit, one more not.
        let fits = 65_535 - 256;
        assert!(problems(&RData::Txt(Txt(vec![b'a'; fits]))).is_empty());
        assert!(problems(&RData::Txt(Txt(vec![b'a'; fits + 1])))[0].contains("RFC 1035"));
    }

    #[test]
    fn loc_sizes_are_a_digit_times_a_power_of_ten() {
        for (cm, ok) in [
            (0, true),
            (1, true),
            (100, true),
            (1_000_000, true),
            (9_000_000_000, true),
            (10_000_000_000, false),
            (150, false),
            (123, false),
            (5, true),
        ] {
            assert_eq!(loc_size_representable(cm), ok, "{cm}");
        }
        let mut l = Loc {
            lat_degrees: 90,
            lat_minutes: 0,
            lat_millis: 1,
            lat_direction: 'N',
            long_degrees: 10,
            long_minutes: 35,
            long_millis: 0,
            long_direction: 'E',
            altitude_cm: -10_000_000,
            size_cm: 100,
            precision_horz_cm: 1_000_000,
            precision_vert_cm: 1_000,
        };
        let p = problems(&RData::Loc(Box::new(l.clone()))).join("; ");
        assert!(p.contains("beyond 90 degrees"), "{p}");
        l.lat_millis = 0;
        assert!(problems(&RData::Loc(Box::new(l.clone()))).is_empty());
        l.size_cm = 150;
        let p = problems(&RData::Loc(Box::new(l))).join("; ");
        assert!(p.contains("invalid size 1.50"), "{p}");
    }

    /// RFC 9460 rules, one row per rule: (presentation text, expected problem or "").
    #[test]
    fn svcb_rules_cite_rfc9460() {
        for (text, want) in [
            ("0 svc.example.com.", ""),
            ("0 .", ""),
            ("1 .", ""),
            ("1 . alpn=h2,h3 no-default-alpn port=8443", ""),
            ("1 . mandatory=alpn,ipv4hint alpn=h2 ipv4hint=192.0.2.1", ""),
            ("1 . key65000=x key65534=\"\"", ""),
            (r"1 . alpn=a\\,b", ""),
            // §2.4.2: AliasMode has no SvcParams.
            (
                "0 svc.example.com. alpn=h2",
                "AliasMode has no SvcParams (RFC 9460 §2.4.2)",
            ),
            // §2.2: each key once.
            (
                "1 . alpn=h2 key1=\"\\002h3\"",
                "SvcParamKey alpn appears twice (RFC 9460 §2.2)",
            ),
            (
                "1 . port=1 port=2",
                "SvcParamKey port appears twice (RFC 9460 §2.2)",
            ),
            // §8: mandatory keys present, never itself, each once.
            (
                "1 . mandatory=port alpn=h2",
                "mandatory lists port but the value has no port (RFC 9460 §8)",
            ),
            (
                "1 . mandatory=mandatory,alpn alpn=h2",
                "mandatory lists itself (RFC 9460 §8)",
            ),
            (
                "1 . mandatory=alpn,alpn alpn=h2",
                "mandatory lists alpn twice (RFC 9460 §8)",
            ),
            // §7.1.1: no-default-alpn needs alpn; alpn ids 1-255 octets, at least one.
            (
                "1 . no-default-alpn",
                "no-default-alpn requires alpn (RFC 9460 §7.1.1)",
            ),
            ("1 . alpn=h2,,h3", "alpn id of 0 octets"),
            ("1 . alpn=\"\"", "alpn lists no protocol (RFC 9460 §7.1.1)"),
            // §14.3.2: key65535 is reserved.
            ("1 . key65535=x", "RFC 9460 §14.3.2"),
            // RFC 9461 §5: dohpath (key7) is a relative URI template with a dns variable;
            // BIND refuses to load a zone file that breaks it.
            ("1 . key7=/dns-query{?dns}", ""),
            ("1 . key7=/q{?name,dns*}", ""),
            ("1 . key7=/q", "RFC 9461 §5"),
            ("1 . key7=\"\"", "RFC 9461 §5"),
            ("1 . key7=q{?dns}", "RFC 9461 §5"),
            ("1 . key7=/q{?dnsx}", "RFC 9461 §5"),
        ] {
            let v = RData::Svcb(Box::new(
                crate::model::svcb::Svcb::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")),
            ));
            let p = problems(&v).join("; ");
            if want.is_empty() {
                assert!(p.is_empty(), "{text}: {p}");
            } else {
                assert!(p.contains(want), "{text}: {p}");
            }
        }
        let long = format!("1 . alpn={}", "a".repeat(256));
        let v = RData::Https(Box::new(crate::model::svcb::Svcb::parse(&long).unwrap()));
        assert!(problems(&v)[0].contains("1 to 255 octets (RFC 9460 §7.1.1)"));
    }
}
