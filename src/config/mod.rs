//! `zonekeeper.yaml`: providers, zones -> targets, and per-zone rules.
//!
//! Two stages, like ripgrep's flags: [`RawConfig`] is the file as written (serde shapes,
//! unknown keys refused, every entry keeps its line); [`Config`] is the checked result with
//! paths made absolute, provider settings typed and zone names normalised. Secrets stay
//! references here; providers resolve them when they are built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::manifest::diag::{from_yaml_error, Diagnostic, Diagnostics, Pos};
use crate::model::Fqdn;
use crate::plan::{IgnoreRule, Policy, Thresholds};
use crate::provider::powerdns::PowerdnsSettings;
use crate::provider::rfc2136::Rfc2136Settings;
use crate::provider::zonefile::ZonefileSettings;

pub use crate::secret::{Secret, SecretError, SecretPolicy, SecretRef};

/// The configuration file as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Named providers (DNS hosts) zones can target.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawProviderSchema>")]
    pub providers: BTreeMap<String, Spanned<RawProvider>>,
    /// Managed zones, keyed by zone name (trailing dot optional).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawZone>")]
    pub zones: BTreeMap<String, Spanned<RawZone>>,
    /// Defaults for every zone.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// How `zonekeeper run` gets its manifests and serves its API (flags override these).
    #[serde(default)]
    pub controller: Option<ControllerConfig>,
}

/// The `controller:` section: settings of `zonekeeper run`. Every key has a flag of the
/// same name (`--repo`, `--state-dir`, ...) that overrides it.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Git repository URL (`file://`, `git://`, `https://`, `ssh://`).
    pub repo: Option<String>,
    /// Branch to follow (default `main`).
    pub branch: Option<String>,
    /// Directory inside the repository holding `zonekeeper.yaml`.
    pub path: Option<PathBuf>,
    /// A local directory instead of a repository (development).
    pub dir: Option<PathBuf>,
    /// Cache and journal directory (default `./zonekeeper-state`).
    pub state_dir: Option<PathBuf>,
    /// HTTP listen address (default `127.0.0.1:9353`).
    pub listen: Option<String>,
    /// Shared secret for `POST /hooks/git` (`env:`/`file:`).
    pub webhook_secret: Option<SecretRef>,
    /// HTTPS token for the repository (`env:`/`file:`).
    pub token: Option<SecretRef>,
    /// SSH private key file for `ssh://` repositories.
    pub ssh_key: Option<PathBuf>,
    /// Poll interval, e.g. `60s` (default 60 s, jittered +-10%).
    pub interval: Option<String>,
    /// Full drift sweep interval, e.g. `10m` (default 10 min, jittered +-10%).
    pub resync_interval: Option<String>,
    /// Zones reconciled at the same time (default 4).
    pub concurrency: Option<usize>,
    /// Audit journal path (default `<state_dir>/journal.jsonl`).
    pub journal: Option<PathBuf>,
    /// Accept only commits signed by these SSH keys.
    pub verify: Option<VerifyConfig>,
    /// Accept a head that does not descend from the last one taken (default false).
    pub allow_rewind: Option<bool>,
    /// Secret references the repository's manifests may use (globs such as `env:PDNS_*`,
    /// `file:/etc/zonekeeper/secrets/*`). Unset: any except the controller's own
    /// credentials and files inside the repository. Also `ZONEKEEPER_ALLOWED_SECRETS`.
    pub allowed_secrets: Option<Vec<String>>,
}

/// Commit signature checking.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// A file in git's `gpg.ssh.allowedSignersFile` format.
    pub allowed_signers: PathBuf,
}

impl ControllerConfig {
    /// Reads only the `controller:` section of a local file (`zonekeeper run --config`).
    /// Providers and zones come from the source, not from this file.
    pub fn load(path: &Path) -> Result<ControllerConfig, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        let raw: RawConfig = serde_saphyr::from_str_with_options(
            &text,
            crate::manifest::octodns::yaml_options(text.len()),
        )
        .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut c = raw.controller.unwrap_or_default();
        // Relative paths in the file are relative to the file.
        for p in [&mut c.dir, &mut c.state_dir, &mut c.ssh_key, &mut c.journal]
            .into_iter()
            .flatten()
        {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        }
        if let Some(v) = &mut c.verify {
            if v.allowed_signers.is_relative() {
                v.allowed_signers = base.join(&v.allowed_signers);
            }
        }
        c.webhook_secret = c.webhook_secret.map(|s| s.relative_to(base));
        c.token = c.token.map(|s| s.relative_to(base));
        Ok(c)
    }
}

