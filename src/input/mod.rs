//! Input files as text: reading them ([`read`]), the YAML limits every parser uses, the
//! [`Diagnostic`] every problem in them becomes, and the one duration grammar of every
//! setting ([`duration`]).
//!
//! A leaf: imports no other zonekeeper module, so `config` and `manifest` share it without
//! knowing each other.

pub mod diag;
pub mod duration;
pub mod read;

pub use diag::{from_yaml_error, Diagnostic, Diagnostics, Pos};
pub use duration::HumanDuration;
pub use read::{read_input, read_input_inside, resolve_inside, yaml_options, ConfineError};
