//! Model -> octoDNS YAML zone file (what `zonekeeper import` writes).
//!
//! Names are written in octoDNS's "natural" key order, so the output also passes octoDNS's
//! `enforce_order` check; reading it back gives the same zone.

use std::cmp::Ordering;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use super::octodns::{quoted_text_to_yaml, txt_to_yaml};
use crate::model::rdata::fixed;
use crate::model::svcb::{self, SvcParam, Svcb};
use crate::model::{RData, RecordType, RrSet, Zone};

/// A mapping that keeps the order it was built in.
struct Ordered(Vec<(String, Value)>);

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// natsort's default key order: runs of digits compare as numbers, the rest by code point.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn tokens(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        if b.first().is_some_and(u8::is_ascii_digit) {
            out.push((false, ""));
        }
        while i < b.len() {
            let digit = b[i].is_ascii_digit();
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() == digit {
                i += 1;
            }
            out.push((digit, &s[start..i]));
        }
        out
    }
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(tb.iter()) {
        let o = match (x.0, y.0) {
            (true, true) => {
                let (nx, ny) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
                nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny))
            }
            _ => x.1.cmp(y.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ta.len().cmp(&tb.len())
}

fn num(v: i128, scale: u32) -> Value {
    let text = fixed(v, scale);
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::String(text), Value::Number)
}

/// SVCB/HTTPS in octoDNS's shape (`svcpriority`, `targetname`, `svcparams`); each parameter
/// value is the presentation text octoDNS writes after `key=`.
fn svcb_to_yaml(s: &Svcb) -> Value {
    let mut params = serde_json::Map::new();
    for p in s.params.iter() {
        let v = match p {
            SvcParam::Mandatory(keys) => {
                json!(keys.iter().map(|k| svcb::key_name(*k)).collect::<Vec<_>>())
            }
            SvcParam::Alpn(ids) => json!(ids
                .iter()
                .map(|id| svcb::unquoted_list_item(id))
                .collect::<Vec<_>>()),
            SvcParam::NoDefaultAlpn => Value::Null,
            SvcParam::Port(p) => json!(p),
            SvcParam::Ipv4Hint(a) => json!(a.iter().map(ToString::to_string).collect::<Vec<_>>()),
            SvcParam::Ipv6Hint(a) => json!(a.iter().map(ToString::to_string).collect::<Vec<_>>()),
            SvcParam::Ech(b) => json!(domain::utils::base64::encode_string(b)),
            SvcParam::Unknown(_, b) => json!(svcb::unquoted_text(b)),
        };
        params.insert(svcb::key_name(p.key()), v);
    }
    let mut m = serde_json::Map::new();
    if !params.is_empty() {
        m.insert("svcparams".into(), Value::Object(params));
    }
    m.insert("svcpriority".into(), json!(s.priority));
    m.insert("targetname".into(), json!(s.target.as_str()));
    Value::Object(m)
}

/// One value in octoDNS's YAML shape.
pub fn value_to_yaml(v: &RData) -> Value {
    match v {
        RData::Foreign(_, value) => value.to_json(),
        RData::A(ip) => json!(ip.to_string()),
        RData::Aaaa(ip) => json!(ip.to_string()),
        RData::Alias(n) | RData::Cname(n) | RData::Dname(n) | RData::Ns(n) | RData::Ptr(n) => {
            json!(n.as_str())
        }
        RData::Txt(t) | RData::Spf(t) => json!(txt_to_yaml(&t.0)),
        RData::Mx(m) => json!({"exchange": m.exchange.as_str(), "preference": m.preference}),
        RData::Srv(s) => {
            json!({"port": s.port, "priority": s.priority, "target": s.target.as_str(), "weight": s.weight})
        }
        RData::Caa(c) => {
            json!({"flags": c.flags, "tag": c.tag, "value": quoted_text_to_yaml(&c.value)})
        }
        RData::Naptr(n) => json!({
            "flags": quoted_text_to_yaml(&n.flags), "order": n.order, "preference": n.preference,
            "regexp": quoted_text_to_yaml(&n.regexp), "replacement": n.replacement.as_str(),
            "service": quoted_text_to_yaml(&n.service),
        }),
        RData::Sshfp(s) => {
            json!({"algorithm": s.algorithm, "fingerprint": s.fingerprint, "fingerprint_type": s.fingerprint_type})
        }
        RData::Tlsa(t) => json!({
            "certificate_association_data": t.certificate_association_data,
            "certificate_usage": t.certificate_usage, "matching_type": t.matching_type, "selector": t.selector,
        }),
        RData::Ds(d) => {
            json!({"algorithm": d.algorithm, "digest": d.digest, "digest_type": d.digest_type, "key_tag": d.key_tag})
        }
        RData::Uri(u) => {
            json!({"priority": u.priority, "target": quoted_text_to_yaml(&u.target), "weight": u.weight})
        }
        RData::Https(s) | RData::Svcb(s) => svcb_to_yaml(s),
        RData::Loc(l) => json!({
            "altitude": num(l.altitude_cm.into(), 2),
            "lat_degrees": l.lat_degrees, "lat_direction": l.lat_direction.to_string(),
            "lat_minutes": l.lat_minutes, "lat_seconds": num(l.lat_millis.into(), 3),
            "long_degrees": l.long_degrees, "long_direction": l.long_direction.to_string(),
            "long_minutes": l.long_minutes, "long_seconds": num(l.long_millis.into(), 3),
            "precision_horz": num(l.precision_horz_cm.into(), 2),
            "precision_vert": num(l.precision_vert_cm.into(), 2),
            "size": num(l.size_cm.into(), 2),
        }),
    }
}

