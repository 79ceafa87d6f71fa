//! `memory`: zones held in process memory. For tests and dry runs; it forgets everything
//! when the process ends. Faults can be injected to exercise retries and per-change outcomes:
//! whole-call failures ([`MemoryProvider::push_fault`], with a `Retry-After` when the error
//! has one), refused values ([`MemoryProvider::with_reject`]), slow calls
//! ([`MemoryProvider::with_latency`], on tokio time), failed zone creations and a provider
//! bug that returns the wrong number of outcomes ([`MemoryProvider::with_outcome_bug`]).

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{BuildContext, ChangeOutcome, ErrorKind, Observed, Provider, ProviderError};
use crate::model::{Fqdn, Zone};
use crate::plan::{diff::apply_to, Capabilities, Change};
use crate::secret::SecretError;
use crate::secret::SecretRef;

/// The `type:` of this backend's config entries.
pub const KIND: &str = "memory";

/// `memory`: zones in process memory (tests, dry runs); also a memory registrar of the same
/// name (see [`crate::registrar::memory`]).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The memory registrar's seeded domains and declared capabilities (tests, examples).
    #[serde(default)]
    #[schemars(with = "Option<crate::registrar::memory::RawMemoryRegistrar>")]
    pub registrar: Option<crate::registrar::memory::MemoryRegistrarSettings>,
}

/// The secret references of these settings: none.
pub fn secrets_mut(_settings: &mut Settings) -> Vec<&mut SecretRef> {
    Vec::new()
}

/// Nothing to check.
pub fn check(_settings: &mut Settings, _base_dir: &Path) -> Result<(), String> {
    Ok(())
}

/// An empty memory provider.
pub fn build(
    name: &str,
    _settings: &Settings,
    _ctx: &BuildContext,
) -> Result<Box<dyn Provider>, SecretError> {
    Ok(Box::new(MemoryProvider::new(name)))
}

/// A predicate that rejects individual changes (as a server refusing a value would).
pub type RejectFn = dyn Fn(&Change) -> Option<String> + Send + Sync;

#[derive(Default)]
struct State {
    zones: BTreeMap<Fqdn, Zone>,
    /// Errors returned by the next calls to `apply`, one per call, whole batch.
    faults: VecDeque<ProviderError>,
    /// Errors returned by the next calls to `create_zone`, one per call.
    create_faults: VecDeque<ProviderError>,
    /// How many changes each `apply` call was given, in call order.
    batches: Vec<usize>,
}

/// A deliberate contract violation, for testing that `apply` catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeBug {
    /// Apply the changes but return this many outcomes fewer (never below zero).
    Fewer(usize),
    /// Apply the changes and return this many extra `Ok` outcomes.
    More(usize),
}

/// Process-local zones. Cloning shares the same store.
#[derive(Clone)]
pub struct MemoryProvider {
    name: String,
    caps: Capabilities,
    state: Arc<Mutex<State>>,
    reject: Option<Arc<RejectFn>>,
    apply_calls: Arc<AtomicUsize>,
    create_calls: Arc<AtomicUsize>,
    latency: Duration,
    outcome_bug: Option<OutcomeBug>,
}

impl MemoryProvider {
    pub fn new(name: &str) -> MemoryProvider {
        MemoryProvider {
            name: name.to_string(),
            caps: Capabilities::everything(),
            state: Arc::default(),
            reject: None,
            apply_calls: Arc::default(),
            create_calls: Arc::default(),
            latency: Duration::ZERO,
            outcome_bug: None,
        }
    }

    /// Replaces the declared capabilities (tests of the fit step and batching).
    pub fn with_capabilities(mut self, caps: Capabilities) -> MemoryProvider {
        self.caps = caps;
        self
    }

    /// Rejects the changes for which `f` returns a message.
    pub fn with_reject(mut self, f: Arc<RejectFn>) -> MemoryProvider {
        self.reject = Some(f);
        self
    }

    /// Makes every `apply` call take `latency` (tokio time, so paused-time tests advance).
    pub fn with_latency(mut self, latency: Duration) -> MemoryProvider {
        self.latency = latency;
        self
    }

    /// Makes `apply` break the one-outcome-per-change contract as `bug` says.
    pub fn with_outcome_bug(mut self, bug: OutcomeBug) -> MemoryProvider {
        self.outcome_bug = Some(bug);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not cascade; the data is still consistent
        // because every mutation is a single insert.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets a zone's content directly (test set-up).
    pub fn seed(&self, zone: Zone) {
        self.lock().zones.insert(zone.origin.clone(), zone);
    }

    /// The current content of a zone.
    pub fn snapshot(&self, zone: &Fqdn) -> Option<Zone> {
        self.lock().zones.get(zone).cloned()
    }

    /// Makes the next `apply` call fail as a whole with `err`.
    pub fn push_fault(&self, err: ProviderError) {
        self.lock().faults.push_back(err);
    }

    /// Makes the next `create_zone` call fail with `err` (nothing is created).
    pub fn push_create_fault(&self, err: ProviderError) {
        self.lock().create_faults.push_back(err);
    }

    /// How many times `apply` was called.
    pub fn apply_calls(&self) -> usize {
        self.apply_calls.load(Ordering::SeqCst)
    }

    /// How many times `create_zone` was called.
    pub fn create_calls(&self) -> usize {
        self.create_calls.load(Ordering::SeqCst)
    }

    /// How many changes each `apply` call was given, in call order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.lock().batches.clone()
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        Ok(self.lock().zones.keys().cloned().collect())
    }

    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        Ok(match self.lock().zones.get(zone) {
            Some(z) => Observed::present(z.clone()),
            None => Observed::absent(zone.clone()),
        })
    }

    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        if let Some(err) = st.create_faults.pop_front() {
            return Err(err);
        }
        st.zones
            .entry(zone.clone())
            .or_insert_with(|| Zone::new(zone.clone()));
        Ok(())
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let mut out = self.apply_inner(zone, observed, changes).await;
        match self.outcome_bug {
            Some(OutcomeBug::Fewer(n)) => out.truncate(out.len().saturating_sub(n)),
            Some(OutcomeBug::More(n)) => out.extend((0..n).map(|_| Ok(()))),
            None => {}
        }
        out
    }
}

impl MemoryProvider {
    async fn apply_inner(
        &self,
        zone: &Fqdn,
        _observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        self.apply_calls.fetch_add(1, Ordering::SeqCst);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let mut st = self.lock();
        st.batches.push(changes.len());
        if let Some(err) = st.faults.pop_front() {
            return changes.iter().map(|_| Err(err.clone())).collect();
        }
        if let Some(reject) = &self.reject {
            let refused: Vec<Option<String>> = changes.iter().map(|c| reject(c)).collect();
            if refused.iter().any(Option::is_some) {
                // Atomic like PowerDNS: nothing from this batch is applied.
                return refused
                    .into_iter()
                    .map(|r| match r {
                        Some(msg) => Err(ProviderError::new(ErrorKind::Rejected, msg)),
                        None => Err(ProviderError::new(
                            ErrorKind::NotAttempted,
                            "batch refused because of another change",
                        )),
                    })
                    .collect();
            }
        }
        let z = st
            .zones
            .entry(zone.clone())
            .or_insert_with(|| Zone::new(zone.clone()));
        apply_to(z, changes);
        changes.iter().map(|_| Ok(())).collect()
    }
}
