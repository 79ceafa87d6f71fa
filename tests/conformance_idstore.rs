//! The conformance suite against `idstore` (tests/support/idstore.rs), a test provider shaped
//! like a cloud API: per-record ids handed from the read to the write, batches limited by
//! records, and in a second mode a whole-zone writer. Plus what the suite cannot see: ids of
//! unchanged records survive an update, no batch passes the record limit, no write re-lists
//! the zone, and the write uses the ids it was given (a stale observation is a conflict).

// The fourth property, a provider-specific setting stored per record (`proxied`), is in the
// suite's settings group (g17) and in `a_setting_is_an_update_that_keeps_ids` below.

mod conformance;
#[path = "support/idstore.rs"]
mod idstore;

use conformance::{a, n, Z};
use idstore::{IdStoreProvider, Mode};
use zonekeeper::apply::{apply_zone_plan, ApplyOptions, ApplyReport};
use zonekeeper::model::{ExtValue, RecordExt, RecordType, RrKey, Zone};
use zonekeeper::plan::{plan_zone, PlanInput, Policy, Thresholds};
use zonekeeper::provider::{ErrorKind, Observed, Provider};

/// Small enough that most steps are split over several calls, big enough for the suite's
/// largest single change (checked below).
const LIMIT: usize = 6;

async fn plan_and_apply(p: &IdStoreProvider, desired: &Zone, live: &Observed) -> ApplyReport {
    let zp = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: p.name(),
        desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &|_: &RrKey| false,
        normalize: &|_, _| None,
        caps: p.capabilities(),
        policy: Policy::Sync,
        thresholds: Thresholds {
            update_pct: 100.0,
            delete_pct: 100.0,
            min_records: usize::MAX,
        },
        last_apply: None,
    });
    apply_zone_plan(p, &zp, live, &ApplyOptions::default()).await
}

async fn sync(p: &IdStoreProvider, desired: &Zone) -> ApplyReport {
    let live = p.read_zone(&desired.origin).await.expect("read");
    let report = plan_and_apply(p, desired, &live).await;
    assert!(report.all_ok(), "{:?}", report.failed().next());
    assert_eq!(
        p.read_zone(&desired.origin).await.expect("read").zone,
        *desired
    );
    report
}

#[tokio::test]
async fn record_batches_pass_the_conformance_suite_within_the_limit() {
    let p = IdStoreProvider::new("ids", Mode::Records { max_records: LIMIT });
    let report = conformance::run_suite(&p, "conformance.test.").await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert!(report.steps_run > 60, "{report:?}");
    let sizes = p.server().batch_sizes();
    assert!(
        sizes.iter().all(|&s| s <= LIMIT),
        "a batch passed the limit of {LIMIT}: {sizes:?}"
    );
    // The limit was felt: full batches, and more calls than steps.
    assert!(sizes.contains(&LIMIT), "{sizes:?}");
    assert!(report.write_calls > report.steps_run, "{report:?}");
    assert_eq!(p.lists_in_apply(), 0, "apply listed the zone");
}

#[tokio::test]
async fn the_whole_zone_writer_passes_the_conformance_suite_in_one_call_per_step() {
    let p = IdStoreProvider::new("ids-zone", Mode::WholeZone);
    let report = conformance::run_suite(&p, "conformance.test.").await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert!(report.steps_run > 60, "{report:?}");
    // One call per step that changed something, never split or bisected.
    assert!(report.write_calls <= report.steps_run, "{report:?}");
    assert_eq!(p.server().replaces(), report.write_calls);
    assert!(p.server().batch_sizes().is_empty());
    assert_eq!(p.lists_in_apply(), 0, "apply listed the zone");
}

#[tokio::test]
async fn ids_of_unchanged_records_survive_an_rrset_update() {
    for mode in [Mode::Records { max_records: LIMIT }, Mode::WholeZone] {
        let p = IdStoreProvider::new("ids", mode);
        let o = n("keep.test.");
        let www = RrKey::new(n("www.keep.test."), RecordType::A);
        let ips = ["192.0.2.1", "192.0.2.2", "192.0.2.3"];
        sync(&p, &Z::new(&o).rr("www", 300, ips.map(a).to_vec()).0).await;
        let id = |ip: &str| p.server().id_of(&o, &www, &a(ip));
        let before: Vec<_> = ips.iter().map(|ip| id(ip).expect("stored")).collect();

        // One value out, one in: .2 and .3 keep their ids.
        sync(
            &p,
            &Z::new(&o)
                .rr(
                    "www",
                    300,
                    ["192.0.2.2", "192.0.2.3", "192.0.2.4"].map(a).to_vec(),
                )
                .0,
        )
        .await;
        assert_eq!(id("192.0.2.2"), Some(before[1]), "{mode:?}");
        assert_eq!(id("192.0.2.3"), Some(before[2]), "{mode:?}");
        assert!(id("192.0.2.1").is_none());
        let new_id = id("192.0.2.4").expect("stored");
        match mode {
            // The changed value took over the removed value's id (a PATCH, not delete+post).
            Mode::Records { .. } => assert_eq!(new_id, before[0]),
            Mode::WholeZone => assert!(!before.contains(&new_id)),
        }

        // A TTL change alone keeps every id.
        sync(
            &p,
            &Z::new(&o)
                .rr(
                    "www",
                    60,
                    ["192.0.2.2", "192.0.2.3", "192.0.2.4"].map(a).to_vec(),
                )
                .0,
        )
        .await;
        assert_eq!(id("192.0.2.2"), Some(before[1]), "{mode:?}");
        assert_eq!(id("192.0.2.3"), Some(before[2]), "{mode:?}");
    }
}

