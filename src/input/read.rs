//! Reading an input file into text, and the YAML parser options every input is parsed with.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::diag::Diagnostic;
use super::size::describe;

/// Why a path a manifest names is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// The path (after following symlinks and `..`) leaves the manifest root.
    #[error("is outside the directory holding zonekeeper.yaml (resolved, symlinks and `..` followed); name files inside it")]
    Outside,
    /// The path or the root cannot be resolved (a dangling symlink, a loop, no permission).
    #[error("cannot be resolved: {0}")]
    Unresolvable(#[source] std::io::Error),
}

/// Resolves `path` as the filesystem would (symlinks, `..`) and checks that the result is
/// inside `root`. Components that do not exist yet are taken as written, so a missing zone
/// file inside the root resolves (and is reported as missing when read).
///
/// # Errors
/// [`ConfineError::Outside`] when the resolved path leaves `root`,
/// [`ConfineError::Unresolvable`] when it cannot be resolved.
pub fn resolve_inside(root: &Path, path: &Path) -> Result<PathBuf, ConfineError> {
    let (root, resolved) = match std::fs::canonicalize(root) {
        Ok(r) => (r, resolve(path).map_err(ConfineError::Unresolvable)?),
        // No root on disk (a configuration checked but not read from disk): nothing can be
        // read either, so the path as written is checked.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (lexical(root), lexical(path)),
        Err(e) => return Err(ConfineError::Unresolvable(e)),
    };
    if resolved.starts_with(&root) {
        Ok(resolved)
    } else {
        Err(ConfineError::Outside)
    }
}

/// `path` made absolute with `.` and `..` applied to the text (no filesystem access).
fn lexical(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The canonical form of `path`; a missing tail is appended as written (`..` in it refused).
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(c) => Ok(c),
        // A dangling symlink exists but does not resolve: refused, wherever it points.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && std::fs::symlink_metadata(path).is_err() =>
        {
            match (path.parent(), path.components().next_back()) {
                (Some(parent), Some(Component::Normal(name))) => {
                    let parent = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                    Ok(resolve(parent)?.join(name))
                }
                _ => Err(e),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(std::io::Error::other(
            "a symlink to a file that does not exist",
        )),
        Err(e) => Err(e),
    }
}

/// The default cap on one input file (32 MiB: a zone of about 450,000 records in octoDNS
/// YAML, which takes about 650 MB to plan). Larger files are refused before a byte is read,
/// so a hostile or careless commit cannot exhaust the daemon's memory. The daemon takes its
/// cap from `controller.max_file_size` ([`set_max_input_bytes`]); the CLI keeps this one.
pub const MAX_INPUT_BYTES: u64 = 32 << 20;

/// The cap in force: one process-wide value, set once when the daemon starts.
static MAX_INPUT: AtomicU64 = AtomicU64::new(MAX_INPUT_BYTES);

/// Sets the cap on every input file this process reads from then on (the daemon does this
/// once at start from `controller.max_file_size`, before any manifest is read).
pub fn set_max_input_bytes(bytes: u64) {
    MAX_INPUT.store(bytes, Ordering::Relaxed);
}

/// The cap on one input file in force (bytes): [`MAX_INPUT_BYTES`] unless
/// [`set_max_input_bytes`] changed it.
pub fn max_input_bytes() -> u64 {
    MAX_INPUT.load(Ordering::Relaxed)
}

/// `Err` when a file of `len` bytes is over [`max_input_bytes`].
fn check_size(path: &Path, len: u64) -> Result<(), Diagnostic> {
    let max = max_input_bytes();
    if len > max {
        return Err(Diagnostic::file(
            path,
            format!(
                "is {}; input files over {} are not read (split the zone, or raise controller.max_file_size)",
                describe(len),
                describe(max)
            ),
        ));
    }
    Ok(())
}

/// Reads an input file a manifest names: refused unless it resolves inside `root` and is
/// a regular file (never a device, a FIFO or a directory), so a committer cannot make the
/// controller read the host's files or block on a pipe.
///
/// # Errors
/// The problem as a [`Diagnostic`] naming `path` as written.
pub fn read_input_inside(root: &Path, path: &Path) -> Result<String, Diagnostic> {
    let mut f = open_inside(root, path)?;
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Diagnostic::file(path, "is not UTF-8 text"),
        _ => Diagnostic::file(path, format!("cannot read: {e}")),
    })?;
    Ok(text)
}

/// [`read_input_inside`] for a binary file (an `age:` secret): the same confinement,
/// regular-file check and size cap, the bytes as they are.
///
/// # Errors
/// The problem as a [`Diagnostic`] naming `path` as written.
pub fn read_bytes_inside(root: &Path, path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let mut f = open_inside(root, path)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| Diagnostic::file(path, format!("cannot read: {e}")))?;
    Ok(bytes)
}

