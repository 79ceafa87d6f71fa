//! A source revision put in force: its checked configuration, every zone's manifest and
//! every domain manifest, the providers and registrars built from it, and per unit of work
//! a hash of everything its reconcile depends on (so a new revision reconciles at once only
//! what changed). Loaded all or nothing: one invalid file refuses the whole revision and
//! the previous one stays.
//!
//! Incremental: a revision keeps what the next load may reuse ([`Reusable`]). A zone whose
//! files (by the content ids the source gives, [`Snapshot::files`]) and file list are
//! unchanged shares the previous revision's parsed manifest; a provider whose settings are
//! unchanged is the same built provider (its client and rate limiters keep their state).
//! The result equals a load from scratch (`tests/incremental.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
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
use crate::provider::{self, BuildContext, Provider};
use crate::source::{FileIndex, Snapshot};
use crate::telemetry::metrics::Metrics;

/// A revision in force.
pub struct Revision {
    pub revision: String,
    pub committed_at: Option<SystemTime>,
    pub zones: BTreeMap<Fqdn, Arc<(ZoneConfig, Arc<ZoneManifest>)>>,
    /// Managed domains (registrar settings), by domain.
    pub domains: BTreeMap<Fqdn, Arc<DomainSpec>>,
    /// What each zone's or domain's reconcile depends on, hashed (SHA-256 hex).
    pub inputs: BTreeMap<Work, String>,
    pub providers: Arc<Providers>,
    pub registrars: Arc<Registrars>,
    /// What the next load may take over from this one (`None`: nothing, the source gives
    /// no file index).
    pub reusable: Option<Arc<Reusable>>,
}

/// What a loaded revision lends the next load: parsed manifests with the files they were
/// read from, built providers with their settings. Shares the revision's own `Arc`s, so
/// keeping it costs no copy.
pub struct Reusable {
    /// Each zone's manifest (as declared, before [`Revision::held_to`]) and its inputs.
    zones: HashMap<Fqdn, ReusableZone>,
    /// Managed zones in configuration order (the sub-zone check depends on them).
    origins: Vec<Fqdn>,
    /// Each provider with its settings as `Debug` text.
    providers: HashMap<String, (String, Arc<dyn Provider>)>,
}

struct ReusableZone {
    manifest: Arc<ZoneManifest>,
    /// Each source file ([`SourceKey`]).
    sources: Vec<SourceKey>,
    /// The content id of every file the manifest was read from; `None` when one is not in
    /// the source's index or a file may `!include` others (then it is parsed every time).
    inputs: Option<Vec<(PathBuf, String)>>,
}

/// The zone's source files relative to `root` (None: one is outside it).
/// A zone source file as reuse compares it: its path relative to the snapshot root, default
/// TTL, replace flag and key order (`ZoneSource`'s fields: any of them changes the reading).
type SourceKey = (PathBuf, u32, bool, Option<crate::manifest::order::KeyOrder>);

fn relative_sources(zc: &ZoneConfig, root: &Path) -> Option<Vec<SourceKey>> {
    zc.sources
        .iter()
        .map(|s| {
            s.path
                .strip_prefix(root)
                .ok()
                .map(|r| (r.to_path_buf(), s.default_ttl, s.replace, s.order))
        })
        .collect()
}

/// The content id of each of the zone's source files (None: one is not in `files`).
fn source_ids(sources: &[SourceKey], files: &FileIndex) -> Option<Vec<(PathBuf, String)>> {
    sources
        .iter()
        .map(|(rel, ..)| files.get(rel).map(|id| (rel.clone(), id.clone())))
        .collect()
}

