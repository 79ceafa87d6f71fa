//! octoDNS's own configuration file (`octodns: {config: config/production.yaml}` in
//! zonekeeper.yaml): the zones it lists, their YAML sources (files, `default_ttl`,
//! `populate_should_replace`, split directories, shared files, the `"*"` zone list and
//! `alias` zones), read as octoDNS 1.22 reads them (`octodns/manager.py`,
//! `octodns/provider/yaml.py`), and its target names mapped to zonekeeper providers.
//!
//! Only what decides the records is taken from the file. The providers and their
//! credentials stay the operator's (docs/security.md): the settings of octoDNS target
//! providers are never read. Anything that would change the records and that zonekeeper
//! does not implement (processors, the `auto-arpa` source, `include_meta`, validators, sources other
//! than YamlProvider) is refused by name, never ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::ProviderConfig;
use crate::input::{from_yaml_error, read_input_inside, yaml_options, Diagnostic, Pos};
use crate::manifest::octodns::DEFAULT_TTL;
use crate::manifest::order::KeyOrder;
use crate::manifest::ZoneSource;
use crate::model::{Fqdn, MAX_TTL};
use crate::plan::process::{Kind, Match, Ownership, Patterns, Processor, Processors};

/// The `octodns:` section of zonekeeper.yaml, or of the operator's configuration (then
/// `config` is relative to the repository's root, which has no zonekeeper.yaml).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOctodns {
    /// The octoDNS configuration file, relative to zonekeeper.yaml and inside its directory.
    /// Its zones are managed as if listed in `zones:`; paths in it (YamlProvider
    /// `directory`) are relative to the directory holding zonekeeper.yaml, as octoDNS's
    /// are to the directory `octodns-sync` runs in.
    #[schemars(with = "String")]
    pub config: Spanned<String>,
    /// octoDNS target name -> zonekeeper provider name. A target not listed here is the
    /// provider of the same name.
    #[serde(default)]
    pub targets: BTreeMap<String, String>,
}

impl RawOctodns {
    /// `config` given on the command line (`--octodns-config`), with `targets` mapped as
    /// `targets` says (the operator's `octodns.targets`, if any).
    pub fn from_flag(config: &Path, targets: BTreeMap<String, String>) -> RawOctodns {
        let unknown = serde_saphyr::Location::UNKNOWN;
        RawOctodns {
            config: Spanned::new(config.to_string_lossy().into_owned(), unknown, unknown),
            targets,
        }
    }
}

/// A zone the octoDNS configuration lists, resolved.
#[derive(Clone, Debug)]
pub struct OctodnsZone {
    pub name: Fqdn,
    /// Its YAML files in octoDNS's populate order.
    pub sources: Vec<ZoneSource>,
    /// zonekeeper provider names (mapped through `octodns.targets`).
    pub targets: Vec<String>,
    /// Its processors, in octoDNS's order.
    pub processors: Processors,
    /// Where the zone is listed in the octoDNS file (for a `"*"` zone: the `"*"` entry).
    pub pos: Pos,
}

/// The octoDNS file as written: the sections zonekeeper reads, and those it refuses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OctoFile {
    #[serde(default)]
    providers: BTreeMap<String, Spanned<BTreeMap<String, Value>>>,
    #[serde(default)]
    zones: BTreeMap<String, Spanned<Option<Settings>>>,
    #[serde(default)]
    processors: BTreeMap<String, Spanned<BTreeMap<String, Value>>>,
    #[serde(default)]
    manager: Option<Spanned<BTreeMap<String, Value>>>,
    /// Where octoDNS gets credentials: never used (the operator owns them).
    #[serde(default)]
    #[allow(dead_code)]
    secret_handlers: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    validators: Option<Spanned<Value>>,
}

/// A key's settings as written: names to values.
type Settings = BTreeMap<String, Value>;

/// octoDNS's YAML source classes (SplitYamlProvider is YamlProvider with split defaults).
const YAML_CLASS: &str = "octodns.provider.yaml.YamlProvider";
const SPLIT_YAML_CLASS: &str = "octodns.provider.yaml.SplitYamlProvider";

/// A YamlProvider's settings that decide which files a zone is read from, and how.
#[derive(Clone, Debug)]
struct YamlSource {
    directory: PathBuf,
    /// `default_ttl`, when set.
    default_ttl: Option<u32>,
    replace: bool,
    split_extension: Option<String>,
    shared_filename: Option<String>,
    disable_zonefile: bool,
    ignore_missing_zones: bool,
    /// `enforce_order` (default true) with `order_mode` (default natural).
    order: Option<KeyOrder>,
}

/// Collects problems against the octoDNS file.
struct Ctx<'a> {
    file: &'a Path,
    base_dir: &'a Path,
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, pos: Pos, what: impl Into<String>, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::new(self.file, pos, Some(what.into()), msg));
    }
}

