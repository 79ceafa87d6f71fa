//! Planner tests: ordering, policies, thresholds, ignore rules, fit, hash stability.

use super::*;
use crate::model::{CanonicalSet, RData, RrSet};

fn n(s: &str) -> Fqdn {
    Fqdn::parse(s).unwrap()
}

fn a(name: &str, ip: [u8; 4], ttl: u32) -> (RrKey, RrSet) {
    (
        RrKey::new(n(name), RecordType::A),
        RrSet::new(ttl, vec![RData::A(ip.into())]),
    )
}

fn zone(recs: Vec<(RrKey, RrSet)>) -> Zone {
    let mut z = Zone::new(n("example.com"));
    for (k, s) in recs {
        z.put(k, s);
    }
    z
}

fn plan_with(
    desired: &Zone,
    live: &Zone,
    policy: Policy,
    unmanaged: &dyn Fn(&RrKey) -> bool,
) -> ZonePlan {
    plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "t",
        desired,
        live,
        live_exists: true,
        unmanaged,
        caps: &Capabilities::everything(),
        normalize: &|_, _| None,
        policy,
        thresholds: Thresholds::default(),
        last_apply: None,
    })
}

#[test]
fn plan_of_equal_zones_is_empty() {
    let z = zone(vec![a("www.example.com", [1, 2, 3, 4], 60)]);
    assert!(plan_with(&z, &z, Policy::Sync, &|_| false).is_empty());
}

#[test]
fn deletes_come_first_and_ns_before_ds() {
    let live = zone(vec![(
        RrKey::new(n("www.example.com"), RecordType::CNAME),
        RrSet::new(60, vec![RData::Cname(n("x.net"))]),
    )]);
    let ds = crate::model::rdata::Ds {
        key_tag: 1,
        algorithm: 13,
        digest_type: 2,
        digest: "ab".into(),
    };
    let desired = zone(vec![
        a("www.example.com", [1, 2, 3, 4], 60),
        (
            RrKey::new(n("child.example.com"), RecordType::DS),
            RrSet::new(60, vec![RData::Ds(ds)]),
        ),
        (
            RrKey::new(n("child.example.com"), RecordType::NS),
            RrSet::new(60, vec![RData::Ns(n("ns.child.example.com"))]),
        ),
    ]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    let ops: Vec<(Op, RecordType)> = p.changes.iter().map(|c| (c.op(), c.key().rtype)).collect();
    assert_eq!(ops[0], (Op::Delete, RecordType::CNAME));
    let ns = ops.iter().position(|o| o.1 == RecordType::NS).unwrap();
    let ds = ops.iter().position(|o| o.1 == RecordType::DS).unwrap();
    assert!(ns < ds, "{ops:?}");
}

#[test]
fn upsert_only_never_deletes_and_warn_never_writes() {
    let live = zone(vec![a("old.example.com", [1, 1, 1, 1], 60)]);
    let desired = zone(vec![a("new.example.com", [2, 2, 2, 2], 60)]);
    let p = plan_with(&desired, &live, Policy::UpsertOnly, &|_| false);
    assert_eq!(p.count(Op::Delete), 0);
    assert_eq!(p.count(Op::Create), 1);
    assert_eq!(p.skipped.len(), 1);
    let w = plan_with(&desired, &live, Policy::Warn, &|_| false);
    assert_eq!(w.changes.len(), 2);
    assert!(!w.writes());
}

#[test]
fn ignored_keys_are_left_alone() {
    let live = zone(vec![a("_acme-challenge.example.com", [1, 1, 1, 1], 60)]);
    let desired = zone(vec![a("www.example.com", [2, 2, 2, 2], 60)]);
    let rules = IgnoreSet::new(&[IgnoreRule {
        name: "_acme-challenge*".into(),
        rtype: None,
    }])
    .unwrap();
    let origin = n("example.com");
    let p = plan_with(&desired, &live, Policy::Sync, &|k| {
        rules.matches(&origin, k)
    });
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].op(), Op::Create);
}

