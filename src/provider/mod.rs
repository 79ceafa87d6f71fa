//! The provider trait: how zonekeeper reads and writes a DNS host, one implementation per
//! file. Providers know the model and plan types only: no git, no manifests, no metrics, no
//! retries (those live in `apply` and the controller).

pub mod dnswire;
pub mod http;
pub mod memory;
pub mod powerdns;
pub mod rfc2136;
pub mod rfc3597;
pub mod zonefile;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{Fqdn, Zone};
use crate::plan::{Capabilities, Change};

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
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

/// A zone as read from a provider.
#[derive(Clone, Debug)]
pub struct LiveZone {
    /// False when the provider has no such zone (then `zone` is empty).
    pub exists: bool,
    /// Every RRset the provider holds that zonekeeper can represent (no SOA).
    pub zone: Zone,
}

/// The result of one change.
pub type ChangeOutcome = Result<(), ProviderError>;

/// A DNS host or registrar that zonekeeper can read and write.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The name given in the configuration (`providers: {<name>: ...}`).
    fn name(&self) -> &str;

    /// The provider type (`zonefile`, `memory`, `powerdns`, ...).
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> &Capabilities;

    /// Zones the provider holds.
    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError>;

    /// Reads a whole zone. A missing zone is `Ok` with `exists: false`, not an error.
    async fn read_zone(&self, zone: &Fqdn) -> Result<LiveZone, ProviderError>;

    /// Applies changes (already in apply order, at most `max_batch` of them) and returns
    /// exactly one outcome per change, in order. Providers with atomic batches fail every
    /// outcome when the batch is refused.
    async fn apply(&self, zone: &Fqdn, changes: &[Change]) -> Vec<ChangeOutcome>;
}

/// Builds a provider from its checked configuration, resolving its secrets now.
pub fn build(
    name: &str,
    settings: &crate::config::ProviderSettings,
    secrets: &crate::config::SecretPolicy,
) -> Result<Box<dyn Provider>, crate::config::SecretError> {
    use crate::config::ProviderSettings;
    Ok(match settings {
        ProviderSettings::Memory(_) => Box::new(memory::MemoryProvider::new(name)),
        ProviderSettings::Zonefile(s) => Box::new(zonefile::ZonefileProvider::new(name, s.clone())),
        ProviderSettings::Powerdns(s) => {
            let key = secrets.resolve(&s.api_key)?;
            Box::new(powerdns::PowerdnsProvider::new(name, s.clone(), key))
        }
        ProviderSettings::Rfc2136(s) => {
            let secret = secrets.resolve(&s.tsig.secret)?;
            Box::new(rfc2136::Rfc2136Provider::new(name, s, &secret))
        }
    })
}
