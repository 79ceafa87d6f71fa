//! The directory source, for development: the manifests are a local directory, followed
//! with a file system watcher.
//!
//! Owns the watcher, the revision hash and the snapshot copies. Each file is read once: the
//! bytes hashed are the bytes written into `<snapshots>/<hash>/`, an immutable copy the
//! controller loads, so a file rewritten while a revision is loaded can never make the
//! loaded content differ from the revision's hash. The debounce below makes a scan start
//! only after writes have paused (an editor's save).
//!
//! A scan walks the directory and looks at every file's status (size, times, inode), but
//! reads again only the files whose status changed since the scan that read them, those
//! the watcher reported, and those modified too close to that read to trust their status
//! (git's "racily clean" rule). Every [`FULL_RESCAN`], and whenever the watcher lost events,
//! every file is read again. Unchanged files of a new copy are hard links to the previous
//! copy (both immutable).
//!
//! The revision is `dir:` + SHA-256 over the manifest files under the directory
//! ([`super::is_manifest_file`]: YAML and age files; sorted relative paths, each with the
//! SHA-256 of its content; a symlinked file counts as its link text and is copied as a
//! link, so the loader's inside-the-root check still applies to it). Hidden files and
//! directories (name starting with `.`, such as `.git` or editor swap files) are left out,
//! and so is anything else (a zonefile provider's output written inside the directory never
//! makes a revision).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::{FileIndex, Snapshot, Source, SourceError};

/// Quiet time after the last event before `changed()` resolves.
const QUIET: Duration = Duration::from_millis(300);
/// Longest `changed()` waits for quiet once something changed (a file rewritten
/// continuously must not starve the controller).
const MAX_WAIT: Duration = Duration::from_secs(5);
/// How often a scan reads every file again, whatever their status says.
pub const FULL_RESCAN: Duration = Duration::from_secs(600);
/// A file modified less than this before the scan that read it is read again by the next:
/// its status may not show a write in the same clock tick as the read.
const RACY: Duration = Duration::from_millis(100);

/// A source following a local directory.
pub struct DirSource {
    root: PathBuf,
    /// Where the snapshot copies go (`<state_dir>/dir-snapshots` in the daemon).
    snapshots: PathBuf,
    events: Arc<Notify>,
    /// Paths the watcher reported since the last scan, and whether it lost events.
    reported: Arc<Mutex<Reported>>,
    /// What the last scan found: the next one starts from it.
    last: Arc<Mutex<Option<Scanned>>>,
    /// Deletes old snapshot copies off the fetch path.
    pruner: Arc<super::Pruner>,
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
        let reported = Arc::new(Mutex::new(Reported::default()));
        let report = reported.clone();
        // notify calls this on its own thread; Notify stores one wake-up if nobody waits,
        // which is all "something changed" needs.
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            match res {
                Ok(ev) if relevant(&ev, &base) => {
                    let mut r = report.lock().unwrap_or_else(|p| p.into_inner());
                    r.lost |= ev.need_rescan() || ev.paths.is_empty();
                    r.paths.extend(
                        ev.paths
                            .iter()
                            .filter_map(|p| p.strip_prefix(&base).ok())
                            .map(Path::to_path_buf),
                    );
                    drop(r);
                    tx.notify_one()
                }
                Ok(_) => {}
                // Lost events (queue overflow): better a needless fetch than a missed one,
                // and the next scan reads every file.
                Err(_) => {
                    report.lock().unwrap_or_else(|p| p.into_inner()).lost = true;
                    tx.notify_one()
                }
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
            reported,
            last: Arc::new(Mutex::new(None)),
            pruner: Arc::new(super::Pruner::default()),
            _watcher: watcher,
        })
    }
}

#[async_trait]
impl Source for DirSource {
    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let root = self.root.clone();
        let snapshots = self.snapshots.clone();
        let reported = self.reported.clone();
        let last = self.last.clone();
        let pruner = self.pruner.clone();
        let scan = move || {
            // One scan at a time; what the watcher reports from now on is for the next one.
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            let reported = std::mem::take(&mut *reported.lock().unwrap_or_else(|p| p.into_inner()));
            // A prune still running must not race the copy written or reused now.
            pruner.wait();
            let scanned = scan(&root, &snapshots, last.as_ref(), &reported)?;
            pruner.start(&snapshots, &scanned.copy, KEEP_SNAPSHOTS);
            let snap = scanned.snapshot();
            *last = Some(scanned);
            Ok(snap)
        };
        match tokio::task::spawn_blocking(scan).await {
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

/// What the watcher reported since the last scan.
#[derive(Debug, Default)]
struct Reported {
    /// Paths relative to the root (files or directories).
    paths: BTreeSet<PathBuf>,
    /// Events were lost (queue overflow, a rescan asked for): read every file.
    lost: bool,
}

/// A file's status: when it differs from the status at the last read, the file is read
/// again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Stat {
    fn of(m: &fs::Metadata) -> Stat {
        Stat {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
}

/// One manifest file's content: the SHA-256 of its bytes, or the target of a symlink.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Content {
    File([u8; 32]),
    Link(PathBuf),
}

/// One manifest file as a scan found it.
#[derive(Clone, Debug)]
struct Scan {
    stat: Stat,
    modified: Option<SystemTime>,
    content: Content,
    /// When the scan that read the content started.
    read_at: SystemTime,
}

/// What a scan found, and the copy it made.
#[derive(Clone, Debug)]
struct Scanned {
    files: BTreeMap<PathBuf, Scan>,
    revision: String,
    copy: PathBuf,
    committed_at: Option<SystemTime>,
    index: Arc<FileIndex>,
    /// When every file was last read.
    full_at: Instant,
}

impl Scanned {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            revision: self.revision.clone(),
            committed_at: self.committed_at,
            root: self.copy.clone(),
            files: Some(self.index.clone()),
        }
    }
}