/// Reads the octoDNS configuration named by `raw` (zonekeeper.yaml `file`, its directory
/// `base_dir`): every zone it lists, with its sources and its targets mapped to
/// `providers`. `default_ttl` is zonekeeper's `defaults.ttl`, used for YAML sources that set
/// no `default_ttl` (octoDNS's own default, 3600, when `None`). Problems go to `diags`.
pub fn read(
    raw: &RawOctodns,
    file: &Path,
    base_dir: &Path,
    providers: &BTreeMap<String, ProviderConfig>,
    default_ttl: Option<u32>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<OctodnsZone> {
    let path = base_dir.join(&raw.config.value);
    let text = match read_input_inside(base_dir, &path) {
        Ok(t) => t,
        Err(mut d) => {
            // Point at the `octodns.config` line too.
            d.message = format!(
                "{} (named by octodns.config at {}:{})",
                d.message,
                file.display(),
                Pos::from_saphyr(&raw.config.referenced).line
            );
            diags.push(d);
            return Vec::new();
        }
    };
    let parsed: OctoFile =
        match serde_saphyr::from_str_with_options(&text, yaml_options(text.len())) {
            Ok(p) => p,
            Err(e) => {
                diags.push(from_yaml_error(&path, &e));
                return Vec::new();
            }
        };
    let mut cx = Ctx {
        file: &path,
        base_dir,
        diags,
    };
    check_manager(&mut cx, &parsed);
    if let Some(v) = &parsed.validators {
        cx.err(
            Pos::from_saphyr(&v.referenced),
            "validators",
            "octoDNS validators are not implemented by zonekeeper (it applies octoDNS's default `legacy` validation): remove this section",
        );
    }
    let mut sources: BTreeMap<String, Option<YamlSource>> = BTreeMap::new();
    let mut classes: BTreeMap<String, String> = BTreeMap::new();
    for (name, entry) in &parsed.providers {
        let class = entry
            .value
            .get("class")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        classes.insert(name.clone(), class.clone());
        let yaml = if class == YAML_CLASS || class == SPLIT_YAML_CLASS {
            yaml_source(&mut cx, name, &class, entry)
        } else {
            None
        };
        sources.insert(name.clone(), yaml);
    }
    // Zones in file order: octoDNS expands `"*"` entries in order, each taking the zones
    // not already listed.
    let mut entries: Vec<(&String, &Spanned<Option<Settings>>)> = parsed.zones.iter().collect();
    entries.sort_by_key(|(_, e)| Pos::from_saphyr(&e.referenced).line);
    let empty = BTreeMap::new();
    let mut listed: BTreeSet<String> = entries
        .iter()
        .filter(|(n, _)| !n.starts_with('*'))
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    // (zone name as written, its config, where it is listed)
    let mut expanded: Vec<(String, &BTreeMap<String, Value>, Pos)> = Vec::new();
    for (name, entry) in &entries {
        let pos = Pos::from_saphyr(&entry.referenced);
        let cfg = entry.value.as_ref().unwrap_or(&empty);
        if !name.starts_with('*') {
            expanded.push(((*name).clone(), cfg, pos));
            continue;
        }
        let what = format!("zone {name:?}");
        let mut candidates = BTreeSet::new();
        for s in strings(&mut cx, pos, &what, cfg, "sources") {
            match sources.get(&s) {
                Some(Some(y)) => candidates.extend(list_zones(&mut cx, pos, &what, y)),
                Some(None) => cx.err(pos, what.clone(), format!(
                    "source {s:?} ({}) cannot list zones: zonekeeper reads only YamlProvider sources",
                    classes.get(&s).map_or("", String::as_str)
                )),
                None => cx.err(pos, what.clone(), format!("unknown source {s:?}")),
            }
        }
        candidates.retain(|c| !listed.contains(&c.to_ascii_lowercase()));
        if let Some(glob) = cfg.get("glob") {
            match glob.as_str().map(glob::Pattern::new) {
                Some(Ok(p)) => candidates.retain(|c| p.matches(c)),
                _ => cx.err(pos, what.clone(), format!("invalid glob {glob}")),
            }
        } else if let Some(re) = cfg.get("regex") {
            match zone_regex(re) {
                Ok(r) => candidates.retain(|c| r.is_match(c)),
                Err(e) => cx.err(pos, what.clone(), e),
            }
        }
        for c in candidates {
            listed.insert(c.to_ascii_lowercase());
            expanded.push((c, cfg, pos));
        }
    }
    let by_name: BTreeMap<&str, &BTreeMap<String, Value>> =
        expanded.iter().map(|(n, c, _)| (n.as_str(), *c)).collect();
    let mut out = Vec::new();
    for (name, cfg, pos) in &expanded {
        out.extend(zone(
            &mut cx,
            raw,
            providers,
            &sources,
            &classes,
            &parsed,
            &by_name,
            name,
            cfg,
            *pos,
            default_ttl,
        ));
    }
    out
}

/// A dynamic zone list's `regex:` as octoDNS 1.22 applies it: `re.search` over the zone
/// name (with its trailing dot), so it matches anywhere unless anchored. Python-only syntax
/// (look-around, backreferences, `\Z`) and anything else the `regex` crate cannot compile is
/// refused with a message saying which; the rest of Python's syntax means the same here for
/// zone names (ASCII, no newlines).
fn zone_regex(v: &Value) -> Result<regex::Regex, String> {
    let Some(text) = v.as_str() else {
        return Err(format!("regex {v} is not a string"));
    };
    python_regex(text)
}

/// A Python regular expression (`re.compile`) compiled by the `regex` crate; Python-only
/// syntax is refused with a message saying so.
fn python_regex(text: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(text).map_err(|e| {
        let python_only = ["(?=", "(?!", "(?<=", "(?<!", "(?P="]
            .iter()
            .any(|p| text.contains(p))
            || text.contains("\\Z")
            || text
                .as_bytes()
                .windows(2)
                .any(|w| w[0] == b'\\' && (b'1'..=b'9').contains(&w[1]));
        let first = e.to_string();
        let first = first.lines().last().unwrap_or("").trim();
        let first = first.strip_prefix("error: ").unwrap_or(first);
        if python_only {
            format!(
                "regex {text:?} uses Python-only syntax (look-around, backreferences or \\Z) that zonekeeper's regex engine does not run: {first}; write it without, or use `glob`"
            )
        } else {
            format!("invalid regex {text:?}: {first}")
        }
    })
}

/// One listed zone, resolved; `None` (with diagnostics) when it cannot be.
#[allow(clippy::too_many_arguments)]
fn zone(
    cx: &mut Ctx,
    raw: &RawOctodns,
    providers: &BTreeMap<String, ProviderConfig>,
    sources: &BTreeMap<String, Option<YamlSource>>,
    classes: &BTreeMap<String, String>,
    parsed: &OctoFile,
    by_name: &BTreeMap<&str, &BTreeMap<String, Value>>,
    name: &str,
    cfg: &BTreeMap<String, Value>,
    pos: Pos,
    default_ttl: Option<u32>,
) -> Option<OctodnsZone> {
    let what = format!("zone {name:?}");
    let before = cx.diags.len();
    for k in cfg.keys() {
        if !matches!(
            k.as_str(),
            "sources" | "targets" | "processors" | "alias" | "glob" | "regex" | "lenient"
        ) {
            cx.err(pos, what.clone(), format!("unknown zone key {k:?} (zonekeeper reads sources, targets, processors, alias, glob, lenient)"));
        }
    }
    if !name.ends_with('.') {
        cx.err(
            pos,
            what.clone(),
            "zone names end with '.' in octoDNS's configuration",
        );
        return None;
    }
    let fqdn = match Fqdn::parse(name) {
        Ok(f) if !f.is_root() => f,
        _ => {
            cx.err(pos, what, "invalid zone name");
            return None;
        }
    };
    // An alias zone has the records (the files of the zone it names, read under its own
    // name) and the targets of the zone it names.
    let (cfg, files_of) = match cfg.get("alias") {
        None => (cfg, fqdn.clone()),
        Some(a) => {
            let target = a.as_str().unwrap_or("");
            match (by_name.get(target), Fqdn::parse(target)) {
                (Some(c), Ok(f)) if !c.contains_key("alias") => (*c, f),
                (Some(_), Ok(_)) => {
                    cx.err(
                        pos,
                        what,
                        format!("alias: source zone {target} is an alias zone"),
                    );
                    return None;
                }
                _ => {
                    cx.err(pos, what, format!("alias: source zone {a} does not exist"));
                    return None;
                }
            }
        }
    };
    // octoDNS's order: `manager.processors`, the zone's own, `manager.post_processors`.
    let global = |key: &str| -> Vec<String> {
        match parsed.manager.as_ref().and_then(|m| m.value.get(key)) {
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut names = global("processors");
    names.extend(strings(cx, pos, &what, cfg, "processors"));
    names.extend(global("post_processors"));
    let mut processors = Processors::default();
    for p in names {
        match parsed.processors.get(&p) {
            Some(entry) => {
                if let Some(p) = processor(cx, &p, entry) {
                    processors.0.push(p);
                }
            }
            None => cx.err(
                pos,
                what.clone(),
                format!("processor {p:?} (not defined in `processors:`) is not implemented by zonekeeper; refusing rather than deploying the records without it"),
            ),
        }
    }
    let mut files = Vec::new();
    for s in strings(cx, pos, &what, cfg, "sources") {
        match sources.get(&s) {
            Some(Some(y)) => files.extend(zone_files(cx, pos, &what, y, &files_of, default_ttl)),
            Some(None) => cx.err(
                pos,
                what.clone(),
                format!(
                    "source {s:?} is {:?}: zonekeeper reads records only from YamlProvider sources",
                    classes.get(&s).map_or("", String::as_str)
                ),
            ),
            None if s == "auto-arpa" => cx.err(pos, what.clone(), "source \"auto-arpa\": octoDNS's auto_arpa (PTR records made from A/AAAA records) is not implemented by zonekeeper: write the PTR records in the arpa zone's file"),
            None => cx.err(pos, what.clone(), format!("unknown source {s:?}")),
        }
    }
    let mut targets = Vec::new();
    for t in strings(cx, pos, &what, cfg, "targets") {
        let mapped = raw.targets.get(&t).cloned().unwrap_or_else(|| t.clone());
        if !providers.contains_key(&mapped) {
            let how = if mapped == t {
                "no zonekeeper provider has that name: map it with `octodns: {targets: {NAME: PROVIDER}}` in zonekeeper.yaml".to_string()
            } else {
                format!("it is mapped to {mapped:?}, which is not a zonekeeper provider")
            };
            cx.err(pos, what.clone(), format!("target {t:?}: {how}"));
        }
        targets.push(mapped);
    }
    if targets.is_empty() {
        cx.err(pos, what.clone(), "no targets");
    }
    if files.is_empty() && cx.diags.len() == before {
        cx.err(pos, what.clone(), "no sources");
    }
    (cx.diags.len() == before).then_some(OctodnsZone {
        name: fqdn,
        sources: files,
        targets,
        processors,
        pos,
    })
}

/// octoDNS's processor classes zonekeeper runs (octoDNS 1.22's names).
const OWNERSHIP: &str = "octodns.processor.ownership.OwnershipProcessor";
const FILTERS: &str = "octodns.processor.filter.";
const TTL_RESTRICTION: &str = "octodns.processor.restrict.TtlRestrictionFilter";

/// One processor of `processors:` resolved as octoDNS's constructor reads its settings
/// (same defaults; a setting the class does not take is refused, as Python's TypeError
/// does); `None` (with diagnostics) for a class zonekeeper does not implement or a bad
/// setting.
fn processor(
    cx: &mut Ctx,
    id: &str,
    entry: &Spanned<BTreeMap<String, Value>>,
) -> Option<Processor> {
    let pos = Pos::from_saphyr(&entry.referenced);
    let what = format!("processor {id:?}");
    let class = entry
        .value
        .get("class")
        .and_then(Value::as_str)
        .unwrap_or("");
    let short = class.strip_prefix(FILTERS).unwrap_or("");
    // The settings each class takes besides `lenient` (BaseProcessor's, unused by these).
    let takes: &[&str] = match (class, short) {
        (OWNERSHIP, _) => &[
            "txt_name",
            "txt_value",
            "txt_ttl",
            "should_replace",
            "allow_takeover",
        ],
        (_, "TypeAllowlistFilter" | "NameAllowlistFilter") => &["allowlist", "include_target"],
        (_, "TypeRejectlistFilter" | "NameRejectlistFilter") => &["rejectlist", "include_target"],
        (_, "IgnoreRootNsFilter") => &[],
        (_, "ExcludeRootNsChanges") => &["error"],
        (_, "ZoneNameFilter") => &["error", "include_target"],
        (TTL_RESTRICTION, _) => &["min_ttl", "max_ttl", "allowed_ttls"],
        _ => {
            let class = if class.is_empty() { "no class" } else { class };
            cx.err(pos, what, format!(
                "{class} is not implemented by zonekeeper; refusing rather than deploying the records without it (zonekeeper runs OwnershipProcessor, the Type/Name allow- and rejectlist filters, IgnoreRootNsFilter, ExcludeRootNsChanges, ZoneNameFilter and TtlRestrictionFilter)"
            ));
            return None;
        }
    };
    let before = cx.diags.len();
    for k in entry.value.keys() {
        if k != "class" && k != "lenient" && !takes.contains(&k.as_str()) {
            cx.err(
                pos,
                what.clone(),
                format!(
                    "{class} takes no setting {k:?} (it takes {})",
                    if takes.is_empty() {
                        "none".to_string()
                    } else {
                        takes.join(", ")
                    }
                ),
            );
        }
    }
    let get = |k: &str| entry.value.get(k).filter(|v| !v.is_null());
    let flag = |cx: &mut Ctx, k: &str, default: bool| match get(k) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            cx.err(
                pos,
                what.clone(),
                format!("{k}: expected true or false, found {other}"),
            );
            default
        }
    };
    let list = |cx: &mut Ctx, k: &str| -> Vec<String> {
        match get(k) {
            Some(Value::Array(l)) if l.iter().all(Value::is_string) => l
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(other) => {
                cx.err(
                    pos,
                    what.clone(),
                    format!("{k}: expected a list of strings, found {other}"),
                );
                Vec::new()
            }
            None => {
                cx.err(pos, what.clone(), format!("{k}: required by {class}"));
                Vec::new()
            }
        }
    };
    let kind = match (class, short) {
        (OWNERSHIP, _) => {
            let d = Ownership::default();
            let text = |cx: &mut Ctx, k: &str, default: String| match get(k) {
                None => default,
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    cx.err(
                        pos,
                        what.clone(),
                        format!("{k}: expected a string, found {other}"),
                    );
                    default
                }
            };
            let txt_name = text(cx, "txt_name", d.txt_name);
            let txt_value = text(cx, "txt_value", d.txt_value);
            if txt_value.contains(['\\', ';', '"']) || txt_value.is_empty() || txt_value.len() > 255
            {
                cx.err(pos, what.clone(), "txt_value: zonekeeper implements plain values of 1 to 255 characters without `\\`, `;` or `\"`");
            }
            let txt_ttl = match get("txt_ttl") {
                None => d.txt_ttl,
                Some(v) => match v.as_u64() {
                    Some(t) if t <= u64::from(MAX_TTL) => t as u32,
                    _ => {
                        cx.err(pos, what.clone(), format!("txt_ttl: expected a whole number of seconds from 0 to {MAX_TTL}, found {v}"));
                        d.txt_ttl
                    }
                },
            };
            Kind::Ownership(Ownership {
                txt_name,
                txt_value,
                txt_ttl,
                should_replace: flag(cx, "should_replace", false),
                allow_takeover: flag(cx, "allow_takeover", false),
            })
        }
        (TTL_RESTRICTION, _) => {
            let num = |cx: &mut Ctx, k: &str, default: u64| match get(k) {
                None => default,
                Some(v) => v.as_u64().unwrap_or_else(|| {
                    cx.err(
                        pos,
                        what.clone(),
                        format!("{k}: expected a whole number of seconds, found {v}"),
                    );
                    default
                }),
            };
            let min = num(cx, "min_ttl", 1);
            let max = num(cx, "max_ttl", 604_800);
            // `set(allowed_ttls) if allowed_ttls else None`: an empty list is no list.
            let allowed = match get("allowed_ttls") {
                None => None,
                Some(Value::Array(l)) if l.iter().all(Value::is_u64) => {
                    (!l.is_empty()).then(|| l.iter().filter_map(Value::as_u64).collect())
                }
                Some(other) => {
                    cx.err(pos, what.clone(), format!("allowed_ttls: expected a list of whole numbers of seconds, found {other}"));
                    None
                }
            };
            Kind::TtlRestriction { min, max, allowed }
        }
        (_, "IgnoreRootNsFilter") => Kind::IgnoreRootNs,
        (_, "ExcludeRootNsChanges") => Kind::ExcludeRootNsChanges {
            error: flag(cx, "error", true),
        },
        (_, "ZoneNameFilter") => Kind::ZoneName {
            error: flag(cx, "error", true),
            include_target: flag(cx, "include_target", true),
        },
        (_, f) => {
            let allow = f.contains("Allowlist");
            let entries = list(cx, if allow { "allowlist" } else { "rejectlist" });
            let on = if f.starts_with("Type") {
                Match::Types(entries.into_iter().collect())
            } else {
                // `/.../` is a regex: octoDNS takes `pattern[1:-1]` whatever the last
                // character is.
                let mut p = Patterns::default();
                for e in entries {
                    match e.strip_prefix('/') {
                        Some(rest) => {
                            let mut inner = rest.chars();
                            inner.next_back();
                            match python_regex(inner.as_str()) {
                                Ok(r) => p.regex.push(r),
                                Err(m) => cx.err(pos, what.clone(), m),
                            }
                        }
                        None => {
                            p.exact.insert(e);
                        }
                    }
                }
                Match::Names(p)
            };
            Kind::Filter {
                allow,
                on,
                include_target: flag(cx, "include_target", true),
            }
        }
    };
    (cx.diags.len() == before).then(|| Processor {
        id: id.to_string(),
        kind,
    })
}

