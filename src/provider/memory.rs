//! `memory`: zones held in process memory. For tests and dry runs; it forgets everything
//! when the process ends. Faults can be injected to exercise retries and per-change outcomes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{ChangeOutcome, ErrorKind, Observed, Provider, ProviderError};
use crate::model::{Fqdn, Zone};
use crate::plan::{diff::apply_to, Capabilities, Change};

/// A predicate that rejects individual changes (as a server refusing a value would).
pub type RejectFn = dyn Fn(&Change) -> Option<String> + Send + Sync;

#[derive(Default)]
struct State {
    zones: BTreeMap<Fqdn, Zone>,
    /// Errors returned by the next calls to `apply`, one per call, whole batch.
    faults: VecDeque<ProviderError>,
}

/// Process-local zones. Cloning shares the same store.
#[derive(Clone)]
pub struct MemoryProvider {
    name: String,
    caps: Capabilities,
    state: Arc<Mutex<State>>,
    reject: Option<Arc<RejectFn>>,
    apply_calls: Arc<AtomicUsize>,
}

impl MemoryProvider {
    pub fn new(name: &str) -> MemoryProvider {
        MemoryProvider {
            name: name.to_string(),
            caps: Capabilities::everything(),
            state: Arc::default(),
            reject: None,
            apply_calls: Arc::default(),
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

    /// How many times `apply` was called.
    pub fn apply_calls(&self) -> usize {
        self.apply_calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "memory"
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

    /// Adds an empty zone (no fault is injected here: faults are for writes).
    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        self.lock()
            .zones
            .entry(zone.clone())
            .or_insert_with(|| Zone::new(zone.clone()));
        Ok(())
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        _observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        self.apply_calls.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
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
