//! Desired domain settings vs what the registrar reports -> a domain plan.
//!
//! Pure, like the zone planner: it sees the registrar only through its declared
//! [`RegistrarCaps`]. Every field the manifest sets is either in sync, a change, or
//! reported in [`DomainPlan::unsupported`] with the reason; none is dropped silently.

use std::fmt;

use crate::model::rdata::Ds;
use crate::model::{DomainField, DomainSettings, Fqdn};

/// What a registrar's API can do with one field.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FieldAccess {
    /// Neither read nor written (Namecheap's DS records).
    None,
    /// Reported but not changeable (Namecheap auto-renew, Cloudflare nameservers).
    ReadOnly,
    /// Changeable but not reported: zonekeeper cannot tell whether it differs, so it is
    /// reported as unsupported rather than written blindly on every run.
    WriteOnly,
    /// Read and written.
    #[default]
    ReadWrite,
}

impl FieldAccess {
    pub fn can_read(self) -> bool {
        matches!(self, FieldAccess::ReadOnly | FieldAccess::ReadWrite)
    }

    pub fn can_write(self) -> bool {
        matches!(self, FieldAccess::WriteOnly | FieldAccess::ReadWrite)
    }
}

/// A registrar's declared abilities, per field (see the registrar matrix in
/// `shared/provider-api-notes.md`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
pub struct RegistrarCaps {
    pub nameservers: FieldAccess,
    pub lock: FieldAccess,
    pub privacy: FieldAccess,
    pub auto_renew: FieldAccess,
    pub ds: FieldAccess,
}

impl RegistrarCaps {
    /// Every field read and written (the memory registrar's default).
    pub const EVERYTHING: RegistrarCaps = RegistrarCaps {
        nameservers: FieldAccess::ReadWrite,
        lock: FieldAccess::ReadWrite,
        privacy: FieldAccess::ReadWrite,
        auto_renew: FieldAccess::ReadWrite,
        ds: FieldAccess::ReadWrite,
    };

    /// The access declared for `field`.
    pub fn get(&self, field: DomainField) -> FieldAccess {
        match field {
            DomainField::Nameservers => self.nameservers,
            DomainField::Lock => self.lock,
            DomainField::Privacy => self.privacy,
            DomainField::AutoRenew => self.auto_renew,
            DomainField::Ds => self.ds,
        }
    }
}

/// One change to one field of a domain, with the value read and the value wanted.
/// Lists are sorted (see [`DomainSettings::normalize`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DomainChange {
    Nameservers { old: Vec<Fqdn>, new: Vec<Fqdn> },
    Lock { old: bool, new: bool },
    Privacy { old: bool, new: bool },
    AutoRenew { old: bool, new: bool },
    Ds { old: Vec<Ds>, new: Vec<Ds> },
}

/// A field's value as plan output shows it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FieldValue<'a> {
    Names(&'a [Fqdn]),
    Flag(bool),
    Ds(&'a [Ds]),
}

impl fmt::Display for FieldValue<'_> {
    /// Names and DS records in presentation format, separated by `, `; `(none)` for an
    /// empty list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = match self {
            FieldValue::Flag(b) => return write!(f, "{b}"),
            FieldValue::Names(n) => n.iter().map(ToString::to_string).collect(),
            FieldValue::Ds(d) => d.iter().map(ds_text).collect(),
        };
        if list.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&list.join(", "))
        }
    }
}

/// A DS record in presentation format (`2371 13 2 E2D3...`).
pub fn ds_text(d: &Ds) -> String {
    crate::model::RData::Ds(d.clone()).to_string()
}

impl DomainChange {
    pub fn field(&self) -> DomainField {
        match self {
            DomainChange::Nameservers { .. } => DomainField::Nameservers,
            DomainChange::Lock { .. } => DomainField::Lock,
            DomainChange::Privacy { .. } => DomainField::Privacy,
            DomainChange::AutoRenew { .. } => DomainField::AutoRenew,
            DomainChange::Ds { .. } => DomainField::Ds,
        }
    }

