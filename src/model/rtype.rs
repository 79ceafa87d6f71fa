//! The record types zonekeeper manages.

use std::fmt;
use std::str::FromStr;

/// A DNS record type that zonekeeper can manage. SOA is deliberately absent: the SOA belongs to
/// the server (serials, timers), never to the manifest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum RecordType {
    A,
    AAAA,
    ALIAS,
    CAA,
    CNAME,
    DNAME,
    DS,
    HTTPS,
    LOC,
    MX,
    NAPTR,
    NS,
    PTR,
    SPF,
    SRV,
    SSHFP,
    SVCB,
    TLSA,
    TXT,
    URI,
    /// octoDNS's URL redirect type (`URLFWD`): not DNS, no zonekeeper target stores it.
    URLFWD,
    /// octodns-route53's `Route53Provider/ALIAS` (an alias to an AWS resource): stored only
    /// by Route 53, which zonekeeper does not drive yet.
    Route53Alias,
}

impl RecordType {
    /// Every type, in a stable order.
    pub const ALL: [RecordType; 20] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::ALIAS,
        RecordType::CAA,
        RecordType::CNAME,
        RecordType::DNAME,
        RecordType::DS,
        RecordType::HTTPS,
        RecordType::LOC,
        RecordType::MX,
        RecordType::NAPTR,
        RecordType::NS,
        RecordType::PTR,
        RecordType::SPF,
        RecordType::SRV,
        RecordType::SSHFP,
        RecordType::SVCB,
        RecordType::TLSA,
        RecordType::TXT,
        RecordType::URI,
    ];

    /// Types octoDNS reads that are not DNS or belong to one provider: parsed so a
    /// repository using them is accepted, and skipped (with the reason) on every target,
    /// none of which stores them. Not in [`RecordType::ALL`], so no target claims them.
    pub const NOT_DNS: [RecordType; 2] = [RecordType::URLFWD, RecordType::Route53Alias];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::URLFWD => "URLFWD",
            RecordType::Route53Alias => "Route53Provider/ALIAS",
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::ALIAS => "ALIAS",
            RecordType::CAA => "CAA",
            RecordType::CNAME => "CNAME",
            RecordType::DNAME => "DNAME",
            RecordType::DS => "DS",
            RecordType::HTTPS => "HTTPS",
            RecordType::LOC => "LOC",
            RecordType::MX => "MX",
            RecordType::NAPTR => "NAPTR",
            RecordType::NS => "NS",
            RecordType::PTR => "PTR",
            RecordType::SPF => "SPF",
            RecordType::SRV => "SRV",
            RecordType::SSHFP => "SSHFP",
            RecordType::SVCB => "SVCB",
            RecordType::TLSA => "TLSA",
            RecordType::TXT => "TXT",
            RecordType::URI => "URI",
        }
    }

    /// Types whose RRset must hold exactly one value.
    pub fn is_single_value(self) -> bool {
        matches!(
            self,
            RecordType::CNAME | RecordType::ALIAS | RecordType::DNAME | RecordType::Route53Alias
        )
    }

    /// The IANA type code; ALIAS is a provider pseudo-type and has none.
    pub fn code(self) -> Option<u16> {
        Some(match self {
            RecordType::A => 1,
            RecordType::NS => 2,
            RecordType::CNAME => 5,
            RecordType::PTR => 12,
            RecordType::MX => 15,
            RecordType::TXT => 16,
            RecordType::AAAA => 28,
            RecordType::LOC => 29,
            RecordType::SRV => 33,
            RecordType::NAPTR => 35,
            RecordType::DNAME => 39,
            RecordType::DS => 43,
            RecordType::SSHFP => 44,
            RecordType::TLSA => 52,
            RecordType::SVCB => 64,
            RecordType::HTTPS => 65,
            RecordType::SPF => 99,
            RecordType::URI => 256,
            RecordType::CAA => 257,
            RecordType::ALIAS | RecordType::URLFWD | RecordType::Route53Alias => return None,
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type name was not one zonekeeper manages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown or unsupported record type {0:?}")]
pub struct UnknownType(pub String);

impl FromStr for RecordType {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordType::ALL
            .iter()
            .chain(&RecordType::NOT_DNS)
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownType(s.to_string()))
    }
}

impl serde::Serialize for RecordType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
