//! The conformance suite against the `memory` provider (declares every type: no skips).

mod conformance;

use zonekeeper::provider::memory::MemoryProvider;

#[tokio::test]
async fn memory_passes_the_conformance_suite() {
    let p = MemoryProvider::new("mem");
    let report = conformance::run_suite(&p, "conformance.test.").await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert!(report.steps_run > 60, "{report:?}");
}

/// Negative controls: the harness must catch a provider that loses data, and must report
/// (not pass) steps a provider declares it cannot store.
mod controls {
    use super::conformance;

    use async_trait::async_trait;
    use zonekeeper::model::rdata::Txt;
    use zonekeeper::model::{Fqdn, RData, RecordType, RrSet};
    use zonekeeper::plan::{Capabilities, Change};
    use zonekeeper::provider::memory::MemoryProvider;
    use zonekeeper::provider::{ChangeOutcome, Observed, Provider, ProviderError};

    /// Stores TXT values cut to 255 bytes, as a careless provider might.
    struct Truncating(MemoryProvider);

    #[async_trait]
    impl Provider for Truncating {
        fn name(&self) -> &str {
            "truncating"
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        fn capabilities(&self) -> &Capabilities {
            self.0.capabilities()
        }
        async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
            self.0.list_zones().await
        }
        async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
            self.0.read_zone(zone).await
        }
        async fn apply(
            &self,
            zone: &Fqdn,
            observed: &Observed,
            changes: &[Change],
        ) -> Vec<ChangeOutcome> {
            let cut: Vec<Change> = changes
                .iter()
                .map(|c| match c {
                    Change::Create { key, new } if key.rtype == RecordType::TXT => {
                        let vals = new
                            .values()
                            .iter()
                            .map(|v| match v {
                                RData::Txt(t) => {
                                    RData::Txt(Txt(t.0.iter().take(255).copied().collect()))
                                }
                                o => o.clone(),
                            })
                            .collect();
                        Change::Create {
                            key: key.clone(),
                            new: RrSet::new(new.ttl, vals),
                        }
                    }
                    o => o.clone(),
                })
                .collect();
            self.0.apply(zone, observed, &cut).await
        }
    }

    #[tokio::test]
    #[should_panic(expected = "g10 TXT lengths and characters] step 1")]
    async fn a_lossy_provider_fails_the_suite() {
        let p = Truncating(MemoryProvider::new("m"));
        conformance::run_suite(&p, "control.test.").await;
    }

    /// Declares it stores any per-record setting (memory's capabilities) but writes the
    /// records without them.
    struct Forgetful(MemoryProvider);

    #[async_trait]
    impl Provider for Forgetful {
        fn name(&self) -> &str {
            "forgetful"
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        fn capabilities(&self) -> &Capabilities {
            self.0.capabilities()
        }
        async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
            self.0.list_zones().await
        }
        async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
            self.0.read_zone(zone).await
        }
        async fn apply(
            &self,
            zone: &Fqdn,
            observed: &Observed,
            changes: &[Change],
        ) -> Vec<ChangeOutcome> {
            let bare: Vec<Change> = changes
                .iter()
                .map(|c| match c {
                    Change::Create { key, new } => Change::Create {
                        key: key.clone(),
                        new: new.clone().with_ext(None),
                    },
                    Change::Update { key, old, new } => Change::Update {
                        key: key.clone(),
                        old: old.clone(),
                        new: new.clone().with_ext(None),
                    },
                    o => o.clone(),
                })
                .collect();
            self.0.apply(zone, observed, &bare).await
        }
    }

    #[tokio::test]
    #[should_panic(expected = "g17 per-record provider setting `proxied`] step 1")]
    async fn a_provider_that_loses_settings_fails_the_suite() {
        let p = Forgetful(MemoryProvider::new("m"));
        conformance::run_suite(&p, "control.test.").await;
    }

    #[tokio::test]
    async fn no_declared_settings_means_no_settings_group() {
        let mut caps = Capabilities::everything();
        caps.record_settings.clear();
        let p = MemoryProvider::new("m").with_capabilities(caps);
        let report = conformance::run_suite(&p, "control.test.").await;
        // Every group but the settings group (g17).
        let all = conformance::groups(&zonekeeper::model::Fqdn::parse("control.test.").unwrap());
        assert_eq!(report.groups, all.len(), "{report:?}");
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    }

    #[tokio::test]
    async fn undeclared_types_are_skipped_and_reported() {
        let mut caps = Capabilities::everything();
        caps.types.remove(&RecordType::LOC);
        caps.types.remove(&RecordType::CAA);
        let p = MemoryProvider::new("m").with_capabilities(caps);
        let report = conformance::run_suite(&p, "control.test.").await;
        let skipped = report.skipped_steps();
        assert_eq!(
            skipped,
            [
                "g08: change flags and values",
                "g08: issue, issuewild ;, iodef critical",
                "g09: change LOC",
                "g09: create LOC",
                // The edge-value groups: one step per type, so only these.
                "g18: create: CAA",
                "g19: create: CAA",
                "g20: create: CAA",
                "g21: another one",
                "g21: create",
                "g21: size and precisions 90000000 m, the rest deleted",
            ]
            .map(String::from)
            .into(),
        );
        assert!(report
            .skipped
            .iter()
            .all(|s| s.reason.contains("cannot store")));
    }
}

/// A zone the read did not find is created as its own step before the first write, when the
/// provider declares it can; otherwise every change fails `NotFound` and nothing is written.
#[tokio::test]
async fn missing_zones_are_created_first_or_refused() {
    use zonekeeper::apply::{apply_zone_plan, ApplyOptions};
    use zonekeeper::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};
    use zonekeeper::plan::{plan_zone, Capabilities, PlanInput, Policy, Thresholds};
    use zonekeeper::provider::{ErrorKind, Provider};

    let origin = Fqdn::parse("new.test.").unwrap();
    let mut desired = Zone::new(origin.clone());
    for (i, name) in ["a.new.test.", "b.new.test."].iter().enumerate() {
        desired.put(
            RrKey::new(Fqdn::parse(name).unwrap(), RecordType::A),
            RrSet::new(60, vec![RData::A([192, 0, 2, i as u8].into())]),
        );
    }
    for creates in [true, false] {
        let caps = Capabilities {
            creates_zones: creates,
            ..Capabilities::everything()
        };
        let p = MemoryProvider::new("mem").with_capabilities(caps);
        let live = p.read_zone(&origin).await.unwrap();
        assert!(!live.exists);
        let plan = plan_zone(&PlanInput {
            processors: &Default::default(),
            target: "mem",
            desired: &desired,
            live: &live.zone,
            live_exists: false,
            unmanaged: &|_: &RrKey| false,
            normalize: &|_, _| None,
            caps: p.capabilities(),
            policy: Policy::Sync,
            thresholds: Thresholds::default(),
            last_apply: None,
        });
        let report = apply_zone_plan(&p, &plan, &live, &ApplyOptions::default()).await;
        let after = p.read_zone(&origin).await.unwrap();
        if creates {
            assert!(report.all_ok(), "{:?}", report.results);
            assert_eq!(after.zone, desired);
        } else {
            assert_eq!(report.results.len(), 2);
            for (_, o) in &report.results {
                let e = o.as_ref().unwrap_err();
                assert_eq!(e.kind, ErrorKind::NotFound);
                assert!(e.message.contains("cannot create"), "{}", e.message);
            }
            assert_eq!(report.calls, 0, "nothing may be written");
            assert!(!after.exists);
        }
    }
}
