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
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_problems_of_every_file_and_filters_by_zone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("zones")).unwrap();
        std::fs::write(
            root.join("zonekeeper.yaml"),
            "providers:\n  m:\n    type: memory\nzones:\n  a.test:\n    targets: [m]\n  b.test:\n    targets: [m]\n  c.test:\n    targets: [m]\n",
        )
        .unwrap();
        std::fs::write(
            root.join("zones/a.test.yaml"),
            "'':\n  type: A\n  value: 192.0.2.1\n",
        )
        .unwrap();
        std::fs::write(
            root.join("zones/b.test.yaml"),
            "www:\n  type: A\n  value: nope\n",
        )
        .unwrap();
        let config = Config::load(&root.join("zonekeeper.yaml")).unwrap();
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
}
