//! RRsets: every value at one (name, type), with one TTL.

use std::sync::Arc;

use super::ext::RecordExt;
use super::name::Fqdn;
use super::rdata::RData;
use super::rtype::RecordType;

/// The identity of an RRset inside a zone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
pub struct RrKey {
    pub name: Fqdn,
    #[serde(rename = "type")]
    pub rtype: RecordType,
}

impl RrKey {
    pub fn new(name: Fqdn, rtype: RecordType) -> RrKey {
        RrKey { name, rtype }
    }
}

impl std::fmt::Display for RrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.rtype)
    }
}

/// Largest TTL RFC 2181 allows (2^31 - 1).
pub const MAX_TTL: u32 = 2_147_483_647;

/// The values of one RRset. Values are kept sorted and without duplicates, so two RRsets
/// with the same records compare equal however they were written.
///
/// `ext` holds the provider-specific settings of the RRset for the target it is planned for
/// (octoDNS `octodns: {<kind>: {...}}`); it is part of equality, so a changed setting is an
/// update. Behind an `Arc` so the common case (none) costs one pointer.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct RrSet {
    pub ttl: u32,
    values: Vec<RData>,
    ext: Option<Arc<RecordExt>>,
}

impl RrSet {
    /// Builds an RRset without provider settings; values are sorted and de-duplicated.
    pub fn new(ttl: u32, mut values: Vec<RData>) -> RrSet {
        values.sort_unstable();
        values.dedup();
        RrSet {
            ttl,
            values,
            ext: None,
        }
    }

    /// The same RRset with these provider settings (an empty block counts as none).
    pub fn with_ext(mut self, ext: Option<Arc<RecordExt>>) -> RrSet {
        self.set_ext(ext);
        self
    }

    /// Replaces the provider settings (an empty block counts as none).
    pub fn set_ext(&mut self, ext: Option<Arc<RecordExt>>) {
        self.ext = ext.filter(|e| !e.is_empty());
    }

    /// The provider settings, if any.
    pub fn ext(&self) -> Option<&RecordExt> {
        self.ext.as_deref()
    }

    /// The provider settings as shared (cheap to copy onto another RRset).
    pub fn ext_shared(&self) -> Option<&Arc<RecordExt>> {
        self.ext.as_ref()
    }

    pub fn values(&self) -> &[RData] {
        &self.values
    }

    pub fn into_values(self) -> Vec<RData> {
        self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// An RRset in the canonical JSON form the audit journal records it in:
/// `{"ttl": <u32>, "values": [<presentation format>, ...], "settings": {...}}`, values in the
/// RRset's sorted order, `settings` only when the RRset has provider settings. Two RRsets have
/// equal forms exactly when they are equal, so an RRset the journal recorded (its `before` or
/// `after`) is compared with a planned one through this form, never by parsing values back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CanonicalSet(serde_json::Value);

impl CanonicalSet {
    /// The form of `set` (what the journal writes for it).
    pub fn of(set: &RrSet) -> CanonicalSet {
        let values: Vec<String> = set.values().iter().map(ToString::to_string).collect();
        let mut v = serde_json::json!({"ttl": set.ttl, "values": values});
        if let Some(ext) = set.ext() {
            v["settings"] = ext.to_json();
        }
        CanonicalSet(v)
    }

    /// A form read back from the journal: `None` unless `v` is an object with a numeric
    /// `ttl` and a `values` array (the shape [`CanonicalSet::of`] writes).
    pub fn from_json(v: serde_json::Value) -> Option<CanonicalSet> {
        let ok = v.get("ttl").is_some_and(serde_json::Value::is_u64)
            && v.get("values").is_some_and(serde_json::Value::is_array);
        ok.then_some(CanonicalSet(v))
    }

    /// The JSON value itself.
    pub fn into_json(self) -> serde_json::Value {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExtValue;

    #[test]
    fn settings_take_part_in_equality_and_cost_one_pointer() {
        let plain = RrSet::new(60, vec![RData::A([192, 0, 2, 1].into())]);
        let on = |b| {
            Some(Arc::new(
                RecordExt::new().with("proxied", ExtValue::Bool(b)),
            ))
        };
        assert_ne!(plain.clone().with_ext(on(true)), plain);
        assert_ne!(
            plain.clone().with_ext(on(true)),
            plain.clone().with_ext(on(false))
        );
        assert_eq!(
            plain.clone().with_ext(on(true)),
            plain.clone().with_ext(on(true))
        );
        // An empty block is none.
        assert_eq!(
            plain.clone().with_ext(Some(Arc::new(RecordExt::new()))),
            plain
        );
        // The 100k-record benchmark holds every RRset in memory twice: one pointer more.
        assert!(std::mem::size_of::<RrSet>() <= std::mem::size_of::<Vec<RData>>() + 16);
    }
}
