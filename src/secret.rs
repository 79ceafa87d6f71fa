//! Secrets are references (`env:NAME`, `file:PATH`, `age:PATH`), never literals in a
//! manifest. They are resolved once at start-up and their values never reach logs, errors
//! or status output.
//!
//! `age:PATH` names a file encrypted with [age](https://age-encryption.org/v1) (binary or
//! ASCII-armored) to the operator's X25519 identity: it is meant to be committed beside the
//! zones, so it must resolve inside the directory of the configuration file that names it
//! (read with the same checks and size cap as every input, through `crate::input`), and it
//! is decrypted in memory with the identity the operator gives ([`AGE_IDENTITY_ENV`],
//! `controller.age_identity`) into a [`Secret`], never written anywhere.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A reference to a secret as written in configuration. `Debug` leaves out an `age:`
/// reference's `root` (a snapshot's directory), so the input hash of a zone whose provider
/// uses one does not change with every revision's snapshot path.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub enum SecretRef {
    /// `env:NAME`: an environment variable of the process.
    Env(String),
    /// `file:PATH`: a file's contents (an operator's file, never one in the repository).
    File(PathBuf),
    /// `age:PATH`: an age-encrypted file inside the configuration's directory.
    Age {
        /// The path as written (relative to `root`), shown in messages and matched by
        /// `allowed_secrets` globs as `age:<written>`.
        written: PathBuf,
        /// The directory of the configuration file that names it; the file must resolve
        /// (symlinks, `..`) inside it.
        root: PathBuf,
    },
}

/// Why a secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secrets must be written as `env:NAME`, `file:PATH` or `age:PATH`, never literally (got a value starting {0:?})")]
    Literal(String),
    #[error("secret environment variable {0} is not set")]
    MissingEnv(String),
    #[error("secret environment variable {0} is empty")]
    EmptyEnv(String),
    #[error("cannot read secret file {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("secret reference {0} is not allowed here ({1})")]
    NotAllowed(String, &'static str),
    #[error("invalid allowed-secrets pattern {0:?}")]
    BadPattern(String),
    /// The secret was read but its content is not what the consumer takes (a TSIG secret
    /// that is not base64, ...). The message names the reference, never the content.
    #[error("secret {reference} cannot be used: {why}")]
    Unusable { reference: String, why: String },
    /// An `age:` reference with no identity to decrypt it.
    #[error("secret {0} is encrypted with age and no age identity is configured: give the operator's identity file (as `age -i` takes) with {AGE_IDENTITY_ENV}=PATH, or `controller.age_identity` / `zonekeeper run --age-identity PATH` for the daemon")]
    NoAgeIdentity(String),
    /// The operator's identity file cannot be used.
    #[error("age identity {path}: {why}")]
    AgeIdentity { path: PathBuf, why: String },
    /// An `age:` file that cannot be read or decrypted; `why` never quotes the file.
    #[error("secret {reference}: {why}")]
    Age { reference: String, why: String },
}

/// Environment variable naming the operator's age identity file (a path), used by every
/// command to decrypt `age:` secrets; `zonekeeper run` prefers `controller.age_identity`.
pub const AGE_IDENTITY_ENV: &str = "ZONEKEEPER_AGE_IDENTITY";

/// Which secret references a run may resolve. Providers come from manifests in git, so a
/// committer could otherwise point a provider at their own server with `api_key:
/// env:GITHUB_TOKEN` and collect any secret the host holds. An operator lists what
/// manifests may use (`ZONEKEEPER_ALLOWED_SECRETS`, or `controller.allowed_secrets`); the
/// daemon also always refuses its own credentials and files inside the repository.
#[derive(Clone, Debug, Default)]
pub struct SecretPolicy {
    /// Globs over the reference text (`env:PDNS_*`, `file:/etc/zonekeeper/secrets/*`);
    /// `None` allows every reference.
    allowed: Option<Vec<glob::Pattern>>,
    /// Never allowed, whatever `allowed` says.
    denied: Vec<SecretRef>,
    /// `file:` references below these directories are refused (the followed directory, a
    /// repository snapshot).
    denied_dirs: Vec<PathBuf>,
    /// The operator's age identity file, for `age:` references.
    age_identity: Option<PathBuf>,
}

