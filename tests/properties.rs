//! Property tests over random zones:
//! - applying plan(A -> B) to A gives B, and plan(X, X) is empty;
//! - the zone-file form and the octoDNS YAML form both read back to the same zone;
//! - provider record settings survive the YAML round trip and take part in the plan.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use proptest::prelude::*;
use zonekeeper::manifest::octodns::parse_zone;
use zonekeeper::manifest::render::zone_to_yaml;
use zonekeeper::model::rdata::{Caa, Ds, Loc, Mx, Naptr, Srv, Sshfp, Tlsa, Txt, Uri};
use zonekeeper::model::{ExtValue, Fqdn, RData, RecordExt, RecordType, RrKey, RrSet, Zone};
use zonekeeper::plan::{diff, plan_zone, Capabilities, PlanInput, Policy, Thresholds};
use zonekeeper::provider::zonefile::{parse_text, render_text};

fn origin() -> Fqdn {
    Fqdn::parse("example.com.").unwrap()
}

fn target() -> impl Strategy<Value = Fqdn> {
    prop_oneof![
        Just("mail.example.com."),
        Just("x.example.net."),
        Just("xn--bcher-kva.example."),
        Just("a-b_c.example.org."),
    ]
    .prop_map(|s| Fqdn::parse(s).unwrap())
}

fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn printable(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0x20u8..0x7f, 1..max)
}

fn hex(len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(hex::encode)
}

/// RFC 1876 sizes survive encoding only as one digit times a power of ten.
fn loc_prec() -> impl Strategy<Value = u64> {
    (0u64..10, 0u32..8).prop_map(|(m, e)| m * 10u64.pow(e))
}

fn loc() -> impl Strategy<Value = RData> {
    (
        (0u8..90, 0u8..60, 0u32..60_000, prop::bool::ANY),
        (0u8..180, 0u8..60, 0u32..60_000, prop::bool::ANY),
        -10_000_000i64..100_000_000,
        (loc_prec(), loc_prec(), loc_prec()),
    )
        .prop_map(|((ld, lm, ls, n), (gd, gm, gs, e), alt, (size, ph, pv))| {
            RData::Loc(Box::new(Loc {
                lat_degrees: ld,
                lat_minutes: lm,
                lat_millis: ls,
                lat_direction: if n { 'N' } else { 'S' },
                long_degrees: gd,
                long_minutes: gm,
                long_millis: gs,
                long_direction: if e { 'E' } else { 'W' },
                altitude_cm: alt,
                size_cm: size,
                precision_horz_cm: ph,
                precision_vert_cm: pv,
            }))
        })
}

/// A valid RFC 9460 value: AliasMode without params, or ServiceMode with any subset of the
/// keys (alpn ids and unknown values of any octets, so every escape is exercised).
fn svcb(t: RecordType) -> impl Strategy<Value = RData> {
    use zonekeeper::model::svcb::{SvcParam, SvcParams, Svcb};
    let alpn = prop::collection::vec(prop::collection::vec(any::<u8>(), 1..8), 1..4);
    let v4 = prop::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 1..4);
    let v6 = prop::collection::vec(any::<u128>().prop_map(Ipv6Addr::from), 1..3);
    (
        0u16..4,
        target(),
        prop::option::of(alpn),
        prop::bool::ANY,
        prop::option::of(any::<u16>()),
        prop::option::of(v4),
        prop::option::of(text(12)),
        prop::option::of(v6),
        prop::option::of((7u16..65535, text(12))),
        prop::bool::ANY,
    )
        .prop_map(
            move |(priority, target, alpn, ndalpn, port, v4, ech, v6, unknown, mandatory)| {
                let mut params = Vec::new();
                if priority > 0 {
                    if let Some(a) = alpn {
                        params.push(SvcParam::Alpn(a));
                        if ndalpn {
                            params.push(SvcParam::NoDefaultAlpn);
                        }
                    }
                    params.extend(port.map(SvcParam::Port));
                    params.extend(v4.map(SvcParam::Ipv4Hint));
                    params.extend(ech.map(SvcParam::Ech));
                    params.extend(v6.map(SvcParam::Ipv6Hint));
                    params.extend(unknown.map(|(k, v)| SvcParam::Unknown(k, v)));
                    if mandatory && !params.is_empty() {
                        let keys = params.iter().map(SvcParam::key).collect();
                        params.push(SvcParam::Mandatory(keys));
                    }
                }
                let v = Box::new(Svcb {
                    priority,
                    target,
                    params: SvcParams::new(params),
                });
                if t == RecordType::SVCB {
                    RData::Svcb(v)
                } else {
                    RData::Https(v)
                }
            },
        )
}