    /// The value read from the registrar.
    pub fn old(&self) -> FieldValue<'_> {
        match self {
            DomainChange::Nameservers { old, .. } => FieldValue::Names(old),
            DomainChange::Lock { old, .. }
            | DomainChange::Privacy { old, .. }
            | DomainChange::AutoRenew { old, .. } => FieldValue::Flag(*old),
            DomainChange::Ds { old, .. } => FieldValue::Ds(old),
        }
    }

    /// The value the manifest asks for.
    pub fn new_value(&self) -> FieldValue<'_> {
        match self {
            DomainChange::Nameservers { new, .. } => FieldValue::Names(new),
            DomainChange::Lock { new, .. }
            | DomainChange::Privacy { new, .. }
            | DomainChange::AutoRenew { new, .. } => FieldValue::Flag(*new),
            DomainChange::Ds { new, .. } => FieldValue::Ds(new),
        }
    }

    /// The change as one canonical line (the input of the plan hash).
    pub fn canonical(&self) -> String {
        format!("{} {} => {}", self.field(), self.old(), self.new_value())
    }
}

/// A field the manifest sets that this plan cannot carry out, and why.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct Unsupported {
    pub field: DomainField,
    pub reason: String,
}

/// The plan for one domain at its registrar.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DomainPlan {
    pub domain: Fqdn,
    /// The registrar's name in the configuration.
    pub registrar: String,
    /// When the registration ends, as the registrar reported it (shown, not hashed).
    pub expires: Option<std::time::SystemTime>,
    /// In apply order (see [`plan_domain`]).
    pub changes: Vec<DomainChange>,
    /// Fields the manifest sets that the registrar cannot read or change: reported, never
    /// silently ignored. They do not make the plan non-empty (there is nothing to apply).
    pub unsupported: Vec<Unsupported>,
    /// Why this plan must not be applied without `--force` (empty when safe).
    pub unsafe_reasons: Vec<String>,
}

impl DomainPlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// SHA-256 (hex) of this domain's canonical lines: the same text [`super::Plan::hash`]
    /// takes in, so one domain's reviewed plan can be pinned on its own.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        self.hash_into(&mut h);
        hex::encode(h.finalize())
    }

    pub(crate) fn hash_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest;
        h.update(format!(
            "domain {} registrar {}\n",
            self.domain, self.registrar
        ));
        for c in &self.changes {
            h.update(c.canonical());
            h.update(b"\n");
        }
    }
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

