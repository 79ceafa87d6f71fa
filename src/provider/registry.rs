//! The closed list of DNS backends, in one place: the `backends!` invocation below is the
//! only line that names them all. From it come [`AnySettings`] (one variant per backend),
//! [`PROVIDER_TYPES`], the JSON Schema of a provider entry ([`ProviderEntrySchema`]), and the
//! dispatch of parsing ([`AnySettings::parse`]), checking ([`AnySettings::check`]) and
//! building ([`build`]).
//!
//! Each backend file (`provider/<kind>.rs`) exports:
//! - `KIND: &str`, the `type:` of its config entries and the key of its octoDNS per-record
//!   settings;
//! - `Settings`: its config keys (`serde::Deserialize` with `deny_unknown_fields`,
//!   `schemars::JsonSchema`; typed values: durations as [`HumanDuration`], names as `Fqdn`,
//!   enums for closed sets), the struct doc being its schema description;
//! - `check(&mut Settings, base_dir: &Path) -> Result<(), String>`: makes paths absolute
//!   (from the config file's directory) and checks what a type cannot (a URL's scheme);
//! - `build(name, &Settings, &BuildContext) -> Result<Box<dyn Provider>, SecretError>`:
//!   resolves its secrets and makes the provider.
//!
//! Adding a provider: that file, `pub mod <kind>;` in `provider/mod.rs`, one entry in
//! `backends!`, and `docs/providers/<kind>.md`.
//!
//! Depends on the backends and `secret` only; `config` calls in, never the reverse.
//!
//! [`HumanDuration`]: crate::input::HumanDuration

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use super::{BuildContext, Provider};
use crate::secret::SecretError;

/// The keys of one provider entry as written, `type` left out, in file order: the key and
/// its value (any YAML value, as JSON).
pub type RawSettings = [(String, serde_json::Value)];

/// Why a provider entry's settings were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingsError {
    /// The key at fault (`type` for an unknown type), so the caller can point at its line;
    /// `None` when the entry as a whole is (a missing key, a check across keys).
    pub key: Option<String>,
    /// What is wrong, naming the provider type and the key.
    pub message: String,
}

/// Declares the backends. `module => Variant`: `super::module` provides `KIND`,
/// `Settings`, `check` and `build` (see the module docs).
macro_rules! backends {
    ($($module:ident => $variant:ident),+ $(,)?) => {
        /// A provider entry's typed settings: one variant per backend, named after it.
        #[derive(Clone, Debug)]
        pub enum AnySettings {
            $(
                #[doc = concat!("Settings of a `", stringify!($module), "` provider.")]
                $variant(super::$module::Settings),
            )+
        }

        /// The provider types (`type:` values) zonekeeper knows, in registration order.
        pub const PROVIDER_TYPES: &[&str] = &[$(super::$module::KIND),+];

        impl AnySettings {
            /// The provider type (`powerdns`, ...).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(AnySettings::$variant(_) => super::$module::KIND,)+
                }
            }

            /// Reads the settings of a `type: kind` entry from its other keys.
            ///
            /// # Errors
            /// An unknown type (key `type`), an unknown key, a value of the wrong type
            /// (that key), a missing required key (no key).
            pub fn parse(kind: &str, fields: &RawSettings) -> Result<AnySettings, SettingsError> {
                $(
                    if kind == super::$module::KIND {
                        return from_fields(kind, fields).map(AnySettings::$variant);
                    }
                )+
                Err(SettingsError {
                    key: Some("type".into()),
                    message: format!(
                        "unknown provider type {kind:?} (known: {})",
                        PROVIDER_TYPES.join(", ")
                    ),
                })
            }

            /// Runs the backend's `check`: paths made absolute from `base_dir`, values
            /// checked.
            ///
            /// # Errors
            /// The backend's reason, prefixed with its type.
            pub fn check(&mut self, base_dir: &Path) -> Result<(), SettingsError> {
                let kind = self.kind();
                let r = match self {
                    $(AnySettings::$variant(s) => super::$module::check(s, base_dir),)+
                };
                r.map_err(|e| SettingsError {
                    key: None,
                    message: format!("{kind}: {e}"),
                })
            }
        }

        impl AnySettings {
            /// The secret references in these settings (to re-base `age:` ones: see
            /// [`crate::config`]).
            pub fn secrets_mut(&mut self) -> Vec<&mut crate::secret::SecretRef> {
                match self {
                    $(AnySettings::$variant(s) => super::$module::secrets_mut(s),)+
                }
            }
        }

        /// Builds a provider named `name` from checked settings, resolving its secrets now
        /// (under `ctx.secrets`).
        ///
        /// # Errors
        /// A secret that is not allowed, missing or unreadable.
        pub fn build(
            name: &str,
            settings: &AnySettings,
            ctx: &BuildContext,
        ) -> Result<Box<dyn Provider>, SecretError> {
            match settings {
                $(AnySettings::$variant(s) => super::$module::build(name, s, ctx),)+
            }
        }

        fn variant_schemas(gen: &mut schemars::SchemaGenerator) -> Vec<serde_json::Value> {
            vec![$(entry_schema::<super::$module::Settings>(super::$module::KIND, gen)),+]
        }
    };
}

