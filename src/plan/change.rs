//! One change to one RRset, and the order changes are applied in.

use crate::model::{RecordType, RrKey, RrSet};

/// What a change does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// A change to one RRset. One enum, not parallel old/new lists: an update carries both.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Change {
    Create { key: RrKey, new: RrSet },
    Update { key: RrKey, old: RrSet, new: RrSet },
    Delete { key: RrKey, old: RrSet },
}

impl Change {
    pub fn key(&self) -> &RrKey {
        match self {
            Change::Create { key, .. }
            | Change::Update { key, .. }
            | Change::Delete { key, .. } => key,
        }
    }

    pub fn op(&self) -> Op {
        match self {
            Change::Create { .. } => Op::Create,
            Change::Update { .. } => Op::Update,
            Change::Delete { .. } => Op::Delete,
        }
    }

    /// The RRset before the change (`None` for a create).
    pub fn old(&self) -> Option<&RrSet> {
        match self {
            Change::Create { .. } => None,
            Change::Update { old, .. } | Change::Delete { old, .. } => Some(old),
        }
    }

    /// The RRset after the change (`None` for a delete).
    pub fn new_set(&self) -> Option<&RrSet> {
        match self {
            Change::Delete { .. } => None,
            Change::Create { new, .. } | Change::Update { new, .. } => Some(new),
        }
    }

    /// Sort key that makes a plan safe to apply in order on servers that check each step:
    /// every delete first (so a CNAME is gone before a record at its name is created, and
    /// the reverse), DS deleted before the NS it hangs under; then creates and updates with
    /// NS before DS (a DS needs its delegation).
    pub fn apply_order(&self) -> (u8, u8, &RrKey) {
        let rank = |t: RecordType, deleting: bool| match (t, deleting) {
            (RecordType::DS, true) | (RecordType::NS, false) => 0,
            (RecordType::NS, true) | (RecordType::DS, false) => 2,
            _ => 1,
        };
        match self {
            Change::Delete { key, .. } => (0, rank(key.rtype, true), key),
            Change::Create { key, .. } | Change::Update { key, .. } => {
                (1, rank(key.rtype, false), key)
            }
        }
    }
}

/// Sorts changes into [`Change::apply_order`].
pub fn sort_for_apply(changes: &mut [Change]) {
    changes.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
}
