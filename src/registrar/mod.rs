//! Registrars: the `Registrar` trait (a registrar's side of a domain, separate from the DNS
//! [`Provider`](crate::provider::Provider)), domain state and the registrar registry.
//!
//! A registrar reads and changes a domain's nameservers, transfer lock, WHOIS privacy,
//! auto-renew flag and DS set. What each vendor's API can do differs a lot (see the
//! registrar matrix in `shared/provider-api-notes.md`: Namecheap cannot set auto-renew or
//! DS records, Cloudflare cannot change nameservers, GoDaddy's privacy is a purchase), so
//! every registrar declares [`RegistrarCaps`] per field and the planner reports what it
//! cannot do. Vendor registrars live beside their DNS provider (one file per vendor,
//! sharing its credentials and HTTP client) and register in [`build`].
//!
//! Like providers, registrars never retry whole operations (the controller does, with the
//! one [`RetryPolicy`](crate::retry::RetryPolicy)) and never trigger paid actions (renew,
//! privacy purchase).

pub mod memory;

use std::time::SystemTime;

use async_trait::async_trait;

use crate::model::{DomainSettings, Fqdn};
use crate::provider::{BuildContext, ChangeOutcome, ProviderError, ProviderState};
use crate::secret::SecretError;

pub use crate::model::DomainField;
pub use crate::plan::domain::{DomainChange, DomainPlan, FieldAccess, RegistrarCaps, Unsupported};
pub use crate::provider::ErrorKind;

/// One domain in a registrar account, as its list call reports it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DomainSummary {
    pub name: Fqdn,
    /// When the registration ends (GoDaddy `expires`, Gandi `dates.registry_ends_at`,
    /// Namecheap `Expires`, ...); `None` when the registrar did not say.
    pub expires: Option<SystemTime>,
    /// The registrar's or registry's status words as reported (`ACTIVE`,
    /// `clientTransferProhibited`, ...), unchanged.
    pub status: Vec<String>,
}

/// One domain as a registrar reports it: what the plan is made from and what
/// [`Registrar::apply`] is given back.
#[derive(Clone, Debug)]
pub struct DomainState {
    pub name: Fqdn,
    pub expires: Option<SystemTime>,
    pub status: Vec<String>,
    /// The settings as read; a field is `None` when this registrar cannot report it.
    /// Lists are normalised ([`DomainSettings::normalize`]).
    pub settings: DomainSettings,
    /// Registrar-private data the write needs (Route 53's DS association ids, Namecheap's
    /// WhoisguardID, Gandi's dnskey ids): opaque to every other stage.
    pub private: ProviderState,
}

/// A registrar zonekeeper can read and change domain settings at.
///
/// Contract (as for [`Provider`](crate::provider::Provider)):
/// - `read_domain` of a domain not in the account is `Err` with [`ErrorKind::NotFound`];
/// - fields the registrar cannot read are `None` in [`DomainState::settings`], whatever
///   [`RegistrarCaps`] says;
/// - `apply` returns exactly one outcome per change, in order; a change to a field the
///   registrar cannot write is [`ErrorKind::Unsupported`]. Registrar APIs are not atomic:
///   each change succeeds or fails on its own;
/// - no whole-operation retries: the caller retries failed changes that are retryable.
#[async_trait]
pub trait Registrar: Send + Sync {
    /// The name given in the configuration (the provider entry's name).
    fn name(&self) -> &str;

    /// The registrar type (`memory`, later `gandi`, `godaddy`, ...).
    fn kind(&self) -> &'static str;

    /// What this registrar can read and change, per field.
    fn capabilities(&self) -> &RegistrarCaps;

    /// Every domain in the account, with expiry and status.
    async fn list_domains(&self) -> Result<Vec<DomainSummary>, ProviderError>;

    /// Reads one domain's settings.
    async fn read_domain(&self, domain: &Fqdn) -> Result<DomainState, ProviderError>;

    /// Applies changes (in the given order) to `domain`, whose read was `observed`, and
    /// returns exactly one outcome per change, in order.
    async fn apply(
        &self,
        domain: &Fqdn,
        observed: &DomainState,
        changes: &[DomainChange],
    ) -> Vec<ChangeOutcome>;
}

/// The registrar side of a configured provider entry, when its type has one: the
/// registrar registry (one arm per vendor). A `memory` provider entry is also a memory
/// registrar of the same name, seeded from its `registrar:` settings. `Ok(None)` for
/// DNS-only types (zonefile, powerdns, rfc2136). Secrets are resolved now, through `ctx`.
///
/// # Errors
/// A secret the registrar needs cannot be resolved.
use crate::provider::registry::AnySettings;

pub fn build(
    name: &str,
    settings: &AnySettings,
    _ctx: &BuildContext,
) -> Result<Option<Box<dyn Registrar>>, SecretError> {
    Ok(match settings {
        AnySettings::Memory(s) => Some(Box::new(memory::MemoryRegistrar::from_settings(
            name,
            s.registrar.as_ref(),
        ))),
        AnySettings::Zonefile(_) | AnySettings::Powerdns(_) | AnySettings::Rfc2136(_) => None,
    })
}

/// Provider types that have a registrar side (for messages).
pub const REGISTRAR_TYPES: &[&str] = &["memory"];

/// True when providers with these settings are also registrars (what [`build`] returns
/// `Some` for), without building them or resolving secrets (`validate` contacts nothing).
pub fn is_registrar(settings: &AnySettings) -> bool {
    matches!(settings, AnySettings::Memory(_))
}
