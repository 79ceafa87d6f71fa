//! Conversion between the model's [`RData`] and NLnet Labs `domain`'s record data, shared by
//! the providers that speak DNS itself (`zonefile` reads master files, `rfc2136` reads AXFR
//! and writes UPDATE messages).
//!
//! Reading goes through [`to_model`]. Writing goes through presentation text: a value is
//! rendered as a master-file line ([`record_line`], RFC 3597 generic form for the types
//! `domain` 0.12 cannot parse) and parsed back by `domain` ([`to_wire`]), so `domain` does
//! all wire encoding and the text form is the one the zone-file round-trip tests already pin.

use bytes::Bytes;
use domain::base::iana::{Class, Rtype};
use domain::base::name::{Name, ToLabelIter, ToName};
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, ScannedDname, ScannedRecordData, Zonefile};

use super::rfc3597;
use crate::model::rdata::{Caa, Ds, Mx, Naptr, Srv, Sshfp, Tlsa, Txt};
use crate::model::{Fqdn, RData, RecordType};

/// Record data as `domain` holds it after parsing presentation text.
pub type WireData = ScannedRecordData;

/// The text of a name whose every octet is a letter, digit, `-`, `_` or `*` (nearly every
/// name in a zone), built from its labels: `Display` writes a name octet by octet, which was
/// a large part of reading a big zone file. `None` for any other name.
fn plain_text<N: ToLabelIter>(n: &N) -> Option<String> {
    let mut s = String::with_capacity(usize::from(n.compose_len()));
    for label in n.iter_labels() {
        if label.is_root() {
            continue;
        }
        let octets = label.as_slice();
        if !octets
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*'))
        {
            return None;
        }
        if !s.is_empty() {
            s.push('.');
        }
        // Checked above: ASCII only.
        s.push_str(std::str::from_utf8(octets).ok()?);
    }
    Some(s)
}

/// The text `Display` gives a `domain` name (labels joined by `.`, no trailing dot; `.` for
/// the root): built from its labels when it is plain ([`plain_text`]), else printed.
pub fn name_text<N: ToLabelIter + std::fmt::Display>(n: &N) -> String {
    match plain_text(n) {
        Some(s) if s.is_empty() => ".".to_string(),
        Some(s) => s,
        None => n.to_string(),
    }
}

/// A `domain` name (any octets) as an [`Fqdn`], label by label (so `"`, `;` or a `.` inside
/// a label keep their octets); the root for an empty name.
pub fn name_of<N: ToName + std::fmt::Display>(n: &N) -> Result<Fqdn, String> {
    if let Some(text) = plain_text(n) {
        if text.is_empty() {
            return Ok(Fqdn::root());
        }
        return Fqdn::parse(&text).map_err(|e| e.to_string());
    }
    let labels: Vec<&[u8]> = n
        .iter_labels()
        .filter(|l| !l.is_root())
        .map(|l| l.as_slice())
        .collect();
    Fqdn::from_octets(&n.to_string(), labels).map_err(|e| e.to_string())
}

