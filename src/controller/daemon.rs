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
use super::domains::{
    journal_entries, reconcile_domain, DomainOptions, DomainOutcome, DomainReport,
};
use super::reconcile::{reconcile_zone, JournalSink, Outcome, ReconcileOptions, ZoneReport};
use super::record::RevisionStamp;
use super::revision::{load_snapshot, GuardRails, OperatorSide, Revision};
use super::scheduler::{jitter, RetryTimes, RunResult, Scheduler, Work};
use crate::model::Fqdn;
use crate::provider::BuildContext;
use crate::secret::{Secret, SecretPolicy};
use crate::source::{Snapshot, Source, SourceError};
use crate::telemetry::journal::{now_rfc3339, Journal, LastApplies};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::status::{DaemonStatus, RefusedRevision, Run, ZoneStatus};

/// How the daemon runs (flags or the `controller:` config section).
#[derive(Clone)]
pub struct DaemonSettings {
    pub listen: SocketAddr,
    /// HTTPS on the listener (certificate and key loaded); `None`: plain HTTP.
    pub tls: Option<crate::http::tls::ServerTls>,
    /// Source poll interval (jittered by +-10%).
    pub interval: Duration,
    /// Full drift sweep interval (jittered by +-10%).
    pub resync_interval: Duration,
    /// Zones reconciled at the same time.
    pub concurrency: usize,
    pub journal: PathBuf,
    pub webhook_secret: Option<Secret>,
    /// Bearer token `/status` and `/metrics` require, when set.
    pub status_token: Option<Secret>,
    /// Reads, writes and their retries: the same options `zonekeeper apply` uses
    /// (`force` is always false here; `journal` and `last_applies` are set by the daemon).
    pub reconcile: ReconcileOptions,
    /// Per-zone retry backoff after a transient failure.
    pub zone_retry: RetryTimes,
    /// Which secret references the followed manifests may resolve.
    pub secrets: SecretPolicy,
    /// The operator's providers and guard-rail limits, applied to every revision.
    pub operator: OperatorSide,
    /// `--allow-rewind`: also write zones whose revision record names a newer or unrelated
    /// revision.
    pub allow_rewind: bool,
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
    Domain {
        revision: String,
        report: Box<DomainReport>,
        duration: Duration,
    },
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Seconds since the Unix epoch (negative before it).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The loop's mutable state.
struct Controller {
    settings: DaemonSettings,
    source: Arc<dyn Source>,
    metrics: Arc<Metrics>,
    status: Arc<RwLock<DaemonStatus>>,
    journal: Arc<Mutex<Journal>>,
    loaded: Option<Arc<Revision>>,
    /// The guard rails the revision in force declared (before being held to its
    /// predecessor's): what the next revision may not loosen in its own plan.
    declared: Option<GuardRails>,
    /// A revision already refused: not reloaded on every poll.
    refused: Option<String>,
    work: Scheduler<Work>,
    /// Work of the first good revision not yet reconciled once (readiness).
    initial: Option<BTreeSet<Work>>,
    /// When each zone's or domain's newest input change was committed (commit-to-applied
    /// SLO).
    committed: HashMap<Work, SystemTime>,
    /// Which work each running task does (to clean up after a panic).
    task_work: HashMap<tokio::task::Id, (Work, String)>,
    /// Interrupted writes in the journal were looked at (once, before the first work).
    recovered: bool,
}

impl Controller {
    /// Concludes the writes a previous run left interrupted (intents without outcomes),
    /// against the first revision in force, before any zone is written.
    async fn recover(&mut self, loaded: &Revision) {
        self.recovered = true;
        match super::recover::recover_interrupted(
            &self.journal,
            loaded.zones.keys(),
            &loaded.providers,
            &self.settings.reconcile.apply.retry,
        )
        .await
        {
            Ok(r) if r.is_empty() => {}
            Ok(r) => tracing::warn!(recovery = %r, "interrupted writes of an earlier run"),
            Err(e) => {
                tracing::error!(error = %chain(&e), "cannot conclude interrupted writes; tried again at the next start")
            }
        }
    }