/// Environment variable listing the secret references manifests may use (comma-separated
/// globs). Unset: any.
pub const ALLOWED_SECRETS_ENV: &str = "ZONEKEEPER_ALLOWED_SECRETS";

impl SecretPolicy {
    /// Allows only references matching one of `patterns`.
    pub fn allowing(patterns: &[String]) -> Result<SecretPolicy, SecretError> {
        let allowed = patterns
            .iter()
            .map(|p| glob::Pattern::new(p.trim()).map_err(|_| SecretError::BadPattern(p.clone())))
            .collect::<Result<_, _>>()?;
        Ok(SecretPolicy {
            allowed: Some(allowed),
            ..Default::default()
        })
    }

    /// The policy `ZONEKEEPER_ALLOWED_SECRETS` describes (allow-all when it is unset), with
    /// the age identity `ZONEKEEPER_AGE_IDENTITY` names, if any.
    pub fn from_env() -> Result<SecretPolicy, SecretError> {
        let p = match std::env::var(ALLOWED_SECRETS_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                SecretPolicy::allowing(&v.split(',').map(str::to_string).collect::<Vec<_>>())?
            }
            _ => SecretPolicy::default(),
        };
        Ok(match age_identity_from_env() {
            Some(id) => p.with_age_identity(id),
            None => p,
        })
    }

    /// Decrypts `age:` references with the identity file `path` (replacing any earlier
    /// one). The file is a controller credential: a manifest may not name it through
    /// `file:` or `age:`.
    pub fn with_age_identity(mut self, path: PathBuf) -> SecretPolicy {
        self.denied.push(SecretRef::File(path.clone()));
        self.age_identity = Some(path);
        self
    }

    /// Also refuses `r`.
    pub fn deny(mut self, r: SecretRef) -> SecretPolicy {
        self.denied.push(r);
        self
    }

    /// The same policy without its allowed list: for the operator's own references (its
    /// providers), which the list made for the repository's must not limit. Denials and
    /// the age identity stay.
    pub fn without_allowed_list(mut self) -> SecretPolicy {
        self.allowed = None;
        self
    }

    /// Also refuses `file:` references below `dir`.
    pub fn deny_files_under(mut self, dir: PathBuf) -> SecretPolicy {
        self.denied_dirs.push(dir);
        self
    }

    /// Checks a reference, then reads it. `file:` paths are compared as written with `.`
    /// and `..` applied, and again after resolving symlinks, so neither `<dir>/../<dir>/x`,
    /// a symlink nor `/proc/self/cwd/...` gets around a denial; a path that cannot be
    /// resolved is refused.
    pub fn resolve(&self, r: &SecretRef) -> Result<Secret, SecretError> {
        let text = r.to_string();
        let denied = |why| Err(SecretError::NotAllowed(text.clone(), why));
        // The forms of a `file:` or `age:` reference compared: as written (`..` applied),
        // resolved.
        let forms = match r {
            SecretRef::Env(_) => None,
            // Inside the configuration's directory, resolved as zone files are.
            SecretRef::Age { written, root } => {
                let path = root.join(written);
                match crate::input::resolve_inside(root, &path) {
                    Ok(real) => Some((lexical(&path), real)),
                    Err(e) => {
                        return Err(SecretError::Age {
                            reference: text,
                            why: e.to_string(),
                        })
                    }
                }
            }
            // Unresolvable (missing, a dangling symlink, a loop): refused, never read.
            SecretRef::File(p) => match std::fs::canonicalize(p) {
                Ok(real) => Some((lexical(p), real)),
                // A path into the repository is refused as such even when nothing is
                // there (the git source writes only manifests into a snapshot).
                Err(_)
                    if self
                        .denied_dirs
                        .iter()
                        .any(|d| lexical(p).starts_with(lexical(d))) =>
                {
                    return denied(IN_REPOSITORY)
                }
                Err(source) => {
                    return Err(SecretError::File {
                        path: p.clone(),
                        source,
                    })
                }
            },
        };
        let own = "it is one of the controller's own credentials";
        for d in &self.denied {
            match (d, r, &forms) {
                (SecretRef::Env(_), SecretRef::Env(_), _) if d == r => return denied(own),
                (SecretRef::File(dp), _, Some((written, real))) => {
                    let dp_real = std::fs::canonicalize(dp).ok();
                    if lexical(dp) == *written || dp_real.as_ref() == Some(real) {
                        return denied(own);
                    }
                }
                _ => {}
            }
        }
        // `age:` files are meant to be in the repository; only `file:` is kept out of it.
        let plain_file = matches!(r, SecretRef::File(_));
        if let (Some((written, real)), true) = (&forms, plain_file) {
            for dir in &self.denied_dirs {
                let dirs = [Some(lexical(dir)), std::fs::canonicalize(dir).ok()];
                let under = |p: &Path| dirs.iter().flatten().any(|d| p.starts_with(d));
                if under(written) || under(real) {
                    return denied(IN_REPOSITORY);
                }
            }
        }
        if let Some(allowed) = &self.allowed {
            // Globs see the path with `..` applied, and `*` never crosses a `/`.
            let subject = match (r, &forms) {
                (SecretRef::Age { written, .. }, _) => format!("age:{}", relative_lexical(written)),
                (_, Some((written, _))) => format!("file:{}", written.display()),
                (_, None) => text.clone(),
            };
            let opts = glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::new()
            };
            if !allowed.iter().any(|g| g.matches_with(&subject, opts)) {
                return denied("not in the allowed secrets list");
            }
        }
        match (r, &forms) {
            (SecretRef::Age { written, root }, Some((_, real))) => {
                let Some(identity) = &self.age_identity else {
                    return Err(SecretError::NoAgeIdentity(text));
                };
                let bytes =
                    crate::input::read_bytes_inside(root, real).map_err(|d| SecretError::Age {
                        reference: format!("age:{}", written.display()),
                        why: d.message,
                    })?;
                decrypt_age(&text, &bytes, &load_identities(identity)?)
            }
            _ => r.resolve(),
        }
    }
}

