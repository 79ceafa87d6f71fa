//! The conformance suite against the `rfc2136` provider and a real BIND 9 on loopback.
//!
//! Every group uses its own zone, and BIND must know its zones up front, so the zones are
//! taken from the suite and declared in `named.conf` with an initial SOA + apex NS (the
//! suite leaves what a fresh zone holds alone). The zones relax `check-names` and
//! `check-integrity`: the suite tests zonekeeper's data model, not BIND's hostname policy;
//! `tests/rfc2136.rs` shows that BIND's defaults refuse such records and that the refusal
//! is reported per change (see docs/providers/rfc2136.md).

mod conformance;
mod support;

use std::collections::BTreeSet;

use support::bind::{Bind, BindZone, KEY_NAME};
use zonekeeper::config::SecretRef;
use zonekeeper::model::Fqdn;
use zonekeeper::provider::rfc2136::{Rfc2136Provider, Rfc2136Settings, TsigSettings};

#[tokio::test(flavor = "multi_thread")]
async fn bind_passes_the_conformance_suite() {
    run(false, "bind_passes_the_conformance_suite").await;
}

/// The same with prerequisites on every change (`guard: true`).
#[tokio::test(flavor = "multi_thread")]
async fn bind_passes_the_conformance_suite_guarded() {
    run(true, "bind_passes_the_conformance_suite_guarded").await;
}

async fn run(guard: bool, test: &str) {
    let base = Fqdn::parse("conformance.test.").expect("base");
    let zones: BTreeSet<String> = conformance::groups(&base)
        .iter()
        .filter_map(|g| g.steps.first().map(|s| s.desired.origin.to_string()))
        .collect();
    let declared: Vec<BindZone> = zones.iter().map(|z| BindZone::relaxed(z)).collect();
    let Some(bind) = Bind::start(test, &declared) else {
        return;
    };
    let secret_file = bind.dir().join("zonekeeper.secret");
    std::fs::write(&secret_file, &bind.secret).expect("write secret");
    let settings = Rfc2136Settings {
        server: bind.server(),
        tsig: TsigSettings {
            name: KEY_NAME.into(),
            algorithm: Default::default(),
            secret: SecretRef::File(secret_file.clone()),
        },
        zones: zones
            .iter()
            .map(|z| zonekeeper::model::Fqdn::parse(z).expect("suite zone names are valid"))
            .collect(),
        guard,
        timeout: zonekeeper::input::HumanDuration::from_secs(10),
    };
    let secret = SecretRef::File(secret_file).resolve().expect("secret");
    let p = Rfc2136Provider::new("bind", &settings, &secret).expect("a valid TSIG key");
    let report = conformance::run_suite(&p, base.as_str()).await;
    // ALIAS is a provider pseudo-type no DNS server holds: that step, and only it.
    let expected: BTreeSet<String> = ["g16: ALIAS at the apex".to_string()].into();
    assert_eq!(report.skipped_steps(), expected, "{:?}", report.skipped);
    println!("UPDATE/AXFR messages sent: {}", p.messages_sent());
}
