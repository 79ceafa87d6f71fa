//! Desired vs live -> a reviewed, hashable plan of RRset changes.
//!
//! Pure: no IO, no async, no providers (only their declared [`Capabilities`]), no metrics.
//! Steps, in order: fit the desired zone to the target, diff, apply the policy, check safety.
//! Safety may be given the zone's most recent apply ([`LastApply`], from the audit journal;
//! the planner never reads it): a plan that undoes all of that apply does not count those
//! changes toward the thresholds.

pub mod caps;
pub mod change;
pub mod diff;
pub mod domain;
pub mod process;
pub mod render;
pub mod rules;

use std::borrow::Cow;
use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

pub use caps::{BatchLimit, Capabilities, Granularity, NameGap, ValueGap};
pub use change::{sort_for_apply, Change, Op};
pub use domain::{plan_domain, DomainChange, DomainPlan, FieldAccess, RegistrarCaps};
pub use process::Processors;
pub use rules::{IgnoreRule, IgnoreSet, Policy, Thresholds};

use crate::model::{CanonicalSet, Fqdn, RecordType, RrKey, RrSet, Zone};

/// A desired record the plan leaves out, and why.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct Skip {
    #[serde(flatten)]
    pub key: RrKey,
    pub reason: String,
}

/// Why a plan must not be applied without `--force` (octoDNS's safety checks, plus the
/// ones zonekeeper adds). `Display` is the sentence plans and logs show.
#[derive(Clone, PartialEq, Debug)]
pub enum UnsafeReason {
    /// Too large a share of an established zone's RRsets updated or deleted.
    TooMany {
        op: Op,
        count: usize,
        existing: usize,
        /// `count` as a percentage of `existing`.
        pct: f64,
        /// The zone's threshold, in percent.
        limit: f64,
    },
    /// The apex NS RRset changes or goes: the delegation of the whole zone.
    ApexNs,
    /// The manifest holds nothing for this target, so every managed RRset would go.
    EmptiesZone { existing: usize },
    /// An address RRset is deleted while an NS RRset that stays in the zone (the apex's or
    /// a delegation's, managed or not) still names its owner: the name server would be
    /// left without an address.
    OrphansNameServer {
        /// The A or AAAA RRset deleted.
        address: RrKey,
        /// The owner of the NS RRset that keeps naming it.
        ns_owner: Fqdn,
    },
}

impl std::fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnsafeReason::TooMany {
                op,
                count,
                existing,
                pct,
                limit,
            } => write!(
                f,
                "too many {}s: {count} of {existing} existing RRsets ({pct:.1}% > {limit}%)",
                op.as_str()
            ),
            UnsafeReason::ApexNs => {
                f.write_str("the apex NS RRset changes (delegation of the whole zone)")
            }
            UnsafeReason::EmptiesZone { existing } => write!(
                f,
                "the manifest has no records for this target: this would delete all {existing} managed RRsets"
            ),
            UnsafeReason::OrphansNameServer { address, ns_owner } => write!(
                f,
                "{address} is deleted but the NS RRset of {ns_owner} still names {}: that name server would have no address",
                address.name
            ),
        }
    }
}

/// Why a whole target is skipped: nothing is written to it, whatever the changes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BlockReason {
    /// The zone does not exist on the target and the target cannot create zones
    /// ([`Capabilities::creates_zones`] is false): it must be created there first.
    ZoneMissing,
    /// An octoDNS processor refused this plan, where octoDNS raises and writes nothing
    /// (someone else's ownership marker, a root NS change under `ExcludeRootNsChanges`).
    Refused(process::ProcessError),
}

impl BlockReason {
    /// A short stable code (`zone-missing`, `processor-refused`) for JSON and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            BlockReason::ZoneMissing => "zone-missing",
            BlockReason::Refused(_) => "processor-refused",
        }
    }

    /// What a user reads in a plan.
    pub fn message(&self) -> String {
        match self {
            BlockReason::ZoneMissing => {
                "the zone does not exist on the target, which cannot create zones: create it there first".into()
            }
            BlockReason::Refused(e) => format!("refused by octoDNS {e}"),
        }
    }
}

