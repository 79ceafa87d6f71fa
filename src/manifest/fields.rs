//! The structured value fields of each record type in octoDNS's YAML format.
//!
//! One table drives both the parser (required/unknown field checks, type of each field) and
//! the JSON Schema that `zonekeeper schema` prints, so the two cannot drift apart.

use crate::model::RecordType;

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    U8,
    U16,
    /// An absolute domain name with a trailing dot (`.` for "none").
    Name,
    /// Free text.
    Text,
    /// Hexadecimal digits.
    Hex,
    /// A decimal number with at most this many fraction digits.
    Decimal(u32),
    /// One of the given letters.
    Letter(&'static [&'static str]),
    /// SVCB/HTTPS parameters: a mapping of SvcParamKey name to its value (a string or
    /// number, a list of them, or nothing), as octoDNS writes them.
    SvcParams,
}

/// One field of a structured value.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Older octoDNS names for the same field.
    pub aliases: &'static [&'static str],
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
        aliases: &[],
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        aliases: &[],
    }
}

const fn alias(name: &'static str, kind: Kind, aliases: &'static [&'static str]) -> Field {
    Field {
        name,
        kind,
        required: true,
        aliases,
    }
}

const MX: &[Field] = &[
    alias("preference", Kind::U16, &["priority"]),
    alias("exchange", Kind::Name, &["value"]),
];

const SRV: &[Field] = &[
    req("priority", Kind::U16),
    req("weight", Kind::U16),
    req("port", Kind::U16),
    req("target", Kind::Name),
];

const CAA: &[Field] = &[
    opt("flags", Kind::U8),
    req("tag", Kind::Text),
    req("value", Kind::Text),
];

const NAPTR: &[Field] = &[
    req("order", Kind::U16),
    req("preference", Kind::U16),
    req("flags", Kind::Text),
    req("service", Kind::Text),
    req("regexp", Kind::Text),
    req("replacement", Kind::Name),
];

const SSHFP: &[Field] = &[
    req("algorithm", Kind::U8),
    req("fingerprint_type", Kind::U8),
    req("fingerprint", Kind::Hex),
];

const TLSA: &[Field] = &[
    req("certificate_usage", Kind::U8),
    req("selector", Kind::U8),
    req("matching_type", Kind::U8),
    req("certificate_association_data", Kind::Hex),
];

const DS: &[Field] = &[
    req("key_tag", Kind::U16),
    req("algorithm", Kind::U8),
    req("digest_type", Kind::U8),
    req("digest", Kind::Hex),
];

const URI: &[Field] = &[
    req("priority", Kind::U16),
    req("weight", Kind::U16),
    req("target", Kind::Text),
];

const LOC: &[Field] = &[
    req("lat_degrees", Kind::U8),
    req("lat_minutes", Kind::U8),
    req("lat_seconds", Kind::Decimal(3)),
    req("lat_direction", Kind::Letter(&["N", "S"])),
    req("long_degrees", Kind::U8),
    req("long_minutes", Kind::U8),
    req("long_seconds", Kind::Decimal(3)),
    req("long_direction", Kind::Letter(&["E", "W"])),
    req("altitude", Kind::Decimal(2)),
    req("size", Kind::Decimal(2)),
    req("precision_horz", Kind::Decimal(2)),
    req("precision_vert", Kind::Decimal(2)),
];

/// octoDNS 1.22 `octodns/record/svcb.py` (`_SvcbValueBase._schema`), for SVCB and HTTPS.
const SVCB: &[Field] = &[
    req("svcpriority", Kind::U16),
    req("targetname", Kind::Name),
    opt("svcparams", Kind::SvcParams),
];

/// The fields of a type whose values are mappings, or `None` for types whose values are
/// plain strings (A, AAAA, CNAME, NS, PTR, ALIAS, DNAME, TXT, SPF).
pub fn fields(rtype: RecordType) -> Option<&'static [Field]> {
    Some(match rtype {
        RecordType::MX => MX,
        RecordType::SRV => SRV,
        RecordType::CAA => CAA,
        RecordType::NAPTR => NAPTR,
        RecordType::SSHFP => SSHFP,
        RecordType::TLSA => TLSA,
        RecordType::DS => DS,
        RecordType::URI => URI,
        RecordType::LOC => LOC,
        RecordType::SVCB | RecordType::HTTPS => SVCB,
        _ => return None,
    })
}