/// A provider entry: `type` plus that type's own settings.
#[derive(Debug, Deserialize)]
pub struct RawProvider {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// Schema-only view of a provider entry (the settings depend on `type`).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum RawProviderSchema {
    Memory {
        /// `memory`: zones in process memory (tests, dry runs); also a memory registrar.
        #[serde(rename = "type")]
        kind: MemoryTag,
        #[serde(flatten)]
        settings: MemorySettings,
    },
    Zonefile {
        /// `zonefile`: RFC 1035 master files in a directory.
        #[serde(rename = "type")]
        kind: ZonefileTag,
        #[serde(flatten)]
        settings: ZonefileSettings,
    },
    Powerdns {
        /// `powerdns`: a PowerDNS Authoritative server through its HTTP API.
        #[serde(rename = "type")]
        kind: PowerdnsTag,
        #[serde(flatten)]
        settings: PowerdnsSettings,
    },
    Rfc2136 {
        /// `rfc2136`: a primary server written by TSIG-signed UPDATE, read by AXFR (BIND).
        #[serde(rename = "type")]
        kind: Rfc2136Tag,
        #[serde(flatten)]
        settings: Rfc2136Settings,
    },
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub enum MemoryTag {
    Memory,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub enum ZonefileTag {
    Zonefile,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub enum PowerdnsTag {
    Powerdns,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub enum Rfc2136Tag {
    Rfc2136,
}

/// One managed zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    /// Provider names the zone is kept on.
    pub targets: Vec<String>,
    /// The octoDNS YAML zone file (default `zones/<zone>.yaml`, relative to this file).
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    /// Records never touched, in addition to `defaults.ignore`.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
}

/// Defaults applied to every zone.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// Directory of zone files (default `zones`).
    #[serde(default)]
    pub zones_dir: Option<String>,
    /// Directory of domain manifests, `<domain>.yaml` each (default `domains`, relative to
    /// this file). Every file in it is a managed domain.
    #[serde(default)]
    pub domains_dir: Option<String>,
    /// The registrar (a provider name) of domain manifests that name none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub registrar: Option<Spanned<String>>,
}

/// Settings of the `memory` provider.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemorySettings {
    /// The memory registrar's seeded domains and declared capabilities (tests, examples).
    #[serde(default)]
    #[schemars(with = "Option<crate::registrar::memory::RawMemoryRegistrar>")]
    pub registrar: Option<crate::registrar::memory::MemoryRegistrarSettings>,
}

/// A provider's typed settings.
#[derive(Clone, Debug)]
pub enum ProviderSettings {
    Memory(MemorySettings),
    Zonefile(ZonefileSettings),
    Powerdns(PowerdnsSettings),
    Rfc2136(Rfc2136Settings),
}

/// The provider types zonekeeper knows, for help texts and errors.
pub const PROVIDER_TYPES: &[&str] = &["memory", "zonefile", "powerdns", "rfc2136"];

/// A checked provider entry.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub name: String,
    pub settings: ProviderSettings,
    pub pos: Pos,
}

/// A checked zone entry.
#[derive(Clone, Debug)]
pub struct ZoneConfig {
    pub name: Fqdn,
    pub targets: Vec<String>,
    /// Absolute path of the zone's octoDNS YAML file.
    pub file: PathBuf,
    pub policy: Policy,
    pub thresholds: Thresholds,
    pub ignore: Vec<IgnoreRule>,
    pub pos: Pos,
}

/// The checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub file: PathBuf,
    /// Directory of the config file; relative paths in it start here.
    pub base_dir: PathBuf,
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Sorted by zone name.
    pub zones: Vec<ZoneConfig>,
    /// Absolute path of the domain manifests directory (`defaults.domains_dir`).
    pub domains_dir: PathBuf,
    /// `defaults.registrar`: a provider name (checked to exist).
    pub default_registrar: Option<String>,
}

