//! Manifests: octoDNS YAML zone files read, validated and turned into the model.
//!
//! Knows files and YAML; knows nothing of git, providers or plans. Every problem is a
//! [`Diagnostic`] naming the file, line and record; reading never stops at the first one.

pub mod domain;
pub mod fields;
pub mod octodns;
pub mod raw;
pub mod render;
pub mod schema;
pub mod yaml11;

use std::path::Path;

use crate::input::{read_input_inside, Diagnostic};
use crate::model::Fqdn;

pub use octodns::{TargetFilter, ZoneManifest};

/// Reads the manifest of zone `origin` from the octoDNS YAML file at `path`, which must be
/// a regular file inside `root` (the directory holding zonekeeper.yaml). Every problem in
/// the file is returned, each with its line. A file with no records at all is refused: an
/// emptied file must never turn into "delete every record".
pub fn load_zone(root: &Path, path: &Path, origin: &Fqdn) -> Result<ZoneManifest, Vec<Diagnostic>> {
    let text = read_input_inside(root, path).map_err(|d| vec![d])?;
    let includes = raw::Includes::of(root, path);
    let m = octodns::parse_zone_with(&text, path, origin, Some(includes))?;
    if m.zone.is_empty() && m.ignored.is_empty() {
        return Err(vec![Diagnostic::file(
            path,
            format!(
                "zone {origin} has no records; refusing to plan it into emptiness (remove the zone from the config to stop managing it)"
            ),
        )]);
    }
    Ok(m)
}
