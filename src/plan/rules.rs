//! The per-zone rules a plan obeys: policy, safety thresholds and ignore rules.
//! Small values applied to a computed diff, not branches inside it.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{Fqdn, RecordType, RrKey};

/// What zonekeeper may do to a zone.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Create, update and delete until live equals the manifest.
    #[default]
    Sync,
    /// Create and update, never delete.
    UpsertOnly,
    /// Plan and report drift, never write.
    Warn,
}

impl Policy {
    /// How much the policy forbids: `sync` < `upsert-only` < `warn`.
    fn strictness(self) -> u8 {
        match self {
            Policy::Sync => 0,
            Policy::UpsertOnly => 1,
            Policy::Warn => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Sync => "sync",
            Policy::UpsertOnly => "upsert-only",
            Policy::Warn => "warn",
        }
    }
}

/// octoDNS-style safety thresholds: a plan that changes too much of an established zone is
/// refused unless forced.
#[derive(Clone, Copy, PartialEq, Debug, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Largest share of existing RRsets a plan may update, in percent.
    #[serde(deserialize_with = "percent")]
    pub update_pct: f64,
    /// Largest share of existing RRsets a plan may delete, in percent.
    #[serde(deserialize_with = "percent")]
    pub delete_pct: f64,
    /// Zones with fewer existing RRsets than this are never held back by the percentages.
    pub min_records: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            update_pct: 30.0,
            delete_pct: 30.0,
            min_records: 10,
        }
    }
}

/// A threshold in percent: a finite number, 0 or more. NaN would turn the check off
/// (`pct > NaN` is never true) and neither NaN nor infinity survives JSON
/// (`guard-rails.json`); values over 100 are allowed (no limit).
///
/// # Errors
/// Any other number, as a deserialisation error (the reader adds file:line).
pub fn percent<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is not a number of percent (0 or more)"
        )))
    }
}

/// [`percent`] for an optional value.
///
/// # Errors
/// As [`percent`].
pub fn percent_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    percent(d).map(Some)
}

impl Thresholds {
    /// Per field the value that allows less: the lower percentages, and the lower
    /// `min_records` (fewer zones spared).
    pub fn stricter(self, other: Thresholds) -> Thresholds {
        Thresholds {
            update_pct: self.update_pct.min(other.update_pct),
            delete_pct: self.delete_pct.min(other.delete_pct),
            min_records: self.min_records.min(other.min_records),
        }
    }
}

/// The guard rails a plan obeys when a revision declares `declared` for a zone that the
/// revision before declared `previous` for: the stricter of the two, field by field. A
/// commit cannot loosen the rules that judge that same commit; the next revision's plan
/// uses what it declares.
pub fn guard_rails_in_force(
    previous: (Policy, Thresholds),
    declared: (Policy, Thresholds),
) -> (Policy, Thresholds) {
    let policy = if previous.0.strictness() > declared.0.strictness() {
        previous.0
    } else {
        declared.0
    };
    (policy, previous.1.stricter(declared.1))
}

/// Records zonekeeper leaves alone wherever they are (e.g. ACME challenges written by
/// cert-manager). `name` is a glob over the name relative to the zone (`''` is the apex).
#[derive(Clone, Debug, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// Glob over the relative name: `*` any run of characters, `?` one, `[ab]` a class.
    pub name: String,
    /// Only this type (all types when absent).
    #[serde(rename = "type", default)]
    #[schemars(with = "Option<String>")]
    pub rtype: Option<RecordTypeName>,
}

/// A record type name in configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordTypeName(pub RecordType);

impl<'de> Deserialize<'de> for RecordTypeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(RecordTypeName)
            .map_err(serde::de::Error::custom)
    }
}

/// Ignore rules compiled once per zone (when the config loads), with the rules as written
/// kept for display and hashing.
#[derive(Clone, Debug, Default)]
pub struct IgnoreSet {
    rules: Vec<(glob::Pattern, Option<RecordType>)>,
    source: Vec<IgnoreRule>,
}

impl IgnoreSet {
    /// Compiles `rules`.
    ///
    /// # Errors
    /// The first rule whose `name` is not a valid glob.
    pub fn new(rules: &[IgnoreRule]) -> Result<IgnoreSet, glob::PatternError> {
        let compiled = rules
            .iter()
            .map(|r| {
                Ok((
                    glob::Pattern::new(&r.name.to_ascii_lowercase())?,
                    r.rtype.map(|t| t.0),
                ))
            })
            .collect::<Result<_, glob::PatternError>>()?;
        Ok(IgnoreSet {
            rules: compiled,
            source: rules.to_vec(),
        })
    }

    /// The rules as written, in order.
    pub fn rules(&self) -> &[IgnoreRule] {
        &self.source
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn matches(&self, zone: &Fqdn, key: &RrKey) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let rel = key.name.relative_to(zone).unwrap_or(key.name.as_str());
        self.rules
            .iter()
            .any(|(p, t)| t.is_none_or(|t| t == key.rtype) && p.matches(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(update_pct: f64, delete_pct: f64, min_records: usize) -> Thresholds {
        Thresholds {
            update_pct,
            delete_pct,
            min_records,
        }
    }

    #[test]
    fn a_revision_cannot_loosen_the_rules_that_judge_it() {
        // Loosening: the previous values stay, field by field.
        assert_eq!(
            guard_rails_in_force(
                (Policy::UpsertOnly, t(30.0, 30.0, 10)),
                (Policy::Sync, t(100.0, 100.0, 1000))
            ),
            (Policy::UpsertOnly, t(30.0, 30.0, 10))
        );
        // Mixed: the stricter of each.
        assert_eq!(
            guard_rails_in_force(
                (Policy::Sync, t(50.0, 10.0, 10)),
                (Policy::Warn, t(20.0, 40.0, 5))
            ),
            (Policy::Warn, t(20.0, 10.0, 5))
        );
        // Tightening applies at once; unchanged values are what they were.
        let same = (Policy::UpsertOnly, t(5.0, 5.0, 3));
        assert_eq!(
            guard_rails_in_force((Policy::Sync, Thresholds::default()), same),
            same
        );
        assert_eq!(guard_rails_in_force(same, same), same);
        for (a, b, want) in [
            (Policy::Sync, Policy::UpsertOnly, Policy::UpsertOnly),
            (Policy::Warn, Policy::UpsertOnly, Policy::Warn),
            (Policy::Warn, Policy::Sync, Policy::Warn),
            (Policy::UpsertOnly, Policy::Sync, Policy::UpsertOnly),
        ] {
            let d = Thresholds::default();
            assert_eq!(guard_rails_in_force((a, d), (b, d)).0, want, "{a:?} {b:?}");
        }
    }
}