#[test]
fn thresholds_and_root_ns() {
    let live = zone(
        (0..10)
            .map(|i| a(&format!("h{i}.example.com"), [1, 1, 1, i], 60))
            .collect(),
    );
    let desired = zone(
        (0..6)
            .map(|i| a(&format!("h{i}.example.com"), [1, 1, 1, i], 60))
            .collect(),
    );
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert_eq!(p.unsafe_reasons.len(), 1, "{:?}", p.unsafe_reasons);
    assert!(matches!(
        p.unsafe_reasons[0],
        crate::plan::UnsafeReason::TooMany {
            op: Op::Delete,
            count: 4,
            existing: 10,
            ..
        }
    ));
    assert!(p.unsafe_reasons[0]
        .to_string()
        .contains("too many deletes: 4 of 10"));
    // 3 of 10 is exactly 30%: allowed (octoDNS uses a strict "over").
    let desired = zone(
        (0..7)
            .map(|i| a(&format!("h{i}.example.com"), [1, 1, 1, i], 60))
            .collect(),
    );
    assert!(plan_with(&desired, &live, Policy::Sync, &|_| false)
        .unsafe_reasons
        .is_empty());
    // Small zones are never held back by the percentages.
    let small = zone(vec![a("x.example.com", [1, 1, 1, 1], 60)]);
    let other = zone(vec![a("y.example.com", [1, 1, 1, 2], 60)]);
    assert!(plan_with(&other, &small, Policy::Sync, &|_| false)
        .unsafe_reasons
        .is_empty());
    let ns = |t: &str| {
        (
            RrKey::new(n("example.com"), RecordType::NS),
            RrSet::new(60, vec![RData::Ns(n(t))]),
        )
    };
    let p = plan_with(
        &zone(vec![ns("b.net")]),
        &zone(vec![ns("a.net")]),
        Policy::Sync,
        &|_| false,
    );
    assert!(p
        .unsafe_reasons
        .contains(&crate::plan::UnsafeReason::ApexNs));
    let p = plan_with(
        &zone(vec![ns("b.net")]),
        &Zone::new(n("example.com")),
        Policy::Sync,
        &|_| false,
    );
    assert!(
        p.unsafe_reasons.is_empty(),
        "creating the apex NS of a new zone is safe"
    );
}

#[test]
fn fit_skips_unsupported_types_and_clamps_ttl() {
    let mut caps = Capabilities::everything();
    caps.types.remove(&RecordType::ALIAS);
    caps.ttl_min = 300;
    let desired = zone(vec![
        a("www.example.com", [1, 2, 3, 4], 60),
        (
            RrKey::new(n("example.com"), RecordType::ALIAS),
            RrSet::new(60, vec![RData::Alias(n("x.net"))]),
        ),
    ]);
    let p = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "t",
        desired: &desired,
        live: &Zone::new(n("example.com")),
        live_exists: true,
        unmanaged: &|_| false,
        caps: &caps,
        normalize: &|_, _| None,
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    });
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].new_set().unwrap().ttl, 300);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.adjustments.len(), 1);
}

/// URLFWD and `Route53Provider/ALIAS` (octoDNS types no target here stores) are skipped
/// with the reason on every target, the rest of the zone planned.
#[test]
fn types_no_target_stores_are_skipped_with_the_reason() {
    let caps = Capabilities::everything();
    let foreign = |t| {
        (
            RrKey::new(n("go.example.com"), t),
            RrSet::new(
                60,
                vec![RData::Foreign(t, Box::new(crate::model::ExtValue::Null))],
            ),
        )
    };
    let desired = zone(vec![
        a("www.example.com", [1, 2, 3, 4], 60),
        foreign(RecordType::URLFWD),
        foreign(RecordType::Route53Alias),
    ]);
    let p = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "t",
        desired: &desired,
        live: &Zone::new(n("example.com")),
        live_exists: true,
        unmanaged: &|_| false,
        caps: &caps,
        normalize: &|_, _| None,
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    });
    assert_eq!(p.changes.len(), 1);
    let reasons: Vec<&str> = p.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "the target cannot store URLFWD records",
            "the target cannot store Route53Provider/ALIAS records"
        ]
    );
}

#[test]
fn hash_is_stable_and_sensitive() {
    let live = Zone::new(n("example.com"));
    let d1 = zone(vec![a("www.example.com", [1, 2, 3, 4], 60)]);
    let d2 = zone(vec![a("www.example.com", [1, 2, 3, 5], 60)]);
    let p1 = Plan {
        zones: vec![plan_with(&d1, &live, Policy::Sync, &|_| false)],
        ..Plan::default()
    };
    let p1b = Plan {
        zones: vec![plan_with(&d1, &live, Policy::Sync, &|_| false)],
        ..Plan::default()
    };
    let p2 = Plan {
        zones: vec![plan_with(&d2, &live, Policy::Sync, &|_| false)],
        ..Plan::default()
    };
    assert_eq!(p1.hash(), p1b.hash());
    assert_ne!(p1.hash(), p2.hash());
    assert_eq!(p1.hash().len(), 64);

    // Domain plans count only when they change something.
    let mut with_domain = p1.clone();
    let mut dp = crate::plan::plan_domain(
        &n("example.com"),
        "registry",
        &crate::model::DomainSettings::default(),
        &crate::model::DomainSettings::default(),
        &crate::plan::RegistrarCaps::EVERYTHING,
    );
    with_domain.domains.push(dp.clone());
    assert_eq!(with_domain.hash(), p1.hash());
    assert!(!with_domain.is_empty());
    dp.changes.push(crate::plan::DomainChange::Lock {
        old: false,
        new: true,
    });
    with_domain.domains = vec![dp];
    assert_ne!(with_domain.hash(), p1.hash());
    assert_eq!(with_domain.change_count(), p1.change_count() + 1);
}

