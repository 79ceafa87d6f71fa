//! The directory source, for development: the manifests are a local directory, followed
//! with a file system watcher.
//!
//! Owns the watcher, the revision hash and the snapshot copies. Each file is read once: the
//! bytes hashed are the bytes written into `<snapshots>/<hash>/`, an immutable copy the
//! controller loads, so a file rewritten while a revision is loaded can never make the
//! loaded content differ from the revision's hash. The debounce below makes a scan start
//! only after writes have paused (an editor's save).
//!
//! The revision is `dir:` + SHA-256 over the manifest files under the directory
//! ([`super::is_manifest_file`]: YAML and age files; sorted relative paths, lengths and
//! contents; a symlinked file counts as its link text and is copied as a link, so the
//! loader's inside-the-root check still applies to it). Hidden files and directories (name
//! starting with `.`, such as `.git` or editor swap files) are left out, and so is anything
//! else (a zonefile provider's output written inside the directory never makes a revision).

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
    /// Where the snapshot copies go (`<state_dir>/dir-snapshots` in the daemon).
    snapshots: PathBuf,
    events: Arc<Notify>,
    // Kept for its lifetime: dropping the watcher stops the events.
    _watcher: RecommendedWatcher,
}

impl DirSource {
    /// Watches `path` (which must be a directory) recursively; snapshots are copied under
    /// `snapshots` (created when needed; the newest few are kept).
    pub fn new(
        path: impl Into<PathBuf>,
        snapshots: impl Into<PathBuf>,
    ) -> Result<DirSource, SourceError> {
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
            snapshots: snapshots.into(),
            events,
            _watcher: watcher,
        })
    }
}

#[async_trait]
impl Source for DirSource {
    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let root = self.root.clone();
        let snapshots = self.snapshots.clone();
        match tokio::task::spawn_blocking(move || scan(&root, &snapshots)).await {
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

/// An event that may change the revision: not a read, not only hidden or non-manifest
/// paths (directories count: a renamed directory moves manifests).
fn relevant(ev: &notify::Event, base: &Path) -> bool {
    use notify::event::{AccessKind, AccessMode};
    // Reads (our own scan included) must not wake the controller, or it would loop.
    if let EventKind::Access(a) = ev.kind {
        if a != AccessKind::Close(AccessMode::Write) {
            return false;
        }
    }
    ev.paths.is_empty()
        || ev
            .paths
            .iter()
            .any(|p| !hidden(p, base) && (super::is_manifest_file(p) || !p.is_file()))
}

fn hidden(p: &Path, base: &Path) -> bool {
    let rel = p.strip_prefix(base).unwrap_or(p);
    rel.components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// One manifest file as scanned: its bytes, or the target of a symlink.
enum Entry {
    File(Vec<u8>),
    Link(PathBuf),
}

/// Reads every manifest file once, hashes it (see the module docs) and copies exactly
/// those bytes into `<snapshots>/<hash>/` unless that copy exists.
fn scan(root: &Path, snapshots: &Path) -> Result<Snapshot, SourceError> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    let mut newest: Option<SystemTime> = None;
    let mut entries = Vec::with_capacity(files.len());
    for rel in files {
        let path = root.join(&rel);
        let io = |source| SourceError::Io {
            path: path.clone(),
            source,
        };
        let meta = fs::symlink_metadata(&path).map_err(io)?;
        let entry = if meta.file_type().is_symlink() {
            Entry::Link(fs::read_link(&path).map_err(io)?)
        } else {
            Entry::File(fs::read(&path).map_err(io)?)
        };
        if let Ok(m) = meta.modified() {
            newest = Some(newest.map_or(m, |n| n.max(m)));
        }
        // Length-prefixed fields: no two different trees hash the same byte stream.
        let name = rel.to_string_lossy();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        match &entry {
            Entry::File(data) => {
                h.update((data.len() as u64).to_le_bytes());
                h.update(data);
            }
            Entry::Link(target) => {
                let t = target.to_string_lossy();
                h.update(u64::MAX.to_le_bytes());
                h.update((t.len() as u64).to_le_bytes());
                h.update(t.as_bytes());
            }
        }
        entries.push((rel, entry));
    }
    let hash = hex::encode(h.finalize());
    let copy = snapshots.join(&hash);
    if !copy.is_dir() {
        write_copy(snapshots, &copy, &hash, &entries)?;
    }
    super::prune_snapshots(snapshots, &copy, KEEP_SNAPSHOTS);
    Ok(Snapshot {
        revision: format!("dir:{hash}"),
        committed_at: newest,
        root: copy,
    })
}

/// How many snapshot copies are kept (the newest by modification time).
const KEEP_SNAPSHOTS: usize = 3;

/// Writes `entries` into a temporary directory and renames it to `copy`.
fn write_copy(
    snapshots: &Path,
    copy: &Path,
    hash: &str,
    entries: &[(PathBuf, Entry)],
) -> Result<(), SourceError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SourceError::Io { path, source }
    };
    fs::create_dir_all(snapshots).map_err(io(snapshots))?;
    let tmp = snapshots.join(format!(".tmp-{hash}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let written = (|| {
        for (rel, entry) in entries {
            let to = tmp.join(rel);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io(parent))?;
            }
            match entry {
                Entry::File(data) => fs::write(&to, data).map_err(io(&to))?,
                Entry::Link(target) => std::os::unix::fs::symlink(target, &to).map_err(io(&to))?,
            }
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        fs::rename(&tmp, copy).map_err(io(copy))
    })();
    if written.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    written
}

/// Relative paths (with `/`) of the manifest files under `dir`, hidden ones left out.
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
        } else if (ft.is_file() || (ft.is_symlink() && path.is_file()))
            && super::is_manifest_file(&path)
        {
            // A symlinked file is read through like the config loader would; a
            // symlinked directory is not followed (it could loop).
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    Ok(())
}
