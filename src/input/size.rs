//! The one size grammar of every setting (`controller.max_file_size`,
//! `controller.max_revision_size` and their `zonekeeper run` flags): a whole number and a
//! unit, `B`, `KiB`, `MiB`, `GiB` (powers of 1024) or `kB`, `MB`, `GB` (powers of 1000),
//! e.g. `32MiB`, `256MiB`, `500kB`. A bare number is refused, as for durations.
//!
//! Settings hold a [`HumanSize`]: it parses with that grammar (in YAML, in JSON and from a
//! flag), prints in it, and describes it in the JSON Schema.

use std::fmt;
use std::str::FromStr;

/// A size in bytes written with a unit (`32MiB`, `256MiB`, `500kB`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanSize(pub u64);

/// Why a size did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {text:?}: {reason} (examples: 32MiB, 256MiB, 500kB)")]
pub struct SizeError {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Units and their multipliers; matched exactly (case matters: `Mb` would be megabits).
const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

impl HumanSize {
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for HumanSize {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| SizeError {
            text: s.to_string(),
            reason,
        };
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        if digits.is_empty() {
            return Err(err("expected a whole number and a unit"));
        }
        let unit = unit.trim_start();
        if unit.is_empty() {
            return Err(err("no unit"));
        }
        let Some(&(_, mult)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(err("unknown unit (B, KiB, MiB, GiB, kB, MB, GB)"));
        };
        let n: u64 = digits.parse().map_err(|_| err("too large"))?;
        n.checked_mul(mult).map(HumanSize).ok_or(err("too large"))
    }
}

/// The largest binary unit that divides the size exactly (`32MiB`, `1536KiB`, `100B`).
impl fmt::Display for HumanSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (unit, mult) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if b >= mult && b.is_multiple_of(mult) {
                return write!(f, "{}{unit}", b / mult);
            }
        }
        write!(f, "{b}B")
    }
}

/// A size for messages, rounded down: `33 MiB`, `4 KiB`, `100 bytes`.
pub fn describe(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

impl serde::Serialize for HumanSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct Visitor;

impl serde::de::Visitor<'_> for Visitor {
    type Value = HumanSize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size with a unit, such as 32MiB or 256MiB")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanSize, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanSize, E> {
        Err(E::custom(format_args!(
            "{v} has no unit: write {v}B, {v}KiB or {v}MiB"
        )))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanSize, E> {
        Err(E::custom(format_args!("{v} has no unit")))
    }
}

impl<'de> serde::Deserialize<'de> for HumanSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for HumanSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": r"^\s*[0-9]+\s*(B|KiB|MiB|GiB|kB|KB|MB|GB)\s*$",
            "description": "A size: a whole number and a unit, e.g. `32MiB`, `256MiB`, `500kB` (KiB/MiB/GiB are powers of 1024, kB/MB/GB of 1000).",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_yaml_flags_and_display() {
        assert_eq!("32MiB".parse::<HumanSize>().unwrap().bytes(), 32 << 20);
        assert_eq!("256 MiB".parse::<HumanSize>().unwrap().bytes(), 256 << 20);
        assert_eq!("500kB".parse::<HumanSize>().unwrap().bytes(), 500_000);
        assert_eq!("1GiB".parse::<HumanSize>().unwrap().bytes(), 1 << 30);
        assert_eq!("7B".parse::<HumanSize>().unwrap().bytes(), 7);
        #[derive(serde::Deserialize)]
        struct S {
            s: HumanSize,
        }
        let s: S = serde_saphyr::from_str("s: 4KiB\n").unwrap();
        assert_eq!(s.s, HumanSize(4096));
        assert_eq!(HumanSize(32 << 20).to_string(), "32MiB");
        assert_eq!(HumanSize(1536 << 10).to_string(), "1536KiB");
        assert_eq!(HumanSize(100).to_string(), "100B");
        assert_eq!(describe(33 << 20), "33 MiB");
        assert_eq!(describe(5000), "4 KiB");
    }

    #[test]
    fn bare_numbers_unknown_units_and_overflow_are_refused() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct S {
            s: HumanSize,
        }
        let e = serde_saphyr::from_str::<S>("s: 1024\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("1024 has no unit"), "{e}");
        for bad in [
            "",
            "MiB",
            "12",
            "12Mb",
            "12 furlongs",
            "-1MiB",
            "99999999999GiB",
        ] {
            assert!(bad.parse::<HumanSize>().is_err(), "{bad:?} parsed");
        }
    }
}
