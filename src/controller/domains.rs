//! Domains: domain manifests -> registrar reads -> domain plans -> applied, verified
//! changes. The domain counterpart of the zone path, with the same shape:
//! [`load_domains`] reads every `domains/<domain>.yaml`, [`plan_domains`] plans them for
//! `zonekeeper plan`, and [`reconcile_domain`] is the whole read -> plan -> gate -> apply
//! -> re-read -> verify script for one domain, returning a typed [`DomainReport`] (what
//! `apply` and the daemon's work queue call).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::reconcile::Outcome;
use crate::config::Config;
use crate::input::read_input_inside;
use crate::input::{Diagnostic, Diagnostics};
use crate::manifest::domain::{parse_domain, DomainContext, DomainSpec};
use crate::model::Fqdn;
use crate::plan::domain::{plan_domain, DomainChange, DomainPlan};
use crate::provider::{
    outcome, BuildContext, CallObserver, ChangeOutcome, ErrorKind, NoObserver, ProviderError,
};
use crate::registrar::{self, DomainState, Registrar};
use crate::retry::{retry, RetryPolicy};
use crate::secret::SecretError;
use crate::telemetry::journal::{now_rfc3339, Entry};

/// Registrars built from the configuration, by provider name.
pub type Registrars = BTreeMap<String, Arc<dyn Registrar>>;

/// Why domains could not be loaded or planned.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("invalid domain manifests:\n{0}")]
    Manifest(Diagnostics),
    #[error("registrar {registrar:?}")]
    Secret {
        registrar: String,
        #[source]
        source: SecretError,
    },
    #[error("reading domain {domain} from registrar {registrar:?} failed")]
    Read {
        registrar: String,
        domain: Fqdn,
        #[source]
        source: ProviderError,
    },
    #[error("registrar {0:?} is not configured")]
    UnknownRegistrar(String),
    #[error("a domain read was cancelled: {0}")]
    Task(String),
}

/// Builds the registrar side of every configured provider that has one.
///
/// # Errors
/// A registrar's secret cannot be resolved.
pub fn build_registrars(config: &Config, ctx: &BuildContext) -> Result<Registrars, DomainError> {
    let mut out = Registrars::new();
    for p in config.providers.values() {
        let built =
            registrar::build(&p.name, &p.settings, ctx).map_err(|source| DomainError::Secret {
                registrar: p.name.clone(),
                source,
            })?;
        if let Some(r) = built {
            out.insert(p.name.clone(), Arc::from(r));
        }
    }
    Ok(out)
}

/// Reads every domain manifest in `config.domains_dir` (`<domain>.yaml`, sorted by name).
/// A missing directory means no managed domains. Files not ending in `.yaml` and hidden
/// files are not manifests; a `.yml` file is refused (so it is not silently unmanaged).
/// Every problem in every file is collected.
///
/// # Errors
/// Every problem found, with file and line.
pub fn load_domains(config: &Config) -> Result<Vec<DomainSpec>, Diagnostics> {
    let Some(dir) = &config.domains_dir else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Diagnostics(vec![Diagnostic::file(
                dir,
                format!("cannot list the domains directory: {e}"),
            )]))
        }
    };
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for e in entries {
        match e {
            Ok(e) => {
                let path = e.path();
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || path.is_dir() {
                    continue;
                }
                if name.ends_with(".yml") {
                    diags.push(Diagnostic::file(
                        &path,
                        "domain manifests end in .yaml; rename this file",
                    ));
                } else if name.ends_with(".yaml") {
                    files.push(path);
                }
            }
            Err(e) => diags.push(Diagnostic::file(dir, format!("cannot list: {e}"))),
        }
    }
    files.sort();
    let check = |name: &str| -> Result<(), String> {
        match config.providers.get(name) {
            None => Err(format!("{name:?} is not a provider in `providers:`")),
            Some(p) if !registrar::is_registrar(&p.settings) => Err(format!(
                "provider {name:?} is not a registrar (provider types with a registrar side: {})",
                registrar::REGISTRAR_TYPES.join(", ")
            )),
            Some(_) => Ok(()),
        }
    };
    let ctx = DomainContext {
        default_registrar: config.default_registrar.as_deref(),
        check_registrar: &check,
    };
    let mut out = Vec::new();
    for f in &files {
        let text = match read_input_inside(&config.base_dir, f) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        match parse_domain(&text, f, &ctx) {
            Ok(s) => out.push(s),
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(diags))
    }
}