/// One record value in the model, `None` for types zonekeeper does not manage.
pub fn to_model<N: ToName + std::fmt::Display>(
    data: &ZoneRecordData<Bytes, N>,
) -> Result<Option<RData>, String> {
    Ok(Some(match data {
        ZoneRecordData::A(a) => RData::A(a.addr()),
        ZoneRecordData::Aaaa(a) => RData::Aaaa(a.addr()),
        ZoneRecordData::Cname(c) => RData::Cname(name_of(c.cname())?),
        ZoneRecordData::Dname(d) => RData::Dname(name_of(d.dname())?),
        ZoneRecordData::Ns(n) => RData::Ns(name_of(n.nsdname())?),
        ZoneRecordData::Ptr(p) => RData::Ptr(name_of(p.ptrdname())?),
        ZoneRecordData::Mx(mx) => RData::Mx(Mx {
            preference: mx.preference(),
            exchange: name_of(mx.exchange())?,
        }),
        ZoneRecordData::Txt(t) => RData::Txt(Txt(t.iter().flatten().copied().collect())),
        ZoneRecordData::Srv(s) => RData::Srv(Srv {
            priority: s.priority(),
            weight: s.weight(),
            port: s.port(),
            target: name_of(s.target())?,
        }),
        ZoneRecordData::Caa(c) => RData::Caa(Caa {
            flags: c.flags().bits(),
            tag: c.tag().to_string().to_ascii_lowercase(),
            value: c.value().to_vec(),
        }),
        ZoneRecordData::Ds(d) => RData::Ds(Ds {
            key_tag: d.key_tag(),
            algorithm: d.algorithm().to_int(),
            digest_type: d.digest_type().to_int(),
            digest: hex::encode(d.digest().as_ref()),
        }),
        ZoneRecordData::Sshfp(s) => RData::Sshfp(Sshfp {
            algorithm: s.algorithm().to_int(),
            fingerprint_type: s.fingerprint_type().to_int(),
            fingerprint: hex::encode(s.fingerprint().as_ref()),
        }),
        ZoneRecordData::Tlsa(t) => RData::Tlsa(Tlsa {
            certificate_usage: t.usage().into(),
            selector: t.selector().into(),
            matching_type: t.matching_type().into(),
            certificate_association_data: hex::encode(t.data().as_ref()),
        }),
        ZoneRecordData::Naptr(n) => RData::Naptr(Box::new(Naptr {
            order: n.order(),
            preference: n.preference(),
            flags: n.flags().as_slice().to_vec(),
            service: n.services().as_slice().to_vec(),
            regexp: n.regexp().as_slice().to_vec(),
            replacement: name_of(n.replacement())?,
        })),
        // Read from the wire octets, so `domain`'s own SvcParam types never decide equality.
        ZoneRecordData::Svcb(v) => svcb_model(
            RecordType::SVCB,
            v.priority(),
            v.target(),
            v.params().as_slice(),
        )?,
        ZoneRecordData::Https(v) => svcb_model(
            RecordType::HTTPS,
            v.priority(),
            v.target(),
            v.params().as_slice(),
        )?,
        ZoneRecordData::Unknown(u) => {
            let rtype = match u.rtype() {
                Rtype::SPF => RecordType::SPF,
                Rtype::URI => RecordType::URI,
                Rtype::LOC => RecordType::LOC,
                Rtype::SVCB => RecordType::SVCB,
                Rtype::HTTPS => RecordType::HTTPS,
                _ => return Ok(None),
            };
            rfc3597::decode(rtype, u.data().as_ref())?
        }
        _ => return Ok(None),
    }))
}

/// An SVCB/HTTPS value from `domain`'s parts: the SvcParams are decoded from their wire
/// octets by the model (RFC 9460 §2.2).
fn svcb_model<N: ToName + std::fmt::Display>(
    rtype: RecordType,
    priority: u16,
    target: &N,
    params: &[u8],
) -> Result<RData, String> {
    let mut wire = priority.to_be_bytes().to_vec();
    wire.push(0);
    wire.extend_from_slice(params);
    let mut v = crate::model::svcb::Svcb::from_wire(&wire)?;
    v.target = name_of(target)?;
    Ok(if rtype == RecordType::SVCB {
        RData::Svcb(Box::new(v))
    } else {
        RData::Https(Box::new(v))
    })
}

/// A master-file line for one value: `<owner> <ttl> IN <type> <rdata>`, with the RFC 3597
/// generic form (`TYPE29 \# 16 ...`) for the types `domain` cannot parse natively.
pub fn record_line(owner: &str, ttl: u32, v: &RData) -> String {
    let rtype = v.rtype();
    match rfc3597::generic_text(v) {
        Some(generic) => {
            let code = rtype.code().unwrap_or(0);
            format!("{owner} {ttl} IN TYPE{code} {generic}")
        }
        None => format!("{owner} {ttl} IN {rtype} {v}"),
    }
}

/// Parses master-file text (absolute owners, every line ended) into `domain` records, in
/// order.
pub fn parse_lines(text: &str) -> Result<Vec<(ScannedDname, u32, WireData)>, String> {
    // domain 0.12 panics on an unclosed parenthesis at end of input; contain it.
    std::panic::catch_unwind(|| parse_lines_inner(text))
        .unwrap_or_else(|_| Err("the zone file parser failed (unbalanced parentheses?)".into()))
}

fn parse_lines_inner(text: &str) -> Result<Vec<(ScannedDname, u32, WireData)>, String> {
    let mut zf = Zonefile::from(text);
    zf.set_origin(Name::<Bytes>::root());
    zf.set_default_class(Class::IN);
    let mut out = Vec::new();
    loop {
        match zf.next_entry() {
            Ok(Some(Entry::Record(r))) => {
                let ttl = r.ttl().as_secs();
                let (owner, data) = (r.owner().clone(), r.into_data());
                out.push((owner, ttl, data));
            }
            Ok(Some(Entry::Include { .. })) => return Err("$INCLUDE is not supported".into()),
            Ok(None) => return Ok(out),
            Err(e) => return Err(format!("line {e}")),
        }
    }
}

