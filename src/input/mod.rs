//! Input files as text: reading them ([`read`]), the YAML limits every parser uses, the
//! [`Diagnostic`] every problem in them becomes, and the one duration and size grammars of
//! every setting ([`duration`], [`size`]).
//!
//! A leaf: imports no other zonekeeper module, so `config` and `manifest` share it without
//! knowing each other.

pub mod diag;
pub mod duration;
pub mod read;
pub mod size;

pub use diag::{from_yaml_error, Diagnostic, Diagnostics, Pos};
pub use duration::HumanDuration;
pub use read::{
    max_input_bytes, read_bytes_inside, read_input, read_input_inside, resolve_inside,
    set_max_input_bytes, yaml_options, ConfineError,
};
pub use size::HumanSize;
