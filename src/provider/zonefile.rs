//! `zonefile`: RFC 1035 master files in a directory, one per zone, as BIND and Knot load them.
//!
//! Read with NLnet Labs `domain`'s zone-file parser; written whole, atomically (temp file,
//! fsync, rename), with the SOA serial bumped. Records zonekeeper cannot represent (HINFO,
//! DNSKEY, ...) are kept verbatim, so rewriting a file never loses them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use async_trait::async_trait;
use bytes::Bytes;
use domain::base::iana::Class;
use domain::base::name::{Name, ToName};
use domain::base::zonefile_fmt::{DisplayKind, ZonefileFmt};
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, Zonefile};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    dnswire, rfc3597, BuildContext, ChangeOutcome, ErrorKind, Observed, Provider, ProviderError,
};
use crate::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};
use crate::plan::{diff, Capabilities, Change, Granularity};
use crate::secret::SecretError;
use crate::secret::SecretRef;

/// The `type:` of this backend's config entries.
pub const KIND: &str = "zonefile";

/// This backend's settings, under the name the registry looks for.
pub type Settings = ZonefileSettings;

/// The secret references of these settings: none.
pub fn secrets_mut(_settings: &mut Settings) -> Vec<&mut SecretRef> {
    Vec::new()
}

/// Makes `directory` absolute (relative to the config file's directory) and checks that
/// `file_extension` stays a file name suffix (no `/`, no `..`): files are written only in
/// `directory`.
pub fn check(settings: &mut Settings, base_dir: &Path) -> Result<(), String> {
    let ext = &settings.file_extension;
    if ext.contains('/') || ext.contains("..") || ext.contains('\0') {
        return Err(format!(
            "file_extension {:?} may not contain '/', '..' or NUL: it is the end of a file name in `directory`",
            ext.chars().take(40).collect::<String>()
        ));
    }
    settings.directory = base_dir.join(&settings.directory);
    Ok(())
}

/// The name of `zone`'s file: the zone without its trailing dot, `/` (classless reverse
/// zones) written as `-`, then `extension`. Not injective (`0/26.x` and `0-26.x` share a
/// name), so configuration refuses two zones of one target that map to one file.
pub fn file_name(zone: &Fqdn, extension: &str) -> String {
    format!("{}{extension}", zone.without_dot().replace('/', "-"))
}

/// A provider over the files in `settings.directory` (nothing is read until used).
pub fn build(
    name: &str,
    settings: &Settings,
    _ctx: &BuildContext,
) -> Result<Box<dyn Provider>, SecretError> {
    Ok(Box::new(ZonefileProvider::new(name, settings.clone())))
}

/// `zonefile`: RFC 1035 master files in a directory, one per zone.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZonefileSettings {
    /// Directory holding one file per zone (relative to the config file).
    pub directory: PathBuf,
    /// Appended to the zone name (without its trailing dot) to make the file name. The
    /// default `.zone` gives `example.com.zone`; octodns-bind's default is `.`.
    #[serde(default = "default_extension")]
    pub file_extension: String,
    /// SOA RNAME for new files (default `hostmaster.<zone>`); existing files keep theirs.
    #[serde(default)]
    pub hostmaster: Option<String>,
    /// TTL of the SOA and `$TTL` of new files.
    #[serde(default = "default_ttl")]
    pub default_ttl: u32,
}

fn default_extension() -> String {
    ".zone".into()
}

fn default_ttl() -> u32 {
    3600
}

/// The server-owned part of a zone file, kept across rewrites.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Soa {
    ttl: u32,
    mname: String,
    rname: String,
    serial: u32,
    refresh: u32,
    retry: u32,
    expire: u32,
    minimum: u32,
}

/// A parsed zone file.
struct Parsed {
    zone: Zone,
    soa: Option<Soa>,
    /// Records of types zonekeeper does not manage, as zone-file lines.
    foreign: Vec<String>,
}

pub struct ZonefileProvider {
    name: String,
    settings: ZonefileSettings,
    caps: Capabilities,
}

impl ZonefileProvider {
    pub fn new(name: &str, settings: ZonefileSettings) -> ZonefileProvider {
        let mut caps = Capabilities::everything();
        // ALIAS is a provider pseudo-type: a master file cannot hold it.
        caps.types.remove(&RecordType::ALIAS);
        caps.granularity = Granularity::Zone;
        // A master file holds only records: no per-record settings.
        caps.record_settings.clear();
        ZonefileProvider {
            name: name.to_string(),
            settings,
            caps,
        }
    }