#[tokio::test]
async fn a_setting_is_an_update_that_keeps_ids() {
    for mode in [Mode::Records { max_records: LIMIT }, Mode::WholeZone] {
        let p = IdStoreProvider::new("ids", mode);
        let o = n("proxied.test.");
        let www = RrKey::new(n("www.proxied.test."), RecordType::A);
        let ips = ["192.0.2.1", "192.0.2.2"];
        let plain = Z::new(&o).rr("www", 300, ips.map(a).to_vec()).0;
        sync(&p, &plain).await;
        let ids: Vec<_> = ips
            .iter()
            .map(|ip| p.server().id_of(&o, &www, &a(ip)))
            .collect();

        // Turning `proxied` on is one update; it is stored, read back, and ids stay.
        let mut on = plain.clone();
        let set = on.rrsets.get(&www).expect("www").clone();
        let ext = RecordExt::new().with("proxied", ExtValue::Bool(true));
        on.put(www.clone(), set.with_ext(Some(std::sync::Arc::new(ext))));
        let live = p.read_zone(&o).await.expect("read");
        let report = plan_and_apply(&p, &on, &live).await;
        assert_eq!(report.results.len(), 1, "{mode:?}: one update");
        assert!(report.all_ok(), "{:?}", report.failed().next());
        let back = p.read_zone(&o).await.expect("read");
        assert_eq!(back.zone, on, "{mode:?}: the setting was read back");
        let after: Vec<_> = ips
            .iter()
            .map(|ip| p.server().id_of(&o, &www, &a(ip)))
            .collect();
        if matches!(mode, Mode::Records { .. }) {
            assert_eq!(after, ids, "patched in place, ids kept");
        }
        // And off again.
        sync(&p, &plain).await;
    }
}

#[tokio::test]
async fn batches_are_split_by_records_not_by_changes() {
    let p = IdStoreProvider::new("ids", Mode::Records { max_records: 5 });
    let o = n("split.test.");
    // Ten RRsets of two values: 20 record posts, at most 5 per batch, whole RRsets only.
    let mut z = Z::new(&o);
    for i in 0..10 {
        z = z.rr(&format!("h{i}"), 300, vec![a("192.0.2.1"), a("192.0.2.2")]);
    }
    let report = sync(&p, &z.0).await;
    assert_eq!(p.server().batch_sizes(), vec![4, 4, 4, 4, 4]);
    assert_eq!(report.calls, 5);
    assert!(report.created_zone);
}

#[tokio::test]
async fn apply_uses_the_observed_ids_and_a_stale_observation_is_a_conflict() {
    for mode in [Mode::Records { max_records: LIMIT }, Mode::WholeZone] {
        let p = IdStoreProvider::new("ids", mode);
        let o = n("stale.test.");
        sync(&p, &Z::new(&o).rr("www", 300, vec![a("192.0.2.1")]).0).await;
        let live = p.read_zone(&o).await.expect("read");
        // Someone edits the record in the web console: it gets a new id.
        let www = RrKey::new(n("www.stale.test."), RecordType::A);
        let old_id = p.server().id_of(&o, &www, &a("192.0.2.1")).expect("stored");
        p.server().recreate(&o, old_id);
        // The plan made from the earlier read deletes by the id it saw: refused, not
        // silently re-listed and "fixed".
        let desired = Z::new(&o).rr("www", 300, vec![a("192.0.2.9")]).0;
        let report = plan_and_apply(&p, &desired, &live).await;
        let (_, o1) = report.failed().next().expect("must fail");
        assert_eq!(
            o1.as_ref().unwrap_err().kind,
            ErrorKind::Conflict,
            "{mode:?}"
        );
        assert_eq!(p.lists_in_apply(), 0);
        // A fresh read converges.
        sync(&p, &desired).await;
    }
}