impl serde::Serialize for BlockReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl serde::Serialize for UnsafeReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for BlockReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// The most recent apply of one zone on one target, as the planner needs it: each RRset
/// that apply changed, as it was before (the caller finds it, e.g. in the audit journal).
#[derive(Clone, PartialEq, Debug, Default)]
pub struct LastApply {
    /// The revision (commit id, or `local`) that apply came from.
    pub revision: String,
    /// Each RRset the apply changed, in its canonical form before the apply (`None`: the
    /// RRset did not exist).
    pub before: BTreeMap<RrKey, Option<CanonicalSet>>,
}

impl LastApply {
    /// True when `change` leaves its RRset exactly as it was before the last apply:
    /// re-creating what it deleted, deleting what it created, updating back to the value
    /// it replaced (TTL and provider settings included).
    pub fn undoes(&self, change: &Change) -> bool {
        match self.before.get(change.key()) {
            None => false,
            Some(before) => before.as_ref() == change.new_set().map(CanonicalSet::of).as_ref(),
        }
    }

    /// The changes of `changes` (a plan against `live`) that undo this apply, when the
    /// plan undoes all of it: every RRset the apply changed is, after the plan, as it was
    /// before the apply (changed back by the plan, or already so live). `None` for a
    /// partial undo.
    pub fn undone_by(&self, changes: &[Change], live: &Zone) -> Option<Vec<RrKey>> {
        let planned: BTreeMap<&RrKey, &Change> = changes.iter().map(|c| (c.key(), c)).collect();
        let whole = self
            .before
            .iter()
            .all(|(key, before)| match planned.get(key) {
                Some(c) => self.undoes(c),
                None => before.as_ref() == live.get(key).map(CanonicalSet::of).as_ref(),
            });
        whole.then(|| {
            changes
                .iter()
                .filter(|c| self.before.contains_key(c.key()))
                .map(|c| c.key().clone())
                .collect()
        })
    }
}

/// The changes of a plan that undo all of the zone's most recent apply: not counted toward
/// the thresholds (see [`plan_zone`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Undo {
    /// The revision whose apply they undo.
    pub revision: String,
    /// The RRsets changed back, in apply order.
    pub keys: Vec<RrKey>,
}

/// Everything the planner needs for one zone on one target.
pub struct PlanInput<'a> {
    pub target: &'a str,
    /// The desired zone for this target.
    pub desired: &'a Zone,
    /// The zone as the provider reports it.
    pub live: &'a Zone,
    /// False when the provider has no such zone yet.
    pub live_exists: bool,
    /// Keys that are not managed (ignore rules, `octodns: {ignored: true}`).
    pub unmanaged: &'a dyn Fn(&RrKey) -> bool,
    pub caps: &'a Capabilities,
    /// Rewrites a desired RRset into the form the target stores (`Provider::normalize`);
    /// its notes become the plan's adjustments. `&|_, _| None` keeps everything as given.
    pub normalize: &'a dyn Fn(&RrKey, &mut RrSet) -> Option<String>,
    pub policy: Policy,
    pub thresholds: Thresholds,
    /// The most recent apply of this zone on this target, when known: a plan that undoes
    /// all of it does not count those changes toward the thresholds. `None` counts every
    /// change.
    pub last_apply: Option<&'a LastApply>,
    /// The zone's octoDNS processors: their target side filters `live` before the diff,
    /// their plan side the changes before the thresholds (the source side already ran on
    /// `desired`).
    pub processors: &'a Processors,
}

/// The plan for one zone on one target.
#[derive(Clone, Debug)]
pub struct ZonePlan {
    pub zone: Fqdn,
    pub target: String,
    pub policy: Policy,
    pub live_exists: bool,
    /// Managed RRsets that exist live (the base for the safety percentages).
    pub existing: usize,
    /// In apply order.
    pub changes: Vec<Change>,
    pub skipped: Vec<Skip>,
    /// Notes on values adjusted to fit the target (e.g. a TTL raised to its minimum).
    pub adjustments: Vec<String>,
    /// Why this plan must not be applied without `--force` (empty when safe).
    pub unsafe_reasons: Vec<UnsafeReason>,
    /// Set when the whole target is skipped: `changes` still shows what the zone would get,
    /// but nothing is written ([`ZonePlan::writes`] is false).
    pub blocked: Option<BlockReason>,
    /// The changes that undo the zone's most recent apply, when the plan undoes all of it
    /// (and that takes a change): they were not counted toward the thresholds. Part of the
    /// hash.
    pub undo: Option<Undo>,
    /// Changes left out because an ownership processor does not own their records
    /// (octoDNS drops them silently; the plan says how many).
    pub unowned: usize,
}

