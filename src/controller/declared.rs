//! The guard rails the revision in force declared, kept on disk (`guard-rails.json` beside
//! the audit journal) so a restart does not forget them: the first revision after a
//! restart that loosens a zone's policy or thresholds is still judged by the stricter
//! stored values ([`super::revision::Revision::held_to`]).
//!
//! Owns the file's format: `{"commit": "<revision>", "zones": {"<zone>.": {"policy":
//! "sync", "thresholds": {"update_pct": 30.0, "delete_pct": 30.0, "min_records": 10}}}}`.
//! Written atomically (temporary file, fsync, rename, fsync of the directory).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::revision::GuardRails;
use crate::model::Fqdn;
use crate::plan::{Policy, Thresholds};

/// The file name, in the journal's directory.
pub const FILE_NAME: &str = "guard-rails.json";

/// Where the declared guard rails are kept for a journal at `journal`.
pub fn path_for(journal: &Path) -> PathBuf {
    journal
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(FILE_NAME)
}

#[derive(Serialize, Deserialize)]
struct Stored {
    commit: String,
    zones: BTreeMap<String, Rails>,
}

#[derive(Serialize, Deserialize)]
struct Rails {
    policy: Policy,
    thresholds: Thresholds,
}

/// Why the file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeclaredError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a guard-rails file: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Reads the stored guard rails and the revision that declared them; `Ok(None)` when
/// the file does not exist.
///
/// # Errors
/// The file cannot be read, or is not JSON of the shape above (a zone name included).
pub fn load(path: &Path) -> Result<Option<(String, GuardRails)>, DeclaredError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DeclaredError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let invalid = |message: String| DeclaredError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let stored: Stored = serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
    let mut rails = GuardRails::new();
    for (zone, r) in stored.zones {
        let name = Fqdn::parse(&zone).map_err(|e| {
            invalid(format!(
                "zone {:?}: {e}",
                zone.chars().take(80).collect::<String>()
            ))
        })?;
        rails.insert(name, (r.policy, r.thresholds));
    }
    Ok(Some((stored.commit, rails)))
}

/// Replaces the file with `rails` as declared by `commit`: written to a temporary file,
/// synced, renamed over the old one, and the directory synced, so a crash leaves either
/// the old or the new file whole.
///
/// # Errors
/// Any step of writing failed (the old file then stays as it was).
pub fn store(path: &Path, commit: &str, rails: &GuardRails) -> Result<(), DeclaredError> {
    let stored = Stored {
        commit: commit.to_string(),
        zones: rails
            .iter()
            .map(|(z, (policy, thresholds))| {
                (
                    z.to_string(),
                    Rails {
                        policy: *policy,
                        thresholds: *thresholds,
                    },
                )
            })
            .collect(),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DeclaredError::Io { path, source }
    };
    let mut text = serde_json::to_vec_pretty(&stored).map_err(|e| DeclaredError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push(b'\n');
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".{FILE_NAME}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_for(&dir.path().join("journal.jsonl"));
        assert_eq!(p, dir.path().join(FILE_NAME));
        assert!(load(&p).unwrap().is_none());
        let mut rails = GuardRails::new();
        let strict = Thresholds {
            update_pct: 10.0,
            delete_pct: 5.5,
            min_records: 3,
        };
        rails.insert(
            Fqdn::parse("example.com").unwrap(),
            (Policy::UpsertOnly, strict),
        );
        store(&p, "abc", &rails).unwrap();
        let (commit, back) = load(&p).unwrap().unwrap();
        assert_eq!(commit, "abc");
        assert_eq!(back, rails);
        // Replaced whole, no temporary file left.
        store(&p, "def", &GuardRails::new()).unwrap();
        assert_eq!(load(&p).unwrap().unwrap().0, "def");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(&p, "{\"commit\": 1").unwrap();
        assert!(matches!(load(&p), Err(DeclaredError::Invalid { .. })));
        std::fs::write(
            &p,
            "{\"commit\":\"x\",\"zones\":{\"a..b\":{\"policy\":\"sync\",\"thresholds\":{}}}}",
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("a..b"), "{e}");
    }
}