/// Finds the manifest files (see the module docs), reads those `last` cannot vouch for,
/// hashes them and makes the copy `<snapshots>/<hash>/` unless it exists.
fn scan(
    root: &Path,
    snapshots: &Path,
    last: Option<&Scanned>,
    reported: &Reported,
) -> Result<Scanned, SourceError> {
    let started = SystemTime::now();
    let full = match last {
        None => true,
        Some(l) => reported.lost || l.full_at.elapsed() >= FULL_RESCAN,
    };
    let previous = last;
    let last = last.filter(|_| !full);
    let mut rels = Vec::new();
    collect(root, root, &mut rels)?;
    rels.sort();
    let mut files = BTreeMap::new();
    // The bytes read by this scan, to be written into the copy.
    let mut fresh: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for rel in rels {
        let path = root.join(&rel);
        let io = |source| SourceError::Io {
            path: path.clone(),
            source,
        };
        let meta = fs::symlink_metadata(&path).map_err(io)?;
        let stat = Stat::of(&meta);
        let modified = meta.modified().ok();
        let known = last.and_then(|l| l.files.get(&rel)).filter(|s| {
            s.stat == stat
                && !reported.paths.contains(&rel)
                && modified.is_some_and(|m| m + RACY < s.read_at)
        });
        if let Some(s) = known {
            files.insert(rel, s.clone());
            continue;
        }
        let content = if meta.file_type().is_symlink() {
            Content::Link(fs::read_link(&path).map_err(io)?)
        } else {
            let data = fs::read(&path).map_err(io)?;
            let hash: [u8; 32] = Sha256::digest(&data).into();
            fresh.insert(rel.clone(), data);
            Content::File(hash)
        };
        files.insert(
            rel,
            Scan {
                stat,
                modified,
                content,
                read_at: started,
            },
        );
    }
    let mut h = Sha256::new();
    let mut newest: Option<SystemTime> = None;
    let mut index = FileIndex::new();
    for (rel, s) in &files {
        if let Some(m) = s.modified {
            newest = Some(newest.map_or(m, |n| n.max(m)));
        }
        // Length-prefixed fields: no two different trees hash the same byte stream.
        let name = rel.to_string_lossy();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        match &s.content {
            Content::File(sum) => {
                h.update(32u64.to_le_bytes());
                h.update(sum);
                index.insert(rel.clone(), format!("sha256:{}", hex::encode(sum)));
            }
            Content::Link(target) => {
                let t = target.to_string_lossy();
                h.update(u64::MAX.to_le_bytes());
                h.update((t.len() as u64).to_le_bytes());
                h.update(t.as_bytes());
            }
        }
    }
    let hash = hex::encode(h.finalize());
    let copy = snapshots.join(&hash);
    if !copy.is_dir() {
        // The previous scan's own copy (if still there) supplies the unchanged files.
        let previous = previous
            .filter(|l| l.copy.is_dir())
            .map(|l| (l.copy.as_path(), &l.files));
        write_copy(snapshots, &copy, &hash, &files, &fresh, root, previous)?;
    }
    Ok(Scanned {
        files,
        revision: format!("dir:{hash}"),
        copy,
        committed_at: newest,
        index: Arc::new(index),
        full_at: match last {
            Some(l) => l.full_at,
            None => Instant::now(),
        },
    })
}

/// How many snapshot copies are kept (the newest by modification time).
const KEEP_SNAPSHOTS: usize = 3;

/// Writes `files` into a temporary directory and renames it to `copy`: the bytes this scan
/// read (`fresh`), else a hard link to the same content in the `previous` copy.
fn write_copy(
    snapshots: &Path,
    copy: &Path,
    hash: &str,
    files: &BTreeMap<PathBuf, Scan>,
    fresh: &BTreeMap<PathBuf, Vec<u8>>,
    root: &Path,
    previous: Option<(&Path, &BTreeMap<PathBuf, Scan>)>,
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
        for (rel, scan) in files {
            let to = tmp.join(rel);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let sum = match &scan.content {
                Content::Link(target) => {
                    std::os::unix::fs::symlink(target, &to).map_err(io(&to))?;
                    continue;
                }
                Content::File(sum) => sum,
            };
            let linked = previous.is_some_and(|(prev, prev_files)| {
                prev_files
                    .get(rel)
                    .is_some_and(|p| p.content == scan.content)
                    && fs::hard_link(prev.join(rel), &to).is_ok()
            });
            if linked {
                continue;
            }
            match fresh.get(rel) {
                Some(data) => fs::write(&to, data).map_err(io(&to))?,
                None => {
                    // Vouched for by its status but its copy is gone: read it again, and
                    // only if it still has the bytes hashed.
                    let from = root.join(rel);
                    let data = fs::read(&from).map_err(io(&from))?;
                    if <[u8; 32]>::from(Sha256::digest(&data)) != *sum {
                        return Err(io(&from)(std::io::Error::other(
                            "changed while it was scanned; scanned again at the next fetch",
                        )));
                    }
                    fs::write(&to, &data).map_err(io(&to))?;
                }
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
