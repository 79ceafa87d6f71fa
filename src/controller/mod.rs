//! Orchestration: manifests + providers -> plans -> applied changes. Adds nothing of its own:
//! it calls the stages in order and returns their reports.
//!
//! One reconcile path ([`reconcile`]) serves both the one-shot commands and the daemon:
//! `zonekeeper plan`/`apply` use [`plan_configured`] (every zone read and planned, so the
//! whole plan can be printed and its hash checked) and then
//! [`reconcile::apply_planned`] per zone; the daemon ([`daemon`]) calls
//! [`reconcile::reconcile_zone`], which is those two steps for one zone.

pub mod daemon;
pub mod declared;
pub mod domains;
pub mod instrument;
pub mod load;
pub mod lock;
pub mod reconcile;
pub mod record;
pub mod recover;
pub mod revision;
pub mod scheduler;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::config::{Config, SecretError, ZoneConfig};
use crate::input::{Diagnostic, Diagnostics};
use crate::manifest::ZoneManifest;
use crate::model::{Fqdn, RrKey};
use crate::plan::{self, LastApply, Plan, PlanInput, ZonePlan};
use crate::provider::{self, BuildContext, Observed, Provider, ProviderError};
use crate::retry::RetryPolicy;
use crate::telemetry::journal::LastApplies;
use reconcile::{read_with_retry, TargetError, TargetPlan};

/// Why a run could not produce or apply a plan.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("invalid configuration:\n{0}")]
    Config(Diagnostics),
    #[error("invalid manifests:\n{0}")]
    Manifest(Diagnostics),
    #[error("provider {provider:?}")]
    Secret {
        provider: String,
        #[source]
        source: SecretError,
    },
    #[error("reading zone {zone} from {provider:?} failed")]
    Read {
        provider: String,
        zone: Fqdn,
        #[source]
        source: ProviderError,
    },
    #[error("zone {0} is not in the configuration")]
    UnknownZone(Fqdn),
    #[error("provider {0:?} is not in the configuration")]
    UnknownProvider(String),
    #[error("the plan changed since it was reviewed: expected hash {expected}, the plan now is {actual}; nothing was applied")]
    PlanHashMismatch { expected: String, actual: String },
    #[error(
        "--plan-hash {0:?}: the hash is incomplete: give at least {MIN_HASH_PREFIX} hex digits"
    )]
    PlanHashIncomplete(String),
    #[error("--plan-hash {0:?} is not a plan hash (hex digits, as `plan` prints them)")]
    PlanHashInvalid(String),
    #[error(
        "nothing to apply: the plan is empty now; was it already applied? (reviewed hash {0})"
    )]
    NothingToApply(String),
}

/// The fewest hex digits `apply --plan-hash` accepts: 48 bits, no accidental match.
pub const MIN_HASH_PREFIX: usize = 12;

/// Checks `apply --plan-hash`: `expected` must be the plan's hash or a prefix of it of at
/// least [`MIN_HASH_PREFIX`] hex digits (any case).
///
/// # Errors
/// The hash is too short or not hex; or it does not match, which is
/// [`RunError::NothingToApply`] when the plan is empty now (it was most likely applied
/// already) and [`RunError::PlanHashMismatch`] otherwise.
pub fn check_plan_hash(plan: &Plan, expected: &str) -> Result<(), RunError> {
    let given = expected.trim().to_ascii_lowercase();
    if !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RunError::PlanHashInvalid(expected.to_string()));
    }
    if given.len() < MIN_HASH_PREFIX {
        return Err(RunError::PlanHashIncomplete(expected.to_string()));
    }
    let actual = plan.hash();
    if actual.starts_with(&given) {
        return Ok(());
    }
    if plan.is_empty() {
        return Err(RunError::NothingToApply(expected.to_string()));
    }
    Err(RunError::PlanHashMismatch {
        expected: expected.to_string(),
        actual,
    })
}