backends![
    memory => Memory,
    zonefile => Zonefile,
    powerdns => Powerdns,
    rfc2136 => Rfc2136,
];

impl AnySettings {
    /// [`AnySettings::parse`] then [`AnySettings::check`]: what the config loader calls.
    ///
    /// # Errors
    /// As those two.
    pub fn resolve(
        kind: &str,
        fields: &RawSettings,
        base_dir: &Path,
    ) -> Result<AnySettings, SettingsError> {
        let mut s = AnySettings::parse(kind, fields)?;
        s.check(base_dir)?;
        Ok(s)
    }
}

/// The schema of one backend's entry: its settings object plus `type: <kind>`.
fn entry_schema<S: schemars::JsonSchema>(
    kind: &str,
    gen: &mut schemars::SchemaGenerator,
) -> serde_json::Value {
    let mut v = S::json_schema(gen).to_value();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("title".into(), kind.into());
        obj.insert("type".into(), "object".into());
        let props = obj
            .entry("properties")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(props) = props.as_object_mut() {
            props.insert("type".into(), serde_json::json!({ "const": kind }));
        }
        let required = obj
            .entry("required")
            .or_insert_with(|| serde_json::json!([]));
        if let Some(req) = required.as_array_mut() {
            req.insert(0, "type".into());
        }
    }
    v
}

/// Schema-only type of a provider entry: `type` plus that type's settings (one of the
/// registered backends).
pub struct ProviderEntrySchema;

impl schemars::JsonSchema for ProviderEntrySchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Provider".into()
    }

    fn json_schema(gen: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let variants = variant_schemas(gen);
        schemars::json_schema!({
            "description": "A provider: `type` (one of the registered backends) and that type's keys.",
            "oneOf": variants,
        })
    }
}

/// Deserializes `T` from the entry's keys, remembering which key was being read when it
/// failed, so the error can point at that key's line.
fn from_fields<T: de::DeserializeOwned>(
    kind: &str,
    fields: &RawSettings,
) -> Result<T, SettingsError> {
    let current = std::cell::Cell::new(None);
    T::deserialize(Fields {
        fields,
        current: &current,
    })
    .map_err(|e| {
        let key = current.get().map(|i: usize| fields[i].0.clone());
        let message = match &key {
            Some(k) if !e.0.contains(&format!("`{k}`")) => format!("{kind}: {k}: {}", e.0),
            _ => format!("{kind}: {}", e.0),
        };
        SettingsError { key, message }
    })
}

/// A serde error carrying only its text.
#[derive(Debug)]
struct FieldError(String);

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        FieldError(msg.to_string())
    }
}

