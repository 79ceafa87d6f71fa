//! The git source: follows one branch of a repository and turns its head commit into a
//! snapshot directory.
//!
//! Owns the cache under `cache_dir`: a bare repository (`repo.git`) that is fetched into,
//! and `snapshots/<commit-id>/`, one directory per materialised commit. Manifests are
//! written from the commit's tree objects, never from a working copy, so what the
//! controller reads is exactly one commit or nothing: a snapshot is written under a
//! temporary name and renamed into place only when complete. Only what manifests can need
//! is written (files named `*.yaml`, `*.yml`, `*.age` under the configured `path`, see
//! [`super::MANIFEST_EXTENSIONS`], within the per-file and per-revision caps); symlinks and
//! submodules never are.
//!
//! With `allowed_signers` set, the head commit must carry an SSH signature (git's `gpgsig`
//! header, `gpg.format=ssh`) by a key in that file, or nothing is materialised from it.
//! The file format is git's `gpg.ssh.allowedSignersFile`; see [`AllowedSigners`] for the
//! parts supported.
//!
//! Credentials (the https token, the ssh key) are only handed to libgit2's credential
//! callback; URLs are shown without user information and error texts are scrubbed of the
//! token.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use git2::{FetchOptions, ObjectType, Oid, RemoteCallbacks, Repository};

use super::{FileIndex, Snapshot, Source, SourceError};
use crate::secret::Secret;

/// How many snapshot directories are kept (the newest by modification time). Older
/// ones are deleted after a new one is written; the daemon loads a snapshot whole, so
/// only the one being loaded must survive, and a few more help when debugging.
const KEEP_SNAPSHOTS: usize = 5;

/// The user name sent with an https token. GitHub wants `x-access-token`; GitLab and
/// Gitea accept any name with a token as the password.
const TOKEN_USER: &str = "x-access-token";

/// What the caller resolved from flags and configuration.
#[derive(Clone, Debug)]
pub struct GitSettings {
    /// `file://`, `git://`, `https://` or `ssh://` URL of the repository.
    pub url: String,
    /// Branch to follow (`main` by default, see [`GitSettings::new`]).
    pub branch: String,
    /// Directory inside the repository that holds `zonekeeper.yaml`.
    pub path: Option<PathBuf>,
    /// Where the bare repository and the snapshots live (created if missing).
    pub cache_dir: PathBuf,
    /// Token for `https://` (sent as the password of HTTP basic auth).
    pub token: Option<Secret>,
    /// Private key file for `ssh://` (unencrypted; host keys are checked by libgit2
    /// against `~/.ssh/known_hosts`).
    pub ssh_key: Option<PathBuf>,
    /// Accept only commits signed by a key in this file (git's allowed signers format).
    pub allowed_signers: Option<PathBuf>,
    /// Accept a head that does not descend from the last one taken (a force-push or a
    /// rollback). Off by default: an old revision's manifests would delete newer records.
    pub allow_rewind: bool,
    /// The newest commit the caller knows was applied (from the audit journal), used as the
    /// last head taken when the cache has no record of one (a fresh or emptied cache): a
    /// head that does not descend from it is refused as a rewind. A commit id missing from
    /// the fetched repository counts as not an ancestor.
    pub last_applied: Option<String>,
    /// Files larger than this (bytes) are not written into a snapshot (a manifest that
    /// large is refused as missing); default [`crate::input::read::MAX_INPUT_BYTES`].
    pub max_file_bytes: u64,
    /// A revision whose written files (those with a [`super::MANIFEST_EXTENSIONS`] extension) add
    /// up to more than this (bytes) is refused whole;
    /// default [`DEFAULT_MAX_REVISION_BYTES`].
    pub max_revision_bytes: u64,
}

// Only files with a [`super::MANIFEST_EXTENSIONS`] extension are written into a snapshot:
// every other file of the commit (binaries, archives, a huge zero-filled blob) is never
// written to disk or loaded; a manifest naming one finds it missing.