/// How domains are read and written.
#[derive(Clone)]
pub struct DomainOptions {
    /// Apply unsafe plans (nameserver moves, DS changes).
    pub force: bool,
    /// Apply only if the domain's plan hash ([`DomainPlan::hash`]) is this one.
    pub expect_hash: Option<String>,
    /// Retries of reads and of failed changes (one policy for everything).
    pub retry: RetryPolicy,
    /// Told about every retry (metrics).
    pub observer: Arc<dyn CallObserver>,
}

impl Default for DomainOptions {
    fn default() -> Self {
        DomainOptions {
            force: false,
            expect_hash: None,
            retry: RetryPolicy::default(),
            observer: Arc::new(NoObserver),
        }
    }
}

/// Reads one domain, retrying transient failures and waiting out rate limits under
/// `opts.retry`.
///
/// # Errors
/// The registrar's last error.
pub async fn read_domain(
    registrar: &dyn Registrar,
    domain: &Fqdn,
    opts: &DomainOptions,
) -> Result<DomainState, ProviderError> {
    retry(
        &opts.retry,
        opts.retry.deadline_from_now(),
        |e: &ProviderError| e,
        |e, wait| opts.observer.retry(registrar.name(), e.kind, wait),
        || registrar.read_domain(domain),
    )
    .await
}

/// Plans one domain from its read state (pure).
pub fn plan_from_state(
    spec: &DomainSpec,
    registrar: &dyn Registrar,
    state: &DomainState,
) -> DomainPlan {
    let mut p = plan_domain(
        &spec.domain,
        registrar.name(),
        &spec.desired,
        &state.settings,
        registrar.capabilities(),
    );
    p.expires = state.expires;
    p
}

/// Domains [`plan_domains`] reads at the same time. Registrars limit requests per account
/// and their HTTP clients pace them; this only bounds how many reads wait in line, so a
/// reseller's thousands of domains are not read one after the other.
pub const READ_CONCURRENCY: usize = 8;

