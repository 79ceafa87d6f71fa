//! Hermetic tests of `apply` against the memory provider's fault injection, on paused time:
//! rate-limit waits, transient bursts, exhausted retries, the deadline, bisection, wrong
//! outcome counts, batch limits, whole-zone writers and zone creation.

use std::net::Ipv4Addr;
use std::sync::Mutex;

use super::*;
use crate::model::{RData, RecordType, RrKey, RrSet, Zone};
use crate::plan::{plan_zone, Capabilities, PlanInput, Policy, Thresholds};
use crate::provider::memory::{MemoryProvider, OutcomeBug};

fn n(s: &str) -> Fqdn {
    Fqdn::parse(s).expect("test name")
}

fn origin() -> Fqdn {
    n("example.test.")
}

/// A zone of `count` A RRsets `h0..`, each with `values` addresses.
fn zone_of(count: usize, values: usize) -> Zone {
    let mut z = Zone::new(origin());
    for i in 0..count {
        let vals = (0..values)
            .map(|v| RData::A(Ipv4Addr::new(192, 0, 2, (v + 1) as u8)))
            .collect();
        z.put(
            RrKey::new(n(&format!("h{i}.example.test.")), RecordType::A),
            RrSet::new(300, vals),
        );
    }
    z
}

/// Per-RRset writes, atomic batches, no batch limit: the shape most APIs have.
fn rrset_caps() -> Capabilities {
    Capabilities {
        granularity: Granularity::RrSet,
        ..Capabilities::everything()
    }
}

fn policy(retries: usize) -> RetryPolicy {
    RetryPolicy {
        retries,
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        deadline: Duration::from_secs(300),
    }
}

async fn plan_for(p: &dyn Provider, desired: &Zone) -> (ZonePlan, Observed) {
    let live = p.read_zone(&desired.origin).await.expect("memory read");
    let zp = plan_zone(&PlanInput {
        processors: &Default::default(),
        target: p.name(),
        desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &|_: &RrKey| false,
        normalize: &|k, s| p.normalize(k, s),
        caps: p.capabilities(),
        policy: Policy::Sync,
        thresholds: Thresholds {
            update_pct: 100.0,
            delete_pct: 100.0,
            min_records: usize::MAX,
        },
        last_apply: None,
    });
    (zp, live)
}

/// Plans `desired` against what `p` holds and applies it.
async fn sync(p: &MemoryProvider, desired: &Zone, opts: &ApplyOptions) -> (ZonePlan, ApplyReport) {
    let (zp, live) = plan_for(p, desired).await;
    let report = apply_zone_plan(p, &zp, &live, opts).await;
    // Never a shortened or reordered report.
    let planned: Vec<&Change> = zp.changes.iter().collect();
    let reported: Vec<&Change> = report.results.iter().map(|(c, _)| c).collect();
    assert_eq!(
        planned, reported,
        "the report must hold every change in apply order"
    );
    (zp, report)
}

fn kinds(report: &ApplyReport) -> Vec<Result<(), ErrorKind>> {
    report
        .results
        .iter()
        .map(|(_, o)| o.as_ref().map(|_| ()).map_err(|e| e.kind))
        .collect()
}

/// Records every retry it is told about.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, ErrorKind, Duration)>>);

