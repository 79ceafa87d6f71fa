//! `zonekeeper run`: the long-running controller.
//!
//! A loop over triggers (poll timer, webhook, file-system change, resync timer, per-zone
//! retry timers, finished reconciles, shutdown). A new source revision is loaded whole and
//! only put in force if every manifest is valid; zones whose inputs changed are reconciled
//! at once, every zone again at each jittered resync. One zone is never reconciled twice at
//! once; at most `concurrency` zones run together. Failures are data (status, metrics), never
//! exits: a zone that failed transiently is retried with a per-zone jittered backoff that
//! resets on success.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::instrument::Instrumented;
use super::{plan_from_live, Providers};
use crate::apply::{apply_zone_plan_observed, ApplyOptions};
use crate::config::{Config, Secret, ZoneConfig};
use crate::manifest::{self, ZoneManifest};
use crate::model::Fqdn;
use crate::plan::{Change, Op, Policy};
use crate::provider::{self, Observed, Provider, ProviderError};
use crate::source::{Snapshot, Source};
use crate::telemetry::journal::{now_rfc3339, Entry, Journal};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::status::{DaemonStatus, Drift, RefusedRevision, Run, ZoneStatus};

/// How the daemon runs (flags or the `controller:` config section).
#[derive(Clone, Debug)]
pub struct DaemonSettings {
    pub listen: SocketAddr,
    /// Source poll interval (jittered by +-10%).
    pub interval: Duration,
    /// Full drift sweep interval (jittered by +-10%).
    pub resync_interval: Duration,
    /// Zones reconciled at the same time.
    pub concurrency: usize,
    pub journal: PathBuf,
    pub webhook_secret: Option<Secret>,
    pub apply: ApplyOptions,
    /// Per-zone retry backoff after a transient failure.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Which secret references the followed manifests may resolve.
    pub secrets: crate::secret::SecretPolicy,
}