    /// The file that holds `zone`.
    pub fn path_for(&self, zone: &Fqdn) -> PathBuf {
        self.settings
            .directory
            .join(file_name(zone, &self.settings.file_extension))
    }

    fn read(&self, zone: &Fqdn) -> Result<Option<Parsed>, ProviderError> {
        let path = self.path_for(zone);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ProviderError::new(
                    ErrorKind::Rejected,
                    format!("cannot read zone file {}: {e}", path.display()),
                ))
            }
        };
        parse_zone_file(&text, zone).map(Some).map_err(|e| {
            ProviderError::new(ErrorKind::Rejected, format!("{}: {e}", path.display()))
        })
    }

    fn write(&self, zone: &Fqdn, parsed: &Parsed) -> Result<(), ProviderError> {
        let path = self.path_for(zone);
        let io = |e: std::io::Error| {
            ProviderError::new(
                ErrorKind::Transient,
                format!("cannot write {}: {e}", path.display()),
            )
        };
        std::fs::create_dir_all(&self.settings.directory).map_err(io)?;
        let text = render_zone_file(parsed, &self.settings);
        let tmp = path.with_file_name(format!(
            ".{}.tmp{}",
            path.file_name().and_then(|f| f.to_str()).unwrap_or("zone"),
            std::process::id()
        ));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io)?;
        // Make the rename itself durable.
        if let Ok(dir) = std::fs::File::open(&self.settings.directory) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for ZonefileProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        let dir = match std::fs::read_dir(&self.settings.directory) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ProviderError::new(ErrorKind::Rejected, e.to_string())),
        };
        let mut zones = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if let Some(z) = name.strip_suffix(&self.settings.file_extension) {
                if let Ok(f) = Fqdn::parse(z) {
                    zones.push(f);
                }
            }
        }
        zones.sort();
        Ok(zones)
    }

    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        Ok(match self.read(zone)? {
            Some(p) => Observed::present(p.zone),
            None => Observed::absent(zone.clone()),
        })
    }

    /// Writes an empty zone file (SOA only); an existing file is left as it is.
    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        if self.read(zone)?.is_some() {
            return Ok(());
        }
        let empty = Parsed {
            zone: Zone::new(zone.clone()),
            soa: None,
            foreign: Vec::new(),
        };
        self.write(zone, &empty)
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        _observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let fail_all = |e: ProviderError| changes.iter().map(|_| Err(e.clone())).collect();
        let mut parsed = match self.read(zone) {
            Ok(Some(p)) => p,
            Ok(None) => Parsed {
                zone: Zone::new(zone.clone()),
                soa: None,
                foreign: Vec::new(),
            },
            Err(e) => return fail_all(e),
        };
        // Optimistic concurrency: the file must still be what the plan was made from.
        if let Some(why) = diff::precondition_failure(&parsed.zone, changes) {
            return fail_all(ProviderError::new(
                ErrorKind::Conflict,
                format!(
                    "{} changed since it was read: {why}",
                    self.path_for(zone).display()
                ),
            ));
        }
        diff::apply_to(&mut parsed.zone, changes);
        match self.write(zone, &parsed) {
            Ok(()) => changes.iter().map(|_| Ok(())).collect(),
            Err(e) => fail_all(e),
        }
    }
}

/// Parses master-file text for `origin` into the model.
fn parse_zone_file(text: &str, origin: &Fqdn) -> Result<Parsed, String> {
    // domain 0.12 panics on an unclosed parenthesis at end of input; contain it.
    std::panic::catch_unwind(|| parse_inner(text, origin))
        .unwrap_or_else(|_| Err("the zone file parser failed (unbalanced parentheses?)".into()))
}

