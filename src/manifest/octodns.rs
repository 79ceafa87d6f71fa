//! octoDNS YAML zone files -> [`model::Zone`](crate::model::Zone), and back (for `import`).
//!
//! Follows octoDNS 1.x's default ("legacy") validation so a file octoDNS accepts is accepted
//! here and one it rejects is rejected, with every reason reported against its file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fields::{self, Field, Kind};
use super::raw::{
    parse_zone_file, Includes, RawMeta, RawProviderBlock, RawRecord, RawValue, RawZoneFile, Scalar,
};
use crate::input::{from_yaml_error, Diagnostic, Pos};
use crate::model::rdata::{Caa, Ds, Loc, Mx, Naptr, Srv, Sshfp, SvcParams, Svcb, Tlsa, Txt, Uri};
use crate::model::svcb::{self, key};
use crate::model::{ExtValue, Fqdn, RData, RecordExt, RecordType, RrKey, RrSet, Zone, MAX_TTL};

/// octoDNS's default TTL when a record gives none.
pub const DEFAULT_TTL: u32 = 3600;

/// Which targets receive a record (octoDNS `included` / `excluded`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetFilter {
    pub included: Vec<String>,
    pub excluded: Vec<String>,
}

impl TargetFilter {
    pub fn allows(&self, target: &str) -> bool {
        (self.included.is_empty() || self.included.iter().any(|t| t == target))
            && !self.excluded.iter().any(|t| t == target)
    }
}

/// A zone file read and validated: the desired records plus what octoDNS metadata says
/// about them.
#[derive(Clone, Debug)]
pub struct ZoneManifest {
    pub file: PathBuf,
    /// Managed records (ignored ones are not in here).
    pub zone: Zone,
    /// Records marked `octodns: {ignored: true}`: left alone wherever they are live.
    pub ignored: BTreeSet<RrKey>,
    /// Records limited to some targets.
    pub filters: BTreeMap<RrKey, TargetFilter>,
    /// Provider settings blocks (`octodns: {<kind>: {...}}`) of managed records, by record
    /// and provider kind. Only the block of a target's kind reaches that target
    /// ([`ZoneManifest::desired_for`]); empty blocks are not kept.
    pub settings: BTreeMap<RrKey, BTreeMap<String, Arc<RecordExt>>>,
    /// Where each record was written, for later diagnostics (a fast hasher: one entry per
    /// record of a zone).
    pub positions: foldhash::HashMap<RrKey, Pos>,
    /// SHA-256 (hex) of the file's bytes: what changed between two revisions.
    pub content_sha256: String,
}

impl ZoneManifest {
    /// The desired zone for one target, named `target` in the configuration and of provider
    /// type `target_kind` (`Provider::kind`): records excluded from it are left out, and each
    /// RRset carries the settings block written for that kind (`octodns: {<kind>: {...}}`);
    /// blocks for other kinds are not its concern.
    pub fn desired_for(&self, target: &str, target_kind: &str) -> Zone {
        let mut z = self.zone.clone();
        if !self.filters.is_empty() {
            z.rrsets
                .retain(|k, _| self.filters.get(k).is_none_or(|f| f.allows(target)));
        }
        for (key, blocks) in &self.settings {
            if let (Some(ext), Some(set)) = (blocks.get(target_kind), z.rrsets.get_mut(key)) {
                set.set_ext(Some(Arc::clone(ext)));
            }
        }
        z
    }
}

/// Reads one zone file's text. All problems are returned, not only the first.
pub fn parse_zone(text: &str, file: &Path, origin: &Fqdn) -> Result<ZoneManifest, Vec<Diagnostic>> {
    parse_zone_with(text, file, origin, None, DEFAULT_TTL)
}

/// As [`parse_zone`], with `default_ttl` (seconds) for records that give no `ttl:`
/// (octoDNS's YamlProvider `default_ttl`); `!include` refused.
pub fn parse_zone_with_ttl(
    text: &str,
    file: &Path,
    origin: &Fqdn,
    default_ttl: u32,
) -> Result<ZoneManifest, Vec<Diagnostic>> {
    parse_zone_with(text, file, origin, None, default_ttl)
}

/// [`parse_zone`] with `!include`s read as `includes` says (refused when `None`) and
/// `default_ttl` (seconds) for records that give no `ttl:`.
pub fn parse_zone_with(
    text: &str,
    file: &Path,
    origin: &Fqdn,
    includes: Option<Includes>,
    default_ttl: u32,
) -> Result<ZoneManifest, Vec<Diagnostic>> {
    let mut m = parse_zone_text(text, file, origin, includes, default_ttl)?;
    m.content_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    Ok(m)
}

fn parse_zone_text(
    text: &str,
    file: &Path,
    origin: &Fqdn,
    includes: Option<Includes>,
    default_ttl: u32,
) -> Result<ZoneManifest, Vec<Diagnostic>> {
    // Once per process: available_parallelism reads cgroup files, and this runs per zone.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads =
        (*CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))).min(8);
    let pieces = if text.len() >= PARALLEL_MIN_BYTES && threads > 1 && !super::raw::general_path() {
        split_top_level(text, threads)
    } else {
        Vec::new()
    };
    if pieces.len() > 1 {
        if let Some(b) = parse_pieces(text, &pieces, file, origin, &includes, default_ttl) {
            return b.finish();
        }
    }
    let raw: RawZoneFile =
        parse_zone_file(text, includes.clone()).map_err(|e| vec![from_yaml_error(file, &e)])?;
    let mut b = Builder::new(file, origin, default_ttl);
    b.add(raw);
    b.finish()
}

/// Files at least this large are parsed in parallel pieces.
const PARALLEL_MIN_BYTES: usize = 512 * 1024;