/// Default [`GitSettings::max_revision_bytes`]: 256 MiB. A hostile commit of huge files
/// must neither fill the disk nor take the daemon down (it stays on the revision in force).
pub const DEFAULT_MAX_REVISION_BYTES: u64 = 256 << 20;

impl GitSettings {
    /// Settings for `url` on branch `main`, cached in `cache_dir`, nothing else set.
    pub fn new(url: impl Into<String>, cache_dir: impl Into<PathBuf>) -> GitSettings {
        GitSettings {
            url: url.into(),
            branch: "main".into(),
            path: None,
            cache_dir: cache_dir.into(),
            token: None,
            ssh_key: None,
            max_file_bytes: crate::input::read::MAX_INPUT_BYTES,
            max_revision_bytes: DEFAULT_MAX_REVISION_BYTES,
            allowed_signers: None,
            allow_rewind: false,
            last_applied: None,
        }
    }
}

/// A source following one branch of a git repository.
pub struct GitSource {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    /// The URL without user information, for messages.
    shown_url: String,
    branch: String,
    path: Option<PathBuf>,
    cache_dir: PathBuf,
    token: Option<Secret>,
    ssh_key: Option<PathBuf>,
    allowed_signers: Option<PathBuf>,
    /// One fetch at a time: a webhook and a poll may ask together, and libgit2 must not
    /// write the same repository from two threads.
    lock: Mutex<()>,
    allow_rewind: bool,
    max_file_bytes: u64,
    max_revision_bytes: u64,
    /// The last head handed out (also kept in `<cache_dir>/last-revision` across restarts;
    /// without it, the caller's [`GitSettings::last_applied`]).
    last: Mutex<Option<git2::Oid>>,
    /// The snapshot this process last materialised and its index: unchanged files of the
    /// next one are hard links to it instead of new copies.
    materialised: Mutex<Option<(PathBuf, Arc<FileIndex>)>>,
    /// Deletes old snapshots off the fetch path.
    pruner: super::Pruner,
}

/// The last head taken: `<cache_dir>/last-revision`, else `last_applied` (the journal's).
fn last_taken(cache_dir: &Path, last_applied: Option<&str>) -> Option<Oid> {
    if let Some(oid) = fs::read_to_string(cache_dir.join("last-revision"))
        .ok()
        .and_then(|t| Oid::from_str(t.trim()).ok())
    {
        return Some(oid);
    }
    let applied = last_applied?;
    match Oid::from_str(applied) {
        Ok(oid) => {
            tracing::info!(revision = %oid, "no record of the last revision in the git cache; the newest applied one (audit journal) guards against rewinds");
            Some(oid)
        }
        Err(_) => {
            tracing::warn!(revision = %applied.chars().take(80).collect::<String>(), "the newest applied revision is not a commit id; rewind protection starts from the first head taken");
            None
        }
    }
}

