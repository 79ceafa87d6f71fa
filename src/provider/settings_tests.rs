//! Provider record settings end to end at library level: manifest -> desired for a target's
//! kind -> plan (with the provider's normalize) -> write -> read back -> re-plan.

use std::path::Path;

use super::memory::MemoryProvider;
use super::powerdns::{PowerdnsProvider, PowerdnsSettings};
use super::{Observed, Provider};
use crate::manifest::octodns::parse_zone;
use crate::manifest::ZoneManifest;
use crate::model::{Fqdn, RecordType, RrKey};
use crate::plan::{plan_zone, Op, PlanInput, Policy, Thresholds, ZonePlan};

fn origin() -> Fqdn {
    Fqdn::parse("example.com").unwrap()
}

fn manifest(proxied: bool) -> ZoneManifest {
    let text = format!(
        "---\n'':\n  type: A\n  value: 192.0.2.1\nwww:\n  type: A\n  values: [192.0.2.2, 192.0.2.3]\n  octodns:\n    memory: {{proxied: {proxied}}}\n    powerdns: {{comment: hello}}\n"
    );
    parse_zone(&text, Path::new("example.com.yaml"), &origin()).unwrap()
}

/// Plans the way the controller does: the block of the target's kind, the provider's
/// normalize.
fn plan(m: &ZoneManifest, p: &dyn Provider, live: &Observed) -> ZonePlan {
    let desired = m.desired_for(p.name(), p.kind());
    plan_zone(&PlanInput {
        processors: &Default::default(),
        target: p.name(),
        desired: &desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &|_| false,
        caps: p.capabilities(),
        normalize: &|k, s| p.normalize(k, s),
        policy: Policy::Sync,
        thresholds: Thresholds::default(),
        last_apply: None,
    })
}

async fn apply(p: &dyn Provider, plan: &ZonePlan, live: &Observed) {
    let outcomes = p.apply(&origin(), live, &plan.changes).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
}

#[tokio::test]
async fn memory_stores_settings_replans_empty_and_a_toggle_is_one_update() {
    let p = MemoryProvider::new("mem");
    let on = manifest(true);
    let live = p.read_zone(&origin()).await.unwrap();
    let first = plan(&on, &p, &live);
    assert_eq!(first.count(Op::Create), 2, "{:?}", first.changes);
    assert!(first.adjustments.is_empty(), "{:?}", first.adjustments);
    apply(&p, &first, &live).await;

    let www = RrKey::new(Fqdn::parse("www.example.com").unwrap(), RecordType::A);
    let live = p.read_zone(&origin()).await.unwrap();
    assert_eq!(
        live.zone
            .get(&www)
            .and_then(|s| s.ext())
            .map(|e| e.to_string()),
        Some("proxied=true".into())
    );
    assert!(plan(&on, &p, &live).is_empty());

    let off = manifest(false);
    let toggle = plan(&off, &p, &live);
    assert_eq!(toggle.changes.len(), 1, "{:?}", toggle.changes);
    assert_eq!(toggle.count(Op::Update), 1);
    assert_eq!(toggle.changes[0].key(), &www);
    apply(&p, &toggle, &live).await;
    let live = p.read_zone(&origin()).await.unwrap();
    assert!(plan(&off, &p, &live).is_empty());
    assert!(!plan(&on, &p, &live).is_empty());
}

#[tokio::test]
async fn a_setting_the_target_does_not_store_is_dropped_with_a_note_and_replans_empty() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("api-key");
    std::fs::write(&key_file, "k").unwrap();
    let settings: PowerdnsSettings = serde_json::from_value(serde_json::json!({
        // Never contacted: the zone state below is given, not read.
        "url": "http://127.0.0.1:9",
        "api_key": format!("file:{}", key_file.display()),
    }))
    .unwrap();
    let secret = settings.api_key.resolve().unwrap();
    let p = PowerdnsProvider::new(
        "pdns",
        settings,
        secret,
        &crate::provider::BuildContext::new(crate::secret::SecretPolicy::default()),
    );
    // PowerDNS stores `disabled` only: the manifest's `comment` is not kept.
    assert_eq!(
        p.capabilities().record_settings,
        std::collections::BTreeSet::from(["disabled"])
    );

    let m = manifest(true);
    let first = plan(&m, &p, &Observed::absent(origin()));
    assert_eq!(first.count(Op::Create), 2);
    assert!(first
        .changes
        .iter()
        .all(|c| c.new_set().unwrap().ext().is_none()));
    assert_eq!(
        first.adjustments,
        vec![
            "www.example.com. A: powerdns does not store octodns.powerdns.comment: ignored"
                .to_string()
        ]
    );
    // What PowerDNS would read back after applying: the records, no settings.
    let mut zone = crate::model::Zone::new(origin());
    crate::plan::diff::apply_to(&mut zone, &first.changes);
    let again = plan(&m, &p, &Observed::present(zone));
    assert!(again.is_empty(), "{:?}", again.changes);
    assert_eq!(again.adjustments, first.adjustments);
}

#[test]
fn only_the_settings_a_target_stores_are_kept() {
    use crate::model::{ExtValue, RData, RecordExt, RrSet};
    use std::sync::Arc;
    let mut caps = crate::plan::Capabilities::everything();
    caps.record_settings = ["proxied"].into();
    let key = RrKey::new(origin(), RecordType::A);
    let ext = RecordExt::new()
        .with("proxied", ExtValue::Bool(true))
        .with("colour", ExtValue::Str("red".into()));
    let mut set =
        RrSet::new(60, vec![RData::A([192, 0, 2, 1].into())]).with_ext(Some(Arc::new(ext)));
    let note = super::drop_unstored_settings("edge", &caps, &key, &mut set);
    assert_eq!(
        note.as_deref(),
        Some("example.com. A: edge does not store octodns.edge.colour: ignored")
    );
    assert_eq!(
        set.ext().map(ToString::to_string),
        Some("proxied=true".into())
    );
    // Nothing more to drop: no note, unchanged.
    let before = set.clone();
    assert_eq!(
        super::drop_unstored_settings("edge", &caps, &key, &mut set),
        None
    );
    assert_eq!(set, before);
}