/// The hash is SHA-256 over exactly these lines: a change to how they are written (one
/// buffer for all changes, values written without intermediate strings) must not move it.
#[test]
fn hash_is_sha256_of_the_canonical_lines() {
    use sha2::{Digest, Sha256};
    let live = zone(vec![a("old.example.com", [192, 0, 2, 9], 60)]);
    let two = RrSet::new(
        300,
        vec![
            RData::A([192, 0, 2, 1].into()),
            RData::A([192, 0, 2, 2].into()),
        ],
    )
    .with_ext(proxied(true));
    let desired = zone(vec![(RrKey::new(n("www.example.com"), RecordType::A), two)]);
    let p = Plan {
        zones: vec![plan_with(&desired, &live, Policy::Sync, &|_| false)],
        ..Plan::default()
    };
    let lines = "zone example.com. target t\n\
                 delete old.example.com. A 60 [192.0.2.9] => -\n\
                 create www.example.com. A - => 300 [192.0.2.1 | 192.0.2.2] {\"proxied\":true}\n";
    assert_eq!(p.hash(), hex::encode(Sha256::digest(lines.as_bytes())));
    let mut json = Vec::new();
    render::json(&p, &mut json).unwrap();
    let json = String::from_utf8(json).unwrap();
    assert!(
        json.contains("\"values\": [\n              \"192.0.2.1\",\n              \"192.0.2.2\"\n            ]"),
        "{json}"
    );
}

