//! `zonekeeper.yaml`: providers, zones -> targets, and per-zone rules.
//!
//! Two stages, like ripgrep's flags: [`RawConfig`] is the file as written (serde shapes,
//! unknown keys refused, every entry keeps its line); [`Config`] is the checked result:
//! paths absolute, provider settings typed and checked by their backend
//! ([`crate::provider::registry`]), zone names normalised, ignore rules compiled. Nothing
//! downstream parses a value again. Secrets stay references here; providers resolve them
//! when they are built. The `controller:` section is [`controller`]'s.

pub mod controller;
pub mod octodns;
pub mod operator;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::input::{from_yaml_error, read_input, yaml_options, Diagnostic, Diagnostics, Pos};
use crate::manifest::octodns::DEFAULT_TTL;
use crate::manifest::ZoneSource;
use crate::model::{Fqdn, MAX_TTL};
use crate::plan::{IgnoreRule, IgnoreSet, Policy, Thresholds};
use crate::provider::registry::{AnySettings, ProviderEntrySchema, PROVIDER_TYPES};
use operator::OperatorConfig;

pub use crate::secret::{Secret, SecretError, SecretPolicy, SecretRef};

/// The configuration file as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Named providers (DNS hosts) zones can target.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ProviderEntrySchema>")]
    pub providers: BTreeMap<String, Spanned<RawProvider>>,
    /// Managed zones, keyed by zone name (trailing dot optional).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawZone>")]
    pub zones: BTreeMap<String, Spanned<RawZone>>,
    /// Defaults for every zone.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// How `zonekeeper run` gets its manifests and serves its API (flags override these).
    /// The operator's file only: ignored in a followed repository.
    #[serde(default)]
    pub controller: Option<controller::ControllerConfig>,
    /// The loosest guard rails any zone may declare. The operator's file only: refused in a
    /// followed repository's zonekeeper.yaml.
    #[serde(default)]
    #[schemars(with = "Option<operator::GuardRailLimits>")]
    pub guard_rails: Option<Spanned<operator::GuardRailLimits>>,
    /// Zones read from octoDNS's own configuration file, its target names mapped to
    /// providers ([`octodns`]). The repository's file only.
    #[serde(default)]
    pub octodns: Option<octodns::RawOctodns>,
}

/// A provider entry as written: `type` plus that type's own keys, each with its line (the
/// keys are typed later, by the backend [`AnySettings::parse`] picks from `type`).
#[derive(Debug, Default)]
pub struct RawProvider {
    /// `type`, with where it was written; `None` when missing.
    pub kind: Option<(String, Pos)>,
    /// The other keys in file order: name and value.
    pub fields: Vec<(String, serde_json::Value)>,
    /// Where each of `fields` was written.
    pub positions: Vec<Pos>,
}

impl<'de> Deserialize<'de> for RawProvider {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawProvider;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a provider: `type` and its settings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawProvider, A::Error> {
                let mut p = RawProvider::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let pos = Pos::from_saphyr(&key.referenced);
                    if key.value == "type" {
                        let kind: String = map.next_value()?;
                        p.kind = Some((kind, pos));
                    } else {
                        p.fields.push((key.value, map.next_value()?));
                        p.positions.push(pos);
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V)
    }
}

/// One managed zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    /// Provider names the zone is kept on.
    pub targets: Vec<String>,
    /// The octoDNS YAML zone file (default `zones/<zone>.yaml`, relative to this file), or
    /// a list of files merged as octoDNS merges a zone's sources (a name and type in two
    /// files is an error). Each must resolve inside the directory holding this file.
    #[serde(default)]
    #[schemars(with = "Option<ZoneFiles>")]
    pub file: Option<Spanned<ZoneFiles>>,
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    /// Records never touched, in addition to `defaults.ignore`.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// TTL in seconds of records in the zone file that give no `ttl:` (octoDNS's
    /// YamlProvider `default_ttl`; default `defaults.ttl`, else 3600).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub ttl: Option<Spanned<u32>>,
    /// Keep a TXT record `_zonekeeper.<zone>` naming the revision (commit id and time) that
    /// last wrote the zone, and refuse to write an older or unrelated revision over it
    /// (default `defaults.revision_record`, else false). Only `zonekeeper run` writes it.
    #[serde(default)]
    pub revision_record: Option<bool>,
}

/// `file:` of a zone: one path or several.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ZoneFiles {
    One(String),
    Many(Vec<String>),
}