/// Parses and converts the pieces of a large file on all cores (YAML parsing is most of the
/// cost of a big zone). `None` when any piece is not valid YAML on its own: the caller then
/// parses the whole file as one, so errors and meaning are exactly those of the whole file.
fn parse_pieces(
    text: &str,
    pieces: &[(usize, u64)],
    file: &Path,
    origin: &Fqdn,
    includes: &Option<Includes>,
    default_ttl: u32,
) -> Option<Builder> {
    let built: Vec<Option<Builder>> = std::thread::scope(|s| {
        let handles: Vec<_> = pieces
            .iter()
            .enumerate()
            .map(|(i, &(start, line))| {
                let end = pieces.get(i + 1).map_or(text.len(), |p| p.0);
                let piece = &text[start..end];
                s.spawn(move || {
                    let mut raw: RawZoneFile = parse_zone_file(piece, includes.clone()).ok()?;
                    for n in &mut raw.names {
                        n.pos.line += line;
                        for rec in &mut n.records {
                            rec.pos.line += line;
                            if let Some(p) = &mut rec.ttl_pos {
                                p.line += line;
                            }
                            for b in rec.octodns.iter_mut().flat_map(|m| &mut m.providers) {
                                b.pos.line += line;
                            }
                        }
                    }
                    let mut b = Builder::new(file, origin, default_ttl);
                    b.add(raw);
                    Some(b)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut all = built.into_iter();
    let mut first = all.next()??;
    for b in all {
        let b = b?;
        // A name given in two pieces is a duplicate key of the whole file: its error is
        // the whole file's parse error, not a diagnostic of the merge.
        if b.names.keys().any(|n| first.names.contains_key(n)) {
            return None;
        }
        first.merge(b);
    }
    Some(first)
}

/// Byte offsets (and the number of lines before them) where `text` can be cut into about
/// `n` pieces at top-level mapping keys. Empty when the file does not look like a block
/// mapping.
fn split_top_level(text: &str, n: usize) -> Vec<(usize, u64)> {
    let target = text.len() / n;
    let mut cuts = vec![(0usize, 0u64)];
    let mut offset = 0usize;
    let mut next_cut = target;
    for (line, l) in (0u64..).zip(text.split_inclusive('\n')) {
        let first = l.as_bytes().first().copied().unwrap_or(b' ');
        let is_key = !matches!(
            first,
            b' ' | b'\t'
                | b'#'
                | b'-'
                | b'\n'
                | b'\r'
                | b'%'
                | b'{'
                | b'['
                | b'.'
                | b'&'
                | b'*'
                | b'!'
                | b'?'
                | b'|'
                | b'>'
        );
        if offset >= next_cut && is_key {
            cuts.push((offset, line));
            next_cut = offset + target;
        }
        if line == 0 && !(l.starts_with("---") || l.starts_with('#') || is_key) {
            return Vec::new();
        }
        offset += l.len();
    }
    cuts
}

/// Accumulates converted records and their diagnostics; pieces of one file merge.
struct Builder {
    file: PathBuf,
    m: ZoneManifest,
    /// Raw name -> line where it was first defined (YAML duplicate keys across pieces).
    names: foldhash::HashMap<String, u64>,
    diags: Vec<Diagnostic>,
    /// TTL of records that give none.
    default_ttl: u32,
}

impl Builder {
    fn new(file: &Path, origin: &Fqdn, default_ttl: u32) -> Builder {
        Builder {
            default_ttl,
            file: file.to_path_buf(),
            m: ZoneManifest {
                file: file.to_path_buf(),
                zone: Zone::new(origin.clone()),
                ignored: BTreeSet::new(),
                filters: BTreeMap::new(),
                settings: BTreeMap::new(),
                positions: foldhash::HashMap::default(),
                content_sha256: String::new(),
            },
            names: foldhash::HashMap::default(),
            diags: Vec::new(),
        }
    }

    fn dup_key(&mut self, pos: Pos, name: &str, first: u64) {
        self.diags.push(Diagnostic::new(
            &self.file,
            pos,
            Some(format!("{name:?}")),
            format!("duplicate key: the name is already defined at line {first}"),
        ));
    }

    fn dup_record(&mut self, pos: Pos, key: &RrKey) {
        self.diags.push(Diagnostic::new(
            &self.file,
            pos,
            Some(key.to_string()),
            format!(
                "duplicate {} record at this name: put every value in one record's `values`",
                key.rtype
            ),
        ));
    }

    fn add(&mut self, raw: RawZoneFile) {
        let file = self.file.clone();
        let origin = self.m.zone.origin.clone();
        for entry in raw.names {
            if let Some(problem) = entry.problem {
                self.diags.push(Diagnostic::new(
                    &file,
                    entry.pos,
                    Some(format!("{:?}", entry.name)),
                    problem,
                ));
                continue;
            }
            if let Some(&first) = self.names.get(&entry.name) {
                self.dup_key(entry.pos, &entry.name, first);
                continue;
            }
            self.names.insert(entry.name.clone(), entry.pos.line);
            let name = match record_name(&entry.name, &origin) {
                Ok(n) => n,
                Err(msg) => {
                    self.diags.push(Diagnostic::new(
                        &file,
                        entry.pos,
                        Some(format!("{:?}", entry.name)),
                        msg,
                    ));
                    continue;
                }
            };
            if entry.records.is_empty() {
                self.diags.push(Diagnostic::new(
                    &file,
                    entry.pos,
                    Some(name.to_string()),
                    "no records under this name",
                ));
            }
            for rec in entry.records {
                let pos = rec.pos;
                // A record read from an `!include`d file is reported there, as octoDNS does.
                let (file, at_rec) = rec.file.clone().unwrap_or_else(|| (file.clone(), pos));
                if let Some(meta) = &rec.octodns {
                    let bad = bad_provider_blocks(&meta.providers);
                    if !bad.is_empty() {
                        let label = match &rec.rtype {
                            Some(Scalar::Str(t)) => format!("{name} {t}"),
                            _ => name.to_string(),
                        };
                        for (p, msg) in bad {
                            self.diags
                                .push(Diagnostic::new(&file, p, Some(label.clone()), msg));
                        }
                        continue;
                    }
                }
                match convert_record(&name, rec, self.default_ttl) {
                    Ok((rtype, set, meta)) => self.insert(
                        RrKey::new(name.clone(), rtype),
                        set,
                        meta.unwrap_or_default(),
                        pos,
                    ),
                    Err((rtype, reasons)) => {
                        let label = match rtype {
                            Some(t) => format!("{name} {t}"),
                            None => name.to_string(),
                        };
                        for (at, r) in reasons {
                            let at = at.unwrap_or(at_rec);
                            self.diags
                                .push(Diagnostic::new(&file, at, Some(label.clone()), r));
                        }
                    }
                }
            }
        }
    }

    fn insert(&mut self, key: RrKey, set: RrSet, meta: RawMeta, pos: Pos) {
        match self.m.positions.entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.dup_record(pos, &key);
                return;
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(pos);
            }
        }
        if meta.ignored {
            self.m.ignored.insert(key);
            return;
        }
        if !meta.included.is_empty() || !meta.excluded.is_empty() {
            self.m.filters.insert(
                key.clone(),
                TargetFilter {
                    included: meta.included,
                    excluded: meta.excluded,
                },
            );
        }
        let blocks: BTreeMap<String, Arc<RecordExt>> = meta
            .providers
            .into_iter()
            .filter_map(|b| match b.value {
                ExtValue::Map(m) if !m.is_empty() => {
                    Some((b.kind, Arc::new(m.into_iter().collect::<RecordExt>())))
                }
                _ => None,
            })
            .collect();
        if !blocks.is_empty() {
            self.m.settings.insert(key.clone(), blocks);
        }
        self.m.zone.put(key, set);
    }

    /// Adds a later piece of the same file.
    fn merge(&mut self, mut other: Builder) {
        for (name, line) in other.names {
            match self.names.get(&name) {
                Some(&first) => self.dup_key(Pos { line, column: 1 }, &name, first),
                None => {
                    self.names.insert(name, line);
                }
            }
        }
        for (key, pos) in other.m.positions {
            match self.m.positions.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let key = e.key().clone();
                    other.m.zone.remove(&key);
                    other.m.ignored.remove(&key);
                    other.m.filters.remove(&key);
                    other.m.settings.remove(&key);
                    self.dup_record(pos, &key);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(pos);
                }
            }
        }
        self.m.zone.rrsets.append(&mut other.m.zone.rrsets);
        self.m.ignored.append(&mut other.m.ignored);
        self.m.filters.append(&mut other.m.filters);
        self.m.settings.append(&mut other.m.settings);
        self.diags.append(&mut other.diags);
    }

    fn finish(mut self) -> Result<ZoneManifest, Vec<Diagnostic>> {
        for p in self.m.zone.check() {
            let pos = self.m.positions.get(&p.key).copied().unwrap_or_default();
            self.diags.push(Diagnostic::new(
                &self.file,
                pos,
                Some(p.key.to_string()),
                p.reason,
            ));
        }
        if self.diags.is_empty() {
            Ok(self.m)
        } else {
            self.diags.sort_by_key(|d| (d.pos.line, d.pos.column));
            Err(self.diags)
        }
    }
}

/// Provider settings blocks that are not mappings, with where each one is. A block of
/// octoDNS's own shape (`healthcheck`) never gets here: it is typed in [`RawMeta`].
fn bad_provider_blocks(blocks: &[RawProviderBlock]) -> Vec<(Pos, String)> {
    blocks
        .iter()
        .filter(|b| !matches!(b.value, ExtValue::Map(_)))
        .map(|b| {
            (
                b.pos,
                format!(
                    "octodns.{} must be a mapping of {} settings, found {}; octoDNS's own record options are {}",
                    b.kind,
                    b.kind,
                    b.value,
                    super::raw::OCTODNS_OWN_KEYS.join(", ")
                ),
            )
        })
        .collect()
}

/// A record name as octoDNS writes it: relative to the zone, `''` for the apex.
fn record_name(name: &str, origin: &Fqdn) -> Result<Fqdn, String> {
    if name == "@" {
        return Err("invalid name '@', use '' for the zone apex".into());
    }
    if name.ends_with('.') {
        return Err(format!(
            "invalid name {name:?}: record names are relative to the zone, remove the trailing '.'"
        ));
    }
    if name.starts_with('.') || name.contains("..") {
        return Err(format!("invalid name {name:?}: empty label"));
    }
    // octoDNS 1.22 (`Record.new`) refuses blanks and tabs only; every other character is
    // an octet of the label, written escaped where a zone file needs it.
    if name.contains([' ', '\t']) {
        return Err(format!(
            "invalid name {name:?}: whitespace is not allowed (octoDNS refuses it too)"
        ));
    }
    let fqdn = Fqdn::from_literal_relative(name, origin).map_err(|e| e.to_string())?;
    // octoDNS counts the name with its trailing dot: 253 characters at most.
    let octets: usize = fqdn.octet_labels().iter().map(|l| l.len() + 1).sum();
    if octets > 253 {
        return Err(format!(
            "invalid name {name:?}: the full name is {octets} characters with its trailing dot, octoDNS allows 253"
        ));
    }
    Ok(fqdn)
}

/// A converted record, or its type (when known) and every reason it is invalid, each with
/// its own position when it has one (a bad `ttl` value) rather than the record's.
type RecordResult =
    Result<(RecordType, RrSet, Option<RawMeta>), (Option<RecordType>, Vec<(Option<Pos>, String)>)>;

fn convert_record(name: &Fqdn, rec: RawRecord, default_ttl: u32) -> RecordResult {
    let mut reasons = Vec::new();
    let rtype = match &rec.rtype {
        None => return Err((None, vec![(None, "missing type".into())])),
        Some(Scalar::Str(s)) => match s.parse::<RecordType>() {
            Ok(t) if t.as_str() == s => t,
            Ok(_) => {
                return Err((
                    None,
                    vec![(None, format!("unknown type {s:?} (types are upper case)"))],
                ))
            }
            Err(e) => return Err((None, vec![(None, e.to_string())])),
        },
        Some(other) => {
            return Err((
                None,
                vec![(None, format!("invalid type {}", other.describe()))],
            ))
        }
    };
    for k in &rec.unknown_keys {
        reasons.push(match k.as_str() {
            "dynamic" | "geo" => format!("octoDNS `{k}` records are not supported by zonekeeper; refusing rather than applying only their default values"),
            _ => format!("unknown key {k:?} (allowed: type, ttl, value, values, octodns)"),
        });
    }
    let mut ttl_reason = None;
    let ttl = match &rec.ttl {
        None => default_ttl,
        Some(Scalar::Int(i)) if (0..=i64::from(MAX_TTL)).contains(i) => *i as u32,
        Some(Scalar::Str(s)) if s.parse::<u32>().is_ok_and(|t| t <= MAX_TTL) => {
            s.parse().unwrap_or(DEFAULT_TTL)
        }
        Some(other) => {
            ttl_reason = Some(format!(
                "invalid ttl {}: must be a whole number of seconds from 0 to {MAX_TTL}",
                other.describe()
            ));
            DEFAULT_TTL
        }
    };
    let raw_values: Vec<RawValue> = match (rec.value, rec.values) {
        (Some(_), Some(_)) => {
            reasons.push("use either `value` or `values`, not both".into());
            Vec::new()
        }
        (Some(RawValue::Scalar(Scalar::Null)), None) | (None, None) => {
            reasons.push("missing value(s)".into());
            Vec::new()
        }
        // octoDNS reads a list under `value` as `values` (`ValuesMixin`).
        (Some(RawValue::List(vs)), None) if !rtype.is_single_value() => {
            if vs.is_empty() {
                reasons.push("missing value(s)".into());
            }
            vs
        }
        (Some(RawValue::List(_)), None) => {
            reasons.push(format!("{rtype} takes a single value, not a list"));
            Vec::new()
        }
        (Some(v), None) => vec![v],
        (None, Some(_)) if rtype.is_single_value() => {
            reasons.push(format!(
                "missing value ({rtype} takes a single `value`, not `values`)"
            ));
            Vec::new()
        }
        (None, Some(vs)) => {
            if vs.is_empty() {
                reasons.push("missing value(s)".into());
            }
            vs
        }
    };
    if matches!(rtype, RecordType::SRV | RecordType::URI) && !srv_name_ok(name) {
        reasons.push(format!(
            "invalid name for {rtype} record: expected _service._proto[.name]"
        ));
    }
    let mut values = Vec::with_capacity(raw_values.len());
    for v in &raw_values {
        match value(rtype, v) {
            Ok(d) => values.push(d),
            Err(mut r) => reasons.append(&mut r),
        }
    }
    if reasons.is_empty() && ttl_reason.is_none() {
        Ok((rtype, RrSet::new(ttl, values), rec.octodns))
    } else {
        let ttl = ttl_reason.map(|r| (rec.ttl_pos, r));
        let rest = reasons.into_iter().map(|r| (None, r));
        Err((Some(rtype), ttl.into_iter().chain(rest).collect()))
    }
}

/// octoDNS's SRV/URI name rule: `^(\*|_[^.]+)\.[^.]+`.
fn srv_name_ok(name: &Fqdn) -> bool {
    let mut labels = name.without_dot().split('.');
    let first = labels.next().unwrap_or("");
    let second = labels.next().unwrap_or("");
    (first == "*" || (first.len() > 1 && first.starts_with('_'))) && !second.is_empty()
}

/// Converts one value of a record of type `rtype`.
pub fn value(rtype: RecordType, raw: &RawValue) -> Result<RData, Vec<String>> {
    let v = typed_value(rtype, raw)?;
    // The lengths and ranges the RFCs fix, the same for every way into the model.
    let problems = crate::model::check::problems(&v);
    if problems.is_empty() {
        Ok(v)
    } else {
        Err(problems)
    }
}

fn typed_value(rtype: RecordType, raw: &RawValue) -> Result<RData, Vec<String>> {
    if RecordType::NOT_DNS.contains(&rtype) {
        // Kept as written: no target stores it, so the plan skips it with the reason.
        return Ok(RData::Foreign(rtype, Box::new(raw.to_ext())));
    }
    match fields::fields(rtype) {
        None => {
            let text = match raw {
                RawValue::Scalar(s) => s.text().ok_or_else(|| match s.not_text() {
                    Some(why) => vec![format!("invalid {rtype} value: {why}")],
                    None => vec![format!("invalid {rtype} value: expected a string")],
                }),
                RawValue::Map(_) | RawValue::List(_) => {
                    Err(vec![format!("invalid {rtype} value: expected a string")])
                }
            }?;
            simple_value(rtype, &text).map_err(|e| vec![e])
        }
        Some(spec) => {
            let RawValue::Map(map) = raw else {
                return Err(vec![format!(
                    "invalid {rtype} value {}: expected a mapping with fields {}",
                    match raw {
                        RawValue::Scalar(s) => s.describe(),
                        RawValue::Map(_) => String::new(),
                        RawValue::List(_) => "(a list)".into(),
                    },
                    spec.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                )]);
            };
            let got = Got::take(rtype, spec, map)?;
            structured_value(rtype, &got)
        }
    }
}

fn simple_value(rtype: RecordType, text: &str) -> Result<RData, String> {
    Ok(match rtype {
        RecordType::A | RecordType::AAAA if text.is_empty() => return Err("empty value".into()),
        RecordType::A => RData::A(
            text.parse::<Ipv4Addr>()
                .map_err(|_| format!("invalid IPv4 address {text:?}"))?,
        ),
        RecordType::AAAA => RData::Aaaa(
            text.parse::<Ipv6Addr>()
                .map_err(|_| format!("invalid IPv6 address {text:?}"))?,
        ),
        RecordType::CNAME => RData::Cname(target(rtype, "value", text)?),
        RecordType::ALIAS => RData::Alias(target(rtype, "value", text)?),
        RecordType::DNAME => RData::Dname(target(rtype, "value", text)?),
        RecordType::NS => RData::Ns(target(rtype, "value", text)?),
        RecordType::PTR => RData::Ptr(target(rtype, "value", text)?),
        RecordType::TXT => RData::Txt(Txt(txt_from_yaml(text)?)),
        RecordType::SPF => RData::Spf(Txt(txt_from_yaml(text)?)),
        other => return Err(format!("{other} values must be mappings")),
    })
}

/// A target name in a value. Like octoDNS (legacy validators) a missing trailing dot is
/// accepted and the name is taken as absolute; it must have at least two labels. `.` (no
/// target) is only valid where the RFCs allow it (MX, SRV, NAPTR replacement, SVCB/HTTPS
/// TargetName).
fn target(rtype: RecordType, field: &str, text: &str) -> Result<Fqdn, String> {
    if text.is_empty() {
        return Err(format!("missing {field}"));
    }
    if text == "." {
        return if matches!(
            rtype,
            RecordType::MX
                | RecordType::SRV
                | RecordType::NAPTR
                | RecordType::SVCB
                | RecordType::HTTPS
        ) {
            Ok(Fqdn::root())
        } else {
            Err(format!("{rtype} {field} \"{text}\" is not a valid FQDN"))
        };
    }
    let name = Fqdn::parse(text)
        .map_err(|e| format!("{rtype} {field} \"{text}\" is not a valid FQDN: {e}"))?;
    if name.label_count() < 2 || name.is_wildcard() {
        return Err(format!("{rtype} {field} \"{text}\" is not a valid FQDN"));
    }
    Ok(name)
}

/// octoDNS TXT text -> bytes. `;` must be escaped (`\;`) as in a zone file; `\X` is X and
/// `\DDD` is the byte DDD; quotes are literal. A value written in zone-file quoting
/// (`"abc" "def"`) is unquoted and its chunks joined, as octoDNS does.
pub fn txt_from_yaml(text: &str) -> Result<Vec<u8>, String> {
    if !text.is_ascii() {
        return Err(format!("non ASCII character in {text:?}"));
    }
    let unquoted;
    let text = if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        unquoted = text[1..text.len() - 1].replace("\" \"", "");
        unquoted.as_str()
    } else {
        text
    };
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
                    let n = u32::from(b[i + 1] - b'0') * 100
                        + u32::from(b[i + 2] - b'0') * 10
                        + u32::from(b[i + 3] - b'0');
                    let byte =
                        u8::try_from(n).map_err(|_| format!("invalid escape \\{n} in {text:?}"))?;
                    out.push(byte);
                    i += 4;
                } else if i + 1 < b.len() {
                    out.push(b[i + 1]);
                    i += 2;
                } else {
                    return Err(format!("trailing backslash in {text:?}"));
                }
            }
            b';' => {
                return Err(format!(
                    "unescaped ; in {text:?} (write \\; for a literal semicolon)"
                ))
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Bytes -> octoDNS TXT text (the inverse of [`txt_from_yaml`]).
pub fn txt_to_yaml(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            // A value that starts with a quote would be read as zone-file quoting.
            b'"' if i == 0 => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b';' => s.push_str("\\;"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\{c:03}")),
        }
    }
    s
}