/// A value of `t` (names chosen so every type is valid at them).
fn value(t: RecordType) -> BoxedStrategy<RData> {
    match t {
        RecordType::A => any::<u32>()
            .prop_map(|v| RData::A(Ipv4Addr::from(v)))
            .boxed(),
        RecordType::AAAA => any::<u128>()
            .prop_map(|v| RData::Aaaa(Ipv6Addr::from(v)))
            .boxed(),
        RecordType::CNAME => target().prop_map(RData::Cname).boxed(),
        RecordType::DNAME => target().prop_map(RData::Dname).boxed(),
        RecordType::NS => target().prop_map(RData::Ns).boxed(),
        RecordType::PTR => target().prop_map(RData::Ptr).boxed(),
        RecordType::MX => (any::<u16>(), target())
            .prop_map(|(preference, exchange)| {
                RData::Mx(Mx {
                    preference,
                    exchange,
                })
            })
            .boxed(),
        RecordType::TXT => text(600).prop_map(|b| RData::Txt(Txt(b))).boxed(),
        RecordType::SPF => text(300).prop_map(|b| RData::Spf(Txt(b))).boxed(),
        RecordType::SRV => (any::<u16>(), any::<u16>(), any::<u16>(), target())
            .prop_map(|(priority, weight, port, target)| {
                RData::Srv(Srv {
                    priority,
                    weight,
                    port,
                    target,
                })
            })
            .boxed(),
        RecordType::CAA => (
            prop::bool::ANY,
            prop_oneof![Just("issue"), Just("issuewild"), Just("iodef")],
            printable(40),
        )
            .prop_map(|(crit, tag, value)| {
                RData::Caa(Caa {
                    flags: if crit { 128 } else { 0 },
                    tag: tag.into(),
                    value,
                })
            })
            .boxed(),
        // Digest lengths as each digest type fixes them (model::check); 7 is unassigned.
        RecordType::DS => (any::<u16>(), 1u8..16, 1u8..8, hex(48))
            .prop_map(|(key_tag, algorithm, digest_type, digest)| {
                let octets = match digest_type {
                    1 => 20,
                    4 => 48,
                    7 => 5,
                    _ => 32,
                };
                RData::Ds(Ds {
                    key_tag,
                    algorithm,
                    digest_type,
                    digest: digest[..octets * 2].to_string(),
                })
            })
            .boxed(),
        RecordType::SSHFP => (1u8..5, prop::bool::ANY, hex(32))
            .prop_map(|(algorithm, sha256, fp)| {
                let fingerprint = if sha256 { fp } else { fp[..40].to_string() };
                RData::Sshfp(Sshfp {
                    algorithm,
                    fingerprint_type: if sha256 { 2 } else { 1 },
                    fingerprint,
                })
            })
            .boxed(),
        RecordType::TLSA => (0u8..4, 0u8..2, 0u8..3, hex(64))
            .prop_map(|(u, s, m, d)| {
                // SHA-256 is 32 octets, SHA-512 64, full data any (RFC 6698 §2.1.3).
                let octets = [17, 32, 64][usize::from(m)];
                RData::Tlsa(Tlsa {
                    certificate_usage: u,
                    selector: s,
                    matching_type: m,
                    certificate_association_data: d[..octets * 2].to_string(),
                })
            })
            .boxed(),
        RecordType::NAPTR => (
            any::<u16>(),
            any::<u16>(),
            prop_oneof![Just("S"), Just("A"), Just("U"), Just("P")],
            printable(20),
            // A substitution expression (RFC 3402 §3.2): `!ere!replacement!`, the parts free
            // of the delimiter and of backslashes (which would escape it).
            (printable(15), printable(15)).prop_map(|(ere, repl)| {
                let clean = |v: Vec<u8>| v.into_iter().filter(|b| !b"!\\()".contains(b));
                let mut r = vec![b'!'];
                r.extend(clean(ere));
                r.push(b'!');
                r.extend(clean(repl));
                r.push(b'!');
                r
            }),
            target(),
        )
            .prop_map(|(order, preference, flags, service, regexp, replacement)| {
                // REGEXP and REPLACEMENT are mutually exclusive (RFC 3403 §4.1).
                let (regexp, replacement) = if order % 2 == 0 {
                    (regexp, Fqdn::root())
                } else {
                    (Vec::new(), replacement)
                };
                RData::Naptr(Box::new(Naptr {
                    order,
                    preference,
                    flags: flags.as_bytes().to_vec(),
                    service,
                    regexp,
                    replacement,
                }))
            })
            .boxed(),
        RecordType::URI => (any::<u16>(), any::<u16>(), printable(60))
            .prop_map(|(priority, weight, target)| {
                RData::Uri(Uri {
                    priority,
                    weight,
                    target,
                })
            })
            .boxed(),
        RecordType::LOC => loc().boxed(),
        RecordType::SVCB | RecordType::HTTPS => svcb(t).boxed(),
        RecordType::ALIAS => unreachable!("not generated: zone files cannot hold ALIAS"),
        RecordType::URLFWD | RecordType::Route53Alias => {
            unreachable!("not generated: no target stores them")
        }
    }
}