impl ZoneFiles {
    /// The paths as written, in order.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            ZoneFiles::One(p) => vec![p.as_str()],
            ZoneFiles::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
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
    /// TTL in seconds of records that give no `ttl:`, for zones that do not set `ttl`
    /// (default 3600, octoDNS's).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub ttl: Option<Spanned<u32>>,
    /// `revision_record` for zones that do not set it (default false).
    #[serde(default)]
    pub revision_record: Option<bool>,
    /// Directory of zone files (default `zones`), inside the directory holding this file.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub zones_dir: Option<Spanned<String>>,
    /// Directory of domain manifests, `<domain>.yaml` each (default `domains`, relative to
    /// this file, inside its directory). Every file in it is a managed domain.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub domains_dir: Option<Spanned<String>>,
    /// The registrar (a provider name) of domain manifests that name none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub registrar: Option<Spanned<String>>,
}

/// A checked provider entry.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub name: String,
    /// Typed and checked by the backend; build it with [`crate::provider::registry::build`].
    pub settings: AnySettings,
    pub pos: Pos,
}

/// A checked zone entry.
#[derive(Clone, Debug)]
pub struct ZoneConfig {
    pub name: Fqdn,
    pub targets: Vec<String>,
    /// Absolute path of the zone's octoDNS YAML file (the first of `sources`).
    pub file: PathBuf,
    /// The files the zone's records are read from, merged in this order (one for a zone of
    /// `zones:`; an octoDNS configuration's zone may have several), each with its
    /// default TTL.
    pub sources: Vec<ZoneSource>,
    pub policy: Policy,
    pub thresholds: Thresholds,
    /// Records never touched: `defaults.ignore` then the zone's own, compiled
    /// ([`IgnoreSet::rules`] gives them as written).
    pub ignore: IgnoreSet,
    /// Keep the revision record `_zonekeeper.<zone>` (TXT) in the zone: written by the
    /// daemon with the zone's other changes, checked before each write.
    pub revision_record: bool,
    /// The octoDNS processors the zone runs (`config::octodns`), in octoDNS's order; empty
    /// for zones of `zones:`. Their source side runs where manifests become the desired
    /// zone (`controller::load`), the rest in the plan.
    pub processors: crate::plan::Processors,
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
    /// Absolute path of the domain manifests directory (`defaults.domains_dir`); `None`
    /// for a repository read through octoDNS's configuration alone (it has no domain
    /// manifests).
    pub domains_dir: Option<PathBuf>,
    /// `defaults.registrar`: a provider name (checked to exist).
    pub default_registrar: Option<String>,
}

impl Config {
    /// Reads and checks a configuration file that holds everything itself: its providers,
    /// its zones, its guard rails (local single-file use). Every problem is reported, with
    /// its line.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        Config::parse(&text, path)
    }

    /// Checks configuration text that was read from `path` (single-file use, as [`load`]).
    ///
    /// [`load`]: Config::load
    pub fn parse(text: &str, path: &Path) -> Result<Config, Diagnostics> {
        let raw: RawConfig = serde_saphyr::from_str_with_options(text, yaml_options(text.len()))
            .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        let base_dir = base_dir_of(path);
        resolve(raw, path, &base_dir, &base_dir, None, true)
    }

    /// As [`load`], with relative paths of the providers taken from `provider_base`
    /// instead of the file's directory (the daemon following a local directory loads a
    /// snapshot copy of it; the providers' directories and secret files stay the
    /// directory's own).
    ///
    /// [`load`]: Config::load
    pub fn load_with_provider_base(
        path: &Path,
        provider_base: &Path,
    ) -> Result<Config, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        let raw: RawConfig = serde_saphyr::from_str_with_options(&text, yaml_options(text.len()))
            .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        resolve(raw, path, &base_dir_of(path), provider_base, None, true)
    }

    /// Reads a repository's zonekeeper.yaml under the operator's configuration: providers
    /// come from the operator when it defines any (a repository `providers:` section is then
    /// refused), zones are held to the operator's `guard_rails:`, and the repository may not
    /// carry `guard_rails:` itself. `provider_base` is where relative paths of a
    /// repository's own providers resolve when the operator defines none (never inside a
    /// snapshot of the repository: see `zonekeeper run`).
    ///
    /// # Errors
    /// Every problem, with its file and line.
    pub fn load_under(
        path: &Path,
        operator: &OperatorConfig,
        provider_base: &Path,
    ) -> Result<Config, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        let raw: RawConfig = serde_saphyr::from_str_with_options(&text, yaml_options(text.len()))
            .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        let base_dir = base_dir_of(path);
        resolve(raw, path, &base_dir, provider_base, Some(operator), true)
    }

    /// Reads a repository made for octoDNS alone (no zonekeeper.yaml, `repo_root` its
    /// root) through its octoDNS configuration: `octodns.config` is relative to
    /// `repo_root` and inside it, its zones are managed with the operator's providers
    /// (octoDNS targets mapped by `octodns.targets`, else by name) and guard rails, and
    /// with every default. The octoDNS file's providers and their credentials are never
    /// used, only their names. There are no domain manifests. `named_in` is the file
    /// that named the octoDNS configuration (the operator's), for error messages; else
    /// the octoDNS file itself is named.
    ///
    /// # Errors
    /// Every problem, with its file and line.
    pub fn load_octodns(
        repo_root: &Path,
        octodns: &octodns::RawOctodns,
        operator: &OperatorConfig,
        provider_base: &Path,
        named_in: Option<&Path>,
    ) -> Result<Config, Diagnostics> {
        let raw = RawConfig {
            providers: BTreeMap::new(),
            zones: BTreeMap::new(),
            defaults: RawDefaults::default(),
            controller: None,
            guard_rails: None,
            octodns: Some(octodns.clone()),
        };
        let named =
            named_in.map_or_else(|| repo_root.join(&octodns.config.value), Path::to_path_buf);
        resolve(raw, &named, repo_root, provider_base, Some(operator), false)
    }

    pub fn zone(&self, name: &Fqdn) -> Option<&ZoneConfig> {
        self.zones.iter().find(|z| &z.name == name)
    }
}