/// The path `ZONEKEEPER_AGE_IDENTITY` names, if it is set and not empty.
pub fn age_identity_from_env() -> Option<PathBuf> {
    std::env::var_os(AGE_IDENTITY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The largest identity file read (age's own limit is 16 MiB; one key is 74 bytes).
const MAX_IDENTITY_BYTES: u64 = 1 << 20;

/// The identities in the operator's identity file (`age-keygen`'s output: comments and
/// `AGE-SECRET-KEY-1...` lines). Errors name the file, never its content.
fn load_identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, SecretError> {
    let bad = |why: String| SecretError::AgeIdentity {
        path: path.to_path_buf(),
        why,
    };
    let f = std::fs::File::open(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    match f.metadata() {
        Ok(m) if m.is_file() => {}
        _ => return Err(bad("is not a regular file".into())),
    }
    let mut text = String::new();
    f.take(MAX_IDENTITY_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let not_one = || {
        bad("is not an age identity file (expected `AGE-SECRET-KEY-1...` lines, as `age-keygen` writes)".into())
    };
    let ids = age::IdentityFile::from_buffer(text.as_bytes())
        .map_err(|_| not_one())?
        .into_identities()
        .map_err(|_| bad("holds an identity zonekeeper cannot use (only X25519 `AGE-SECRET-KEY-1...` identities)".into()))?;
    if ids.is_empty() {
        return Err(not_one());
    }
    Ok(ids)
}

/// Decrypts an age file (binary or ASCII-armored) in memory. A trailing newline is dropped,
/// as for `file:`. Errors say what is wrong (wrong identity, not age, damaged, truncated),
/// never what the file holds.
fn decrypt_age(
    reference: &str,
    bytes: &[u8],
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<Secret, SecretError> {
    use age::DecryptError as D;
    let fail = |why: &str| SecretError::Age {
        reference: reference.to_string(),
        why: why.to_string(),
    };
    let truncated = "is truncated or damaged (its contents do not authenticate)";
    // `ArmoredReader` passes binary files through and strips the armor of `-a` files.
    let d = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(bytes)).map_err(
        |e| match e {
            D::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => fail(truncated),
            D::UnknownFormat => fail("is an age file of a newer version than zonekeeper reads"),
            _ => fail("is not an age-encrypted file (write it with `age -r <recipient>`)"),
        },
    )?;
    let mut reader = d
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            D::NoMatchingKeys => fail("was not encrypted to the operator's age identity (encrypt it with `age -r` and the identity's recipient, `age-keygen -y`)"),
            D::ExcessiveWork { .. } => fail("is encrypted with a passphrase; encrypt it to the operator's recipient instead (`age -r`)"),
            D::InvalidMac => fail("has a damaged header (its MAC does not match)"),
            _ => fail(truncated),
        })?;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|_| fail(truncated))?;
    let text = String::from_utf8(plain).map_err(|_| fail("does not decrypt to UTF-8 text"))?;
    let v = text.trim_end_matches(['\n', '\r']);
    if v.is_empty() {
        return Err(fail("decrypts to an empty secret"));
    }
    Ok(Secret(v.to_string()))
}

/// A relative path with `.` and `..` applied to the text, as `/`-separated text (the form
/// `allowed_secrets` globs see for `age:`).
fn relative_lexical(path: &Path) -> String {
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            std::path::Component::Normal(n) => out.push(n),
            // Absolute paths stay as written (they are checked against the root anyway).
            _ => return path.display().to_string(),
        }
    }
    out.iter()
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why a `file:` reference into the repository is refused.
const IN_REPOSITORY: &str =
    "secrets may not be read from the repository (commit them encrypted, as `age:`)";

/// `path` made absolute with `.` and `..` applied to the text (symlinks not followed).
/// (`input` has the same; `secret` is a leaf and names no other module.)
fn lexical(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The largest `file:` secret read (64 KiB: keys and tokens are far smaller).
const MAX_SECRET_FILE_BYTES: u64 = 64 << 10;

/// Reads a `file:` secret: a regular file (never a device or a FIFO, which are checked
/// before opening, so a pipe never blocks), at most [`MAX_SECRET_FILE_BYTES`].
fn read_secret_file(path: &Path) -> std::io::Result<String> {
    let not_regular = || std::io::Error::other("not a regular file");
    let too_large = || std::io::Error::other("larger than 64 KiB");
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(not_regular());
    }
    let f = std::fs::File::open(path)?;
    // What was opened is checked again: the path may have changed since.
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(not_regular());
    }
    if m.len() > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    let mut v = String::new();
    f.take(MAX_SECRET_FILE_BYTES + 1).read_to_string(&mut v)?;
    if v.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    Ok(v)
}

