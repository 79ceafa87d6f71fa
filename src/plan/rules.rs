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
    pub update_pct: f64,
    /// Largest share of existing RRsets a plan may delete, in percent.
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