/// Plans one domain: for each field the manifest sets (`desired`), compares it with what
/// the registrar reported (`live`) under its declared `caps`.
///
/// - not readable (declared, or the registrar returned nothing): unsupported;
/// - equal: nothing;
/// - different and not writable: unsupported, with both values;
/// - different and writable: a change.
///
/// Apply order: a DS set being emptied goes first (DNSSEC off before the delegation
/// moves), then nameservers, then any other DS change (the new DS belongs to the new
/// servers' keys), then lock, privacy, auto-renew.
///
/// Unsafe (needs `--force`): a nameserver change that keeps none of the current
/// nameservers (the whole domain moves), and any DS change (a wrong DS makes every
/// validating resolver refuse the domain).
pub fn plan_domain(
    domain: &Fqdn,
    registrar: &str,
    desired: &DomainSettings,
    live: &DomainSettings,
    caps: &RegistrarCaps,
) -> DomainPlan {
    let mut changes = Vec::new();
    let mut unsupported = Vec::new();
    let mut check = |field: DomainField, differs: Option<bool>, values: String| -> bool {
        let access = caps.get(field);
        let reason = match differs {
            _ if !access.can_read() => Some(if access.can_write() {
                format!("registrar {registrar:?} can change {field} but cannot report it, so zonekeeper cannot tell whether it differs")
            } else {
                format!("registrar {registrar:?} can neither read nor change {field}")
            }),
            None => Some(format!("registrar {registrar:?} did not report {field}")),
            Some(false) => None,
            Some(true) if !access.can_write() => Some(format!(
                "registrar {registrar:?} cannot change {field} ({values})"
            )),
            Some(true) => return true,
        };
        if let Some(reason) = reason {
            unsupported.push(Unsupported { field, reason });
        }
        false
    };
    let flag = |d: bool, l: Option<bool>| {
        (
            l.map(|l| l != d),
            format!(
                "is {}, the manifest wants {d}",
                l.map_or("unknown".into(), |l| l.to_string())
            ),
        )
    };

    let mut ns_change = None;
    if let Some(want) = &desired.nameservers {
        let want = sorted(want);
        let have = live.nameservers.as_deref().map(sorted);
        let text = format!(
            "is {}, the manifest wants {}",
            have.as_deref()
                .map_or("unknown".into(), |h| FieldValue::Names(h).to_string()),
            FieldValue::Names(&want)
        );
        if check(
            DomainField::Nameservers,
            have.as_ref().map(|h| *h != want),
            text,
        ) {
            ns_change = Some(DomainChange::Nameservers {
                old: have.unwrap_or_default(),
                new: want,
            });
        }
    }
    let mut ds_change = None;
    if let Some(want) = &desired.ds {
        let want = sorted(want);
        let have = live.ds.as_deref().map(sorted);
        let text = format!(
            "is {}, the manifest wants {}",
            have.as_deref()
                .map_or("unknown".into(), |h| FieldValue::Ds(h).to_string()),
            FieldValue::Ds(&want)
        );
        if check(DomainField::Ds, have.as_ref().map(|h| *h != want), text) {
            ds_change = Some(DomainChange::Ds {
                old: have.unwrap_or_default(),
                new: want,
            });
        }
    }
    let mut flags = Vec::new();
    for (field, d, l, make) in [
        (
            DomainField::Lock,
            desired.lock,
            live.lock,
            (|old, new| DomainChange::Lock { old, new }) as fn(bool, bool) -> DomainChange,
        ),
        (
            DomainField::Privacy,
            desired.privacy,
            live.privacy,
            |old, new| DomainChange::Privacy { old, new },
        ),
        (
            DomainField::AutoRenew,
            desired.auto_renew,
            live.auto_renew,
            |old, new| DomainChange::AutoRenew { old, new },
        ),
    ] {
        let Some(d) = d else { continue };
        let (differs, text) = flag(d, l);
        if check(field, differs, text) {
            // `differs` is Some only when `l` is.
            flags.push(make(l.unwrap_or(!d), d));
        }
    }

    let ds_off = matches!(&ds_change, Some(DomainChange::Ds { new, .. }) if new.is_empty());
    if ds_off {
        changes.extend(ds_change.take());
    }
    changes.extend(ns_change);
    changes.extend(ds_change);
    changes.extend(flags);

    let mut unsafe_reasons = Vec::new();
    // The `-`/`+` lines show the values; the reasons say why they need a human.
    for c in &changes {
        match c {
            DomainChange::Nameservers { old, new }
                if !old.is_empty() && !old.iter().any(|o| new.contains(o)) =>
            {
                unsafe_reasons.push(
                    "every current nameserver is replaced: the whole domain's delegation moves"
                        .into(),
                );
            }
            DomainChange::Ds { .. } => unsafe_reasons.push(
                "the DS set at the registry changes: a wrong DS makes the domain fail DNSSEC validation"
                    .into(),
            ),
            _ => {}
        }
    }
    DomainPlan {
        domain: domain.clone(),
        registrar: registrar.to_string(),
        expires: None,
        changes,
        unsupported,
        unsafe_reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Fqdn {
        Fqdn::parse(s).unwrap()
    }

    fn ds(tag: u16) -> Ds {
        Ds {
            key_tag: tag,
            algorithm: 13,
            digest_type: 2,
            digest: "ab".repeat(32),
        }
    }

    fn live() -> DomainSettings {
        DomainSettings {
            nameservers: Some(vec![n("ns1.old.net"), n("ns2.old.net")]),
            lock: Some(true),
            privacy: Some(false),
            auto_renew: Some(false),
            ds: Some(vec![]),
        }
    }

    #[test]
    fn unmanaged_and_equal_fields_plan_nothing() {
        let d = n("example.com");
        let p = plan_domain(
            &d,
            "r",
            &DomainSettings::default(),
            &live(),
            &RegistrarCaps::EVERYTHING,
        );
        assert!(p.is_empty() && p.unsupported.is_empty() && p.unsafe_reasons.is_empty());
        // Same set in another order is in sync.
        let want = DomainSettings {
            nameservers: Some(vec![n("ns2.old.net"), n("ns1.old.net")]),
            lock: Some(true),
            ds: Some(vec![]),
            ..DomainSettings::default()
        };
        let p = plan_domain(&d, "r", &want, &live(), &RegistrarCaps::EVERYTHING);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn changes_in_apply_order_and_safety() {
        let d = n("example.com");
        let want = DomainSettings {
            nameservers: Some(vec![n("ns1.new.net"), n("ns2.new.net")]),
            lock: Some(false),
            privacy: Some(true),
            auto_renew: Some(true),
            ds: Some(vec![ds(1)]),
        };
        let p = plan_domain(&d, "r", &want, &live(), &RegistrarCaps::EVERYTHING);
        let fields: Vec<DomainField> = p.changes.iter().map(DomainChange::field).collect();
        assert_eq!(
            fields,
            [
                DomainField::Nameservers,
                DomainField::Ds,
                DomainField::Lock,
                DomainField::Privacy,
                DomainField::AutoRenew
            ]
        );
        assert_eq!(
            p.changes[2],
            DomainChange::Lock {
                old: true,
                new: false
            }
        );
        assert_eq!(p.unsafe_reasons.len(), 2, "{:?}", p.unsafe_reasons);
        assert!(p.unsafe_reasons[0].contains("every current nameserver"));
        assert!(p.unsafe_reasons[1].contains("DS set"));

        // Keeping one current nameserver is safe; emptying the DS set goes first.
        let mut have = live();
        have.ds = Some(vec![ds(1)]);
        let want = DomainSettings {
            nameservers: Some(vec![n("ns1.old.net"), n("ns3.new.net")]),
            ds: Some(vec![]),
            ..DomainSettings::default()
        };
        let p = plan_domain(&d, "r", &want, &have, &RegistrarCaps::EVERYTHING);
        assert_eq!(p.changes[0].field(), DomainField::Ds);
        assert_eq!(p.changes[1].field(), DomainField::Nameservers);
        assert_eq!(p.unsafe_reasons.len(), 1, "{:?}", p.unsafe_reasons);
        assert!(p.unsafe_reasons[0].contains("DS"));
    }

    #[test]
    fn capabilities_are_honoured_and_gaps_reported() {
        let d = n("example.com");
        let caps = RegistrarCaps {
            nameservers: FieldAccess::ReadOnly,
            lock: FieldAccess::WriteOnly,
            privacy: FieldAccess::None,
            auto_renew: FieldAccess::ReadOnly,
            ds: FieldAccess::ReadWrite,
        };
        let mut have = live();
        have.ds = None; // readable by declaration, but the registrar returned nothing
        let want = DomainSettings {
            nameservers: Some(vec![n("ns1.new.net")]),
            lock: Some(false),
            privacy: Some(true),
            auto_renew: Some(false), // read-only but already equal: in sync
            ds: Some(vec![ds(1)]),
        };
        let p = plan_domain(&d, "gandi", &want, &have, &caps);
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        let got: Vec<(DomainField, &str)> = p
            .unsupported
            .iter()
            .map(|u| (u.field, u.reason.as_str()))
            .collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].0, DomainField::Nameservers);
        assert!(got[0].1.contains("cannot change nameservers (is ns1.old.net., ns2.old.net., the manifest wants ns1.new.net.)"), "{}", got[0].1);
        assert_eq!(got[1].0, DomainField::Ds);
        assert!(got[1].1.contains("did not report ds"));
        assert_eq!(got[2].0, DomainField::Lock);
        assert!(got[2].1.contains("cannot report it"));
        assert_eq!(got[3].0, DomainField::Privacy);
        assert!(got[3].1.contains("neither read nor change"));
    }

    #[test]
    fn hash_covers_changes_only() {
        let d = n("example.com");
        let want = DomainSettings {
            lock: Some(false),
            ..DomainSettings::default()
        };
        let a = plan_domain(&d, "r", &want, &live(), &RegistrarCaps::EVERYTHING);
        let mut b = a.clone();
        b.expires = Some(std::time::SystemTime::UNIX_EPOCH);
        assert_eq!(a.hash(), b.hash());
        let want = DomainSettings {
            lock: Some(false),
            privacy: Some(true),
            ..DomainSettings::default()
        };
        let c = plan_domain(&d, "r", &want, &live(), &RegistrarCaps::EVERYTHING);
        assert_ne!(a.hash(), c.hash());
        assert_eq!(c.changes[1].canonical(), "privacy false => true");
    }
}