/// The text of a quoted `<character-string>` field (NAPTR flags, service and regexp; CAA
/// value; URI target) -> bytes. octoDNS writes these fields between double quotes verbatim
/// (`"{regexp}"`, octodns/record/naptr.py `to_rdata_text`), so the YAML string is
/// presentation text as RFC 1035 §5.1 reads it: `\X` is X, `\DDD` is the byte DDD. An
/// unescaped `"` or a trailing `\` would end the string early in the zone file octoDNS
/// writes, and other bytes than printable ASCII are not text: both refused.
pub fn quoted_text_from_yaml(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
                    let n = u32::from(b[i + 1] - b'0') * 100
                        + u32::from(b[i + 2] - b'0') * 10
                        + u32::from(b[i + 3] - b'0');
                    let byte = u8::try_from(n).map_err(|_| {
                        format!("invalid escape \\{n} in {text:?}: \\DDD is a byte, at most \\255 (RFC 1035 §5.1)")
                    })?;
                    out.push(byte);
                    i += 4;
                } else if i + 1 < b.len() {
                    out.push(b[i + 1]);
                    i += 2;
                } else {
                    return Err(format!(
                        "trailing backslash in {text:?}: write \\\\ for a backslash (RFC 1035 §5.1)"
                    ));
                }
            }
            b'"' => {
                return Err(format!(
                    "unescaped \" in {text:?}: write \\\" (the value is written between double quotes, RFC 1035 §5.1)"
                ))
            }
            c @ 0x20..=0x7e => {
                out.push(c);
                i += 1;
            }
            _ => {
                return Err(format!(
                    "non-printable or non-ASCII character in {text:?}: write other bytes as \\DDD (RFC 1035 §5.1)"
                ))
            }
        }
    }
    Ok(out)
}

