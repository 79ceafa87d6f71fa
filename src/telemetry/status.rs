//! The daemon's status as data: what `/status` serves and `/readyz` reads. Written only by
//! the reconcile loop; secrets never reach it (errors carry provider messages, not keys).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// How many past runs each zone keeps.
pub const RUNS_KEPT: usize = 10;

/// RRsets that differ between manifest and live on one target.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Drift {
    /// In the manifest, not live (would be created).
    pub missing: usize,
    /// Live, not in the manifest (would be deleted).
    pub extra: usize,
    /// On both sides with other values or TTL (would be updated).
    pub changed: usize,
}

/// One reconcile of one zone.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub time: String,
    pub revision: String,
    /// `success`, `drift` (policy warn), `unsafe`, `failed`.
    pub outcome: String,
    pub changes_applied: usize,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything known about one zone.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ZoneStatus {
    /// The revision whose manifest was last applied and verified for this zone.
    pub last_applied_revision: Option<String>,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub last_success: Option<String>,
    /// Why the current plan waits for a human (`--force`), if it does.
    #[serde(rename = "unsafe")]
    pub unsafe_reasons: Vec<String>,
    /// Per target, at the last reconcile.
    pub drift: BTreeMap<String, Drift>,
    pub runs: VecDeque<Run>,
}

impl ZoneStatus {
    pub fn record(&mut self, run: Run) {
        self.last_outcome = Some(run.outcome.clone());
        self.last_error = run.error.clone();
        if run.outcome == "success" {
            self.last_success = Some(run.time.clone());
            self.last_applied_revision = Some(run.revision.clone());
        }
        if self.runs.len() == RUNS_KEPT {
            self.runs.pop_front();
        }
        self.runs.push_back(run);
    }
}

/// A source revision that could not be put in force.
#[derive(Clone, Debug, Serialize)]
pub struct RefusedRevision {
    pub revision: String,
    pub reasons: Vec<String>,
}

/// The whole daemon.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DaemonStatus {
    pub source: String,
    /// The revision in force (last good).
    pub revision: Option<String>,
    /// The newest revision that was refused (invalid manifests, unverified signature), if it
    /// is newer than the one in force.
    pub refused_revision: Option<RefusedRevision>,
    /// The last source error (fetch failures), cleared by the next successful fetch.
    pub source_error: Option<String>,
    /// True after every zone of the first good revision was reconciled once.
    pub ready: bool,
    pub zones: BTreeMap<String, ZoneStatus>,
    /// Managed domains (registrar settings): the same record of runs as zones (`drift` is
    /// unused).
    pub domains: BTreeMap<String, ZoneStatus>,
}
