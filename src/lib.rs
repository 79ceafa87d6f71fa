//! zonekeeper keeps DNS zones exactly as a git repository of YAML manifests says.
//!
//! The data flows one way, one module per stage:
//!
//! ```text
//! config + manifest (octoDNS YAML, validated) -> model (zones of RRsets)
//!   -> plan (diff against live state read through a provider; policy, safety, hash)
//!   -> apply (batched, retried, bisected) -> report
//! ```
//!
//! [`controller`] only orchestrates these stages. Providers live one per file under
//! [`provider`] behind one trait; nothing below the controller knows about git or HTTP.

pub mod apply;
pub mod config;
pub mod controller;
pub mod http;
pub mod input;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod provider;
pub mod registrar;
pub mod retry;
pub mod secret;
pub mod source;
pub mod telemetry;