/// The directory of a config file: relative paths in it start here.
pub fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks a `providers:` section: each entry typed by its backend, relative paths taken
/// from `base_dir`. Problems go to `diags`, pointing at the key at fault.
pub(crate) fn resolve_providers(
    raw: BTreeMap<String, Spanned<RawProvider>>,
    file: &Path,
    base_dir: &Path,
    age_root: Option<&Path>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, ProviderConfig> {
    let mut providers = BTreeMap::new();
    for (name, entry) in raw {
        let pos = Pos::from_saphyr(&entry.referenced);
        let record = Some(format!("provider {name:?}"));
        let raw = entry.value;
        let Some((kind, kind_pos)) = &raw.kind else {
            diags.push(Diagnostic::new(
                file,
                pos,
                record,
                format!("missing `type` (one of {})", PROVIDER_TYPES.join(", ")),
            ));
            continue;
        };
        match AnySettings::resolve(kind, &raw.fields, base_dir) {
            Ok(mut settings) => {
                // `age:` files live beside the file that names them (the repository), even
                // when the other paths resolve elsewhere (`provider_base`).
                if let Some(dir) = age_root {
                    for r in settings.secrets_mut() {
                        if let SecretRef::Age { root, .. } = r {
                            *root = dir.to_path_buf();
                        }
                    }
                }
                providers.insert(
                    name.clone(),
                    ProviderConfig {
                        name,
                        settings,
                        pos,
                    },
                );
            }
            Err(e) => {
                // Point at the key at fault when the backend named one.
                let at = match e.key.as_deref() {
                    Some("type") => *kind_pos,
                    Some(k) => raw
                        .fields
                        .iter()
                        .position(|(name, _)| name == k)
                        .and_then(|i| raw.positions.get(i).copied())
                        .unwrap_or(pos),
                    None => pos,
                };
                diags.push(Diagnostic::new(file, at, record, e.message));
            }
        }
    }
    providers
}

/// Checks a parsed zonekeeper.yaml. `provider_base`: where relative paths of the file's
/// own providers resolve; `under`: the operator's configuration (see
/// [`Config::load_under`]), `None` for a file that holds everything itself. `domains`:
/// whether the repository may hold domain manifests (`defaults.domains_dir`); not one
/// read through octoDNS's configuration alone.
fn resolve(
    raw: RawConfig,
    file: &Path,
    base_dir: &Path,
    provider_base: &Path,
    under: Option<&OperatorConfig>,
    domains: bool,
) -> Result<Config, Diagnostics> {
    let mut diags = Vec::new();
    let first_provider = raw
        .providers
        .values()
        .map(|p| Pos::from_saphyr(&p.referenced))
        .min_by_key(|p| p.line);
    let (providers, limits) = match under {
        None => (
            resolve_providers(
                raw.providers,
                file,
                provider_base,
                Some(base_dir),
                &mut diags,
            ),
            raw.guard_rails.map(|g| g.value).unwrap_or_default(),
        ),
        Some(op) => {
            if raw.controller.is_some() {
                diags.push(Diagnostic::new(
                    file,
                    Pos::default(),
                    Some("controller".into()),
                    "the daemon's settings belong to the operator's configuration (`run --config`), not to the repository: remove this section",
                ));
            }
            if let Some(g) = &raw.guard_rails {
                diags.push(Diagnostic::new(
                    file,
                    Pos::from_saphyr(&g.referenced),
                    Some("guard_rails".into()),
                    "guard rail limits belong to the operator's configuration, not to the repository: remove this section (a zone's own `policy:`/`thresholds:` stay here)",
                ));
            }
            let providers = if op.defines_providers() {
                if let Some(pos) = first_provider {
                    diags.push(Diagnostic::new(
                        file,
                        pos,
                        Some("providers".into()),
                        "providers are defined by the operator's configuration, so the repository may not define any: remove this section and keep only the provider names in each zone's `targets:` (docs/security.md, \"Moving providers to the operator\")",
                    ));
                }
                op.providers.clone()
            } else {
                resolve_providers(
                    raw.providers,
                    file,
                    provider_base,
                    Some(base_dir),
                    &mut diags,
                )
            };
            (providers, op.guard_rails)
        }
    };
    // Every path the file names stays inside its directory (the repository, in the
    // daemon): a committer must not make the controller read the host's files.
    // (A committed `zones` symlink counts too, so defaults are checked as well.)
    let mut inside = |key: &str, written: &Option<Spanned<String>>, default: &str| {
        let (value, pos) = match written {
            Some(w) => (w.value.as_str(), Pos::from_saphyr(&w.referenced)),
            None => (default, Pos::default()),
        };
        let path = base_dir.join(value);
        let ok = crate::input::resolve_inside(base_dir, &path)
            .map_err(|e| {
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    Some(key.to_string()),
                    format!("{value:?} {e}"),
                ))
            })
            .is_ok();
        (path, ok)
    };
    // A repository read through octoDNS's configuration alone has neither (its source
    // directories are checked where octoDNS's file names them).
    let (zones_dir, zones_dir_ok) = if domains {
        inside("defaults.zones_dir", &raw.defaults.zones_dir, "zones")
    } else {
        (base_dir.join("zones"), true)
    };
    let domains_dir = if domains {
        inside("defaults.domains_dir", &raw.defaults.domains_dir, "domains").0
    } else {
        base_dir.join("domains")
    };
    let ttl_checked = |t: &Spanned<u32>, key: String, diags: &mut Vec<Diagnostic>| {
        if t.value > MAX_TTL {
            diags.push(Diagnostic::new(
                file,
                Pos::from_saphyr(&t.referenced),
                Some(key),
                format!("ttl {} is more than {MAX_TTL} seconds", t.value),
            ));
        }
        t.value
    };
    let default_ttl = raw
        .defaults
        .ttl
        .as_ref()
        .map(|t| ttl_checked(t, "defaults.ttl".into(), &mut diags));
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
    // The names in `zones`: a repeated name is found without a scan per zone.
    let mut names: std::collections::HashSet<Fqdn> = std::collections::HashSet::new();
    // Each zone file (resolved) with the zone and the line that named it.
    let mut files: BTreeMap<PathBuf, (Fqdn, Pos)> = BTreeMap::new();
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
        if !names.insert(fqdn.clone()) {
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
        let ignore = match IgnoreSet::new(&ignore) {
            Ok(set) => set,
            Err(e) => {
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    record.clone(),
                    format!("invalid ignore pattern: {e}"),
                ));
                // Never used: a diagnostic means no `Config` is returned.
                IgnoreSet::default()
            }
        };
        let ttl = z
            .ttl
            .as_ref()
            .map(|t| ttl_checked(t, format!("zone {name:?}"), &mut diags))
            .or(default_ttl)
            .unwrap_or(DEFAULT_TTL);
        let written: Vec<&str> = z.file.as_ref().map(|f| f.value.paths()).unwrap_or_default();
        let (file_path, file_pos) = match (&z.file, written.first()) {
            (Some(f), Some(first)) => (base_dir.join(first), Pos::from_saphyr(&f.referenced)),
            (Some(f), None) => {
                diags.push(Diagnostic::new(
                    file,
                    Pos::from_saphyr(&f.referenced),
                    record.clone(),
                    "`file:` is an empty list: name at least one file",
                ));
                (base_dir.to_path_buf(), pos)
            }
            (None, _) => (zones_dir.join(format!("{}.yaml", fqdn.without_dot())), pos),
        };
        // Files after the first are merged into it (a shared file may serve several
        // zones, as an octoDNS shared source does).
        let mut sources = vec![ZoneSource::file(file_path.clone(), ttl)];
        for w in written.iter().skip(1) {
            let path = base_dir.join(w);
            if let Err(e) = crate::input::resolve_inside(base_dir, &path) {
                diags.push(Diagnostic::new(
                    file,
                    file_pos,
                    record.clone(),
                    format!("file {w:?} {e}"),
                ));
            }
            sources.push(ZoneSource::file(path, ttl));
        }
        match crate::input::resolve_inside(base_dir, &file_path) {
            Ok(resolved) => {
                // Two zones on one file: each would plan the other's records away.
                if let Some((other, other_pos)) = files.get(&resolved) {
                    diags.push(Diagnostic::new(
                        file,
                        file_pos,
                        record.clone(),
                        format!(
                            "uses the same zone file as zone {other} (line {}): give each zone its own file",
                            other_pos.line
                        ),
                    ));
                } else {
                    files.insert(resolved, (fqdn.clone(), file_pos));
                }
            }
            // A zone file in a directory already refused is reported once, there.
            Err(_) if z.file.is_none() && !zones_dir_ok => {}
            Err(e) => diags.push(Diagnostic::new(
                file,
                file_pos,
                record.clone(),
                format!(
                    "file {:?} {e}",
                    written
                        .first()
                        .map_or_else(|| file_path.display().to_string(), |f| f.to_string())
                ),
            )),
        }
        // The operator's limits hold a zone that declares looser guard rails.
        let (policy, thresholds) = limits.hold((
            z.policy.or(raw.defaults.policy).unwrap_or_default(),
            z.thresholds.or(raw.defaults.thresholds).unwrap_or_default(),
        ));
        zones.push(ZoneConfig {
            name: fqdn,
            targets: z.targets,
            sources,
            file: file_path,
            policy,
            thresholds,
            ignore,
            revision_record: z
                .revision_record
                .or(raw.defaults.revision_record)
                .unwrap_or(false),
            processors: crate::plan::Processors::default(),
            pos,
        });
    }
    if let Some(o) = &raw.octodns {
        let found = octodns::read(o, file, base_dir, &providers, default_ttl, &mut diags);
        // octoDNS repositories often keep their zone files in `domains/`, zonekeeper's
        // default directory of domain manifests: never read zone files as those.
        if domains && raw.defaults.domains_dir.is_none() {
            let dir = crate::input::resolve_inside(base_dir, &domains_dir).ok();
            let clash = found.iter().flat_map(|z| &z.sources).find(|s| {
                crate::input::resolve_inside(base_dir, &s.path)
                    .is_ok_and(|p| dir.as_ref().is_some_and(|d| p.starts_with(d)))
            });
            if let Some(s) = clash {
                diags.push(Diagnostic::new(
                    file,
                    Pos::from_saphyr(&o.config.referenced),
                    Some("octodns.config".into()),
                    format!(
                        "octoDNS zone files ({}) are in {}, zonekeeper's default directory of domain manifests: set `defaults.domains_dir` to where domain manifests live (a directory that does not exist means none)",
                        s.path.display(),
                        domains_dir.display()
                    ),
                ));
            }
        }
        let ignore = IgnoreSet::new(&raw.defaults.ignore).unwrap_or_else(|e| {
            diags.push(Diagnostic::new(
                file,
                Pos::default(),
                Some("defaults.ignore".into()),
                format!("invalid ignore pattern: {e}"),
            ));
            IgnoreSet::default()
        });
        let (policy, thresholds) = limits.hold((
            raw.defaults.policy.unwrap_or_default(),
            raw.defaults.thresholds.unwrap_or_default(),
        ));
        for oz in found {
            if let Some(other) = zones.iter().find(|z| z.name == oz.name) {
                diags.push(Diagnostic::new(
                    file,
                    other.pos,
                    Some(format!("zone {:?}", other.name.without_dot())),
                    format!(
                        "zone {} is also listed in the octoDNS configuration {:?}: list it in one place",
                        other.name, o.config.value
                    ),
                ));
                continue;
            }
            zones.push(ZoneConfig {
                name: oz.name,
                targets: oz.targets,
                file: oz
                    .sources
                    .first()
                    .map_or_else(|| base_dir.join(&o.config.value), |s| s.path.clone()),
                sources: oz.sources,
                policy,
                thresholds,
                ignore: ignore.clone(),
                revision_record: raw.defaults.revision_record.unwrap_or(false),
                processors: oz.processors,
                pos: oz.pos,
            });
        }
    }
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    zonefile_collisions(file, &providers, &zones, &mut diags);
    if diags.is_empty() {
        Ok(Config {
            file: file.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            providers,
            zones,
            domains_dir: domains.then_some(domains_dir),
            default_registrar,
        })
    } else {
        diags.sort_by_key(|d| d.pos.line);
        Err(Diagnostics(diags))
    }
}