fn parse_inner(text: &str, origin: &Fqdn) -> Result<Parsed, String> {
    let text = rfc3597::generic_for_domain(text);
    let mut zf = Zonefile::from(text.as_ref());
    let origin_name = Name::<Bytes>::from_str(origin.as_str()).map_err(|e| e.to_string())?;
    zf.set_origin(origin_name);
    zf.set_default_class(Class::IN);
    let mut sets: std::collections::BTreeMap<RrKey, (u32, Vec<RData>)> = Default::default();
    let mut soa = None;
    let mut foreign = Vec::new();
    loop {
        let rec = match zf.next_entry() {
            Ok(Some(Entry::Record(r))) => r,
            Ok(Some(Entry::Include { .. })) => return Err("$INCLUDE is not supported".into()),
            Ok(None) => break,
            Err(e) => return Err(format!("line {e}")),
        };
        let owner: Name<Bytes> = rec.owner().to_name();
        let name = Fqdn::parse(&dnswire::name_text(&owner)).map_err(|e| e.to_string())?;
        let ttl = rec.ttl().as_secs();
        let value = match rec.data() {
            ZoneRecordData::Soa(s) => {
                soa = Some(Soa {
                    ttl,
                    mname: format!("{}.", s.mname()),
                    rname: format!("{}.", s.rname()),
                    serial: s.serial().into_int(),
                    refresh: s.refresh().as_secs(),
                    retry: s.retry().as_secs(),
                    expire: s.expire().as_secs(),
                    minimum: s.minimum().as_secs(),
                });
                continue;
            }
            data => dnswire::to_model(data)?,
        };
        match value {
            Some(v) => {
                let key = RrKey::new(name, v.rtype());
                let e = sets.entry(key).or_insert((ttl, Vec::new()));
                // Mixed TTLs in one RRset are illegal (RFC 2181); the lowest is what resolvers
                // would see, and a plan then sets one TTL for all.
                e.0 = e.0.min(ttl);
                e.1.push(v);
            }
            None => foreign.push(format!("{}", rec.display_zonefile(DisplayKind::Simple))),
        }
    }
    let mut zone = Zone::new(origin.clone());
    for (k, (ttl, vals)) in sets {
        zone.put(k, RrSet::new(ttl, vals));
    }
    Ok(Parsed { zone, soa, foreign })
}

/// Unix time, for SOA serials.
fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// Renders a complete zone file.
fn render_zone_file(p: &Parsed, s: &ZonefileSettings) -> String {
    let origin = &p.zone.origin;
    let soa = match &p.soa {
        Some(old) => Soa {
            // Serial arithmetic (RFC 1982): always move forward, prefer the clock.
            serial: unix_now().max(old.serial.wrapping_add(1)),
            ..old.clone()
        },
        None => {
            let mname = p
                .zone
                .get(&RrKey::new(origin.clone(), RecordType::NS))
                .and_then(|ns| ns.values().first().map(ToString::to_string))
                .unwrap_or_else(|| format!("ns.{origin}"));
            Soa {
                ttl: s.default_ttl,
                mname,
                rname: s
                    .hostmaster
                    .clone()
                    .unwrap_or_else(|| format!("hostmaster.{origin}")),
                serial: unix_now(),
                refresh: 3600,
                retry: 600,
                expire: 604_800,
                minimum: 3600,
            }
        }
    };
    let mut out = String::with_capacity(64 * p.zone.record_count() + 256);
    let _ = writeln!(
        out,
        "; zone {origin} written by zonekeeper; edits here are replaced on the next apply"
    );
    let _ = writeln!(out, "$ORIGIN {origin}");
    let _ = writeln!(out, "$TTL {}", soa.ttl);
    let _ = writeln!(
        out,
        "@ {} IN SOA {} {} {} {} {} {} {}",
        soa.ttl, soa.mname, soa.rname, soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum
    );
    for (key, set) in &p.zone.rrsets {
        let owner = match key.name.relative_to(origin) {
            Some("") => "@".to_string(),
            Some(rel) => rel.to_string(),
            None => key.name.to_string(),
        };
        for v in set.values() {
            if rfc3597::generic_text(v).is_some() {
                // The generic form is unreadable; keep the presentation form as a comment.
                let _ = writeln!(out, "; {owner} {} {v}", key.rtype);
            }
            let _ = writeln!(out, "{}", dnswire::record_line(&owner, set.ttl, v));
        }
    }
    if !p.foreign.is_empty() {
        out.push_str("; records of types zonekeeper does not manage, kept as found\n");
        for line in &p.foreign {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Reads a zone file's records into the model (used by tests and `import`).
pub fn parse_text(text: &str, origin: &Fqdn) -> Result<Zone, String> {
    parse_zone_file(text, origin).map(|p| p.zone)
}

/// Renders a zone as a complete file, as `apply` would write it for a new zone.
pub fn render_text(zone: &Zone) -> String {
    let parsed = Parsed {
        zone: zone.clone(),
        soa: None,
        foreign: Vec::new(),
    };
    render_zone_file(
        &parsed,
        &ZonefileSettings {
            directory: PathBuf::new(),
            file_extension: default_extension(),
            hostmaster: None,
            default_ttl: default_ttl(),
        },
    )
}