    async fn fetch(&mut self) {
        let started = std::time::Instant::now();
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
            retry: self.settings.reconcile.apply.retry.clone(),
            ..BuildContext::new(self.settings.secrets.clone())
        };
        let operator = self.settings.operator.clone();
        let fetched = started.elapsed();
        // What the revision in force lends the next: unchanged zones and providers.
        let previous = self.loaded.as_ref().and_then(|l| l.reusable.clone());
        let loaded = match tokio::task::spawn_blocking(move || {
            load_snapshot(&s2, &metrics, &ctx, &operator, previous.as_deref())
        })
        .await
        {
            Ok(r) => r,
            Err(e) => Err(vec![format!("loading panicked: {e}")]),
        };
        match loaded {
            Err(reasons) => {
                // Paths are shown relative to the repository, never the host's layout.
                let root = format!("{}/", snap.root.display());
                let reasons = reasons.iter().map(|r| r.replace(&root, "")).collect();
                self.refuse(&snap.revision, reasons)
            }
            Ok(new) => {
                tracing::debug!(revision = %new.revision, fetch_ms = fetched.as_millis() as u64, load_ms = (started.elapsed() - fetched).as_millis() as u64, "revision loaded");
                // The previous revision's own values, not the ones it was held to.
                let declared = new.guard_rails();
                let new = match &self.declared {
                    Some(previous) => new.held_to(previous),
                    None => new,
                };
                // Kept beside the journal, so a restart does not let the next revision
                // loosen what this one declared in its own plan.
                let path = super::declared::path_for(&self.settings.journal);
                if let Err(e) = super::declared::store(&path, &new.revision, &declared) {
                    tracing::warn!(error = %chain(&e), "cannot keep the declared guard rails; after a restart, a revision loosening them would be judged by its own values");
                }
                self.declared = Some(declared);
                self.put_in_force(Arc::new(new));
            }
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
        let changed: Vec<Work> = new
            .inputs
            .iter()
            .filter(|(w, h)| self.loaded.as_ref().and_then(|l| l.inputs.get(*w)) != Some(*h))
            .map(|(w, _)| w.clone())
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
            for d in old.domains.keys().filter(|d| !new.domains.contains_key(*d)) {
                // Likewise a domain: its registrar settings stay as they are.
                tracing::warn!(domain = %d, "domain manifest removed: no longer managed (the registrar keeps its settings)");
                self.work.forget(&Work::Domain(d.clone()));
                if let Ok(mut st) = self.status.write() {
                    st.domains.remove(d.as_str());
                }
                self.metrics.forget_domain(d.as_str());
            }
        }
        tracing::info!(revision = %new.revision, zones = new.zones.len(), domains = new.domains.len(), changed = changed.len(), "revision in force");
        match &mut self.initial {
            None => self.initial = Some(new.work().collect()),
            // Work dropped before its first reconcile no longer holds readiness back.
            Some(initial) => initial.retain(|w| new.inputs.contains_key(w)),
        }
        let ready_now = self.initial.as_ref().is_some_and(BTreeSet::is_empty);
        if let Ok(mut st) = self.status.write() {
            st.ready |= ready_now;
            st.revision = Some(new.revision.clone());
            st.refused_revision = None;
            for z in new.zones.keys() {
                st.zones.entry(z.to_string()).or_default();
            }
            for d in new.domains.keys() {
                st.domains.entry(d.to_string()).or_default();
            }
        }
        if let Some(t) = new.committed_at {
            for z in &changed {
                self.committed.insert(z.clone(), t);
            }
        }
        self.refused = None;
        self.loaded = Some(new);
        // Ahead of a drift sweep's work: an edit is applied at once, not after every zone.
        for w in changed.into_iter().rev() {
            self.work.enqueue_first(w);
        }
    }