impl GitSource {
    /// Checks the settings and creates the cache directory. Contacts nothing.
    pub fn new(s: GitSettings) -> Result<GitSource, SourceError> {
        let shown_url = redact_url(&s.url);
        let bad = |message: String| SourceError::Fetch {
            url: shown_url.clone(),
            message,
        };
        let scheme = s.url.split_once("://").map(|(p, _)| p.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("file" | "git" | "https" | "ssh") => {}
            _ => {
                return Err(bad(
                    "unsupported URL: use file://, git://, https:// or ssh://".into(),
                ))
            }
        }
        // A token is a password: never offer it over a transport that could leak it.
        if s.token.is_some() && scheme.as_deref() != Some("https") {
            return Err(bad("a token is only used with https:// URLs".into()));
        }
        if s.ssh_key.is_some() && scheme.as_deref() != Some("ssh") {
            return Err(bad("an ssh key is only used with ssh:// URLs".into()));
        }
        let refname = format!("refs/heads/{}", s.branch);
        if s.branch.is_empty() || !git2::Reference::is_valid_name(&refname) {
            return Err(bad(format!("invalid branch name {:?}", s.branch)));
        }
        let path = match &s.path {
            Some(p) => normalise_subdir(p).ok_or_else(|| {
                bad(format!(
                    "path {:?} must be a relative directory inside the repository",
                    p.display().to_string()
                ))
            })?,
            None => None,
        };
        if let Some(f) = &s.allowed_signers {
            // Fail at start on a file that cannot be used; it is read again per fetch
            // so an edited file (a revoked key) takes effect without a restart.
            AllowedSigners::load(f)?;
        }
        // Absolute, so snapshot roots do not depend on the working directory later.
        let cache_dir = std::path::absolute(&s.cache_dir).map_err(|source| SourceError::Io {
            path: s.cache_dir.clone(),
            source,
        })?;
        fs::create_dir_all(cache_dir.join("snapshots")).map_err(|source| SourceError::Io {
            path: cache_dir.join("snapshots"),
            source,
        })?;
        Ok(GitSource {
            inner: Arc::new(Inner {
                url: s.url,
                shown_url,
                branch: s.branch,
                path,
                token: s.token,
                ssh_key: s.ssh_key,
                allowed_signers: s.allowed_signers,
                lock: Mutex::new(()),
                allow_rewind: s.allow_rewind,
                max_file_bytes: s.max_file_bytes,
                max_revision_bytes: s.max_revision_bytes,
                last: Mutex::new(last_taken(&cache_dir, s.last_applied.as_deref())),
                materialised: Mutex::new(None),
                pruner: super::Pruner::default(),
                cache_dir,
            }),
        })
    }
}

#[async_trait]
impl Source for GitSource {
    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let inner = self.inner.clone();
        // libgit2 blocks (network, disk): keep it off the async workers.
        match tokio::task::spawn_blocking(move || inner.fetch_blocking()).await {
            Ok(r) => r,
            Err(e) => Err(SourceError::Io {
                path: self.inner.cache_dir.clone(),
                source: std::io::Error::other(format!("git fetch task failed: {e}")),
            }),
        }
    }

    async fn changed(&self) {
        // git is polled and woken by webhooks, never by this.
        std::future::pending::<()>().await
    }

    /// Asks the cache's repository: `Some(false)` when `ancestor` is a commit id the
    /// repository does not hold (a commit dropped by a force-push, or from elsewhere);
    /// `None` when either is not a commit id, or `revision` is not in the repository.
    fn descends_from(&self, revision: &str, ancestor: &str) -> Option<bool> {
        let (rev, anc) = (Oid::from_str(revision).ok()?, Oid::from_str(ancestor).ok()?);
        if rev == anc {
            return Some(true);
        }
        // Read-only: objects are written atomically, so no need to wait for a fetch.
        let repo = Repository::open_bare(self.inner.cache_dir.join("repo.git")).ok()?;
        repo.find_commit(rev).ok()?;
        if repo.find_commit(anc).is_err() {
            return Some(false);
        }
        Some(repo.graph_descendant_of(rev, anc).unwrap_or(false))
    }

    fn describe(&self) -> String {
        let mut s = format!("{} (branch {}", self.inner.shown_url, self.inner.branch);
        if let Some(p) = &self.inner.path {
            s.push_str(&format!(", path {}", p.display()));
        }
        s.push(')');
        s
    }
}

