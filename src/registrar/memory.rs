//! `memory`: domains held in process memory, for tests and examples. Every `memory`
//! provider entry is also a memory registrar of the same name; its `registrar:` settings
//! seed the domains and declare the capabilities. Faults can be injected (whole calls,
//! single changes) to exercise retries and per-change outcomes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    DomainChange, DomainField, DomainState, DomainSummary, FieldAccess, Registrar, RegistrarCaps,
};
use crate::model::{domain, DomainSettings, Fqdn};
use crate::provider::{ChangeOutcome, ErrorKind, ProviderError, ProviderState};

/// The `registrar:` block of a `memory` provider entry, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMemoryRegistrar {
    /// Declared access per field (`read-write`, `read-only`, `write-only`, `none`);
    /// unset fields are `read-write`.
    #[serde(default)]
    pub capabilities: RawCaps,
    /// The domains the registrar holds at start, by name.
    #[serde(default)]
    pub domains: BTreeMap<String, RawSeed>,
}

/// Declared access per field.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCaps {
    pub nameservers: Option<FieldAccess>,
    pub lock: Option<FieldAccess>,
    pub privacy: Option<FieldAccess>,
    pub auto_renew: Option<FieldAccess>,
    pub ds: Option<FieldAccess>,
}

/// One seeded domain; unset flags are `false`, unset lists empty.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSeed {
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub lock: bool,
    #[serde(default)]
    pub privacy: bool,
    #[serde(default)]
    pub auto_renew: bool,
    #[serde(default)]
    pub ds: Vec<RawSeedDs>,
    /// Status words `list_domains` reports.
    #[serde(default)]
    pub status: Vec<String>,
}

/// A seeded DS record.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSeedDs {
    pub key_tag: i64,
    pub algorithm: i64,
    pub digest_type: i64,
    pub digest: String,
}

/// The checked `registrar:` block: typed names and DS records.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(try_from = "RawMemoryRegistrar")]
pub struct MemoryRegistrarSettings {
    pub caps: Option<RegistrarCaps>,
    pub domains: BTreeMap<Fqdn, Registration>,
}

impl TryFrom<RawMemoryRegistrar> for MemoryRegistrarSettings {
    type Error = String;

    fn try_from(raw: RawMemoryRegistrar) -> Result<Self, String> {
        let c = raw.capabilities;
        let d = RegistrarCaps::EVERYTHING;
        let caps = RegistrarCaps {
            nameservers: c.nameservers.unwrap_or(d.nameservers),
            lock: c.lock.unwrap_or(d.lock),
            privacy: c.privacy.unwrap_or(d.privacy),
            auto_renew: c.auto_renew.unwrap_or(d.auto_renew),
            ds: c.ds.unwrap_or(d.ds),
        };
        let mut domains = BTreeMap::new();
        let mut errs = Vec::new();
        for (name, seed) in raw.domains {
            let fqdn = match Fqdn::parse(&name) {
                Ok(f) => f,
                Err(e) => {
                    errs.push(format!("registrar domain {name:?}: {e}"));
                    continue;
                }
            };
            let mut nameservers = Vec::new();
            for ns in &seed.nameservers {
                match domain::nameserver(ns) {
                    Ok(n) => nameservers.push(n),
                    Err(e) => errs.push(format!("registrar domain {name:?}: {e}")),
                }
            }
            let mut ds = Vec::new();
            for r in &seed.ds {
                match domain::ds(r.key_tag, r.algorithm, r.digest_type, &r.digest) {
                    Ok(d) => ds.push(d),
                    Err(e) => errs.push(format!("registrar domain {name:?}: DS: {}", e.join("; "))),
                }
            }
            let mut settings = DomainSettings {
                nameservers: Some(nameservers),
                lock: Some(seed.lock),
                privacy: Some(seed.privacy),
                auto_renew: Some(seed.auto_renew),
                ds: Some(ds),
            };
            settings.normalize();
            domains.insert(
                fqdn,
                Registration {
                    settings,
                    expires: None,
                    status: seed.status,
                },
            );
        }
        if errs.is_empty() {
            Ok(MemoryRegistrarSettings {
                caps: Some(caps),
                domains,
            })
        } else {
            Err(errs.join("; "))
        }
    }
}

/// A predicate that refuses single changes (as a registry refusing a value would).
pub type RejectFn = dyn Fn(&Fqdn, &DomainChange) -> Option<ProviderError> + Send + Sync;

/// One domain as the memory registrar stores it (every field set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub settings: DomainSettings,
    pub expires: Option<SystemTime>,
    pub status: Vec<String>,
}