impl SecretRef {
    /// Parses `env:NAME`, `file:PATH` (a relative path is taken from `base_dir`) or
    /// `age:PATH` (kept as written, confined to `base_dir`).
    pub fn parse(s: &str, base_dir: &Path) -> Result<SecretRef, SecretError> {
        if let Some(name) = s.strip_prefix("env:") {
            if !name.is_empty() {
                return Ok(SecretRef::Env(name.to_string()));
            }
        }
        if let Some(path) = s.strip_prefix("file:") {
            if !path.is_empty() {
                return Ok(SecretRef::File(base_dir.join(path)));
            }
        }
        if let Some(path) = s.strip_prefix("age:") {
            if !path.is_empty() {
                return Ok(SecretRef::Age {
                    written: PathBuf::from(path),
                    root: base_dir.to_path_buf(),
                });
            }
        }
        // Show only the first characters: enough to recognise, too little to leak.
        Err(SecretError::Literal(s.chars().take(4).collect()))
    }

    /// Reads the secret now. A trailing newline in a file is dropped. An `age:` reference
    /// needs the operator's identity: resolve it through [`SecretPolicy::resolve`].
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if v.is_empty() => Err(SecretError::EmptyEnv(name.clone())),
                Ok(v) => Ok(Secret(v)),
                Err(_) => Err(SecretError::MissingEnv(name.clone())),
            },
            SecretRef::File(path) => {
                let v = read_secret_file(path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                let v = v.trim_end_matches(['\n', '\r']).to_string();
                if v.is_empty() {
                    return Err(SecretError::EmptyFile(path.clone()));
                }
                Ok(Secret(v))
            }
            SecretRef::Age { .. } => Err(SecretError::NoAgeIdentity(self.to_string())),
        }
    }
}