/// The `domain` record data of a model value, for putting on the wire.
pub fn to_wire(v: &RData) -> Result<WireData, String> {
    // The parser needs the line ended.
    let line = format!("{}\n", record_line(".", 0, v));
    let mut recs = parse_lines(&line)?;
    match recs.pop() {
        Some((_, _, data)) if recs.is_empty() => Ok(data),
        _ => Err(format!(
            "{} value {v} did not encode to one record",
            v.rtype()
        )),
    }
}

/// A model name as a `domain` name, built from its octets (the model's escapes decoded).
pub fn wire_name(n: &Fqdn) -> Result<Name<Bytes>, String> {
    let mut b = domain::base::name::NameBuilder::new_bytes();
    for label in n.octet_labels() {
        b.append_label(&label).map_err(|e| format!("{n}: {e}"))?;
    }
    b.into_name().map_err(|e| format!("{n}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rdata::Uri;
    use std::str::FromStr;

    /// `name_text` builds what `Display` prints, for names it builds itself and for those it
    /// leaves to `Display` (escaped octets), absolute, relative-chained and root.
    #[test]
    fn name_text_is_what_display_prints() {
        let names = [
            ".",
            "example.com.",
            "WWW.Example.COM.",
            "*.wild.example.",
            "_sip._tcp.svc.example.",
            "a\\.b.example.",
            "sp\\032ace.example.",
            "back\\\\slash.example.",
            "oct\\200et.example.",
            "#legacy!~.example.",
        ];
        for text in names {
            let n = Name::<Bytes>::from_str(text).unwrap();
            let printed = n.to_string();
            assert_eq!(name_text(&n), printed, "{text}");
            assert_eq!(
                name_of(&n).map(|f| f.to_string()),
                Fqdn::parse(&printed)
                    .map(|f| f.to_string())
                    .map_err(|e| e.to_string()),
                "{text}"
            );
        }
        let rel = domain::base::name::RelativeName::<Bytes>::from_str("www.Sub").unwrap();
        let chain = rel
            .chain(Name::<Bytes>::from_str("example.com.").unwrap())
            .unwrap();
        assert_eq!(name_text(&chain), chain.to_string());
        assert_eq!(name_text(&chain), "www.Sub.example.com");
    }

    fn svcb(text: &str) -> RData {
        RData::Svcb(Box::new(crate::model::svcb::Svcb::parse(text).unwrap()))
    }

    /// `domain` parses SVCB/HTTPS itself where a line is left to it (parentheses); its
    /// reading goes through the model's wire decoder.
    #[test]
    fn svcb_read_by_domain_natively() {
        let recs = parse_lines("p. 300 IN SVCB 1 . ( alpn=h2 port=443 )\n").unwrap();
        assert_eq!(
            to_model(&recs[0].2).unwrap(),
            Some(svcb("1 . alpn=h2 port=443"))
        );
    }

    #[test]
    fn values_survive_text_to_wire_and_back() {
        let n = |s: &str| Fqdn::parse(s).unwrap();
        let values = vec![
            RData::A("192.0.2.1".parse().unwrap()),
            RData::Cname(n("www.example.com")),
            RData::Mx(Mx {
                preference: 10,
                exchange: n("mx.example.com"),
            }),
            RData::Txt(Txt(vec![b'a'; 300])),
            RData::Spf(Txt(b"v=spf1 -all".to_vec())),
            RData::Uri(Uri {
                priority: 1,
                weight: 2,
                target: b"https://example.com/".to_vec(),
            }),
            RData::Caa(Caa {
                flags: 0,
                tag: "issue".into(),
                value: b"letsencrypt.org".to_vec(),
            }),
            svcb(
                r#"1 svc.example.com. mandatory=alpn alpn=f\\\\oo\\,bar,h2 no-default-alpn port=8443 ipv4hint=192.0.2.1 ech="AEn+DQ==" ipv6hint=2001:db8::1 key65000="a b\210""#,
            ),
            RData::Https(Box::new(
                crate::model::svcb::Svcb::parse("0 svc.example.com.").unwrap(),
            )),
        ];
        for v in values {
            let wire =
                to_wire(&v).unwrap_or_else(|e| panic!("{v:?}: {e}: {}", record_line(".", 0, &v)));
            assert_eq!(to_model(&wire).unwrap(), Some(v));
        }
    }
}
