//! The JSON Schema of `zonekeeper.yaml` (`zonekeeper schema config`), derived from the
//! types the file is read into, so it cannot list a key the reader refuses. Provider entries
//! come from the backend registry ([`crate::provider::registry`]).

use serde_json::Value;

use super::RawConfig;

/// JSON Schema (draft 2020-12) of `zonekeeper.yaml`.
pub fn config_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or(Value::Null)
}
