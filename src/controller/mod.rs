//! Orchestration: manifests + providers -> plans -> applied changes. Adds nothing of its own:
//! it calls the stages in order and returns their reports.
//!
//! The one-shot CLI commands (`plan`, `apply`) use [`plan_configured`] and [`apply_all`];
//! the daemon ([`daemon`]) reuses [`plan_from_live`] per zone.

pub mod daemon;
pub mod instrument;

use std::collections::BTreeMap;

use crate::apply::{apply_zone_plan, ApplyOptions, ApplyReport};
use crate::config::{Config, SecretError, SecretPolicy, ZoneConfig};
use crate::manifest::{self, Diagnostics, ZoneManifest};
use crate::model::{Fqdn, RrKey};
use crate::plan::{self, IgnoreSet, Plan, PlanInput, ZonePlan};
use crate::provider::{self, Observed, Provider, ProviderError};

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
    #[error("unsafe plan, nothing was applied (re-run with --force after review):\n{0}")]
    Unsafe(String),
}

/// Providers built from the configuration, by name.
pub type Providers = BTreeMap<String, Box<dyn Provider>>;

/// Builds every configured provider (resolving their secrets).
pub fn build_providers(config: &Config, secrets: &SecretPolicy) -> Result<Providers, RunError> {
    config
        .providers
        .values()
        .map(|p| {
            provider::build(
                &p.name,
                &p.settings,
                &provider::BuildContext::new(secrets.clone()),
            )
            .map(|b| (p.name.clone(), b))
            .map_err(|source| RunError::Secret {
                provider: p.name.clone(),
                source,
            })
        })
        .collect()
}

/// Reads one zone from one provider.
async fn read_live(zone: &Fqdn, provider: &dyn Provider) -> Result<Observed, RunError> {
    provider
        .read_zone(zone)
        .await
        .map_err(|source| RunError::Read {
            provider: provider.name().to_string(),
            zone: zone.clone(),
            source,
        })
}

/// Plans one zone on one target from its live state: fit, diff, policy, safety.
pub fn plan_from_live(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    provider: &dyn Provider,
    live: &Observed,
) -> ZonePlan {
    // Validated when the config was loaded.
    let ignore = IgnoreSet::new(&zc.ignore).unwrap_or_default();
    // Records octoDNS's `included`/`excluded` keep off this target are left alone on it,
    // in both directions (octoDNS neither creates nor deletes them there).
    let target = provider.name();
    let unmanaged = |k: &RrKey| {
        manifest.ignored.contains(k)
            || ignore.matches(&zc.name, k)
            || manifest.filters.get(k).is_some_and(|f| !f.allows(target))
    };
    let desired = manifest.desired_for(provider.name(), provider.kind());
    plan::plan_zone(&PlanInput {
        target: provider.name(),
        desired: &desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &unmanaged,
        caps: provider.capabilities(),
        normalize: &|k, s| provider.normalize(k, s),
        policy: zc.policy,
        thresholds: zc.thresholds,
    })
}

/// Reads live and plans one zone on one target.
pub async fn plan_zone_target(
    zc: &ZoneConfig,
    manifest: &ZoneManifest,
    provider: &dyn Provider,
) -> Result<ZonePlan, RunError> {
    let live = read_live(&zc.name, provider).await?;
    Ok(plan_from_live(zc, manifest, provider, &live))
}

fn provider<'a>(providers: &'a Providers, name: &str) -> Result<&'a dyn Provider, RunError> {
    providers
        .get(name)
        .map(AsRef::as_ref)
        .ok_or_else(|| RunError::UnknownProvider(name.to_string()))
}

/// Manifests loaded for a run, with their zone configuration.
pub type Loaded = Vec<(ZoneConfig, ZoneManifest)>;

/// Loads the manifests of the configured zones (or only `only`) and plans them. The zone
/// files are parsed while the live zones are read, since both take time on big zones;
/// manifest errors are reported before provider errors.
pub async fn plan_configured(
    config: &Config,
    only: Option<&Fqdn>,
    providers: &Providers,
) -> Result<(Plan, Loaded), RunError> {
    let cfg = config.clone();
    let only_owned = only.cloned();
    let load = tokio::task::spawn_blocking(move || manifest::load_all(&cfg, only_owned.as_ref()));
    let mut lives = Vec::new();
    let mut read_error = None;
    for zc in config
        .zones
        .iter()
        .filter(|z| only.is_none_or(|o| &z.name == o))
    {
        for t in &zc.targets {
            match provider(providers, t) {
                Ok(p) => match read_live(&zc.name, p).await {
                    Ok(l) => lives.push(l),
                    Err(e) => {
                        read_error.get_or_insert(e);
                    }
                },
                Err(e) => {
                    read_error.get_or_insert(e);
                }
            }
        }
    }
    let manifests = load
        .await
        .map_err(|e| {
            RunError::Manifest(Diagnostics(vec![manifest::Diagnostic::file(
                &config.file,
                format!("loading manifests failed: {e}"),
            )]))
        })?
        .map_err(RunError::Manifest)?;
    if let Some(e) = read_error {
        return Err(e);
    }
    let mut lives = lives.into_iter();
    let mut plan = Plan::default();
    for (zc, m) in &manifests {
        for t in &zc.targets {
            let live = lives
                .next()
                .ok_or_else(|| RunError::UnknownProvider(t.clone()))?;
            plan.zones
                .push(plan_from_live(zc, m, provider(providers, t)?, &live));
        }
    }
    Ok((plan, manifests))
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
            .map(|z| {
                format!(
                    "  {} -> {}: {}",
                    z.zone,
                    z.target,
                    z.unsafe_reasons.join("; ")
                )
            })
            .collect();
        if !unsafe_text.is_empty() {
            return Err(RunError::Unsafe(unsafe_text.join("\n")));
        }
    }
    let mut out = Vec::new();
    for zp in plan.zones.iter().filter(|z| z.writes()) {
        let p = provider(providers, &zp.target)?;
        let report =
            apply_zone_plan(p, zp, &provider::Observed::absent(zp.zone.clone()), opts).await; // FIXME: the read
        let (zc, m) = manifests
            .iter()
            .find(|(zc, _)| zc.name == zp.zone)
            .ok_or_else(|| RunError::UnknownZone(zp.zone.clone()))?;
        let again = plan_zone_target(zc, m, p).await?;
        out.push(ZoneApplied {
            zone: zp.zone.clone(),
            target: zp.target.clone(),
            report,
            remaining: again.changes.len(),
        });
    }
    Ok(out)
}
