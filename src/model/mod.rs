//! The normalised model every stage shares: names, types, values, RRsets and zones.
//!
//! Pure data and pure checks: no IO, no async, no provider or manifest knowledge. Manifests
//! and providers convert *into* these types at their edge; everything after trusts them.

pub mod check;
pub mod domain;
pub mod ext;
pub mod name;
pub mod presentation;
pub mod rdata;
pub mod rrset;
pub mod rtype;
pub mod svcb;
pub mod zone;

pub use domain::{DomainField, DomainSettings};
pub use ext::{ExtValue, RecordExt};
pub use name::{Fqdn, NameError};
pub use rdata::RData;
pub use rrset::{CanonicalSet, RrKey, RrSet, MAX_TTL};
pub use rtype::RecordType;
pub use zone::{Zone, ZoneProblem};