/// An error with its causes, `outer: inner: ...` (messages never repeat their source).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Providers built from the configuration, by name. Shared: the daemon keeps a provider
/// (its client, its rate limiters' state) across revisions that leave its settings alone.
pub type Providers = BTreeMap<String, std::sync::Arc<dyn Provider>>;

/// Builds every configured provider (resolving their secrets).
pub fn build_providers(config: &Config, ctx: &BuildContext) -> Result<Providers, RunError> {
    config
        .providers
        .values()
        .map(|p| {
            provider::registry::build(&p.name, &p.settings, ctx)
                .map(|b| (p.name.clone(), std::sync::Arc::from(b)))
                .map_err(|source| RunError::Secret {
                    provider: p.name.clone(),
                    source,
                })
        })
        .collect()
}

/// Plans one zone on one target from its live state: fit, diff, policy, safety.
/// `last_apply` is the zone's most recent apply on this target (from the journal): a plan
/// undoing all of it does not count those changes toward the thresholds.
pub fn plan_from_live(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    provider: &dyn Provider,
    live: &Observed,
    last_apply: Option<&LastApply>,
) -> ZonePlan {
    let ignore = &zc.ignore;
    // Records octoDNS's `included`/`excluded` keep off this target are left alone on it,
    // in both directions (octoDNS neither creates nor deletes them there).
    let target = provider.name();
    // The revision record is the daemon's own ([`record`]): never planned like the others.
    let revision_record = record::key(&zc.name);
    let unmanaged = |k: &RrKey| {
        *k == revision_record
            || manifest.ignored.contains(k)
            || ignore.matches(&zc.name, k)
            || manifest.filters.get(k).is_some_and(|f| !f.allows(target))
    };
    let desired = manifest.desired_for(provider.name(), provider.kind());
    plan::plan_zone(&PlanInput {
        processors: &zc.processors,
        target: provider.name(),
        desired: &desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &unmanaged,
        caps: provider.capabilities(),
        normalize: &|k, s| provider.normalize(k, s),
        policy: zc.policy,
        thresholds: zc.thresholds,
        last_apply,
    })
}

/// Runs the zone's octoDNS processors on its desired records (`process_source_zone`):
/// the one place they run, for `plan`, `apply` and the daemon alike. A record a processor
/// refuses is a problem at its line.
pub fn process_source(zc: &ZoneConfig, m: &mut ZoneManifest) -> Vec<crate::input::Diagnostic> {
    if zc.processors.is_empty() {
        return Vec::new();
    }
    match zc.processors.process_source(&mut m.zone) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| {
                let pos = e
                    .key
                    .as_ref()
                    .and_then(|k| m.positions.get(k).copied())
                    .unwrap_or(zc.pos);
                let file = if e.key.as_ref().is_some_and(|k| m.positions.contains_key(k)) {
                    m.file.as_path()
                } else {
                    zc.file.as_path()
                };
                crate::input::Diagnostic::new(
                    file,
                    pos,
                    e.key.as_ref().map(ToString::to_string),
                    e.to_string(),
                )
            })
            .collect(),
    }
}

/// The most recent apply of `zone` on `target` in the journal `last` follows, after reading
/// what was appended to it since the last look. A journal that cannot be read is logged and
/// gives no record (every change then counts toward the thresholds).
pub fn last_apply_of(
    last: Option<&Mutex<LastApplies>>,
    zone: &Fqdn,
    target: &str,
) -> Option<Arc<LastApply>> {
    let mut l = last?.lock().ok()?;
    if let Err(e) = l.refresh() {
        tracing::warn!(error = %e, "cannot read the audit journal: no change counts as an undo");
    }
    l.get(zone, target)
}

/// One zone of a one-shot run: its configuration, manifest, and per target the read the
/// plan was made from (the plans themselves are in the [`Plan`], in the same order) or why
/// there is none.
pub struct PlannedZone {
    pub config: ZoneConfig,
    pub manifest: ZoneManifest,
    pub targets: ObservedTargets,
}