/// Opens `path` for reading once it is known to resolve inside `root`, to be a regular
/// file and to be under the size cap (checked before and after opening).
fn open_inside(root: &Path, path: &Path) -> Result<std::fs::File, Diagnostic> {
    let resolved = match resolve_inside(root, path) {
        Ok(p) => p,
        Err(ConfineError::Unresolvable(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Diagnostic::file(path, "file not found"))
        }
        Err(e) => return Err(Diagnostic::file(path, e.to_string())),
    };
    // `resolved` holds no symlink: its metadata is the file's own. Checked before opening
    // so a FIFO is never opened (that would block).
    match std::fs::symlink_metadata(&resolved) {
        Ok(m) if m.is_dir() => {
            return Err(Diagnostic::file(
                path,
                "is a directory, expected a YAML file",
            ))
        }
        Ok(m) if !m.is_file() => return Err(Diagnostic::file(path, "is not a regular file")),
        Ok(m) => check_size(path, m.len())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Diagnostic::file(path, "file not found"));
        }
        Err(e) => return Err(Diagnostic::file(path, format!("cannot read: {e}"))),
    }
    let f = std::fs::File::open(&resolved)
        .map_err(|e| Diagnostic::file(path, format!("cannot read: {e}")))?;
    // What was opened is checked again: the path may have changed since.
    match f.metadata() {
        Ok(m) if m.is_file() => check_size(path, m.len())?,
        _ => return Err(Diagnostic::file(path, "is not a regular file")),
    }
    Ok(f)
}

/// Reads an input file, turning "missing", "a directory", "unreadable" and "not UTF-8" into
/// a [`Diagnostic`] naming the file.
pub fn read_input(path: &Path) -> Result<String, Diagnostic> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(Diagnostic::file(
                path,
                "is a directory, expected a YAML file",
            ))
        }
        Ok(m) => check_size(path, m.len())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Diagnostic::file(path, "file not found"));
        }
        Err(e) => return Err(Diagnostic::file(path, format!("cannot read: {e}"))),
    }
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Diagnostic::file(path, "is not UTF-8 text"),
        _ => Diagnostic::file(path, format!("cannot read: {e}")),
    })
}

/// Options for parsing `len` bytes of YAML, with a node budget scaled to the size: large
/// zones parse, hostile input (alias bombs, deep nesting) is still bounded.
pub fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(len / 2);
    budget.max_events = budget.max_events.max(len);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len);
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    // Only `true`/`false` are booleans: `N` (a LOC direction), `no`, `on` stay strings,
    // as octoDNS's loader reads them.
    opts.strict_booleans = true;
    opts
}

#[cfg(test)]
mod tests {

    #[test]
    fn files_over_the_size_cap_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        // Sparse: 33 MiB long, no disk used, nothing to read.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_INPUT_BYTES + (1 << 20))
            .unwrap();
        for e in [
            read_input(&big).unwrap_err(),
            read_input_inside(dir.path(), &big).unwrap_err(),
        ] {
            assert!(
                e.to_string()
                    .contains("is 33 MiB; input files over 32 MiB are not read"),
                "{e}"
            );
        }
    }

    use super::*;

    #[test]
    fn missing_directory_and_non_utf8_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_input(&dir.path().join("nope.yaml")).unwrap_err();
        assert_eq!(e.message, "file not found");
        let e = read_input(dir.path()).unwrap_err();
        assert!(e.message.contains("is a directory"), "{e}");
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, [0xff, 0xfe, b'\n']).unwrap();
        assert_eq!(read_input(&bad).unwrap_err().message, "is not UTF-8 text");
        let ok = dir.path().join("ok.yaml");
        std::fs::write(&ok, "a: 1\n").unwrap();
        assert_eq!(read_input(&ok).unwrap(), "a: 1\n");
    }

    #[test]
    fn files_a_manifest_names_stay_inside_the_root_and_are_regular() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("secret"), "hunter2\n").unwrap();
        std::fs::write(root.join("ok.yaml"), "a: 1\n").unwrap();
        assert_eq!(
            read_input_inside(&root, &root.join("ok.yaml")).unwrap(),
            "a: 1\n"
        );
        std::os::unix::fs::symlink("ok.yaml", root.join("alias.yaml")).unwrap();
        assert_eq!(
            read_input_inside(&root, &root.join("alias.yaml")).unwrap(),
            "a: 1\n"
        );
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out.yaml")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nothing"), root.join("dangling.yaml")).unwrap();
        let fifo = root.join("fifo.yaml");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let cases: [(PathBuf, &str); 8] = [
            (root.join("out.yaml"), "is outside"),
            (root.join("../secret"), "is outside"),
            (dir.path().join("secret"), "is outside"),
            ("/proc/self/cwd/Cargo.toml".into(), "is outside"),
            ("/dev/zero".into(), "is outside"),
            (fifo, "is not a regular file"),
            (root.clone(), "is a directory"),
            (root.join("dangling.yaml"), "cannot be resolved"),
        ];
        for (path, want) in cases {
            let e = read_input_inside(&root, &path).unwrap_err();
            assert!(e.message.contains(want), "{}: {e}", path.display());
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        // With the root itself a device directory, a device is still not read.
        let e = read_input_inside(Path::new("/dev"), Path::new("/dev/zero")).unwrap_err();
        assert!(e.message.contains("is not a regular file"), "{e}");
        let e = read_input_inside(&root, &root.join("missing.yaml")).unwrap_err();
        assert_eq!(e.message, "file not found");
    }
}