impl ZonePlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn count(&self, op: Op) -> usize {
        self.changes.iter().filter(|c| c.op() == op).count()
    }

    /// True when applying would write (changes present, the policy allows writing and the
    /// target is not blocked).
    pub fn writes(&self) -> bool {
        !self.changes.is_empty() && self.policy != Policy::Warn && self.blocked.is_none()
    }
}

/// Plans one zone for one target.
pub fn plan_zone(input: &PlanInput) -> ZonePlan {
    let origin = &input.desired.origin;
    let mut skipped = Vec::new();
    let mut adjustments = Vec::new();
    let fitted = fit(
        input.desired,
        input.caps,
        input.normalize,
        &mut skipped,
        &mut adjustments,
    );
    // The apex NS is only managed when the manifest declares it (as octoDNS does): a zone
    // file without one must never plan the delegation of the whole zone away.
    let apex_ns = RrKey::new(origin.clone(), RecordType::NS);
    let manage_apex_ns = input.caps.root_ns && fitted.get(&apex_ns).is_some();
    let unmanaged = |k: &RrKey| (input.unmanaged)(k) || (!manage_apex_ns && *k == apex_ns);
    // octoDNS's `process_target_zone`: what a processor filters out of the live zone is
    // neither compared nor counted, so it is never changed or deleted.
    let mut refused = None;
    let live = input
        .processors
        .process_target(input.live)
        .unwrap_or_else(|e| {
            refused = Some(e);
            Cow::Borrowed(input.live)
        });
    let live: &Zone = &live;
    let mut changes = diff::diff(&fitted, live, &unmanaged);

    if input.policy == Policy::UpsertOnly {
        changes.retain(|c| {
            if c.op() == Op::Delete {
                skipped.push(Skip {
                    key: c.key().clone(),
                    reason: "policy upsert-only: live RRset not in the manifest is kept".into(),
                });
                false
            } else {
                true
            }
        });
    }
    // octoDNS's `process_plan`, before the thresholds: they and the hash see the plan
    // that would be applied. A refusal keeps the changes, for the reviewer to see.
    let mut unowned = 0;
    if refused.is_none() && !input.processors.is_empty() {
        let mut kept = changes.clone();
        match input
            .processors
            .process_plan(&mut kept, &fitted, live, &mut skipped)
        {
            Ok(f) => {
                unowned = f.unowned;
                changes = kept;
            }
            Err(e) => refused = Some(e),
        }
    }
    sort_for_apply(&mut changes);

    let existing = live.rrsets.keys().filter(|k| !unmanaged(k)).count();
    // Only a whole undo: were a partial one enough, the apply that first fills a zone
    // would leave all but one of its records deletable by the next commit without a
    // human, for as long as no other apply came.
    let undo = input.last_apply.and_then(|last| {
        let keys = last.undone_by(&changes, live)?;
        (!keys.is_empty()).then(|| Undo {
            revision: last.revision.clone(),
            keys,
        })
    });
    let undone: std::collections::BTreeSet<&RrKey> = undo.iter().flat_map(|u| &u.keys).collect();
    let is_undo = |c: &Change| undone.contains(c.key());
    let mut unsafe_reasons = safety(origin, &changes, &is_undo, existing, &input.thresholds);
    // Waived for undos: the percentages only (`safety`). Kept for every plan:
    // - emptying the zone: restoring the state before the last apply can never empty a zone
    //   that held managed records then, so a waiver would only ever let through a plan that
    //   removes everything the last apply put into an empty zone: the manifest that lost
    //   every record for this target, which is exactly what this check is for;
    // - the apex NS and orphaned name servers (in `safety` and below): they protect the
    //   delegation, and the parent's NS and glue may already follow the last apply, so
    //   changing it back breaks resolution as surely as changing it did.
    // Thresholds spare small zones; an empty desired zone must never empty a live one.
    let desired_managed = fitted.rrsets.keys().filter(|k| !unmanaged(k)).count();
    if desired_managed == 0 && existing > 0 && changes.iter().any(|c| c.op() == Op::Delete) {
        unsafe_reasons.push(UnsafeReason::EmptiesZone { existing });
    }
    unsafe_reasons.extend(orphaned_name_servers(input.live, &changes));
    // A missing zone the target cannot create: the target is skipped as a whole, not a
    // pile of NotFound errors at write time.
    let blocked = refused.map(BlockReason::Refused).or_else(|| {
        (!input.live_exists && !input.caps.creates_zones).then_some(BlockReason::ZoneMissing)
    });
    ZonePlan {
        zone: origin.clone(),
        target: input.target.to_string(),
        policy: input.policy,
        live_exists: input.live_exists,
        existing,
        changes,
        skipped,
        adjustments,
        unsafe_reasons,
        blocked,
        undo,
        unowned,
    }
}