const NAMES: [&str; 6] = [
    "",
    "www",
    "_sip._tcp",
    "*.wild",
    "a.b.deep",
    "xn--bcher-kva",
];
const TYPES: [RecordType; 19] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::DNAME,
    RecordType::NS,
    RecordType::PTR,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SPF,
    RecordType::SRV,
    RecordType::CAA,
    RecordType::DS,
    RecordType::SSHFP,
    RecordType::TLSA,
    RecordType::NAPTR,
    RecordType::URI,
    RecordType::LOC,
    RecordType::SVCB,
    RecordType::HTTPS,
];

fn rrset() -> impl Strategy<Value = (RrKey, RrSet)> {
    (0..NAMES.len(), 0..TYPES.len(), 0u32..=2_147_483_647).prop_flat_map(|(n, t, ttl)| {
        let mut rtype = TYPES[t];
        let name = NAMES[n];
        let srv_name = name == "_sip._tcp";
        if matches!(rtype, RecordType::SRV | RecordType::URI) && !srv_name {
            rtype = RecordType::A;
        }
        if rtype == RecordType::CNAME && name.is_empty() {
            rtype = RecordType::AAAA;
        }
        // A DS belongs in the parent, never at the apex (RFC 4035 §2.4).
        if rtype == RecordType::DS && name.is_empty() {
            rtype = RecordType::TXT;
        }
        let count = if rtype.is_single_value() { 1..2 } else { 1..4 };
        let key = RrKey::new(Fqdn::parse_relative(name, &origin()).unwrap(), rtype);
        prop::collection::vec(value(rtype), count)
            .prop_map(move |vals| (key.clone(), RrSet::new(ttl, vals)))
    })
}

fn zone() -> impl Strategy<Value = Zone> {
    prop::collection::vec(rrset(), 0..12).prop_map(|sets| {
        let mut z = Zone::new(origin());
        for (k, s) in sets {
            z.put(k, s);
        }
        // A CNAME owns its name: drop it where other types landed at the same name.
        let names_with_others: Vec<Fqdn> = z
            .rrsets
            .keys()
            .filter(|k| k.rtype != RecordType::CNAME)
            .map(|k| k.name.clone())
            .collect();
        z.rrsets
            .retain(|k, _| k.rtype != RecordType::CNAME || !names_with_others.contains(&k.name));
        assert!(z.check().is_empty(), "{:?}", z.check());
        z
    })
}

