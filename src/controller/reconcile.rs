//! The one reconcile path, shared by `zonekeeper apply` and the daemon:
//! read (retried) -> plan -> gate (unsafe, policy, blocked) -> apply -> re-read -> verify,
//! per target of one zone, returning a typed [`ZoneReport`].
//!
//! The CLI and the daemon only choose [`ReconcileOptions`] (force, journal, revision) and
//! what to do with the report (print and exit, or status and metrics). The CLI splits the
//! path in two ([`plan_targets`], then [`apply_planned`]) so it can print the whole plan and
//! check a reviewed plan hash in between; the daemon calls [`reconcile_zone`], which is
//! exactly those two steps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::record::{self, NewerRevision, RevisionStamp};
use super::{last_apply_of, plan_from_live, Providers};
use crate::apply::{apply_zone_plan_journaled, ApplyOptions, ApplyReport, BatchJournal};
use crate::config::ZoneConfig;
use crate::manifest::ZoneManifest;
use crate::model::{CanonicalSet, Fqdn, RrKey};
use crate::plan::{Change, Op, Policy, UnsafeReason, ZonePlan};
use crate::provider::{ChangeOutcome, ErrorKind, Observed, Provider, ProviderError};
use crate::retry::{self, RetryPolicy};
use crate::telemetry::journal::{self, now_rfc3339, Entry, Journal, LastApplies};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::status::Drift;

/// Where applied changes are journaled, and under which revision: an intent line per change
/// before each write call, its outcome after (see [`crate::telemetry::journal`]).
#[derive(Clone)]
pub struct JournalSink {
    pub journal: Arc<Mutex<Journal>>,
    /// The source revision (commit id) the changes come from; `local` for a CLI run
    /// outside a followed repository.
    pub revision: String,
}

/// What the caller decides; everything else is the same for the CLI and the daemon.
#[derive(Clone, Default)]
pub struct ReconcileOptions {
    /// Apply plans over the safety thresholds (or changing the apex NS).
    pub force: bool,
    /// The one retry policy (`apply.retry`) serves reads and writes alike, and the
    /// observer that counts retries for metrics.
    pub apply: ApplyOptions,
    /// Every applied change is journaled here, batch by batch, when set.
    pub journal: Option<JournalSink>,
    /// The revision written to zones with `revision_record: true` and checked against any
    /// zone's live record (the daemon's; `None` for the CLI, which leaves the record as it
    /// is).
    pub stamp: Option<RevisionStamp>,
    /// The most recent apply of each zone and target, followed in the journal: a plan
    /// that undoes all of it does not count those changes toward the thresholds. `None`:
    /// every change counts.
    pub last_applies: Option<Arc<Mutex<LastApplies>>>,
}

impl ReconcileOptions {
    /// The default options with the retry policy's deadline set to `deadline`.
    pub fn with_deadline(deadline: Duration) -> ReconcileOptions {
        let mut o = ReconcileOptions::default();
        o.apply.retry.deadline = deadline;
        o
    }
}

/// Why a target did not converge.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TargetError {
    #[error("provider {0:?} is not configured")]
    ProviderMissing(String),
    #[error("reading the zone failed")]
    Read(#[source] ProviderError),
    #[error("{failed} of {total} change(s) failed, first: {op} {key}")]
    Write {
        failed: usize,
        total: usize,
        op: &'static str,
        key: String,
        #[source]
        first: ProviderError,
    },
    #[error("re-reading the zone to verify failed")]
    Verify(#[source] ProviderError),
    #[error("{0} change(s) still pending after apply and re-read")]
    NotConverged(usize),
    /// The zone's revision record names a newer or unrelated revision: nothing written.
    #[error("{0}")]
    Rewound(NewerRevision),
}

impl TargetError {
    /// Worth retrying soon: the provider failed transiently (or the zone moved under us).
    pub fn is_transient(&self) -> bool {
        match self {
            TargetError::ProviderMissing(_) => false,
            TargetError::Read(e) | TargetError::Verify(e) => e.kind.is_retryable(),
            TargetError::Write { first, .. } => first.kind.is_retryable(),
            TargetError::NotConverged(_) => true,
            TargetError::Rewound(_) => false,
        }
    }
}

/// What happened on one target, worst last (the zone's outcome is the worst of its
/// targets').
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing to change, or every change applied and verified.
    Success,
    /// Changes pending but the zone's policy is `warn`: reported, not applied.
    Drift,
    /// The zone is not on the target and the target cannot create zones: nothing written.
    Blocked,
    /// The plan is over the safety thresholds: waits for `apply --force`.
    Unsafe,
    /// Reading, writing or verifying failed.
    Failed,
}

