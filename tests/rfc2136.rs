//! The `rfc2136` provider against a real BIND 9 on loopback: TSIG failures, AXFR after apply
//! as `dig` sees it, refusals isolated by bisection, guards, and batches split to fit 64 KiB.
//!
//! Each test starts its own `named` (about 0.2 s) so they can run in parallel. Without BIND
//! installed they print a skip, unless `ZONEKEEPER_REQUIRE_SERVERS=1`.

mod support;

use support::bind::{Bind, BindZone, KEY_NAME};
use zonekeeper::apply::{apply_zone_plan, ApplyOptions, ApplyReport};
use zonekeeper::config::SecretRef;
use zonekeeper::model::rdata::{Loc, Txt, Uri};
use zonekeeper::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};
use zonekeeper::plan::{plan_zone, PlanInput, Policy, Thresholds, ZonePlan};
use zonekeeper::provider::rfc2136::{Rfc2136Provider, Rfc2136Settings, TsigSettings};
use zonekeeper::provider::zonefile::parse_text;
use zonekeeper::provider::{ErrorKind, Provider};
use zonekeeper::retry::RetryPolicy;

fn n(s: &str) -> Fqdn {
    Fqdn::parse(s).unwrap()
}

/// A provider for `bind` whose TSIG secret (written to a file) is `secret`.
fn provider(bind: &Bind, secret: &str, guard: bool) -> Rfc2136Provider {
    let path = bind
        .dir()
        .join(format!("secret-{}", secret.len() + guard as usize));
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    let settings = Rfc2136Settings {
        server: bind.server(),
        tsig: TsigSettings {
            name: KEY_NAME.into(),
            algorithm: Default::default(),
            secret: SecretRef::File(path.clone()),
        },
        zones: vec![],
        guard,
        timeout: zonekeeper::input::HumanDuration::from_secs(10),
    };
    let secret = SecretRef::File(path).resolve().unwrap();
    Rfc2136Provider::new("bind", &settings, &secret).expect("a valid TSIG key")
}

fn plan(p: &dyn Provider, desired: &Zone, live: &Zone) -> ZonePlan {
    plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "bind",
        desired,
        live,
        live_exists: true,
        unmanaged: &|_| false,
        caps: p.capabilities(),
        normalize: &|k, s| p.normalize(k, s),
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    })
}

fn quick() -> ApplyOptions {
    ApplyOptions::new(RetryPolicy {
        retries: 1,
        min_delay: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(20),
        ..RetryPolicy::default()
    })
}

/// Reads, plans and applies `desired`.
async fn sync(p: &Rfc2136Provider, desired: &Zone) -> ApplyReport {
    let live = p.read_zone(&desired.origin).await.expect("AXFR");
    let zp = plan(p, desired, &live.zone);
    apply_zone_plan(p, &zp, &live, &quick()).await
}

