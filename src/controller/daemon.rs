//! `zonekeeper run`: the long-running controller, a thin loop over triggers.
//!
//! Triggers: poll timer, webhook, file-system change, resync timer, retry timers, finished
//! reconciles, shutdown. A new source revision is loaded whole ([`super::revision`]) and
//! only put in force if every manifest is valid; zones whose inputs changed are queued at
//! once, every zone again at each jittered resync. The queue rules (dedupe, one run per
//! zone at a time, concurrency cap, per-zone backoff) are [`super::scheduler`]'s; the work
//! itself is [`super::reconcile::reconcile_zone`], the same path `zonekeeper apply` takes.
//! Failures are data (status, metrics), never exits.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::chain;
use super::reconcile::{reconcile_zone, JournalSink, Outcome, ReconcileOptions, ZoneReport};
use super::revision::{load_snapshot, Revision};
use super::scheduler::{jitter, RetryTimes, RunResult, Scheduler, Work};
use crate::model::Fqdn;
use crate::provider::BuildContext;
use crate::secret::{Secret, SecretPolicy};
use crate::source::{Snapshot, Source, SourceError};
use crate::telemetry::journal::{now_rfc3339, Journal};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::status::{DaemonStatus, RefusedRevision, Run, ZoneStatus};

/// How the daemon runs (flags or the `controller:` config section).
#[derive(Clone)]
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
    /// Reads, writes and their retries: the same options `zonekeeper apply` uses
    /// (`force` is always false here and `journal` is set by the daemon).
    pub reconcile: ReconcileOptions,
    /// Per-zone retry backoff after a transient failure.
    pub zone_retry: RetryTimes,
    /// Which secret references the followed manifests may resolve.
    pub secrets: SecretPolicy,
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

/// How a reconcile task ended.
enum Finished {
    Zone {
        zone: Fqdn,
        revision: String,
        report: ZoneReport,
    },
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The loop's mutable state.
struct Controller {
    settings: DaemonSettings,
    source: Arc<dyn Source>,
    metrics: Arc<Metrics>,
    status: Arc<RwLock<DaemonStatus>>,
    journal: Arc<Mutex<Journal>>,
    loaded: Option<Arc<Revision>>,
    /// A revision already refused: not reloaded on every poll.
    refused: Option<String>,
    work: Scheduler<Work>,
    /// Zones of the first good revision not yet reconciled once (readiness).
    initial: Option<BTreeSet<Fqdn>>,
    /// When each zone's newest input change was committed (commit-to-applied SLO).
    committed: HashMap<Fqdn, SystemTime>,
    /// Which work each running task does (to clean up after a panic).
    task_work: HashMap<tokio::task::Id, (Work, String)>,
}

impl Controller {
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
                self.fetch_failed(&e);
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
        let s2: Snapshot = snap.clone();
        // The transports report requests, retries and 429s to the metrics.
        let ctx = BuildContext {
            observer: self.metrics.clone(),
            ..BuildContext::new(self.settings.secrets.clone())
        };
        let loaded =
            match tokio::task::spawn_blocking(move || load_snapshot(&s2, &metrics, &ctx)).await {
                Ok(r) => r,
                Err(e) => Err(vec![format!("loading panicked: {e}")]),
            };
        match loaded {
            Err(reasons) => self.refuse(&snap.revision, reasons),
            Ok(new) => self.put_in_force(Arc::new(new)),
        }
    }

    fn fetch_failed(&mut self, e: &SourceError) {
        self.metrics
            .git_fetch_total
            .with_label_values(&[e.kind()])
            .inc();
        tracing::warn!(error = %chain(e), "source fetch failed; the revision in force stays");
        if let Ok(mut st) = self.status.write() {
            st.source_error = Some(chain(e));
            if let SourceError::Unverified { revision, .. }
            | SourceError::Rewound { revision, .. } = e
            {
                st.refused_revision = Some(RefusedRevision {
                    revision: revision.clone(),
                    reasons: vec![e.to_string()],
                });
            }
        }
    }

