//! Orchestration: manifests + providers -> plans -> applied changes. Adds nothing of its own:
//! it calls the stages in order and returns their reports.
//!
//! The one-shot CLI commands (`plan`, `apply`) use [`plan_all`] and [`apply_all`].

use std::collections::BTreeMap;

use crate::apply::{apply_zone_plan, ApplyOptions, ApplyReport};
use crate::config::{Config, SecretError, ZoneConfig};
use crate::manifest::{Diagnostics, ZoneManifest};
use crate::model::{Fqdn, RrKey};
use crate::plan::{self, IgnoreSet, Plan, PlanInput, ZonePlan};
use crate::provider::{self, Provider, ProviderError};

/// Why a run could not produce or apply a plan.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("invalid configuration:\n{0}")]
    Config(Diagnostics),
    #[error("invalid manifests:\n{0}")]
    Manifest(Diagnostics),
    #[error("provider {provider:?}: {source}")]
    Secret {
        provider: String,
        #[source]
        source: SecretError,
    },
    #[error("reading zone {zone} from {provider:?} failed: {source}")]
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
    #[error("unsafe plan, nothing was applied (re-run with --force after review):\n{0}")]
    Unsafe(String),
}

/// Providers built from the configuration, by name.
pub type Providers = BTreeMap<String, Box<dyn Provider>>;

/// Builds every configured provider (resolving their secrets).
pub fn build_providers(config: &Config) -> Result<Providers, RunError> {
    config
        .providers
        .values()
        .map(|p| {
            provider::build(&p.name, &p.settings)
                .map(|b| (p.name.clone(), b))
                .map_err(|source| RunError::Secret {
                    provider: p.name.clone(),
                    source,
                })
        })
        .collect()
}

/// Plans one zone on one target: read live, fit, diff, policy, safety.
pub async fn plan_zone_target(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    provider: &dyn Provider,
) -> Result<ZonePlan, RunError> {
    let live = provider
        .read_zone(&zc.name)
        .await
        .map_err(|source| RunError::Read {
            provider: provider.name().to_string(),
            zone: zc.name.clone(),
            source,
        })?;
    // Validated when the config was loaded.
    let ignore = IgnoreSet::new(&zc.ignore).unwrap_or_default();
    let unmanaged = |k: &RrKey| manifest.ignored.contains(k) || ignore.matches(&zc.name, k);
    let desired = manifest.desired_for(provider.name());
    Ok(plan::plan_zone(&PlanInput {
        target: provider.name(),
        desired: &desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &unmanaged,
        caps: provider.capabilities(),
        policy: zc.policy,
        thresholds: zc.thresholds,
    }))
}

/// Plans every loaded zone on each of its targets.
pub async fn plan_all(manifests: &[(ZoneConfig, ZoneManifest)], providers: &Providers) -> Result<Plan, RunError> {
    let mut plan = Plan::default();
    for (zc, m) in manifests {
        for t in &zc.targets {
            let p = providers
                .get(t)
                .ok_or_else(|| RunError::UnknownProvider(t.clone()))?;
            plan.zones.push(plan_zone_target(zc, m, p.as_ref()).await?);
        }
    }
    Ok(plan)
}

/// The outcome of applying one zone plan.
#[derive(Debug)]
pub struct ZoneApplied {
    pub zone: Fqdn,
    pub target: String,
    pub report: ApplyReport,
    /// Changes still planned after applying and re-reading (should be zero).
    pub remaining: usize,
}

/// Applies a plan: refuses an unsafe one unless `force`, skips `warn` zones, then re-reads
/// each zone and re-plans to verify it converged.
pub async fn apply_all(
    plan: &Plan,
    manifests: &[(ZoneConfig, ZoneManifest)],
    providers: &Providers,
    force: bool,
    opts: &ApplyOptions,
) -> Result<Vec<ZoneApplied>, RunError> {
    if !force {
        let unsafe_text: Vec<String> = plan
            .zones
            .iter()
            .filter(|z| z.writes() && !z.unsafe_reasons.is_empty())
            .map(|z| format!("  {} -> {}: {}", z.zone, z.target, z.unsafe_reasons.join("; ")))
            .collect();
        if !unsafe_text.is_empty() {
            return Err(RunError::Unsafe(unsafe_text.join("\n")));
        }
    }
    let mut out = Vec::new();
    for zp in plan.zones.iter().filter(|z| z.writes()) {
        let p = providers
            .get(&zp.target)
            .ok_or_else(|| RunError::UnknownProvider(zp.target.clone()))?;
        let report = apply_zone_plan(p.as_ref(), zp, opts).await;
        let (zc, m) = manifests
            .iter()
            .find(|(zc, _)| zc.name == zp.zone)
            .ok_or_else(|| RunError::UnknownZone(zp.zone.clone()))?;
        let again = plan_zone_target(zc, m, p.as_ref()).await?;
        out.push(ZoneApplied {
            zone: zp.zone.clone(),
            target: zp.target.clone(),
            report,
            remaining: again.changes.len(),
        });
    }
    Ok(out)
}
