//! JSON Schema of octoDNS zone files for editors and CI, built from the same field table the
//! parser uses. (The config schema lives with the config: `config::schema`.)

use serde_json::{json, Map, Value};

use super::fields::{self, Kind};
use crate::model::RecordType;

fn kind_schema(k: Kind) -> Value {
    match k {
        Kind::U8 => json!({"type": "integer", "minimum": 0, "maximum": 255}),
        Kind::U16 => json!({"type": "integer", "minimum": 0, "maximum": 65535}),
        Kind::Name => {
            json!({"type": "string", "description": "absolute domain name (trailing dot)"})
        }
        Kind::Text => json!({"type": "string"}),
        Kind::Hex => json!({"type": "string", "pattern": "^[0-9a-fA-F]+$"}),
        Kind::Decimal(_) => json!({"type": ["number", "string"]}),
        Kind::Letter(l) => json!({"enum": l}),
        Kind::SvcParams => json!({
            "type": "object",
            "description": "SvcParamKey (mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN) to value; alpn, ipv4hint, ipv6hint and mandatory are lists, no-default-alpn has no value (RFC 9460)",
            "propertyNames": {"pattern": "^(mandatory|alpn|no-default-alpn|port|ipv4hint|ech|ipv6hint|key(0|[1-9][0-9]{0,4}))$"},
            "additionalProperties": {
                "type": ["string", "integer", "array", "null"],
                "items": {"type": ["string", "integer"]}
            }
        }),
    }
}

fn value_schema(t: RecordType) -> Value {
    if RecordType::NOT_DNS.contains(&t) {
        // Kept as written, never interpreted: any value.
        return json!({});
    }
    match fields::fields(t) {
        None => json!({"type": "string"}),
        Some(spec) => {
            let mut props = Map::new();
            let mut required = Vec::new();
            for f in spec {
                props.insert(f.name.into(), kind_schema(f.kind));
                for a in f.aliases {
                    props.insert((*a).into(), kind_schema(f.kind));
                }
                if f.required && f.aliases.is_empty() {
                    required.push(f.name);
                }
            }
            json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
        }
    }
}

/// JSON Schema of an octoDNS YAML zone file as zonekeeper reads it.
pub fn zone_schema() -> Value {
    let variants: Vec<Value> = RecordType::ALL
        .iter()
        .chain(&RecordType::NOT_DNS)
        .map(|&t| {
            let v = value_schema(t);
            json!({
                "type": "object",
                "properties": {
                    "type": {"const": t.as_str()},
                    "ttl": {"type": "integer", "minimum": 0, "maximum": crate::model::MAX_TTL, "default": 3600},
                    "value": v,
                    "values": {"type": "array", "items": v, "minItems": 1},
                    "octodns": {
                        "type": "object",
                        "properties": {
                            "ignored": {"type": "boolean"},
                            "included": {"type": "array", "items": {"type": "string"}},
                            "excluded": {"type": "array", "items": {"type": "string"}},
                            "lenient": {"type": "boolean"},
                            "healthcheck": {"type": "object", "description": "octoDNS health check options (accepted, not used)"}
                        },
                        "additionalProperties": {
                            "type": "object",
                            "description": "settings for one provider type (`cloudflare: {proxied: true}`), used by targets of that type"
                        }
                    }
                },
                "required": ["type"],
                "additionalProperties": false
            })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "octoDNS YAML zone file (as read by zonekeeper)",
        "type": ["object", "null"],
        "additionalProperties": {
            "oneOf": [
                {"$ref": "#/$defs/record"},
                {"type": "array", "items": {"$ref": "#/$defs/record"}, "minItems": 1}
            ]
        },
        "$defs": {"record": {"oneOf": variants}}
    })
}