/// Fits the desired zone to what the target can store: unsupported types and (where not
/// allowed) the apex NS are skipped with a reason; each RRset is normalised by the provider
/// (settings it does not store dropped, ...); TTLs are clamped into the target's range.
fn fit<'a>(
    desired: &'a Zone,
    caps: &Capabilities,
    normalize: &dyn Fn(&RrKey, &mut RrSet) -> Option<String>,
    skipped: &mut Vec<Skip>,
    adjustments: &mut Vec<String>,
) -> Cow<'a, Zone> {
    let fits = |k: &RrKey, s: &RrSet| {
        caps.types.contains(&k.rtype)
            && caps.value_gap(k.rtype, s).is_none()
            && caps.name_gap(&k.name).is_none()
            && s.ttl >= caps.ttl_min
            && s.ttl <= caps.ttl_max
            && (caps.root_ns || k.rtype != RecordType::NS || k.name != desired.origin)
            && {
                // Unchanged by the provider: a trial copy, dropped at once.
                let mut t = s.clone();
                normalize(k, &mut t).is_none() && t == *s
            }
    };
    if desired.rrsets.iter().all(|(k, s)| fits(k, s)) {
        return Cow::Borrowed(desired);
    }
    let mut out = Zone::new(desired.origin.clone());
    for (key, set) in &desired.rrsets {
        if !caps.types.contains(&key.rtype) {
            skipped.push(Skip {
                key: key.clone(),
                reason: format!("the target cannot store {} records", key.rtype),
            });
            continue;
        }
        if let Some(gap) = caps.name_gap(&key.name) {
            skipped.push(Skip {
                key: key.clone(),
                reason: gap.reason.to_string(),
            });
            continue;
        }
        if let Some(gap) = caps.value_gap(key.rtype, set) {
            skipped.push(Skip {
                key: key.clone(),
                reason: gap.reason.to_string(),
            });
            continue;
        }
        if key.rtype == RecordType::NS && key.name == desired.origin && !caps.root_ns {
            skipped.push(Skip {
                key: key.clone(),
                reason: "the target manages the apex NS itself".into(),
            });
            continue;
        }
        let mut set = set.clone();
        if let Some(note) = normalize(key, &mut set) {
            adjustments.push(note);
        }
        let ttl = set.ttl.clamp(caps.ttl_min, caps.ttl_max);
        if ttl != set.ttl {
            adjustments.push(format!(
                "{key}: TTL {} is outside the target's range {}..={}, using {ttl}",
                set.ttl, caps.ttl_min, caps.ttl_max
            ));
            set.ttl = ttl;
        }
        out.put(key.clone(), set);
    }
    Cow::Owned(out)
}

/// octoDNS's safety checks: too large a share of an established zone updated or deleted,
/// or the apex NS changed. Changes `is_undo` says undo the zone's most recent apply are not
/// counted toward the percentages (the base, `existing`, stays the live zone): going back
/// to what was served before the last apply is not the mass change the thresholds stop.
fn safety(
    origin: &Fqdn,
    changes: &[Change],
    is_undo: &dyn Fn(&Change) -> bool,
    existing: usize,
    t: &Thresholds,
) -> Vec<UnsafeReason> {
    let mut reasons = Vec::new();
    // The other changes are judged against the zone as the undo leaves it, not as the last
    // apply left it: padding a zone with junk in one commit and then deleting the junk (an
    // undo) with most of the real RRsets in the next must not dilute the percentages.
    let undone = |op: Op| {
        changes
            .iter()
            .filter(|c| c.op() == op && is_undo(c))
            .count()
    };
    let existing = (existing + undone(Op::Create)).saturating_sub(undone(Op::Delete));
    if existing >= t.min_records && existing > 0 {
        for (op, limit) in [(Op::Update, t.update_pct), (Op::Delete, t.delete_pct)] {
            let n = changes
                .iter()
                .filter(|c| c.op() == op && !is_undo(c))
                .count();
            let pct = n as f64 * 100.0 / existing as f64;
            if pct > limit {
                reasons.push(UnsafeReason::TooMany {
                    op,
                    count: n,
                    existing,
                    pct,
                    limit,
                });
            }
        }
    }
    // Undos included: see `plan_zone`.
    if changes
        .iter()
        .any(|c| c.op() != Op::Create && c.key().rtype == RecordType::NS && &c.key().name == origin)
    {
        reasons.push(UnsafeReason::ApexNs);
    }
    reasons
}