    fn dispatch(&mut self, tasks: &mut JoinSet<Finished>) {
        let Some(loaded) = self.loaded.clone() else {
            return;
        };
        while let Some(work) = self.work.start_next() {
            let zone = match &work {
                Work::Zone(zone) => zone,
                Work::Domain(domain) => {
                    self.dispatch_domain(tasks, &loaded, work.clone(), domain.clone());
                    continue;
                }
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
            opts.stamp = Some(RevisionStamp {
                commit: loaded.revision.clone(),
                time: unix_secs(loaded.committed_at.unwrap_or_else(SystemTime::now)),
                ancestry: self.source.clone(),
                allow_rewind: self.settings.allow_rewind,
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

    fn dispatch_domain(
        &mut self,
        tasks: &mut JoinSet<Finished>,
        loaded: &Arc<Revision>,
        work: Work,
        domain: Fqdn,
    ) {
        let (Some(spec), Some(registrar)) = (
            loaded.domains.get(&domain).cloned(),
            loaded
                .domains
                .get(&domain)
                .and_then(|s| loaded.registrars.get(&s.registrar))
                .cloned(),
        ) else {
            self.work.finished(&work, RunResult::Done);
            return;
        };
        let opts = DomainOptions {
            force: false,
            expect_hash: None,
            retry: self.settings.reconcile.apply.retry.clone(),
            observer: self.metrics.clone(),
        };
        let journal = self.journal.clone();
        let revision = loaded.revision.clone();
        let handle = tasks.spawn(async move {
            let started = Instant::now();
            let report = reconcile_domain(registrar.as_ref(), &spec, &opts).await;
            let entries = journal_entries(&report, &revision);
            match journal.lock() {
                Ok(mut j) => {
                    if let Err(e) = j.append(&entries) {
                        tracing::error!(error = %e, journal = %j.path().display(), "cannot write the audit journal");
                    }
                }
                Err(_) => tracing::error!("the audit journal lock is poisoned; entries lost"),
            }
            Finished::Domain {
                revision,
                report: Box::new(report),
                duration: started.elapsed(),
            }
        });
        self.task_work
            .insert(handle.id(), (work, loaded.revision.clone()));
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
            Ok((
                id,
                Finished::Domain {
                    revision,
                    report,
                    duration,
                },
            )) => {
                self.task_work.remove(&id);
                self.domain_finished(&revision, &report, duration);
            }
            Err(e) => {
                tracing::error!(error = %e, "a reconcile task panicked");
                if let Some((work, revision)) = self.task_work.remove(&e.id()) {
                    // Handled like any transient failure: status, retry timer, readiness,
                    // and a re-run if the zone changed meanwhile.
                    if self.still_managed(&work) {
                        self.record_status(
                            &work,
                            &revision,
                            Outcome::Failed,
                            0,
                            Duration::ZERO,
                            Some(format!("the reconcile task panicked: {e}")),
                        );
                        self.mark_initial_done(&work);
                    }
                    self.work.finished(&work, RunResult::Transient);
                }
            }
        }
    }

    /// True when `work` is still part of the revision in force (a run that ends after its
    /// zone or domain was removed leaves no status, metrics or retry behind).
    fn still_managed(&self, work: &Work) -> bool {
        self.loaded
            .as_ref()
            .is_some_and(|l| l.inputs.contains_key(work))
    }

    fn zone_finished(&mut self, zone: &Fqdn, revision: &str, report: &ZoneReport) {
        let work = Work::Zone(zone.clone());
        if !self.still_managed(&work) {
            self.work.finished(&work, RunResult::Done);
            return;
        }
        let outcome = report.outcome();
        report.record(&self.metrics);
        let result = match outcome {
            Outcome::Success => {
                self.metrics
                    .last_success
                    .with_label_values(&[zone.as_str()])
                    .set(unix_now());
                if let Some(t) = self.committed.remove(&Work::Zone(zone.clone())) {
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
            &work,
            revision,
            outcome,
            report.applied(),
            report.duration,
            report.error_text(),
        );
        self.mark_initial_done(&work);
        if let Some(delay) = self.work.finished(&Work::Zone(zone.clone()), result) {
            tracing::warn!(%zone, retry_in = ?delay, "zone failed transiently; retrying");
        }
    }

    fn domain_finished(&mut self, revision: &str, report: &DomainReport, duration: Duration) {
        let work = Work::Domain(report.domain.clone());
        if !self.still_managed(&work) {
            self.work.finished(&work, RunResult::Done);
            return;
        }
        let domain = report.domain.as_str();
        let outcome = report.outcome.outcome();
        self.metrics.record_domain(
            domain,
            report.outcome.as_str(),
            report.plan.as_ref().and_then(|p| p.expires),
        );
        let result = match report.outcome {
            DomainOutcome::InSync | DomainOutcome::Applied => RunResult::Done,
            DomainOutcome::Unsafe | DomainOutcome::PlanChanged => RunResult::Done,
            DomainOutcome::ReadFailed | DomainOutcome::Failed | DomainOutcome::NotConverged => {
                let transient = report.error.as_ref().is_none_or(|e| e.kind.is_retryable())
                    && report.failed().all(|(_, e)| e.kind.is_retryable());
                if transient {
                    RunResult::Transient
                } else {
                    RunResult::Permanent
                }
            }
        };
        let error = report.error.as_ref().map(ToString::to_string).or_else(|| {
            report
                .failed()
                .next()
                .map(|(c, e)| format!("{}: {e}", c.field().as_str()))
        });
        if outcome != Outcome::Success {
            tracing::warn!(%domain, outcome = report.outcome.as_str(), error = error.as_deref().unwrap_or(""), "domain not as its manifest says");
        } else {
            tracing::info!(%domain, applied = report.ok_count(), "domain in sync");
        }
        if let Ok(mut st) = self.status.write() {
            let ds = st.domains.entry(domain.to_string()).or_default();
            ds.unsafe_reasons = report
                .plan
                .as_ref()
                .map(|p| p.unsafe_reasons.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
        }
        self.record_status(&work, revision, outcome, report.ok_count(), duration, error);
        self.mark_initial_done(&work);
        if let Some(delay) = self.work.finished(&work, result) {
            tracing::warn!(%domain, retry_in = ?delay, "domain failed transiently; retrying");
        }
    }

    fn record_status(
        &self,
        work: &Work,
        revision: &str,
        outcome: Outcome,
        applied: usize,
        duration: Duration,
        error: Option<String>,
    ) {
        if let Ok(mut st) = self.status.write() {
            let (map, name) = match work {
                Work::Zone(z) => (&mut st.zones, z),
                Work::Domain(d) => (&mut st.domains, d),
            };
            let zs = map
                .entry(name.to_string())
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

    fn mark_initial_done(&mut self, work: &Work) {
        if let Some(initial) = &mut self.initial {
            initial.remove(work);
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
    mut settings: DaemonSettings,
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
    // The most recent apply of every zone and target, read once (streamed) now; each plan
    // then reads only what was appended since, this daemon's applies and any other's.
    let path = settings.journal.clone();
    let last = match tokio::task::spawn_blocking(move || LastApplies::read(&path)).await {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, journal = %settings.journal.display(), "cannot read the audit journal: no change counts as an undo until it can be read");
            LastApplies::new(&settings.journal)
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the audit journal panicked");
            LastApplies::new(&settings.journal)
        }
    };
    settings.reconcile.last_applies = Some(Arc::new(Mutex::new(last)));
    let fetch_now = Arc::new(Notify::new());
    let shared = Arc::new(
        crate::http::Shared::new(
            metrics.clone(),
            status.clone(),
            fetch_now.clone(),
            settings.webhook_secret.clone(),
        )
        .with_status_token(settings.status_token.clone()),
    );
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: settings.listen,
            source,
        })?;
    tracing::info!(listen = %settings.listen, tls = settings.tls.is_some(), source = %source.describe(), "zonekeeper daemon started");
    let server = tokio::spawn(crate::http::serve(
        listener,
        crate::http::router(shared),
        settings.tls.clone(),
    ));

    // The guard rails the revision in force declared before the restart.
    let declared = match super::declared::load(&super::declared::path_for(&settings.journal)) {
        Ok(Some((commit, rails))) => {
            tracing::info!(%commit, zones = rails.len(), "declared guard rails restored");
            Some(rails)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %chain(&e), "cannot read the declared guard rails; the first revision is judged by its own");
            None
        }
    };
    let mut c = Controller {
        work: Scheduler::new(settings.concurrency, settings.zone_retry),
        settings: settings.clone(),
        source,
        metrics,
        status,
        journal: Arc::new(Mutex::new(journal)),
        loaded: None,
        declared,
        refused: None,
        initial: None,
        committed: HashMap::new(),
        task_work: HashMap::new(),
        recovered: false,
    };
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    tokio::pin!(shutdown);
    c.fetch().await;
    let mut next_poll = Instant::now() + jitter(settings.interval);
    let mut next_resync = Instant::now() + jitter(settings.resync_interval);
    loop {
        if !c.recovered {
            if let Some(loaded) = c.loaded.clone() {
                // Reads a provider may take long over (retries, a provider down): a stop
                // does not wait for them; what was concluded so far is on disk.
                tokio::select! {
                    _ = c.recover(&loaded) => {}
                    _ = &mut shutdown => break,
                }
            }
        }
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
                let all: Vec<Work> = c.loaded.as_ref().map(|l| l.work().collect()).unwrap_or_default();
                tracing::info!(work = all.len(), "drift sweep");
                for w in all {
                    c.work.enqueue(w);
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
