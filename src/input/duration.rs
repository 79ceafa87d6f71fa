//! The one duration grammar of every setting (provider `timeout`s, `rate_limit.per`, the
//! `controller:` intervals, the matching `zonekeeper run` flags): humantime's, a number and
//! a unit, optionally several (`250ms`, `30s`, `5m`, `1h 30m`). Units: `ms`, `s`/`sec`,
//! `m`/`min`, `h`/`hr`, `d`, ...
//! (<https://docs.rs/humantime/latest/humantime/fn.parse_duration.html>).
//!
//! Settings hold a [`HumanDuration`]: it parses with that grammar (in YAML, in JSON and from
//! a flag), prints in it, and describes it in the JSON Schema.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written as humantime text (`30s`, `5m`, `250ms`). A bare number is refused:
/// `30` could be seconds or milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (examples: 250ms, 30s, 5m, 1h)")]
pub struct DurationError {
    /// The text as written.
    pub text: String,
    /// humantime's reason.
    pub reason: String,
}

impl HumanDuration {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> HumanDuration {
        HumanDuration(Duration::from_secs(secs))
    }

    /// The duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        HumanDuration(d)
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Self {
        d.0
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s)
            .map(HumanDuration)
            .map_err(|e| DurationError {
                text: s.to_string(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl serde::Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts text; with `seconds` also a whole number of seconds (the older form of some keys).
struct Visitor {
    seconds: bool,
}

impl serde::de::Visitor<'_> for Visitor {
    type Value = HumanDuration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.seconds {
            f.write_str("a duration such as 30s, 5m or 250ms (or a whole number of seconds)")
        } else {
            f.write_str("a duration with a unit, such as 30s, 5m or 250ms")
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanDuration, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanDuration, E> {
        if self.seconds {
            Ok(HumanDuration::from_secs(v))
        } else {
            Err(E::custom(format_args!(
                "{v} has no unit: write {v}s, {v}ms or {v}m"
            )))
        }
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanDuration, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format_args!(
                "{v}: a duration cannot be negative"
            ))),
        }
    }
}

impl<'de> serde::Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor { seconds: false })
    }
}

/// `deserialize_with` for keys that used to take whole seconds (rfc2136 `timeout: 30`):
/// a number is seconds, text is the duration grammar.
pub fn seconds_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<HumanDuration, D::Error> {
    d.deserialize_any(Visitor { seconds: true })
}

const DESCRIPTION: &str = "A duration: a number and a unit, e.g. `250ms`, `30s`, `5m`, `1h`.";
const PATTERN: &str = r"^\s*[0-9]+\s*[a-zA-Z]+(\s*[0-9]+\s*[a-zA-Z]+)*\s*$";

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": PATTERN,
            "description": DESCRIPTION,
        })
    }
}

/// JSON Schema of a [`seconds_or_text`] key: the duration text, or whole seconds.
pub fn seconds_or_text_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "string", "pattern": PATTERN},
            {"type": "integer", "minimum": 0, "description": "whole seconds (older form)"}
        ],
        "description": DESCRIPTION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct S {
        d: HumanDuration,
        #[serde(default, deserialize_with = "seconds_or_text")]
        legacy: HumanDuration,
    }

    fn parse(yaml: &str) -> Result<S, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn one_grammar_in_yaml_json_and_flags() {
        assert_eq!(
            parse("d: 250ms\n").unwrap().d.get(),
            Duration::from_millis(250)
        );
        assert_eq!(parse("d: 5m\n").unwrap().d.get(), Duration::from_secs(300));
        assert_eq!(
            parse("d: 1h 30m\n").unwrap().d.get(),
            Duration::from_secs(5400)
        );
        let j: HumanDuration = serde_json::from_value(serde_json::json!("30s")).unwrap();
        assert_eq!(j, HumanDuration::from_secs(30));
        assert_eq!(
            "2m".parse::<HumanDuration>().unwrap().get(),
            Duration::from_secs(120)
        );
        assert_eq!(HumanDuration::from_secs(120).to_string(), "2m");
        assert_eq!(
            serde_json::to_value(HumanDuration::from_secs(90)).unwrap(),
            "1m 30s"
        );
    }

    #[test]
    fn bare_numbers_and_nonsense_are_refused_with_their_line() {
        let e = parse("x: 1\nd: 30\n").unwrap_err();
        assert!(e.contains("30 has no unit"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = parse("d: soon\n").unwrap_err();
        assert!(e.contains("invalid duration \"soon\""), "{e}");
        assert!("-5s".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn older_keys_still_take_seconds() {
        assert_eq!(
            parse("d: 1s\nlegacy: 30\n").unwrap().legacy.get(),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse("d: 1s\nlegacy: 2m\n").unwrap().legacy.get(),
            Duration::from_secs(120)
        );
        let j: S = serde_json::from_value(serde_json::json!({"d": "1s", "legacy": 7})).unwrap();
        assert_eq!(j.legacy.get(), Duration::from_secs(7));
    }
}