/// Address RRsets the plan deletes whose owner an NS RRset still names after the plan (one
/// left alone, or one the plan writes with that name kept).
fn orphaned_name_servers(live: &Zone, changes: &[Change]) -> Vec<UnsafeReason> {
    let deleted: Vec<&RrKey> = changes
        .iter()
        .filter(|c| {
            c.op() == Op::Delete && matches!(c.key().rtype, RecordType::A | RecordType::AAAA)
        })
        .map(Change::key)
        .collect();
    if deleted.is_empty() {
        return Vec::new();
    }
    // NS RRsets as they stand after the plan: changed ones in their new form, the rest live.
    let changed = |k: &RrKey| changes.iter().find(|c| c.key() == k);
    let after = live
        .rrsets
        .iter()
        .filter(|(k, _)| k.rtype == RecordType::NS)
        .filter_map(|(k, s)| match changed(k) {
            Some(c) => c.new_set().map(|n| (k, n)),
            None => Some((k, s)),
        })
        .chain(changes.iter().filter_map(|c| match c {
            Change::Create { key, new } if key.rtype == RecordType::NS => Some((key, new)),
            _ => None,
        }));
    let mut reasons = Vec::new();
    for (ns_key, set) in after {
        for addr in &deleted {
            let named = set
                .values()
                .iter()
                .any(|v| matches!(v, crate::model::RData::Ns(t) if *t == addr.name));
            if named {
                reasons.push(UnsafeReason::OrphansNameServer {
                    address: (*addr).clone(),
                    ns_owner: ns_key.name.clone(),
                });
            }
        }
    }
    reasons
}

/// Every zone's and every domain's plan for one run.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub zones: Vec<ZonePlan>,
    /// Registrar settings of the domains with manifests (`domains/<name>.yaml`), by name.
    pub domains: Vec<DomainPlan>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.zones.iter().all(ZonePlan::is_empty) && self.domains.iter().all(DomainPlan::is_empty)
    }

    /// Changes in zones and domains.
    pub fn change_count(&self) -> usize {
        self.zones.iter().map(|z| z.changes.len()).sum::<usize>()
            + self.domains.iter().map(|d| d.changes.len()).sum::<usize>()
    }

    /// SHA-256 of the plan's canonical text (zones, which of their changes undo the last
    /// apply when any do, and changes in apply order; then domains and their changes). The
    /// same manifests against the same live state and journal always give the same hash, so
    /// a reviewed plan can be pinned with `apply --plan-hash`.
    /// Plans without changes add nothing, so a plan without domain changes hashes as
    /// before domains existed.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for z in &self.zones {
            if z.changes.is_empty() {
                continue;
            }
            h.update(format!("zone {} target {}\n", z.zone, z.target));
            if let Some(b) = &z.blocked {
                // A plan reviewed while blocked must not authorise a write once unblocked.
                h.update(format!("blocked {}\n", b.as_str()));
            }
            if let Some(u) = &z.undo {
                // Which changes escaped the thresholds is part of what was reviewed.
                h.update(format!("undo {}\n", u.revision));
                for k in &u.keys {
                    h.update(format!("undoes {} {}\n", k.name, k.rtype));
                }
            }
            let mut line = String::new();
            for c in &z.changes {
                line.clear();
                render::canonical_change_into(&mut line, c);
                line.push('\n');
                h.update(line.as_bytes());
            }
        }
        for d in self.domains.iter().filter(|d| !d.is_empty()) {
            d.hash_into(&mut h);
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests;