#[test]
fn live_apex_ns_is_left_alone_unless_the_manifest_declares_it() {
    let ns = (
        RrKey::new(n("example.com"), RecordType::NS),
        RrSet::new(60, vec![RData::Ns(n("ns1.example.net"))]),
    );
    let live = zone(vec![ns, a("www.example.com", [1, 1, 1, 1], 60)]);
    let desired = zone(vec![a("www.example.com", [2, 2, 2, 2], 60)]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(p.changes[0].op(), Op::Update);
    assert!(p.unsafe_reasons.is_empty(), "{:?}", p.unsafe_reasons);
}

#[test]
fn an_empty_desired_zone_never_empties_a_live_one_silently() {
    let live = zone(vec![a("www.example.com", [1, 1, 1, 1], 60)]);
    let p = plan_with(&Zone::new(n("example.com")), &live, Policy::Sync, &|_| {
        false
    });
    assert_eq!(p.count(Op::Delete), 1);
    assert!(
        p.unsafe_reasons
            .iter()
            .any(|r| r.to_string().contains("no records for this target")),
        "{:?}",
        p.unsafe_reasons
    );
}

#[test]
fn a_missing_zone_on_a_target_that_cannot_create_it_is_a_skipped_target() {
    let desired = zone(vec![a("www.example.com", [1, 2, 3, 4], 60)]);
    let live = Zone::new(n("example.com"));
    let plan_on = |creates_zones: bool, live_exists: bool| {
        plan_zone(&PlanInput {
            processors: &Default::default(),
            target: "t",
            desired: &desired,
            live: &live,
            live_exists,
            unmanaged: &|_| false,
            normalize: &|_, _| None,
            caps: &Capabilities {
                creates_zones,
                ..Capabilities::everything()
            },
            policy: Policy::Sync,
            thresholds: Thresholds::default(),
            last_apply: None,
        })
    };
    let blocked = plan_on(false, false);
    assert_eq!(blocked.blocked, Some(BlockReason::ZoneMissing));
    assert!(!blocked.writes());
    assert_eq!(
        blocked.changes.len(),
        1,
        "what the zone would get is still shown"
    );
    assert_eq!(plan_on(true, false).blocked, None);
    assert!(plan_on(true, false).writes());
    assert_eq!(plan_on(false, true).blocked, None);

    // Every format says so.
    let plan = Plan {
        zones: vec![blocked],
        ..Plan::default()
    };
    let text = render::text(&plan, false);
    assert!(
        text.contains("SKIPPED (target not written): the zone does not exist on the target"),
        "{text}"
    );
    let md = render::markdown(&plan, 65536);
    assert!(
        md.contains("SKIPPED") && md.contains("# target skipped (zone-missing)"),
        "{md}"
    );
    let mut out = Vec::new();
    render::json(&plan, &mut out).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["zones"][0]["blocked"]["reason"], "zone-missing");
    assert!(doc["zones"][0]["blocked"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot create zones"));
    let unblocked = Plan {
        zones: vec![plan_on(true, false)],
        ..Plan::default()
    };
    let mut out = Vec::new();
    render::json(&unblocked, &mut out).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(doc["zones"][0]["blocked"].is_null());
    // A hash reviewed while blocked does not authorise the write once unblocked.
    assert_ne!(plan.hash(), unblocked.hash());
}

// ---- provider record settings ---------------------------------------------------------

fn proxied(on: bool) -> Option<std::sync::Arc<crate::model::RecordExt>> {
    Some(std::sync::Arc::new(
        crate::model::RecordExt::new().with("proxied", crate::model::ExtValue::Bool(on)),
    ))
}

fn www_with(ext: Option<std::sync::Arc<crate::model::RecordExt>>) -> Zone {
    let (k, s) = a("www.example.com", [192, 0, 2, 1], 300);
    zone(vec![(k, s.with_ext(ext))])
}

#[test]
fn a_settings_change_is_an_update_and_equal_settings_are_no_change() {
    let on = www_with(proxied(true));
    let off = www_with(proxied(false));
    let none = www_with(None);
    assert!(plan_with(&on, &www_with(proxied(true)), Policy::Sync, &|_| false).is_empty());
    for (desired, live) in [(&on, &off), (&on, &none), (&none, &on)] {
        let p = plan_with(desired, live, Policy::Sync, &|_| false);
        assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
        assert_eq!(p.count(Op::Update), 1);
        let Change::Update { old, new, .. } = &p.changes[0] else {
            unreachable!("counted one update")
        };
        assert_eq!(old.values(), new.values());
        assert_eq!(new.ext(), desired.rrsets.values().next().unwrap().ext());
    }
    // An empty block is no settings at all.
    let empty = www_with(Some(std::sync::Arc::new(crate::model::RecordExt::new())));
    assert!(plan_with(&empty, &none, Policy::Sync, &|_| false).is_empty());
}

#[test]
fn normalize_runs_in_fit_and_its_notes_are_adjustments() {
    let desired = www_with(proxied(true));
    let live = www_with(None);
    // A target that stores no settings drops them with a note: nothing to change.
    let drop = |k: &RrKey, s: &mut RrSet| {
        s.ext()?;
        s.set_ext(None);
        Some(format!("{k}: powerdns stores no per-record settings"))
    };
    let p = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "t",
        desired: &desired,
        live: &live,
        live_exists: true,
        unmanaged: &|_| false,
        caps: &Capabilities::everything(),
        normalize: &drop,
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    });
    assert!(p.is_empty(), "{:?}", p.changes);
    assert_eq!(
        p.adjustments,
        vec!["www.example.com. A: powerdns stores no per-record settings".to_string()]
    );
    // A normalisation that changes values (here: TTL) is planned against live.
    let bump = |_: &RrKey, s: &mut RrSet| {
        s.ttl = 1;
        None
    };
    let p = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: "t",
        desired: &desired,
        live: &www_with(proxied(true)),
        live_exists: true,
        unmanaged: &|_| false,
        caps: &Capabilities::everything(),
        normalize: &bump,
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    });
    assert_eq!(p.count(Op::Update), 1);
    assert_eq!(p.changes[0].new_set().unwrap().ttl, 1);
    assert!(p.adjustments.is_empty());
}