impl Outcome {
    /// The label used in metrics, status and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Drift => "drift",
            Outcome::Blocked => "blocked",
            Outcome::Unsafe => "unsafe",
            Outcome::Failed => "failed",
        }
    }

    /// `zonekeeper apply`'s exit status for a run whose worst outcome is this: 0 success
    /// or drift under policy `warn`, 1 failed, 3 unsafe or blocked (a human must act).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success | Outcome::Drift => 0,
            Outcome::Failed => 1,
            Outcome::Unsafe | Outcome::Blocked => 3,
        }
    }
}

/// Each target of a zone with its plan, or why there is none.
pub type PlannedTargets = Vec<(String, Result<TargetPlan, TargetError>)>;

/// One target planned from one read: the plan and the read it was made from (handed to
/// the write).
#[derive(Clone, Debug)]
pub struct TargetPlan {
    pub plan: ZonePlan,
    pub observed: Arc<Observed>,
}

/// The reconcile of one zone on one target.
#[derive(Debug)]
pub struct TargetReport {
    pub target: String,
    pub outcome: Outcome,
    /// The plan made from the first read (absent when the read failed).
    pub plan: Option<ZonePlan>,
    /// Differences at the end: after a verified apply zero, otherwise the plan's.
    pub drift: Drift,
    /// Why the plan waits for `--force` (empty when safe).
    pub unsafe_reasons: Vec<UnsafeReason>,
    pub apply: Option<ApplyReport>,
    pub error: Option<TargetError>,
}

/// The reconcile of one zone on each of its targets.
#[derive(Debug)]
pub struct ZoneReport {
    pub zone: Fqdn,
    pub targets: Vec<TargetReport>,
    pub duration: Duration,
}

impl ZoneReport {
    /// The worst outcome over the targets (`Success` for a zone with none).
    pub fn outcome(&self) -> Outcome {
        self.targets
            .iter()
            .map(|t| t.outcome)
            .max()
            .unwrap_or(Outcome::Success)
    }

    /// True when the zone failed and every failure is worth retrying soon.
    pub fn transient(&self) -> bool {
        let mut failed = self
            .targets
            .iter()
            .filter(|t| t.outcome == Outcome::Failed)
            .peekable();
        failed.peek().is_some()
            && failed.all(|t| t.error.as_ref().is_some_and(TargetError::is_transient))
    }

    /// Changes applied successfully over every target.
    pub fn applied(&self) -> usize {
        self.targets
            .iter()
            .filter_map(|t| t.apply.as_ref())
            .map(ApplyReport::ok_count)
            .sum()
    }

