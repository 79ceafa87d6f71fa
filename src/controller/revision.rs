//! A source revision put in force: its checked configuration, every zone's manifest, the
//! providers built from it, and per zone a hash of everything its reconcile depends on (so
//! a new revision reconciles at once only the zones whose inputs changed). Loaded all or
//! nothing: one invalid file refuses the whole revision and the previous one stays.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::instrument::Instrumented;
use super::Providers;
use crate::config::{Config, ZoneConfig};
use crate::manifest::ZoneManifest;
use crate::model::Fqdn;
use crate::provider::{self, BuildContext};
use crate::source::Snapshot;
use crate::telemetry::metrics::Metrics;

/// A revision in force.
pub struct Revision {
    pub revision: String,
    pub committed_at: Option<SystemTime>,
    pub zones: BTreeMap<Fqdn, Arc<(ZoneConfig, ZoneManifest)>>,
    /// What each zone's reconcile depends on, hashed (SHA-256 hex).
    pub inputs: BTreeMap<Fqdn, String>,
    pub providers: Arc<Providers>,
}

/// Loads a snapshot: config, every manifest, every provider. Returns every problem found
/// (one line each) when anything is invalid.
pub fn load_snapshot(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    ctx: &BuildContext,
) -> Result<Revision, Vec<String>> {
    // A secret committed to the repository is no secret: never read files from the snapshot.
    let mut ctx = ctx.clone();
    ctx.secrets = ctx.secrets.deny_files_under(snap.root.clone());
    let config_path = snap.root.join("zonekeeper.yaml");
    let config = Config::load(&config_path)
        .map_err(|d| d.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let manifests = super::load::load_manifests(&config, None)
        .map_err(|d| d.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
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
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut zones = BTreeMap::new();
    let mut inputs = BTreeMap::new();
    for (zc, m) in manifests {
        inputs.insert(zc.name.clone(), input_hash(&config, &zc, &m));
        zones.insert(zc.name.clone(), Arc::new((zc, m)));
    }
    Ok(Revision {
        revision: snap.revision.clone(),
        committed_at: snap.committed_at,
        zones,
        inputs,
        providers: Arc::new(providers),
    })
}

/// The zone file's bytes, its config entry and its targets' settings, hashed. The config
/// values are hashed through their `Debug` text: every one is a plain, ordered value
/// (no maps with random order), so equal values give equal text.
fn input_hash(config: &Config, zc: &ZoneConfig, m: &ZoneManifest) -> String {
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
    hex::encode(h.finalize())
}
