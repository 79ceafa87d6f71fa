//! A source revision put in force: its checked configuration, every zone's manifest and
//! every domain manifest, the providers and registrars built from it, and per unit of work
//! a hash of everything its reconcile depends on (so a new revision reconciles at once only
//! what changed). Loaded all or nothing: one invalid file refuses the whole revision and
//! the previous one stays.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::domains::{build_registrars, load_domains, Registrars};
use super::instrument::Instrumented;
use super::scheduler::Work;
use super::Providers;
use crate::config::operator::OperatorConfig;
use crate::config::{Config, ZoneConfig};
use crate::manifest::domain::DomainSpec;
use crate::manifest::ZoneManifest;
use crate::model::Fqdn;
use crate::plan::rules::guard_rails_in_force;
use crate::plan::{Policy, Thresholds};
use crate::provider::{self, BuildContext};
use crate::source::Snapshot;
use crate::telemetry::metrics::Metrics;

/// A revision in force.
pub struct Revision {
    pub revision: String,
    pub committed_at: Option<SystemTime>,
    pub zones: BTreeMap<Fqdn, Arc<(ZoneConfig, ZoneManifest)>>,
    /// Managed domains (registrar settings), by domain.
    pub domains: BTreeMap<Fqdn, Arc<DomainSpec>>,
    /// What each zone's or domain's reconcile depends on, hashed (SHA-256 hex).
    pub inputs: BTreeMap<Work, String>,
    pub providers: Arc<Providers>,
    pub registrars: Arc<Registrars>,
}

impl Revision {
    /// Every unit of work of this revision: its zones, then its domains.
    pub fn work(&self) -> impl Iterator<Item = Work> + '_ {
        self.zones
            .keys()
            .map(|z| Work::Zone(z.clone()))
            .chain(self.domains.keys().map(|d| Work::Domain(d.clone())))
    }
}

/// Each zone's guard rails (policy, thresholds) as its revision declares them.
pub type GuardRails = BTreeMap<Fqdn, (Policy, Thresholds)>;

impl Revision {
    /// The policy and thresholds each zone declares in this revision.
    pub fn guard_rails(&self) -> GuardRails {
        self.zones
            .iter()
            .map(|(z, e)| (z.clone(), (e.0.policy, e.0.thresholds)))
            .collect()
    }

    /// This revision with each zone's guard rails no looser than `previous` (the revision
    /// before, as declared) had them: a commit that loosens them is judged by the old
    /// values, and the next revision by its own ([`guard_rails_in_force`]). A zone held
    /// to the old values gets another input hash, so the next revision reconciles it.
    pub fn held_to(mut self, previous: &GuardRails) -> Revision {
        for (z, entry) in self.zones.iter_mut() {
            let Some(prev) = previous.get(z) else {
                continue;
            };
            let declared = (entry.0.policy, entry.0.thresholds);
            let in_force = guard_rails_in_force(*prev, declared);
            if in_force == declared {
                continue;
            }
            tracing::warn!(zone = %z, previous = ?prev, declared = ?declared, "this revision loosens the zone's guard rails: its plan keeps the stricter previous values; the new ones apply from the next revision");
            let (mut zc, m) = (entry.0.clone(), entry.1.clone());
            zc.policy = in_force.0;
            zc.thresholds = in_force.1;
            *entry = Arc::new((zc, m));
            if let Some(h) = self.inputs.get_mut(&Work::Zone(z.clone())) {
                let mut d = Sha256::new();
                d.update(h.as_bytes());
                d.update(format!("held to {in_force:?}"));
                *h = hex::encode(d.finalize());
            }
        }
        self
    }
}

/// What the operator decides about every revision the daemon loads (docs/security.md).
#[derive(Clone, Debug, Default)]
pub struct OperatorSide {
    /// Providers, guard-rail limits (and the daemon's own settings). `None`: the followed
    /// zonekeeper.yaml holds everything itself (a local directory the operator follows
    /// with `--dir`, configured by its own file).
    pub config: Option<Arc<OperatorConfig>>,
    /// Where relative paths of a repository's own providers resolve when the operator
    /// defines none: the operator's config directory, else the working directory, or the
    /// followed directory itself (`--dir`, the operator's own). `None`: the snapshot root
    /// (tests).
    pub provider_base: Option<PathBuf>,
    /// The octoDNS configuration of a repository made for octoDNS alone (no
    /// zonekeeper.yaml): the operator's `octodns:` or `run --octodns-config`. Needs
    /// `config`. A revision that has a zonekeeper.yaml is refused while this is set.
    pub octodns: Option<crate::config::octodns::RawOctodns>,
}

