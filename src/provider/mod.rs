//! The DNS provider contract (v2): how zonekeeper reads and writes a DNS host, one
//! implementation per file. Providers know the model, plan and secret types only: no git,
//! manifests, config, metrics (they report to a [`CallObserver`]) or whole-write retries
//! (those live in `apply`; the shared HTTP transport retries single idempotent requests).

pub mod dnswire;
pub mod http;
pub mod memory;
pub mod powerdns;
pub mod registry;
pub mod rfc2136;
pub mod rfc3597;
pub mod zonefile;

#[cfg(test)]
mod settings_tests;

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{Fqdn, RrKey, RrSet, Zone};
use crate::plan::{Capabilities, Change};
use crate::retry::RetryPolicy;
use crate::secret::SecretPolicy;

/// How a provider call failed; decides whether it is retried.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Timeouts, connection errors, 5xx: retried with backoff.
    Transient,
    /// 429 and the like: retried after `retry_after` when given.
    RateLimited,
    /// The live state changed under us (a guard or version check failed): re-read and re-plan.
    Conflict,
    /// The server refused this change (bad value, policy): not retried.
    Rejected,
    /// The zone does not exist on the target.
    NotFound,
    /// Credentials refused.
    Auth,
    /// The target cannot do this at all.
    Unsupported,
    /// The change was never sent because an earlier part of its batch failed.
    NotAttempted,
    /// The provider broke the [`Provider`] contract (e.g. `apply` returned fewer or more
    /// outcomes than it was given changes): a bug in the backend, not retried. What the
    /// server did with the change is unknown; the next plan shows it.
    ProviderBug,
}

impl ErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::RateLimited)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Rejected => "rejected",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Auth => "auth",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::NotAttempted => "not-attempted",
            ErrorKind::ProviderBug => "provider-bug",
        }
    }
}

/// A provider error: its kind, the provider's own message, and when to retry if it said.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, asking to be retried after `wait` (a `Retry-After` header).
    pub fn with_retry_after(mut self, wait: Duration) -> ProviderError {
        self.retry_after = Some(wait);
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

/// Provider-private data a read hands to the write that follows it: per-record ids
/// (Cloudflare, Porkbun, Name.com), the raw host list of a whole-zone writer (Namecheap's
/// `setHosts`), anything the write needs that the model does not hold. Opaque to every
/// stage but the backend that made it, which downcasts it with [`ProviderState::get`].
/// Cloning shares the data.
#[derive(Clone, Default)]
pub struct ProviderState(Option<Arc<dyn Any + Send + Sync>>);

impl ProviderState {
    /// Wraps a backend's own value.
    pub fn new<T: Any + Send + Sync>(value: T) -> ProviderState {
        ProviderState(Some(Arc::new(value)))
    }

    /// The backend's value, if this state holds a `T`.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.as_deref().and_then(|v| v.downcast_ref::<T>())
    }

    /// True when the read kept nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for ProviderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProviderState(..)"
        } else {
            "ProviderState(empty)"
        })
    }
}

/// A zone as read from a provider: what the plan is made from and what the write is given.
///
/// `zone` holds every RRset the provider holds that zonekeeper can represent (never the
/// SOA); `state` keeps what the write needs beyond that. The same `Observed` is passed to
/// every [`Provider::apply`] call of one zone plan: batches never touch the same RRset
/// twice, so ids read for one RRset stay valid until its own batch.
#[derive(Clone, Debug)]
pub struct Observed {
    /// False when the provider has no such zone (then `zone` is empty).
    pub exists: bool,
    pub zone: Zone,
    /// The provider's version of the zone when it has one (serial, etag), for logs and
    /// optimistic writes.
    pub version: Option<String>,
    pub state: ProviderState,
}

impl Observed {
    /// A zone the provider does not have.
    pub fn absent(origin: Fqdn) -> Observed {
        Observed {
            exists: false,
            zone: Zone::new(origin),
            version: None,
            state: ProviderState::default(),
        }
    }

    /// A zone the provider has, with nothing kept for the write.
    pub fn present(zone: Zone) -> Observed {
        Observed {
            exists: true,
            zone,
            version: None,
            state: ProviderState::default(),
        }
    }

    /// Keeps provider-private data for the write.
    pub fn with_state(mut self, state: ProviderState) -> Observed {
        self.state = state;
        self
    }
}

/// The result of one change.
pub type ChangeOutcome = Result<(), ProviderError>;

