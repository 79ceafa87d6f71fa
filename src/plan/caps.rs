//! What a target can store and how it writes: declared by each provider, consumed by the
//! planner (to fit the desired zone) and by apply (to batch writes).

use std::collections::BTreeSet;

use crate::model::RecordType;

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

/// A provider's declared abilities.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Capabilities {
    /// Types the target can store; others are skipped with a reason, never silently dropped.
    pub types: BTreeSet<RecordType>,
    pub ttl_min: u32,
    pub ttl_max: u32,
    pub granularity: Granularity,
    /// Most changes one write call may carry (`None`: unlimited).
    pub max_batch: Option<usize>,
    /// A write call is applied all-or-nothing.
    pub atomic_batches: bool,
    /// The apex NS RRset can be managed.
    pub root_ns: bool,
    /// A zone that does not exist yet can be created by applying to it.
    pub creates_zones: bool,
}

impl Capabilities {
    /// Everything, no limits: the memory provider and tests.
    pub fn everything() -> Capabilities {
        Capabilities {
            types: RecordType::ALL.into_iter().collect(),
            ttl_min: 0,
            ttl_max: crate::model::MAX_TTL,
            granularity: Granularity::Zone,
            max_batch: None,
            atomic_batches: true,
            root_ns: true,
            creates_zones: true,
        }
    }
}
