//! Planner tests: ordering, policies, thresholds, ignore rules, fit, hash stability.

use super::*;
use crate::model::{RData, RrSet};

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
        target: "t",
        desired,
        live,
        live_exists: true,
        unmanaged,
        caps: &Capabilities::everything(),
        normalize: &|_, _| None,
        policy,
        thresholds: Thresholds::default(),
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
    assert!(p.unsafe_reasons[0].contains("too many deletes: 4 of 10"));
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
    assert!(p.unsafe_reasons.iter().any(|r| r.contains("apex NS")));
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
        target: "t",
        desired: &desired,
        live: &Zone::new(n("example.com")),
        live_exists: true,
        unmanaged: &|_| false,
        caps: &caps,
        normalize: &|_, _| None,
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
    });
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].new_set().unwrap().ttl, 300);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.adjustments.len(), 1);
}

#[test]
fn hash_is_stable_and_sensitive() {
    let live = Zone::new(n("example.com"));
    let d1 = zone(vec![a("www.example.com", [1, 2, 3, 4], 60)]);
    let d2 = zone(vec![a("www.example.com", [1, 2, 3, 5], 60)]);
    let p1 = Plan {
        zones: vec![plan_with(&d1, &live, Policy::Sync, &|_| false)],
    };
    let p1b = Plan {
        zones: vec![plan_with(&d1, &live, Policy::Sync, &|_| false)],
    };
    let p2 = Plan {
        zones: vec![plan_with(&d2, &live, Policy::Sync, &|_| false)],
    };
    assert_eq!(p1.hash(), p1b.hash());
    assert_ne!(p1.hash(), p2.hash());
    assert_eq!(p1.hash().len(), 64);
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
            .any(|r| r.contains("no records for this target")),
        "{:?}",
        p.unsafe_reasons
    );
}
