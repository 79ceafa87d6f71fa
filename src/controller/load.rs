//! Loading the manifests of the configured zones: the loop over `config.zones` that joins
//! the configuration (which zones, which files) to [`manifest::load_zone_sources`], on all
//! cores, reusing what an earlier load already parsed when the caller says it may.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{Config, ZoneConfig};
use crate::input::{Diagnostic, Diagnostics};
use crate::manifest::{self, ZoneManifest};
use crate::model::Fqdn;

/// Reads the manifests of every configured zone (or only `only`), in the configuration's
/// zone order, each paired with its zone configuration.
///
/// # Errors
/// Every problem in every file, collected: one bad file does not hide another's problems.
pub fn load_manifests(
    config: &Config,
    only: Option<&Fqdn>,
) -> Result<Vec<(ZoneConfig, ZoneManifest)>, Diagnostics> {
    let loaded = load_manifests_reusing(config, only, &|_| None, true)?;
    Ok(loaded
        .into_iter()
        .map(|z| {
            // Dropped first: without processors it is the same `Arc` as `manifest`.
            drop(z.read);
            let m = Arc::try_unwrap(z.manifest).unwrap_or_else(|m| (*m).clone());
            (z.config, m)
        })
        .collect())
}

/// One zone as [`load_manifests_reusing`] loaded it.
pub struct LoadedZone {
    pub config: ZoneConfig,
    /// The desired zone: the manifest as read, then the zone's processors
    /// (`ZoneConfig.processors`).
    pub manifest: Arc<ZoneManifest>,
    /// The manifest as read, before the processors: what a later load may reuse (the
    /// processors may change while the files do not).
    pub read: Arc<ZoneManifest>,
    /// Parsed now (false: the manifest `reuse` gave).
    pub parsed: bool,
}

/// [`load_manifests`], parsing on all cores only the zones for which `reuse` gives no
/// manifest (it must give one only when every input of the zone is unchanged since that
/// manifest was read). Reused manifests are held to the sub-zone rule again only when
/// `check_reused` (the set of managed zones changed); they passed it before.
///
/// # Errors
/// As [`load_manifests`], in the same order: each zone's problems in configuration order,
/// then the records in managed sub-zones.
pub fn load_manifests_reusing(
    config: &Config,
    only: Option<&Fqdn>,
    reuse: &(dyn Fn(&ZoneConfig) -> Option<Arc<ZoneManifest>> + Sync),
    check_reused: bool,
) -> Result<Vec<LoadedZone>, Diagnostics> {
    let wanted: Vec<&ZoneConfig> = config
        .zones
        .iter()
        .filter(|z| only.is_none_or(|o| &z.name == o))
        .collect();
    let mut results: Vec<Option<Result<Arc<ZoneManifest>, Vec<Diagnostic>>>> =
        wanted.iter().map(|zc| reuse(zc).map(Ok)).collect();
    let reused: Vec<bool> = results.iter().map(Option::is_some).collect();
    let todo: Vec<usize> = (0..wanted.len()).filter(|i| !reused[*i]).collect();
    let parse = |i: usize| {
        let zc = wanted[i];
        manifest::load_zone_sources(&config.base_dir, &zc.sources, &zc.name).map(Arc::new)
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(todo.len());
    if threads <= 1 {
        for &i in &todo {
            results[i] = Some(parse(i));
        }
    } else {
        // Zones are taken one at a time from a shared counter: one big zone does not hold
        // back a thread's share of small ones.
        let next = AtomicUsize::new(0);
        let done = Mutex::new(Vec::with_capacity(todo.len()));
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = todo.get(k) else { break };
                        mine.push((i, parse(i)));
                    }
                    done.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
                });
            }
        });
        for (i, r) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
            results[i] = Some(r);
        }
    }
    let mut out = Vec::with_capacity(wanted.len());
    let mut diags = Vec::new();
    for ((zc, r), was_reused) in wanted.iter().zip(results).zip(&reused) {
        match r {
            Some(Ok(m)) => out.push(LoadedZone {
                config: (*zc).clone(),
                read: m.clone(),
                manifest: m,
                parsed: !was_reused,
            }),
            Some(Err(mut d)) => diags.append(&mut d),
            None => {}
        }
    }
    // Checked against every configured zone, also when `only` narrows what is loaded.
    let origins: HashMap<&str, usize> = config
        .zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.name.as_str(), i))
        .collect();
    for z in out.iter().filter(|z| z.parsed || check_reused) {
        diags.extend(records_in_managed_sub_zones(
            &z.manifest,
            &z.config,
            config,
            &origins,
        ));
    }
    // After that check: octoDNS adds ownership records of delegations to the parent.
    for z in out.iter_mut().filter(|z| !z.config.processors.is_empty()) {
        let mut m = (*z.read).clone();
        diags.extend(super::process_source(&z.config, &mut m));
        z.manifest = Arc::new(m);
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(diags))
    }
}

