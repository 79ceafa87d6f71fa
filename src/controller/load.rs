//! Loading the manifests of the configured zones: the loop over `config.zones` that joins
//! the configuration (which zones, which files) to [`manifest::load_zone_sources`].

use crate::config::{Config, ZoneConfig};
use crate::input::Diagnostics;
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
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for zc in config
        .zones
        .iter()
        .filter(|z| only.is_none_or(|o| &z.name == o))
    {
        match manifest::load_zone_sources(&config.base_dir, &zc.sources, &zc.name) {
            Ok(m) => out.push((zc.clone(), m)),
            Err(mut d) => diags.append(&mut d),
        }
    }
    // Checked against every configured zone, also when `only` narrows what is loaded.
    let origins: Vec<&Fqdn> = config.zones.iter().map(|z| &z.name).collect();
    for (_, m) in &out {
        diags.extend(records_in_managed_sub_zones(m, &origins));
    }
    // After that check: octoDNS adds ownership records of delegations to the parent.
    for (zc, m) in &mut out {
        diags.extend(super::process_source(zc, m));
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
fn records_in_managed_sub_zones(
    m: &ZoneManifest,
    origins: &[&Fqdn],
) -> Vec<crate::input::Diagnostic> {
    use crate::model::RecordType;
    let subs: Vec<&Fqdn> = origins
        .iter()
        .copied()
        .filter(|o| *o != &m.zone.origin && o.is_in(&m.zone.origin))
        .collect();
    if subs.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for key in m.zone.rrsets.keys() {
        let Some(sub) = subs.iter().find(|s| key.name.is_in(s)) else {
            continue;
        };
        let why = if &key.name == *sub {
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
        out.push(crate::input::Diagnostic::new(
            &m.file,
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