/// Whether one of the zone's source files may `!include` another file: its text holds
/// `!include`, or both a `!` and a `%` (a `%TAG` directive or a percent-escaped tag could
/// spell it), or it cannot be read again. Such a zone depends on files its config does not
/// name: it is parsed for every revision and its input hash covers what was read.
fn may_include(zc: &ZoneConfig) -> bool {
    zc.sources.iter().any(|s| match std::fs::read(&s.path) {
        Ok(text) => {
            memchr_find(&text, b"!include") || (text.contains(&b'!') && text.contains(&b'%'))
        }
        Err(_) => true,
    })
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
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
            let (mut zc, m) = (entry.0.clone(), Arc::clone(&entry.1));
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
/// (one line each) when anything is invalid. With `previous` (what the revision before
/// lends, [`Revision::reusable`]) and a snapshot that indexes its files, only the zones
/// whose inputs changed are parsed, and only the providers whose settings changed built.
pub fn load_snapshot(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    ctx: &BuildContext,
    operator: &OperatorSide,
    previous: Option<&Reusable>,
) -> Result<Revision, Vec<String>> {
    let started = std::time::Instant::now();
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
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        zones = config.zones.len(),
        "configuration loaded"
    );
    let previous = previous.filter(|_| snap.files.is_some());
    let root = snap.root.as_path();
    let reuse = |zc: &ZoneConfig| -> Option<Arc<ZoneManifest>> {
        let (prev, files) = (previous?, snap.files.as_deref()?);
        let z = prev.zones.get(&zc.name)?;
        let inputs = z.inputs.as_ref()?;
        let unchanged = relative_sources(zc, root)? == z.sources
            && inputs.iter().all(|(rel, id)| files.get(rel) == Some(id));
        unchanged.then(|| z.manifest.clone())
    };
    let origins: Vec<Fqdn> = config.zones.iter().map(|z| z.name.clone()).collect();
    let check_reused = previous.is_none_or(|p| p.origins != origins);
    // Zone and domain problems are reported together.
    let (manifests, specs) = match (
        super::load::load_manifests_reusing(&config, None, &reuse, check_reused),
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
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        parsed = manifests.iter().filter(|z| z.parsed).count(),
        "manifests loaded"
    );
    let mut providers: Providers = BTreeMap::new();
    let mut kept: HashMap<String, (String, Arc<dyn Provider>)> = HashMap::new();
    let mut errors = Vec::new();
    for p in config.providers.values() {
        let settings = format!("{:?}", p.settings);
        let same = previous
            .and_then(|prev| prev.providers.get(&p.name))
            .filter(|(s, _)| *s == settings)
            .map(|(_, built)| built.clone());
        let built = match same {
            Some(b) => b,
            None => match provider::registry::build(&p.name, &p.settings, &ctx) {
                Ok(b) => Arc::new(Instrumented::new(b, metrics.clone())) as Arc<dyn Provider>,
                Err(e) => {
                    errors.push(format!("provider {:?}: {}", p.name, super::chain(&e)));
                    continue;
                }
            },
        };
        providers.insert(p.name.clone(), built.clone());
        kept.insert(p.name.clone(), (settings, built));
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
    // Each provider's settings as text, once: every zone's input hash names its targets'.
    let settings: HashMap<&str, &str> = kept
        .iter()
        .map(|(name, (s, _))| (name.as_str(), s.as_str()))
        .collect();
    let mut zones = BTreeMap::new();
    let mut inputs = BTreeMap::new();
    let mut reusable = HashMap::new();
    for z in manifests {
        let name = z.config.name.clone();
        // A reused zone includes nothing (such zones are never reused).
        let includes = z.parsed && may_include(&z.config);
        inputs.insert(
            Work::Zone(name.clone()),
            input_hash(&settings, &z.config, &z.manifest, includes),
        );
        if let Some(files) = snap.files.as_deref() {
            let sources = relative_sources(&z.config, root);
            let ids = match (z.parsed, previous.and_then(|p| p.zones.get(&name))) {
                _ if includes => None,
                (false, Some(prev)) => prev.inputs.clone(),
                _ => sources.as_deref().and_then(|s| source_ids(s, files)),
            };
            if let Some(sources) = sources {
                reusable.insert(
                    name.clone(),
                    ReusableZone {
                        manifest: z.read.clone(),
                        sources,
                        inputs: ids,
                    },
                );
            }
        }
        zones.insert(name, Arc::new((z.config, z.manifest)));
    }
    let mut domains = BTreeMap::new();
    for spec in specs {
        inputs.insert(
            Work::Domain(spec.domain.clone()),
            domain_hash(&config, &spec),
        );
        domains.insert(spec.domain.clone(), Arc::new(spec));
    }
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "revision built");
    let reusable = snap.files.as_ref().map(|_| {
        Arc::new(Reusable {
            zones: reusable,
            origins,
            providers: kept,
        })
    });
    Ok(Revision {
        revision: snap.revision.clone(),
        committed_at: snap.committed_at,
        zones,
        domains,
        inputs,
        providers: Arc::new(providers),
        registrars: Arc::new(registrars),
        reusable,
    })
}

/// The zone file's bytes, its config entry and its targets' settings, hashed; for a zone
/// that `includes` other files, also the records read (the file's bytes do not show an
/// included file's change). The config values are hashed through their `Debug` text: every
/// one is a plain, ordered value (no maps with random order), so equal values give equal
/// text.
fn input_hash(
    settings: &HashMap<&str, &str>,
    zc: &ZoneConfig,
    m: &ZoneManifest,
    includes: bool,
) -> String {
    let mut h = Sha256::new();
    h.update(&m.content_sha256);
    if includes {
        h.update(format!(
            "{:?}|{:?}|{:?}|{:?}",
            m.zone, m.ignored, m.filters, m.settings
        ));
    }
    h.update(format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        zc.targets, zc.policy, zc.thresholds, zc.ignore, zc.processors
    ));
    for t in &zc.targets {
        if let Some(p) = settings.get(t.as_str()) {
            h.update(p);
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