    /// Every target's error as one line, `target: error: cause`.
    pub fn error_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .targets
            .iter()
            .filter_map(|t| {
                t.error
                    .as_ref()
                    .map(|e| format!("{}: {}", t.target, super::chain(e)))
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Every target's unsafe reasons, `target: reason`.
    pub fn unsafe_reasons(&self) -> Vec<String> {
        self.targets
            .iter()
            .flat_map(|t| {
                t.unsafe_reasons
                    .iter()
                    .map(move |r| format!("{}: {r}", t.target))
            })
            .collect()
    }
}

impl ZoneReport {
    /// Feeds the report to the metrics (the one place both `apply` and the daemon do it):
    /// the outcome, duration and unsafe flag, each target's drift, each applied change.
    pub fn record(&self, m: &Metrics) {
        let zone = self.zone.as_str();
        m.record_reconcile(
            zone,
            self.outcome().as_str(),
            self.duration,
            self.targets.iter().any(|t| !t.unsafe_reasons.is_empty()),
        );
        for t in &self.targets {
            m.record_drift(zone, &t.target, t.drift);
            for (c, o) in t.apply.iter().flat_map(|a| &a.results) {
                if o.is_ok() {
                    m.record_applied(zone, &t.target, c.op().as_str());
                }
            }
        }
    }
}

/// What differs between manifest and live, by kind, from a plan.
pub fn drift_of(plan: &ZonePlan) -> Drift {
    Drift {
        missing: plan.count(Op::Create),
        extra: plan.count(Op::Delete),
        changed: plan.count(Op::Update),
    }
}

/// Reads a zone, retrying per `policy` (429 waits do not spend retries).
pub async fn read_with_retry(
    p: &dyn Provider,
    zone: &Fqdn,
    policy: &RetryPolicy,
) -> Result<Observed, ProviderError> {
    read_retrying(p, zone, policy, "read", || p.read_zone(zone)).await
}

/// Runs the read `op` of `zone` on `p` under `policy`: the read, transport retries
/// included, ends by the policy's deadline; each retry is logged as a failed `what`.
async fn read_retrying<F, Fut>(
    p: &dyn Provider,
    zone: &Fqdn,
    policy: &RetryPolicy,
    what: &'static str,
    op: F,
) -> Result<Observed, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Observed, ProviderError>>,
{
    let deadline = Instant::now() + policy.deadline;
    retry::within(
        deadline,
        retry::retry(
            &policy.above(p.capabilities().transport_retries),
            deadline,
            |e: &ProviderError| e,
            |e, wait| {
                tracing::warn!(provider = p.name(), %zone, what, error = %e, retry_in = ?wait, "read failed, retrying");
            },
            op,
        ),
    )
    .await
}

/// Reads and plans every target of one zone. A target whose provider is missing or whose
/// read failed is an `Err` (reported as failed by [`apply_planned`]). `last` follows the
/// journal for the undo check.
pub async fn plan_targets(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    providers: &Providers,
    read_retry: &RetryPolicy,
    last: Option<&Mutex<LastApplies>>,
) -> PlannedTargets {
    let mut out = Vec::with_capacity(zc.targets.len());
    for target in &zc.targets {
        let r = match providers.get(target) {
            None => Err(TargetError::ProviderMissing(target.clone())),
            Some(p) => match read_with_retry(p.as_ref(), &zc.name, read_retry).await {
                Ok(observed) => {
                    let last_apply = last_apply_of(last, &zc.name, target);
                    Ok(TargetPlan {
                        plan: plan_from_live(
                            zc,
                            manifest,
                            p.as_ref(),
                            &observed,
                            last_apply.as_deref(),
                        ),
                        observed: Arc::new(observed),
                    })
                }
                Err(e) => Err(TargetError::Read(e)),
            },
        };
        out.push((target.clone(), r));
    }
    out
}

/// Gates, applies, re-reads and verifies each planned target of one zone.
pub async fn apply_planned(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    providers: &Providers,
    planned: PlannedTargets,
    opts: &ReconcileOptions,
) -> ZoneReport {
    let started = Instant::now();
    let mut targets = Vec::with_capacity(planned.len());
    for (target, r) in planned {
        let tp = match r {
            Ok(tp) => tp,
            Err(e) => {
                targets.push(TargetReport {
                    target,
                    outcome: Outcome::Failed,
                    plan: None,
                    drift: Drift::default(),
                    unsafe_reasons: Vec::new(),
                    apply: None,
                    error: Some(e),
                });
                continue;
            }
        };
        let Some(p) = providers.get(&target) else {
            targets.push(failed_target(target, tp.plan, TargetError::ProviderMissing));
            continue;
        };
        targets.push(apply_target(zc, manifest, p.as_ref(), target, tp, opts).await);
    }
    ZoneReport {
        zone: zc.name.clone(),
        targets,
        duration: started.elapsed(),
    }
}

fn failed_target(
    target: String,
    plan: ZonePlan,
    err: impl FnOnce(String) -> TargetError,
) -> TargetReport {
    TargetReport {
        drift: drift_of(&plan),
        error: Some(err(target.clone())),
        target,
        outcome: Outcome::Failed,
        unsafe_reasons: plan.unsafe_reasons.clone(),
        plan: Some(plan),
        apply: None,
    }
}

async fn apply_target(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    p: &dyn Provider,
    target: String,
    tp: TargetPlan,
    opts: &ReconcileOptions,
) -> TargetReport {
    let TargetPlan { plan, observed } = tp;
    let mut report = TargetReport {
        target,
        outcome: Outcome::Success,
        drift: drift_of(&plan),
        unsafe_reasons: plan.unsafe_reasons.clone(),
        plan: None,
        apply: None,
        error: None,
    };
    // The gates, in the order a reviewer reads them.
    if plan.changes.is_empty() {
        report.plan = Some(plan);
        return report;
    }
    if plan.blocked.is_some() {
        report.outcome = Outcome::Blocked;
        report.plan = Some(plan);
        return report;
    }
    // Checked whatever this revision says about the record: a revision that predates it or
    // turns it off must not go backwards over it either.
    if let Some(stamp) = &opts.stamp {
        if let Err(e) = record::check(stamp, &zc.name, &observed.zone).await {
            report.outcome = Outcome::Blocked;
            report.error = Some(TargetError::Rewound(e));
            report.plan = Some(plan);
            return report;
        }
    }
    if !plan.unsafe_reasons.is_empty() && !opts.force {
        report.outcome = Outcome::Unsafe;
        report.plan = Some(plan);
        return report;
    }
    if plan.policy == Policy::Warn {
        report.outcome = Outcome::Drift;
        report.plan = Some(plan);
        return report;
    }
    let applied = match &opts.journal {
        Some(sink) => {
            let mut hook = JournalHook {
                sink,
                zone: &zc.name,
                target: &report.target,
                batch: None,
            };
            apply_zone_plan_journaled(p, &plan, &observed, &opts.apply, &mut hook).await
        }
        None => apply_zone_plan_journaled(p, &plan, &observed, &opts.apply, &mut NoJournal).await,
    };
    let failed: Vec<&(Change, ChangeOutcome)> = applied.failed().collect();
    if let Some((c, Err(first))) = failed.first() {
        report.outcome = Outcome::Failed;
        report.error = Some(TargetError::Write {
            failed: failed.len(),
            total: applied.results.len(),
            op: c.op().as_str(),
            key: c.key().to_string(),
            first: first.clone(),
        });
        report.apply = Some(applied);
        report.plan = Some(plan);
        return report;
    }
    report.apply = Some(applied);
    match verify(zc, manifest, p, &plan, &observed, &opts.apply.retry).await {
        Ok(drift) => {
            report.drift = drift;
            let pending = drift.missing + drift.extra + drift.changed;
            if pending > 0 {
                report.outcome = Outcome::Failed;
                report.error = Some(TargetError::NotConverged(pending));
            }
        }
        Err(e) => {
            report.outcome = Outcome::Failed;
            report.error = Some(TargetError::Verify(e));
        }
    }
    report.plan = Some(plan);
    report
}

/// Verifies an applied plan, or "applied" means nothing; returns what still differs.
///
/// When the provider can read back just the touched RRsets cheaper than the whole zone
/// ([`Provider::reads_rrsets`]), each change's RRset is read back and must equal what the
/// plan wrote (absent for a delete): the write is verified, and drift elsewhere in the zone
/// is left to the resync sweep. Otherwise (and for a zone that did not exist before) the
/// whole zone is re-read and must plan empty.
async fn verify(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    p: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    policy: &RetryPolicy,
) -> Result<Drift, ProviderError> {
    if observed.exists && p.reads_rrsets(&plan.changes, observed.zone.len()) {
        let keys: Vec<RrKey> = plan.changes.iter().map(|c| c.key().clone()).collect();
        let after = read_rrsets_with_retry(p, &zc.name, &keys, policy).await?;
        return Ok(touched_drift(&plan.changes, &after));
    }
    let after = read_with_retry(p, &zc.name, policy).await?;
    // Only whether anything is left matters here, not how it would be judged.
    Ok(drift_of(&plan_from_live(zc, manifest, p, &after, None)))
}

/// What differs between the RRsets `changes` wrote and a read-back of them: a missing
/// RRset the change created or updated, an extra one it deleted, a changed one.
pub fn touched_drift(changes: &[Change], after: &Observed) -> Drift {
    let mut d = Drift::default();
    for c in changes {
        match (c.new_set(), after.zone.get(c.key())) {
            (Some(_), None) => d.missing += 1,
            (None, Some(_)) => d.extra += 1,
            (Some(want), Some(got)) if want != got => d.changed += 1,
            _ => {}
        }
    }
    d
}

/// Reads the RRsets `keys` of a zone ([`Provider::read_rrsets`]), retrying as
/// [`read_with_retry`] does.
async fn read_rrsets_with_retry(
    p: &dyn Provider,
    zone: &Fqdn,
    keys: &[RrKey],
    policy: &RetryPolicy,
) -> Result<Observed, ProviderError> {
    read_retrying(p, zone, policy, "read-back", || p.read_rrsets(zone, keys)).await
}

/// Reads, plans and applies one zone on each of its targets: [`plan_targets`] then
/// [`apply_planned`].
pub async fn reconcile_zone(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    providers: &Providers,
    opts: &ReconcileOptions,
) -> ZoneReport {
    let started = Instant::now();
    let mut planned = plan_targets(
        zc,
        manifest,
        providers,
        &opts.apply.retry,
        opts.last_applies.as_deref(),
    )
    .await;
    if let Some(stamp) = opts.stamp.as_ref().filter(|_| zc.revision_record) {
        // Written only with other changes: the record names the revision that last wrote.
        for (target, r) in &mut planned {
            if let (Ok(tp), Some(p)) = (r, providers.get(target.as_str())) {
                record::add_record(&mut tp.plan, &tp.observed.zone, p.as_ref(), stamp);
            }
        }
    }
    let mut report = apply_planned(zc, manifest, providers, planned, opts).await;
    report.duration = started.elapsed();
    report
}

/// Journals one target's write calls: intents (one fsync) before each call, outcomes (one
/// fsync) after, both under the call's batch id.
struct JournalHook<'a> {
    sink: &'a JournalSink,
    zone: &'a Fqdn,
    target: &'a str,
    /// The batch id of the call in progress.
    batch: Option<String>,
}

impl JournalHook<'_> {
    fn append(&self, entries: &[Entry]) -> std::io::Result<()> {
        match self.sink.journal.lock() {
            Ok(mut j) => j.append(entries).inspect_err(|e| {
                tracing::error!(error = %e, journal = %j.path().display(), "cannot write the audit journal");
            }),
            Err(_) => {
                tracing::error!("the audit journal lock is poisoned; entries lost");
                Err(std::io::Error::other("the audit journal lock is poisoned"))
            }
        }
    }
}