#[test]
fn every_plan_format_shows_settings() {
    let plan_of = |desired: &Zone| Plan {
        zones: vec![plan_with(desired, &www_with(None), Policy::Sync, &|_| {
            false
        })],
        ..Plan::default()
    };
    let on = plan_of(&www_with(proxied(true)));
    let off = plan_of(&www_with(proxied(false)));
    assert_ne!(on.hash(), off.hash());

    let text = render::text(&on, false);
    assert!(
        text.contains("- www.example.com. 300 IN A 192.0.2.1\n"),
        "{text}"
    );
    assert!(
        text.contains("+ www.example.com. 300 IN A 192.0.2.1 ; proxied=true\n"),
        "{text}"
    );
    assert_ne!(
        text,
        render::text(&off, false).replace(&off.hash(), &on.hash())
    );

    let md = render::markdown(&on, 60_000);
    assert!(
        md.contains("+ www.example.com. 300 IN A 192.0.2.1 ; proxied=true"),
        "{md}"
    );

    let mut buf = Vec::new();
    render::json(&on, &mut buf).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    let change = &doc["zones"][0]["changes"][0];
    assert_eq!(change["op"], "update");
    assert_eq!(
        change["new"]["settings"],
        serde_json::json!({"proxied": true})
    );
    assert!(change["old"].get("settings").is_none(), "{change}");

    assert_eq!(
        render::canonical_change(&on.zones[0].changes[0]),
        "update www.example.com. A 300 [192.0.2.1] => 300 [192.0.2.1] {\"proxied\":true}"
    );
    // Without settings the canonical line (and so every existing plan hash) is unchanged.
    let (k, s) = a("www.example.com", [192, 0, 2, 1], 300);
    let c = Change::Create { key: k, new: s };
    assert_eq!(
        render::canonical_change(&c),
        "create www.example.com. A - => 300 [192.0.2.1]"
    );
}

fn ns(owner: &str, targets: &[&str]) -> (RrKey, RrSet) {
    (
        RrKey::new(n(owner), RecordType::NS),
        RrSet::new(3600, targets.iter().map(|t| RData::Ns(n(t))).collect()),
    )
}