    fn refuse(&mut self, revision: &str, reasons: Vec<String>) {
        tracing::error!(%revision, problems = reasons.len(), first = %reasons.first().map(String::as_str).unwrap_or(""), "revision refused: invalid manifests; the last good revision stays in force");
        self.metrics.manifest_errors.set(reasons.len() as i64);
        self.refused = Some(revision.to_string());
        if let Ok(mut st) = self.status.write() {
            st.refused_revision = Some(RefusedRevision {
                revision: revision.to_string(),
                reasons,
            });
        }
    }

    fn put_in_force(&mut self, new: Arc<Revision>) {
        self.metrics.manifest_errors.set(0);
        self.metrics.set_revision(&new.revision);
        let changed: Vec<Fqdn> = new
            .inputs
            .iter()
            .filter(|(z, h)| self.loaded.as_ref().and_then(|l| l.inputs.get(*z)) != Some(*h))
            .map(|(z, _)| z.clone())
            .collect();
        if let Some(old) = self.loaded.clone() {
            for (z, entry) in old
                .zones
                .iter()
                .filter(|(z, _)| !new.zones.contains_key(*z))
            {
                // Removing a zone from the config stops managing it; nothing is deleted.
                tracing::warn!(zone = %z, "zone no longer in the configuration: no longer managed (live records are left as they are)");
                self.work.forget(&Work::Zone(z.clone()));
                if let Ok(mut st) = self.status.write() {
                    st.zones.remove(z.as_str());
                }
                // Its series go too, or alerts would fire for a zone no longer managed.
                self.metrics.forget_zone(z.as_str(), &entry.0.targets);
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
        if let Some(t) = new.committed_at {
            for z in &changed {
                self.committed.insert(z.clone(), t);
            }
        }
        self.refused = None;
        self.loaded = Some(new);
        for z in changed {
            self.work.enqueue(Work::Zone(z));
        }
    }

    fn dispatch(&mut self, tasks: &mut JoinSet<Finished>) {
        let Some(loaded) = self.loaded.clone() else {
            return;
        };
        while let Some(work) = self.work.start_next() {
            let Work::Zone(zone) = &work else {
                // Domains join the queue with the registrar work.
                self.work.finished(&work, RunResult::Done);
                continue;
            };
            let Some(entry) = loaded.zones.get(zone).cloned() else {
                self.work.finished(&work, RunResult::Done);
                continue;
            };
            let mut opts = self.settings.reconcile.clone();
            opts.force = false;
            opts.apply.observer = self.metrics.clone();
            opts.journal = Some(JournalSink {
                journal: self.journal.clone(),
                revision: loaded.revision.clone(),
            });
            let providers = loaded.providers.clone();
            let revision = loaded.revision.clone();
            let zone = zone.clone();
            let handle = tasks.spawn(async move {
                let (zc, m) = &*entry;
                let report = reconcile_zone(zc, m, &providers, &opts).await;
                Finished::Zone {
                    zone,
                    revision,
                    report,
                }
            });
            self.task_work
                .insert(handle.id(), (work, loaded.revision.clone()));
        }
    }

    fn joined(&mut self, done: Result<(tokio::task::Id, Finished), tokio::task::JoinError>) {
        match done {
            Ok((
                id,
                Finished::Zone {
                    zone,
                    revision,
                    report,
                },
            )) => {
                self.task_work.remove(&id);
                self.zone_finished(&zone, &revision, &report);
            }
            Err(e) => {
                tracing::error!(error = %e, "a reconcile task panicked");
                if let Some((work, revision)) = self.task_work.remove(&e.id()) {
                    // Handled like any transient failure: status, retry timer, readiness,
                    // and a re-run if the zone changed meanwhile.
                    if let Work::Zone(zone) = &work {
                        self.record_status(
                            zone,
                            &revision,
                            Outcome::Failed,
                            0,
                            Duration::ZERO,
                            Some(format!("the reconcile task panicked: {e}")),
                        );
                        self.mark_initial_done(zone);
                    }
                    self.work.finished(&work, RunResult::Transient);
                }
            }
        }
    }

    fn zone_finished(&mut self, zone: &Fqdn, revision: &str, report: &ZoneReport) {
        let outcome = report.outcome();
        report.record(&self.metrics);
        let result = match outcome {
            Outcome::Success => {
                self.metrics
                    .last_success
                    .with_label_values(&[zone.as_str()])
                    .set(unix_now());
                if let Some(t) = self.committed.remove(zone) {
                    if let Ok(age) = SystemTime::now().duration_since(t) {
                        self.metrics.commit_to_applied.observe(age.as_secs_f64());
                    }
                }
                tracing::info!(%zone, applied = report.applied(), duration = ?report.duration, "zone in sync");
                RunResult::Done
            }
            Outcome::Failed if report.transient() => RunResult::Transient,
            Outcome::Failed => RunResult::Permanent,
            Outcome::Drift | Outcome::Unsafe | Outcome::Blocked => RunResult::Done,
        };
        if outcome != Outcome::Success {
            tracing::warn!(%zone, outcome = outcome.as_str(), error = report.error_text().as_deref().unwrap_or(""), unsafe_plan = ?report.unsafe_reasons(), "zone not in sync");
        }
        if let Ok(mut st) = self.status.write() {
            let zs = st.zones.entry(zone.to_string()).or_default();
            zs.unsafe_reasons = report.unsafe_reasons();
            zs.drift = report
                .targets
                .iter()
                .map(|t| (t.target.clone(), t.drift))
                .collect();
        }
        self.record_status(
            zone,
            revision,
            outcome,
            report.applied(),
            report.duration,
            report.error_text(),
        );
        self.mark_initial_done(zone);
        if let Some(delay) = self.work.finished(&Work::Zone(zone.clone()), result) {
            tracing::warn!(%zone, retry_in = ?delay, "zone failed transiently; retrying");
        }
    }

    fn record_status(
        &self,
        zone: &Fqdn,
        revision: &str,
        outcome: Outcome,
        applied: usize,
        duration: Duration,
        error: Option<String>,
    ) {
        if let Ok(mut st) = self.status.write() {
            let zs = st
                .zones
                .entry(zone.to_string())
                .or_insert_with(ZoneStatus::default);
            zs.record(Run {
                time: now_rfc3339(),
                revision: revision.to_string(),
                outcome: outcome.as_str().to_string(),
                changes_applied: applied,
                duration_ms: duration.as_millis() as u64,
                error,
            });
        }
    }

    fn mark_initial_done(&mut self, zone: &Fqdn) {
        if let Some(initial) = &mut self.initial {
            initial.remove(zone);
            if initial.is_empty() {
                if let Ok(mut st) = self.status.write() {
                    st.ready = true;
                }
            }
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
        work: Scheduler::new(settings.concurrency, settings.zone_retry),
        settings: settings.clone(),
        source,
        metrics,
        status,
        journal: Arc::new(Mutex::new(journal)),
        loaded: None,
        refused: None,
        initial: None,
        committed: HashMap::new(),
        task_work: HashMap::new(),
    };
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    tokio::pin!(shutdown);
    c.fetch().await;
    let mut next_poll = Instant::now() + jitter(settings.interval);
    let mut next_resync = Instant::now() + jitter(settings.resync_interval);
    loop {
        c.dispatch(&mut tasks);
        let next_retry = c.work.next_retry();
        let source = c.source.clone();
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep_until(next_poll) => {
                next_poll = Instant::now() + jitter(settings.interval);
                c.fetch().await;
            }
            _ = fetch_now.notified() => {
                c.fetch().await;
            }
            _ = source.changed() => {
                c.fetch().await;
            }
            _ = tokio::time::sleep_until(next_resync) => {
                next_resync = Instant::now() + jitter(settings.resync_interval);
                let zones: Vec<Fqdn> = c.loaded.as_ref().map(|l| l.zones.keys().cloned().collect()).unwrap_or_default();
                tracing::info!(zones = zones.len(), "drift sweep");
                for z in zones {
                    c.work.enqueue(Work::Zone(z));
                }
            }
            _ = async { tokio::time::sleep_until(next_retry.unwrap_or_else(Instant::now)).await }, if next_retry.is_some() => {
                c.work.fire_due(Instant::now());
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