/// Why the daemon could not start (it never stops on reconcile errors).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the audit journal {path}")]
    Journal {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A revision in force: its checked config, manifests and providers.
struct Loaded {
    revision: String,
    committed_at: Option<SystemTime>,
    zones: BTreeMap<Fqdn, Arc<(ZoneConfig, ZoneManifest)>>,
    /// What each zone's reconcile depends on, hashed: a zone is reconciled at once when
    /// this changes between revisions.
    inputs: BTreeMap<Fqdn, String>,
    providers: Arc<Providers>,
}

/// What one zone's reconcile came to.
struct ZoneRun {
    zone: Fqdn,
    revision: String,
    outcome: &'static str,
    error: Option<String>,
    /// Worth retrying soon (transient provider errors).
    transient: bool,
    applied: usize,
    unsafe_reasons: Vec<String>,
    drift: BTreeMap<String, Drift>,
    duration: Duration,
}

/// An error with its causes, `outer: inner: ...` (messages never repeat their source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// +-10% jitter so many daemons (or zones) do not move in lockstep.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.9 + fastrand::f64() * 0.2)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Loads a snapshot: config, every manifest, every provider. All or nothing.
fn load_snapshot(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    secrets: &crate::secret::SecretPolicy,
) -> Result<Loaded, Vec<String>> {
    // A secret committed to the repository is no secret: never read files from the snapshot.
    let secrets = secrets.clone().deny_files_under(snap.root.clone());
    let config_path = snap.root.join("zonekeeper.yaml");
    let config = Config::load(&config_path)
        .map_err(|d| d.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let manifests = manifest::load_all(&config, None)
        .map_err(|d| d.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let mut providers: Providers = BTreeMap::new();
    let mut errors = Vec::new();
    for p in config.providers.values() {
        match provider::build(
            &p.name,
            &p.settings,
            // The transports report requests, retries and 429s to the metrics.
            &provider::BuildContext {
                observer: metrics.clone(),
                ..provider::BuildContext::new(secrets.clone())
            },
        ) {
            Ok(b) => {
                providers.insert(
                    p.name.clone(),
                    Box::new(Instrumented::new(b, metrics.clone())),
                );
            }
            Err(e) => errors.push(format!("provider {:?}: {}", p.name, chain(&e))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut zones = BTreeMap::new();
    let mut inputs = BTreeMap::new();
    for (zc, m) in manifests {
        let mut h = Sha256::new();
        h.update(&m.content_sha256);
        h.update(format!(
            "{:?}|{:?}|{:?}|{:?}",
            zc.targets, zc.policy, zc.thresholds, zc.ignore
        ));
        for t in &zc.targets {
            if let Some(p) = config.providers.get(t) {
                h.update(format!("{:?}", p.settings));
            }
        }
        inputs.insert(zc.name.clone(), hex::encode(h.finalize()));
        zones.insert(zc.name.clone(), Arc::new((zc, m)));
    }
    Ok(Loaded {
        revision: snap.revision.clone(),
        committed_at: snap.committed_at,
        zones,
        inputs,
        providers: Arc::new(providers),
    })
}

/// Reads a zone, retrying transient errors (the same policy as writes).
async fn read_with_retry(
    p: &dyn Provider,
    zone: &Fqdn,
    opts: &ApplyOptions,
) -> Result<Observed, ProviderError> {
    let backoff = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(opts.min_delay)
        .with_max_delay(opts.max_delay)
        .with_max_times(opts.retries);
    (|| p.read_zone(zone))
        .retry(backoff)
        .when(|e: &ProviderError| e.kind.is_retryable())
        .adjust(|e: &ProviderError, d| match (e.retry_after, d) {
            (Some(ra), Some(d)) => Some(ra.max(d)),
            (_, d) => d,
        })
        .await
}

fn journal_entry(
    zone: &Fqdn,
    target: &str,
    revision: &str,
    c: &Change,
    outcome: &Result<(), ProviderError>,
) -> Entry {
    let set = |s: Option<&crate::model::RrSet>| {
        s.map(|s| {
            serde_json::json!({"ttl": s.ttl, "values": s.values().iter().map(ToString::to_string).collect::<Vec<_>>()})
        })
    };
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
    }
}

/// Reconciles one zone on each of its targets.
async fn reconcile(
    loaded: Arc<Loaded>,
    entry: Arc<(ZoneConfig, ZoneManifest)>,
    metrics: Arc<Metrics>,
    journal: Arc<Mutex<Journal>>,
    opts: ApplyOptions,
) -> ZoneRun {
    let started = Instant::now();
    let (zc, m) = &*entry;
    let mut run = ZoneRun {
        zone: zc.name.clone(),
        revision: loaded.revision.clone(),
        outcome: "success",
        error: None,
        transient: false,
        applied: 0,
        unsafe_reasons: Vec::new(),
        drift: BTreeMap::new(),
        duration: Duration::ZERO,
    };
    let fail = |run: &mut ZoneRun, msg: String, transient: bool| {
        run.outcome = "failed";
        run.transient |= transient;
        run.error = Some(match run.error.take() {
            Some(prev) => format!("{prev}; {msg}"),
            None => msg,
        });
    };
    for target in &zc.targets {
        let Some(p) = loaded.providers.get(target) else {
            fail(&mut run, format!("{target}: provider missing"), false);
            continue;
        };
        let p = p.as_ref();
        let live = match read_with_retry(p, &zc.name, &opts).await {
            Ok(l) => l,
            Err(e) => {
                fail(
                    &mut run,
                    format!("{target}: reading failed: {e}"),
                    e.kind.is_retryable(),
                );
                continue;
            }
        };
        let plan = plan_from_live(zc, m, p, &live);
        let drift = Drift {
            missing: plan.count(Op::Create),
            extra: plan.count(Op::Delete),
            changed: plan.count(Op::Update),
        };
        run.drift.insert(target.clone(), drift);
        if plan.changes.is_empty() {
            continue;
        }
        if !plan.unsafe_reasons.is_empty() {
            run.unsafe_reasons
                .extend(plan.unsafe_reasons.iter().map(|r| format!("{target}: {r}")));
            if run.outcome == "success" {
                run.outcome = "unsafe";
            }
            continue;
        }
        if plan.policy == Policy::Warn {
            if run.outcome == "success" {
                run.outcome = "drift";
            }
            continue;
        }
        let journal_batch = |results: &[(Change, Result<(), ProviderError>)]| {
            let entries: Vec<Entry> = results
                .iter()
                .map(|(c, o)| journal_entry(&zc.name, target, &loaded.revision, c, o))
                .collect();
            if let Ok(mut j) = journal.lock() {
                if let Err(e) = j.append(&entries) {
                    tracing::error!(error = %e, journal = %j.path().display(), "cannot write the audit journal");
                }
            }
        };
        let report = apply_zone_plan_observed(p, &plan, &live, &opts, &mut { journal_batch }).await;
        for (c, o) in &report.results {
            if o.is_ok() {
                metrics
                    .changes_applied_total
                    .with_label_values(&[zc.name.as_str(), target.as_str(), c.op().as_str()])
                    .inc();
            }
        }
        run.applied += report.ok_count();
        if let Some((c, Err(e))) = report.failed().next() {
            let n = report.failed().count();
            let transient = report
                .failed()
                .all(|(_, o)| o.as_ref().err().is_some_and(|e| e.kind.is_retryable()));
            fail(
                &mut run,
                format!(
                    "{target}: {n} change(s) failed, first: {} {}: {e}",
                    c.op().as_str(),
                    c.key()
                ),
                transient,
            );
            continue;
        }
        // Verify: re-read and re-plan must be empty.
        match read_with_retry(p, &zc.name, &opts).await {
            Ok(after) => {
                let again = plan_from_live(zc, m, p, &after);
                run.drift.insert(
                    target.clone(),
                    Drift {
                        missing: again.count(Op::Create),
                        extra: again.count(Op::Delete),
                        changed: again.count(Op::Update),
                    },
                );
                if !again.changes.is_empty() {
                    fail(
                        &mut run,
                        format!(
                            "{target}: {} change(s) still pending after apply",
                            again.changes.len()
                        ),
                        true,
                    );
                }
            }
            Err(e) => fail(
                &mut run,
                format!("{target}: verifying failed: {e}"),
                e.kind.is_retryable(),
            ),
        }
    }
    run.duration = started.elapsed();
    run
}

/// The loop's mutable state.
struct Controller {
    settings: DaemonSettings,
    source: Arc<dyn Source>,
    metrics: Arc<Metrics>,
    status: Arc<RwLock<DaemonStatus>>,
    journal: Arc<Mutex<Journal>>,
    loaded: Option<Arc<Loaded>>,
    /// A revision already refused: not reloaded on every poll.
    refused: Option<String>,
    queue: VecDeque<Fqdn>,
    queued: BTreeSet<Fqdn>,
    in_flight: BTreeSet<Fqdn>,
    /// Zones asked for again while they were running.
    dirty: BTreeSet<Fqdn>,
    /// Per-zone failure streaks and retry times.
    streak: HashMap<Fqdn, u32>,
    retry_at: BTreeMap<Instant, Vec<Fqdn>>,
    /// Zones of the first good revision not yet reconciled once (readiness).
    initial: Option<BTreeSet<Fqdn>>,
    /// When each zone's newest input change was committed (commit-to-applied SLO).
    committed: HashMap<Fqdn, SystemTime>,
    /// Which zone each running task reconciles (to clean up after a panic).
    task_zone: HashMap<tokio::task::Id, Fqdn>,
}

impl Controller {
    fn enqueue(&mut self, zone: Fqdn) {
        if self.in_flight.contains(&zone) {
            self.dirty.insert(zone);
        } else if self.queued.insert(zone.clone()) {
            self.queue.push_back(zone);
        }
    }

    async fn fetch(&mut self) {
        let snap = match self.source.fetch().await {
            Ok(s) => {
                self.metrics
                    .git_fetch_total
                    .with_label_values(&["success"])
                    .inc();
                if let Ok(mut st) = self.status.write() {
                    st.source_error = None;
                }
                s
            }
            Err(e) => {
                self.metrics
                    .git_fetch_total
                    .with_label_values(&[e.kind()])
                    .inc();
                tracing::warn!(error = %chain(&e), "source fetch failed; the revision in force stays");
                if let Ok(mut st) = self.status.write() {
                    st.source_error = Some(chain(&e));
                    use crate::source::SourceError;
                    if let SourceError::Unverified { revision, .. }
                    | SourceError::Rewound { revision, .. } = &e
                    {
                        st.refused_revision = Some(RefusedRevision {
                            revision: revision.clone(),
                            reasons: vec![e.to_string()],
                        });
                    }
                }
                return;
            }
        };
        if self
            .loaded
            .as_ref()
            .is_some_and(|l| l.revision == snap.revision)
            || self.refused.as_deref() == Some(&snap.revision)
        {
            return;
        }
        let metrics = self.metrics.clone();
        let s2 = snap.clone();
        let secrets = self.settings.secrets.clone();
        let loaded =
            match tokio::task::spawn_blocking(move || load_snapshot(&s2, &metrics, &secrets)).await
            {
                Ok(r) => r,
                Err(e) => Err(vec![format!("loading panicked: {e}")]),
            };
        match loaded {
            Err(reasons) => {
                tracing::error!(revision = %snap.revision, problems = reasons.len(), first = %reasons.first().map(String::as_str).unwrap_or(""), "revision refused: invalid manifests; the last good revision stays in force");
                self.metrics.manifest_errors.set(reasons.len() as i64);
                self.refused = Some(snap.revision.clone());
                if let Ok(mut st) = self.status.write() {
                    st.refused_revision = Some(RefusedRevision {
                        revision: snap.revision.clone(),
                        reasons,
                    });
                }
            }
            Ok(new) => {
                let new = Arc::new(new);
                self.metrics.manifest_errors.set(0);
                self.metrics.set_revision(&new.revision);
                let changed: Vec<Fqdn> = new
                    .inputs
                    .iter()
                    .filter(|(z, h)| {
                        self.loaded.as_ref().and_then(|l| l.inputs.get(*z)) != Some(*h)
                    })
                    .map(|(z, _)| z.clone())
                    .collect();
                if let Some(old) = &self.loaded {
                    for z in old.zones.keys().filter(|z| !new.zones.contains_key(*z)) {
                        // Removing a zone from the config stops managing it; nothing is deleted.
                        tracing::warn!(zone = %z, "zone no longer in the configuration: no longer managed (live records are left as they are)");
                        if let Ok(mut st) = self.status.write() {
                            st.zones.remove(z.as_str());
                        }
                        // Its series go too, or alerts would fire for a zone no longer managed.
                        let m = &self.metrics;
                        let _ = m.unsafe_plans.remove_label_values(&[z.as_str()]);
                        let _ = m.last_success.remove_label_values(&[z.as_str()]);
                        for t in old
                            .zones
                            .get(z)
                            .map(|e| e.0.targets.clone())
                            .unwrap_or_default()
                        {
                            for kind in ["missing", "extra", "changed"] {
                                let _ = m.zone_drift_records.remove_label_values(&[
                                    z.as_str(),
                                    t.as_str(),
                                    kind,
                                ]);
                            }
                        }
                    }
                }
                tracing::info!(revision = %new.revision, zones = new.zones.len(), changed = changed.len(), "revision in force");
                match &mut self.initial {
                    None => self.initial = Some(new.zones.keys().cloned().collect()),
                    // Zones dropped before their first reconcile no longer hold readiness back.
                    Some(initial) => initial.retain(|z| new.zones.contains_key(z)),
                }
                let ready_now = self.initial.as_ref().is_some_and(BTreeSet::is_empty);
                if let Ok(mut st) = self.status.write() {
                    st.ready |= ready_now;
                    st.revision = Some(new.revision.clone());
                    st.refused_revision = None;
                    for z in new.zones.keys() {
                        st.zones.entry(z.to_string()).or_default();
                    }
                }
                for z in &changed {
                    if let Some(t) = new.committed_at {
                        self.committed.insert(z.clone(), t);
                    }
                }
                self.refused = None;
                self.loaded = Some(new);
                for z in changed {
                    self.enqueue(z);
                }
            }
        }
    }

    fn dispatch(&mut self, tasks: &mut JoinSet<ZoneRun>) {
        let Some(loaded) = self.loaded.clone() else {
            return;
        };
        while tasks.len() < self.settings.concurrency.max(1) {
            let Some(zone) = self.queue.pop_front() else {
                break;
            };
            self.queued.remove(&zone);
            let Some(entry) = loaded.zones.get(&zone).cloned() else {
                continue;
            };
            self.in_flight.insert(zone.clone());
            let handle = tasks.spawn(reconcile(
                loaded.clone(),
                entry,
                self.metrics.clone(),
                self.journal.clone(),
                self.settings.apply.clone(),
            ));
            self.task_zone.insert(handle.id(), zone);
        }
    }

    fn joined(&mut self, done: Result<(tokio::task::Id, ZoneRun), tokio::task::JoinError>) {
        match done {
            Ok((id, run)) => {
                self.task_zone.remove(&id);
                self.finished(run);
            }
            Err(e) => {
                tracing::error!(error = %e, "a reconcile task panicked");
                if let Some(zone) = self.task_zone.remove(&e.id()) {
                    // Handled like any transient failure: status, retry timer, readiness,
                    // and a re-run if the zone changed meanwhile.
                    let revision = self
                        .loaded
                        .as_ref()
                        .map(|l| l.revision.clone())
                        .unwrap_or_default();
                    self.finished(ZoneRun {
                        zone,
                        revision,
                        outcome: "failed",
                        error: Some(format!("the reconcile task panicked: {e}")),
                        transient: true,
                        applied: 0,
                        unsafe_reasons: Vec::new(),
                        drift: BTreeMap::new(),
                        duration: Duration::ZERO,
                    });
                }
            }
        }
    }

    fn finished(&mut self, run: ZoneRun) {
        let z = run.zone.as_str();
        self.in_flight.remove(&run.zone);
        self.metrics
            .reconcile_total
            .with_label_values(&[z, run.outcome])
            .inc();
        self.metrics
            .reconcile_duration
            .observe(run.duration.as_secs_f64());
        self.metrics
            .unsafe_plans
            .with_label_values(&[z])
            .set(i64::from(!run.unsafe_reasons.is_empty()));
        for (target, d) in &run.drift {
            for (kind, n) in [
                ("missing", d.missing),
                ("extra", d.extra),
                ("changed", d.changed),
            ] {
                self.metrics
                    .zone_drift_records
                    .with_label_values(&[z, target.as_str(), kind])
                    .set(n as i64);
            }
        }
        match run.outcome {
            "success" => {
                self.metrics
                    .last_success
                    .with_label_values(&[z])
                    .set(unix_now());
                self.streak.remove(&run.zone);
                if let Some(t) = self.committed.remove(&run.zone) {
                    if let Ok(age) = SystemTime::now().duration_since(t) {
                        self.metrics.commit_to_applied.observe(age.as_secs_f64());
                    }
                }
            }
            "failed" if run.transient => {
                let n = self.streak.entry(run.zone.clone()).or_insert(0);
                *n += 1;
                let delay = ExponentialBuilder::default()
                    .with_min_delay(self.settings.retry_min)
                    .with_max_delay(self.settings.retry_max)
                    .without_max_times()
                    .build()
                    .nth((*n - 1) as usize)
                    .unwrap_or(self.settings.retry_max);
                let at = Instant::now() + jitter(delay);
                tracing::warn!(zone = %run.zone, retry_in = ?delay, "zone failed transiently; retrying");
                self.retry_at.entry(at).or_default().push(run.zone.clone());
            }
            _ => {}
        }
        if run.outcome != "success" {
            tracing::warn!(zone = %run.zone, outcome = run.outcome, error = run.error.as_deref().unwrap_or(""), unsafe_plan = ?run.unsafe_reasons, "zone not in sync");
        } else {
            tracing::info!(zone = %run.zone, applied = run.applied, duration = ?run.duration, "zone in sync");
        }
        if let Ok(mut st) = self.status.write() {
            let zs = st
                .zones
                .entry(run.zone.to_string())
                .or_insert_with(ZoneStatus::default);
            zs.unsafe_reasons = run.unsafe_reasons.clone();
            zs.drift = run.drift.clone();
            zs.record(Run {
                time: now_rfc3339(),
                revision: run.revision.clone(),
                outcome: run.outcome.to_string(),
                changes_applied: run.applied,
                duration_ms: run.duration.as_millis() as u64,
                error: run.error.clone(),
            });
            if let Some(initial) = &mut self.initial {
                initial.remove(&run.zone);
                if initial.is_empty() {
                    st.ready = true;
                }
            }
        }
        if self.dirty.remove(&run.zone) {
            self.enqueue(run.zone);
        }
    }
}

/// Runs the daemon until `shutdown` resolves; then stops taking work, lets the zones in
/// flight finish (up to 30 s) and returns.
pub async fn run(
    source: Arc<dyn Source>,
    settings: DaemonSettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let metrics = Arc::new(Metrics::new()?);
    let status = Arc::new(RwLock::new(DaemonStatus {
        source: source.describe(),
        ..Default::default()
    }));
    let journal = Journal::open(&settings.journal).map_err(|source| DaemonError::Journal {
        path: settings.journal.clone(),
        source,
    })?;
    let fetch_now = Arc::new(Notify::new());
    let shared = Arc::new(crate::http::Shared::new(
        metrics.clone(),
        status.clone(),
        fetch_now.clone(),
        settings.webhook_secret.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: settings.listen,
            source,
        })?;
    tracing::info!(listen = %settings.listen, source = %source.describe(), "zonekeeper daemon started");
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, crate::http::router(shared)).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });

    let mut c = Controller {
        settings: settings.clone(),
        source,
        metrics,
        status,
        journal: Arc::new(Mutex::new(journal)),
        loaded: None,
        refused: None,
        queue: VecDeque::new(),
        queued: BTreeSet::new(),
        in_flight: BTreeSet::new(),
        dirty: BTreeSet::new(),
        streak: HashMap::new(),
        retry_at: BTreeMap::new(),
        initial: None,
        committed: HashMap::new(),
        task_zone: HashMap::new(),
    };
    let mut tasks: JoinSet<ZoneRun> = JoinSet::new();
    tokio::pin!(shutdown);
    c.fetch().await;
    let mut next_poll = Instant::now() + jitter(settings.interval);
    let mut next_resync = Instant::now() + jitter(settings.resync_interval);
    loop {
        c.dispatch(&mut tasks);
        let next_retry = c.retry_at.keys().next().copied();
        let source = c.source.clone();
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep_until(next_poll.into()) => {
                next_poll = Instant::now() + jitter(settings.interval);
                c.fetch().await;
            }
            _ = fetch_now.notified() => {
                c.fetch().await;
            }
            _ = source.changed() => {
                c.fetch().await;
            }
            _ = tokio::time::sleep_until(next_resync.into()) => {
                next_resync = Instant::now() + jitter(settings.resync_interval);
                let zones: Vec<Fqdn> = c.loaded.as_ref().map(|l| l.zones.keys().cloned().collect()).unwrap_or_default();
                tracing::info!(zones = zones.len(), "drift sweep");
                for z in zones {
                    c.enqueue(z);
                }
            }
            _ = async { tokio::time::sleep_until(next_retry.unwrap_or_else(Instant::now).into()).await }, if next_retry.is_some() => {
                if let Some(at) = next_retry {
                    for z in c.retry_at.remove(&at).unwrap_or_default() {
                        c.enqueue(z);
                    }
                }
            }
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => c.joined(done),
        }
    }
    tracing::info!(
        in_flight = tasks.len(),
        "shutting down: finishing the zones in flight"
    );
    let drain = async {
        while let Some(done) = tasks.join_next_with_id().await {
            c.joined(done);
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), drain)
        .await
        .is_err()
    {
        tracing::warn!("zones still in flight after 30 s; abandoning them (a restart converges)");
        tasks.abort_all();
    }
    server.abort();
    Ok(())
}