impl Registration {
    /// A registration with no nameservers, no DS, every flag off.
    pub fn new() -> Registration {
        Registration {
            settings: DomainSettings {
                nameservers: Some(Vec::new()),
                lock: Some(false),
                privacy: Some(false),
                auto_renew: Some(false),
                ds: Some(Vec::new()),
            },
            expires: None,
            status: Vec::new(),
        }
    }
}

impl Default for Registration {
    fn default() -> Self {
        Registration::new()
    }
}

#[derive(Default)]
struct State {
    domains: BTreeMap<Fqdn, Registration>,
    /// Errors returned by the next `apply` calls, one per call, for every change.
    apply_faults: VecDeque<ProviderError>,
    /// Errors returned by the next `read_domain`/`list_domains` calls, one per call.
    read_faults: VecDeque<ProviderError>,
}

/// Process-local domains. Cloning shares the same store.
#[derive(Clone)]
pub struct MemoryRegistrar {
    name: String,
    caps: RegistrarCaps,
    state: Arc<Mutex<State>>,
    reject: Option<Arc<RejectFn>>,
    apply_calls: Arc<AtomicUsize>,
}

impl MemoryRegistrar {
    /// An empty registrar that can read and write every field.
    pub fn new(name: &str) -> MemoryRegistrar {
        MemoryRegistrar {
            name: name.to_string(),
            caps: RegistrarCaps::EVERYTHING,
            state: Arc::default(),
            reject: None,
            apply_calls: Arc::default(),
        }
    }

    /// The registrar a `memory` provider entry configures.
    pub fn from_settings(name: &str, s: Option<&MemoryRegistrarSettings>) -> MemoryRegistrar {
        let mut r = MemoryRegistrar::new(name);
        if let Some(s) = s {
            if let Some(caps) = s.caps {
                r.caps = caps;
            }
            for (d, reg) in &s.domains {
                r.seed(d.clone(), reg.clone());
            }
        }
        r
    }

    /// Replaces the declared capabilities (reads then hide unreadable fields, writes to
    /// unwritable ones fail as `Unsupported`).
    pub fn with_capabilities(mut self, caps: RegistrarCaps) -> MemoryRegistrar {
        self.caps = caps;
        self
    }

    /// Refuses the changes for which `f` returns an error; the others still apply (no
    /// registrar API is atomic).
    pub fn with_reject(mut self, f: Arc<RejectFn>) -> MemoryRegistrar {
        self.reject = Some(f);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not cascade; every mutation is one insert.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a domain with these settings (test set-up). Unset fields of
    /// `reg.settings` become "off"/empty.
    pub fn seed(&self, domain: Fqdn, mut reg: Registration) {
        let d = Registration::new().settings;
        let s = &mut reg.settings;
        s.nameservers = s.nameservers.take().or(d.nameservers);
        s.lock = s.lock.or(d.lock);
        s.privacy = s.privacy.or(d.privacy);
        s.auto_renew = s.auto_renew.or(d.auto_renew);
        s.ds = s.ds.take().or(d.ds);
        s.normalize();
        self.lock().domains.insert(domain, reg);
    }

    /// The stored registration, every field (ignores capabilities).
    pub fn snapshot(&self, domain: &Fqdn) -> Option<Registration> {
        self.lock().domains.get(domain).cloned()
    }

    /// Makes the next `apply` call fail every change with `err`.
    pub fn push_fault(&self, err: ProviderError) {
        self.lock().apply_faults.push_back(err);
    }

    /// Makes the next read (`read_domain` or `list_domains`) fail with `err`.
    pub fn push_read_fault(&self, err: ProviderError) {
        self.lock().read_faults.push_back(err);
    }

    /// How many times `apply` was called.
    pub fn apply_calls(&self) -> usize {
        self.apply_calls.load(Ordering::SeqCst)
    }

    fn not_found(&self, domain: &Fqdn) -> ProviderError {
        ProviderError::new(
            ErrorKind::NotFound,
            format!("domain {domain} is not registered at {:?}", self.name),
        )
    }
}

/// Writes one change into a stored registration.
fn write(s: &mut DomainSettings, change: &DomainChange) {
    match change {
        DomainChange::Nameservers { new, .. } => s.nameservers = Some(new.clone()),
        DomainChange::Lock { new, .. } => s.lock = Some(*new),
        DomainChange::Privacy { new, .. } => s.privacy = Some(*new),
        DomainChange::AutoRenew { new, .. } => s.auto_renew = Some(*new),
        DomainChange::Ds { new, .. } => s.ds = Some(new.clone()),
    }
    s.normalize();
}

#[async_trait]
impl Registrar for MemoryRegistrar {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> &RegistrarCaps {
        &self.caps
    }

    async fn list_domains(&self) -> Result<Vec<DomainSummary>, ProviderError> {
        let mut st = self.lock();
        if let Some(e) = st.read_faults.pop_front() {
            return Err(e);
        }
        Ok(st
            .domains
            .iter()
            .map(|(name, r)| DomainSummary {
                name: name.clone(),
                expires: r.expires,
                status: r.status.clone(),
            })
            .collect())
    }