/// Two zones on one zonefile target whose file names are the same (`0/26.x` and `0-26.x`):
/// each would overwrite the other's file.
fn zonefile_collisions(
    file: &Path,
    providers: &BTreeMap<String, ProviderConfig>,
    zones: &[ZoneConfig],
    diags: &mut Vec<Diagnostic>,
) {
    for p in providers.values() {
        let AnySettings::Zonefile(s) = &p.settings else {
            continue;
        };
        let mut seen: BTreeMap<String, &ZoneConfig> = BTreeMap::new();
        for z in zones.iter().filter(|z| z.targets.contains(&p.name)) {
            let name = crate::provider::zonefile::file_name(&z.name, &s.file_extension);
            if let Some(other) = seen.get(&name) {
                diags.push(Diagnostic::new(
                    file,
                    z.pos,
                    Some(format!("zone {:?}", z.name.without_dot())),
                    format!(
                        "zonefile target {:?} would keep zone {} (line {}) and this zone in the same file {name:?}",
                        p.name, other.name, other.pos.line
                    ),
                ));
            } else {
                seen.insert(name, z);
            }
        }
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
        assert_eq!(c.domains_dir.as_deref(), Some(Path::new("/etc/zk/domains")));
        assert_eq!(c.default_registrar, None);
        let AnySettings::Zonefile(s) = &c.providers["local"].settings else {
            panic!()
        };
        assert_eq!(s.directory, Path::new("/etc/zk/./live"));
    }

    #[test]
    fn typos_are_errors_with_lines() {
        let text = "providers:\n  local:\n    type: zonefile\n    directroy: ./live\nzones:\n  example.com:\n    targets: [lokal]\n";
        let e = Config::parse(text, Path::new("z.yaml")).unwrap_err();
        let s = e.to_string();
        // The misspelt key's own line; the zone entry's for the unknown target.
        assert!(
            s.contains("z.yaml:4:5: provider \"local\": zonefile: unknown field `directroy`"),
            "{s}"
        );
        assert!(
            s.contains("z.yaml:7:5: zone \"example.com\": target \"lokal\""),
            "{s}"
        );
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

    /// A threshold that is not a number of percent (NaN, infinite, negative) is refused
    /// with its line: `pct > NaN` is never true, so `.nan` turned the check off, and
    /// `guard-rails.json` (JSON has no NaN or infinity) could no longer be read after a
    /// restart, which dropped the stored guard rails of every zone.
    #[test]
    fn thresholds_are_finite_percentages() {
        for (value, line) in [(".nan", 4), (".inf", 4), ("-5", 4)] {
            let text = format!(
                "providers:\n  m: {{type: memory}}\ndefaults:\n  thresholds: {{delete_pct: {value}}}\nzones:\n  example.com: {{targets: [m]}}\n"
            );
            let e = Config::parse(&text, Path::new("z.yaml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("z.yaml:{line}:")) && e.contains("percent"),
                "{value}: {e}"
            );
            let op = format!("guard_rails:\n  thresholds: {{update_pct: {value}}}\n");
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("operator.yaml");
            std::fs::write(&f, op).unwrap();
            let e = super::operator::OperatorConfig::load(&f)
                .unwrap_err()
                .to_string();
            assert!(e.contains("percent"), "{value}: {e}");
        }
        let ok = "providers:\n  m: {type: memory}\nzones:\n  example.com: {targets: [m], thresholds: {delete_pct: 0, update_pct: 150}}\n";
        Config::parse(ok, Path::new("z.yaml")).unwrap();
    }

    fn pdns(keys: &str) -> String {
        format!(
            "providers:\n  pdns:\n    type: powerdns\n    url: http://127.0.0.1:8081\n{keys}\
             zones:\n  example.com:\n    targets: [pdns]\n"
        )
    }

    #[test]
    fn provider_settings_are_typed_and_checked_by_their_backend() {
        let text = pdns(
            "    api_key: file:secrets/pdns\n    create_zones: true\n    rate_limit: {requests: 10, per: 1s}\n    zone_kind: Master\n    timeout: 30s\n",
        );
        let c = Config::parse(&text, Path::new("/etc/zk/zonekeeper.yaml")).unwrap();
        let AnySettings::Powerdns(s) = &c.providers["pdns"].settings else {
            panic!("not powerdns")
        };
        // A relative file: secret is relative to the config file.
        assert_eq!(s.api_key, SecretRef::File("/etc/zk/secrets/pdns".into()));
        assert!(s.create_zones);
        assert_eq!(s.server_id, "localhost");
        assert_eq!(s.zone_kind, crate::provider::powerdns::ZoneKind::Master);
        assert_eq!(s.timeout.get(), std::time::Duration::from_secs(30));
        let r = s.rate_limit.as_ref().unwrap();
        assert_eq!(r.per.get(), std::time::Duration::from_secs(1));
    }

    #[test]
    fn provider_setting_errors_point_at_the_bad_key() {
        // (keys from line 5 on, expected "file:line:column: message" start, must contain)
        for (keys, at, needle) in [
            (
                "    api_key: env:K\n    rate_limit: {requests: 10, per: 1 fortnight}\n",
                "z.yaml:6:5:",
                "powerdns: rate_limit: invalid duration \"1 fortnight\"",
            ),
            ("    api_key: hunter2-literal\n", "z.yaml:5:5:", "env:NAME"),
            (
                "    api_key: env:K\n    zone_kind: Primary\n",
                "z.yaml:6:5:",
                "powerdns: zone_kind: unknown variant `Primary`",
            ),
            (
                "    api_key: env:K\n    max_body: 5\n",
                "z.yaml:6:5:",
                "powerdns: unknown field `max_body`",
            ),
            (
                "    api_key: env:K\n    timeout: 120\n",
                "z.yaml:6:5:",
                "powerdns: timeout: 120 has no unit",
            ),
            (
                "    api_key: env:K\n    rate_limit:\n      requests: 0\n      per: 1s\n",
                "z.yaml:3:5:",
                "rate_limit.requests must be at least 1",
            ),
            // A missing key concerns the whole entry: its line.
            (
                "    create_zones: true\n",
                "z.yaml:3:5:",
                "missing field `api_key`",
            ),
        ] {
            let e = Config::parse(&pdns(keys), Path::new("z.yaml"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(at), "{keys:?}: want {at}: {e}");
            assert!(e.contains(needle), "{keys:?}: want {needle}: {e}");
            assert!(!e.contains("hunter2-literal"), "{e}");
        }
        let e = Config::parse(
            "providers:\n  x:\n    directory: d\n    type: bind\n",
            Path::new("z.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("z.yaml:4:5:"), "{e}");
        assert!(
            e.contains(
                "unknown provider type \"bind\" (known: memory, zonefile, powerdns, rfc2136)"
            ),
            "{e}"
        );
        let e = Config::parse("providers:\n  x:\n    directory: d\n", Path::new("z.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing `type`"), "{e}");
    }

    #[test]
    fn rfc2136_zones_are_names_and_timeouts_keep_their_old_form() {
        let yaml = |extra: &str| {
            format!(
                "providers:\n  bind:\n    type: rfc2136\n    server: 127.0.0.1\n    tsig: {{name: k, secret: 'env:K'}}\n{extra}"
            )
        };
        let c = Config::parse(
            &yaml("    zones: [Example.COM, example.org.]\n    timeout: 10\n"),
            Path::new("z.yaml"),
        )
        .unwrap();
        let AnySettings::Rfc2136(s) = &c.providers["bind"].settings else {
            panic!("not rfc2136")
        };
        let names: Vec<&str> = s.zones.iter().map(Fqdn::as_str).collect();
        assert_eq!(names, ["example.com.", "example.org."]);
        assert_eq!(s.timeout.get(), std::time::Duration::from_secs(10));
        let c = Config::parse(&yaml("    timeout: 1500ms\n"), Path::new("z.yaml")).unwrap();
        let AnySettings::Rfc2136(s) = &c.providers["bind"].settings else {
            panic!("not rfc2136")
        };
        assert_eq!(s.timeout.get(), std::time::Duration::from_millis(1500));
        let e = Config::parse(
            &yaml("    guard: true\n    zones: [ok.test, 'bad..name']\n"),
            Path::new("z.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("z.yaml:7:5:"), "{e}");
        assert!(e.contains("invalid zone name \"bad..name\""), "{e}");
    }

    #[test]
    fn ignore_rules_are_compiled_once_with_the_rules_kept() {
        let text = "providers:\n  m:\n    type: memory\ndefaults:\n  ignore: [{name: '_acme-challenge*', type: TXT}]\nzones:\n  example.com:\n    targets: [m]\n    ignore: [{name: 'tmp-*'}]\n";
        let c = Config::parse(text, Path::new("z.yaml")).unwrap();
        let z = &c.zones[0];
        let names: Vec<&str> = z.ignore.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["_acme-challenge*", "tmp-*"]);
        let key = |n: &str, t| crate::model::RrKey {
            name: Fqdn::parse(n).unwrap(),
            rtype: t,
        };
        use crate::model::RecordType;
        assert!(z.ignore.matches(
            &z.name,
            &key("_acme-challenge.example.com", RecordType::TXT)
        ));
        assert!(!z
            .ignore
            .matches(&z.name, &key("_acme-challenge.example.com", RecordType::A)));
        assert!(z
            .ignore
            .matches(&z.name, &key("tmp-1.example.com", RecordType::A)));
        let bad = text.replace("tmp-*", "[z-a");
        let e = Config::parse(&bad, Path::new("z.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid ignore pattern"), "{e}");
    }

    /// A repository in a temporary directory: `zonekeeper.yaml` with `zones`, plus a
    /// secret file beside (outside) it.
    fn repo(zones: &str) -> (tempfile::TempDir, PathBuf, Result<Config, Diagnostics>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("zones")).unwrap();
        std::fs::write(dir.path().join("secret"), "hunter2\n").unwrap();
        let text = format!("providers:\n  m:\n    type: memory\nzones:\n{zones}");
        let path = root.join("zonekeeper.yaml");
        std::fs::write(&path, &text).unwrap();
        let c = Config::load(&path);
        (dir, root, c)
    }

    #[test]
    fn zone_files_outside_the_manifest_root_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "x").unwrap();
        let outside = [
            secret.display().to_string(),
            "../secret".to_string(),
            "zones/../../secret".to_string(),
            "/proc/self/cwd/Cargo.toml".to_string(),
            "/etc/passwd".to_string(),
        ];
        for f in &outside {
            let (_d, _root, c) = repo(&format!("  a.test:\n    targets: [m]\n    file: {f:?}\n"));
            let e = c.unwrap_err().to_string();
            assert!(
                e.contains("zonekeeper.yaml:7:11: zone \"a.test\""),
                "{f}: {e}"
            );
            assert!(
                e.contains("is outside the directory holding zonekeeper.yaml"),
                "{f}: {e}"
            );
        }
        // A symlink committed in the repository, pointing out.
        let (d, root, _) = repo("  a.test:\n    targets: [m]\n");
        std::os::unix::fs::symlink(d.path().join("secret"), root.join("zones/a.test.yaml"))
            .unwrap();
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is outside"), "{e}");
        // A symlinked directory too, and for the directories of `defaults`.
        let (d, root, _) = repo("  a.test:\n    targets: [m]\n");
        std::fs::remove_dir(root.join("zones")).unwrap();
        std::os::unix::fs::symlink(d.path(), root.join("zones")).unwrap();
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("defaults.zones_dir: \"zones\" is outside"),
            "{e}"
        );
        for key in ["zones_dir", "domains_dir"] {
            let (_d, root, _) = repo("  a.test:\n    targets: [m]\n");
            let text = format!(
                "providers:\n  m:\n    type: memory\ndefaults:\n  {key}: ../\nzones:\n  a.test:\n    targets: [m]\n    file: zones/a.yaml\n"
            );
            let e = Config::parse(&text, &root.join("zonekeeper.yaml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(":5:"), "{e}");
            assert!(
                e.contains(&format!("defaults.{key}: \"../\" is outside")),
                "{e}"
            );
        }
        // Inside stays fine, however it is written; a symlink inside the root too.
        let (_d, root, _) =
            repo("  a.test:\n    targets: [m]\n    file: zones/../zones/./a.yaml\n");
        std::fs::write(root.join("zones/b.yaml"), "x").unwrap();
        std::os::unix::fs::symlink("b.yaml", root.join("zones/c.yaml")).unwrap();
        let text = format!(
            "providers:\n  m:\n    type: memory\nzones:\n  a.test:\n    targets: [m]\n    file: {}\n  c.test:\n    targets: [m]\n    file: zones/c.yaml\n",
            root.join("zones/a.yaml").display()
        );
        Config::parse(&text, &root.join("zonekeeper.yaml")).unwrap();
    }

    #[test]
    fn two_zones_on_one_file_are_refused_with_both_lines() {
        let (_d, _root, c) = repo(
            "  a.test:\n    targets: [m]\n    file: zones/shared.yaml\n  b.test:\n    targets: [m]\n    file: ./zones/../zones/shared.yaml\n",
        );
        let e = c.unwrap_err().to_string();
        assert!(
            e.contains("zonekeeper.yaml:10:11: zone \"b.test\": uses the same zone file as zone a.test. (line 7)"),
            "{e}"
        );
        // The default file of one zone named explicitly by another.
        let (_d, _root, c) = repo(
            "  a.test:\n    targets: [m]\n  b.test:\n    targets: [m]\n    file: zones/a.test.yaml\n",
        );
        let e = c.unwrap_err().to_string();
        assert!(
            e.contains("zone \"b.test\": uses the same zone file as zone a.test. (line 6)"),
            "{e}"
        );
    }

    #[test]
    fn zonefile_names_are_one_file_per_zone_and_extensions_stay_in_the_directory() {
        let text = "providers:\n  live:\n    type: zonefile\n    directory: live\nzones:\n  0/26.2.0.192.in-addr.arpa.:\n    targets: [live]\n  0-26.2.0.192.in-addr.arpa.:\n    targets: [live]\n";
        let e = Config::parse(text, Path::new("/etc/zk/z.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("would keep zone 0-26.2.0.192.in-addr.arpa. (line 9) and this zone in the same file \"0-26.2.0.192.in-addr.arpa.zone\""),
            "{e}"
        );
        for ext in ["/../../x", "..zone", "x/y"] {
            let text = format!("providers:\n  live:\n    type: zonefile\n    directory: live\n    file_extension: {ext:?}\nzones:\n  a.test:\n    targets: [live]\n");
            let e = Config::parse(&text, Path::new("/etc/zk/z.yaml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("may not contain '/', '..'"), "{ext}: {e}");
        }
        let ok = "providers:\n  live:\n    type: zonefile\n    directory: live\n    file_extension: .\nzones:\n  a.test:\n    targets: [live]\n";
        Config::parse(ok, Path::new("/etc/zk/z.yaml")).unwrap();
    }
}