/// Bytes -> the text of a quoted `<character-string>` field (the inverse of
/// [`quoted_text_from_yaml`]).
pub fn quoted_text_to_yaml(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &c in bytes {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\{c:03}")),
        }
    }
    s
}

/// The fields of one structured value, checked against the type's [`Field`] table.
struct Got<'a> {
    spec: &'static [Field],
    vals: Vec<Option<&'a Scalar>>,
}

impl<'a> Got<'a> {
    fn take(
        rtype: RecordType,
        spec: &'static [Field],
        map: &'a [(super::raw::FieldName, Scalar)],
    ) -> Result<Got<'a>, Vec<String>> {
        let mut vals = vec![None; spec.len()];
        let mut reasons = Vec::new();
        for (k, v) in map {
            match spec
                .iter()
                .position(|f| f.name == k || f.aliases.contains(&k.as_ref()))
            {
                Some(i) => {
                    if vals[i].is_some() {
                        reasons.push(format!(
                            "{rtype} field {} given twice (directly and by an alias)",
                            spec[i].name
                        ));
                    }
                    vals[i] = Some(v);
                }
                None => reasons.push(format!(
                    "unknown {rtype} field {k:?} (fields: {})",
                    spec.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        for (i, f) in spec.iter().enumerate() {
            if f.required && vals[i].is_none() {
                reasons.push(format!("missing {}", f.name));
            }
        }
        if reasons.is_empty() {
            Ok(Got { spec, vals })
        } else {
            Err(reasons)
        }
    }

    fn raw(&self, i: usize) -> Option<&'a Scalar> {
        self.vals[i]
    }

    fn int(&self, i: usize, max: u64, r: &mut Vec<String>) -> u64 {
        let f = &self.spec[i];
        let n = match self.raw(i) {
            None => return 0,
            Some(Scalar::Int(n)) => Some(*n),
            Some(Scalar::Str(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if n >= 0 && n as u64 <= max => n as u64,
            _ => {
                r.push(format!(
                    "invalid {} {}: must be an integer from 0 to {max}",
                    f.name,
                    self.raw(i).map(Scalar::describe).unwrap_or_default()
                ));
                0
            }
        }
    }

    fn text(&self, i: usize, r: &mut Vec<String>) -> String {
        self.text_with(i, r, Scalar::as_text)
    }

    /// The field read by `read`, or an empty string and the reason it is not text.
    fn text_with(
        &self,
        i: usize,
        r: &mut Vec<String>,
        read: fn(&Scalar) -> Option<String>,
    ) -> String {
        match self.raw(i).and_then(read) {
            Some(t) => t,
            None => {
                if let Some(s) = self.raw(i) {
                    let name = self.spec[i].name;
                    r.push(match s.not_text() {
                        Some(why) => format!("invalid {name}: {why}"),
                        None => format!("invalid {name}: expected a string"),
                    });
                }
                String::new()
            }
        }
    }

    /// A quoted `<character-string>` field ([`quoted_text_from_yaml`]).
    fn quoted(&self, i: usize, r: &mut Vec<String>) -> Vec<u8> {
        let t = self.text(i, r);
        quoted_text_from_yaml(&t).unwrap_or_else(|e| {
            r.push(format!("invalid {}: {e}", self.spec[i].name));
            Vec::new()
        })
    }

    fn name(&self, rtype: RecordType, i: usize, r: &mut Vec<String>) -> Fqdn {
        // As `self.text`, without copying the text.
        let t = match self.raw(i).and_then(Scalar::text) {
            Some(t) => t,
            None => std::borrow::Cow::Owned(self.text(i, r)),
        };
        target(rtype, self.spec[i].name, &t).unwrap_or_else(|e| {
            r.push(e);
            Fqdn::root()
        })
    }

    fn hex(&self, i: usize, r: &mut Vec<String>) -> String {
        let t = self.text(i, r);
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
            r.push(format!("invalid {} {t:?}: must be hex", self.spec[i].name));
        }
        t.to_ascii_lowercase()
    }

    /// A decimal field as a fixed-point integer with `scale` fraction digits.
    fn decimal(&self, i: usize, scale: u32, r: &mut Vec<String>) -> i64 {
        let name = self.spec[i].name;
        let t = self.text_with(i, r, Scalar::as_number_text);
        match parse_fixed(&t, scale) {
            Some(v) => v,
            None => {
                r.push(format!(
                    "invalid {name} {t:?}: expected a number with at most {scale} decimals"
                ));
                0
            }
        }
    }

    fn letter(&self, i: usize, r: &mut Vec<String>) -> char {
        let before = r.len();
        let t = self.text(i, r);
        if r.len() > before {
            return '?';
        }
        match self.spec[i].kind {
            Kind::Letter(allowed) if allowed.contains(&t.as_str()) => {
                t.chars().next().unwrap_or('?')
            }
            Kind::Letter(allowed) => {
                r.push(format!(
                    "invalid {} {t:?}: must be one of {}",
                    self.spec[i].name,
                    allowed.join(", ")
                ));
                '?'
            }
            _ => '?',
        }
    }
}

/// octoDNS's `svcparams` mapping -> [`SvcParams`]. octoDNS 1.22 writes each parameter as
/// `key=value` into the zone file (`_SvcbValueBase.to_rdata_text`: a list joined by `,`,
/// anything else verbatim, no value for `None`), so each value is presentation text and is
/// read as RFC 9460 Appendix A reads it. Refused as octoDNS refuses them: unknown names,
/// `alpn`/`ipv4hint`/`ipv6hint`/`mandatory` not lists, a value on `no-default-alpn`, a bad
/// port, address or base64. Refused beyond octoDNS, because the zone octoDNS writes would not
/// load or would mean something else: a value that ends early (a space, a quote), a list item
/// holding an unescaped comma (two items on the wire), `keyNNNNN` with a leading zero, a key
/// given twice (`alpn` and `key1`).
fn svcparams_from_yaml(raw: Option<&Scalar>, r: &mut Vec<String>) -> SvcParams {
    let map = match raw {
        None | Some(Scalar::Null) => return SvcParams::default(),
        Some(Scalar::Tree(ExtValue::Map(m))) => m,
        Some(other) => {
            r.push(format!(
                "invalid svcparams {}: expected a mapping of SvcParamKey to value",
                other.describe()
            ));
            return SvcParams::default();
        }
    };
    let mut params = Vec::with_capacity(map.len());
    for (name, value) in map {
        match svcparam_from_yaml(name, value) {
            Ok(p) => params.push(p),
            Err(e) => r.push(format!("svcparams {name}: {e}")),
        }
    }
    SvcParams::new(params)
}

fn svcparam_from_yaml(name: &str, value: &ExtValue) -> Result<svcb::SvcParam, String> {
    let Some(k) = svcb::key_number(name) else {
        return Err(format!(
            "Unknown SvcParam {name:?} (mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN without leading zeros)"
        ));
    };
    let is_list_key = matches!(
        k,
        key::MANDATORY | key::ALPN | key::IPV4HINT | key::IPV6HINT
    ) && !name.starts_with("key");
    let scalar = |v: &ExtValue| -> Result<String, String> {
        match v {
            ExtValue::Str(s) => Ok(s.clone()),
            ExtValue::Int(i) => Ok(i.to_string()),
            other => Err(format!("expected a string or number, not {other:?}")),
        }
    };
    let (text, items) = match value {
        ExtValue::Null => (None, 0),
        ExtValue::List(_) if k == key::NO_DEFAULT_ALPN && !name.starts_with("key") => {
            return Err("SvcParam no-default-alpn has value when it should not".into())
        }
        ExtValue::List(list) => {
            let parts = list.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
            if parts.iter().any(String::is_empty) {
                return Err(format!(
                    "{name} holds an empty item: every item is at least one octet (an alpn id is 1 to 255, RFC 9460 §7.1.1)"
                ));
            }
            (Some(parts.join(",")), parts.len())
        }
        _ if is_list_key => return Err(format!("{name} is not a list")),
        v => (Some(scalar(v)?), 1),
    };
    if k == key::NO_DEFAULT_ALPN && !name.starts_with("key") && text.is_some() {
        return Err("SvcParam no-default-alpn has value when it should not".into());
    }
    if let Some(t) = &text {
        if !t.is_ascii() {
            return Err(format!(
                "non ASCII character in {t:?}: write other bytes as \\DDD"
            ));
        }
    }
    // Exactly what octoDNS writes after the key, read as a zone file would read it.
    let line = match &text {
        Some(t) => format!("{name}={t}"),
        None => name.to_string(),
    };
    let (param, end) = svcb::parse_param(&line, 0)?;
    if end != line.len() {
        return Err(format!(
            "value {:?} ends early in the zone file octoDNS writes (a space or quote); quote it (\"...\") or write \\032 for a space",
            text.unwrap_or_default()
        ));
    }
    let parsed_items = match &param {
        svcb::SvcParam::Alpn(v) => Some(v.len()),
        svcb::SvcParam::Mandatory(v) => Some(v.len()),
        svcb::SvcParam::Ipv4Hint(v) => Some(v.len()),
        svcb::SvcParam::Ipv6Hint(v) => Some(v.len()),
        _ => None,
    };
    if let Some(n) = parsed_items.filter(|_| is_list_key) {
        if n != items {
            return Err(format!(
                "{items} list items are {n} on the wire: an item holds an unescaped comma (octoDNS joins items with commas); write \\\\, for a comma inside an item (RFC 9460 Appendix A.1)"
            ));
        }
    }
    Ok(param)
}

/// Parses `-12.5` with scale 2 into `-1250`.
pub fn parse_fixed(t: &str, scale: u32) -> Option<i64> {
    let t = t.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || frac.len() > scale as usize
    {
        return None;
    }
    let mut v: i64 = int.parse().ok()?;
    for k in 0..scale as usize {
        let d = frac.as_bytes().get(k).map_or(0, |c| i64::from(c - b'0'));
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

fn structured_value(rtype: RecordType, g: &Got) -> Result<RData, Vec<String>> {
    let mut r = Vec::new();
    let d = match rtype {
        RecordType::MX => RData::Mx(Mx {
            preference: g.int(0, 65535, &mut r) as u16,
            exchange: g.name(rtype, 1, &mut r),
        }),
        RecordType::SRV => RData::Srv(Srv {
            priority: g.int(0, 65535, &mut r) as u16,
            weight: g.int(1, 65535, &mut r) as u16,
            port: g.int(2, 65535, &mut r) as u16,
            target: g.name(rtype, 3, &mut r),
        }),
        RecordType::CAA => RData::Caa(Caa {
            flags: g.int(0, 255, &mut r) as u8,
            tag: g.text(1, &mut r).to_ascii_lowercase(),
            value: g.quoted(2, &mut r),
        }),
        RecordType::NAPTR => RData::Naptr(Box::new(Naptr {
            order: g.int(0, 65535, &mut r) as u16,
            preference: g.int(1, 65535, &mut r) as u16,
            // Flags compare case-insensitively (RFC 3403 §4.1) but are served as written,
            // as octoDNS serves them.
            flags: g.quoted(2, &mut r),
            service: g.quoted(3, &mut r),
            regexp: g.quoted(4, &mut r),
            replacement: g.name(rtype, 5, &mut r),
        })),
        RecordType::SSHFP => RData::Sshfp(Sshfp {
            algorithm: g.int(0, 255, &mut r) as u8,
            fingerprint_type: g.int(1, 255, &mut r) as u8,
            fingerprint: g.hex(2, &mut r),
        }),
        // Usages, selectors and matching types are open registries (RFC 6698 §7.2-7.4).
        RecordType::TLSA => RData::Tlsa(Tlsa {
            certificate_usage: g.int(0, 255, &mut r) as u8,
            selector: g.int(1, 255, &mut r) as u8,
            matching_type: g.int(2, 255, &mut r) as u8,
            certificate_association_data: g.hex(3, &mut r),
        }),
        RecordType::DS => RData::Ds(Ds {
            key_tag: g.int(0, 65535, &mut r) as u16,
            algorithm: g.int(1, 255, &mut r) as u8,
            digest_type: g.int(2, 255, &mut r) as u8,
            digest: g.hex(3, &mut r),
        }),
        RecordType::URI => RData::Uri(Uri {
            priority: g.int(0, 65535, &mut r) as u16,
            weight: g.int(1, 65535, &mut r) as u16,
            target: g.quoted(2, &mut r),
        }),
        RecordType::LOC => {
            let loc = Loc {
                lat_degrees: g.int(0, 90, &mut r) as u8,
                lat_minutes: g.int(1, 59, &mut r) as u8,
                lat_millis: g.decimal(2, 3, &mut r).try_into().unwrap_or(u32::MAX),
                lat_direction: g.letter(3, &mut r),
                long_degrees: g.int(4, 180, &mut r) as u8,
                long_minutes: g.int(5, 59, &mut r) as u8,
                long_millis: g.decimal(6, 3, &mut r).try_into().unwrap_or(u32::MAX),
                long_direction: g.letter(7, &mut r),
                altitude_cm: g.decimal(8, 2, &mut r),
                size_cm: g.decimal(9, 2, &mut r).try_into().unwrap_or(u64::MAX),
                precision_horz_cm: g.decimal(10, 2, &mut r).try_into().unwrap_or(u64::MAX),
                precision_vert_cm: g.decimal(11, 2, &mut r).try_into().unwrap_or(u64::MAX),
            };
            // A zero angle is one wire value whatever its direction; seconds of 60 or more
            // stay as written, for `model::check` to refuse.
            let loc = if loc.lat_millis < 60_000 && loc.long_millis < 60_000 {
                loc.canonical()
            } else {
                loc
            };
            RData::Loc(Box::new(loc))
        }
        RecordType::SVCB | RecordType::HTTPS => {
            let v = Box::new(Svcb {
                priority: g.int(0, 65535, &mut r) as u16,
                target: g.name(rtype, 1, &mut r),
                params: svcparams_from_yaml(g.raw(2), &mut r),
            });
            if rtype == RecordType::SVCB {
                RData::Svcb(v)
            } else {
                RData::Https(v)
            }
        }
        other => return Err(vec![format!("{other} values are not mappings")]),
    };
    if r.is_empty() {
        Ok(d)
    } else {
        Err(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_escapes_round_trip() {
        for bytes in [
            &b"\"quoted\""[..],
            b"a;b\\c",
            b"",
            b"\x00\xff tab\t",
            b"say \"hi\"",
        ] {
            assert_eq!(txt_from_yaml(&txt_to_yaml(bytes)).unwrap(), bytes);
        }
        assert_eq!(txt_from_yaml("\"abc\" \"def\"").unwrap(), b"abcdef");
        assert!(txt_from_yaml("v=spf1; x")
            .unwrap_err()
            .contains("unescaped ;"));
        assert!(txt_from_yaml("héllo").unwrap_err().contains("non ASCII"));
        // `\"` is a quote and `\\` a backslash, as octodns-bind writes the text into a zone
        // file (`rdata_text` is the YAML text verbatim between quotes); octoDNS 1.22's
        // `to_rdata_text` would keep such backslashes literally (README, TXT row).
        assert_eq!(txt_from_yaml(r#"say \"hi\""#).unwrap(), b"say \"hi\"");
        assert_eq!(txt_from_yaml(r"a\\b").unwrap(), b"a\\b");
        assert_eq!(txt_from_yaml(r"\065\;").unwrap(), b"A;");
    }

    fn parse(text: &str) -> Result<ZoneManifest, Vec<Diagnostic>> {
        parse_zone(
            text,
            Path::new("zones/example.com.yaml"),
            &Fqdn::parse("example.com").unwrap(),
        )
    }

    fn key(name: &str, t: RecordType) -> RrKey {
        RrKey::new(Fqdn::parse(name).unwrap(), t)
    }

    #[test]
    fn provider_blocks_are_kept_per_rrset_and_kind() {
        let m = parse(
            "---
www:
  type: A
  value: 192.0.2.1
  octodns:
    cloudflare:
      proxied: true
      auto-ttl: false
      tags: [b, a]
      weight: 1.0
    memory: {note: x}
    healthcheck: {protocol: HTTPS, path: /ok}
    excluded: [other]
    lenient: true
plain:
  type: A
  value: 192.0.2.2
",
        )
        .unwrap();
        let www = key("www.example.com.", RecordType::A);
        let blocks = &m.settings[&www];
        // octoDNS's own keys are not provider blocks.
        assert_eq!(
            blocks.keys().map(String::as_str).collect::<Vec<_>>(),
            ["cloudflare", "memory"]
        );
        assert_eq!(
            blocks["cloudflare"].to_string(),
            "auto-ttl=false proxied=true tags=[b,a] weight=1"
        );
        assert_eq!(m.settings.len(), 1);
        assert!(!m.filters[&www].allows("other"));

        // Each target gets the block of its kind, and only that.
        let cf = m.desired_for("edge", "cloudflare");
        assert_eq!(
            cf.get(&www).and_then(RrSet::ext).map(|e| e.to_string()),
            Some("auto-ttl=false proxied=true tags=[b,a] weight=1".into())
        );
        let plain = key("plain.example.com.", RecordType::A);
        assert_eq!(cf.get(&plain).and_then(RrSet::ext), None);
        let mem = m.desired_for("mem", "memory");
        assert_eq!(
            mem.get(&www).and_then(RrSet::ext).map(|e| e.to_string()),
            Some("note=x".into())
        );
        let pdns = m.desired_for("pdns", "powerdns");
        assert_eq!(pdns.get(&www).and_then(RrSet::ext), None);
        assert_eq!(
            pdns.get(&www).map(RrSet::values),
            m.zone.get(&www).map(RrSet::values)
        );
        // Excluded targets still do not get the record.
        assert!(m.desired_for("other", "cloudflare").get(&www).is_none());
    }

    #[test]
    fn a_provider_block_that_is_not_a_mapping_is_a_file_line_error() {
        let errs = parse(
            "---
ok:
  type: A
  value: 192.0.2.1
www:
  type: A
  value: 192.0.2.1
  octodns:
    cloudflare: true
    route53:
      - healthcheck
",
        )
        .unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 2, "{shown:?}");
        assert_eq!(errs[0].pos.line, 9, "{shown:?}");
        assert!(
            shown[0].starts_with("zones/example.com.yaml:9:")
                && shown[0].contains("www.example.com. A")
                && shown[0].contains("octodns.cloudflare must be a mapping"),
            "{shown:?}"
        );
        assert_eq!(errs[1].pos.line, 11, "{shown:?}");
        assert!(shown[1].contains("octodns.route53"), "{shown:?}");
        // A typo of an own key is caught the same way, not silently taken as a provider.
        let errs = parse("www:\n  type: A\n  value: 192.0.2.1\n  octodns:\n    ignore: true\n")
            .unwrap_err();
        assert!(
            errs[0].message.contains("octodns.ignore must be a mapping"),
            "{errs:?}"
        );
        assert!(errs[0].message.contains("ignored, included"), "{errs:?}");
    }

    #[test]
    fn equal_blocks_compare_equal_however_written() {
        let a =
            parse("www:\n  type: A\n  value: 192.0.2.1\n  octodns: {memory: {b: 1.0, a: [x]}}\n")
                .unwrap();
        let b = parse(
            "www:\n  type: A\n  value: 192.0.2.1\n  octodns:\n    memory:\n      a:\n        - x\n      b: 1\n",
        )
        .unwrap();
        assert_eq!(a.desired_for("m", "memory"), b.desired_for("m", "memory"));
        // An empty block is no settings.
        let c = parse("www:\n  type: A\n  value: 192.0.2.1\n  octodns: {memory: {}}\n").unwrap();
        assert!(c.settings.is_empty());
    }

    #[test]
    fn provider_blocks_of_a_big_file_keep_their_lines() {
        // Large enough to be parsed in parallel pieces.
        let mut text = String::from("---\n");
        let mut i = 0;
        while text.len() < PARALLEL_MIN_BYTES + 4096 {
            text.push_str(&format!("h{i}:\n  type: A\n  value: 192.0.2.1\n"));
            i += 1;
        }
        // `memory: 5` is the fifth line of the last record.
        let line = text.lines().count() + 5;
        text.push_str("zz:\n  type: A\n  value: 192.0.2.1\n  octodns:\n    memory: 5\n");
        let errs = parse(&text).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].pos.line as usize, line, "{errs:?}");
        text.truncate(text.len() - "    memory: 5\n".len());
        text.push_str("    memory: {proxied: true}\n");
        let m = parse(&text).unwrap();
        assert_eq!(m.settings.len(), 1);
        assert!(m.settings[&key("zz.example.com.", RecordType::A)].contains_key("memory"));
    }

    /// Expected values from octoDNS 1.22's YamlProvider (PyYAML 6, YAML 1.1) on the same
    /// text, recorded in the comments; see also tests/octodns_compat.rs.
    #[test]
    fn unquoted_scalars_are_read_as_octodns_reads_them_or_refused() {
        // octoDNS: TXT '12345678e9', TXT '606e970852', CNAME 'app.example.net.', name '08'.
        let m = parse(
            "---
t1: {type: TXT, value: 12345678e9}
t2: {type: TXT, value: 606e970852}
t3: {type: TXT, values: [1e5, 12345, '00071672', \"no\"]}
08: {type: A, value: 192.0.2.8}
'010': {type: A, value: 192.0.2.10}
12: {type: A, value: 192.0.2.12}
mx: {type: MX, value: {preference: 10, exchange: mail.example.com.}}
loc: {type: LOC, value: {lat_degrees: 31, lat_minutes: 58, lat_seconds: 52.1, lat_direction: S, long_degrees: 115, long_minutes: 49, long_seconds: 11.7, long_direction: E, altitude: 20.5, size: 10, precision_horz: 10, precision_vert: 2}}
",
        )
        .unwrap();
        let txt = |n: &str| {
            m.zone
                .get(&key(n, RecordType::TXT))
                .unwrap()
                .values()
                .iter()
                .map(|v| match v {
                    RData::Txt(t) => String::from_utf8(t.0.clone()).unwrap(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(txt("t1.example.com."), ["12345678e9"]);
        assert_eq!(txt("t2.example.com."), ["606e970852"]);
        let mut t3 = txt("t3.example.com.");
        t3.sort();
        assert_eq!(t3, ["00071672", "12345", "1e5", "no"]);
        for n in ["08", "010", "12"] {
            assert!(
                m.zone
                    .get(&key(&format!("{n}.example.com."), RecordType::A))
                    .is_some(),
                "{n}"
            );
        }

        // PyYAML: 00071672 -> int 29626, no -> False, on -> True, 1:30 -> 90, 1.50 -> 1.5,
        // 1_000 -> 1000, 2001-12-14 -> date; octoDNS names: null -> 'none', no -> 'false',
        // 010 -> '8'.
        let errs = parse(
            "---
a: {type: TXT, value: 00071672}
b: {type: TXT, values: [ok, no]}
c: {type: CNAME, value: 1:30}
d: {type: TXT, value: 1.50}
e: {type: MX, value: {preference: 10, exchange: on}}
f: {type: TXT, value: 1_000}
g: {type: TXT, value: 2001-12-14}
null: {type: A, value: 192.0.2.1}
no: {type: A, value: 192.0.2.2}
010: {type: A, value: 192.0.2.3}
h: {type: A, ttl: 0300, value: 192.0.2.4}
",
        )
        .unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        let want = [
            "zones/example.com.yaml:2:1: a.example.com. TXT: invalid TXT value: octoDNS (YAML 1.1) reads the unquoted `00071672` as the integer 29626, not as the text \"00071672\"; quote it ('00071672') for the text",
            "zones/example.com.yaml:3:1: b.example.com. TXT: invalid TXT value: octoDNS (YAML 1.1) reads the unquoted `no` as the boolean False, not as the text \"no\"; quote it ('no') for the text",
            "zones/example.com.yaml:4:1: c.example.com. CNAME: invalid CNAME value: octoDNS (YAML 1.1) reads the unquoted `1:30` as the integer 90, not as the text \"1:30\"; quote it ('1:30') for the text",
            "zones/example.com.yaml:5:1: d.example.com. TXT: invalid TXT value: octoDNS (YAML 1.1) reads the unquoted `1.50` as the float 1.5, not as the text \"1.50\"; quote it ('1.50') for the text",
            "zones/example.com.yaml:6:1: e.example.com. MX: invalid exchange: octoDNS (YAML 1.1) reads the unquoted `on` as the boolean True, not as the text \"on\"; quote it ('on') for the text",
            "zones/example.com.yaml:6:1: e.example.com. MX: missing exchange",
            "zones/example.com.yaml:7:1: f.example.com. TXT: invalid TXT value: octoDNS (YAML 1.1) reads the unquoted `1_000` as the integer 1000, not as the text \"1_000\"; quote it ('1_000') for the text",
            "zones/example.com.yaml:8:1: g.example.com. TXT: invalid TXT value: octoDNS (YAML 1.1) reads the unquoted `2001-12-14` as a date, not as the text \"2001-12-14\"; quote it ('2001-12-14') for the text",
            "zones/example.com.yaml:9:1: \"null\": octoDNS (YAML 1.1) reads this unquoted key as null and names the record `none`; write '' for the zone apex, or quote the name",
            "zones/example.com.yaml:10:1: \"no\": octoDNS (YAML 1.1) reads the unquoted name `no` as the boolean False and names the record `false`; quote it ('no') for the name \"no\"",
            "zones/example.com.yaml:11:1: \"010\": octoDNS (YAML 1.1) reads the unquoted name `010` as the integer 8 and names the record `8`; quote it ('010') for the name \"010\"",
            "zones/example.com.yaml:12:19: h.example.com. A: invalid ttl `0300` (octoDNS, YAML 1.1: the integer 192): must be a whole number of seconds from 0 to 2147483647",
        ];
        assert_eq!(shown, want);
    }

    /// octoDNS 1.22 on these files (tests/octodns_compat.rs has the live comparison):
    /// apex TXT ['one', 'two'], www CNAME 'app.example.net.', mx MX 10 'mail.example.net.'.
    #[test]
    fn include_reads_the_named_file_relative_to_the_including_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = &dir.path().join("repo");
        std::fs::create_dir_all(root.join("zones/sub")).unwrap();
        std::fs::write(dir.path().join("outside.yaml"), "secret\n").unwrap();
        std::fs::write(root.join("zones/common-txt.yaml"), "- one\n- two\n").unwrap();
        std::fs::write(root.join("zones/www-target.yaml"), "app.example.net.\n").unwrap();
        std::fs::write(root.join("zones/sub/mx.yaml"), "!include host.yaml\n").unwrap();
        std::fs::write(root.join("zones/sub/host.yaml"), "mail.example.net.\n").unwrap();
        std::fs::write(root.join("zones/bad.yaml"), "- ok\n- [unclosed\n").unwrap();
        let zone = root.join("zones/example.com.yaml");
        let origin = Fqdn::parse("example.com").unwrap();
        std::fs::write(
            &zone,
            "---
'':
  - {type: TXT, values: !include common-txt.yaml}
www: {type: CNAME, value: !include www-target.yaml}
mx: {type: MX, value: {preference: 10, exchange: !include sub/mx.yaml}}
api: !include sub/api-records.yaml
",
        )
        .unwrap();
        std::fs::write(
            root.join("zones/sub/api-records.yaml"),
            "- {type: A, value: 192.0.2.1}\n- {type: TXT, value: !include ../api-txt.yaml}\n",
        )
        .unwrap();
        std::fs::write(root.join("zones/api-txt.yaml"), "hello\n").unwrap();
        let m = crate::manifest::load_zone(root, &zone, &origin, DEFAULT_TTL).unwrap();
        let txt = m.zone.get(&key("example.com.", RecordType::TXT)).unwrap();
        assert_eq!(
            txt.values(),
            [
                RData::Txt(Txt(b"one".to_vec())),
                RData::Txt(Txt(b"two".to_vec()))
            ]
        );
        let www = m
            .zone
            .get(&key("www.example.com.", RecordType::CNAME))
            .unwrap();
        assert_eq!(
            www.values(),
            [RData::Cname(Fqdn::parse("app.example.net.").unwrap())]
        );
        assert!(m
            .zone
            .get(&key("mx.example.com.", RecordType::MX))
            .is_some());
        assert!(m
            .zone
            .get(&key("api.example.com.", RecordType::A))
            .is_some());
        let api_txt = m
            .zone
            .get(&key("api.example.com.", RecordType::TXT))
            .unwrap();
        assert_eq!(api_txt.values(), [RData::Txt(Txt(b"hello".to_vec()))]);
        assert_eq!(
            m.positions[&key("api.example.com.", RecordType::TXT)].line,
            6
        );

        for (value, want) in [
            ("!include ../../outside.yaml", "is outside the directory"),
            ("!include missing.yaml", "file not found"),
            ("!include bad.yaml", "zones/bad.yaml:2:"),
            ("!custom app.example.net.", "unsupported"),
            (
                "!custom app.example.net.}\nw2: {type: CNAME, value: !include www-target.yaml",
                "unsupported tag `!custom`",
            ),
        ] {
            std::fs::write(&zone, format!("www: {{type: CNAME, value: {value}}}\n")).unwrap();
            let errs = crate::manifest::load_zone(root, &zone, &origin, DEFAULT_TTL).unwrap_err();
            let shown = errs[0].to_string();
            assert!(shown.contains(want), "{value}: {shown}");
            assert!(shown.contains("example.com.yaml:1:"), "{value}: {shown}");
            assert!(!shown.contains("secret"), "{shown}");
        }
        // Without a repository (a file checked on its own), includes are refused.
        let errs = parse("www: {type: CNAME, value: !include www-target.yaml}\n").unwrap_err();
        assert!(
            errs[0].message.contains("includes are read only"),
            "{errs:?}"
        );
    }

    /// octoDNS types that are not DNS or belong to one provider are read and kept as
    /// written (no target stores them: the plan skips them, see plan tests), never refused.
    /// octoDNS 1.22 accepts this URLFWD value; octodns-route53 this alias.
    #[test]
    fn provider_specific_and_non_dns_types_are_kept_as_written() {
        let m = parse(
            "---
'':
  - type: Route53Provider/ALIAS
    value: {name: lb-1.elb.amazonaws.com., type: A, evaluate-target-health: false}
go:
  type: URLFWD
  values:
    - {path: /, target: 'https://example.net/', code: 301, masking: 2, query: 0}
",
        )
        .unwrap();
        let alias = m
            .zone
            .get(&key("example.com.", RecordType::Route53Alias))
            .unwrap();
        let RData::Foreign(t, v) = &alias.values()[0] else {
            panic!("{alias:?}")
        };
        assert_eq!(*t, RecordType::Route53Alias);
        assert_eq!(
            v.to_string(),
            ExtValue::Map(BTreeMap::from([
                ("evaluate-target-health".into(), ExtValue::Bool(false)),
                (
                    "name".into(),
                    ExtValue::Str("lb-1.elb.amazonaws.com.".into())
                ),
                ("type".into(), ExtValue::Str("A".into())),
            ]))
            .to_string()
        );
        assert!(m
            .zone
            .get(&key("go.example.com.", RecordType::URLFWD))
            .is_some());
        let errs = parse("x: {type: urlfwd, value: {path: /}}\n").unwrap_err();
        assert!(errs[0].message.contains("types are upper case"), "{errs:?}");
    }

    /// octoDNS (`ValuesMixin`) reads a list under `value` as `values`; a single-value type
    /// refuses it.
    #[test]
    fn a_list_under_value_is_values() {
        let m = parse(
            "---
lab: {type: NS, value: [ns1.example.net., ns2.example.net.]}
",
        )
        .unwrap();
        assert_eq!(
            m.zone
                .get(&key("lab.example.com.", RecordType::NS))
                .unwrap()
                .len(),
            2
        );
        let errs = parse("---\nw: {type: CNAME, value: [a.example.net.]}\n").unwrap_err();
        assert!(
            errs[0]
                .message
                .contains("CNAME takes a single value, not a list"),
            "{errs:?}"
        );
    }

    #[test]
    fn a_bad_ttl_is_reported_at_its_value() {
        let errs = parse(
            "---
neg:
  type: A
  ttl: -1
  value: 192.0.2.1
big:
  - type: A
    value: 192.0.2.1
    ttl:   2147483648
word:
  ttl: soon
  type: A
  value: 192.0.2.1
",
        )
        .unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "zones/example.com.yaml:4:8: neg.example.com. A: invalid ttl -1: must be a whole number of seconds from 0 to 2147483647",
                "zones/example.com.yaml:9:12: big.example.com. A: invalid ttl 2147483648: must be a whole number of seconds from 0 to 2147483647",
                "zones/example.com.yaml:11:8: word.example.com. A: invalid ttl \"soon\": must be a whole number of seconds from 0 to 2147483647",
            ]
        );
    }

    #[test]
    fn a_bad_ttl_in_a_big_file_keeps_its_line() {
        // Large enough to be parsed in parallel pieces.
        let mut text = String::from("---\n");
        let mut i = 0;
        while text.len() < PARALLEL_MIN_BYTES + 4096 {
            text.push_str(&format!("h{i}:\n  type: A\n  value: 192.0.2.1\n"));
            i += 1;
        }
        let line = text.lines().count() + 3;
        text.push_str("zz:\n  type: A\n  ttl: x\n  value: 192.0.2.1\n");
        let errs = parse(&text).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].pos.line as usize, errs[0].pos.column), (line, 8));
    }

    #[test]
    fn targets_follow_octodns_legacy_rules() {
        assert_eq!(
            target(RecordType::CNAME, "value", "Foo.COM")
                .unwrap()
                .as_str(),
            "foo.com."
        );
        assert!(target(RecordType::CNAME, "value", "foo").is_err());
        assert!(target(RecordType::CNAME, "value", ".").is_err());
        assert!(target(RecordType::MX, "exchange", ".").unwrap().is_root());
    }

    /// octoDNS's SVCB/HTTPS form: each svcparam value is the presentation text octoDNS
    /// writes after `key=`, so the value equals what a zone file with that text holds.
    #[test]
    fn svcb_and_https_read_as_octodns_writes_them() {
        let m = parse(
            r#"
_8443._https:
  - type: SVCB
    value: {svcpriority: 0, targetname: svc.example.net.}
svc:
  - type: HTTPS
    values:
      - svcpriority: 1
        targetname: .
        svcparams:
          port: 8443
          alpn: [h2, h3]
          mandatory: [port, alpn]
          no-default-alpn:
          ipv4hint: [192.0.2.1, 192.0.2.2]
          ipv6hint: ['2001:db8::1']
          ech: AEn+DQ==
          key65000: 'a\032b\\c'
          key65001: '"quoted text"'
      - svcpriority: 2
        targetname: svc2.example.net
        svcparams: {alpn: ['f\\\\oo\\,bar', h2]}
"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let https = &m.zone.rrsets[&key("svc.example.com.", RecordType::HTTPS)];
        let shown: Vec<String> = https.values().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"1 . mandatory=alpn,port alpn=h2,h3 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech="AEn+DQ==" ipv6hint=2001:db8::1 key65000="a b\\c" key65001="quoted text""#,
                // One ALPN id `f\oo,bar` (RFC 9460 Appendix A.1's example), then h2.
                r#"2 svc2.example.net. alpn=f\\\\oo\\,bar,h2"#,
            ]
        );
        let RData::Https(v) = &https.values()[1] else {
            panic!("not HTTPS")
        };
        assert_eq!(
            v.params.iter().next(),
            Some(&crate::model::svcb::SvcParam::Alpn(vec![
                b"f\\oo,bar".to_vec(),
                b"h2".to_vec()
            ]))
        );
        // import writes what reads back the same.
        let yaml = crate::manifest::render::zone_to_yaml(&m.zone, "zonefile");
        let again = parse(&yaml).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
        assert_eq!(again.zone, m.zone, "{yaml}");
    }

    /// What octoDNS refuses, and what it would write into a zone that does not load or
    /// means something else: file:line errors naming the parameter.
    #[test]
    fn svcb_values_octodns_or_the_zone_would_refuse() {
        for (params, want) in [
            ("{foo: 1}", "Unknown SvcParam \"foo\""),
            ("{dohpath: /q}", "Unknown SvcParam \"dohpath\""),
            ("{key01: x}", "Unknown SvcParam \"key01\""),
            ("{key65536: x}", "Unknown SvcParam"),
            ("{alpn: h2}", "alpn is not a list"),
            ("{ipv4hint: 192.0.2.1}", "ipv4hint is not a list"),
            ("{mandatory: alpn, alpn: [h2]}", "mandatory is not a list"),
            (
                "{alpn: [h2], no-default-alpn: x}",
                "has value when it should not",
            ),
            ("{port: x}", "is not a number"),
            ("{port: 70000}", "0 to 65535"),
            ("{port: -1}", "is not a number"),
            ("{ipv4hint: [192.0.2]}", "is not an IPv4 address"),
            ("{ipv6hint: ['192.0.2.1']}", "is not an IPv6 address"),
            ("{ech: '***'}", "is not base64"),
            (
                "{mandatory: [foo], alpn: [h2]}",
                "unknown SvcParamKey \"foo\"",
            ),
            (
                "{mandatory: [port], alpn: [h2]}",
                "mandatory lists port but the value has no port (RFC 9460 §8)",
            ),
            (
                "{no-default-alpn: }",
                "no-default-alpn requires alpn (RFC 9460 §7.1.1)",
            ),
            ("{key65000: 'a b'}", "ends early"),
            ("{alpn: ['h2,h3']}", "unescaped comma"),
            ("{alpn: ['']}", "alpn holds an empty item"),
            ("{alpn: [h2, '']}", "alpn holds an empty item"),
            ("{alpn: ['a;b']}", "unescaped ;"),
            (
                "{alpn: [h2], key1: '\\002h3'}",
                "SvcParamKey alpn appears twice (RFC 9460 §2.2)",
            ),
            ("{key65535: x}", "RFC 9460 §14.3.2"),
            ("[port]", "expected a mapping"),
        ] {
            let text = format!(
                "svc:\n  type: SVCB\n  value:\n    svcpriority: 1\n    targetname: .\n    svcparams: {params}\n"
            );
            let errs = parse(&text).expect_err(params);
            let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
            assert!(
                shown
                    .iter()
                    .any(|s| s.starts_with("zones/example.com.yaml:")
                        && s.contains("svc.example.com. SVCB")
                        && s.contains(want)),
                "{params}: {shown:?}"
            );
        }
        for (value, want) in [
            (
                "{svcpriority: 0, targetname: ., svcparams: {alpn: [h2]}}",
                "RFC 9460 §2.4.2",
            ),
            ("{targetname: .}", "missing svcpriority"),
            ("{svcpriority: 1}", "missing targetname"),
            ("{svcpriority: 65536, targetname: .}", "invalid svcpriority"),
            (
                "{svcpriority: 1, targetname: 'not a name'}",
                "not a valid FQDN",
            ),
        ] {
            let text = format!("svc:\n  type: HTTPS\n  value: {value}\n");
            let errs = parse(&text).expect_err(value);
            let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
            assert!(shown.iter().any(|s| s.contains(want)), "{value}: {shown:?}");
        }
    }
}
