//! What a target can store and how it writes: declared by each provider, consumed by the
//! planner (to fit the desired zone) and by apply (to batch writes).

use std::collections::BTreeSet;

use crate::model::{RData, RecordType, RrSet};

/// The unit a provider writes in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// The whole zone is rewritten at once (zone files, Namecheap setHosts).
    Zone,
    /// One RRset per operation (PowerDNS, Route 53, GoDaddy, Gandi).
    RrSet,
    /// One record per operation, by ID (Cloudflare, Porkbun, Name.com).
    Record,
}

/// The most one write call may carry, in the units the API counts (each `None`: no limit).
/// `apply` fills a batch until the next change's cost would pass one of them; a single
/// change over a limit is sent alone (the server decides).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchLimit {
    /// Operations per call (RFC 2136 messages, Route 53's 1,000 changes).
    pub max_changes: Option<usize>,
    /// Records or values per call (Cloudflare's 200/3,500 records per batch, Route 53's
    /// 1,000 values).
    pub max_records: Option<usize>,
    /// Request body size (Route 53's 32,000 characters, PowerDNS's body cap).
    pub max_bytes: Option<usize>,
}

impl BatchLimit {
    /// No limit at all.
    pub const UNLIMITED: BatchLimit = BatchLimit {
        max_changes: None,
        max_records: None,
        max_bytes: None,
    };

    /// At most `n` changes per call.
    pub fn changes(n: usize) -> BatchLimit {
        BatchLimit {
            max_changes: Some(n),
            ..BatchLimit::UNLIMITED
        }
    }
}

/// A provider's declared abilities.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Capabilities {
    /// Types the target can store; others are skipped with a reason, never silently dropped.
    pub types: BTreeSet<RecordType>,
    pub ttl_min: u32,
    pub ttl_max: u32,
    pub granularity: Granularity,
    /// How much one write call may carry, in the API's units (see `Provider::cost`).
    pub batch: BatchLimit,
    /// A write call is applied all-or-nothing.
    pub atomic_batches: bool,
    /// The apex NS RRset can be managed.
    pub root_ns: bool,
    /// A zone that does not exist yet can be created by applying to it.
    pub creates_zones: bool,
    /// The provider's transport already retries each idempotent request under the one
    /// retry policy (the shared HTTP client does): reads and whole writes are then not
    /// retried again above it, or the tries would multiply (6 x 6 for one read).
    pub transport_retries: bool,
    /// The provider settings (keys of the octoDNS `octodns: {<kind>: {...}}` block) the
    /// target stores and reads back; [`ANY_SETTING`] stores every key. Empty: none, and
    /// `Provider::normalize` drops such a block with a note instead of planning it forever.
    pub record_settings: BTreeSet<&'static str>,
    /// Values the target cannot store although it stores their type (a server's own
    /// limits); an RRset holding one is skipped with the gap's reason, never sent to be
    /// refused or stored as something else.
    pub value_gaps: Vec<ValueGap>,
    /// Owner names the target cannot store (PowerDNS's API takes only letters, digits,
    /// `-`, `_`, `/` and a leading `*`); an RRset at such a name is skipped with the reason.
    pub name_gap: Option<NameGap>,
}

/// A kind of owner name a target cannot store, with the reason.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NameGap {
    /// Why, as the plan's skip line shows it.
    pub reason: &'static str,
    /// Whether a name falls in the gap.
    #[serde(skip)]
    pub applies: fn(&crate::model::Fqdn) -> bool,
}

/// A kind of value a target cannot store, with the reason.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ValueGap {
    pub rtype: RecordType,
    /// Why, as the plan's skip line shows it.
    pub reason: &'static str,
    /// Whether a value falls in the gap.
    #[serde(skip)]
    pub applies: fn(&RData) -> bool,
}

/// In [`Capabilities::record_settings`]: every settings key is stored as given.
pub const ANY_SETTING: &str = "*";

impl Capabilities {
    /// Whether the target stores the settings key `key`.
    pub fn stores_setting(&self, key: &str) -> bool {
        self.record_settings.contains(ANY_SETTING) || self.record_settings.contains(key)
    }

    /// The first declared gap that a value of `set` (of type `rtype`) falls in.
    pub fn value_gap(&self, rtype: RecordType, set: &RrSet) -> Option<&ValueGap> {
        self.value_gaps
            .iter()
            .find(|g| g.rtype == rtype && set.values().iter().any(|v| (g.applies)(v)))
    }

    /// The name gap `name` falls in, if any.
    pub fn name_gap(&self, name: &crate::model::Fqdn) -> Option<&NameGap> {
        self.name_gap.as_ref().filter(|g| (g.applies)(name))
    }

    /// Everything, no limits, any provider setting: the memory provider and tests.
    pub fn everything() -> Capabilities {
        Capabilities {
            types: RecordType::ALL.into_iter().collect(),
            ttl_min: 0,
            ttl_max: crate::model::MAX_TTL,
            granularity: Granularity::Zone,
            batch: BatchLimit::UNLIMITED,
            atomic_batches: true,
            root_ns: true,
            creates_zones: true,
            transport_retries: false,
            record_settings: [ANY_SETTING].into(),
            value_gaps: Vec::new(),
            name_gap: None,
        }
    }
}
