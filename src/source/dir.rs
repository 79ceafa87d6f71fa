//! The directory source, for development: the manifests are a local directory, followed
//! with a file system watcher.
//!
//! Owns the watcher and the revision hash. The snapshot root is the directory itself, so
//! unlike a git snapshot it can change under a reader; the debounce below makes a reader
//! start only after writes have paused, which is enough for an editor's save.
//!
//! The revision is `dir:` + SHA-256 over every regular file under the directory (sorted
//! relative paths, lengths and contents). Hidden files and directories (name starting
//! with `.`, such as `.git` or editor swap files) are left out, and so are symlinked
//! directories (no cycles). Anything else counts, including a zonefile provider's output
//! directory if it sits inside: keep such output outside the followed directory, or every
//! write there makes a new (harmless, since unchanged zones are not re-planned) revision.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::{Snapshot, Source, SourceError};

/// Quiet time after the last event before `changed()` resolves.
const QUIET: Duration = Duration::from_millis(300);
/// Longest `changed()` waits for quiet once something changed (a file rewritten
/// continuously must not starve the controller).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// A source following a local directory.
pub struct DirSource {
    root: PathBuf,
    events: Arc<Notify>,
    // Kept for its lifetime: dropping the watcher stops the events.
    _watcher: RecommendedWatcher,
}

impl DirSource {
    /// Watches `path` (which must be a directory) recursively.
    pub fn new(path: impl Into<PathBuf>) -> Result<DirSource, SourceError> {
        let path = path.into();
        let io = |source| SourceError::Io {
            path: path.clone(),
            source,
        };
        // Absolute, so the snapshot root and watcher paths do not depend on a later chdir.
        let root = fs::canonicalize(&path).map_err(io)?;
        if !root.is_dir() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        let events = Arc::new(Notify::new());
        let tx = events.clone();
        let base = root.clone();
        // notify calls this on its own thread; Notify stores one wake-up if nobody waits,
        // which is all "something changed" needs.
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            match res {
                Ok(ev) if relevant(&ev, &base) => tx.notify_one(),
                Ok(_) => {}
                // Lost events (queue overflow): better a needless fetch than a missed one.
                Err(_) => tx.notify_one(),
            }
        })
        .map_err(|e| io(notify_io(e)))?;
        watcher
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|e| io(notify_io(e)))?;
        Ok(DirSource {
            root,
            events,
            _watcher: watcher,
        })
    }
}

#[async_trait]
impl Source for DirSource {
    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let root = self.root.clone();
        match tokio::task::spawn_blocking(move || scan(&root)).await {
            Ok(r) => r,
            Err(e) => Err(SourceError::Io {
                path: self.root.clone(),
                source: std::io::Error::other(format!("scan task failed: {e}")),
            }),
        }
    }

    async fn changed(&self) {
        self.events.notified().await;
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        // Debounce: an editor's save or a `git checkout` is many events; wait for quiet.
        while tokio::time::Instant::now() < deadline {
            if tokio::time::timeout(QUIET, self.events.notified())
                .await
                .is_err()
            {
                return;
            }
        }
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

fn notify_io(e: notify::Error) -> std::io::Error {
    match e.kind {
        notify::ErrorKind::Io(io) => io,
        _ => std::io::Error::other(e.to_string()),
    }
}

/// An event that may change the revision: not a read, not only hidden paths.
fn relevant(ev: &notify::Event, base: &Path) -> bool {
    use notify::event::{AccessKind, AccessMode};
    // Reads (our own scan included) must not wake the controller, or it would loop.
    if let EventKind::Access(a) = ev.kind {
        if a != AccessKind::Close(AccessMode::Write) {
            return false;
        }
    }
    ev.paths.is_empty() || ev.paths.iter().any(|p| !hidden(p, base))
}

fn hidden(p: &Path, base: &Path) -> bool {
    let rel = p.strip_prefix(base).unwrap_or(p);
    rel.components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// Hashes the directory (see the module docs) into a snapshot.
fn scan(root: &Path) -> Result<Snapshot, SourceError> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    let mut newest: Option<SystemTime> = None;
    for rel in &files {
        let path = root.join(rel);
        let io = |source| SourceError::Io {
            path: path.clone(),
            source,
        };
        let data = fs::read(&path).map_err(io)?;
        if let Ok(m) = fs::metadata(&path).and_then(|m| m.modified()) {
            newest = Some(newest.map_or(m, |n| n.max(m)));
        }
        // Length-prefixed fields: no two different trees hash the same byte stream.
        let name = rel.to_string_lossy();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    Ok(Snapshot {
        revision: format!("dir:{}", hex::encode(h.finalize())),
        committed_at: newest,
        root: root.to_path_buf(),
    })
}

/// Relative paths (with `/`) of the regular files under `dir`, hidden ones left out.
fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type().map_err(io)?;
        if ft.is_dir() {
            collect(root, &path, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            // A symlinked file is read through like the config loader would; a
            // symlinked directory is not followed (it could loop).
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    Ok(())
}