/// Reads and plans every domain (for `zonekeeper plan`), [`READ_CONCURRENCY`] at a time;
/// the plans come back in the order of `specs`.
///
/// # Errors
/// A registrar that is not built (before any read), else the first domain (in `specs`
/// order) whose read failed for good.
pub async fn plan_domains(
    specs: &[DomainSpec],
    registrars: &Registrars,
    opts: &DomainOptions,
) -> Result<Vec<DomainPlan>, DomainError> {
    let mut jobs = Vec::with_capacity(specs.len());
    for spec in specs {
        let r = registrars
            .get(&spec.registrar)
            .ok_or_else(|| DomainError::UnknownRegistrar(spec.registrar.clone()))?;
        jobs.push((spec.clone(), Arc::clone(r)));
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(READ_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (spec, r)) in jobs.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let opts = opts.clone();
        tasks.spawn(async move {
            // The semaphore is never closed, so this always yields a permit.
            let _permit = permits.acquire_owned().await.ok();
            let plan = read_domain(r.as_ref(), &spec.domain, &opts)
                .await
                .map(|state| plan_from_state(&spec, r.as_ref(), &state))
                .map_err(|source| DomainError::Read {
                    registrar: r.name().to_string(),
                    domain: spec.domain.clone(),
                    source,
                });
            (i, plan)
        });
    }
    let mut plans: Vec<Option<DomainPlan>> = vec![None; specs.len()];
    let mut first_error: Option<(usize, DomainError)> = None;
    while let Some(joined) = tasks.join_next().await {
        let (i, plan) = match joined {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(DomainError::Task(e.to_string())),
        };
        match plan {
            Ok(p) => plans[i] = Some(p),
            Err(e) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    Ok(plans.into_iter().flatten().collect())
}

/// Loads every domain manifest, builds the registrars and plans each domain: the domain
/// section of `zonekeeper plan`.
///
/// # Errors
/// Manifest problems (all of them), a registrar that cannot be built, a read that fails
/// for good.
pub async fn plan_configured(
    config: &Config,
    ctx: &BuildContext,
    opts: &DomainOptions,
) -> Result<Vec<DomainPlan>, DomainError> {
    let specs = load_domains(config).map_err(DomainError::Manifest)?;
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let registrars = build_registrars(config, ctx)?;
    plan_domains(&specs, &registrars, opts).await
}

/// How reconciling one domain ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainOutcome {
    /// Nothing to change (unsupported fields may still be reported in the plan).
    InSync,
    /// Every change applied and the re-read shows the domain as the manifest says.
    Applied,
    /// The plan needs `--force`; nothing was written.
    Unsafe,
    /// The plan is not the reviewed one (`expect_hash`); nothing was written.
    PlanChanged,
    /// The domain could not be read; nothing was written.
    ReadFailed,
    /// At least one change failed.
    Failed,
    /// Every change was accepted but the re-read still differs (or could not be made):
    /// a registrar that applies asynchronously, or a registry that refused silently.
    NotConverged,
}

impl DomainOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainOutcome::InSync => "in-sync",
            DomainOutcome::Applied => "applied",
            DomainOutcome::Unsafe => "unsafe",
            DomainOutcome::PlanChanged => "plan-changed",
            DomainOutcome::ReadFailed => "read-failed",
            DomainOutcome::Failed => "failed",
            DomainOutcome::NotConverged => "not-converged",
        }
    }

    /// True for the outcomes that are errors (exit status 1, a failure streak).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            DomainOutcome::ReadFailed | DomainOutcome::Failed | DomainOutcome::NotConverged
        )
    }
}

impl DomainOutcome {
    /// Where this sits on the zones' scale ([`Outcome`]), for one exit status and one
    /// `reconcile_total` result label across zones and domains.
    pub fn outcome(self) -> Outcome {
        match self {
            DomainOutcome::InSync | DomainOutcome::Applied => Outcome::Success,
            DomainOutcome::Unsafe => Outcome::Unsafe,
            DomainOutcome::PlanChanged
            | DomainOutcome::ReadFailed
            | DomainOutcome::Failed
            | DomainOutcome::NotConverged => Outcome::Failed,
        }
    }
}

/// One audit-journal line per domain change sent: `zone` and `name` are the domain,
/// `target` the registrar, `op` `update`, `type` the field (`nameservers`, `lock`, ...),
/// `before`/`after` the values as plans show them.
pub fn journal_entries(report: &DomainReport, revision: &str) -> Vec<Entry> {
    report
        .results
        .iter()
        .map(|(c, o)| Entry {
            time: now_rfc3339(),
            zone: report.domain.to_string(),
            target: report.registrar.clone(),
            op: "update".into(),
            name: report.domain.to_string(),
            rtype: c.field().as_str().into(),
            before: Some(serde_json::Value::String(c.old().to_string())),
            after: Some(serde_json::Value::String(c.new_value().to_string())),
            commit: revision.to_string(),
            outcome: match o {
                Ok(()) => "ok".into(),
                Err(e) => e.kind.as_str().into(),
            },
            error: o.as_ref().err().map(|e| e.message.clone()),
            batch: None,
        })
        .collect()
}