/// Helpers every backend uses to build its outcome list (exactly one per change, in order).
pub mod outcome {
    use super::{ChangeOutcome, ErrorKind, ProviderError};

    /// `n` copies of the same failure (a call that failed as a whole).
    pub fn all(err: &ProviderError, n: usize) -> Vec<ChangeOutcome> {
        (0..n).map(|_| Err(err.clone())).collect()
    }

    /// `n` successes.
    pub fn ok(n: usize) -> Vec<ChangeOutcome> {
        (0..n).map(|_| Ok(())).collect()
    }

    /// An atomic batch refused because of change `culprit`: it gets `err`, every other
    /// change `NotAttempted`.
    pub fn blame(culprit: usize, err: &ProviderError, n: usize) -> Vec<ChangeOutcome> {
        (0..n)
            .map(|i| {
                Err(if i == culprit {
                    err.clone()
                } else {
                    ProviderError::new(
                        ErrorKind::NotAttempted,
                        format!("not applied: the batch was refused ({})", err.message),
                    )
                })
            })
            .collect()
    }
}

/// Receives what a provider's transport does, for metrics. Implemented by the controller
/// (telemetry); providers and the HTTP client only call it. Every method has a no-op default.
pub trait CallObserver: Send + Sync {
    /// One request sent (an HTTP request, a DNS message): `endpoint` is a short, bounded
    /// label (`GET /zones/{id}`), `outcome` `ok` or an [`ErrorKind::as_str`].
    fn request(&self, _provider: &str, _endpoint: &str, _outcome: &str, _duration: Duration) {}
    /// A failed request (or batch) will be tried again after `wait`.
    fn retry(&self, _provider: &str, _kind: ErrorKind, _wait: Duration) {}
    /// The provider's in-flight request limit changed (overload lowered it, successes
    /// raised it): see [`http::InFlightLimit`].
    fn in_flight_limit(&self, _provider: &str, _limit: usize) {}
}

/// A [`CallObserver`] that ignores everything (one-shot commands without metrics, tests).
pub struct NoObserver;

impl CallObserver for NoObserver {}

/// What building a provider needs besides its own settings: which secrets it may resolve,
/// the retry policy its transport applies to each idempotent request, and the observer its
/// transport reports requests and retries to.
#[derive(Clone)]
pub struct BuildContext {
    pub secrets: SecretPolicy,
    pub retry: RetryPolicy,
    pub observer: Arc<dyn CallObserver>,
}

impl BuildContext {
    /// The given secret policy, the default retry policy, no observer.
    pub fn new(secrets: SecretPolicy) -> BuildContext {
        BuildContext {
            secrets,
            retry: RetryPolicy::default(),
            observer: Arc::new(NoObserver),
        }
    }
}

/// What one change costs against a provider's [`BatchLimit`], in the API's own units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCost {
    /// Operations (an RRset replace, a record post): 1 for most APIs.
    pub changes: usize,
    /// Records or values sent (Cloudflare counts records per batch, Route 53 values).
    pub records: usize,
    /// Characters or bytes of the request body this change adds.
    pub bytes: usize,
}

impl BatchCost {
    /// The cost most RRset APIs have: one change, the values on both sides, their
    /// presentation-format length.
    pub fn default_for(change: &Change) -> BatchCost {
        let sets = change.old().into_iter().chain(change.new_set());
        let mut cost = BatchCost {
            changes: 1,
            ..BatchCost::default()
        };
        for s in sets {
            cost.records += s.len();
            cost.bytes += s
                .values()
                .iter()
                .map(|v| v.to_string().len() + 1)
                .sum::<usize>();
        }
        cost.bytes += change.key().name.as_str().len();
        cost
    }
}

