//! RFC 1035 presentation format -> [`RData`]: the inverse of `RData`'s `Display`.
//!
//! Reads any common rendering (PowerDNS API `content`, `dig` output, BIND and octodns-bind
//! zone files), including the types NLnet Labs `domain` 0.12 cannot parse (SPF, URI, LOC)
//! or parses only in part (SVCB and HTTPS: escaped `alpn`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::rdata::{Caa, Ds, Loc, Mx, Naptr, Srv, Sshfp, Tlsa, Txt, Uri};
use super::{Fqdn, RData, RecordType};

/// One token of presentation text: escapes decoded, quotes removed.
#[derive(Debug, PartialEq, Eq)]
struct Token {
    bytes: Vec<u8>,
    quoted: bool,
}

/// Splits presentation text into words and quoted strings, decoding `\X` and `\DDD`.
fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let quoted = b[i] == b'"';
        if quoted {
            i += 1;
        }
        let mut bytes = Vec::new();
        let mut closed = !quoted;
        while i < b.len() {
            let c = b[i];
            if quoted && c == b'"' {
                closed = true;
                i += 1;
                break;
            }
            if !quoted && c.is_ascii_whitespace() {
                break;
            }
            if c == b'\\' {
                let digits = b
                    .get(i + 1..i + 4)
                    .filter(|d| d.iter().all(u8::is_ascii_digit));
                if let Some(d) = digits {
                    let n = (d[0] - b'0') as u16 * 100
                        + (d[1] - b'0') as u16 * 10
                        + (d[2] - b'0') as u16;
                    bytes.push(u8::try_from(n).map_err(|_| format!("escape \\{n} is over 255"))?);
                    i += 4;
                } else {
                    let next = b.get(i + 1).ok_or("dangling backslash at the end")?;
                    bytes.push(*next);
                    i += 2;
                }
                continue;
            }
            bytes.push(c);
            i += 1;
        }
        if !closed {
            return Err("unterminated quoted string".into());
        }
        out.push(Token { bytes, quoted });
    }
    Ok(out)
}

/// Reads tokens one at a time with typed accessors.
struct Fields<'a> {
    toks: std::slice::Iter<'a, Token>,
}

impl Fields<'_> {
    fn next_tok(&mut self, what: &str) -> Result<&Token, String> {
        self.toks.next().ok_or_else(|| format!("missing {what}"))
    }

    fn word(&mut self, what: &str) -> Result<String, String> {
        let t = self.next_tok(what)?;
        String::from_utf8(t.bytes.clone()).map_err(|_| format!("{what} is not text"))
    }

    fn num<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, String> {
        let w = self.word(what)?;
        w.parse()
            .map_err(|_| format!("{what} {w:?} is not a valid number"))
    }

    fn name(&mut self, what: &str) -> Result<Fqdn, String> {
        let w = self.word(what)?;
        Fqdn::parse(&w).map_err(|e| format!("{what}: {e}"))
    }

    fn bytes(&mut self, what: &str) -> Result<Vec<u8>, String> {
        Ok(self.next_tok(what)?.bytes.clone())
    }

    /// The remaining tokens joined, as lower-case hex (digests may be split by spaces).
    fn hex_rest(&mut self, what: &str) -> Result<String, String> {
        let mut s = String::new();
        for t in self.toks.by_ref() {
            s.push_str(&String::from_utf8_lossy(&t.bytes));
        }
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("{what} {s:?} is not hex"));
        }
        Ok(s.to_ascii_lowercase())
    }

    fn end(&mut self) -> Result<(), String> {
        match self.toks.next() {
            None => Ok(()),
            Some(t) => Err(format!(
                "unexpected trailing {:?}",
                String::from_utf8_lossy(&t.bytes)
            )),
        }
    }
}

