//! Desired x live -> the RRset changes that make live equal desired.

use std::cmp::Ordering;

use super::change::Change;
use crate::model::{RrKey, Zone};

/// Every change turning `live` into `desired`, skipping keys for which `ignored` is true
/// (those are left as they are on both sides). Walks both sorted maps once: O(n + m).
pub fn diff(desired: &Zone, live: &Zone, ignored: &dyn Fn(&RrKey) -> bool) -> Vec<Change> {
    let mut out = Vec::new();
    let mut d = desired.rrsets.iter().peekable();
    let mut l = live.rrsets.iter().peekable();
    loop {
        let ord = match (d.peek(), l.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((dk, _)), Some((lk, _))) => dk.cmp(lk),
        };
        match ord {
            Ordering::Less => {
                let (k, s) = d.next().expect("peeked");
                if !ignored(k) {
                    out.push(Change::Create {
                        key: k.clone(),
                        new: s.clone(),
                    });
                }
            }
            Ordering::Greater => {
                let (k, s) = l.next().expect("peeked");
                if !ignored(k) {
                    out.push(Change::Delete {
                        key: k.clone(),
                        old: s.clone(),
                    });
                }
            }
            Ordering::Equal => {
                let (k, ds) = d.next().expect("peeked");
                let (_, ls) = l.next().expect("peeked");
                if ds != ls && !ignored(k) {
                    out.push(Change::Update {
                        key: k.clone(),
                        old: ls.clone(),
                        new: ds.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Applies changes to a zone in memory (what a provider does to its store).
pub fn apply_to(zone: &mut Zone, changes: &[Change]) {
    for c in changes {
        match c {
            Change::Delete { key, .. } => {
                zone.remove(key);
            }
            Change::Create { key, new } | Change::Update { key, new, .. } => {
                zone.put(key.clone(), new.clone());
            }
        }
    }
}

/// Checks that `zone` is still in the state `changes` were planned from: a create finds no
/// RRset, an update or delete finds exactly the old one. Returns the first mismatch.
pub fn precondition_failure(zone: &Zone, changes: &[Change]) -> Option<String> {
    for c in changes {
        let current = zone.get(c.key());
        let ok = match c {
            Change::Create { .. } => current.is_none(),
            Change::Update { old, .. } | Change::Delete { old, .. } => current == Some(old),
        };
        if !ok {
            return Some(format!("{} is no longer as planned", c.key()));
        }
    }
    None
}