impl BatchJournal for JournalHook<'_> {
    /// Nothing is sent unless its intent is on disk: an audit trail with a write missing
    /// from it is what intents exist to prevent.
    fn before(&mut self, batch: &[Change]) -> Result<(), ProviderError> {
        let id = journal::new_batch_id();
        self.batch = Some(id.clone());
        let entries: Vec<Entry> = batch
            .iter()
            .map(|c| Entry {
                batch: Some(id.clone()),
                ..journal_entry(self.zone, self.target, &self.sink.revision, c, &Ok(()))
            })
            .map(|e| Entry {
                outcome: journal::INTENT.into(),
                ..e
            })
            .collect();
        self.append(&entries).map_err(|e| {
            ProviderError::new(
                ErrorKind::NotAttempted,
                format!("not sent: its intent could not be written to the audit journal: {e}"),
            )
        })
    }

    fn after(&mut self, results: &[(Change, ChangeOutcome)]) {
        // A failed zone creation reaches here with no call made: no batch.
        let batch = self.batch.take();
        let entries: Vec<Entry> = results
            .iter()
            .map(|(c, o)| Entry {
                batch: batch.clone(),
                ..journal_entry(self.zone, self.target, &self.sink.revision, c, o)
            })
            .collect();
        // What was applied is applied: a journal failure is logged loudly, never stops the
        // run.
        let _ = self.append(&entries);
    }
}