fn record(rtype: RecordType, set: &RrSet, kind: &str) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(ext) = set.ext() {
        m.insert("octodns".into(), json!({ kind: ext.to_json() }));
    }
    m.insert("ttl".into(), json!(set.ttl));
    m.insert("type".into(), json!(rtype.as_str()));
    let vals: Vec<Value> = set.values().iter().map(value_to_yaml).collect();
    if vals.len() == 1 {
        m.insert(
            "value".into(),
            vals.into_iter().next().unwrap_or(Value::Null),
        );
    } else {
        m.insert("values".into(), Value::Array(vals));
    }
    Value::Object(m)
}

/// Renders a zone as an octoDNS YAML zone file. An RRset's provider settings are written as
/// `octodns: {<kind>: {...}}`, `kind` being the type of the provider the zone was read from,
/// so reading the file back for that provider gives the same zone.
pub fn zone_to_yaml(zone: &Zone, kind: &str) -> String {
    let mut names: Vec<(String, Vec<Value>)> = Vec::new();
    for (key, set) in &zone.rrsets {
        let rel = key
            .name
            .relative_to(&zone.origin)
            .map(crate::model::name::literal_text)
            // octoDNS holds a name's characters, not their zone-file escapes.
            .unwrap_or_else(|| key.name.to_string());
        let rec = record(key.rtype, set, kind);
        match names.last_mut() {
            Some((n, recs)) if *n == rel => recs.push(rec),
            _ => names.push((rel, vec![rec])),
        }
    }
    names.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let doc = Ordered(
        names
            .into_iter()
            .map(|(n, mut recs)| {
                let v = if recs.len() == 1 {
                    recs.remove(0)
                } else {
                    Value::Array(recs)
                };
                (n, v)
            })
            .collect(),
    );
    let body = serde_saphyr::to_string(&doc).unwrap_or_default();
    format!("---\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_written_under_the_kind_and_read_back_equal() {
        use crate::model::{ExtValue, Fqdn, RData, RecordExt, RrKey};
        use std::sync::Arc;
        let origin = Fqdn::parse("example.com").unwrap();
        let mut z = Zone::new(origin.clone());
        let ext = RecordExt::new()
            .with("proxied", ExtValue::Bool(true))
            .with("weight", ExtValue::Float("0.5".into()))
            .with("tags", ExtValue::List(vec![ExtValue::Str("a b".into())]));
        z.put(
            RrKey::new(Fqdn::parse("www.example.com").unwrap(), RecordType::A),
            RrSet::new(300, vec![RData::A([192, 0, 2, 1].into())]).with_ext(Some(Arc::new(ext))),
        );
        z.put(
            RrKey::new(origin.clone(), RecordType::A),
            RrSet::new(300, vec![RData::A([192, 0, 2, 2].into())]),
        );
        let yaml = zone_to_yaml(&z, "memory");
        assert!(yaml.contains("octodns:\n    memory:\n"), "{yaml}");
        assert_eq!(yaml.matches("octodns").count(), 1, "{yaml}");
        let m =
            crate::manifest::octodns::parse_zone(&yaml, std::path::Path::new("x.yaml"), &origin)
                .unwrap();
        assert_eq!(m.desired_for("t", "memory"), z);
        // For another kind the block is not this target's: values equal, no settings.
        assert_ne!(m.desired_for("t", "powerdns"), z);
    }

    #[test]
    fn natural_order_matches_natsort() {
        let mut v = vec!["a10", "a2", "", "b", "_dmarc", "*", "10", "2", "a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["", "2", "10", "*", "_dmarc", "a", "a2", "a10", "b"]);
    }
}
