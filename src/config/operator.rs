//! The operator's configuration: what the people who hold the DNS credentials decide, as
//! opposed to what whoever can merge to the followed repository decides (docs/security.md).
//!
//! It is the same file format as `zonekeeper.yaml` ([`super::RawConfig`]), read from a file
//! the operator owns (`zonekeeper run --config FILE`; `--operator-config FILE` for `plan`,
//! `apply`, `validate` and `import`), and only these sections count:
//! - `controller:` ([`super::controller`]): how the daemon runs;
//! - `providers:`: the DNS hosts and registrars, with their addresses, directories and
//!   credentials. When the operator defines any, a repository's own `providers:` section
//!   is refused: zones pick providers by name only.
//! - `guard_rails:` ([`GuardRailLimits`]): the loosest policy and thresholds any zone may
//!   declare; a zone that declares looser ones is held to these.
//!
//! - `octodns:` ([`super::octodns::RawOctodns`]): for a repository made for octoDNS alone
//!   (no zonekeeper.yaml), where its octoDNS configuration is (relative to the
//!   repository's root) and which operator provider each octoDNS target is. The
//!   repository's file names octoDNS providers with their own credentials; only their
//!   names are used.
//!
//! `zones:` and `defaults:` belong to the repository: an operator file that has them is
//! refused unless it is also the file being followed (local single-file use).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use super::controller::ControllerConfig;
use super::{base_dir_of, resolve_providers, ProviderConfig, RawConfig};
use crate::input::{from_yaml_error, read_input, yaml_options, Diagnostic, Diagnostics, Pos};
use crate::plan::rules::guard_rails_in_force;
use crate::plan::{Policy, Thresholds};

/// `guard_rails:`: the loosest guard rails a zone may declare. Each key is optional; an
/// absent key leaves that part to the repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardRailLimits {
    /// The loosest policy: `sync` (any), `upsert-only` (a zone declaring `sync` never
    /// deletes), `warn` (no zone is ever written).
    #[serde(default)]
    pub policy: Option<Policy>,
    /// The highest thresholds (and lowest `min_records`) a zone may declare.
    #[serde(default)]
    pub thresholds: ThresholdLimits,
}

/// The thresholds part of [`GuardRailLimits`]: ceilings on `update_pct`/`delete_pct`
/// (percent of existing RRsets) and on `min_records` (zones smaller than it are never held
/// back, so a higher value is looser).
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdLimits {
    #[serde(default, deserialize_with = "crate::plan::rules::percent_opt")]
    pub update_pct: Option<f64>,
    #[serde(default, deserialize_with = "crate::plan::rules::percent_opt")]
    pub delete_pct: Option<f64>,
    #[serde(default)]
    pub min_records: Option<usize>,
}

impl GuardRailLimits {
    /// The guard rails a zone runs with when it declares `declared`: field by field the
    /// stricter of the declared value and the operator's limit
    /// ([`guard_rails_in_force`]'s rule).
    pub fn hold(&self, declared: (Policy, Thresholds)) -> (Policy, Thresholds) {
        let t = self.thresholds;
        let limit = (
            self.policy.unwrap_or(Policy::Sync),
            Thresholds {
                update_pct: t.update_pct.unwrap_or(f64::INFINITY),
                delete_pct: t.delete_pct.unwrap_or(f64::INFINITY),
                min_records: t.min_records.unwrap_or(usize::MAX),
            },
        );
        guard_rails_in_force(limit, declared)
    }

    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        *self != GuardRailLimits::default()
    }
}

/// The checked operator configuration.
#[derive(Clone, Debug, Default)]
pub struct OperatorConfig {
    /// The file it was read from; `None` when the operator gave flags only.
    pub file: Option<PathBuf>,
    /// The `controller:` section, relative paths made absolute against the file.
    pub controller: ControllerConfig,
    /// The operator's providers (empty: the operator defines none, and a repository's own
    /// `providers:` section is used, with a warning in the daemon).
    pub providers: BTreeMap<String, ProviderConfig>,
    pub guard_rails: GuardRailLimits,
    /// `octodns:`: the octoDNS configuration of a repository that has no zonekeeper.yaml,
    /// and its targets mapped to `providers`. Used only for such a repository (one with
    /// its own zonekeeper.yaml is refused while this is set).
    pub octodns: Option<super::octodns::RawOctodns>,
    /// Where `zones:` or `defaults:` was written in this file, if anywhere (repository
    /// sections: refused unless this file is also the one followed).
    pub repository_sections: Option<Pos>,
}