impl Inner {
    fn fetch_blocking(&self) -> Result<Snapshot, SourceError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let repo = self.open_repo()?;
        let head = self.fetch_head(&repo)?;
        let commit = repo.find_commit(head).map_err(|e| self.local(e))?;
        let revision = head.to_string();
        if let Some(f) = &self.allowed_signers {
            let signers = AllowedSigners::load(f)?;
            verify_commit(&repo, head, &signers).map_err(|reason| SourceError::Unverified {
                revision: revision.clone(),
                reason,
            })?;
        }
        let previous = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(prev) = previous {
            let descends = prev == head || repo.graph_descendant_of(head, prev).unwrap_or(false);
            if !descends && !self.allow_rewind {
                return Err(SourceError::Rewound {
                    revision,
                    previous: prev.to_string(),
                });
            }
        }
        let tree = commit.tree().map_err(|e| self.local(e))?;
        let tree = match &self.path {
            None => tree,
            Some(p) => {
                let entry = tree.get_path(p).map_err(|_| SourceError::Fetch {
                    url: self.shown_url.clone(),
                    message: format!("path {} does not exist in commit {revision}", p.display()),
                })?;
                if entry.kind() != Some(ObjectType::Tree) {
                    return Err(SourceError::Fetch {
                        url: self.shown_url.clone(),
                        message: format!(
                            "path {} is not a directory in commit {revision}",
                            p.display()
                        ),
                    });
                }
                repo.find_tree(entry.id()).map_err(|e| self.local(e))?
            }
        };
        let started = std::time::Instant::now();
        let (root, files) = self.materialise(&repo, &tree, &revision)?;
        tracing::debug!(%revision, files = files.len(), ms = started.elapsed().as_millis() as u64, "snapshot materialised");
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(head);
        if let Err(e) = fs::write(self.cache_dir.join("last-revision"), format!("{head}\n")) {
            tracing::warn!(error = %e, "cannot record the last revision; rewind protection starts over after a restart");
        }
        let secs = commit.time().seconds();
        let committed_at = if secs >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
        };
        Ok(Snapshot {
            revision,
            committed_at,
            root,
            files: Some(files),
        })
    }

    /// Opens the cached bare repository, creating it on first use. A cache that cannot be
    /// opened is re-created: it holds nothing that a fetch cannot bring back.
    fn open_repo(&self) -> Result<Repository, SourceError> {
        let path = self.cache_dir.join("repo.git");
        if path.exists() {
            if let Ok(r) = Repository::open_bare(&path) {
                return Ok(r);
            }
            tracing::warn!(path = %path.display(), "git cache unreadable; re-creating it");
            fs::remove_dir_all(&path).map_err(|source| SourceError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Repository::init_bare(&path).map_err(|e| SourceError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.message().to_string()),
        })
    }

    /// Fetches the branch and returns the commit the remote's branch points at now.
    fn fetch_head(&self, repo: &Repository) -> Result<Oid, SourceError> {
        // An anonymous remote: the URL (which may hold credentials) is never written
        // into the cache's config.
        let mut remote = repo
            .remote_anonymous(&self.url)
            .map_err(|e| self.fetch_err(e))?;
        let refspec = format!("+refs/heads/{b}:refs/remotes/origin/{b}", b = self.branch);
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(self.callbacks());
        opts.download_tags(git2::AutotagOption::None);
        opts.update_fetchhead(false);
        remote
            .fetch(&[refspec.as_str()], Some(&mut opts), None)
            .map_err(|e| self.fetch_err(e))?;
        // Read the branch from what the remote advertised in this fetch, not from the
        // tracking ref: a branch deleted upstream must not keep serving a stale commit.
        let wanted = format!("refs/heads/{}", self.branch);
        let advertised = remote
            .list()
            .map_err(|e| self.fetch_err(e))?
            .iter()
            .find(|h| h.name() == wanted)
            .map(|h| h.oid());
        let Some(oid) = advertised else {
            return Err(SourceError::Fetch {
                url: self.shown_url.clone(),
                message: format!("branch {:?} does not exist on the remote", self.branch),
            });
        };
        let commit = repo
            .find_object(oid, None)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| self.fetch_err(e))?;
        Ok(commit.id())
    }

    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut cb = RemoteCallbacks::new();
        // libgit2 calls back again after a refused credential; offering the same one
        // forever would loop, so each kind is offered once.
        let mut tried_token = false;
        let mut tried_key = false;
        cb.credentials(move |_url, user_from_url, allowed| {
            if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) && !tried_token {
                if let Some(t) = &self.token {
                    tried_token = true;
                    return git2::Cred::userpass_plaintext(
                        user_from_url.unwrap_or(TOKEN_USER),
                        t.expose(),
                    );
                }
            }
            if allowed.contains(git2::CredentialType::SSH_KEY) && !tried_key {
                if let Some(k) = &self.ssh_key {
                    tried_key = true;
                    return git2::Cred::ssh_key(user_from_url.unwrap_or("git"), None, k, None);
                }
            }
            if allowed.contains(git2::CredentialType::USERNAME) {
                return git2::Cred::username(user_from_url.unwrap_or("git"));
            }
            Err(git2::Error::from_str(
                "authentication required and no (further) credentials configured",
            ))
        });
        cb
    }

    fn fetch_err(&self, e: git2::Error) -> SourceError {
        SourceError::Fetch {
            url: self.shown_url.clone(),
            message: self.scrub(e.message()),
        }
    }

    /// A failure of the local repository (not of the network).
    fn local(&self, e: git2::Error) -> SourceError {
        SourceError::Io {
            path: self.cache_dir.join("repo.git"),
            source: std::io::Error::other(self.scrub(e.message())),
        }
    }

    /// libgit2 messages may quote the URL; never let them carry a credential.
    fn scrub(&self, msg: &str) -> String {
        let mut m = msg.replace(&self.url, &self.shown_url);
        if let Some(t) = &self.token {
            if !t.expose().is_empty() {
                m = m.replace(t.expose(), "<redacted>");
            }
        }
        m
    }

    /// Writes the tree into `snapshots/<revision>/` (or reuses it) and starts pruning old
    /// ones in the background;
    /// returns it with its index (each file's blob id). A file whose blob the snapshot
    /// materialised last also holds at the same path is a hard link to that copy (both are
    /// immutable), so a one-file commit writes one file.
    fn materialise(
        &self,
        repo: &Repository,
        tree: &git2::Tree<'_>,
        revision: &str,
    ) -> Result<(PathBuf, Arc<FileIndex>), SourceError> {
        let snapshots = self.cache_dir.join("snapshots");
        let root = snapshots.join(revision);
        let mut last = self.materialised.lock().unwrap_or_else(|p| p.into_inner());
        self.pruner.wait();
        if let Some((r, index)) = last.as_ref().filter(|(r, _)| *r == root && r.is_dir()) {
            return Ok((r.clone(), index.clone()));
        }
        let mut files = Vec::new();
        let mut budget = Budget {
            revision,
            left: self.max_revision_bytes,
        };
        let odb = repo.odb().map_err(|e| self.local(e))?;
        self.list_tree(repo, &odb, tree, Path::new(""), &mut budget, &mut files)?;
        let index: Arc<FileIndex> = Arc::new(
            files
                .iter()
                .map(|(rel, id)| (rel.clone(), format!("git:{id}")))
                .collect(),
        );
        if root.is_dir() {
            *last = Some((root.clone(), index.clone()));
            return Ok((root, index));
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SourceError::Io { path, source }
        };
        fs::create_dir_all(&snapshots).map_err(io(&snapshots))?;
        // Dot-prefixed so a half-written directory never looks like a snapshot; the pid
        // keeps two processes sharing a cache apart.
        let tmp = snapshots.join(format!(".tmp-{revision}-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io(&tmp))?;
        let previous = last.as_ref().filter(|(p, _)| p.is_dir());
        let written = (|| {
            for (rel, id) in &files {
                let content_id = &index[rel];
                let path = tmp.join(rel);
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(io(parent))?;
                }
                let linked = previous.is_some_and(|(prev, prev_index)| {
                    prev_index.get(rel) == Some(content_id)
                        && fs::hard_link(prev.join(rel), &path).is_ok()
                });
                if !linked {
                    let blob = repo.find_blob(*id).map_err(|e| self.local(e))?;
                    write_file(&path, blob.content())?;
                }
            }
            Ok(())
        })();
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, &root).map_err(io(&root))?;
        // Make the rename itself durable, so a crash cannot lose a returned snapshot.
        if let Ok(d) = fs::File::open(&snapshots) {
            let _ = d.sync_all();
        }
        self.pruner.start(&snapshots, &root, KEEP_SNAPSHOTS);
        *last = Some((root.clone(), index.clone()));
        Ok((root, index))
    }

    /// The files of `tree` a snapshot holds (relative path under `rel`, blob id), in tree
    /// order: manifest files within the caps; never symlinks, submodules or unsafe names.
    fn list_tree(
        &self,
        repo: &Repository,
        odb: &git2::Odb<'_>,
        tree: &git2::Tree<'_>,
        rel: &Path,
        budget: &mut Budget<'_>,
        out: &mut Vec<(PathBuf, Oid)>,
    ) -> Result<(), SourceError> {
        for entry in tree.iter() {
            let Some(name) = safe_name(entry.name_bytes()) else {
                tracing::warn!(name = %String::from_utf8_lossy(entry.name_bytes()), "skipping a tree entry with an unsafe or non-UTF-8 name");
                continue;
            };
            let path = rel.join(name);
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let sub = repo.find_tree(entry.id()).map_err(|e| self.local(e))?;
                    self.list_tree(repo, odb, &sub, &path, budget, out)?;
                }
                // 0o120000 is a symlink: not materialised, so a manifest can never point
                // the controller at a file outside the snapshot.
                Some(ObjectType::Blob) if entry.filemode() != 0o120000 => {
                    if !wanted(name) {
                        tracing::debug!(path = %path.display(), "not writing a file manifests cannot need into the snapshot");
                        continue;
                    }
                    // The size from the object header, before the blob is loaded: a huge
                    // file is never read into memory.
                    let size = odb
                        .read_header(entry.id())
                        .map(|(size, _)| size as u64)
                        .map_err(|e| self.local(e))?;
                    if size > self.max_file_bytes {
                        tracing::warn!(path = %path.display(), size, limit = self.max_file_bytes, "not writing a file over max_file_bytes into the snapshot");
                        continue;
                    }
                    if size > budget.left {
                        return Err(SourceError::TooLarge {
                            revision: budget.revision.to_string(),
                            limit: self.max_revision_bytes,
                        });
                    }
                    budget.left -= size;
                    out.push((path, entry.id()));
                }
                // Symlinks and submodules (commit entries).
                _ => tracing::debug!(path = %path.display(), "skipping a symlink or submodule"),
            }
        }
        Ok(())
    }
}