/// The entry's keys as a map deserializer.
struct Fields<'a> {
    fields: &'a RawSettings,
    current: &'a std::cell::Cell<Option<usize>>,
}

impl<'de> de::Deserializer<'de> for Fields<'_> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_map(FieldsAccess {
            fields: self.fields,
            next: 0,
            current: self.current,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct FieldsAccess<'a> {
    fields: &'a RawSettings,
    next: usize,
    current: &'a std::cell::Cell<Option<usize>>,
}

impl<'de> MapAccess<'de> for FieldsAccess<'_> {
    type Error = FieldError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FieldError> {
        let Some((key, _)) = self.fields.get(self.next) else {
            // Errors from here on (a missing key) concern the entry, not one key.
            self.current.set(None);
            return Ok(None);
        };
        self.current.set(Some(self.next));
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, FieldError> {
        let (_, value) = self
            .fields
            .get(self.next)
            .ok_or_else(|| FieldError("a value was read without its key".into()))?;
        self.next += 1;
        seed.deserialize(value.clone())
            .map_err(|e| FieldError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: serde_json::Value) -> Vec<(String, serde_json::Value)> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The minimal keys of each registered type.
    fn minimal(kind: &str) -> serde_json::Value {
        match kind {
            "memory" => json!({}),
            "zonefile" => json!({"directory": "live"}),
            "powerdns" => json!({"url": "http://127.0.0.1:8081", "api_key": "env:K"}),
            "rfc2136" => json!({"server": "127.0.0.1", "tsig": {"name": "k", "secret": "env:K"}}),
            other => panic!("registered type {other} has no minimal settings in this test"),
        }
    }

    #[test]
    fn every_registered_type_parses_checks_and_has_a_schema() {
        assert_eq!(
            PROVIDER_TYPES,
            ["memory", "zonefile", "powerdns", "rfc2136"]
        );
        for kind in PROVIDER_TYPES {
            let s = AnySettings::resolve(kind, &fields(minimal(kind)), Path::new("/etc/zk"))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(s.kind(), *kind);
        }
        let AnySettings::Zonefile(z) = AnySettings::resolve(
            "zonefile",
            &fields(minimal("zonefile")),
            Path::new("/etc/zk"),
        )
        .unwrap() else {
            panic!("not zonefile")
        };
        assert_eq!(
            z.directory,
            Path::new("/etc/zk/live"),
            "check made it absolute"
        );
        let schema =
            schemars::SchemaGenerator::default().into_root_schema_for::<ProviderEntrySchema>();
        let variants = schema.get("oneOf").and_then(|v| v.as_array()).unwrap();
        let kinds: Vec<&str> = variants
            .iter()
            .map(|v| v["properties"]["type"]["const"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, PROVIDER_TYPES);
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        let e = AnySettings::parse("memory", &fields(json!({"directory": "x"}))).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("directory"));
        assert!(
            e.message.starts_with("memory: unknown field `directory`"),
            "{}",
            e.message
        );
        let mut f = fields(minimal("powerdns"));
        f.push(("max_body_bytes".into(), json!("big")));
        let e = AnySettings::parse("powerdns", &f).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("max_body_bytes"));
        assert!(
            e.message
                .starts_with("powerdns: max_body_bytes: invalid type"),
            "{}",
            e.message
        );
        let e = AnySettings::parse("powerdns", &fields(json!({"url": "http://x"}))).unwrap_err();
        assert_eq!(e.key, None, "a missing key is the entry's fault");
        assert!(
            e.message.contains("missing field `api_key`"),
            "{}",
            e.message
        );
        let e = AnySettings::parse("bind", &[]).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("type"));
        let mut s = AnySettings::parse(
            "powerdns",
            &fields(json!({"url": "ftp://x", "api_key": "env:K"})),
        )
        .unwrap();
        let e = s.check(Path::new(".")).unwrap_err();
        assert_eq!(e.key, None);
        assert!(e.message.starts_with("powerdns: url"), "{}", e.message);
    }
}
