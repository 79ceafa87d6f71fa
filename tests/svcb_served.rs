//! HTTPS/SVCB as real servers serve them: RFC 9460 Appendix D's test vectors, written by
//! zonekeeper through PowerDNS 4.7 (its API, presentation text) and BIND 9 (RFC 2136
//! UPDATE, wire form), then asked for with `dig +unknownformat`. The expected octets are
//! the RFC's figures, not zonekeeper's own encoding. Skips (printed) when a server is not
//! installed, unless ZONEKEEPER_REQUIRE_SERVERS=1.

mod conformance;
mod support;

use conformance::{https, n, ns, svcb, Z};
use support::bind::{Bind, BindZone, KEY_NAME};
use support::pdns::Pdns;
use zonekeeper::apply::{apply_zone_plan, ApplyOptions};
use zonekeeper::config::SecretRef;
use zonekeeper::model::{Fqdn, RData, RrKey, Zone};
use zonekeeper::plan::{plan_zone, PlanInput, Policy, Thresholds};
use zonekeeper::provider::rfc2136::{Rfc2136Provider, Rfc2136Settings, TsigSettings};
use zonekeeper::provider::Provider;

/// (owner label, value, RDATA octets from RFC 9460 Appendix D, Figures 2-10).
fn vectors() -> Vec<(&'static str, RData, &'static str)> {
    let foo_com = "03666f6f076578616d706c6503636f6d00";
    let foo_org = "03666f6f076578616d706c65036f726700";
    let v = |s: &str| s.replace(' ', "");
    vec![
        // D.1, Figure 2: AliasMode.
        ("d1", https("0 foo.example.com."), v(&format!("0000 {foo_com}"))),
        // D.2, Figure 3: the simplest ServiceMode.
        ("d2a", svcb("1 ."), v("0001 00")),
        // Figure 4: port.
        (
            "d2b",
            svcb("16 foo.example.com. port=53"),
            v(&format!("0010 {foo_com} 0003 0002 0035")),
        ),
        // Figure 5: an unknown key.
        (
            "d2c",
            svcb("1 foo.example.com. key667=hello"),
            v(&format!("0001 {foo_com} 029b 0005 68656c6c6f")),
        ),
        // Figure 6: an unknown key, quoted, with a decimal escape.
        (
            "d2d",
            svcb(r#"1 foo.example.com. key667="hello\210qoo""#),
            v(&format!("0001 {foo_com} 029b 0009 68656c6c6fd2716f6f")),
        ),
        // Figure 7: two IPv6 hints.
        (
            "d2e",
            svcb(r#"1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1""#),
            v(&format!(
                "0001 {foo_com} 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001"
            )),
        ),
        // Figure 8: an IPv4-embedded IPv6 hint.
        (
            "d2f",
            svcb(r#"1 example.com. ipv6hint="2001:db8:122:344::192.0.2.33""#),
            v("0001 076578616d706c6503636f6d00 0006 0010 20010db80122034400000000c0000221"),
        ),
        // Figure 9: keys given out of order, mandatory.
        (
            "d2g",
            svcb("16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1"),
            v(&format!(
                "0010 {foo_org} 0000 0004 00010004 0001 0009 026832 0568332d3139 0004 0004 c0000201"
            )),
        ),
        // Figure 10: an ALPN id holding a backslash and a comma (Appendix A.1).
        (
            "d2h",
            svcb(r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#),
            v(&format!(
                "0010 {foo_org} 0001 000c 08665c6f6f2c626172 026832"
            )),
        ),
    ]
    .into_iter()
    .map(|(l, d, h)| (l, d, Box::leak(h.into_boxed_str()) as &'static str))
    .collect()
}

fn desired(origin: &Fqdn, with_ns: bool) -> Zone {
    let mut z = Z::new(origin);
    if with_ns {
        z = z.rr("@", 3600, vec![ns("ns1.example.net.")]);
    }
    for (label, value, _) in vectors() {
        z = z.rr(label, 300, vec![value]);
    }
    z.0
}

async fn sync(p: &dyn Provider, desired: &Zone) {
    let live = p.read_zone(&desired.origin).await.expect("read zone");
    let zp = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: p.name(),
        desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &|_: &RrKey| false,
        caps: p.capabilities(),
        normalize: &|k, s| p.normalize(k, s),
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    });
    assert!(zp.skipped.is_empty(), "{:?}", zp.skipped);
    let report = apply_zone_plan(p, &zp, &live, &ApplyOptions::default()).await;
    assert!(report.all_ok(), "{:?}", report.failed().collect::<Vec<_>>());
    // Read back equal: a second plan is empty.
    let again = p.read_zone(&desired.origin).await.expect("re-read");
    for (k, want) in &desired.rrsets {
        assert_eq!(again.zone.get(k), Some(want), "{k} read back");
    }
}

/// `dig +unknownformat +short` output `\# N HEX...` as lower-case hex.
fn served_hex(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    assert_eq!(parts.next(), Some("\\#"), "dig: {text:?}");
    let len: usize = parts.next().and_then(|l| l.parse().ok()).expect("length");
    let hex: String = parts.collect::<String>().to_ascii_lowercase();
    assert_eq!(hex.len(), len * 2, "{text}");
    hex
}

fn check_served(origin: &Fqdn, dig: impl Fn(&str, &str) -> std::process::Output) {
    for (label, value, want) in vectors() {
        let name = format!("{label}.{origin}");
        let out = dig(&name, value.rtype().as_str());
        assert_eq!(served_hex(&out), want, "{name} {value}");
    }
}

#[tokio::test]
async fn powerdns_serves_the_rfc9460_vectors() {
    let Some(server) = Pdns::start("svcb_served::powerdns_serves_the_rfc9460_vectors") else {
        return;
    };
    let p = server.provider("pdns", server.settings(true));
    let o = n("svcb.test.");
    sync(&p, &desired(&o, true)).await;
    check_served(&o, |name, rtype| {
        std::process::Command::new("dig")
            .args([
                "+short",
                "+unknownformat",
                "+norecurse",
                "+time=2",
                "+tries=2",
            ])
            .args([
                "@127.0.0.1",
                "-p",
                &server.dns_port.to_string(),
                name,
                rtype,
            ])
            .output()
            .expect("run dig")
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_serves_the_rfc9460_vectors() {
    let zone = "svcb.test.";
    let Some(bind) = Bind::start(
        "svcb_served::bind_serves_the_rfc9460_vectors",
        &[BindZone::relaxed(zone)],
    ) else {
        return;
    };
    let secret_file = bind.dir().join("zonekeeper.secret");
    std::fs::write(&secret_file, &bind.secret).expect("write secret");
    let settings = Rfc2136Settings {
        server: bind.server(),
        tsig: TsigSettings {
            name: KEY_NAME.into(),
            algorithm: Default::default(),
            secret: SecretRef::File(secret_file.clone()),
        },
        zones: vec![n(zone)],
        guard: false,
        timeout: zonekeeper::input::HumanDuration::from_secs(10),
    };
    let secret = SecretRef::File(secret_file).resolve().expect("secret");
    let p = Rfc2136Provider::new("bind", &settings, &secret).expect("a valid TSIG key");
    let o = n(zone);
    // The fresh zone's apex NS is BIND's; leave it as the suite does.
    let live = p.read_zone(&o).await.expect("read");
    let mut want = desired(&o, false);
    for (k, s) in &live.zone.rrsets {
        want.put(k.clone(), s.clone());
    }
    sync(&p, &want).await;
    check_served(&o, |name, rtype| {
        bind.dig(&["+short", "+unknownformat", "+norecurse", name, rtype])
    });
}

/// `powerdns::svcb_unstorable` says exactly which values PowerDNS 4.7 cannot hold: each
/// value is written alone; the flagged ones are refused or come back as other octets, the
/// others are stored and read back equal.
#[tokio::test]
async fn powerdns_gaps_are_exactly_the_declared_svcb_values() {
    let Some(server) =
        Pdns::start("svcb_served::powerdns_gaps_are_exactly_the_declared_svcb_values")
    else {
        return;
    };
    let p = server.provider("pdns", server.settings(true));
    let o = n("gaps.test.");
    let values = [
        r"1 . alpn=a\032b,h2",
        r"1 . alpn=a{b}~,h2",
        r"1 . alpn=a\\\\b",
        r#"1 . key65000="a b\210\000""#,
        r#"1 . key65000="a\\b""#,
        r#"1 . key65000="""#,
        r"1 . alpn=a\001b",
        r"1 . alpn=a\210b",
        r#"1 . alpn=a\"b"#,
        r"1 . alpn=a\;b",
        r"1 . alpn=a\(b",
        r#"1 . key65000="a\"b""#,
        r#"1 . key65000="a;b""#,
        r#"1 . key65000="(x)""#,
    ];
    let mut flagged = 0;
    for (i, text) in values.iter().enumerate() {
        let value = svcb(text);
        let declared = zonekeeper::provider::powerdns::svcb_unstorable(&value);
        let mut z = Z::new(&o).rr("@", 3600, vec![ns("ns1.example.net.")]);
        z = z.rr(&format!("v{i}"), 300, vec![value.clone()]);
        let desired = z.0;
        let live = p.read_zone(&o).await.expect("read");
        let zp = plan_zone(&PlanInput {
            processors: &Default::default(),
            target: p.name(),
            desired: &desired,
            live: &live.zone,
            live_exists: live.exists,
            unmanaged: &|_: &RrKey| false,
            caps: p.capabilities(),
            normalize: &|k, s| p.normalize(k, s),
            policy: Policy::Sync,
            thresholds: Thresholds::default(),
            last_apply: None,
        });
        let report = apply_zone_plan(&p, &zp, &live, &ApplyOptions::default()).await;
        let again = p.read_zone(&o).await.expect("re-read");
        let key = RrKey::new(n(&format!("v{i}.{o}")), value.rtype());
        let stored = report.all_ok() && again.zone.get(&key) == desired.get(&key);
        assert_eq!(
            stored,
            declared.is_none(),
            "{text}: declared {declared:?}, stored {stored}: {:?}",
            report.failed().collect::<Vec<_>>()
        );
        flagged += usize::from(declared.is_some());
    }
    assert_eq!(flagged, 7);
}