/// True when a file called `name` can be needed by a manifest.
fn wanted(name: &str) -> bool {
    super::is_manifest_file(Path::new(name))
}

/// What a snapshot may still take.
struct Budget<'a> {
    revision: &'a str,
    left: u64,
}

fn write_file(path: &Path, content: &[u8]) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::File::create_new(path).map_err(io)?;
    f.write_all(content).map_err(io)?;
    // Data reaches the disk before the directory is renamed into place.
    f.sync_all().map_err(io)
}

/// A tree entry name that is safe as one path component, or None.
fn safe_name(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    // Objects come from the network: never trust a name to stay inside the snapshot.
    if s.is_empty() || s == "." || s == ".." || s.contains(['/', '\\', '\0']) {
        return None;
    }
    Some(s)
}

/// `dns/`, `./dns` -> `dns`; `""`, `.` -> no subdirectory; absolute or `..` -> invalid.
fn normalise_subdir(p: &Path) -> Option<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some((!out.as_os_str().is_empty()).then_some(out))
}

/// The URL without user information (`https://user:token@host/x` -> `https://host/x`)
/// and without a query string (some servers take tokens there).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}{path}")
}

/// Checks the SSH signature of commit `id`; the error is the reason shown to the user.
fn verify_commit(repo: &Repository, id: Oid, signers: &AllowedSigners) -> Result<(), String> {
    let (sig, data) = match repo.extract_signature(&id, None) {
        Ok(x) => x,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            return Err("the commit is not signed".into())
        }
        Err(e) => return Err(format!("cannot read the commit signature: {}", e.message())),
    };
    let sig = sig.as_str().unwrap_or("").trim();
    if sig.starts_with("-----BEGIN PGP SIGNATURE-----") {
        return Err("the commit has an OpenPGP signature; only SSH signatures are accepted".into());
    }
    let sig = ssh_key::SshSig::from_pem(sig)
        .map_err(|e| format!("the commit signature is not a valid SSH signature: {e}"))?;
    signers.verify(GIT_NAMESPACE, &data, &sig)
}