impl CallObserver for Recorder {
    fn retry(&self, provider: &str, kind: ErrorKind, wait: Duration) {
        self.0
            .lock()
            .expect("recorder lock")
            .push((provider.to_string(), kind, wait));
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_waited_and_spends_no_retry() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    p.seed(Zone::new(origin()));
    for _ in 0..3 {
        p.push_fault(
            ProviderError::new(ErrorKind::RateLimited, "429 Too Many Requests")
                .with_retry_after(Duration::from_secs(7)),
        );
    }
    let recorder = Arc::new(Recorder::default());
    // No retries at all: a transient failure would fail the write, a 429 must not.
    let opts = ApplyOptions::new(policy(0)).with_observer(recorder.clone());
    let start = Instant::now();
    let desired = zone_of(3, 1);
    let (_, report) = sync(&p, &desired, &opts).await;
    assert!(report.all_ok(), "{:?}", kinds(&report));
    assert!(
        start.elapsed() >= Duration::from_secs(21),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(22),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(report.rate_limit_waits, 3);
    assert_eq!(report.retries, 0);
    assert_eq!(report.calls, 4);
    assert_eq!(p.apply_calls(), 4);
    assert_eq!(p.snapshot(&origin()), Some(desired));
    let seen = recorder.0.lock().expect("lock").clone();
    assert_eq!(
        seen,
        vec![
            (
                "mem".to_string(),
                ErrorKind::RateLimited,
                Duration::from_secs(7)
            );
            3
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_5xx_is_retried_and_converges() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    p.seed(zone_of(2, 1));
    for _ in 0..3 {
        p.push_fault(ProviderError::new(
            ErrorKind::Transient,
            "503 Service Unavailable",
        ));
    }
    let desired = zone_of(5, 2);
    let (_, report) = sync(&p, &desired, &ApplyOptions::new(policy(3))).await;
    assert!(report.all_ok(), "{:?}", kinds(&report));
    assert_eq!(report.retries, 3);
    assert_eq!(report.calls, 4);
    assert!(!report.deadline_passed);
    assert_eq!(p.snapshot(&origin()), Some(desired.clone()));
    // Converged: a fresh plan is empty.
    assert!(plan_for(&p, &desired).await.0.is_empty());
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_leave_transient_outcomes() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    p.seed(Zone::new(origin()));
    for _ in 0..10 {
        p.push_fault(ProviderError::new(ErrorKind::Transient, "502 Bad Gateway"));
    }
    let (_, report) = sync(&p, &zone_of(3, 1), &ApplyOptions::new(policy(2))).await;
    assert_eq!(kinds(&report), vec![Err(ErrorKind::Transient); 3]);
    assert_eq!(report.calls, 3, "the first try and two retries");
    assert_eq!(report.retries, 2);
    assert!(!report.deadline_passed, "the budget ran out, not the time");
    let e = report.results[0].1.as_ref().unwrap_err();
    assert!(e.message.contains("502"), "{e}");
    assert_eq!(p.snapshot(&origin()), Some(Zone::new(origin())));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_stops_sending_and_leaves_transient_outcomes() {
    // Every call takes 6 s, one change per call, 10 s for the whole write: the first two
    // calls are sent (at 0 s and 6 s), the third would start at 12 s and is not sent.
    let caps = Capabilities {
        batch: BatchLimit::changes(1),
        ..rrset_caps()
    };
    let p = MemoryProvider::new("mem")
        .with_capabilities(caps)
        .with_latency(Duration::from_secs(6));
    p.seed(Zone::new(origin()));
    let opts = ApplyOptions::new(RetryPolicy {
        deadline: Duration::from_secs(10),
        ..policy(5)
    });
    let (_, report) = sync(&p, &zone_of(3, 1), &opts).await;
    assert_eq!(
        kinds(&report),
        vec![Ok(()), Ok(()), Err(ErrorKind::Transient)]
    );
    assert!(report.deadline_passed);
    assert_eq!(p.apply_calls(), 2);
    let e = report.results[2].1.as_ref().unwrap_err();
    assert!(e.message.contains("deadline"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_wait_past_the_deadline_is_not_taken() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    p.seed(Zone::new(origin()));
    p.push_fault(
        ProviderError::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(60)),
    );
    let opts = ApplyOptions::new(RetryPolicy {
        deadline: Duration::from_secs(10),
        ..policy(5)
    });
    let start = Instant::now();
    let (_, report) = sync(&p, &zone_of(2, 1), &opts).await;
    assert_eq!(kinds(&report), vec![Err(ErrorKind::RateLimited); 2]);
    assert!(report.deadline_passed);
    assert_eq!(report.calls, 1);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let e = report.results[0].1.as_ref().unwrap_err();
    assert!(e.message.contains("deadline"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_refused_atomic_batch_is_bisected_to_the_bad_change() {
    let bad = RrKey::new(n("h5.example.test."), RecordType::A);
    let bad_key = bad.clone();
    let p = MemoryProvider::new("mem")
        .with_capabilities(rrset_caps())
        .with_reject(Arc::new(move |c: &Change| {
            (c.key() == &bad_key).then(|| "bad value".to_string())
        }));
    p.seed(Zone::new(origin()));
    let desired = zone_of(8, 1);
    let (_, report) = sync(&p, &desired, &ApplyOptions::new(policy(2))).await;
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1, "{:?}", kinds(&report));
    assert_eq!(failed[0].0.key(), &bad);
    let e = failed[0].1.as_ref().unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Rejected, "bad value")
    );
    // 8 -> 4 -> 2 -> 1: the refused half is split at each level, the other half lands.
    assert_eq!(report.calls, 7);
    assert_eq!(report.retries, 0, "a refusal is not retried");
    let mut want = desired;
    want.rrsets.remove(&bad);
    assert_eq!(p.snapshot(&origin()), Some(want));
}

#[tokio::test(start_paused = true)]
async fn fewer_outcomes_than_changes_fail_every_change_loudly() {
    let p = MemoryProvider::new("mem")
        .with_capabilities(rrset_caps())
        .with_outcome_bug(OutcomeBug::Fewer(1));
    p.seed(Zone::new(origin()));
    let (_, report) = sync(&p, &zone_of(3, 1), &ApplyOptions::new(policy(3))).await;
    assert_eq!(kinds(&report), vec![Err(ErrorKind::ProviderBug); 3]);
    let e = report.results[0].1.as_ref().unwrap_err();
    assert!(
        e.message.contains("mem") && e.message.contains("2 outcome(s) for 3 change(s)"),
        "{e}"
    );
    assert_eq!(report.calls, 1, "a provider bug is not retried");
    assert_eq!(ErrorKind::ProviderBug.as_str(), "provider-bug");
    assert!(!ErrorKind::ProviderBug.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn more_outcomes_than_changes_fail_each_batch_loudly() {
    let caps = Capabilities {
        batch: BatchLimit::changes(2),
        ..rrset_caps()
    };
    let p = MemoryProvider::new("mem")
        .with_capabilities(caps)
        .with_outcome_bug(OutcomeBug::More(1));
    p.seed(Zone::new(origin()));
    let (_, report) = sync(&p, &zone_of(3, 1), &ApplyOptions::new(policy(3))).await;
    assert_eq!(kinds(&report), vec![Err(ErrorKind::ProviderBug); 3]);
    assert!(report.results[2]
        .1
        .as_ref()
        .unwrap_err()
        .message
        .contains("2 outcome(s) for 1 change(s)"));
    assert_eq!(p.batch_sizes(), vec![2, 1]);
}

#[test]
fn split_batches_keeps_order_and_sends_an_oversized_change_alone() {
    let cost = |c: &usize| BatchCost {
        changes: 1,
        records: *c,
        bytes: *c * 10,
    };
    let records = BatchLimit {
        max_records: Some(5),
        ..BatchLimit::UNLIMITED
    };
    assert_eq!(
        split_batches(&[2, 2, 2, 7, 1, 5, 1], &records, cost),
        vec![0..2, 2..3, 3..4, 4..5, 5..6, 6..7]
    );
    assert_eq!(
        split_batches(&[1, 1, 3, 1], &records, cost),
        vec![0..3, 3..4]
    );
    let bytes = BatchLimit {
        max_bytes: Some(35),
        ..BatchLimit::UNLIMITED
    };
    assert_eq!(
        split_batches(&[1, 1, 1, 1, 1], &bytes, cost),
        vec![0..3, 3..5]
    );
    let changes = BatchLimit::changes(2);
    assert_eq!(split_batches(&[9, 9, 9], &changes, cost), vec![0..2, 2..3]);
    // Every limit at once: the first one reached closes the batch.
    let all = BatchLimit {
        max_changes: Some(3),
        max_records: Some(4),
        max_bytes: Some(1000),
    };
    assert_eq!(
        split_batches(&[1, 1, 1, 1, 1], &all, cost),
        vec![0..3, 3..5]
    );
    assert_eq!(split_batches(&[1, 2, 2], &all, cost), vec![0..2, 2..3]);
    assert!(split_batches(&[] as &[usize], &all, cost).is_empty());
    assert_eq!(
        split_batches(&[1, 1], &BatchLimit::UNLIMITED, cost),
        vec![0..2]
    );
}

#[tokio::test(start_paused = true)]
async fn batches_are_split_by_records() {
    // Six RRsets of 2 values each against 5 records per call: two RRsets per call.
    let caps = Capabilities {
        batch: BatchLimit {
            max_records: Some(5),
            ..BatchLimit::UNLIMITED
        },
        ..rrset_caps()
    };
    let p = MemoryProvider::new("mem").with_capabilities(caps);
    p.seed(Zone::new(origin()));
    let desired = zone_of(6, 2);
    let (_, report) = sync(&p, &desired, &ApplyOptions::new(policy(0))).await;
    assert!(report.all_ok());
    assert_eq!(p.batch_sizes(), vec![2, 2, 2]);
    assert_eq!(report.calls, 3);
    // An RRset of 7 values is over the limit on its own: sent alone, not dropped.
    let mut bigger = desired.clone();
    bigger.put(
        RrKey::new(n("big.example.test."), RecordType::A),
        zone_of(1, 7)
            .rrsets
            .into_values()
            .next()
            .expect("one RRset"),
    );
    let (_, report) = sync(&p, &bigger, &ApplyOptions::new(policy(0))).await;
    assert!(report.all_ok());
    assert_eq!(p.batch_sizes(), vec![2, 2, 2, 1]);
    assert_eq!(p.snapshot(&origin()), Some(bigger));
}

#[tokio::test(start_paused = true)]
async fn batches_are_split_by_bytes() {
    let desired = zone_of(6, 1);
    let one = Change::Create {
        key: RrKey::new(n("h0.example.test."), RecordType::A),
        new: desired.rrsets.values().next().expect("RRset").clone(),
    };
    // Room for exactly three of these changes per call.
    let per = BatchCost::default_for(&one).bytes;
    let caps = Capabilities {
        batch: BatchLimit {
            max_bytes: Some(per * 3 + 1),
            ..BatchLimit::UNLIMITED
        },
        ..rrset_caps()
    };
    let p = MemoryProvider::new("mem").with_capabilities(caps);
    p.seed(Zone::new(origin()));
    let (_, report) = sync(&p, &desired, &ApplyOptions::new(policy(0))).await;
    assert!(report.all_ok());
    assert_eq!(p.batch_sizes(), vec![3, 3]);
    assert_eq!(p.snapshot(&origin()), Some(desired));
}

#[tokio::test(start_paused = true)]
async fn batches_keep_the_apply_order() {
    // Deletes first, then creates, across batch boundaries.
    let caps = Capabilities {
        batch: BatchLimit::changes(2),
        ..rrset_caps()
    };
    let p = MemoryProvider::new("mem").with_capabilities(caps);
    let mut live = Zone::new(origin());
    for i in 0..3 {
        live.put(
            RrKey::new(n(&format!("old{i}.example.test.")), RecordType::A),
            RrSet::new(60, vec![RData::A(Ipv4Addr::new(198, 51, 100, 1))]),
        );
    }
    p.seed(live);
    let (zp, report) = sync(&p, &zone_of(3, 1), &ApplyOptions::new(policy(0))).await;
    assert!(report.all_ok());
    let ops: Vec<_> = report.results.iter().map(|(c, _)| c.op()).collect();
    use crate::plan::Op;
    assert_eq!(
        ops,
        [
            Op::Delete,
            Op::Delete,
            Op::Delete,
            Op::Create,
            Op::Create,
            Op::Create
        ]
    );
    assert_eq!(zp.changes.len(), 6);
    assert_eq!(p.batch_sizes(), vec![2, 2, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_whole_zone_writer_gets_one_call_and_no_bisection() {
    let bad = RrKey::new(n("h2.example.test."), RecordType::A);
    let bad_key = bad.clone();
    // Granularity::Zone (everything()) with a batch limit it must not be split by.
    let caps = Capabilities {
        batch: BatchLimit::changes(1),
        ..Capabilities::everything()
    };
    assert_eq!(caps.granularity, Granularity::Zone);
    let p = MemoryProvider::new("mem")
        .with_capabilities(caps)
        .with_reject(Arc::new(move |c: &Change| {
            (c.key() == &bad_key).then(|| "bad value".to_string())
        }));
    p.seed(Zone::new(origin()));
    let (_, report) = sync(&p, &zone_of(6, 1), &ApplyOptions::new(policy(2))).await;
    assert_eq!(report.calls, 1);
    assert_eq!(p.batch_sizes(), vec![6]);
    // Per-change outcomes are what the provider returned for that one call.
    let ks = kinds(&report);
    assert_eq!(
        ks.iter()
            .filter(|k| **k == Err(ErrorKind::Rejected))
            .count(),
        1
    );
    assert_eq!(
        ks.iter()
            .filter(|k| **k == Err(ErrorKind::NotAttempted))
            .count(),
        5
    );
    assert_eq!(p.snapshot(&origin()), Some(Zone::new(origin())));

    // Without the bad value: still one call for all of it.
    let p = MemoryProvider::new("mem").with_capabilities(Capabilities {
        batch: BatchLimit::changes(1),
        ..Capabilities::everything()
    });
    p.seed(Zone::new(origin()));
    let (_, report) = sync(&p, &zone_of(6, 1), &ApplyOptions::new(policy(2))).await;
    assert!(report.all_ok());
    assert_eq!(p.batch_sizes(), vec![6]);
}

#[tokio::test(start_paused = true)]
async fn a_missing_zone_is_created_once_before_the_write() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    let desired = zone_of(2, 1);
    let (zp, report) = sync(&p, &desired, &ApplyOptions::new(policy(2))).await;
    assert!(!zp.live_exists);
    assert!(report.all_ok(), "{:?}", kinds(&report));
    assert!(report.created_zone);
    assert_eq!(p.create_calls(), 1);
    assert_eq!(p.apply_calls(), 1);
    assert_eq!(p.snapshot(&origin()), Some(desired.clone()));
    // Existing now: never created again.
    let mut more = desired;
    more.put(
        RrKey::new(n("extra.example.test."), RecordType::A),
        RrSet::new(60, vec![RData::A(Ipv4Addr::new(192, 0, 2, 9))]),
    );
    let (_, report) = sync(&p, &more, &ApplyOptions::new(policy(2))).await;
    assert!(report.all_ok());
    assert!(!report.created_zone);
    assert_eq!(p.create_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn zone_creation_is_retried_on_its_own() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    p.push_create_fault(ProviderError::new(ErrorKind::Transient, "503"));
    p.push_create_fault(
        ProviderError::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(5)),
    );
    let start = Instant::now();
    let desired = zone_of(2, 1);
    let (_, report) = sync(&p, &desired, &ApplyOptions::new(policy(1))).await;
    assert!(report.all_ok(), "{:?}", kinds(&report));
    assert!(report.created_zone);
    assert_eq!(p.create_calls(), 3);
    assert_eq!(report.retries, 1);
    assert_eq!(report.rate_limit_waits, 1);
    // The write itself was sent once: creation failures never re-send it.
    assert_eq!(p.apply_calls(), 1);
    assert!(start.elapsed() >= Duration::from_secs(5));
    assert_eq!(p.snapshot(&origin()), Some(desired));
}

#[tokio::test(start_paused = true)]
async fn a_failed_zone_creation_fails_every_change_and_writes_nothing() {
    let p = MemoryProvider::new("mem").with_capabilities(rrset_caps());
    p.push_create_fault(ProviderError::new(ErrorKind::Auth, "401 bad token"));
    let mut seen = 0;
    let (zp, live) = plan_for(&p, &zone_of(3, 1)).await;
    let report = apply_zone_plan_observed(
        &p,
        &zp,
        &live,
        &ApplyOptions::new(policy(3)),
        &mut |batch| seen += batch.len(),
    )
    .await;
    assert_eq!(kinds(&report), vec![Err(ErrorKind::Auth); 3]);
    let e = report.results[0].1.as_ref().unwrap_err();
    assert!(
        e.message.contains("creating zone example.test.") && e.message.contains("401"),
        "{e}"
    );
    assert!(!report.created_zone);
    assert_eq!(seen, 3, "the failure is reported to the batch observer too");
    assert_eq!(p.create_calls(), 1, "auth is not retried");
    assert_eq!(p.apply_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_target_that_cannot_create_zones_is_skipped_by_the_planner() {
    let caps = Capabilities {
        creates_zones: false,
        ..rrset_caps()
    };
    let p = MemoryProvider::new("mem").with_capabilities(caps);
    let (zp, live) = plan_for(&p, &zone_of(2, 1)).await;
    assert_eq!(zp.blocked, Some(crate::plan::BlockReason::ZoneMissing));
    assert!(!zp.writes());
    assert_eq!(
        zp.changes.len(),
        2,
        "the plan still shows what the zone would get"
    );
    // Applied anyway (a caller that ignored `writes`): NotFound on every change, no call.
    let report = apply_zone_plan(&p, &zp, &live, &ApplyOptions::new(policy(3))).await;
    assert_eq!(kinds(&report), vec![Err(ErrorKind::NotFound); 2]);
    assert!(report.results[0]
        .1
        .as_ref()
        .unwrap_err()
        .message
        .contains("cannot create zones"));
    assert_eq!(p.create_calls(), 0);
    assert_eq!(p.apply_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_empty_plan_calls_nothing() {
    let p = MemoryProvider::new("mem");
    let (zp, live) = plan_for(&p, &Zone::new(origin())).await;
    assert!(zp.is_empty());
    let report = apply_zone_plan(&p, &zp, &live, &ApplyOptions::default()).await;
    assert!(report.results.is_empty());
    assert_eq!((p.create_calls(), p.apply_calls()), (0, 0));
}