/// A list of names under `key` of a zone entry (absent: empty).
fn strings(
    cx: &mut Ctx,
    pos: Pos,
    what: &str,
    cfg: &BTreeMap<String, Value>,
    key: &str,
) -> Vec<String> {
    match cfg.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(other) => {
            cx.err(
                pos,
                what,
                format!("`{key}` must be a list of names, found {other}"),
            );
            Vec::new()
        }
    }
}

/// Refuses `manager:` settings that change records and that zonekeeper does not implement.
fn check_manager(cx: &mut Ctx, parsed: &OctoFile) {
    let Some(m) = &parsed.manager else { return };
    let pos = Pos::from_saphyr(&m.referenced);
    for (k, v) in &m.value {
        let on = !matches!(v, Value::Null | Value::Bool(false));
        match k.as_str() {
            // Processors are refused per zone, by name.
            "processors" | "post_processors" => {}
            // How octoDNS runs, not what it writes.
            "max_workers" | "plan_outputs" | "enable_checksum" => {}
            "include_meta" if !on => {}
            // auto_arpa only collects PTRs; they are written to the zones that list its
            // `auto-arpa` source, refused there (a repository may turn it on for no zone).
            "auto_arpa" => {}
            "include_meta" => cx.err(pos, "manager.include_meta", "octoDNS's meta record (octodns-meta TXT) is not implemented by zonekeeper: remove include_meta"),
            "validators" => cx.err(pos, "manager.validators", "octoDNS validators are not implemented by zonekeeper (it applies octoDNS's default `legacy` validation): remove this key"),
            other => cx.err(pos, format!("manager.{other}"), "unknown octoDNS manager setting"),
        }
    }
}