/// A DNS host that zonekeeper can read and write. Registrars have their own trait
/// ([`crate::registrar::Registrar`]).
///
/// Contract, checked by the conformance suite in `tests/conformance`:
/// - `read_zone` reports a missing zone as `Ok(Observed { exists: false, .. })`;
/// - `apply` returns exactly one outcome per change, in order (`apply` treats fewer or more
///   as a provider bug and fails the batch loudly);
/// - providers do not retry whole writes: the transport may retry one idempotent request
///   under [`BuildContext::retry`], `apply` retries and bisects batches.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The name given in the configuration (`providers: {<name>: ...}`).
    fn name(&self) -> &str;

    /// The provider type (`zonefile`, `memory`, `powerdns`, ...); also the key of the
    /// octoDNS per-record settings block it reads (`octodns: {cloudflare: {...}}`).
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> &Capabilities;

    /// What `change` costs against [`Capabilities::batch`]; `apply` splits batches by it.
    fn cost(&self, change: &Change) -> BatchCost {
        BatchCost::default_for(change)
    }

    /// Rewrites a desired RRset into the form this provider stores and reports it in
    /// (e.g. Cloudflare's TTL 1 = automatic, settings at their default dropped), so a read
    /// back compares equal and no perpetual diff appears. Returns a note for the plan when
    /// something the user wrote was changed. Default: [`drop_unstored_settings`] (values and
    /// TTL as given; settings the target does not store, per
    /// [`Capabilities::record_settings`], dropped with a note).
    fn normalize(&self, key: &RrKey, set: &mut RrSet) -> Option<String> {
        drop_unstored_settings(self.kind(), self.capabilities(), key, set)
    }

    /// Zones the provider holds.
    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError>;

    /// Reads a whole zone. A missing zone is `Ok` with `exists: false`, not an error.
    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError>;

    /// Whether [`Provider::read_rrsets`] reads these changes' RRsets back exactly as
    /// [`Provider::read_zone`] would report them, and cheaper than a whole read of a zone
    /// of `live_rrsets` RRsets: the controller then verifies a write by reading back only
    /// what it touched. Default `false` (the controller re-reads the whole zone). A provider
    /// whose partial reads miss something some RRsets can hold (PowerDNS 4.x hides disabled
    /// records from them) answers `false` for changes that hold it.
    fn reads_rrsets(&self, _changes: &[Change], _live_rrsets: usize) -> bool {
        false
    }

    /// Reads the RRsets `keys` of a zone: an [`Observed`] whose `zone` holds each of them
    /// the provider has (as [`Provider::read_zone`] reports it) and nothing else. A missing
    /// zone is `Ok` with `exists: false`. Default: the whole zone, cut to `keys`.
    async fn read_rrsets(&self, zone: &Fqdn, keys: &[RrKey]) -> Result<Observed, ProviderError> {
        let whole = self.read_zone(zone).await?;
        Ok(keep_only(whole, keys))
    }

    /// Creates an empty zone (called once, before the first write, when the read said it
    /// does not exist and [`Capabilities::creates_zones`] is true). Must be idempotent: a
    /// zone that already exists (a retry after a lost answer) is `Ok`.
    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            format!("{} cannot create zone {zone}", self.kind()),
        ))
    }

    /// Applies changes (in apply order, within [`Capabilities::batch`]; for
    /// [`Granularity::Zone`](crate::plan::Granularity::Zone) writers every change of the
    /// plan at once) and returns exactly one outcome per change, in order. `observed` is
    /// the read the plan was made from. Providers with atomic batches fail every outcome
    /// when the batch is refused (use [`outcome::blame`] when the culprit is known).
    async fn apply(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome>;
}

/// `observed` with only the RRsets `keys` (the default [`Provider::read_rrsets`], and a
/// provider's fallback when its server returned more than it asked for).
pub fn keep_only(observed: Observed, keys: &[RrKey]) -> Observed {
    let mut zone = Zone::new(observed.zone.origin.clone());
    for k in keys {
        if let Some(s) = observed.zone.get(k) {
            zone.put(k.clone(), s.clone());
        }
    }
    Observed { zone, ..observed }
}

/// Drops the provider settings (`octodns: {<kind>: {...}}`) of `set` that a target of type
/// `kind` does not store ([`Capabilities::record_settings`]), so they never show as a
/// change the target cannot make. Returns a note naming what was dropped, or `None` when
/// nothing was.
pub fn drop_unstored_settings(
    kind: &str,
    caps: &Capabilities,
    key: &RrKey,
    set: &mut RrSet,
) -> Option<String> {
    let ext = set.ext()?;
    if caps.record_settings.is_empty() {
        set.set_ext(None);
        return Some(format!(
            "{key}: {kind} stores no per-record settings: octodns.{kind} ignored"
        ));
    }
    if ext.iter().all(|(k, _)| caps.stores_setting(k)) {
        return None;
    }
    let mut kept = ext.clone();
    let mut dropped = Vec::new();
    kept.retain(|k, _| {
        let stored = caps.stores_setting(k);
        if !stored {
            dropped.push(format!("octodns.{kind}.{k}"));
        }
        stored
    });
    set.set_ext(Some(Arc::new(kept)));
    Some(format!(
        "{key}: {kind} does not store {}: ignored",
        dropped.join(", ")
    ))
}
