//! octoDNS 1.22's processors that zonekeeper runs, as plain data and pure steps
//! (`octodns/processor/ownership.py`, `filter.py`, `restrict.py`).
//!
//! octoDNS runs a zone's processors, in order, at three points, and so does zonekeeper:
//! - on the desired zone once its sources are merged ([`Processors::process_source`],
//!   called where manifests become the desired zone, `controller::load`);
//! - on the live zone of each target before the diff ([`Processors::process_target`]),
//!   so a filtered live record is never deleted;
//! - on the changes ([`Processors::process_plan`]), before the thresholds, so the safety
//!   checks and the plan hash see the plan octoDNS would apply.
//!
//! The configuration (`config::octodns`) builds these values from octoDNS's file; options
//! zonekeeper does not implement are refused there.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::{Change, Skip};
use crate::model::rdata::Txt;
use crate::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};

/// A zone's processors in octoDNS's order: `manager.processors`, the zone's own,
/// `manager.post_processors`. Empty for zones of zonekeeper.yaml.
#[derive(Clone, Debug, Default)]
pub struct Processors(pub Vec<Processor>);

/// One processor: its name in the octoDNS file (`processors: {<id>: ...}`) and what it does.
#[derive(Clone, Debug)]
pub struct Processor {
    pub id: String,
    pub kind: Kind,
}

/// What a processor does (each variant is one octoDNS class, or a family of them).
#[derive(Clone, Debug)]
pub enum Kind {
    /// `octodns.processor.ownership.OwnershipProcessor`.
    Ownership(Ownership),
    /// `Type{Allow,Reject}listFilter`, `Name{Allow,Reject}listFilter`: records that match
    /// are kept (`allow`) or removed, from the desired zone and, with `include_target`
    /// (default true), from the live one.
    Filter {
        allow: bool,
        on: Match,
        include_target: bool,
    },
    /// `IgnoreRootNsFilter`: the apex NS is removed from the desired and the live zone.
    IgnoreRootNs,
    /// `ExcludeRootNsChanges`: a change to the apex NS refuses the plan (`error`, default
    /// true) or is left out of it.
    ExcludeRootNsChanges { error: bool },
    /// `ZoneNameFilter`: a record whose relative name ends with the zone's name (a name
    /// written in full without the trailing dot) is refused (`error`, default true) or
    /// removed; from the live zone too with `include_target`.
    ZoneName { error: bool, include_target: bool },
    /// `octodns.processor.restrict.TtlRestrictionFilter`: desired TTLs in `min..=max`, or
    /// in `allowed` when given (then min and max are not used).
    TtlRestriction {
        min: u64,
        max: u64,
        allowed: Option<BTreeSet<u64>>,
    },
}

/// What a filter compares.
#[derive(Clone, Debug)]
pub enum Match {
    /// Record type names as octoDNS writes them (`A`, `CNAME`), compared exactly.
    Types(BTreeSet<String>),
    /// Relative names (`''` is the apex): exact entries, and `/regex/` entries searched
    /// anywhere in the name (Python's `re.search`).
    Names(Patterns),
}

/// A name list: exact names and regular expressions.
#[derive(Clone, Debug, Default)]
pub struct Patterns {
    pub exact: BTreeSet<String>,
    pub regex: Vec<regex::Regex>,
}

/// `OwnershipProcessor`'s settings (its defaults in [`Ownership::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Ownership {
    /// Prefix of the marker names: `<txt_name>.<TYPE>.<name>` (`<txt_name>.<TYPE>` at the
    /// apex; `*` in a name written `_wildcard`).
    pub txt_name: String,
    /// The one value of our markers (plain text: no `\` or `;`, checked by the config).
    pub txt_value: String,
    /// Seconds.
    pub txt_ttl: u32,
    /// A marker replaces a desired TXT of the same name instead of being a duplicate.
    pub should_replace: bool,
    /// Take over records whose marker holds another value (someone else's).
    pub allow_takeover: bool,
}

impl Default for Ownership {
    fn default() -> Ownership {
        Ownership {
            txt_name: "_owner".into(),
            txt_value: "*octodns*".into(),
            txt_ttl: 60,
            should_replace: false,
            allow_takeover: false,
        }
    }
}