/// A YamlProvider entry's settings; `None` (with diagnostics) when one is unusable.
fn yaml_source(
    cx: &mut Ctx,
    name: &str,
    class: &str,
    entry: &Spanned<BTreeMap<String, Value>>,
) -> Option<YamlSource> {
    let pos = Pos::from_saphyr(&entry.referenced);
    let what = format!("provider {name:?}");
    let split_class = class == SPLIT_YAML_CLASS;
    let mut y = YamlSource {
        directory: PathBuf::new(),
        default_ttl: None,
        replace: false,
        split_extension: split_class.then(|| ".".to_string()),
        shared_filename: None,
        disable_zonefile: split_class,
        ignore_missing_zones: false,
        order: None,
    };
    let mut ttl = None;
    let mut enforce_order = true;
    let mut order_mode = "natural".to_string();
    let before = cx.diags.len();
    let bool_of = |cx: &mut Ctx, k: &str, v: &Value| match v {
        Value::Bool(b) => *b,
        Value::Null => false,
        other => {
            cx.err(
                pos,
                what.clone(),
                format!("{k}: expected true or false, found {other}"),
            );
            false
        }
    };
    for (k, v) in &entry.value {
        match k.as_str() {
            "class" => {}
            "directory" => match v.as_str() {
                Some(d) => {
                    let dir = cx.base_dir.join(d);
                    match crate::input::resolve_inside(cx.base_dir, &dir) {
                        Ok(_) => y.directory = dir,
                        Err(e) => cx.err(pos, what.clone(), format!(
                            "directory {d:?} {e}: zonekeeper reads a YAML source only inside the repository (relative to its root, as octoDNS to where octodns-sync runs), so a committer can never make it read the operator's files; write it relative, e.g. `./zones`"
                        )),
                    }
                }
                None => cx.err(pos, what.clone(), "directory: expected a path"),
            },
            "default_ttl" => match v.as_u64() {
                Some(t) if t <= u64::from(MAX_TTL) => ttl = Some(t as u32),
                _ => cx.err(
                    pos,
                    what.clone(),
                    format!(
                    "default_ttl: expected a whole number of seconds from 0 to {MAX_TTL}, found {v}"
                ),
                ),
            },
            "populate_should_replace" => y.replace = bool_of(cx, k, v),
            "split_extension" => {
                y.split_extension = match v {
                    Value::String(s) if !s.is_empty() && !s.contains('/') => Some(s.clone()),
                    Value::Null | Value::Bool(false) => None,
                    other => {
                        cx.err(pos, what.clone(), format!("split_extension: expected a file name suffix such as \".\", found {other}"));
                        None
                    }
                }
            }
            "extension" if split_class => {
                y.split_extension = v.as_str().map(str::to_string);
            }
            "shared_filename" => {
                y.shared_filename = match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Null | Value::Bool(false) => None,
                    other => {
                        cx.err(
                            pos,
                            what.clone(),
                            format!("shared_filename: expected a file name, found {other}"),
                        );
                        None
                    }
                }
            }
            "disable_zonefile" => y.disable_zonefile = bool_of(cx, k, v),
            "ignore_missing_zones" => y.ignore_missing_zones = bool_of(cx, k, v),
            "escaped_semicolons" => {
                if !matches!(v, Value::Bool(true) | Value::Null) {
                    cx.err(pos, what.clone(), "escaped_semicolons: only true (octoDNS 1.x's default, `\\;` in TXT values) is implemented by zonekeeper");
                }
            }
            "enforce_order" => enforce_order = bool_of(cx, k, v),
            "order_mode" => match v.as_str() {
                Some(m) => order_mode = m.to_string(),
                None => cx.err(
                    pos,
                    what.clone(),
                    format!("order_mode: expected \"natural\" or \"simple\", found {v}"),
                ),
            },
            // These only concern writing YAML or the root NS of a target.
            "split_catchall" | "supports_root_ns" => {}
            other => cx.err(
                pos,
                what.clone(),
                format!("unknown YamlProvider setting {other:?}"),
            ),
        }
    }
    if y.directory.as_os_str().is_empty() && cx.diags.len() == before {
        cx.err(pos, what.clone(), "missing `directory`");
    }
    if enforce_order {
        y.order = KeyOrder::from_mode(&order_mode);
        if y.order.is_none() {
            // octoDNS's InvalidOrder, raised when a file is read with it.
            cx.err(
                pos,
                what.clone(),
                format!(
                    "Invalid order_mode, \"{order_mode}\", options are \"natural\", \"simple\""
                ),
            );
        }
    }
    y.default_ttl = ttl;
    (cx.diags.len() == before).then_some(y)
}