/// The namespace git signs commits in (`ssh-keygen -Y sign -n git`).
const GIT_NAMESPACE: &str = "git";

/// An allowed signers file, in the format of git's `gpg.ssh.allowedSignersFile` (see
/// ssh-keygen(1), "ALLOWED SIGNERS"): one key per line,
/// `principals [options] keytype base64-key [comment]`, `#` comments and blank lines.
///
/// Supported: principals (a comma-separated list, optionally in double quotes; any
/// listed principal may sign — like git, the committer's e-mail is not matched) and
/// the `namespaces="..."` option (the key is used only if `git` is among them).
/// Lines with any other option (`cert-authority`, `valid-after`, `valid-before`) are
/// skipped: their keys verify nothing, so an unsupported restriction can never be
/// silently widened. Key types: `ssh-ed25519` and `ecdsa-sha2-nistp256`.
#[derive(Debug)]
pub struct AllowedSigners {
    keys: Vec<AllowedKey>,
}

#[derive(Debug)]
struct AllowedKey {
    principals: String,
    key: ssh_key::PublicKey,
}

impl AllowedSigners {
    /// Reads and parses the file. An unreadable or malformed file is an error: the
    /// check must fail closed, never turn into "anything goes".
    pub fn load(path: &Path) -> Result<AllowedSigners, SourceError> {
        let text = fs::read_to_string(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        AllowedSigners::parse(&text).map_err(|msg| SourceError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, msg),
        })
    }

    /// Parses the file's text; the error names the line.
    pub fn parse(text: &str) -> Result<AllowedSigners, String> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |m: &str| format!("line {}: {m}", n + 1);
            let (principals, rest) = split_field(line).ok_or_else(|| err("no key"))?;
            let rest = rest.trim_start();
            let key = match ssh_key::PublicKey::from_openssh(rest) {
                Ok(k) => Some(k),
                Err(_) => {
                    // Not a key: it must be an options field followed by the key.
                    let (options, key_text) =
                        split_field(rest).ok_or_else(|| err("expected a public key"))?;
                    let key = ssh_key::PublicKey::from_openssh(key_text.trim_start())
                        .map_err(|e| err(&format!("invalid public key: {e}")))?;
                    allows_git(options).map(|ok| ok.then_some(key)).unwrap_or_else(|| {
                        tracing::warn!(
                            line = n + 1,
                            "allowed signers: unsupported options {options:?}; the key on this line is ignored"
                        );
                        None
                    })
                }
            };
            if let Some(key) = key {
                keys.push(AllowedKey {
                    principals: principals.trim_matches('"').to_string(),
                    key,
                });
            }
        }
        Ok(AllowedSigners { keys })
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is usable (every signature will be refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies `sig` over `data` in `namespace` against the listed keys.
    pub fn verify(
        &self,
        namespace: &str,
        data: &[u8],
        sig: &ssh_key::SshSig,
    ) -> Result<(), String> {
        let fingerprint = ssh_key::PublicKey::from(sig.public_key().clone())
            .fingerprint(ssh_key::HashAlg::Sha256);
        let Some(k) = self
            .keys
            .iter()
            .find(|k| k.key.key_data() == sig.public_key())
        else {
            return Err(format!(
                "signed by {fingerprint}, which is not an allowed signer"
            ));
        };
        k.key.verify(namespace, data, sig).map_err(|e| {
            format!(
                "the signature by {fingerprint} ({}) does not verify: {e}",
                k.principals
            )
        })
    }
}