/// A processor refused the zone or the plan, as octoDNS raises it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("processor {processor:?}: {message}")]
pub struct ProcessError {
    pub processor: String,
    /// The record concerned, when there is one.
    pub key: Option<RrKey>,
    pub message: String,
}

/// What [`Processors::process_plan`] left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filtered {
    /// Changes to records not owned (ownership processors): left alone, as octoDNS does.
    pub unowned: usize,
}

impl Processors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The desired zone as octoDNS's `process_source_zone` leaves it: ownership markers
    /// added, filtered records removed.
    ///
    /// # Errors
    /// Every record a processor refuses (a duplicate marker, a TTL out of bounds, a name
    /// ending with the zone's name), or the first processor that refuses the zone.
    pub fn process_source(&self, zone: &mut Zone) -> Result<(), Vec<ProcessError>> {
        let mut errors = Vec::new();
        for p in &self.0 {
            let err = |key: &RrKey, message: String| ProcessError {
                processor: p.id.clone(),
                key: Some(key.clone()),
                message,
            };
            match &p.kind {
                Kind::Ownership(o) => o.add_markers(&p.id, zone, &mut errors),
                Kind::Filter { allow, on, .. } => filter(zone, *allow, on),
                Kind::IgnoreRootNs => {
                    zone.remove(&RrKey::new(zone.origin.clone(), RecordType::NS));
                }
                Kind::ExcludeRootNsChanges { .. } => {}
                Kind::ZoneName { error, .. } => {
                    if let Err(e) = zone_name(&p.id, zone, *error) {
                        errors.push(e);
                    }
                }
                Kind::TtlRestriction { min, max, allowed } => {
                    for (key, set) in &zone.rrsets {
                        let ttl = u64::from(set.ttl);
                        let why = match allowed {
                            Some(a) if !a.contains(&ttl) => Some(format!(
                                "{} ttl={ttl} not an allowed value, allowed_ttls={a:?}",
                                key.name
                            )),
                            Some(_) => None,
                            None if ttl < *min => {
                                Some(format!("{} ttl={ttl} too low, min_ttl={min}", key.name))
                            }
                            None if ttl > *max => {
                                Some(format!("{} ttl={ttl} too high, max_ttl={max}", key.name))
                            }
                            None => None,
                        };
                        if let Some(m) = why {
                            errors.push(err(key, format!("{m} (octoDNS's RestrictionException; zonekeeper does not honour a record's `lenient` here)")));
                        }
                    }
                }
            }
            // octoDNS stops at the first processor that raises.
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        Ok(())
    }

    /// The live zone as octoDNS's `process_target_zone` leaves it: records filtered out
    /// are not compared, so they are never changed or deleted.
    ///
    /// # Errors
    /// A live record a `ZoneNameFilter` with `error` refuses.
    pub fn process_target<'a>(&self, live: &'a Zone) -> Result<Cow<'a, Zone>, ProcessError> {
        let mut zone = Cow::Borrowed(live);
        for p in &self.0 {
            match &p.kind {
                // Copied only when something goes.
                Kind::Filter {
                    allow,
                    on,
                    include_target: true,
                } if zone
                    .rrsets
                    .keys()
                    .any(|k| matches(on, &zone.origin, k) != *allow) =>
                {
                    filter(zone.to_mut(), *allow, on);
                }
                Kind::IgnoreRootNs => {
                    let apex = RrKey::new(zone.origin.clone(), RecordType::NS);
                    if zone.get(&apex).is_some() {
                        zone.to_mut().remove(&apex);
                    }
                }
                Kind::ZoneName {
                    error,
                    include_target: true,
                } if zone.rrsets.keys().any(|k| ends_with_zone(&zone.origin, k)) => {
                    zone_name(&p.id, zone.to_mut(), *error)?;
                }
                _ => {}
            }
        }
        Ok(zone)
    }

    /// The changes as octoDNS's `process_plan` leaves them: `desired` is the desired zone
    /// the plan was made from, `existing` the live zone after [`Self::process_target`].
    /// Root NS changes an `ExcludeRootNsChanges` without `error` leaves out go to
    /// `skipped`.
    ///
    /// # Errors
    /// A foreign ownership marker on a record the plan would take over (without
    /// `allow_takeover`), a root NS change under `ExcludeRootNsChanges` with `error`.
    pub fn process_plan(
        &self,
        changes: &mut Vec<Change>,
        desired: &Zone,
        existing: &Zone,
        skipped: &mut Vec<Skip>,
    ) -> Result<Filtered, ProcessError> {
        let mut out = Filtered::default();
        for p in &self.0 {
            // Every plan processor starts with `if not plan`/`if plan`.
            if changes.is_empty() {
                break;
            }
            match &p.kind {
                Kind::Ownership(o) => {
                    out.unowned += o.filter_plan(&p.id, changes, desired, existing)?;
                }
                Kind::ExcludeRootNsChanges { error } => {
                    let origin = &desired.origin;
                    let root =
                        |c: &Change| c.key().rtype == RecordType::NS && c.key().name == *origin;
                    if let Some(c) = changes.iter().find(|c| root(c)) {
                        if *error {
                            return Err(ProcessError {
                                processor: p.id.clone(),
                                key: Some(c.key().clone()),
                                message: format!("{}: root NS changes are disallowed", origin),
                            });
                        }
                    }
                    changes.retain(|c| {
                        if root(c) {
                            skipped.push(Skip {
                                key: c.key().clone(),
                                reason: format!(
                                    "processor {:?} (ExcludeRootNsChanges): root NS changes are disallowed",
                                    p.id
                                ),
                            });
                            false
                        } else {
                            true
                        }
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// The relative name octoDNS uses (`''` at the apex).
fn relative<'a>(origin: &Fqdn, key: &'a RrKey) -> &'a str {
    key.name.relative_to(origin).unwrap_or(key.name.as_str())
}

fn matches(on: &Match, origin: &Fqdn, key: &RrKey) -> bool {
    match on {
        Match::Types(types) => types.contains(key.rtype.as_str()),
        Match::Names(p) => {
            let name = relative(origin, key);
            p.exact.contains(name) || p.regex.iter().any(|r| r.is_match(name))
        }
    }
}

/// Keeps the records that match (`allow`) or those that do not.
fn filter(zone: &mut Zone, allow: bool, on: &Match) {
    let origin = zone.origin.clone();
    zone.rrsets.retain(|k, _| matches(on, &origin, k) == allow);
}

/// octoDNS's `name.endswith(zone.name) or name.endswith(zone.name[:-1])`.
fn ends_with_zone(origin: &Fqdn, key: &RrKey) -> bool {
    let name = relative(origin, key);
    !name.is_empty() && name.ends_with(origin.without_dot())
}

fn zone_name(id: &str, zone: &mut Zone, error: bool) -> Result<(), ProcessError> {
    let origin = zone.origin.clone();
    if error {
        if let Some(k) = zone.rrsets.keys().find(|k| ends_with_zone(&origin, k)) {
            return Err(ProcessError {
                processor: id.to_string(),
                key: Some(k.clone()),
                message: format!("{}: record name ends with zone name", k.name),
            });
        }
    }
    zone.rrsets.retain(|k, _| !ends_with_zone(&origin, k));
    Ok(())
}

impl Ownership {
    fn marker_value(&self) -> RData {
        RData::Txt(Txt(self.txt_value.as_bytes().to_vec()))
    }

    /// `_is_ownership`: a TXT whose relative name starts with `txt_name` and whose only
    /// value is ours.
    fn is_ownership(&self, origin: &Fqdn, key: &RrKey, set: &RrSet) -> bool {
        self.is_ownership_name(origin, key) && set.values() == [self.marker_value()]
    }

    /// `_is_ownership_name`: any value (maybe someone else's marker).
    fn is_ownership_name(&self, origin: &Fqdn, key: &RrKey) -> bool {
        key.rtype == RecordType::TXT && relative(origin, key).starts_with(&self.txt_name)
    }

    /// `_decode_ownership_name`: the relative name and type a marker marks. `None` for a
    /// name of fewer than two labels (octoDNS fails on it with an IndexError).
    fn decode(origin: &Fqdn, key: &RrKey) -> Option<(String, String)> {
        let mut pieces = relative(origin, key).splitn(3, '.');
        let _ = pieces.next();
        let rtype = pieces.next()?.to_ascii_uppercase();
        let name = pieces
            .next()
            .map_or(String::new(), |n| n.replace("_wildcard", "*"));
        Some((name, rtype))
    }

    /// `process_source_zone`: a marker TXT per desired record (markers themselves aside).
    fn add_markers(&self, id: &str, zone: &mut Zone, errors: &mut Vec<ProcessError>) {
        let origin = zone.origin.clone();
        let keys: Vec<RrKey> = zone
            .rrsets
            .iter()
            .filter(|(k, s)| !self.is_ownership(&origin, k, s))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let rel = relative(&origin, &key).replace('*', "_wildcard");
            let name = if rel.is_empty() {
                format!("{}.{}", self.txt_name, key.rtype)
            } else {
                format!("{}.{}.{rel}", self.txt_name, key.rtype)
            };
            let err = |message: String| ProcessError {
                processor: id.to_string(),
                key: Some(key.clone()),
                message,
            };
            let fqdn = match Fqdn::parse_relative(&name, &origin) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(err(format!("ownership record {name:?}: {e}")));
                    continue;
                }
            };
            let marker = RrKey::new(fqdn, RecordType::TXT);
            if zone.get(&marker).is_some() && !self.should_replace {
                errors.push(err(format!(
                    "Duplicate record {}, type TXT: the ownership record of {key} is already in the zone (octoDNS's DuplicateRecordException; `should_replace: true` replaces it)",
                    marker.name
                )));
                continue;
            }
            zone.put(marker, RrSet::new(self.txt_ttl, vec![self.marker_value()]));
        }
    }

    /// `process_plan`: keeps the changes to owned records and to our markers; returns how
    /// many it left out.
    fn filter_plan(
        &self,
        id: &str,
        changes: &mut Vec<Change>,
        desired: &Zone,
        existing: &Zone,
    ) -> Result<usize, ProcessError> {
        let origin = &desired.origin;
        let mut owned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut foreign = Vec::new();
        for (k, s) in &existing.rrsets {
            if self.is_ownership(origin, k, s) {
                if let Some((n, t)) = Self::decode(origin, k) {
                    owned.entry(n).or_default().insert(t);
                }
            } else if !self.allow_takeover && self.is_ownership_name(origin, k) {
                foreign.push((k, s));
            }
        }
        for (k, s) in &desired.rrsets {
            if self.is_ownership(origin, k, s) {
                if let Some((n, t)) = Self::decode(origin, k) {
                    owned.entry(n).or_default().insert(t);
                }
            }
        }
        for (k, s) in foreign {
            let Some((n, t)) = Self::decode(origin, k) else {
                continue;
            };
            if owned.get(&n).is_some_and(|ts| ts.contains(&t)) {
                // Python's list repr, as octoDNS's message has it.
                let values: Vec<String> = s
                    .values()
                    .iter()
                    .map(|v| match v {
                        RData::Txt(t) => format!("'{}'", String::from_utf8_lossy(&t.0)),
                        other => format!("'{other}'"),
                    })
                    .collect();
                return Err(ProcessError {
                    processor: id.to_string(),
                    key: Some(k.clone()),
                    message: format!(
                        "refusing to take over {} {t}, owned by [{}], not ['{}']; set allow_takeover=true to override",
                        k.name,
                        values.join(", "),
                        self.txt_value
                    ),
                });
            }
        }
        let before = changes.len();
        changes.retain(|c| {
            let key = c.key();
            let record = c.new_set().or(c.old());
            let rel = relative(origin, key);
            record.is_some_and(|s| self.is_ownership(origin, key, s))
                || owned
                    .get(rel)
                    .is_some_and(|ts| ts.contains(key.rtype.as_str()))
                || rel == "octodns-meta"
        });
        Ok(before - changes.len())
    }
}