impl Config {
    /// Reads and checks a configuration file. Every problem is reported, with its line.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        Config::parse(&text, path)
    }

    /// Checks configuration text that was read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, Diagnostics> {
        let raw: RawConfig = serde_saphyr::from_str_with_options(
            text,
            crate::manifest::octodns::yaml_options(text.len()),
        )
        .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        let base_dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        resolve(raw, path, &base_dir)
    }

    pub fn zone(&self, name: &Fqdn) -> Option<&ZoneConfig> {
        self.zones.iter().find(|z| &z.name == name)
    }
}

/// Reads an input file, turning "missing", "a directory" and "unreadable" into diagnostics.
pub fn read_input(path: &Path) -> Result<String, Diagnostic> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(Diagnostic::file(
                path,
                "is a directory, expected a YAML file",
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Diagnostic::file(path, "file not found"));
        }
        Err(e) => return Err(Diagnostic::file(path, format!("cannot read: {e}"))),
    }
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Diagnostic::file(path, "is not UTF-8 text"),
        _ => Diagnostic::file(path, format!("cannot read: {e}")),
    })
}

fn resolve(raw: RawConfig, file: &Path, base_dir: &Path) -> Result<Config, Diagnostics> {
    let mut diags = Vec::new();
    let mut providers = BTreeMap::new();
    for (name, entry) in raw.providers {
        let pos = Pos::from_saphyr(&entry.referenced);
        let record = Some(format!("provider {name:?}"));
        match provider_settings(&entry.value, base_dir) {
            Ok(settings) => {
                providers.insert(
                    name.clone(),
                    ProviderConfig {
                        name,
                        settings,
                        pos,
                    },
                );
            }
            Err(msg) => diags.push(Diagnostic::new(file, pos, record, msg)),
        }
    }
    let zones_dir = base_dir.join(raw.defaults.zones_dir.as_deref().unwrap_or("zones"));
    let domains_dir = base_dir.join(raw.defaults.domains_dir.as_deref().unwrap_or("domains"));
    let default_registrar = raw.defaults.registrar.map(|r| {
        if !providers.contains_key(&r.value) {
            diags.push(Diagnostic::new(
                file,
                Pos::from_saphyr(&r.referenced),
                Some("defaults.registrar".into()),
                format!("{:?} is not a provider in `providers:`", r.value),
            ));
        }
        r.value
    });
    let mut zones: Vec<ZoneConfig> = Vec::new();
    for (name, entry) in raw.zones {
        let pos = Pos::from_saphyr(&entry.referenced);
        let record = Some(format!("zone {name:?}"));
        let z = entry.value;
        let fqdn = match Fqdn::parse(&name) {
            Ok(f) if !f.is_root() => f,
            Ok(_) => {
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    record,
                    "the root zone cannot be managed",
                ));
                continue;
            }
            Err(e) => {
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    record,
                    format!("invalid zone name: {e}"),
                ));
                continue;
            }
        };
        if zones.iter().any(|o| o.name == fqdn) {
            diags.push(Diagnostic::new(
                file,
                pos,
                record,
                format!("zone {fqdn} is listed twice"),
            ));
            continue;
        }
        if z.targets.is_empty() {
            diags.push(Diagnostic::new(
                file,
                pos,
                record.clone(),
                "no targets: list at least one provider",
            ));
        }
        for t in &z.targets {
            if !providers.contains_key(t)
                && !diags
                    .iter()
                    .any(|d: &Diagnostic| d.record.as_deref() == Some(&format!("provider {t:?}")))
            {
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    record.clone(),
                    format!("target {t:?} is not a provider in `providers:`"),
                ));
            }
        }
        let mut ignore = raw.defaults.ignore.clone();
        ignore.extend(z.ignore);
        for rule in &ignore {
            // Rules match names as zone files write them: relative, ASCII, '' for the apex.
            let why = if rule.name == "@" {
                Some("use '' for the zone apex, not '@'")
            } else if rule.name.ends_with('.') {
                Some("names are relative to the zone: remove the trailing '.' and the zone")
            } else if !rule.name.is_ascii() {
                Some("write internationalised names in punycode (xn--...)")
            } else {
                None
            };
            if let Some(why) = why {
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    record.clone(),
                    format!("ignore rule {:?}: {why}", rule.name),
                ));
            }
        }
        if let Err(e) = crate::plan::IgnoreSet::new(&ignore) {
            diags.push(Diagnostic::new(
                file,
                pos,
                record.clone(),
                format!("invalid ignore pattern: {e}"),
            ));
        }
        let file_path = match z.file {
            Some(f) => base_dir.join(f),
            None => zones_dir.join(format!("{}.yaml", fqdn.without_dot())),
        };
        zones.push(ZoneConfig {
            name: fqdn,
            targets: z.targets,
            file: file_path,
            policy: z.policy.or(raw.defaults.policy).unwrap_or_default(),
            thresholds: z.thresholds.or(raw.defaults.thresholds).unwrap_or_default(),
            ignore,
            pos,
        });
    }
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    if diags.is_empty() {
        Ok(Config {
            file: file.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            providers,
            zones,
            domains_dir,
            default_registrar,
        })
    } else {
        diags.sort_by_key(|d| d.pos.line);
        Err(Diagnostics(diags))
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    kind: &str,
    map: &serde_json::Map<String, serde_json::Value>,
) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::Object(map.clone()))
        .map_err(|e| format!("{kind}: {e}"))
}