/// What reconciling one domain did.
#[derive(Clone, Debug)]
pub struct DomainReport {
    pub domain: Fqdn,
    pub registrar: String,
    pub outcome: DomainOutcome,
    /// The plan made from the first read (`None` when that read failed).
    pub plan: Option<DomainPlan>,
    /// Each change sent, with its final outcome, in apply order.
    pub results: Vec<(DomainChange, ChangeOutcome)>,
    /// Changes still planned after the re-read (empty when converged or nothing was
    /// written).
    pub remaining: Vec<DomainChange>,
    /// The read (first or verifying) that failed.
    pub error: Option<ProviderError>,
}

impl DomainReport {
    /// Changes that succeeded.
    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|(_, o)| o.is_ok()).count()
    }

    /// Changes that failed, with their errors.
    pub fn failed(&self) -> impl Iterator<Item = (&DomainChange, &ProviderError)> {
        self.results
            .iter()
            .filter_map(|(c, o)| o.as_ref().err().map(|e| (c, e)))
    }
}

/// Reconciles one domain at its registrar: read (retried), plan, gate (unsafe without
/// `force`, `expect_hash`), apply the changes (failed retryable changes are sent again
/// under `opts.retry`, each change succeeds or fails on its own), re-read and re-plan to
/// verify. Never panics on registrar misbehaviour: a registrar returning the wrong number
/// of outcomes fails every change of that call as `ProviderBug`.
pub async fn reconcile_domain(
    registrar: &dyn Registrar,
    spec: &DomainSpec,
    opts: &DomainOptions,
) -> DomainReport {
    let mut report = DomainReport {
        domain: spec.domain.clone(),
        registrar: registrar.name().to_string(),
        outcome: DomainOutcome::InSync,
        plan: None,
        results: Vec::new(),
        remaining: Vec::new(),
        error: None,
    };
    let state = match read_domain(registrar, &spec.domain, opts).await {
        Ok(s) => s,
        Err(e) => {
            report.outcome = DomainOutcome::ReadFailed;
            report.error = Some(e);
            return report;
        }
    };
    let plan = plan_from_state(spec, registrar, &state);
    report.outcome = if plan.is_empty() {
        DomainOutcome::InSync
    } else if opts
        .expect_hash
        .as_ref()
        .is_some_and(|h| !h.eq_ignore_ascii_case(&plan.hash()))
    {
        DomainOutcome::PlanChanged
    } else if !plan.unsafe_reasons.is_empty() && !opts.force {
        DomainOutcome::Unsafe
    } else {
        let outcomes = apply_changes(registrar, &spec.domain, &state, &plan.changes, opts).await;
        report.results = plan.changes.iter().cloned().zip(outcomes).collect();
        match read_domain(registrar, &spec.domain, opts).await {
            Ok(after) => report.remaining = plan_from_state(spec, registrar, &after).changes,
            Err(e) => report.error = Some(e),
        }
        if report.failed().next().is_some() {
            DomainOutcome::Failed
        } else if report.error.is_some() || !report.remaining.is_empty() {
            DomainOutcome::NotConverged
        } else {
            DomainOutcome::Applied
        }
    };
    report.plan = Some(plan);
    report
}