/// Each target of a zone with the read its plan was made from, or why there is none.
pub type ObservedTargets = Vec<(String, Result<Arc<Observed>, TargetError>)>;

impl PlannedZone {
    /// The first target that could not be read, as a run error (`zonekeeper plan` stops on
    /// it; `apply` reports it as that target's failure).
    pub fn read_error(&self) -> Option<RunError> {
        self.targets.iter().find_map(|(t, r)| match r {
            Err(TargetError::Read(e)) => Some(RunError::Read {
                provider: t.clone(),
                zone: self.config.name.clone(),
                source: e.clone(),
            }),
            Err(TargetError::ProviderMissing(p)) => Some(RunError::UnknownProvider(p.clone())),
            _ => None,
        })
    }
}

/// Loads the manifests of the configured zones (or only `only`), reads every target (with
/// retries) and plans. The zone files are parsed while the live zones are read, since both
/// take time on big zones; manifest errors are reported before provider errors, and a
/// target that cannot be read is kept as an error in its [`PlannedZone`]. `last` follows
/// the audit journal, for the undo check ([`plan_from_live`]).
pub async fn plan_configured(
    config: &Config,
    only: Option<&Fqdn>,
    providers: &Providers,
    read_retry: &RetryPolicy,
    last: Option<&Mutex<LastApplies>>,
) -> Result<(Plan, Vec<PlannedZone>), RunError> {
    let cfg = config.clone();
    let only_owned = only.cloned();
    let load = tokio::task::spawn_blocking(move || load::load_manifests(&cfg, only_owned.as_ref()));
    let mut reads: Vec<ObservedTargets> = Vec::new();
    for zc in config
        .zones
        .iter()
        .filter(|z| only.is_none_or(|o| &z.name == o))
    {
        let mut targets = Vec::new();
        for t in &zc.targets {
            let r = match providers.get(t) {
                None => Err(TargetError::ProviderMissing(t.clone())),
                Some(p) => read_with_retry(p.as_ref(), &zc.name, read_retry)
                    .await
                    .map(Arc::new)
                    .map_err(TargetError::Read),
            };
            targets.push((t.clone(), r));
        }
        reads.push(targets);
    }
    let manifests = load
        .await
        .map_err(|e| {
            RunError::Manifest(Diagnostics(vec![Diagnostic::file(
                &config.file,
                format!("loading manifests failed: {e}"),
            )]))
        })?
        .map_err(RunError::Manifest)?;
    let mut plan = Plan::default();
    let mut planned = Vec::with_capacity(manifests.len());
    for ((zc, m), targets) in manifests.into_iter().zip(reads) {
        for (t, r) in &targets {
            if let (Ok(observed), Some(p)) = (r, providers.get(t)) {
                let last_apply = last_apply_of(last, &zc.name, t);
                plan.zones.push(plan_from_live(
                    &zc,
                    &m,
                    p.as_ref(),
                    observed,
                    last_apply.as_deref(),
                ));
            }
        }
        planned.push(PlannedZone {
            config: zc,
            manifest: m,
            targets,
        });
    }
    Ok((plan, planned))
}

/// Pairs each zone's reads with its plans again (the inverse of [`plan_configured`]'s
/// split), for [`reconcile::apply_planned`].
pub fn pair_plans(plan: Plan, planned: &[PlannedZone]) -> Vec<reconcile::PlannedTargets> {
    let mut plans = plan.zones.into_iter();
    planned
        .iter()
        .map(|pz| {
            pz.targets
                .iter()
                .map(|(t, r)| {
                    let r = match r {
                        Ok(observed) => match plans.next() {
                            Some(plan) => Ok(TargetPlan {
                                plan,
                                observed: observed.clone(),
                            }),
                            None => Err(TargetError::ProviderMissing(t.clone())),
                        },
                        Err(e) => Err(e.clone()),
                    };
                    (t.clone(), r)
                })
                .collect()
        })
        .collect()
}