fn provider_settings(raw: &RawProvider, base_dir: &Path) -> Result<ProviderSettings, String> {
    match raw.kind.as_str() {
        "memory" => typed("memory", &raw.settings).map(ProviderSettings::Memory),
        "zonefile" => {
            let mut s: ZonefileSettings = typed("zonefile", &raw.settings)?;
            s.directory = base_dir.join(&s.directory);
            Ok(ProviderSettings::Zonefile(s))
        }
        "powerdns" => {
            let mut s: PowerdnsSettings = typed("powerdns", &raw.settings)?;
            s.api_key = s.api_key.relative_to(base_dir);
            s.validate().map_err(|e| format!("powerdns: {e}"))?;
            Ok(ProviderSettings::Powerdns(s))
        }
        "rfc2136" => {
            let mut s: Rfc2136Settings = typed("rfc2136", &raw.settings)?;
            s.tsig.secret = s.tsig.secret.relative_to(base_dir);
            if let Some(bad) = s.zones.iter().find(|z| Fqdn::parse(z).is_err()) {
                return Err(format!("rfc2136: invalid zone name {bad:?} in `zones`"));
            }
            Ok(ProviderSettings::Rfc2136(s))
        }
        other => Err(format!(
            "unknown provider type {other:?} (known: {})",
            PROVIDER_TYPES.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_and_defaults() {
        let text = "providers:\n  local:\n    type: zonefile\n    directory: ./live\nzones:\n  example.com:\n    targets: [local]\n";
        let c = Config::parse(text, Path::new("/etc/zk/zonekeeper.yaml")).unwrap();
        let z = &c.zones[0];
        assert_eq!(z.name.as_str(), "example.com.");
        assert_eq!(z.file, Path::new("/etc/zk/zones/example.com.yaml"));
        assert_eq!(z.policy, Policy::Sync);
        assert_eq!(c.domains_dir, Path::new("/etc/zk/domains"));
        assert_eq!(c.default_registrar, None);
        let ProviderSettings::Zonefile(s) = &c.providers["local"].settings else {
            panic!()
        };
        assert_eq!(s.directory, Path::new("/etc/zk/./live"));
    }

    #[test]
    fn typos_are_errors_with_lines() {
        let text = "providers:\n  local:\n    type: zonefile\n    directroy: ./live\nzones:\n  example.com:\n    targets: [lokal]\n";
        let e = Config::parse(text, Path::new("z.yaml")).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("z.yaml:3:") || s.contains("z.yaml:2:"), "{s}");
        assert!(s.contains("directroy"), "{s}");
        assert!(s.contains("lokal"), "{s}");
        let e = Config::parse(
            "providers:\n  m: {type: memory}\ndefaults:\n  registrar: nope\n",
            Path::new("z.yaml"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "z.yaml:4:14: defaults.registrar: \"nope\" is not a provider in `providers:`"
        );
        let e = Config::parse(
            "providers:\n  m:\n    type: memory\n    registrar:\n      domains:\n        example.com: {nameservers: [localhost]}\n",
            Path::new("z.yaml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("two labels"), "{e}");
        let e = Config::parse("zones: {}\nprovider: {}\n", Path::new("z.yaml")).unwrap_err();
        assert!(e.to_string().contains("provider"), "{e}");
    }
}