impl OperatorConfig {
    /// Reads and checks the operator's file. Relative paths in it (provider directories,
    /// `file:` secrets, the state directory) are relative to the file.
    ///
    /// # Errors
    /// Every problem, with its line: unreadable file, invalid YAML, an unknown key, a
    /// provider its backend refuses.
    pub fn load(path: &Path) -> Result<OperatorConfig, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        let raw: RawConfig = serde_saphyr::from_str_with_options(&text, yaml_options(text.len()))
            .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        let base = base_dir_of(path);
        let mut diags = Vec::new();
        let providers = resolve_providers(raw.providers, path, &base, None, &mut diags);
        if !diags.is_empty() {
            return Err(Diagnostics(diags));
        }
        let repository_sections = raw
            .zones
            .values()
            .map(|z| Pos::from_saphyr(&z.referenced))
            .min_by_key(|p| p.line)
            .or_else(|| {
                let d = &raw.defaults;
                (d.zones_dir.is_some()
                    || d.domains_dir.is_some()
                    || d.registrar.is_some()
                    || d.policy.is_some()
                    || d.thresholds.is_some()
                    || d.ttl.is_some()
                    || !d.ignore.is_empty())
                .then_some(Pos::default())
            });
        Ok(OperatorConfig {
            file: Some(path.to_path_buf()),
            controller: raw.controller.unwrap_or_default().relative_to(&base),
            providers,
            guard_rails: raw.guard_rails.map(|g| g.value).unwrap_or_default(),
            octodns: raw.octodns,
            repository_sections,
        })
    }

    /// Whether the operator defines the providers (then a repository may not).
    pub fn defines_providers(&self) -> bool {
        !self.providers.is_empty()
    }

    /// Refuses a file that carries the repository's sections (`zones:`, `defaults:`) when it
    /// is not the file being followed: those would be silently ignored.
    ///
    /// # Errors
    /// One diagnostic at the first zone's line, saying where zones belong.
    pub fn only_operator_sections(&self) -> Result<(), Diagnostics> {
        match (&self.file, self.repository_sections) {
            (Some(file), Some(pos)) => Err(Diagnostics(vec![Diagnostic::new(
                file,
                pos,
                None,
                "`zones:` and `defaults:` belong to the repository's zonekeeper.yaml, not to the operator's configuration: move them there (this file keeps `controller:`, `providers:`, `guard_rails:` and `octodns:`)",
            )])),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_looser_declarations_and_leave_stricter_ones() {
        let limits = GuardRailLimits {
            policy: Some(Policy::UpsertOnly),
            thresholds: ThresholdLimits {
                delete_pct: Some(20.0),
                ..Default::default()
            },
        };
        let loose = (
            Policy::Sync,
            Thresholds {
                update_pct: 90.0,
                delete_pct: 100.0,
                min_records: 50,
            },
        );
        let (p, t) = limits.hold(loose);
        assert_eq!(p, Policy::UpsertOnly);
        // delete_pct is held; update_pct and min_records have no limit.
        assert_eq!(
            (t.update_pct, t.delete_pct, t.min_records),
            (90.0, 20.0, 50)
        );
        let strict = (
            Policy::Warn,
            Thresholds {
                update_pct: 5.0,
                delete_pct: 5.0,
                min_records: 1,
            },
        );
        assert_eq!(limits.hold(strict), strict);
        assert_eq!(GuardRailLimits::default().hold(loose), loose);
    }

    #[test]
    fn operator_file_keeps_providers_and_flags_repository_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("operator.yaml");
        std::fs::write(
            &path,
            "controller:\n  state_dir: state\nproviders:\n  live:\n    type: zonefile\n    directory: live\nguard_rails:\n  policy: upsert-only\n  thresholds: {delete_pct: 10}\n",
        )
        .unwrap();
        let op = OperatorConfig::load(&path).unwrap();
        assert!(op.defines_providers());
        let crate::provider::registry::AnySettings::Zonefile(s) = &op.providers["live"].settings
        else {
            panic!("not a zonefile provider")
        };
        // Relative to the operator's file, wherever the repository is.
        assert_eq!(s.directory, dir.path().join("live"));
        assert_eq!(op.controller.state_dir, Some(dir.path().join("state")));
        assert_eq!(op.guard_rails.thresholds.delete_pct, Some(10.0));
        op.only_operator_sections().unwrap();

        std::fs::write(
            &path,
            "providers:\n  m: {type: memory}\nzones:\n  a.test: {targets: [m]}\n",
        )
        .unwrap();
        let e = OperatorConfig::load(&path)
            .unwrap()
            .only_operator_sections()
            .unwrap_err()
            .to_string();
        assert!(e.contains("operator.yaml:4:"), "{e}");
        assert!(e.contains("belong to the repository"), "{e}");

        std::fs::write(&path, "guard_rails:\n  thresholds: {delete_pc: 10}\n").unwrap();
        let e = OperatorConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("operator.yaml:2:"), "{e}");
        assert!(e.contains("delete_pc"), "{e}");
    }
}