impl SecretRef {
    /// Makes a relative `file:` path relative to `base_dir` (the config file's directory),
    /// and confines an `age:` path to it.
    pub fn relative_to(self, base_dir: &Path) -> SecretRef {
        match self {
            SecretRef::File(p) if p.is_relative() => SecretRef::File(base_dir.join(p)),
            SecretRef::Age { written, root } => SecretRef::Age {
                written,
                root: base_dir.join(root),
            },
            other => other,
        }
    }
}

/// In configuration a secret is a string `env:NAME`, `file:PATH` or `age:PATH`; anything else is
/// refused so a pasted token never lands in git. Relative paths are fixed up by the config
/// loader with [`SecretRef::relative_to`].
impl<'de> serde::Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        SecretRef::parse(&s, Path::new("")).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(env|file|age):.+$",
            "description": "A secret reference: `env:NAME` (environment variable), `file:PATH` (file contents, relative to the config file) or `age:PATH` (a file encrypted with age to the operator's identity, inside the config file's directory). Never the secret itself."
        })
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
            SecretRef::Age { written, .. } => write!(f, "age:{}", written.display()),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => f.debug_tuple("Env").field(n).finish(),
            SecretRef::File(p) => f.debug_tuple("File").field(p).finish(),
            SecretRef::Age { written, .. } => f
                .debug_struct("Age")
                .field("written", written)
                .finish_non_exhaustive(),
        }
    }
}