    async fn read_domain(&self, domain: &Fqdn) -> Result<DomainState, ProviderError> {
        let mut st = self.lock();
        if let Some(e) = st.read_faults.pop_front() {
            return Err(e);
        }
        let r = st
            .domains
            .get(domain)
            .ok_or_else(|| self.not_found(domain))?;
        let readable = |f: DomainField| self.caps.get(f).can_read();
        let s = &r.settings;
        Ok(DomainState {
            name: domain.clone(),
            expires: r.expires,
            status: r.status.clone(),
            settings: DomainSettings {
                nameservers: s
                    .nameservers
                    .clone()
                    .filter(|_| readable(DomainField::Nameservers)),
                lock: s.lock.filter(|_| readable(DomainField::Lock)),
                privacy: s.privacy.filter(|_| readable(DomainField::Privacy)),
                auto_renew: s.auto_renew.filter(|_| readable(DomainField::AutoRenew)),
                ds: s.ds.clone().filter(|_| readable(DomainField::Ds)),
            },
            private: ProviderState::default(),
        })
    }

    async fn apply(
        &self,
        domain: &Fqdn,
        _observed: &DomainState,
        changes: &[DomainChange],
    ) -> Vec<ChangeOutcome> {
        self.apply_calls.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        if let Some(err) = st.apply_faults.pop_front() {
            return crate::provider::outcome::all(&err, changes.len());
        }
        let not_found = self.not_found(domain);
        let Some(reg) = st.domains.get_mut(domain) else {
            return crate::provider::outcome::all(&not_found, changes.len());
        };
        changes
            .iter()
            .map(|c| {
                if !self.caps.get(c.field()).can_write() {
                    return Err(ProviderError::new(
                        ErrorKind::Unsupported,
                        format!("{} cannot change {}", self.name, c.field()),
                    ));
                }
                if let Some(e) = self.reject.as_ref().and_then(|f| f(domain, c)) {
                    return Err(e);
                }
                write(&mut reg.settings, c);
                Ok(())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Fqdn {
        Fqdn::parse(s).unwrap()
    }

    #[tokio::test]
    async fn reads_honour_capabilities_and_writes_refuse_unwritable_fields() {
        let r = MemoryRegistrar::new("reg").with_capabilities(RegistrarCaps {
            privacy: FieldAccess::None,
            auto_renew: FieldAccess::ReadOnly,
            ..RegistrarCaps::EVERYTHING
        });
        assert_eq!(
            r.read_domain(&n("example.com")).await.unwrap_err().kind,
            ErrorKind::NotFound
        );
        r.seed(n("example.com"), Registration::new());
        let st = r.read_domain(&n("example.com")).await.unwrap();
        assert_eq!(st.settings.privacy, None);
        assert_eq!(st.settings.auto_renew, Some(false));
        assert_eq!(st.settings.lock, Some(false));
        let out = r
            .apply(
                &n("example.com"),
                &st,
                &[
                    DomainChange::AutoRenew {
                        old: false,
                        new: true,
                    },
                    DomainChange::Lock {
                        old: false,
                        new: true,
                    },
                ],
            )
            .await;
        assert_eq!(out[0].as_ref().unwrap_err().kind, ErrorKind::Unsupported);
        assert!(out[1].is_ok());
        let s = r.snapshot(&n("example.com")).unwrap().settings;
        assert_eq!((s.auto_renew, s.lock), (Some(false), Some(true)));
        assert_eq!(r.list_domains().await.unwrap()[0].name, n("example.com"));
    }

    #[test]
    fn settings_are_checked_when_read() {
        let raw: RawMemoryRegistrar = serde_json::from_value(serde_json::json!({
            "capabilities": {"ds": "none"},
            "domains": {"Example.COM": {"nameservers": ["ns1.example.net"], "lock": true}}
        }))
        .unwrap();
        let s = MemoryRegistrarSettings::try_from(raw).unwrap();
        assert_eq!(s.caps.unwrap().ds, FieldAccess::None);
        let reg = &s.domains[&n("example.com")];
        assert_eq!(reg.settings.lock, Some(true));
        assert_eq!(reg.settings.nameservers, Some(vec![n("ns1.example.net")]));

        let bad: Result<MemoryRegistrarSettings, _> = serde_json::from_value(serde_json::json!({
            "domains": {"example.com": {"nameservers": ["localhost"], "ds": [{"key_tag": 1, "algorithm": 0, "digest_type": 2, "digest": "ab"}]}}
        }));
        let e = bad.unwrap_err().to_string();
        assert!(e.contains("two labels") && e.contains("algorithm 0"), "{e}");
    }
}