/// Splits off the first whitespace-separated field, where double quotes protect spaces.
fn split_field(s: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Some((&s[..i], &s[i..])),
            _ => {}
        }
    }
    None
}

/// `Some(true)` if the options allow namespace `git`, `Some(false)` if they restrict to
/// other namespaces, `None` if they hold an option this parser does not support.
fn allows_git(options: &str) -> Option<bool> {
    let mut allowed = true;
    for opt in split_options(options) {
        let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
        if !name.eq_ignore_ascii_case("namespaces") {
            return None;
        }
        let value = value.trim_matches('"');
        allowed = value.split(',').any(|ns| ns.trim() == GIT_NAMESPACE);
    }
    Some(allowed)
}

/// Splits `a,b="x,y",c` at commas outside double quotes.
fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA01Xr6DAXazF8sGLtX2Phig/vCzoXtyH7kuqU8onBvx";

    #[test]
    fn redacts_userinfo_and_query() {
        assert_eq!(
            redact_url("https://x-access-token:ghp_secret@github.com/acme/dns.git?t=1"),
            "https://github.com/acme/dns.git"
        );
        assert_eq!(redact_url("ssh://git@host:22/r.git"), "ssh://host:22/r.git");
        assert_eq!(redact_url("file:///srv/r.git"), "file:///srv/r.git");
        assert_eq!(redact_url("git://127.0.0.1:9/r"), "git://127.0.0.1:9/r");
    }

    #[test]
    fn subdir_paths() {
        assert_eq!(
            normalise_subdir(Path::new("dns/")),
            Some(Some(PathBuf::from("dns")))
        );
        assert_eq!(
            normalise_subdir(Path::new("./a/b")),
            Some(Some(PathBuf::from("a/b")))
        );
        assert_eq!(normalise_subdir(Path::new(".")), Some(None));
        assert_eq!(normalise_subdir(Path::new("../x")), None);
        assert_eq!(normalise_subdir(Path::new("/etc")), None);
    }

    #[test]
    fn unsafe_tree_names_are_refused() {
        assert_eq!(safe_name(b"zones"), Some("zones"));
        assert_eq!(safe_name(b".."), None);
        assert_eq!(safe_name(b"a/b"), None);
        assert_eq!(safe_name(b""), None);
        assert_eq!(safe_name(b"\xff"), None);
    }

    #[test]
    fn allowed_signers_forms() {
        let text = format!(
            "# comment\n\n\
             alice@example.com {KEY} alice\n\
             bob@example.com,carol@example.com namespaces=\"git,file\" {KEY}\n\
             \"dave@example.com\" namespaces=\"file\" {KEY}\n\
             eve@example.com cert-authority {KEY}\n\
             frank@example.com valid-after=\"20240101\",namespaces=\"git\" {KEY}\n"
        );
        let s = AllowedSigners::parse(&text).unwrap();
        // alice and bob/carol; dave is file-only; eve and frank use unsupported options.
        assert_eq!(s.len(), 2);
        assert_eq!(s.keys[1].principals, "bob@example.com,carol@example.com");
    }

    #[test]
    fn malformed_allowed_signers_is_an_error() {
        let e = AllowedSigners::parse("alice@example.com ssh-ed25519 notbase64!\n").unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = AllowedSigners::parse("justone\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn token_is_scrubbed_from_messages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "s3cr3t-token\n").unwrap();
        let token = crate::secret::SecretRef::File(dir.path().join("t"))
            .resolve()
            .unwrap();
        let mut s = GitSettings::new(
            "https://u:s3cr3t-token@127.0.0.1/r.git",
            dir.path().join("c"),
        );
        s.token = Some(token);
        let g = GitSource::new(s).unwrap();
        let m = g
            .inner
            .scrub("failed for https://u:s3cr3t-token@127.0.0.1/r.git with s3cr3t-token");
        assert!(!m.contains("s3cr3t"), "{m}");
        assert!(!g.describe().contains("s3cr3t"));
    }

    #[test]
    fn settings_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c");
        for (url, branch) in [
            ("http://example.com/r.git", "main"),
            ("/srv/r.git", "main"),
            ("file:///srv/r.git", "bad..name"),
            ("file:///srv/r.git", "a:b"),
        ] {
            let mut s = GitSettings::new(url, &c);
            s.branch = branch.into();
            assert!(
                matches!(GitSource::new(s), Err(SourceError::Fetch { .. })),
                "{url} {branch}"
            );
        }
        let mut s = GitSettings::new("git://127.0.0.1/r", &c);
        s.ssh_key = Some(dir.path().join("k"));
        assert!(GitSource::new(s).is_err());
    }
}
