//! Provider-specific record settings: the octoDNS per-record block `octodns: {<provider>:
//! {...}}` (Cloudflare `proxied`, `auto-ttl`, `comment`, `tags`; Route 53 `healthcheck`),
//! for one provider kind.
//!
//! The values are kept canonical (maps sorted by key, numbers as integers or as the shortest
//! decimal text of a float), so two blocks that mean the same compare and hash equal and the
//! plan hash does not depend on how the YAML was written.

use std::collections::BTreeMap;
use std::fmt;

/// One settings value, as YAML or JSON would hold it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum ExtValue {
    Null,
    Bool(bool),
    Int(i64),
    /// A finite non-integer number, as the shortest decimal text that reads back to the
    /// same `f64` (`0.1`, `2.5e-7`): no float noise in comparisons or hashes.
    Float(String),
    Str(String),
    List(Vec<ExtValue>),
    Map(BTreeMap<String, ExtValue>),
}

impl ExtValue {
    /// A float as its canonical value: a whole number becomes [`ExtValue::Int`]; `None`
    /// when it is not finite (NaN and the infinities have no place in a setting).
    pub fn from_f64(f: f64) -> Option<ExtValue> {
        if !f.is_finite() {
            return None;
        }
        // Exactly representable whole numbers compare as integers (`1.0` == `1`).
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            return Some(ExtValue::Int(f as i64));
        }
        Some(ExtValue::Float(format!("{f}")))
    }

    /// The value as JSON (for plan output and for writing manifests back).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            ExtValue::Null => Value::Null,
            ExtValue::Bool(b) => Value::Bool(*b),
            ExtValue::Int(i) => Value::from(*i),
            ExtValue::Float(t) => t
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(t.clone()), Value::Number),
            ExtValue::Str(s) => Value::String(s.clone()),
            ExtValue::List(l) => Value::Array(l.iter().map(ExtValue::to_json).collect()),
            ExtValue::Map(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

impl fmt::Display for ExtValue {
    /// Compact and unambiguous: strings that could be read as something else are quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtValue::Null => f.write_str("null"),
            ExtValue::Bool(b) => write!(f, "{b}"),
            ExtValue::Int(i) => write!(f, "{i}"),
            ExtValue::Float(t) => f.write_str(t),
            ExtValue::Str(s) => {
                let plain = !s.is_empty()
                    && s.bytes().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b':')
                    })
                    && !matches!(s.as_str(), "true" | "false" | "null")
                    && s.parse::<f64>().is_err();
                if plain {
                    f.write_str(s)
                } else {
                    write!(f, "{s:?}")
                }
            }
            ExtValue::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            ExtValue::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// The settings of one RRset for one provider kind: the content of `octodns: {<kind>: {...}}`,
/// keys sorted. Never empty when attached to an RRset (an empty block means "no settings").
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct RecordExt(BTreeMap<String, ExtValue>);

impl RecordExt {
    pub fn new() -> RecordExt {
        RecordExt::default()
    }

    /// Adds or replaces one setting (builder style).
    pub fn with(mut self, key: impl Into<String>, value: ExtValue) -> RecordExt {
        self.0.insert(key.into(), value);
        self
    }

    pub fn insert(&mut self, key: impl Into<String>, value: ExtValue) -> Option<ExtValue> {
        self.0.insert(key.into(), value)
    }

    pub fn remove(&mut self, key: &str) -> Option<ExtValue> {
        self.0.remove(key)
    }

    pub fn get(&self, key: &str) -> Option<&ExtValue> {
        self.0.get(key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Settings in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ExtValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Keeps only the settings for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &ExtValue) -> bool) {
        self.0.retain(|k, v| keep(k, v));
    }

    /// The settings as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

impl FromIterator<(String, ExtValue)> for RecordExt {
    fn from_iter<I: IntoIterator<Item = (String, ExtValue)>>(iter: I) -> RecordExt {
        RecordExt(iter.into_iter().collect())
    }
}

impl fmt::Display for RecordExt {
    /// `key=value` pairs in key order, space separated: `auto-ttl=false proxied=true`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for RecordExt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_canonical() {
        assert_eq!(ExtValue::from_f64(1.0), Some(ExtValue::Int(1)));
        assert_eq!(ExtValue::from_f64(0.1), Some(ExtValue::Float("0.1".into())));
        assert_eq!(ExtValue::from_f64(f64::NAN), None);
        assert_eq!(
            ExtValue::Float("0.1".into()).to_json(),
            serde_json::json!(0.1)
        );
    }

    #[test]
    fn display_is_sorted_and_quotes_ambiguous_strings() {
        let e = RecordExt::new()
            .with("proxied", ExtValue::Bool(true))
            .with("comment", ExtValue::Str("two words".into()))
            .with("tags", ExtValue::List(vec![ExtValue::Str("a:b".into())]))
            .with("n", ExtValue::Str("true".into()));
        assert_eq!(
            e.to_string(),
            "comment=\"two words\" n=\"true\" proxied=true tags=[a:b]"
        );
    }
}
