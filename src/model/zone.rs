//! A zone: its origin and its RRsets, plus the checks that need the whole zone.

use std::collections::BTreeMap;

use super::name::Fqdn;
use super::rrset::{RrKey, RrSet};
use super::rtype::RecordType;

/// A zone's RRsets keyed by (name, type). Every name is inside `origin`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Zone {
    pub origin: Fqdn,
    pub rrsets: BTreeMap<RrKey, RrSet>,
}

/// A problem found by [`Zone::check`]: the RRset it concerns and why.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ZoneProblem {
    pub key: RrKey,
    pub reason: String,
}

impl Zone {
    pub fn new(origin: Fqdn) -> Zone {
        Zone {
            origin,
            rrsets: BTreeMap::new(),
        }
    }

    /// Number of RRsets.
    pub fn len(&self) -> usize {
        self.rrsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }

    /// Number of individual records (values) across all RRsets.
    pub fn record_count(&self) -> usize {
        self.rrsets.values().map(RrSet::len).sum()
    }

    pub fn get(&self, key: &RrKey) -> Option<&RrSet> {
        self.rrsets.get(key)
    }

    /// Inserts or replaces an RRset; an empty one removes the key.
    pub fn put(&mut self, key: RrKey, set: RrSet) {
        if set.is_empty() {
            self.rrsets.remove(&key);
        } else {
            self.rrsets.insert(key, set);
        }
    }

    pub fn remove(&mut self, key: &RrKey) -> Option<RrSet> {
        self.rrsets.remove(key)
    }

    /// Checks that need more than one RRset: CNAME exclusivity, apex rules, single-value
    /// types, names outside the zone. Returns every problem, not just the first.
    pub fn check(&self) -> Vec<ZoneProblem> {
        let mut problems = Vec::new();
        let mut prev_name: Option<&Fqdn> = None;
        let mut types_at_name: Vec<&RrKey> = Vec::new();
        let flush = |keys: &mut Vec<&RrKey>, problems: &mut Vec<ZoneProblem>| {
            if keys.len() > 1 {
                for k in keys.iter().filter(|k| k.rtype == RecordType::CNAME) {
                    let others: Vec<&str> = keys
                        .iter()
                        .filter(|o| o.rtype != RecordType::CNAME)
                        .map(|o| o.rtype.as_str())
                        .collect();
                    problems.push(ZoneProblem {
                        key: (*k).clone(),
                        reason: format!(
                            "a CNAME cannot coexist with other records at the same name (found {})",
                            others.join(", ")
                        ),
                    });
                }
            }
            keys.clear();
        };
        for (key, set) in &self.rrsets {
            if prev_name != Some(&key.name) {
                flush(&mut types_at_name, &mut problems);
                prev_name = Some(&key.name);
            }
            types_at_name.push(key);
            let at_apex = key.name == self.origin;
            if !key.name.is_in(&self.origin) {
                problems.push(ZoneProblem {
                    key: key.clone(),
                    reason: format!("name is outside the zone {}", self.origin),
                });
            }
            match key.rtype {
                RecordType::CNAME if at_apex => problems.push(ZoneProblem {
                    key: key.clone(),
                    reason: "a CNAME is not allowed at the zone apex (use ALIAS)".into(),
                }),
                RecordType::ALIAS if !at_apex => problems.push(ZoneProblem {
                    key: key.clone(),
                    reason: "ALIAS is only allowed at the zone apex".into(),
                }),
                // The apex DS is the parent zone's (RFC 4035 §2.4): BIND refuses to load a
                // zone file with one ("DS record at top of zone").
                RecordType::DS if at_apex => problems.push(ZoneProblem {
                    key: key.clone(),
                    reason: "a DS record is not allowed at the zone apex: it belongs in the parent zone (RFC 4035 §2.4)".into(),
                }),
                _ => {}
            }
            if key.rtype.is_single_value() && set.len() > 1 {
                problems.push(ZoneProblem {
                    key: key.clone(),
                    reason: format!(
                        "{} must have exactly one value, found {}",
                        key.rtype,
                        set.len()
                    ),
                });
            }
        }
        flush(&mut types_at_name, &mut problems);
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rdata::RData;

    fn name(s: &str) -> Fqdn {
        Fqdn::parse(s).unwrap()
    }

    #[test]
    fn cname_exclusivity_and_apex() {
        let mut z = Zone::new(name("example.com"));
        let www = name("www.example.com");
        z.put(
            RrKey::new(www.clone(), RecordType::CNAME),
            RrSet::new(60, vec![RData::Cname(name("x.net"))]),
        );
        z.put(
            RrKey::new(www, RecordType::A),
            RrSet::new(60, vec![RData::A([1, 2, 3, 4].into())]),
        );
        z.put(
            RrKey::new(name("example.com"), RecordType::CNAME),
            RrSet::new(60, vec![RData::Cname(name("x.net"))]),
        );
        z.put(
            RrKey::new(name("a.example.com"), RecordType::ALIAS),
            RrSet::new(60, vec![RData::Alias(name("x.net"))]),
        );
        let p = z.check();
        let reasons: Vec<&str> = p.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(p.len(), 3, "{reasons:?}");
        assert!(reasons
            .iter()
            .any(|r| r.contains("coexist") && r.contains('A')));
        assert!(reasons.iter().any(|r| r.contains("apex")));
        assert!(reasons.iter().any(|r| r.contains("ALIAS is only")));
    }

    /// BIND refuses a zone file with a DS at its apex; a DS below it (a delegation) is fine.
    #[test]
    fn ds_at_the_apex_is_refused() {
        let ds = || {
            RrSet::new(
                60,
                vec![RData::Ds(crate::model::rdata::Ds {
                    key_tag: 1,
                    algorithm: 13,
                    digest_type: 2,
                    digest: "ab".repeat(32),
                })],
            )
        };
        let mut z = Zone::new(name("example.com"));
        z.put(RrKey::new(name("sub.example.com"), RecordType::DS), ds());
        assert!(z.check().is_empty());
        z.put(RrKey::new(name("example.com"), RecordType::DS), ds());
        let p = z.check();
        assert_eq!(p.len(), 1);
        assert!(p[0].reason.contains("RFC 4035 §2.4"), "{}", p[0].reason);
    }

    #[test]
    fn clean_zone_has_no_problems() {
        let mut z = Zone::new(name("example.com"));
        z.put(
            RrKey::new(name("www.example.com"), RecordType::CNAME),
            RrSet::new(60, vec![RData::Cname(name("x.net"))]),
        );
        z.put(
            RrKey::new(name("example.com"), RecordType::A),
            RrSet::new(60, vec![RData::A([1, 2, 3, 4].into())]),
        );
        assert!(z.check().is_empty());
    }
}
