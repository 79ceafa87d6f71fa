//! Sources: where the manifests come from. A source produces immutable [`Snapshot`]s: a
//! directory holding `zonekeeper.yaml` and `zones/` exactly as they are at one revision.
//!
//! Knows files and git; knows no YAML and no DNS. The controller loads manifests from a
//! snapshot's `root` with the same code the CLI uses.

pub mod dir;
pub mod git;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

/// File name extensions of the files a revision's manifests can need: zonekeeper.yaml,
/// zone files and domain manifests (YAML), and age-encrypted secrets. Sources put only
/// these into a snapshot. Compared case-sensitively, as zone files are named.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "age"];

/// Whether `path` names a file a manifest can need ([`MANIFEST_EXTENSIONS`]).
pub fn is_manifest_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
}

/// Runs [`prune_snapshots`] on a thread of its own, so deleting an old snapshot (tens of
/// thousands of files at scale) is not on the way from a fetch to the revision in force.
/// At most one prune runs per source; [`Pruner::wait`] before the next snapshot is made,
/// so a prune never races the directory being written or a snapshot about to be reused.
#[derive(Default)]
pub(crate) struct Pruner(std::sync::Mutex<Option<std::thread::JoinHandle<()>>>);

impl Pruner {
    /// Waits for the prune started last, if it still runs.
    pub(crate) fn wait(&self) {
        let running = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = running {
            let _ = h.join();
        }
    }

    /// Starts pruning `snapshots` (see [`prune_snapshots`]) after any earlier prune ends.
    pub(crate) fn start(&self, snapshots: &Path, current: &Path, keep: usize) {
        self.wait();
        let (snapshots, current) = (snapshots.to_path_buf(), current.to_path_buf());
        let spawned = std::thread::Builder::new()
            .name("snapshot-prune".into())
            .spawn(move || prune_snapshots(&snapshots, &current, keep));
        match spawned {
            Ok(h) => *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(h),
            Err(e) => tracing::warn!(error = %e, "cannot start pruning old snapshots"),
        }
    }
}

/// Deletes all snapshot directories under `snapshots` but the newest `keep` (never
/// `current`), and temporary directories (`.tmp-*`) this process or a crash long ago left.
pub(crate) fn prune_snapshots(snapshots: &Path, current: &Path, keep: usize) {
    /// Age after which an unfinished snapshot directory is taken as left by a crash.
    const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(600);
    let Ok(rd) = std::fs::read_dir(snapshots) else {
        return;
    };
    let mut dirs: Vec<(SystemTime, PathBuf)> = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".tmp-") {
            // Ours (a failed attempt) or left by a crash long ago; a young one may be
            // another process's work in progress.
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > STALE_TMP);
            if stale || name.ends_with(&format!("-{}", std::process::id())) {
                let _ = std::fs::remove_dir_all(&p);
            }
            continue;
        }
        if p == current || !p.is_dir() {
            continue;
        }
        let mtime = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        dirs.push((mtime, p));
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    for (_, p) in dirs.into_iter().skip(keep.saturating_sub(1)) {
        if let Err(e) = std::fs::remove_dir_all(&p) {
            tracing::warn!(path = %p.display(), error = %e, "cannot delete an old snapshot");
        }
    }
}

/// The manifests at one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// A git commit id, or for a directory source a content hash (`dir:<sha256>`).
    pub revision: String,
    /// When the revision was made (commit time), for the commit-to-applied SLO.
    pub committed_at: Option<std::time::SystemTime>,
    /// Directory holding the config file and zone files of this revision. Never changes
    /// after the snapshot is returned.
    pub root: PathBuf,
    /// Each file of the snapshot (path relative to `root`, with `/`) and its content id, as
    /// the source knew it without the loader reading the file: `git:<blob id>`,
    /// `sha256:<hex>`. Equal ids mean equal bytes. Symlinks are left out. `None`: the source
    /// gives no index, and a loader must read every file.
    pub files: Option<Arc<FileIndex>>,
}

/// A snapshot's files by path relative to its root, each with its content id
/// ([`Snapshot::files`]).
pub type FileIndex = BTreeMap<PathBuf, String>;

/// Why a source could not produce a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Fetching failed (network, authentication, missing branch): retried at the next poll.
    #[error("fetching {url}: {message}")]
    Fetch { url: String, message: String },
    /// The head commit is not signed by an allowed signer: nothing from it may be applied.
    #[error("commit {revision} refused: {reason}")]
    Unverified { revision: String, reason: String },
    /// The head does not descend from the revision last taken (force-push or rollback):
    /// refused unless the operator allows rewinding.
    #[error("commit {revision} refused: it does not descend from {previous}, the revision last taken (a force-push or rollback would let old manifests delete newer records); restart with --allow-rewind to accept it")]
    Rewound { revision: String, previous: String },
    /// The revision's files are larger in all than the cap: refused whole, the revision in
    /// force stays.
    #[error("commit {revision} refused: its files add up to more than {limit} bytes (max_revision_bytes)")]
    TooLarge { revision: String, limit: u64 },
    /// Reading or writing the local cache failed.
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SourceError {
    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Fetch { .. } => "fetch",
            SourceError::Unverified { .. } => "unverified",
            SourceError::Rewound { .. } => "rewound",
            SourceError::TooLarge { .. } => "too-large",
            SourceError::Io { .. } => "io",
        }
    }
}

/// A place manifests come from.
#[async_trait]
pub trait Source: Send + Sync {
    /// Brings the source up to date and returns the newest snapshot. Cheap when nothing
    /// changed (the same revision and root as last time).
    async fn fetch(&self) -> Result<Snapshot, SourceError>;

    /// Resolves when the source may have changed (a file system event for a directory;
    /// never for git, which is polled and woken by webhooks).
    async fn changed(&self);

    /// Whether revision `revision` is `ancestor` or descends from it, as far as this source
    /// can tell: `Some(false)` also when `ancestor` is unknown to a source that keeps
    /// history; `None` when the source keeps no history (a directory) or cannot tell. The
    /// controller compares commit times then.
    fn descends_from(&self, revision: &str, ancestor: &str) -> Option<bool> {
        let _ = (revision, ancestor);
        None
    }

    /// A human description for logs and `/status` (URL without credentials, or a path).
    fn describe(&self) -> String;
}