fn ext_scalar() -> impl Strategy<Value = ExtValue> {
    prop_oneof![
        Just(ExtValue::Null),
        any::<bool>().prop_map(ExtValue::Bool),
        any::<i64>().prop_map(ExtValue::Int),
        (-1.0e12f64..1.0e12).prop_filter_map("finite", ExtValue::from_f64),
        // Strings YAML could read as something else must stay strings.
        prop_oneof![
            Just("true"),
            Just("yes"),
            Just("null"),
            Just("~"),
            Just("1.5"),
            Just("0x10"),
            Just(""),
            Just("a b: c"),
            Just("- x"),
            Just("#hash"),
            Just("proxied"),
        ]
        .prop_map(|s| ExtValue::Str(s.to_string())),
        "[ -~]{0,12}".prop_map(ExtValue::Str),
    ]
}

fn ext_value() -> impl Strategy<Value = ExtValue> {
    ext_scalar().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(ExtValue::List),
            prop::collection::btree_map("[a-z][a-z0-9_-]{0,6}", inner, 0..4)
                .prop_map(ExtValue::Map),
        ]
    })
}

fn record_ext() -> impl Strategy<Value = Option<std::sync::Arc<RecordExt>>> {
    prop::option::weighted(
        0.5,
        prop::collection::btree_map("[a-z][a-z0-9_-]{0,8}", ext_value(), 1..4)
            .prop_map(|m| std::sync::Arc::new(m.into_iter().collect::<RecordExt>())),
    )
}

/// A random zone where about half the RRsets carry provider settings.
fn zone_with_settings() -> impl Strategy<Value = Zone> {
    zone().prop_flat_map(|z| {
        let n = z.rrsets.len();
        prop::collection::vec(record_ext(), n).prop_map(move |exts| {
            let mut z = z.clone();
            for (set, ext) in z.rrsets.values_mut().zip(exts) {
                set.set_ext(ext);
            }
            z
        })
    })
}

fn plan(desired: &Zone, live: &Zone) -> Vec<zonekeeper::plan::Change> {
    plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "t",
        desired,
        live,
        live_exists: true,
        unmanaged: &|_| false,
        caps: &Capabilities::everything(),
        normalize: &|_, _| None,
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    })
    .changes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn applying_a_plan_reaches_the_desired_zone(a in zone(), b in zone()) {
        let changes = plan(&b, &a);
        let mut live = a.clone();
        diff::apply_to(&mut live, &changes);
        // The apex NS is only managed when the manifest declares it: otherwise A's stays.
        let mut expected = b.clone();
        let apex_ns = RrKey::new(origin(), RecordType::NS);
        if b.get(&apex_ns).is_none() {
            if let Some(ns) = a.get(&apex_ns) {
                expected.put(apex_ns, ns.clone());
            }
        }
        prop_assert_eq!(&live, &expected);
        prop_assert!(plan(&b, &live).is_empty());
    }

    #[test]
    fn plan_of_a_zone_against_itself_is_empty(x in zone()) {
        prop_assert!(plan(&x, &x).is_empty());
    }

    #[test]
    fn zone_file_round_trips(x in zone()) {
        let text = render_text(&x);
        let back = parse_text(&text, &origin()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, x, "{}", text);
    }

    #[test]
    fn settings_round_trip_through_yaml_and_converge(x in zone_with_settings(), y in zone_with_settings()) {
        let yaml = zone_to_yaml(&x, "memory");
        let back = parse_zone(&yaml, Path::new("gen.yaml"), &origin())
            .map_err(|d| TestCaseError::fail(format!("{d:?}\n{yaml}")))?;
        prop_assert_eq!(&back.desired_for("t", "memory"), &x, "{}", yaml);
        let changes = plan(&y, &x);
        let mut live = x.clone();
        diff::apply_to(&mut live, &changes);
        prop_assert!(plan(&y, &live).is_empty());
    }

    #[test]
    fn octodns_yaml_round_trips(x in zone()) {
        let yaml = zone_to_yaml(&x, "memory");
        let back = parse_zone(&yaml, Path::new("gen.yaml"), &origin())
            .map_err(|d| TestCaseError::fail(format!("{d:?}\n{yaml}")))?;
        prop_assert_eq!(back.zone, x, "{}", yaml);
    }
}