/// Sends `changes` and re-sends those that failed retryably until they succeed, fail for
/// good, or the retry policy gives up. Returns one final outcome per change, in order.
async fn apply_changes(
    registrar: &dyn Registrar,
    domain: &Fqdn,
    state: &DomainState,
    changes: &[DomainChange],
    opts: &DomainOptions,
) -> Vec<ChangeOutcome> {
    let results: Mutex<Vec<Option<ChangeOutcome>>> = Mutex::new(vec![None; changes.len()]);
    let lock = || results.lock().unwrap_or_else(|e| e.into_inner());
    let name = registrar.name();
    // The error is only the signal to retry; every outcome is already in `results`.
    let _ = retry(
        &opts.retry,
        opts.retry.deadline_from_now(),
        |e: &ProviderError| e,
        |e, wait| opts.observer.retry(name, e.kind, wait),
        || async {
            let pending: Vec<usize> = {
                let r = lock();
                (0..changes.len())
                    .filter(|i| match &r[*i] {
                        None => true,
                        Some(Err(e)) => e.kind.is_retryable(),
                        Some(Ok(())) => false,
                    })
                    .collect()
            };
            let batch: Vec<DomainChange> = pending.iter().map(|i| changes[*i].clone()).collect();
            let mut out = registrar.apply(domain, state, &batch).await;
            if out.len() != batch.len() {
                let bug = ProviderError::new(
                    ErrorKind::ProviderBug,
                    format!(
                        "registrar {name:?} returned {} outcome(s) for {} change(s) (a registrar bug)",
                        out.len(),
                        batch.len()
                    ),
                );
                out = outcome::all(&bug, batch.len());
            }
            let mut r = lock();
            let mut again: Option<ProviderError> = None;
            for (i, o) in pending.into_iter().zip(out) {
                if let Err(e) = &o {
                    // Wait as long as the slowest rate limit asks; rate limits first.
                    let key = |e: &ProviderError| (e.kind == ErrorKind::RateLimited, e.retry_after);
                    if e.kind.is_retryable() && again.as_ref().is_none_or(|a| key(e) > key(a)) {
                        again = Some(e.clone());
                    }
                }
                r[i] = Some(o);
            }
            again.map_or(Ok(()), Err)
        },
    )
    .await;
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Err(ProviderError::new(
                    ErrorKind::NotAttempted,
                    "not sent: the retry deadline passed first",
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Pos;
    use crate::model::rdata::Ds;
    use crate::model::{DomainField, DomainSettings};
    use crate::registrar::memory::{MemoryRegistrar, Registration};
    use crate::registrar::{FieldAccess, RegistrarCaps};
    use std::time::Duration;

    fn n(s: &str) -> Fqdn {
        Fqdn::parse(s).unwrap()
    }

    fn spec(desired: DomainSettings) -> DomainSpec {
        let mut desired = desired;
        desired.normalize();
        DomainSpec {
            domain: n("example.com"),
            file: "domains/example.com.yaml".into(),
            registrar: "reg".into(),
            desired,
            positions: BTreeMap::from([(DomainField::Lock, Pos::default())]),
        }
    }

    fn registrar() -> MemoryRegistrar {
        let r = MemoryRegistrar::new("reg");
        r.seed(
            n("example.com"),
            Registration {
                settings: DomainSettings {
                    nameservers: Some(vec![n("ns1.old.net"), n("ns2.old.net")]),
                    ..DomainSettings::default()
                },
                expires: None,
                status: vec![],
            },
        );
        r
    }

    fn ds() -> Ds {
        Ds {
            key_tag: 7,
            algorithm: 13,
            digest_type: 2,
            digest: "cd".repeat(32),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn applies_verifies_and_then_is_in_sync() {
        let r = registrar();
        let s = spec(DomainSettings {
            nameservers: Some(vec![n("ns1.old.net"), n("ns3.new.net")]),
            lock: Some(true),
            auto_renew: Some(true),
            ..DomainSettings::default()
        });
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert_eq!(rep.outcome, DomainOutcome::Applied, "{rep:?}");
        assert_eq!(rep.ok_count(), 3);
        assert!(rep.remaining.is_empty());
        let stored = r.snapshot(&n("example.com")).unwrap().settings;
        assert_eq!(stored.lock, Some(true));
        assert_eq!(
            stored.nameservers,
            Some(vec![n("ns1.old.net"), n("ns3.new.net")])
        );
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert_eq!(rep.outcome, DomainOutcome::InSync);
        assert_eq!(r.apply_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn unsafe_plans_wait_for_force_and_hash_pins_the_plan() {
        let r = registrar();
        let s = spec(DomainSettings {
            ds: Some(vec![ds()]),
            ..DomainSettings::default()
        });
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert_eq!(rep.outcome, DomainOutcome::Unsafe);
        assert_eq!(r.apply_calls(), 0);
        let hash = rep.plan.as_ref().unwrap().hash();
        let pinned = DomainOptions {
            force: true,
            expect_hash: Some("00".repeat(32)),
            ..DomainOptions::default()
        };
        assert_eq!(
            reconcile_domain(&r, &s, &pinned).await.outcome,
            DomainOutcome::PlanChanged
        );
        assert_eq!(r.apply_calls(), 0);
        let pinned = DomainOptions {
            expect_hash: Some(hash),
            ..pinned
        };
        assert_eq!(
            reconcile_domain(&r, &s, &pinned).await.outcome,
            DomainOutcome::Applied
        );
        assert_eq!(
            r.snapshot(&n("example.com")).unwrap().settings.ds,
            Some(vec![ds()])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_faults_are_retried_and_only_failed_changes_resent() {
        let r = registrar().with_reject(Arc::new(|_, c: &DomainChange| {
            (c.field() == DomainField::Privacy)
                .then(|| ProviderError::new(ErrorKind::Rejected, "privacy is a paid product"))
        }));
        // First read: 429 with Retry-After; first apply: 503 for the whole call.
        let mut limited = ProviderError::new(ErrorKind::RateLimited, "slow down");
        limited.retry_after = Some(Duration::from_secs(5));
        r.push_read_fault(limited);
        r.push_fault(ProviderError::new(ErrorKind::Transient, "503"));
        let s = spec(DomainSettings {
            lock: Some(true),
            privacy: Some(true),
            ..DomainSettings::default()
        });
        let start = tokio::time::Instant::now();
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert!(start.elapsed() >= Duration::from_secs(5));
        assert_eq!(rep.outcome, DomainOutcome::Failed, "{rep:?}");
        assert_eq!(r.apply_calls(), 2, "the 503 call and one retry");
        assert_eq!(rep.ok_count(), 1);
        let failed: Vec<_> = rep.failed().map(|(c, e)| (c.field(), e.kind)).collect();
        assert_eq!(failed, [(DomainField::Privacy, ErrorKind::Rejected)]);
        // The lock change landed and the re-read still shows privacy pending.
        assert_eq!(rep.remaining.len(), 1);
        assert_eq!(
            r.snapshot(&n("example.com")).unwrap().settings.lock,
            Some(true)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn read_failures_and_unsupported_fields() {
        let r = registrar().with_capabilities(RegistrarCaps {
            auto_renew: FieldAccess::ReadOnly,
            ..RegistrarCaps::EVERYTHING
        });
        r.push_read_fault(ProviderError::new(ErrorKind::Auth, "bad key"));
        let s = spec(DomainSettings {
            auto_renew: Some(true),
            ..DomainSettings::default()
        });
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert_eq!(rep.outcome, DomainOutcome::ReadFailed);
        assert_eq!(rep.error.unwrap().kind, ErrorKind::Auth);
        // Auto-renew cannot be written: reported, nothing sent.
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert_eq!(rep.outcome, DomainOutcome::InSync);
        let plan = rep.plan.unwrap();
        assert_eq!(plan.unsupported[0].field, DomainField::AutoRenew);
        assert_eq!(r.apply_calls(), 0);
    }

    /// A registrar that loses an outcome is a loud failure, not a shortened report.
    struct Short(MemoryRegistrar);

    #[async_trait::async_trait]
    impl Registrar for Short {
        fn name(&self) -> &str {
            "short"
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        fn capabilities(&self) -> &RegistrarCaps {
            self.0.capabilities()
        }
        async fn list_domains(&self) -> Result<Vec<registrar::DomainSummary>, ProviderError> {
            self.0.list_domains().await
        }
        async fn read_domain(&self, d: &Fqdn) -> Result<DomainState, ProviderError> {
            self.0.read_domain(d).await
        }
        async fn apply(&self, d: &Fqdn, o: &DomainState, c: &[DomainChange]) -> Vec<ChangeOutcome> {
            let mut out = self.0.apply(d, o, c).await;
            out.pop();
            out
        }
    }

    #[tokio::test(start_paused = true)]
    async fn too_few_outcomes_fail_every_change() {
        let r = Short(registrar());
        let s = spec(DomainSettings {
            lock: Some(true),
            privacy: Some(true),
            ..DomainSettings::default()
        });
        let rep = reconcile_domain(&r, &s, &DomainOptions::default()).await;
        assert_eq!(rep.outcome, DomainOutcome::Failed);
        assert_eq!(rep.results.len(), 2);
        for (_, e) in rep.failed() {
            assert_eq!(e.kind, ErrorKind::ProviderBug);
            assert!(e.message.contains("1 outcome(s) for 2 change(s)"), "{e}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn plans_many_domains_in_order_and_reports_the_first_failure() {
        let r = MemoryRegistrar::new("reg");
        let mut specs = Vec::new();
        for i in 0..30 {
            let d = n(&format!("d{i:02}.example"));
            r.seed(d.clone(), Registration::new());
            let mut s = spec(DomainSettings {
                lock: Some(i % 2 == 0),
                ..DomainSettings::default()
            });
            s.domain = d;
            specs.push(s);
        }
        let registrars: Registrars =
            BTreeMap::from([("reg".to_string(), Arc::new(r.clone()) as Arc<dyn Registrar>)]);
        let plans = plan_domains(&specs, &registrars, &DomainOptions::default())
            .await
            .unwrap();
        assert_eq!(plans.len(), 30);
        for (i, p) in plans.iter().enumerate() {
            assert_eq!(p.domain, specs[i].domain);
            assert_eq!(p.changes.len(), usize::from(i % 2 == 0), "{p:?}");
        }
        // A domain the registrar does not hold fails the plan, naming it.
        specs[7].domain = n("missing.example");
        let e = plan_domains(&specs, &registrars, &DomainOptions::default())
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "reading domain missing.example. from registrar \"reg\" failed"
        );
        specs[7].registrar = "nope".into();
        assert!(matches!(
            plan_domains(&specs, &registrars, &DomainOptions::default()).await,
            Err(DomainError::UnknownRegistrar(r)) if r == "nope"
        ));
    }

    #[test]
    fn loads_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg_path = tmp.path().join("zonekeeper.yaml");
        std::fs::write(
            &cfg_path,
            "providers:\n  reg: {type: memory}\n  local: {type: zonefile, directory: live}\ndefaults:\n  registrar: reg\n",
        )
        .unwrap();
        let config = Config::load(&cfg_path).unwrap();
        // No directory: no domains.
        assert!(load_domains(&config).unwrap().is_empty());
        let dir = tmp.path().join("domains");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("example.com.yaml"), "lock: true\n").unwrap();
        std::fs::write(dir.join("example.net.yaml"), "registrar: local\n").unwrap();
        std::fs::write(dir.join("example.org.yml"), "lock: true\n").unwrap();
        std::fs::write(dir.join(".gitkeep"), "").unwrap();
        std::fs::write(dir.join("README.md"), "notes\n").unwrap();
        let e = load_domains(&config).unwrap_err().to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 2, "{e}");
        assert!(
            lines[0].ends_with("example.org.yml: domain manifests end in .yaml; rename this file"),
            "{e}"
        );
        assert!(lines[1].ends_with("example.net.yaml:1:12: registrar: provider \"local\" is not a registrar (provider types with a registrar side: memory)"), "{e}");
        std::fs::remove_file(dir.join("example.org.yml")).unwrap();
        std::fs::remove_file(dir.join("example.net.yaml")).unwrap();
        let specs = load_domains(&config).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].registrar, "reg");
        assert_eq!(specs[0].desired.lock, Some(true));
    }
}
