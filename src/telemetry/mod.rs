//! What the daemon tells the outside: Prometheus metrics and the audit journal.
//! Fed by the controller from stage reports; no stage below the controller touches them.

pub mod journal;
pub mod metrics;
