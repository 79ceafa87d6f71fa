//! Manifests: octoDNS YAML zone files read, validated and turned into the model.
//!
//! Knows files and YAML; knows nothing of git, providers or plans. Every problem is a
//! [`Diagnostic`] naming the file, line and record; reading never stops at the first one.

pub mod domain;
mod fast;
pub mod fields;
pub mod octodns;
pub mod order;
pub mod raw;
pub mod render;
pub mod schema;
pub mod yaml11;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::input::{read_input_inside, Diagnostic, Pos};
use crate::model::{Fqdn, RrKey};

pub use octodns::{TargetFilter, ZoneManifest};

/// One YAML file of a zone's records, as an octoDNS YamlProvider source gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneSource {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// TTL (seconds) of records in it that give none (YamlProvider `default_ttl`).
    pub default_ttl: u32,
    /// Its records replace those of earlier sources with the same name and type
    /// (YamlProvider `populate_should_replace`) instead of being an error.
    pub replace: bool,
    /// The key order its mappings must keep (YamlProvider `enforce_order`/`order_mode`);
    /// `None`: any order (a file named in zonekeeper.yaml).
    pub order: Option<order::KeyOrder>,
}

impl ZoneSource {
    /// One file with octoDNS's defaults: TTL `default_ttl`, no replacing, any key order.
    pub fn file(path: PathBuf, default_ttl: u32) -> ZoneSource {
        ZoneSource {
            path,
            default_ttl,
            replace: false,
            order: None,
        }
    }
}

/// Reads the manifest of zone `origin` from the octoDNS YAML file at `path`, which must be
/// a regular file inside `root` (the directory holding zonekeeper.yaml); records without
/// `ttl:` get `default_ttl` seconds. Every problem in the file is returned, each with its
/// line. A file with no records at all is refused: an emptied file must never turn into
/// "delete every record".
pub fn load_zone(
    root: &Path,
    path: &Path,
    origin: &Fqdn,
    default_ttl: u32,
) -> Result<ZoneManifest, Vec<Diagnostic>> {
    load_zone_sources(
        root,
        &[ZoneSource::file(path.to_path_buf(), default_ttl)],
        origin,
    )
}

/// Reads zone `origin` from several files merged as octoDNS merges a zone's sources
/// (`Manager._populate_and_plan`, `YamlProvider.populate`): in order, each adding its
/// records; a name and type already added is an error (octoDNS's
/// `DuplicateRecordException`) unless the later source replaces (`populate_should_replace`).
/// Files are confined to `root` as in [`load_zone`]; an empty file adds nothing, but a zone
/// with no records at all is refused.
pub fn load_zone_sources(
    root: &Path,
    sources: &[ZoneSource],
    origin: &Fqdn,
) -> Result<ZoneManifest, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut merged: Option<ZoneManifest> = None;
    // Where each record came from: the file and line, for duplicates across files.
    let mut from: HashMap<RrKey, (PathBuf, Pos)> = HashMap::new();
    let mut hashes = Vec::new();
    for src in sources {
        let text = match read_input_inside(root, &src.path) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if let Some(d) = src.order.and_then(|o| order::check(&text, &src.path, o)) {
            diags.push(d);
            continue;
        }
        // octoDNS reads an empty document as no records (a shared file may be empty).
        let m = if is_empty_yaml(&text) && sources.len() > 1 {
            let mut m = octodns::parse_zone_with_ttl("{}", &src.path, origin, src.default_ttl)?;
            m.content_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
            m
        } else {
            let includes = raw::Includes::of(root, &src.path).with_order(src.order);
            match octodns::parse_zone_with(
                &text,
                &src.path,
                origin,
                Some(includes),
                src.default_ttl,
            ) {
                Ok(m) => m,
                Err(mut d) => {
                    diags.append(&mut d);
                    continue;
                }
            }
        };
        hashes.push(m.content_sha256.clone());
        let Some(acc) = &mut merged else {
            // Only a zone of several files asks where a record came from (a copy of every
            // key and path was 5% of planning a one-file 100k-record zone).
            if sources.len() > 1 {
                for (k, p) in &m.positions {
                    from.insert(k.clone(), (src.path.clone(), *p));
                }
            }
            merged = Some(m);
            continue;
        };
        let mut m = m;
        let mut keys: Vec<_> = m.positions.iter().map(|(k, p)| (k.clone(), *p)).collect();
        keys.sort_by_key(|(_, p)| (p.line, p.column));
        for (key, pos) in keys {
            if let Some((first_file, first_pos)) = from.get(&key) {
                if !src.replace {
                    diags.push(Diagnostic::new(
                        &src.path,
                        pos,
                        Some(key.to_string()),
                        format!(
                            "duplicate record: already defined in {}:{} (octoDNS refuses a name and type given by two sources unless the later one sets `populate_should_replace: true`)",
                            first_file.display(),
                            first_pos.line
                        ),
                    ));
                    continue;
                }
                acc.zone.remove(&key);
                acc.ignored.remove(&key);
                acc.filters.remove(&key);
                acc.settings.remove(&key);
            }
            from.insert(key.clone(), (src.path.clone(), pos));
            acc.positions.insert(key.clone(), pos);
            if m.ignored.remove(&key) {
                acc.ignored.insert(key.clone());
            }
            if let Some(f) = m.filters.remove(&key) {
                acc.filters.insert(key.clone(), f);
            }
            if let Some(s) = m.settings.remove(&key) {
                acc.settings.insert(key.clone(), s);
            }
            if let Some(set) = m.zone.remove(&key) {
                acc.zone.put(key, set);
            }
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let Some(mut m) = merged else {
        return Err(vec![Diagnostic::file(
            root,
            format!("zone {origin} has no source files"),
        )]);
    };
    if sources.len() > 1 {
        // Records that conflict across files (a CNAME beside another type).
        for p in m.zone.check() {
            let (file, pos) = from
                .get(&p.key)
                .cloned()
                .unwrap_or_else(|| (m.file.clone(), Pos::default()));
            diags.push(Diagnostic::new(
                &file,
                pos,
                Some(p.key.to_string()),
                p.reason,
            ));
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        m.content_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            hashes.join("\n").as_bytes(),
        ));
    }
    if m.zone.is_empty() && m.ignored.is_empty() {
        return Err(vec![Diagnostic::file(
            &m.file,
            format!(
                "zone {origin} has no records; refusing to plan it into emptiness (remove the zone from the config to stop managing it)"
            ),
        )]);
    }
    Ok(m)
}

/// Whether a YAML text holds no document content (only comments, blank lines, `---`/`...`).
fn is_empty_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..." || t == "~" || t == "null"
    })
}