/// Parses the presentation-format RDATA of a record of type `rtype`.
pub fn parse(rtype: RecordType, content: &str) -> Result<RData, String> {
    // SvcParams have their own two-level escaping (RFC 9460 Appendix A).
    match rtype {
        RecordType::SVCB => {
            return super::svcb::Svcb::parse(content).map(|s| RData::Svcb(Box::new(s)))
        }
        RecordType::HTTPS => {
            return super::svcb::Svcb::parse(content).map(|s| RData::Https(Box::new(s)))
        }
        _ => {}
    }
    let toks = tokenize(content)?;
    let mut f = Fields { toks: toks.iter() };
    let v = match rtype {
        RecordType::A => RData::A(
            f.word("address")?
                .parse::<Ipv4Addr>()
                .map_err(|e| e.to_string())?,
        ),
        RecordType::AAAA => RData::Aaaa(
            f.word("address")?
                .parse::<Ipv6Addr>()
                .map_err(|e| e.to_string())?,
        ),
        RecordType::ALIAS => RData::Alias(f.name("target")?),
        RecordType::CNAME => RData::Cname(f.name("target")?),
        RecordType::DNAME => RData::Dname(f.name("target")?),
        RecordType::NS => RData::Ns(f.name("name server")?),
        RecordType::PTR => RData::Ptr(f.name("target")?),
        RecordType::MX => RData::Mx(Mx {
            preference: f.num("preference")?,
            exchange: f.name("exchange")?,
        }),
        RecordType::SRV => RData::Srv(Srv {
            priority: f.num("priority")?,
            weight: f.num("weight")?,
            port: f.num("port")?,
            target: f.name("target")?,
        }),
        RecordType::CAA => RData::Caa(Caa {
            flags: f.num("flags")?,
            tag: f.word("tag")?.to_ascii_lowercase(),
            value: f.bytes("value")?,
        }),
        RecordType::DS => {
            return Ok(RData::Ds(Ds {
                key_tag: f.num("key tag")?,
                algorithm: f.num("algorithm")?,
                digest_type: f.num("digest type")?,
                digest: f.hex_rest("digest")?,
            }))
        }
        RecordType::SSHFP => {
            return Ok(RData::Sshfp(Sshfp {
                algorithm: f.num("algorithm")?,
                fingerprint_type: f.num("fingerprint type")?,
                fingerprint: f.hex_rest("fingerprint")?,
            }))
        }
        RecordType::TLSA => {
            return Ok(RData::Tlsa(Tlsa {
                certificate_usage: f.num("usage")?,
                selector: f.num("selector")?,
                matching_type: f.num("matching type")?,
                certificate_association_data: f.hex_rest("data")?,
            }))
        }
        RecordType::NAPTR => RData::Naptr(Box::new(Naptr {
            order: f.num("order")?,
            preference: f.num("preference")?,
            flags: f.bytes("flags")?,
            service: f.bytes("service")?,
            regexp: f.bytes("regexp")?,
            replacement: f.name("replacement")?,
        })),
        RecordType::URLFWD | RecordType::Route53Alias => {
            return Err(format!(
                "{rtype} is not a DNS type: it has no presentation format"
            ))
        }
        RecordType::URI => RData::Uri(Uri {
            priority: f.num("priority")?,
            weight: f.num("weight")?,
            target: f.bytes("target")?,
        }),
        RecordType::TXT | RecordType::SPF => {
            // The value is the character-strings concatenated, however they were chunked.
            let bytes: Vec<u8> = toks.iter().flat_map(|t| t.bytes.iter().copied()).collect();
            if toks.is_empty() {
                return Err("no character-string".into());
            }
            return Ok(if rtype == RecordType::TXT {
                RData::Txt(Txt(bytes))
            } else {
                RData::Spf(Txt(bytes))
            });
        }
        RecordType::LOC => return parse_loc(&toks).map(|l| RData::Loc(Box::new(l))),
        RecordType::SVCB | RecordType::HTTPS => return Err("SVCB/HTTPS are read above".into()),
    };
    f.end()?;
    Ok(v)
}