/// Records a zone file holds at or under another managed zone inside it (`www.sub` in
/// `example.com.` while `sub.example.com.` is managed too): the delegation hides them, so
/// they would be published and never served. Only NS and DS at the sub-zone's apex belong
/// in the parent. octoDNS refuses the same (`SubzoneRecordException`, octodns/zone/base.py
/// `add_record`), with the same wording; zonekeeper also refuses it for `lenient` records.
/// `origins` gives each managed zone's index in `config.zones`: of several managed zones
/// holding a record, the first configured is named. Costs the record's labels, not the
/// number of zones.
fn records_in_managed_sub_zones(
    m: &ZoneManifest,
    zc: &ZoneConfig,
    config: &Config,
    origins: &HashMap<&str, usize>,
) -> Vec<Diagnostic> {
    use crate::model::RecordType;
    let origin = m.zone.origin.as_str();
    let mut out = Vec::new();
    for key in m.zone.rrsets.keys() {
        // The managed zones strictly inside the origin that hold the name: the name itself
        // and every suffix starting after a dot, longer than the origin.
        let name = key.name.as_str();
        let inside = |c: &str| {
            c.len() > origin.len()
                && c.ends_with(origin)
                && (origin == "." || c.as_bytes()[c.len() - origin.len() - 1] == b'.')
        };
        let suffixes = std::iter::once(name).chain(
            name.match_indices('.')
                .map(|(pos, _)| &name[pos + 1..])
                .take_while(|c| c.len() > origin.len()),
        );
        let Some(sub) = suffixes
            .filter(|c| inside(c))
            .filter_map(|c| origins.get(c).copied())
            .min()
            .map(|i| &config.zones[i].name)
        else {
            continue;
        };
        let why = if &key.name == sub {
            if matches!(key.rtype, RecordType::NS | RecordType::DS) {
                continue;
            }
            format!(
                "{} {} is at the apex of the managed sub-zone {sub} and not of type NS or DS: it belongs in that zone's file",
                key.name, key.rtype
            )
        } else {
            format!(
                "{} {} is under the managed sub-zone {sub}: it belongs in that zone's file (the delegation would hide it)",
                key.name, key.rtype
            )
        };
        out.push(Diagnostic::new(
            &zc.file,
            m.positions.get(key).copied().unwrap_or_default(),
            Some(format!("{} {}", key.name, key.rtype)),
            why,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with a zonekeeper.yaml keeping `zones` on a memory provider, and the
    /// zone files given as (zone, text); its loaded config.
    fn repo(zones: &[&str], files: &[(&str, &str)]) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("zones")).unwrap();
        let entries: String = zones
            .iter()
            .map(|z| format!("  {z}:\n    targets: [m]\n"))
            .collect();
        std::fs::write(
            root.join("zonekeeper.yaml"),
            format!("providers:\n  m:\n    type: memory\nzones:\n{entries}"),
        )
        .unwrap();
        for (zone, text) in files {
            std::fs::write(root.join(format!("zones/{zone}.yaml")), text).unwrap();
        }
        let config = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        (dir, config)
    }

    #[test]
    fn collects_problems_of_every_file_and_filters_by_zone() {
        let (_dir, config) = repo(
            &["a.test", "b.test", "c.test"],
            &[
                ("a.test", "'':\n  type: A\n  value: 192.0.2.1\n"),
                ("b.test", "www:\n  type: A\n  value: nope\n"),
            ],
        );
        let e = load_manifests(&config, None).unwrap_err();
        let text = e.to_string();
        assert_eq!(e.0.len(), 2, "{text}");
        assert!(
            text.contains("b.test.yaml:1:1: www.b.test. A: invalid IPv4"),
            "{text}"
        );
        assert!(text.contains("c.test.yaml: file not found"), "{text}");
        let a = Fqdn::parse("a.test").unwrap();
        let only = load_manifests(&config, Some(&a)).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].0.name, a);
        assert_eq!(only[0].1.zone.len(), 1);
    }

    #[test]
    fn records_in_a_managed_sub_zone_are_refused_with_their_line() {
        let (_dir, config) = repo(
            &["example.test", "sub.example.test"],
            &[
                (
                    "example.test",
                    "'':\n  type: A\n  value: 192.0.2.1\nsub:\n  - {type: NS, values: [ns1.example.net.]}\n  - {type: A, value: 192.0.2.2}\nwww.sub:\n  type: A\n  value: 192.0.2.3\nsubway:\n  type: A\n  value: 192.0.2.4\n",
                ),
                ("sub.example.test", "'':\n  type: A\n  value: 192.0.2.5\n"),
            ],
        );
        let e = load_manifests(&config, None).unwrap_err();
        let text = e.to_string();
        // NS at the sub-zone's apex is the delegation; `subway` is not under `sub`.
        assert_eq!(e.0.len(), 2, "{text}");
        assert!(
            text.contains("sub.example.test. A is at the apex of the managed sub-zone sub.example.test. and not of type NS or DS"),
            "{text}"
        );
        assert!(
            text.contains("example.test.yaml:7:1: www.sub.example.test. A: www.sub.example.test. A is under the managed sub-zone"),
            "{text}"
        );
        // Only the parent is loaded: still checked against every configured zone.
        let only = Fqdn::parse("example.test").unwrap();
        assert!(load_manifests(&config, Some(&only)).is_err());
    }
}
