//! What the daemon tells the outside: Prometheus metrics, the audit journal and its status
//! as data. Fed by the controller from stage reports; no stage below the controller touches
//! them.

pub mod journal;
pub mod metrics;
pub mod status;