/// A resolved secret value. `Debug` and `Display` print `<redacted>`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it (an HTTP header, a TSIG key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_is_refused_and_not_echoed() {
        let e = SecretRef::parse("hunter2-very-secret", Path::new(".")).unwrap_err();
        let msg = e.to_string();
        assert!(!msg.contains("very-secret"), "{msg}");
    }

    #[test]
    fn policy_allows_denies_and_guards_the_repository() {
        std::env::set_var("ZK_POLICY_TEST_KEY", "v");
        let ok = SecretRef::Env("ZK_POLICY_TEST_KEY".into());
        let other = SecretRef::Env("GITHUB_TOKEN".into());
        let p = SecretPolicy::allowing(&["env:ZK_POLICY_*".into()]).unwrap();
        assert_eq!(p.resolve(&ok).unwrap().expose(), "v");
        assert!(matches!(
            p.resolve(&other),
            Err(SecretError::NotAllowed(..))
        ));
        let p = SecretPolicy::default().deny(ok.clone());
        assert!(matches!(p.resolve(&ok), Err(SecretError::NotAllowed(..))));
        let snap = tempfile::tempdir().unwrap();
        std::fs::create_dir(snap.path().join("secrets")).unwrap();
        std::fs::write(snap.path().join("secrets/key"), "k").unwrap();
        let p = SecretPolicy::default().deny_files_under(snap.path().to_path_buf());
        let in_repo = SecretRef::File(snap.path().join("secrets/key"));
        assert!(matches!(
            p.resolve(&in_repo),
            Err(SecretError::NotAllowed(..))
        ));
    }

    #[test]
    fn age_references_parse_display_and_hash_without_their_root() {
        let a = SecretRef::parse("age:secrets/k.age", Path::new("")).unwrap();
        let in_one = a.clone().relative_to(Path::new("/state/snapshots/aaa"));
        let in_two = a.relative_to(Path::new("/state/snapshots/bbb"));
        assert_eq!(in_one.to_string(), "age:secrets/k.age");
        assert_eq!(format!("{in_one:?}"), format!("{in_two:?}"));
        assert!(!format!("{in_one:?}").contains("aaa"));
        assert!(matches!(
            SecretRef::parse("age:", Path::new(".")),
            Err(SecretError::Literal(_))
        ));
    }

    #[test]
    fn env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), "s3cret\n").unwrap();
        let r = SecretRef::parse("file:k", dir.path()).unwrap();
        assert_eq!(r.resolve().unwrap().expose(), "s3cret");
        assert_eq!(format!("{:?}", r.resolve().unwrap()), "<redacted>");
        let r = SecretRef::parse("env:ZK_TEST_SURELY_UNSET_VAR", dir.path()).unwrap();
        assert!(matches!(r.resolve(), Err(SecretError::MissingEnv(_))));
    }

    /// A `file:` secret is read like every input: a regular file under a small cap. Before,
    /// `file:/dev/zero` (or a FIFO) was read to the end: a repository of the legacy form
    /// could take the daemon's memory, or block its reconcile for good.
    #[test]
    fn file_secrets_are_small_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 1 << 20]).unwrap();
        for p in [PathBuf::from("/dev/zero"), fifo, big] {
            let (tx, rx) = std::sync::mpsc::channel();
            let r = SecretRef::File(p.clone());
            std::thread::spawn(move || tx.send(r.resolve().map(|_| ())));
            let got = rx.recv_timeout(std::time::Duration::from_secs(10));
            assert!(
                matches!(got, Ok(Err(SecretError::File { .. }))),
                "{p:?}: {got:?}"
            );
        }
    }

    /// The forms a committer could write to get around the policy: each is refused.
    #[test]
    fn file_references_are_compared_after_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let snap = base.join("snap");
        let own = base.join("own");
        std::fs::create_dir_all(snap.join("secrets")).unwrap();
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(snap.join("secrets/key"), "committed").unwrap();
        std::fs::write(own.join("token"), "controller-token").unwrap();
        std::os::unix::fs::symlink(snap.join("secrets/key"), base.join("link-in")).unwrap();
        std::os::unix::fs::symlink(own.join("token"), base.join("link-own")).unwrap();
        let p = SecretPolicy::default()
            .deny(SecretRef::File(own.join("token")))
            .deny_files_under(snap.clone());
        let cwd = std::env::current_dir().unwrap();
        let tricks = [
            base.join("snap/../snap/secrets/key"),
            base.join("link-in"),
            // /proc/self/cwd/<relative path to the snapshot>, from wherever the test runs.
            Path::new("/proc/self/cwd")
                .join(pathdiff(&cwd, &snap))
                .join("secrets/key"),
            base.join("own/../own/token"),
            base.join("link-own"),
        ];
        for t in tricks {
            let r = SecretRef::File(t.clone());
            assert!(
                matches!(p.resolve(&r), Err(SecretError::NotAllowed(..))),
                "{} was allowed",
                t.display()
            );
        }
        // A path that does not resolve is refused before any check could be fooled.
        std::os::unix::fs::symlink(base.join("nothing"), base.join("dangling")).unwrap();
        for r in [base.join("nothing-here"), base.join("dangling")] {
            assert!(
                matches!(
                    p.resolve(&SecretRef::File(r)),
                    Err(SecretError::File { .. })
                ),
                "unresolvable path allowed"
            );
        }
        // An ordinary operator file is still read.
        std::fs::write(base.join("pdns"), "k\n").unwrap();
        assert_eq!(
            p.resolve(&SecretRef::File(base.join("pdns")))
                .unwrap()
                .expose(),
            "k"
        );
    }

    /// `../` steps from `from` to `to` (both absolute, canonical).
    fn pathdiff(from: &Path, to: &Path) -> PathBuf {
        let from = std::fs::canonicalize(from).unwrap();
        let mut out = PathBuf::new();
        for _ in from.components().skip(1) {
            out.push("..");
        }
        out.join(to.strip_prefix("/").unwrap())
    }

    #[test]
    fn allowed_globs_never_cross_a_slash_or_climb_out() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(base.join("secrets/sub")).unwrap();
        std::fs::write(base.join("secrets/pdns"), "k").unwrap();
        std::fs::write(base.join("secrets/sub/deep"), "d").unwrap();
        std::fs::write(base.join("other"), "o").unwrap();
        let p = SecretPolicy::allowing(&[format!("file:{}/secrets/*", base.display())]).unwrap();
        assert!(p
            .resolve(&SecretRef::File(base.join("secrets/pdns")))
            .is_ok());
        for bad in [
            "secrets/sub/deep",
            "secrets/../other",
            "secrets/sub/../../other",
        ] {
            assert!(
                matches!(
                    p.resolve(&SecretRef::File(base.join(bad))),
                    Err(SecretError::NotAllowed(..))
                ),
                "{bad} was allowed"
            );
        }
        std::env::set_var("ZK_GLOB_TEST_A", "v");
        let p = SecretPolicy::allowing(&["env:ZK_GLOB_*".into()]).unwrap();
        assert!(p.resolve(&SecretRef::Env("ZK_GLOB_TEST_A".into())).is_ok());
    }
}