fn orphans(p: &ZonePlan) -> Vec<String> {
    p.unsafe_reasons
        .iter()
        .filter(|r| matches!(r, UnsafeReason::OrphansNameServer { .. }))
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_name_servers_address_is_never_deleted_while_an_ns_rrset_names_it() {
    // The apex NS is not in the manifest (left alone), its server's A record is dropped.
    let live = zone(vec![
        ns("example.com", &["ns1.example.com", "ns2.example.net"]),
        a("ns1.example.com", [192, 0, 2, 53], 3600),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let desired = zone(vec![a("www.example.com", [192, 0, 2, 1], 3600)]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert_eq!(
        orphans(&p),
        ["ns1.example.com. A is deleted but the NS RRset of example.com. still names ns1.example.com.: that name server would have no address"]
    );

    // A delegation's glue: the NS RRset of the child stays, its address goes.
    let live = zone(vec![
        ns("child.example.com", &["ns.child.example.com"]),
        (
            RrKey::new(n("ns.child.example.com"), RecordType::AAAA),
            RrSet::new(3600, vec![RData::Aaaa("2001:db8::53".parse().unwrap())]),
        ),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let desired = zone(vec![
        ns("child.example.com", &["ns.child.example.com"]),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert_eq!(orphans(&p).len(), 1, "{:?}", p.unsafe_reasons);

    // The same plan changes the delegation away from that name: fine.
    let desired = zone(vec![
        ns("child.example.com", &["ns.elsewhere.example.net"]),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert!(orphans(&p).is_empty(), "{:?}", p.unsafe_reasons);
    // ... or removes the delegation altogether.
    let desired = zone(vec![a("www.example.com", [192, 0, 2, 1], 3600)]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert!(orphans(&p).is_empty(), "{:?}", p.unsafe_reasons);

    // An address no NS names is an ordinary delete.
    let live = zone(vec![
        ns("example.com", &["ns1.example.net"]),
        a("old.example.com", [192, 0, 2, 9], 3600),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert!(p.unsafe_reasons.is_empty(), "{:?}", p.unsafe_reasons);
    assert_eq!(p.count(Op::Delete), 1);

    // A new NS RRset naming an address the plan deletes is unsafe too.
    let live = zone(vec![
        a("ns.child.example.com", [192, 0, 2, 53], 3600),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let desired = zone(vec![
        ns("child.example.com", &["ns.child.example.com"]),
        a("www.example.com", [192, 0, 2, 1], 3600),
    ]);
    let p = plan_with(&desired, &live, Policy::Sync, &|_| false);
    assert_eq!(orphans(&p).len(), 1, "{:?}", p.unsafe_reasons);
}

/// A markdown plan over its byte budget keeps every zone's block with its first diff lines
/// and a note of how many were cut, and stays under the budget.
#[test]
fn markdown_over_budget_cuts_every_zones_diff_but_drops_none() {
    let big = |zone_name: &str, count: u32| {
        let mut z = Zone::new(n(zone_name));
        for i in 0..count {
            z.put(
                RrKey::new(n(&format!("h{i}.{zone_name}")), RecordType::A),
                RrSet::new(300, vec![RData::A([192, 0, 2, (i % 250) as u8].into())]),
            );
        }
        z
    };
    let mut zones = Vec::new();
    for (name, count) in [
        ("big.example", 10_000),
        ("small.example", 3),
        ("mid.example", 400),
    ] {
        let desired = big(name, count);
        let live = Zone::new(n(name));
        zones.push(plan_with(&desired, &live, Policy::Sync, &|_| false));
    }
    let plan = Plan {
        zones,
        ..Plan::default()
    };
    let budget = 20_000;
    let md = render::markdown(&plan, budget);
    assert!(md.len() <= budget, "{} bytes", md.len());
    for (name, first) in [
        ("big.example", "+ h0.big.example. 300 IN A 192.0.2.0"),
        ("small.example", "+ h0.small.example. 300 IN A 192.0.2.0"),
        ("mid.example", "+ h0.mid.example. 300 IN A 192.0.2.0"),
    ] {
        let start = md
            .find(&format!("<code>{name}.</code> → <code>t</code>"))
            .unwrap_or_else(|| panic!("no block for {name}: {md}"));
        let block = &md[start..start + md[start..].find("</details>").unwrap()];
        assert!(block.contains(first), "{name}: {block}");
    }
    // The small zone fits whole; the others say how much is cut.
    let cut: Vec<&str> = md.lines().filter(|l| l.starts_with("# … ")).collect();
    assert_eq!(cut.len(), 2, "{md}");
    assert!(
        cut.iter()
            .all(|l| l.ends_with(" more lines; run `zonekeeper plan` for all")),
        "{cut:?}"
    );
    assert!(cut[0].starts_with("# … 9,"), "{cut:?}");
}

// ---- undoing the last apply -------------------------------------------------------------

fn plan_after(desired: &Zone, live: &Zone, last: Option<&LastApply>) -> ZonePlan {
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
        last_apply: last,
    })
}

/// A last apply of `revision` that changed each of `keys`, which were `before` until then.
fn last_apply(revision: &str, changed: Vec<(RrKey, Option<RrSet>)>) -> LastApply {
    LastApply {
        revision: revision.into(),
        before: changed
            .into_iter()
            .map(|(k, s)| (k, s.as_ref().map(CanonicalSet::of)))
            .collect(),
    }
}

fn hosts(range: std::ops::Range<u8>) -> Vec<(RrKey, RrSet)> {
    range
        .map(|i| a(&format!("h{i}.example.com"), [192, 0, 2, i], 60))
        .collect()
}

fn too_many(p: &ZonePlan) -> Vec<(Op, usize)> {
    p.unsafe_reasons
        .iter()
        .filter_map(|r| match r {
            UnsafeReason::TooMany { op, count, .. } => Some((*op, *count)),
            _ => None,
        })
        .collect()
}

#[test]
fn deleting_what_the_last_apply_created_is_an_undo_and_passes_the_thresholds() {
    // The last apply created h2..h9 in a zone of h0, h1; deleting them again is 80%.
    let live = zone(hosts(0..10));
    let desired = zone(hosts(0..2));
    let last = last_apply(
        "bad",
        hosts(2..10).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let p = plan_after(&desired, &live, Some(&last));
    assert_eq!(p.count(Op::Delete), 8);
    assert!(p.unsafe_reasons.is_empty(), "{:?}", p.unsafe_reasons);
    let undo = p.undo.as_ref().expect("the deletes are undos");
    assert_eq!(undo.revision, "bad");
    assert_eq!(undo.keys.len(), 8);
    // Without the record, or with a last apply that did something else, they count.
    let p = plan_after(&desired, &live, None);
    assert_eq!(too_many(&p), [(Op::Delete, 8)]);
    assert!(p.undo.is_none());
    let other = last_apply(
        "other",
        hosts(2..10)
            .into_iter()
            .map(|(k, s)| {
                // It changed these RRsets, but from another value: deleting is no undo.
                let mut old = s.clone();
                old.ttl = 3600;
                (k, Some(old))
            })
            .collect(),
    );
    let p = plan_after(&desired, &live, Some(&other));
    assert_eq!(too_many(&p), [(Op::Delete, 8)]);
    assert!(p.undo.is_none());
    let elsewhere = last_apply(
        "elsewhere",
        hosts(20..30).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    assert_eq!(
        too_many(&plan_after(&desired, &live, Some(&elsewhere))),
        [(Op::Delete, 8)]
    );
}

#[test]
fn a_mixed_plan_counts_only_what_is_not_an_undo() {
    // Live h0..h19; the last apply created h14..h19. The plan deletes h14..h19 (undo) and
    // h9..h13: 5 non-undos of the 14 RRsets the undo leaves (36% > 30%).
    let live = zone(hosts(0..20));
    let desired = zone(hosts(0..9));
    let last = last_apply(
        "r2",
        hosts(14..20).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let p = plan_after(&desired, &live, Some(&last));
    assert_eq!(p.count(Op::Delete), 11);
    assert!(
        matches!(
            p.unsafe_reasons.as_slice(),
            [UnsafeReason::TooMany {
                op: Op::Delete,
                count: 5,
                existing: 14,
                ..
            }]
        ),
        "the percentage is over the zone as the undo leaves it (14), counting the 5 non-undos: {:?}",
        p.unsafe_reasons
    );
    assert_eq!(p.undo.as_ref().map(|u| u.keys.len()), Some(6));
    // Four non-undo deletes of the 14 (29%) pass.
    let desired = zone(hosts(0..10));
    assert!(plan_after(&desired, &live, Some(&last))
        .unsafe_reasons
        .is_empty());
}

#[test]
fn padding_a_zone_and_undoing_the_padding_does_not_dilute_the_thresholds() {
    // The real zone is h0..h19; the last apply padded it with 100 junk RRsets (creates are
    // never held back). Deleting the junk (an undo) and 19 of the 20 real RRsets: judged
    // against the 20 the undo leaves, not the 120 live.
    let live = zone(hosts(0..120));
    let desired = zone(hosts(0..1));
    let last = last_apply(
        "padding",
        hosts(20..120).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let p = plan_after(&desired, &live, Some(&last));
    assert!(
        matches!(
            p.unsafe_reasons.as_slice(),
            [UnsafeReason::TooMany {
                op: Op::Delete,
                count: 19,
                existing: 20,
                ..
            }]
        ),
        "{:?}",
        p.unsafe_reasons
    );
}

#[test]
fn updating_back_to_the_replaced_value_is_an_undo_ttl_and_settings_included() {
    // The last apply changed h0..h5 from TTL 300 to 60; the plan changes them back.
    let live = zone(hosts(0..10));
    let old: Vec<(RrKey, RrSet)> = hosts(0..6)
        .into_iter()
        .map(|(k, mut s)| {
            s.ttl = 300;
            (k, s)
        })
        .collect();
    let last = last_apply(
        "ttl",
        old.iter()
            .map(|(k, s)| (k.clone(), Some(s.clone())))
            .collect(),
    );
    let mut desired = zone(hosts(0..10));
    for (k, s) in &old {
        desired.put(k.clone(), s.clone());
    }
    let p = plan_after(&desired, &live, Some(&last));
    assert_eq!(p.count(Op::Update), 6);
    assert!(p.unsafe_reasons.is_empty(), "{:?}", p.unsafe_reasons);
    // Back to another TTL is not the value replaced: 60% of updates count.
    for (k, s) in &old {
        let mut s = s.clone();
        s.ttl = 120;
        desired.put(k.clone(), s);
    }
    assert_eq!(
        too_many(&plan_after(&desired, &live, Some(&last))),
        [(Op::Update, 6)]
    );
    // Nor is the value without the provider settings it had.
    let with_settings = last_apply(
        "settings",
        old.iter()
            .map(|(k, s)| (k.clone(), Some(s.clone().with_ext(proxied(true)))))
            .collect(),
    );
    for (k, s) in &old {
        desired.put(k.clone(), s.clone());
    }
    assert_eq!(
        too_many(&plan_after(&desired, &live, Some(&with_settings))),
        [(Op::Update, 6)]
    );
    for (k, s) in &old {
        desired.put(k.clone(), s.clone().with_ext(proxied(true)));
    }
    assert!(plan_after(&desired, &live, Some(&with_settings))
        .unsafe_reasons
        .is_empty());
}

#[test]
fn an_undo_never_passes_the_delegation_checks_or_empties_a_zone() {
    // The last apply moved the apex NS from a.net to b.net: moving it back is an undo, and
    // still a change of the whole zone's delegation.
    let (apex, to_a) = ns("example.com", &["a.net"]);
    let (_, to_b) = ns("example.com", &["b.net"]);
    let last = last_apply("ns", vec![(apex.clone(), Some(to_a.clone()))]);
    let p = plan_after(
        &zone(vec![(apex.clone(), to_a)]),
        &zone(vec![(apex.clone(), to_b)]),
        Some(&last),
    );
    assert_eq!(p.undo.as_ref().map(|u| u.keys.clone()), Some(vec![apex]));
    assert_eq!(p.unsafe_reasons, [UnsafeReason::ApexNs]);
    // The last apply created ns1's address; deleting it while the delegation names it
    // orphans that name server, undo or not.
    let addr = a("ns1.sub.example.com", [192, 0, 2, 53], 60);
    let deleg = ns("sub.example.com", &["ns1.sub.example.com"]);
    let last = last_apply("glue", vec![(addr.0.clone(), None)]);
    let p = plan_after(
        &zone(vec![deleg.clone()]),
        &zone(vec![deleg, addr]),
        Some(&last),
    );
    assert!(p.undo.is_some());
    assert_eq!(orphans(&p).len(), 1, "{:?}", p.unsafe_reasons);
    // The last apply filled an empty zone; a manifest with nothing for the target would
    // delete it all: still refused.
    let live = zone(hosts(0..10));
    let last = last_apply(
        "fill",
        hosts(0..10).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let p = plan_after(&Zone::new(n("example.com")), &live, Some(&last));
    assert_eq!(p.undo.as_ref().map(|u| u.keys.len()), Some(10));
    assert!(
        matches!(
            p.unsafe_reasons.as_slice(),
            [UnsafeReason::EmptiesZone { existing: 10 }]
        ),
        "{:?}",
        p.unsafe_reasons
    );
}

#[test]
fn the_undo_decision_is_shown_in_every_format_and_hashed() {
    let live = zone(hosts(0..10));
    let desired = zone(hosts(0..2));
    let last = last_apply(
        "abc123",
        hosts(2..10).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let undo = Plan {
        zones: vec![plan_after(&desired, &live, Some(&last))],
        domains: vec![],
    };
    let counted = Plan {
        zones: vec![plan_after(&desired, &live, None)],
        domains: vec![],
    };
    let note = "8 change(s) undo the last apply of abc123, not counted toward the thresholds";
    let t = render::text(&undo, false);
    assert!(t.contains(&format!("\n  {note}\n")), "{t}");
    assert!(t.contains("[ready]"), "{t}");
    assert!(!render::text(&counted, false).contains("undo"));
    let md = render::markdown(&undo, 60_000);
    assert!(md.contains(&format!("# {note}\n")), "{md}");
    let mut out = Vec::new();
    render::json(&undo, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["zones"][0]["undo"],
        serde_json::json!({"revision": "abc123", "changes": 8})
    );
    assert_eq!(v["zones"][0]["changes"][0]["undo"], true);
    let mut out = Vec::new();
    render::json(&counted, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v["zones"][0]["undo"].is_null());
    assert!(v["zones"][0]["changes"][0].get("undo").is_none());
    // The same changes judged differently are a different plan to review.
    assert_ne!(undo.hash(), counted.hash());
    let other = last_apply(
        "def456",
        hosts(2..10).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let other = Plan {
        zones: vec![plan_after(&desired, &live, Some(&other))],
        domains: vec![],
    };
    assert_ne!(undo.hash(), other.hash());
}

#[test]
fn only_a_whole_undo_counts_so_a_zones_first_fill_stays_guarded() {
    // The last apply filled the zone with h0..h9. Deleting h1..h9 leaves h0 as that apply
    // made it: a partial undo, judged like any plan.
    let live = zone(hosts(0..10));
    let fill = last_apply(
        "fill",
        hosts(0..10).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let p = plan_after(&zone(hosts(0..1)), &live, Some(&fill));
    assert_eq!(too_many(&p), [(Op::Delete, 9)]);
    assert!(p.undo.is_none());
    // An RRset the apply changed that is already back live needs no change to be whole:
    // h2..h11 were created, h11 is gone already, deleting h2..h10 is 9 of 11.
    let mut live = zone(hosts(0..12));
    live.rrsets.retain(|k, _| k.name != n("h11.example.com"));
    let created = last_apply(
        "r",
        hosts(2..12).into_iter().map(|(k, _)| (k, None)).collect(),
    );
    let p = plan_after(&zone(hosts(0..2)), &live, Some(&created));
    assert!(p.unsafe_reasons.is_empty(), "{:?}", p.unsafe_reasons);
    assert_eq!(p.undo.map(|u| u.keys.len()), Some(9));
    assert_eq!(
        too_many(&plan_after(&zone(hosts(0..2)), &live, None)),
        [(Op::Delete, 9)]
    );
}
