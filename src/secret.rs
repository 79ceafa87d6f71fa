//! Secrets are references (`env:NAME`, `file:PATH`), never literals in a manifest. They are
//! resolved once at start-up and their values never reach logs, errors or status output.

use std::fmt;
use std::path::{Path, PathBuf};

/// A reference to a secret as written in configuration.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

/// Why a secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secrets must be written as `env:NAME` or `file:PATH`, never literally (got a value starting {0:?})")]
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
}

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

    /// The policy `ZONEKEEPER_ALLOWED_SECRETS` describes (allow-all when it is unset).
    pub fn from_env() -> Result<SecretPolicy, SecretError> {
        match std::env::var(ALLOWED_SECRETS_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                SecretPolicy::allowing(&v.split(',').map(str::to_string).collect::<Vec<_>>())
            }
            _ => Ok(SecretPolicy::default()),
        }
    }

    /// Also refuses `r`.
    pub fn deny(mut self, r: SecretRef) -> SecretPolicy {
        self.denied.push(r);
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
        // The forms of a `file:` reference compared: as written (`..` applied), resolved.
        let forms = match r {
            SecretRef::Env(_) => None,
            // Unresolvable (missing, a dangling symlink, a loop): refused, never read.
            SecretRef::File(p) => match std::fs::canonicalize(p) {
                Ok(real) => Some((lexical(p), real)),
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
        if let Some((written, real)) = &forms {
            for dir in &self.denied_dirs {
                let dirs = [Some(lexical(dir)), std::fs::canonicalize(dir).ok()];
                let under = |p: &Path| dirs.iter().flatten().any(|d| p.starts_with(d));
                if under(written) || under(real) {
                    return denied("secrets may not be read from the repository");
                }
            }
        }
        if let Some(allowed) = &self.allowed {
            // Globs see the path with `..` applied, and `*` never crosses a `/`.
            let subject = match &forms {
                Some((written, _)) => format!("file:{}", written.display()),
                None => text.clone(),
            };
            let opts = glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::new()
            };
            if !allowed.iter().any(|g| g.matches_with(&subject, opts)) {
                return denied("not in the allowed secrets list");
            }
        }
        r.resolve()
    }
}

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

impl SecretRef {
    /// Parses `env:NAME` or `file:PATH` (a relative path is taken from `base_dir`).
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
        // Show only the first characters: enough to recognise, too little to leak.
        Err(SecretError::Literal(s.chars().take(4).collect()))
    }

    /// Reads the secret now. A trailing newline in a file is dropped.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if v.is_empty() => Err(SecretError::EmptyEnv(name.clone())),
                Ok(v) => Ok(Secret(v)),
                Err(_) => Err(SecretError::MissingEnv(name.clone())),
            },
            SecretRef::File(path) => {
                let v = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                let v = v.trim_end_matches(['\n', '\r']).to_string();
                if v.is_empty() {
                    return Err(SecretError::EmptyFile(path.clone()));
                }
                Ok(Secret(v))
            }
        }
    }
}

impl SecretRef {
    /// Makes a relative `file:` path relative to `base_dir` (the config file's directory).
    pub fn relative_to(self, base_dir: &Path) -> SecretRef {
        match self {
            SecretRef::File(p) if p.is_relative() => SecretRef::File(base_dir.join(p)),
            other => other,
        }
    }
}

/// In configuration a secret is a string `env:NAME` or `file:PATH`; anything else is
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
            "pattern": "^(env|file):.+$",
            "description": "A secret reference: `env:NAME` (environment variable) or `file:PATH` (file contents, relative to the config file). Never the secret itself."
        })
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
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
    fn env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), "s3cret\n").unwrap();
        let r = SecretRef::parse("file:k", dir.path()).unwrap();
        assert_eq!(r.resolve().unwrap().expose(), "s3cret");
        assert_eq!(format!("{:?}", r.resolve().unwrap()), "<redacted>");
        let r = SecretRef::parse("env:ZK_TEST_SURELY_UNSET_VAR", dir.path()).unwrap();
        assert!(matches!(r.resolve(), Err(SecretError::MissingEnv(_))));
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