/// The zone as `dig -k ... AXFR` shows it, in the model (SOA left out).
fn dig_zone(bind: &Bind, zone: &str) -> Zone {
    let text = bind.axfr_text(zone);
    parse_text(&text, &n(zone)).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn zone_from(origin: &str, text: &str) -> Zone {
    parse_text(&format!("$ORIGIN {origin}.\n$TTL 300\n{text}"), &n(origin)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_tsig_secret_is_an_auth_error_and_nothing_is_written() {
    let Some(bind) = Bind::start("wrong_tsig_secret", &[BindZone::relaxed("auth.test")]) else {
        return;
    };
    // A well-formed key with the wrong secret.
    let p = provider(&bind, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false);
    let err = p.read_zone(&n("auth.test")).await.unwrap_err();
    eprintln!("wrong secret: {err}");
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.message.contains("TSIG"), "{err}");
    assert!(
        !err.message.contains("AAAAAAAA"),
        "the secret leaked: {err}"
    );

    let desired = zone_from("auth.test", "www A 192.0.2.1\n");
    let zp = plan(&p, &desired, &Zone::new(n("auth.test")));
    let observed = zonekeeper::provider::Observed::present(Zone::new(n("auth.test")));
    let report = apply_zone_plan(&p, &zp, &observed, &quick()).await;
    assert_eq!(report.results.len(), 1);
    let e = report.results[0].1.as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(report.calls, 1, "an auth failure is not retried");
    let live = dig_zone(&bind, "auth.test");
    assert!(
        live.get(&RrKey::new(n("www.auth.test"), RecordType::A))
            .is_none(),
        "a record was written with a wrong key"
    );
}

/// Every type zonekeeper manages on BIND, with the apex NS replaced.
fn all_types() -> Zone {
    let mut z = zone_from(
        "axfr.test",
        r#"@ 3600 NS ns1.example.net.
@ 3600 NS ns3.example.net.
@ MX 10 mail.example.net.
@ MX 20 mail2.example.net.
@ TXT "v=spf1 -all"
@ CAA 0 issue "letsencrypt.org"
www 60 A 192.0.2.1
www 60 A 192.0.2.2
www AAAA 2001:db8::1
alias CNAME www.axfr.test.
long TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "bbbb"
_sip._tcp SRV 10 5 5060 sip.example.net.
naptr NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.net.
sshfp SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ptr PTR host.example.net.
dname DNAME example.net.
sub NS ns.example.net.
sub DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"#,
    );
    z.put(
        RrKey::new(n("spf.axfr.test"), RecordType::SPF),
        RrSet::new(
            300,
            vec![RData::Spf(Txt(b"v=spf1 include:example.net -all".to_vec()))],
        ),
    );
    z.put(
        RrKey::new(n("_ftp._tcp.axfr.test"), RecordType::URI),
        RrSet::new(
            300,
            vec![RData::Uri(Uri {
                priority: 10,
                weight: 1,
                target: b"ftp://ftp.example.net/public".to_vec(),
            })],
        ),
    );
    z.put(
        RrKey::new(n("loc.axfr.test"), RecordType::LOC),
        RrSet::new(
            300,
            vec![RData::Loc(Box::new(Loc {
                lat_degrees: 52,
                lat_minutes: 22,
                lat_millis: 23_000,
                lat_direction: 'N',
                long_degrees: 4,
                long_minutes: 53,
                long_millis: 32_000,
                long_direction: 'E',
                altitude_cm: -200,
                size_cm: 100,
                precision_horz_cm: 1_000_000,
                precision_vert_cm: 1000,
            }))],
        ),
    );
    z
}

#[tokio::test(flavor = "multi_thread")]
async fn axfr_after_apply_shows_exactly_the_desired_records() {
    let Some(bind) = Bind::start("axfr_after_apply", &[BindZone::relaxed("axfr.test")]) else {
        return;
    };
    let p = provider(&bind, &bind.secret, false);
    let desired = all_types();
    let report = sync(&p, &desired).await;
    let failed: Vec<_> = report.failed().collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(p.messages_sent(), 2, "one AXFR and one UPDATE");

    // What `dig -k` transfers is exactly the manifest (the SOA is the server's).
    assert_eq!(dig_zone(&bind, "axfr.test"), desired);
    // Our own AXFR agrees, so the next plan is empty.
    let live = p.read_zone(&n("axfr.test")).await.unwrap();
    assert!(live.exists);
    assert!(plan(&p, &desired, &live.zone).changes.is_empty());

    // Updates and deletes (TTL-only change, value change, CNAME -> A, deletion).
    let mut next = desired.clone();
    next.put(
        RrKey::new(n("www.axfr.test"), RecordType::A),
        RrSet::new(120, vec![RData::A("192.0.2.1".parse().unwrap())]),
    );
    next.remove(&RrKey::new(n("alias.axfr.test"), RecordType::CNAME));
    next.put(
        RrKey::new(n("alias.axfr.test"), RecordType::A),
        RrSet::new(300, vec![RData::A("192.0.2.7".parse().unwrap())]),
    );
    next.remove(&RrKey::new(n("ptr.axfr.test"), RecordType::PTR));
    let report = sync(&p, &next).await;
    assert!(report.all_ok(), "{:#?}", report.results);
    assert_eq!(dig_zone(&bind, "axfr.test"), next);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_zone_reads_as_absent() {
    let Some(bind) = Bind::start("missing_zone", &[BindZone::relaxed("here.test")]) else {
        return;
    };
    let p = provider(&bind, &bind.secret, false);
    let live = p.read_zone(&n("elsewhere.test")).await.unwrap();
    assert!(!live.exists);
    let live = p.read_zone(&n("here.test")).await.unwrap();
    assert!(live.exists);
    // Only the apex NS: the SOA is never part of the model.
    assert_eq!(live.zone.rrsets.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_change_does_not_lose_the_rest() {
    // BIND's defaults: check-names refuses an A record at `_bad`, check-integrity an MX
    // whose in-zone target has no address.
    let Some(bind) = Bind::start("refused_change", &[BindZone::strict("strict.test")]) else {
        return;
    };
    let p = provider(&bind, &bind.secret, false);
    let mut desired = zone_from(
        "strict.test",
        "ok1 A 192.0.2.1\nok2 A 192.0.2.2\n_bad A 192.0.2.3\nmx MX 10 nohost.strict.test.\nok3 TXT \"fine\"\n",
    );
    desired.put(
        RrKey::new(n("strict.test"), RecordType::NS),
        RrSet::new(
            3600,
            vec![
                RData::Ns(n("ns1.example.net")),
                RData::Ns(n("ns2.example.net")),
            ],
        ),
    );
    let report = sync(&p, &desired).await;
    let bad: Vec<String> = report
        .failed()
        .map(|(c, o)| format!("{} {}", c.key(), o.as_ref().unwrap_err()))
        .collect();
    assert_eq!(report.ok_count(), 3, "{bad:#?}");
    assert_eq!(bad.len(), 2, "{bad:#?}");
    for (c, o) in report.failed() {
        let e = o.as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected, "{}: {e}", c.key());
        eprintln!("refused as expected: {}: {e}", c.key());
        assert!(e.message.contains("REFUSED"), "{e}");
    }
    let live = dig_zone(&bind, "strict.test");
    for ok in ["ok1", "ok2"] {
        assert!(live
            .get(&RrKey::new(n(&format!("{ok}.strict.test")), RecordType::A))
            .is_some());
    }
    assert!(live
        .get(&RrKey::new(n("ok3.strict.test"), RecordType::TXT))
        .is_some());
    assert!(live
        .get(&RrKey::new(n("_bad.strict.test"), RecordType::A))
        .is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn guard_refuses_to_overwrite_a_concurrent_edit() {
    let Some(bind) = Bind::start("guard", &[BindZone::relaxed("guard.test")]) else {
        return;
    };
    let p = provider(&bind, &bind.secret, true);
    let mut desired = zone_from("guard.test", "www A 192.0.2.1\n");
    desired.put(
        RrKey::new(n("guard.test"), RecordType::NS),
        RrSet::new(
            3600,
            vec![
                RData::Ns(n("ns1.example.net")),
                RData::Ns(n("ns2.example.net")),
            ],
        ),
    );
    assert!(sync(&p, &desired).await.all_ok());

    // Plan a change from what was read, then someone else edits the RRset (and creates one
    // the plan is about to create) before it is applied.
    let live = p.read_zone(&n("guard.test")).await.unwrap();
    let mut next = desired.clone();
    next.put(
        RrKey::new(n("www.guard.test"), RecordType::A),
        RrSet::new(300, vec![RData::A("192.0.2.50".parse().unwrap())]),
    );
    next.put(
        RrKey::new(n("new.guard.test"), RecordType::A),
        RrSet::new(300, vec![RData::A("192.0.2.60".parse().unwrap())]),
    );
    let zp = plan(&p, &next, &live.zone);
    assert_eq!(zp.changes.len(), 2);
    let out = bind.nsupdate(
        "update delete www.guard.test. A\nupdate add www.guard.test. 300 A 192.0.2.99\n\
         update add new.guard.test. 300 A 192.0.2.98\n",
    );
    assert!(out.status.success(), "{out:?}");
    let report = apply_zone_plan(&p, &zp, &live, &quick()).await;
    for (c, o) in &report.results {
        let e = o.as_ref().expect_err("the guard must fail");
        assert_eq!(e.kind, ErrorKind::Conflict, "{}: {e}", c.key());
    }
    // The concurrent edit survived.
    let live = dig_zone(&bind, "guard.test");
    assert_eq!(
        live.get(&RrKey::new(n("www.guard.test"), RecordType::A))
            .unwrap()
            .values(),
        &[RData::A("192.0.2.99".parse().unwrap())]
    );

    // Without a concurrent edit the guarded update goes through.
    let live = p.read_zone(&n("guard.test")).await.unwrap();
    let report = sync(&p, &next).await;
    assert!(report.all_ok(), "{:#?}", report.results);
    assert_ne!(live.zone, next);
    assert_eq!(dig_zone(&bind, "guard.test"), next);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_too_big_for_one_message_are_split() {
    let Some(bind) = Bind::start("big_batches", &[BindZone::relaxed("big.test")]) else {
        return;
    };
    let p = provider(&bind, &bind.secret, false);
    let mut desired = Zone::new(n("big.test"));
    desired.put(
        RrKey::new(n("big.test"), RecordType::NS),
        RrSet::new(
            3600,
            vec![
                RData::Ns(n("ns1.example.net")),
                RData::Ns(n("ns2.example.net")),
            ],
        ),
    );
    // 100 RRsets of 2,000 bytes: about 200 KB, at least four UPDATE messages.
    for i in 0..100 {
        desired.put(
            RrKey::new(n(&format!("t{i}.big.test")), RecordType::TXT),
            RrSet::new(300, vec![RData::Txt(Txt(vec![b'x'; 2000]))]),
        );
    }
    let before = p.messages_sent();
    let report = sync(&p, &desired).await;
    assert!(report.all_ok(), "{:#?}", report.failed().next());
    let sent = p.messages_sent() - before - 1;
    assert!((4..=8).contains(&sent), "{sent} UPDATE messages");
    assert!(
        report.calls > sent,
        "oversized batches are refused before sending"
    );
    assert_eq!(dig_zone(&bind, "big.test"), desired);
}

/// A zone with the BIND test zones' apex NS plus `count` A records (`h<i>`, last octet `v`).
fn bench_zone(origin: &str, count: usize, v: u8) -> Zone {
    let mut z = Zone::new(n(origin));
    z.put(
        RrKey::new(n(origin), RecordType::NS),
        RrSet::new(
            3600,
            vec![
                RData::Ns(n("ns1.example.net")),
                RData::Ns(n("ns2.example.net")),
            ],
        ),
    );
    for i in 0..count {
        z.put(
            RrKey::new(n(&format!("h{i}.{origin}")), RecordType::A),
            RrSet::new(
                300,
                vec![RData::A(std::net::Ipv4Addr::new(
                    10,
                    (i / 256) as u8,
                    (i % 256) as u8,
                    v,
                ))],
            ),
        );
    }
    z
}

/// Benchmark (release build; `scripts/bench-rfc2136.sh` runs it): apply N creates and then
/// N updates through the provider, and send the same N additions with `nsupdate` in one
/// message. Prints one `BENCH` line per measurement.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with scripts/bench-rfc2136.sh"]
async fn bench_apply() {
    let sizes: Vec<usize> = std::env::var("ZK_BENCH_CHANGES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for count in sizes {
        let zk = format!("zk{count}.bench");
        let ns = format!("ns{count}.bench");
        let Some(bind) = Bind::start(
            "bench_apply",
            &[BindZone::relaxed(&zk), BindZone::relaxed(&ns)],
        ) else {
            return;
        };
        let p = provider(&bind, &bind.secret, false);
        for (what, v) in [("create", 1u8), ("update", 2u8)] {
            let desired = bench_zone(&zk, count, v);
            let live = p.read_zone(&n(&zk)).await.unwrap();
            let zp = plan(&p, &desired, &live.zone);
            assert_eq!(zp.changes.len(), count);
            let before = p.messages_sent();
            let t = std::time::Instant::now();
            let report = apply_zone_plan(&p, &zp, &live, &ApplyOptions::default()).await;
            let wall = t.elapsed();
            assert!(report.all_ok(), "{:?}", report.failed().next());
            println!(
                "BENCH zonekeeper {what} changes={count} messages={} calls={} wall_ms={}",
                p.messages_sent() - before,
                report.calls,
                wall.as_millis()
            );
            assert_eq!(dig_zone(&bind, &zk), desired);
        }
        // nsupdate: the same additions, one `send` (one UPDATE message).
        let script: String = (0..count)
            .map(|i| format!("update add h{i}.{ns}. 300 A 10.{}.{}.1\n", i / 256, i % 256))
            .collect();
        let t = std::time::Instant::now();
        let out = bind.nsupdate(&script);
        let wall = t.elapsed();
        let added = dig_zone(&bind, &ns).rrsets.len() - 1;
        println!(
            "BENCH nsupdate create changes={count} messages=1 ok={} applied={added} wall_ms={} {}",
            out.status.success(),
            wall.as_millis(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        );
        if count > 1000 {
            // One message cannot hold them (nsupdate: "ran out of space"): one nsupdate
            // session sending every 1,000 additions instead.
            let chunked: String = script
                .lines()
                .enumerate()
                .map(|(i, l)| match i % 1000 {
                    999 => format!("{l}\nsend\n"),
                    _ => format!("{l}\n"),
                })
                .collect();
            let t = std::time::Instant::now();
            let out = bind.nsupdate(&chunked);
            let wall = t.elapsed();
            let added = dig_zone(&bind, &ns).rrsets.len() - 1;
            println!(
                "BENCH nsupdate create-per-1000 changes={count} messages={} ok={} applied={added} wall_ms={}",
                count.div_ceil(1000),
                out.status.success(),
                wall.as_millis()
            );
        }
    }
}

#[test]
fn config_keys_and_relative_secret_files() {
    use zonekeeper::config::Config;
    use zonekeeper::provider::registry::AnySettings;
    use zonekeeper::provider::rfc2136::TsigAlgorithm;
    let text = "providers:\n  bind:\n    type: rfc2136\n    server: 127.0.0.1:5353\n    tsig:\n      name: zk\n      algorithm: hmac-sha512\n      secret: file:keys/tsig\n    zones: [example.com]\n    guard: true\nzones:\n  example.com:\n    targets: [bind]\n";
    let c = Config::parse(text, std::path::Path::new("/etc/zk/zonekeeper.yaml")).unwrap();
    let AnySettings::Rfc2136(s) = &c.providers["bind"].settings else {
        panic!("not rfc2136")
    };
    assert_eq!(
        s.tsig.secret,
        SecretRef::File("/etc/zk/keys/tsig".into()),
        "relative to the config file"
    );
    assert_eq!(s.tsig.algorithm, TsigAlgorithm::HmacSha512);
    assert!(s.guard);
    // A literal secret, an unknown algorithm and a bad zone name are configuration errors.
    for bad in [
        text.replace("file:keys/tsig", "c2VjcmV0c2VjcmV0"),
        text.replace("hmac-sha512", "hmac-md5"),
        text.replace("zones: [example.com]", "zones: [\"bad..name\"]"),
    ] {
        let e = Config::parse(&bad, std::path::Path::new("z.yaml")).unwrap_err();
        assert!(
            !e.to_string().contains("c2VjcmV0c2Vj"),
            "secret echoed: {e}"
        );
    }
}