/// A decimal like `-12.5` as an integer scaled by 10^`scale` (`-1250` for scale 2).
fn decimal(s: &str, scale: u32) -> Result<i128, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |p: &str| p.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !ok(int) || !ok(frac) || frac.len() > scale as usize || int.len() > 12 {
        return Err(format!(
            "{s:?} is not a decimal with at most {scale} places"
        ));
    }
    let mut v: i128 = int.parse().map_err(|_| format!("{s:?} is not a number"))?;
    for i in 0..scale as usize {
        v = v * 10 + frac.as_bytes().get(i).map_or(0, |c| i128::from(c - b'0'));
    }
    Ok(if neg { -v } else { v })
}

/// RFC 1876 text: `d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`.
fn parse_loc(toks: &[Token]) -> Result<Loc, String> {
    let words: Vec<String> = toks
        .iter()
        .map(|t| String::from_utf8_lossy(&t.bytes).into_owned())
        .collect();
    let mut i = 0;
    let mut angle = |hemis: [&str; 2]| -> Result<(u8, u8, u32, char), String> {
        let mut parts = Vec::new();
        while i < words.len() && !hemis.contains(&words[i].as_str()) && parts.len() < 3 {
            parts.push(words[i].as_str());
            i += 1;
        }
        let dir = words
            .get(i)
            .filter(|w| hemis.contains(&w.as_str()))
            .ok_or_else(|| format!("expected {} or {}", hemis[0], hemis[1]))?;
        i += 1;
        let deg = parts.first().ok_or("missing degrees")?;
        let deg: u8 = deg.parse().map_err(|_| format!("bad degrees {deg:?}"))?;
        let min: u8 = match parts.get(1) {
            Some(m) => m.parse().map_err(|_| format!("bad minutes {m:?}"))?,
            None => 0,
        };
        let millis = match parts.get(2) {
            Some(s) => u32::try_from(decimal(s, 3)?).map_err(|_| format!("bad seconds {s:?}"))?,
            None => 0,
        };
        Ok((deg, min, millis, dir.chars().next().unwrap_or('N')))
    };
    let (lat_degrees, lat_minutes, lat_millis, lat_direction) = angle(["N", "S"])?;
    let (long_degrees, long_minutes, long_millis, long_direction) = angle(["E", "W"])?;
    let metres = |w: Option<&String>, default_cm: i128| -> Result<i128, String> {
        match w {
            None => Ok(default_cm),
            Some(w) => decimal(w.strip_suffix('m').unwrap_or(w), 2),
        }
    };
    let unsigned = |v: i128| u64::try_from(v).map_err(|_| "negative size or precision".to_string());
    let altitude_cm = metres(words.get(i), i128::MIN)?;
    if altitude_cm == i128::MIN {
        return Err("missing altitude".into());
    }
    let loc = Loc {
        lat_degrees,
        lat_minutes,
        lat_millis,
        lat_direction,
        long_degrees,
        long_minutes,
        long_millis,
        long_direction,
        altitude_cm: i64::try_from(altitude_cm).map_err(|_| "altitude out of range")?,
        // RFC 1876 defaults: size 1 m, horizontal precision 10 km, vertical 10 m.
        size_cm: unsigned(metres(words.get(i + 1), 100)?)?,
        precision_horz_cm: unsigned(metres(words.get(i + 2), 1_000_000)?)?,
        precision_vert_cm: unsigned(metres(words.get(i + 3), 1_000)?)?,
    };
    if words.len() > i + 4 {
        return Err(format!("unexpected trailing {:?}", words[i + 4]));
    }
    Ok(loc.canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(t: RecordType, s: &str) -> RData {
        let v = parse(t, s).unwrap_or_else(|e| panic!("{t} {s:?}: {e}"));
        // What we write must read back as the same value.
        assert_eq!(parse(t, &v.to_string()).unwrap(), v, "{t} {s:?}");
        v
    }

    #[test]
    fn powerdns_renderings_round_trip() {
        let cases = [
            (RecordType::A, "192.0.2.1", "192.0.2.1"),
            (RecordType::AAAA, "2001:db8::1", "2001:db8::1"),
            (RecordType::MX, "0 .", "0 ."),
            (RecordType::SRV, "0 0 0 .", "0 0 0 ."),
            (
                RecordType::CNAME,
                "TARGET.Example.COM.",
                "target.example.com.",
            ),
            (RecordType::CAA, "128 issue \";\"", "128 issue \";\""),
            (
                RecordType::CAA,
                "0 iodef \"mailto:a@b.c\"",
                "0 iodef \"mailto:a@b.c\"",
            ),
            (
                RecordType::NAPTR,
                "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:info@example.com!\" _sip._udp.example.com.",
                "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:info@example.com!\" _sip._udp.example.com.",
            ),
            (
                RecordType::URI,
                "10 1 \"ftp://x.example/p\"",
                "10 1 \"ftp://x.example/p\"",
            ),
            (
                RecordType::LOC,
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
            ),
            (
                RecordType::TXT,
                "\"a\\\"b\\\\c; `d` \\001 \" \"x\"",
                "\"a\\\"b\\\\c; `d` \\001 x\"",
            ),
            (RecordType::TXT, "\"\"", "\"\""),
            (RecordType::TXT, "\"caf\\195\\169\"", "\"caf\\195\\169\""),
        ];
        for (t, input, written) in cases {
            assert_eq!(rt(t, input).to_string(), written, "{t} {input:?}");
        }
        // DS: PowerDNS answers lower-case hex; it compares what we send case-insensitively.
        let ds = rt(
            RecordType::DS,
            "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118",
        );
        assert_eq!(
            ds.to_string().to_ascii_lowercase(),
            "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"
        );
    }

    #[test]
    fn dig_renderings_and_defaults() {
        // dig prints LOC sizes without decimals and may split long digests.
        let a = rt(
            RecordType::LOC,
            "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m",
        );
        let b = rt(RecordType::LOC, "52 22 23 N 4 53 32 E -2m");
        assert_eq!(a, b);
        // PowerDNS 4.x spellings of whole minutes and of the equator: the same wire value.
        assert_eq!(
            rt(RecordType::LOC, "49 17 60.000 N 10 34 60.000 E 409.00m"),
            rt(RecordType::LOC, "49 18 0 N 10 35 0 E 409m")
        );
        assert_eq!(
            rt(RecordType::LOC, "0 0 0.000 S 0 0 0.000 W 0.00m"),
            rt(RecordType::LOC, "0 0 0 N 0 0 0 E 0m")
        );
        let RData::Loc(l) = a else { panic!() };
        assert_eq!(
            (l.lat_millis, l.altitude_cm, l.size_cm),
            (23_000, -200, 100)
        );
        assert_eq!(
            rt(RecordType::DS, "1 8 2 ABCD EF01"),
            rt(RecordType::DS, "1 8 2 abcdef01")
        );
        // A 300-byte single string (accepted by PowerDNS) reads as the same bytes.
        let long = format!("\"{}\"", "a".repeat(300));
        assert_eq!(rt(RecordType::TXT, &long), RData::Txt(Txt(vec![b'a'; 300])));
    }

    #[test]
    fn bad_content_is_an_error_not_a_panic() {
        for (t, s) in [
            (RecordType::A, "1.2.3"),
            (RecordType::MX, "10"),
            (RecordType::MX, "10 a. b."),
            (RecordType::TXT, "\"open"),
            (RecordType::TXT, "\"\\"),
            (RecordType::TXT, ""),
            (RecordType::DS, "1 8 2 xyz"),
            (RecordType::LOC, "52 22 N"),
            (RecordType::LOC, "999 0 0 N 0 0 0 E 0m"),
            (RecordType::CAA, "0 issue \"\\999\""),
        ] {
            assert!(parse(t, s).is_err(), "{t} {s:?} parsed");
        }
    }
}
