//! Manifests: octoDNS YAML zone files read, validated and turned into the model.
//!
//! Knows files and YAML; knows nothing of git, providers or plans. Every problem is a
//! [`Diagnostic`] naming the file, line and record; reading never stops at the first one.

pub mod diag;
pub mod domain;
pub mod fields;
pub mod octodns;
pub mod raw;
pub mod render;
pub mod schema;

use crate::config::{read_input, Config, ZoneConfig};
use crate::model::Fqdn;

pub use diag::{Diagnostic, Diagnostics};
pub use octodns::{TargetFilter, ZoneManifest};

/// Reads one zone's manifest. A file with no records at all is refused: an emptied file
/// must never turn into "delete every record".
pub fn load_zone(zc: &ZoneConfig) -> Result<ZoneManifest, Vec<Diagnostic>> {
    let text = read_input(&zc.file).map_err(|d| vec![d])?;
    let m = octodns::parse_zone(&text, &zc.file, &zc.name)?;
    if m.zone.is_empty() && m.ignored.is_empty() {
        return Err(vec![Diagnostic::file(
            &zc.file,
            format!(
                "zone {} has no records; refusing to plan it into emptiness (remove the zone from the config to stop managing it)",
                zc.name
            ),
        )]);
    }
    Ok(m)
}

/// Reads the manifests of every configured zone (or only `only`). All problems in all
/// files are collected.
pub fn load_all(
    config: &Config,
    only: Option<&Fqdn>,
) -> Result<Vec<(ZoneConfig, ZoneManifest)>, Diagnostics> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for zc in config
        .zones
        .iter()
        .filter(|z| only.is_none_or(|o| &z.name == o))
    {
        match load_zone(zc) {
            Ok(m) => out.push((zc.clone(), m)),
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(diags))
    }
}
