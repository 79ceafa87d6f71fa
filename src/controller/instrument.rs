//! A provider decorator that counts and times every trait call (list, read, create, apply)
//! into the daemon's metrics (`provider_calls_total`, `provider_call_duration_seconds`), so
//! providers themselves never touch metrics. Transport requests, retries and rate limits are
//! counted apart, by the providers' transports reporting to [`Metrics`] as their
//! [`CallObserver`](crate::provider::CallObserver).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::model::Fqdn;
use crate::plan::{Capabilities, Change};
use crate::provider::{ChangeOutcome, Observed, Provider, ProviderError};
use crate::telemetry::metrics::Metrics;

pub struct Instrumented {
    inner: Box<dyn Provider>,
    metrics: Arc<Metrics>,
}

impl Instrumented {
    pub fn new(inner: Box<dyn Provider>, metrics: Arc<Metrics>) -> Instrumented {
        metrics.provider_series(inner.name());
        Instrumented { inner, metrics }
    }

    fn observe(&self, started: Instant, error: Option<&ProviderError>) {
        let name = self.inner.name();
        self.metrics
            .provider_call_duration
            .with_label_values(&[name])
            .observe(started.elapsed().as_secs_f64());
        let outcome = error.map_or("ok", |e| e.kind.as_str());
        self.metrics
            .provider_calls_total
            .with_label_values(&[name, outcome])
            .inc();
    }
}

#[async_trait]
impl Provider for Instrumented {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        let t = Instant::now();
        let r = self.inner.list_zones().await;
        self.observe(t, r.as_ref().err());
        r
    }

    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        let t = Instant::now();
        let r = self.inner.read_zone(zone).await;
        self.observe(t, r.as_ref().err());
        r
    }

    fn reads_rrsets(&self, changes: &[Change], live_rrsets: usize) -> bool {
        self.inner.reads_rrsets(changes, live_rrsets)
    }

    async fn read_rrsets(
        &self,
        zone: &Fqdn,
        keys: &[crate::model::RrKey],
    ) -> Result<Observed, ProviderError> {
        let t = Instant::now();
        let r = self.inner.read_rrsets(zone, keys).await;
        self.observe(t, r.as_ref().err());
        r
    }

    fn cost(&self, change: &Change) -> crate::provider::BatchCost {
        self.inner.cost(change)
    }

    fn normalize(
        &self,
        key: &crate::model::RrKey,
        set: &mut crate::model::RrSet,
    ) -> Option<String> {
        self.inner.normalize(key, set)
    }

    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        let t = Instant::now();
        let r = self.inner.create_zone(zone).await;
        self.observe(t, r.as_ref().err());
        r
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let t = Instant::now();
        let r = self.inner.apply(zone, observed, changes).await;
        // One call: its outcome is the first error, if any change failed.
        let err = r.iter().find_map(|o| o.as_ref().err());
        self.observe(t, err);
        r
    }
}