/// The zones a YAML source holds (`YamlProvider.list_zones`): split directories ending in
/// `split_extension`, and `*.yaml` files with at least two dots, named without `yaml`.
fn list_zones(cx: &mut Ctx, pos: Pos, what: &str, y: &YamlSource) -> Vec<String> {
    let entries = match std::fs::read_dir(&y.directory) {
        Ok(e) => e,
        Err(e) => {
            cx.err(
                pos,
                what,
                format!("cannot list {}: {e}", y.directory.display()),
            );
            return Vec::new();
        }
    };
    let mut zones = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if let Some(ext) = &y.split_extension {
            if path.is_dir() && name.ends_with(ext.as_str()) {
                zones.push(name[..name.len() - (ext.len() - 1)].to_string());
            }
        }
        if !y.disable_zonefile
            && path.is_file()
            && name.ends_with(".yaml")
            && name.matches('.').count() >= 2
        {
            zones.push(name[..name.len() - 4].to_string());
        }
    }
    zones
}

/// The files of zone `zone` in a YAML source, sorted as octoDNS sorts them (by path).
fn zone_files(
    cx: &mut Ctx,
    pos: Pos,
    what: &str,
    y: &YamlSource,
    zone: &Fqdn,
    default_ttl: Option<u32>,
) -> Vec<ZoneSource> {
    let ttl = y.default_ttl.or(default_ttl).unwrap_or(DEFAULT_TTL);
    let mut paths: Vec<PathBuf> = Vec::new();
    // An IDN zone's files may be named by its UTF-8 name or its IDNA (punycode) one, the
    // UTF-8 name first; both existing is an error (octoDNS's `_zone_sources` and
    // `_split_sources`).
    let decoded = zone.to_unicode();
    let pick = |cx: &mut Ctx, utf8: PathBuf, idna: PathBuf, is: fn(&Path) -> bool| {
        if is(&utf8) {
            if utf8 != idna && is(&idna) {
                cx.err(pos, what, format!(
                    "Both UTF-8 \"{}\" and IDNA \"{}\" exist for {decoded} (octoDNS refuses this too)",
                    utf8.display(),
                    idna.display()
                ));
            }
            Some(utf8)
        } else {
            is(&idna).then_some(idna)
        }
    };
    if let Some(ext) = &y.split_extension {
        let name = |n: &str| {
            y.directory
                .join(format!("{}{ext}", n.trim_end_matches('.')))
        };
        let found = pick(cx, name(&decoded), name(zone.as_str()), Path::is_dir);
        if let Some(dir) = found {
            match std::fs::read_dir(&dir) {
                Ok(entries) => paths.extend(
                    entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.to_string_lossy().ends_with(".yaml")),
                ),
                Err(e) => cx.err(pos, what, format!("cannot list {}: {e}", dir.display())),
            }
        }
    }
    if !y.disable_zonefile {
        let name = |n: &str| y.directory.join(format!("{n}yaml"));
        paths.extend(pick(cx, name(&decoded), name(zone.as_str()), Path::is_file));
    }
    if let Some(shared) = &y.shared_filename {
        paths.push(y.directory.join(shared));
    }
    if paths.is_empty() && !y.ignore_missing_zones {
        cx.err(pos, what, format!(
            "no YAMLs found for {zone} in {} (octoDNS refuses this too; set ignore_missing_zones to allow it)",
            y.directory.display()
        ));
    }
    paths.sort_by_key(|p| p.to_string_lossy().into_owned());
    paths
        .into_iter()
        .map(|path| ZoneSource {
            path,
            default_ttl: ttl,
            replace: y.replace,
            order: y.order,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::controller::load::load_manifests;
    use crate::model::{RecordType, RrKey};

    /// A repository: zonekeeper.yaml (`zk`), `config/octodns.yaml` (`octo`) and `files`.
    fn repo(
        zk: &str,
        octo: &str,
        files: &[(&str, &str)],
    ) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let write = |p: &str, t: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        write("zonekeeper.yaml", zk);
        write("config/octodns.yaml", octo);
        for (p, t) in files {
            write(p, t);
        }
        (dir, root)
    }

    const ZK: &str = "providers:\n  live: {type: zonefile, directory: live}\noctodns:\n  config: config/octodns.yaml\n  targets: {route53: live}\n";

    fn octo(providers: &str, zones: &str) -> String {
        format!(
            "providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n{providers}  route53:\n    class: octodns_route53.Route53Provider\n    access_key_id: env/AWS_ACCESS_KEY_ID\nzones:\n{zones}"
        )
    }

    fn ttl(m: &crate::manifest::ZoneManifest, name: &str, t: RecordType) -> u32 {
        let key = RrKey::new(crate::model::Fqdn::parse(name).unwrap(), t);
        m.zone.get(&key).unwrap().ttl
    }

    #[test]
    fn default_ttls_of_zonekeeper_zones() {
        let (_d, root) = repo(
            "providers:\n  m: {type: memory}\ndefaults:\n  ttl: 300\nzones:\n  a.test: {targets: [m]}\n  b.test: {targets: [m], ttl: 600}\n",
            "{}",
            &[
                ("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\nx: {type: A, ttl: 60, value: 192.0.2.2}\n"),
                ("zones/b.test.yaml", "'': {type: A, value: 192.0.2.1}\n"),
            ],
        );
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        let ms = load_manifests(&c, None).unwrap();
        assert_eq!(ttl(&ms[0].1, "a.test", RecordType::A), 300);
        assert_eq!(ttl(&ms[0].1, "x.a.test", RecordType::A), 60);
        assert_eq!(ttl(&ms[1].1, "b.test", RecordType::A), 600);
        let (_d, root) = repo(
            "providers:\n  m: {type: memory}\ndefaults:\n  ttl: 9999999999\nzones:\n  a.test: {targets: [m]}\n",
            "{}",
            &[],
        );
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("zonekeeper.yaml:4:"), "{e}");
    }

    #[test]
    fn sources_merge_as_octodns_merges_them() {
        let providers = "    default_ttl: 300\n  shared:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./common\n    shared_filename: mail.yaml\n    disable_zonefile: true\n";
        let zones = "  a.test.:\n    sources: [config, shared]\n    targets: [route53]\n";
        let files = [
            ("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n"),
            (
                "common/mail.yaml",
                "'': {type: MX, value: {exchange: mx.example.net., preference: 10}}\n",
            ),
        ];
        let (_d, root) = repo(ZK, &octo(providers, zones), &files);
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        assert_eq!(c.zones[0].targets, ["live"]);
        let ms = load_manifests(&c, None).unwrap();
        assert_eq!(ttl(&ms[0].1, "a.test", RecordType::A), 300);
        assert_eq!(ttl(&ms[0].1, "a.test", RecordType::MX), 3600);
        // A name and type in two sources: octoDNS's DuplicateRecordException.
        let dup = [
            files[0],
            ("common/mail.yaml", "'': {type: A, value: 192.0.2.9}\n"),
        ];
        let (_d, root) = repo(ZK, &octo(providers, zones), &dup);
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        let e = load_manifests(&c, None).unwrap_err().to_string();
        assert!(
            e.contains("mail.yaml:1:1: a.test. A: duplicate record: already defined in"),
            "{e}"
        );
        assert!(e.contains("a.test.yaml:1"), "{e}");
        // ... unless the later source replaces.
        let replacing = providers.replace(
            "    disable_zonefile",
            "    populate_should_replace: true\n    disable_zonefile",
        );
        let (_d, root) = repo(ZK, &octo(&replacing, zones), &dup);
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        let ms = load_manifests(&c, None).unwrap();
        assert_eq!(ms[0].1.zone.len(), 1);
        assert_eq!(ttl(&ms[0].1, "a.test", RecordType::A), 3600);
    }

    #[test]
    fn what_zonekeeper_does_not_implement_is_refused_by_name() {
        let a = [("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n")];
        let zone = "  a.test.:\n    sources: [config]\n    targets: [route53]\n";
        for (providers, zones, extra, want) in [
            ("", "  a.test.:\n    sources: [config]\n    targets: [route53]\n    processors: [no-root-ns]\n", "processors:\n  no-root-ns:\n    class: octodns.processor.spf.SpfDnsLookupProcessor\n",
             "config/octodns.yaml:15:5: processor \"no-root-ns\": octodns.processor.spf.SpfDnsLookupProcessor is not implemented by zonekeeper"),
            ("", "  a.test.:\n    sources: [config]\n    targets: [route53]\n    processors: [f]\n", "processors:\n  f:\n    class: octodns.processor.filter.TypeRejectlistFilter\n    rejectlist: CNAME\n    include_targets: false\n",
             "processor \"f\": octodns.processor.filter.TypeRejectlistFilter takes no setting \"include_targets\""),
            ("", "  a.test.:\n    sources: [config]\n    targets: [route53]\n    processors: [f]\n", "processors:\n  f:\n    class: octodns.processor.filter.TypeRejectlistFilter\n    rejectlist: CNAME\n",
             "rejectlist: expected a list of strings, found \"CNAME\""),
            ("", "  a.test.:\n    sources: [config]\n    targets: [route53]\n    processors: [f]\n", "processors:\n  f:\n    class: octodns.processor.filter.NameAllowlistFilter\n    allowlist: ['/(?<!x)a/']\n",
             "uses Python-only syntax"),
            ("", "  a.test.:\n    sources: [config]\n    targets: [route53]\n    processors: [o]\n", "processors:\n  o:\n    class: octodns.processor.ownership.OwnershipProcessor\n    txt_value: a;b\n",
             "txt_value: zonekeeper implements plain values"),
            ("", zone, "manager:\n  processors: [meta]\n", "processor \"meta\" (not defined in `processors:`) is not implemented"),
            ("", "  a.test.:\n    sources: [config, auto-arpa]\n    targets: [route53]\n", "manager:\n  auto_arpa: true\n", "zone \"a.test.\": source \"auto-arpa\": octoDNS's auto_arpa"),
            ("    escaped_semicolons: false\n", zone, "", "escaped_semicolons: only true"),
            ("    splitt_extension: .\n", zone, "", "unknown YamlProvider setting \"splitt_extension\""),
            ("", "  a.test.:\n    sources: [route53]\n    targets: [route53]\n", "", "source \"route53\" is \"octodns_route53.Route53Provider\": zonekeeper reads records only from YamlProvider sources"),
            ("", "  a.test.:\n    sources: [config]\n    targets: [cloudflare]\n", "", "target \"cloudflare\": no zonekeeper provider has that name: map it with `octodns: {targets:"),
            ("", "  b.test.:\n    sources: [config]\n    targets: [route53]\n", "", "no YAMLs found for b.test."),
            ("", "  a.test:\n    sources: [config]\n    targets: [route53]\n", "", "zone names end with '.'"),
            ("", zone, "validators: {}\n", "validators: octoDNS validators are not implemented"),
        ] {
            let (_d, root) = repo(ZK, &format!("{}{extra}", octo(providers, zones)), &a);
            let e = Config::load(&root.join("zonekeeper.yaml")).unwrap_err().to_string();
            assert!(e.contains(want), "want {want:?}:\n{e}");
        }
        // A zone in both files.
        let zk = format!("{ZK}zones:\n  a.test: {{targets: [live]}}\n");
        let (_d, root) = repo(&zk, &octo("", zone), &a);
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("zonekeeper.yaml:7:11: zone \"a.test\": zone a.test. is also listed in the octoDNS configuration"), "{e}");
        // Credentials of octoDNS providers are never read, and never quoted.
        assert!(!e.contains("AWS_ACCESS_KEY_ID"), "{e}");
    }

    #[test]
    fn zone_files_in_domains_are_never_read_as_domain_manifests() {
        let octo = octo(
            "",
            "  a.test.:\n    sources: [config]\n    targets: [route53]\n",
        )
        .replace("./zones", "domains");
        let a = [("domains/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n")];
        let (_d, root) = repo(ZK, &octo, &a);
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("zonekeeper.yaml:4:11: octodns.config: octoDNS zone files"),
            "{e}"
        );
        assert!(e.contains("set `defaults.domains_dir`"), "{e}");
        let zk = format!("{ZK}defaults:\n  domains_dir: registrar\n");
        let (_d, root) = repo(&zk, &octo, &a);
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        assert_eq!(load_manifests(&c, None).unwrap().len(), 1);
    }

    #[test]
    fn paths_of_the_octodns_configuration_stay_inside_the_repository() {
        let zone = "  a.test.:\n    sources: [config]\n    targets: [route53]\n";
        let a = [("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n")];
        // The octoDNS file itself.
        let zk = ZK.replace("config/octodns.yaml", "../octodns.yaml");
        let (_d, root) = repo(&zk, &octo("", zone), &a);
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is outside"), "{e}");
        // A source directory.
        let (_d, root) = repo(ZK, &octo("", zone).replace("./zones", "/etc"), &a);
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("provider \"config\": directory \"/etc\" is outside"),
            "{e}"
        );
        // A shared file, and a split directory that is a symlink out.
        let shared = "    shared_filename: ../../secret\n    split_extension: .\n";
        let (_d, root) = repo(ZK, &octo(shared, zone), &a);
        std::os::unix::fs::symlink("/etc", root.join("zones/a.test.")).unwrap();
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        let e = load_manifests(&c, None).unwrap_err().to_string();
        assert!(e.contains("is outside"), "{e}");
        assert!(!e.contains("root:"), "{e}");
    }

    #[test]
    fn a_zonekeeper_zone_merges_a_list_of_files() {
        let zk = "providers:\n  m: {type: memory}\nzones:\n  a.test:\n    targets: [m]\n    ttl: 600\n    file: [zones/a.test.yaml, common/mail.yaml]\n  b.test:\n    targets: [m]\n    file: [zones/b.test.yaml, common/mail.yaml]\n";
        let files = [
            ("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n"),
            ("zones/b.test.yaml", "'': {type: A, value: 192.0.2.2}\n"),
            (
                "common/mail.yaml",
                "'': {type: MX, value: {exchange: mx.example.net., preference: 10}}\n",
            ),
        ];
        let (_d, root) = repo(zk, "{}", &files);
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        let ms = load_manifests(&c, None).unwrap();
        assert_eq!(ms[0].1.zone.len(), 2);
        assert_eq!(ttl(&ms[0].1, "a.test", RecordType::MX), 600);
        assert_eq!(ttl(&ms[1].1, "b.test", RecordType::MX), 3600);
        let bad = zk.replace("common/mail.yaml]\n  b", "../x.yaml]\n  b");
        let (_d, root) = repo(&bad, "{}", &files);
        let e = Config::load(&root.join("zonekeeper.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("zonekeeper.yaml:7:11: zone \"a.test\": file \"../x.yaml\" is outside"),
            "{e}"
        );
    }

    /// `manager.auto_arpa` with no zone reading its `auto-arpa` source writes nothing in
    /// octoDNS 1.22 (the processor only collects PTRs): accepted (a real repository turns
    /// it on for a zone list without arpa zones).
    #[test]
    fn auto_arpa_without_an_arpa_source_changes_nothing() {
        let zones = "  a.test.:\n    sources: [config]\n    targets: [route53]\n";
        let (_d, root) = repo(
            ZK,
            &format!("manager:\n  auto_arpa: true\n{}", octo("", zones)),
            &[("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n")],
        );
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        assert_eq!(load_manifests(&c, None).unwrap()[0].1.zone.len(), 1);
    }

    #[test]
    fn star_zones_are_the_zone_files_and_split_directories_of_the_source() {
        let providers = "    split_extension: .\n";
        let zones = "  b.test.:\n    sources: [config]\n    targets: [route53]\n  '*':\n    sources: [config]\n    targets: [route53]\n";
        let (_d, root) = repo(
            "providers:\n  live: {type: zonefile, directory: live}\n  route53: {type: memory}\noctodns:\n  config: config/octodns.yaml\n  targets: {}\n",
            &octo(providers, zones),
            &[
                ("zones/a.test.yaml", "'': {type: A, value: 192.0.2.1}\n"),
                ("zones/b.test.yaml", "'': {type: A, value: 192.0.2.2}\n"),
                ("zones/c.test./$c.test.yaml", "'': {type: A, value: 192.0.2.3}\n"),
                ("zones/c.test./www.yaml", "www: {type: CNAME, value: c.test.}\n"),
                ("zones/notes.yaml", "not: a zone\n"),
            ],
        );
        let c = Config::load(&root.join("zonekeeper.yaml")).unwrap();
        let names: Vec<&str> = c.zones.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names, ["a.test.", "b.test.", "c.test."]);
        assert!(c.zones.iter().all(|z| z.targets == ["route53"]));
        let ms = load_manifests(&c, None).unwrap();
        assert_eq!(ms[2].1.zone.len(), 2);
    }
}