/// Loads a snapshot: config, every manifest, every provider. Returns every problem found
/// (one line each) when anything is invalid.
pub fn load_snapshot(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    ctx: &BuildContext,
    operator: &OperatorSide,
) -> Result<Revision, Vec<String>> {
    let mut ctx = ctx.clone();
    if operator
        .config
        .as_ref()
        .is_some_and(|c| c.defines_providers())
    {
        // The operator's own providers: its references are not the repository's to limit.
        ctx.secrets = ctx.secrets.without_allowed_list();
    }
    // A secret committed to the repository is no secret: never read files from the snapshot.
    ctx.secrets = ctx.secrets.deny_files_under(snap.root.clone());
    let config_path = snap.root.join("zonekeeper.yaml");
    let provider_base = operator.provider_base.as_deref().unwrap_or(&snap.root);
    let config = match (&operator.config, &operator.octodns) {
        (Some(op), Some(octo)) => {
            if config_path.exists() {
                return Err(vec![format!(
                    "zonekeeper.yaml: the repository has its own zonekeeper.yaml, and the operator names its octoDNS configuration ({}) for a repository without one: remove one of them",
                    octo.config.value
                )]);
            }
            Config::load_octodns(&snap.root, octo, op, provider_base, op.file.as_deref())
        }
        (Some(op), None) => Config::load_under(&config_path, op, provider_base),
        (None, _) => Config::load_with_provider_base(&config_path, provider_base),
    }
    .map_err(|d| d.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    // Zone and domain problems are reported together.
    let (manifests, specs) = match (
        super::load::load_manifests(&config, None),
        load_domains(&config),
    ) {
        (Ok(m), Ok(d)) => (m, d),
        (m, d) => {
            let mut all: Vec<String> = Vec::new();
            for diags in [m.err(), d.err()].into_iter().flatten() {
                all.extend(diags.0.iter().map(ToString::to_string));
            }
            return Err(all);
        }
    };
    let mut providers: Providers = BTreeMap::new();
    let mut errors = Vec::new();
    for p in config.providers.values() {
        match provider::registry::build(&p.name, &p.settings, &ctx) {
            Ok(b) => {
                providers.insert(
                    p.name.clone(),
                    Box::new(Instrumented::new(b, metrics.clone())),
                );
            }
            Err(e) => errors.push(format!("provider {:?}: {}", p.name, super::chain(&e))),
        }
    }
    let registrars = if specs.is_empty() {
        Registrars::new()
    } else {
        build_registrars(&config, &ctx).unwrap_or_else(|e| {
            errors.push(super::chain(&e));
            Registrars::new()
        })
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut zones = BTreeMap::new();
    let mut inputs = BTreeMap::new();
    for (zc, m) in manifests {
        inputs.insert(Work::Zone(zc.name.clone()), input_hash(&config, &zc, &m));
        zones.insert(zc.name.clone(), Arc::new((zc, m)));
    }
    let mut domains = BTreeMap::new();
    for spec in specs {
        inputs.insert(
            Work::Domain(spec.domain.clone()),
            domain_hash(&config, &spec),
        );
        domains.insert(spec.domain.clone(), Arc::new(spec));
    }
    Ok(Revision {
        revision: snap.revision.clone(),
        committed_at: snap.committed_at,
        zones,
        domains,
        inputs,
        providers: Arc::new(providers),
        registrars: Arc::new(registrars),
    })
}

/// The zone file's bytes, its config entry and its targets' settings, hashed. The config
/// values are hashed through their `Debug` text: every one is a plain, ordered value
/// (no maps with random order), so equal values give equal text.
fn input_hash(config: &Config, zc: &ZoneConfig, m: &ZoneManifest) -> String {
    let mut h = Sha256::new();
    h.update(&m.content_sha256);
    h.update(format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        zc.targets, zc.policy, zc.thresholds, zc.ignore, zc.processors
    ));
    for t in &zc.targets {
        if let Some(p) = config.providers.get(t) {
            h.update(format!("{:?}", p.settings));
        }
    }
    hex::encode(h.finalize())
}

/// The domain's desired settings and its registrar's settings, hashed (as [`input_hash`]).
fn domain_hash(config: &Config, spec: &DomainSpec) -> String {
    let mut h = Sha256::new();
    h.update(format!("{:?}|{}", spec.desired, spec.registrar));
    if let Some(p) = config.providers.get(&spec.registrar) {
        h.update(format!("{:?}", p.settings));
    }
    hex::encode(h.finalize())
}