/// No journal (library callers, tests).
struct NoJournal;

impl BatchJournal for NoJournal {
    fn before(&mut self, _batch: &[Change]) -> Result<(), ProviderError> {
        Ok(())
    }

    fn after(&mut self, _results: &[(Change, ChangeOutcome)]) {}
}

/// An RRset as the journal writes it (`before`, `after`): `{ttl, values}` in presentation
/// format, sorted, plus `settings` when it has provider settings. Equal RRsets give equal
/// values, so recovery compares live RRsets with journaled ones this way.
pub fn rrset_json(s: &crate::model::RrSet) -> serde_json::Value {
    CanonicalSet::of(s).into_json()
}

/// One journal line for one change's outcome (no batch: the caller sets it).
pub fn journal_entry(
    zone: &Fqdn,
    target: &str,
    revision: &str,
    c: &Change,
    outcome: &ChangeOutcome,
) -> Entry {
    // The one canonical form: what the undo check compares plans against.
    let set = |s: Option<&crate::model::RrSet>| s.map(|s| CanonicalSet::of(s).into_json());
    Entry {
        time: now_rfc3339(),
        zone: zone.to_string(),
        target: target.to_string(),
        op: c.op().as_str().to_string(),
        name: c.key().name.to_string(),
        rtype: c.key().rtype.to_string(),
        before: set(c.old()),
        after: set(c.new_set()),
        commit: revision.to_string(),
        outcome: match outcome {
            Ok(()) => "ok".into(),
            Err(e) => e.kind.as_str().into(),
        },
        error: outcome.as_ref().err().map(|e| e.message.clone()),
        batch: None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::model::{RData, RecordType, RrKey, RrSet, Zone};
    use crate::plan::{plan_zone, BatchLimit, Capabilities, PlanInput, Thresholds};
    use crate::provider::memory::MemoryProvider;
    use crate::telemetry::journal::{open_intents, INTENT};

    fn zone_of(hosts: usize, last: u8) -> Zone {
        let origin = Fqdn::parse("example.test.").unwrap();
        let mut z = Zone::new(origin);
        for i in 0..hosts {
            z.put(
                RrKey::new(
                    Fqdn::parse(&format!("h{i}.example.test.")).unwrap(),
                    RecordType::A,
                ),
                RrSet::new(300, vec![RData::A(Ipv4Addr::new(192, 0, 2, last))]),
            );
        }
        z
    }

    #[tokio::test]
    async fn every_change_has_its_intent_on_disk_before_the_provider_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let sink = JournalSink {
            journal: Arc::new(Mutex::new(Journal::open(&path).unwrap())),
            revision: "r1".into(),
        };
        // The provider looks at the journal as each change reaches it.
        let (seen, missing) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (p2, s2, m2) = (path.clone(), seen.clone(), missing.clone());
        let caps = Capabilities {
            batch: BatchLimit {
                max_changes: Some(3),
                ..BatchLimit::UNLIMITED
            },
            granularity: crate::plan::Granularity::RrSet,
            ..Capabilities::everything()
        };
        let p = MemoryProvider::new("mem")
            .with_capabilities(caps)
            .with_reject(Arc::new(move |c: &Change| {
                s2.fetch_add(1, Ordering::SeqCst);
                let open = open_intents(&p2).unwrap();
                if !open.iter().any(|e| e.name == c.key().name.to_string()) {
                    m2.fetch_add(1, Ordering::SeqCst);
                }
                None
            }));
        p.seed(zone_of(4, 1));
        let desired = zone_of(8, 2); // 4 updates, 4 creates: 3 calls of at most 3
        let live = p.read_zone(&desired.origin).await.unwrap();
        let plan = plan_zone(&PlanInput {
            processors: &Default::default(),
            target: "mem",
            desired: &desired,
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
        assert_eq!(plan.changes.len(), 8);
        let mut hook = JournalHook {
            sink: &sink,
            zone: &desired.origin,
            target: "mem",
            batch: None,
        };
        let report =
            apply_zone_plan_journaled(&p, &plan, &live, &ApplyOptions::default(), &mut hook).await;
        assert!(report.all_ok());
        assert_eq!(seen.load(Ordering::SeqCst), 8);
        assert_eq!(
            missing.load(Ordering::SeqCst),
            0,
            "a change reached the provider with no intent on disk"
        );
        let lines = Journal::read_all(&path).unwrap();
        assert_eq!(lines.len(), 16, "one intent and one outcome per change");
        // Per call: its intents, then its outcomes, all under one new batch id.
        let batches: Vec<&str> = lines.iter().filter_map(|e| e.batch.as_deref()).collect();
        assert_eq!(batches.len(), 16);
        let mut ids: Vec<&str> = batches.clone();
        ids.dedup();
        assert_eq!(ids.len(), 3, "three calls, three batch ids: {ids:?}");
        let kinds: Vec<&str> = lines.iter().map(|e| e.outcome.as_str()).collect();
        let intent_then_ok = |n: usize| [vec![INTENT; n], vec!["ok"; n]].concat();
        assert_eq!(
            kinds,
            [intent_then_ok(3), intent_then_ok(3), intent_then_ok(2)].concat()
        );
        assert!(lines.iter().all(|e| e.commit == "r1" && e.target == "mem"));
        assert!(open_intents(&path).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_change_whose_intent_cannot_be_journaled_is_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path).unwrap();
        // A journal that cannot be written (a poisoned lock stands in for a full disk:
        // tests run as root, where permissions stop no write).
        let sink = JournalSink {
            journal: Arc::new(Mutex::new(journal)),
            revision: "r1".into(),
        };
        let j2 = sink.journal.clone();
        let _ = std::thread::spawn(move || {
            let _g = j2.lock().unwrap();
            panic!("poison the journal lock");
        })
        .join();
        let p = MemoryProvider::new("mem");
        p.seed(zone_of(1, 1));
        let desired = zone_of(2, 1);
        let live = p.read_zone(&desired.origin).await.unwrap();
        let plan = plan_zone(&PlanInput {
            processors: &Default::default(),
            target: "mem",
            desired: &desired,
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
        let mut hook = JournalHook {
            sink: &sink,
            zone: &desired.origin,
            target: "mem",
            batch: None,
        };
        let report =
            apply_zone_plan_journaled(&p, &plan, &live, &ApplyOptions::default(), &mut hook).await;
        let e = report.results[0].1.as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotAttempted);
        assert!(e.message.contains("intent could not be written"), "{e}");
        assert_eq!(p.apply_calls(), 0, "nothing was sent");
        assert_eq!(p.snapshot(&desired.origin), Some(zone_of(1, 1)));
    }
}
