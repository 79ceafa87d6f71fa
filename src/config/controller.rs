//! The `controller:` section of `zonekeeper.yaml`: the settings of `zonekeeper run`, as
//! written ([`ControllerConfig`], every key optional, each with a flag of the same name that
//! overrides it) and resolved ([`ControllerSettings`]: defaults filled in, one source chosen,
//! typed values). The CLI only maps its flags onto a [`ControllerConfig`].

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::RawConfig;
use crate::input::{
    from_yaml_error, read_input, yaml_options, Diagnostics, HumanDuration, HumanSize,
};
use crate::secret::{age_identity_from_env, SecretError, SecretPolicy, SecretRef};

/// Default `listen`: loopback only.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 9353));
/// Default `branch`.
pub const DEFAULT_BRANCH: &str = "main";
/// Default `state_dir` (relative to the working directory).
pub const DEFAULT_STATE_DIR: &str = "zonekeeper-state";
/// Default `interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Default `resync_interval`.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(600);
/// Default `concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Default `deadline`: the most one zone read or write may take, retries and rate-limit
/// waits included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);
/// Shortest `interval`: below it the daemon spins on fetches and never gets to a revision.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest `resync_interval`: below it every zone is re-read from its providers nonstop.
pub const MIN_RESYNC_INTERVAL: Duration = Duration::from_secs(10);
/// Default `max_file_size`: the cap on one input file ([`crate::input::read::MAX_INPUT_BYTES`]).
pub const DEFAULT_MAX_FILE_SIZE: u64 = crate::input::read::MAX_INPUT_BYTES;
/// Default `max_revision_size`: the cap on the files of one revision written into a
/// snapshot ([`crate::source::git::DEFAULT_MAX_REVISION_BYTES`]).
pub const DEFAULT_MAX_REVISION_SIZE: u64 = crate::source::git::DEFAULT_MAX_REVISION_BYTES;

/// The `controller:` section as written. Every key has a flag of the same name
/// (`--repo`, `--state-dir`, ...) that overrides it.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Git repository URL (`file://`, `git://`, `https://`, `ssh://`).
    pub repo: Option<String>,
    /// Branch to follow (default `main`).
    pub branch: Option<String>,
    /// Directory inside the repository holding `zonekeeper.yaml`.
    pub path: Option<PathBuf>,
    /// A local directory instead of a repository (development).
    pub dir: Option<PathBuf>,
    /// Cache and journal directory (default `./zonekeeper-state`).
    pub state_dir: Option<PathBuf>,
    /// HTTP listen address (default `127.0.0.1:9353`).
    pub listen: Option<SocketAddr>,
    /// Serve the listener over HTTPS only, with this certificate and key (flags
    /// `--tls-cert`/`--tls-key`). Unset: plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Shared secret for `POST /hooks/git` (`env:`/`file:`).
    pub webhook_secret: Option<SecretRef>,
    /// Bearer token that `/status` and `/metrics` require (`env:`/`file:`); unset, they are
    /// open. `/healthz` and `/readyz` never need it.
    pub status_token: Option<SecretRef>,
    /// HTTPS token for the repository (`env:`/`file:`).
    pub token: Option<SecretRef>,
    /// SSH private key file for `ssh://` repositories.
    pub ssh_key: Option<PathBuf>,
    /// Poll interval, e.g. `60s` (default 60 s, jittered +-10%).
    pub interval: Option<HumanDuration>,
    /// Full drift sweep interval, e.g. `10m` (default 10 min, jittered +-10%).
    pub resync_interval: Option<HumanDuration>,
    /// Zones reconciled at the same time (default 4).
    pub concurrency: Option<usize>,
    /// The most one zone read or write may take, retries and rate-limit waits included,
    /// e.g. `5m` (default 5 min).
    pub deadline: Option<HumanDuration>,
    /// Audit journal path (default `<state_dir>/journal.jsonl`).
    pub journal: Option<PathBuf>,
    /// Accept only commits signed by these SSH keys.
    pub verify: Option<VerifyConfig>,
    /// Accept a head that does not descend from the last one taken (default false).
    pub allow_rewind: Option<bool>,
    /// Secret references the repository's manifests may use (globs such as `env:PDNS_*`,
    /// `file:/etc/zonekeeper/secrets/*`, `age:secrets/*`). Unset: any except the
    /// controller's own credentials and `file:` references inside the repository. Also
    /// `ZONEKEEPER_ALLOWED_SECRETS`.
    pub allowed_secrets: Option<Vec<String>>,
    /// The operator's age identity file (as `age -i` takes), decrypting the repository's
    /// `age:` secrets. Unset: `ZONEKEEPER_AGE_IDENTITY`. Never readable by a manifest.
    pub age_identity: Option<PathBuf>,
    /// Largest input file read and written into a snapshot, e.g. `32MiB` (the default).
    pub max_file_size: Option<HumanSize>,
    /// Largest total of one revision's files written into a snapshot, e.g. `256MiB` (the
    /// default); a larger revision is refused and the one in force stays.
    pub max_revision_size: Option<HumanSize>,
}

/// Commit signature checking.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// A file in git's `gpg.ssh.allowedSignersFile` format.
    pub allowed_signers: PathBuf,
}

/// The listener's certificate and key (`controller.tls`). Relative paths are taken from the
/// configuration file's directory.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, RSA or EC) of that certificate: a controller credential
    /// that no manifest's `file:` secret may name.
    pub key: PathBuf,
}

/// Where the daemon gets its manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSettings {
    /// A local directory, reloaded on every change.
    Dir(PathBuf),
    /// A git repository.
    Git {
        url: String,
        branch: String,
        /// Directory inside the repository holding `zonekeeper.yaml`.
        path: Option<PathBuf>,
        /// HTTPS token.
        token: Option<SecretRef>,
        /// SSH private key file.
        ssh_key: Option<PathBuf>,
        /// Accept only commits signed by a key in this file.
        allowed_signers: Option<PathBuf>,
        /// Accept a head that does not descend from the last one taken.
        allow_rewind: bool,
    },
}

/// The resolved `controller:` settings: defaults applied, every value typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerSettings {
    pub source: SourceSettings,
    pub state_dir: PathBuf,
    pub listen: SocketAddr,
    /// HTTPS on the listener; `None`: plain HTTP.
    pub tls: Option<TlsConfig>,
    pub webhook_secret: Option<SecretRef>,
    pub status_token: Option<SecretRef>,
    /// Poll interval (jittered by the daemon).
    pub interval: Duration,
    /// Drift sweep interval (jittered by the daemon).
    pub resync_interval: Duration,
    /// At least 1.
    pub concurrency: usize,
    /// Bound of one zone read or write (retries included).
    pub deadline: Duration,
    pub journal: PathBuf,
    /// `None`: `ZONEKEEPER_ALLOWED_SECRETS`, else any.
    pub allowed_secrets: Option<Vec<String>>,
    /// `None`: `ZONEKEEPER_AGE_IDENTITY`, else none (an `age:` secret is then an error).
    pub age_identity: Option<PathBuf>,
    /// Cap on one input file, bytes.
    pub max_file_size: u64,
    /// Cap on one revision's files written into a snapshot, bytes.
    pub max_revision_size: u64,
}

/// Why the `controller:` settings cannot run a daemon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllerError {
    #[error("nothing to follow: give --repo URL or --dir PATH (or `controller: {{repo: ...}}` in --config)")]
    NoSource,
    #[error("give either a repository (--repo) or a directory (--dir), not both")]
    TwoSources,
    #[error("--{flag} (controller.{key}) is {got}; it must be at least {min}", flag = key.replace('_', "-"), got = humantime::format_duration(*got), min = humantime::format_duration(*min))]
    TooShort {
        /// The key, as in the `controller:` section.
        key: &'static str,
        got: Duration,
        min: Duration,
    },
}

/// `value`, or [`ControllerError::TooShort`] when it is under `min`.
fn at_least(
    key: &'static str,
    value: Duration,
    min: Duration,
) -> Result<Duration, ControllerError> {
    if value < min {
        return Err(ControllerError::TooShort {
            key,
            got: value,
            min,
        });
    }
    Ok(value)
}

impl ControllerConfig {
    /// Reads only the `controller:` section of a local file (the journal location for
    /// `zonekeeper apply`; `run` reads the whole operator's file through
    /// [`super::operator::OperatorConfig`]). Relative paths are made relative to the file.
    ///
    /// # Errors
    /// The file cannot be read, is not valid YAML or has an unknown or mistyped key.
    pub fn load(path: &Path) -> Result<ControllerConfig, Diagnostics> {
        let text = read_input(path).map_err(|d| Diagnostics(vec![d]))?;
        let raw: RawConfig = serde_saphyr::from_str_with_options(&text, yaml_options(text.len()))
            .map_err(|e| Diagnostics(vec![from_yaml_error(path, &e)]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(raw.controller.unwrap_or_default().relative_to(base))
    }

    /// Relative paths (and `file:` secrets) taken from `base`.
    pub(crate) fn relative_to(mut self, base: &Path) -> ControllerConfig {
        if base.as_os_str().is_empty() {
            return self;
        }
        for p in [
            &mut self.dir,
            &mut self.state_dir,
            &mut self.ssh_key,
            &mut self.journal,
            &mut self.age_identity,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(v) = &mut self.verify {
            if v.allowed_signers.is_relative() {
                v.allowed_signers = base.join(&v.allowed_signers);
            }
        }
        if let Some(t) = &mut self.tls {
            for p in [&mut t.cert, &mut t.key] {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        self.webhook_secret = self.webhook_secret.map(|s| s.relative_to(base));
        self.status_token = self.status_token.map(|s| s.relative_to(base));
        self.token = self.token.map(|s| s.relative_to(base));
        self
    }

    /// These settings with every key `over` sets replaced (flags over the file).
    /// `allow_rewind` is on when either turns it on.
    pub fn overridden_by(self, over: ControllerConfig) -> ControllerConfig {
        ControllerConfig {
            repo: over.repo.or(self.repo),
            branch: over.branch.or(self.branch),
            path: over.path.or(self.path),
            dir: over.dir.or(self.dir),
            state_dir: over.state_dir.or(self.state_dir),
            listen: over.listen.or(self.listen),
            tls: over.tls.or(self.tls),
            webhook_secret: over.webhook_secret.or(self.webhook_secret),
            status_token: over.status_token.or(self.status_token),
            token: over.token.or(self.token),
            ssh_key: over.ssh_key.or(self.ssh_key),
            interval: over.interval.or(self.interval),
            resync_interval: over.resync_interval.or(self.resync_interval),
            concurrency: over.concurrency.or(self.concurrency),
            deadline: over.deadline.or(self.deadline),
            journal: over.journal.or(self.journal),
            verify: over.verify.or(self.verify),
            allow_rewind: match (over.allow_rewind, self.allow_rewind) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (a, b) => a.or(b),
            },
            allowed_secrets: over.allowed_secrets.or(self.allowed_secrets),
            age_identity: over.age_identity.or(self.age_identity),
            max_file_size: over.max_file_size.or(self.max_file_size),
            max_revision_size: over.max_revision_size.or(self.max_revision_size),
        }
    }

    /// Fills in the defaults and chooses the source.
    ///
    /// # Errors
    /// Neither or both of `repo` and `dir` are given, or an interval is under its minimum
    /// ([`MIN_INTERVAL`], [`MIN_RESYNC_INTERVAL`]).
    pub fn resolve(self) -> Result<ControllerSettings, ControllerError> {
        let state_dir = self
            .state_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
        let source = match (self.dir, self.repo) {
            (Some(dir), None) => SourceSettings::Dir(dir),
            (None, Some(url)) => SourceSettings::Git {
                url,
                branch: self.branch.unwrap_or_else(|| DEFAULT_BRANCH.into()),
                path: self.path,
                token: self.token,
                ssh_key: self.ssh_key,
                allowed_signers: self.verify.map(|v| v.allowed_signers),
                allow_rewind: self.allow_rewind.unwrap_or(false),
            },
            (Some(_), Some(_)) => return Err(ControllerError::TwoSources),
            (None, None) => return Err(ControllerError::NoSource),
        };
        Ok(ControllerSettings {
            source,
            listen: self.listen.unwrap_or(DEFAULT_LISTEN),
            tls: self.tls,
            webhook_secret: self.webhook_secret,
            status_token: self.status_token,
            interval: at_least(
                "interval",
                self.interval.map_or(DEFAULT_INTERVAL, HumanDuration::get),
                MIN_INTERVAL,
            )?,
            resync_interval: at_least(
                "resync_interval",
                self.resync_interval
                    .map_or(DEFAULT_RESYNC_INTERVAL, HumanDuration::get),
                MIN_RESYNC_INTERVAL,
            )?,
            concurrency: self.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1),
            deadline: self.deadline.map_or(DEFAULT_DEADLINE, HumanDuration::get),
            journal: self
                .journal
                .unwrap_or_else(|| state_dir.join("journal.jsonl")),
            state_dir,
            allowed_secrets: self.allowed_secrets,
            age_identity: self.age_identity,
            max_file_size: self
                .max_file_size
                .map_or(DEFAULT_MAX_FILE_SIZE, HumanSize::bytes),
            max_revision_size: self
                .max_revision_size
                .map_or(DEFAULT_MAX_REVISION_SIZE, HumanSize::bytes),
        })
    }
}

impl ControllerSettings {
    /// The secrets the source's manifests may resolve: `allowed_secrets` (else
    /// `ZONEKEEPER_ALLOWED_SECRETS`, else any), never the controller's own credentials
    /// (the age identity among them); `age:` secrets decrypted with `age_identity` (else
    /// `ZONEKEEPER_AGE_IDENTITY`).
    ///
    /// # Errors
    /// An allowed-secrets pattern that is not a valid glob.
    pub fn secret_policy(&self) -> Result<SecretPolicy, SecretError> {
        let mut p = match &self.allowed_secrets {
            Some(list) => SecretPolicy::allowing(list)?,
            None => SecretPolicy::from_env()?,
        };
        if let Some(id) = self.age_identity.clone().or_else(age_identity_from_env) {
            p = p.with_age_identity(id);
        }
        let (token, files) = match &self.source {
            SourceSettings::Git {
                token,
                ssh_key,
                allowed_signers,
                ..
            } => (token.as_ref(), [ssh_key.clone(), allowed_signers.clone()]),
            SourceSettings::Dir(_) => (None, [None, None]),
        };
        for own in [
            self.webhook_secret.as_ref(),
            self.status_token.as_ref(),
            token,
        ]
        .into_iter()
        .flatten()
        {
            p = p.deny(own.clone());
        }
        // The repository's SSH key (and signers file) and the listener's TLS key are the
        // controller's too.
        let tls_key = self.tls.as_ref().map(|t| t.key.clone());
        for f in files.into_iter().chain([tls_key]).flatten() {
            p = p.deny(SecretRef::File(f));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section of a `zonekeeper.yaml` holding `yaml`, in a fresh directory.
    fn section(yaml: &str) -> (Result<ControllerConfig, String>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zonekeeper.yaml");
        std::fs::write(&path, yaml).unwrap();
        (
            ControllerConfig::load(&path).map_err(|d| d.to_string()),
            dir,
        )
    }

    #[test]
    fn defaults() {
        let s = ControllerConfig {
            dir: Some("/srv/dns".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(s.source, SourceSettings::Dir("/srv/dns".into()));
        assert_eq!(s.listen, "127.0.0.1:9353".parse().unwrap());
        assert_eq!(s.interval, Duration::from_secs(60));
        assert_eq!(s.resync_interval, Duration::from_secs(600));
        assert_eq!(s.concurrency, 4);
        assert_eq!(s.state_dir, Path::new("zonekeeper-state"));
        assert_eq!(s.journal, Path::new("zonekeeper-state/journal.jsonl"));
    }

    #[test]
    fn typed_keys_and_flags_override_the_file() {
        let (file, dir) = section(
            "controller:\n  repo: https://git.example/dns.git\n  listen: 0.0.0.0:9000\n  interval: 30s\n  resync_interval: 1h\n  concurrency: 0\n  token: file:secrets/token\n  state_dir: state\n  verify:\n    allowed_signers: signers\n",
        );
        let file = file.unwrap();
        let base = dir.path();
        let flags = ControllerConfig {
            interval: Some(HumanDuration::from_secs(5)),
            allow_rewind: Some(true),
            ..Default::default()
        };
        let s = file.overridden_by(flags).resolve().unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.interval, Duration::from_secs(5));
        assert_eq!(s.resync_interval, Duration::from_secs(3600));
        assert_eq!(s.concurrency, 1);
        assert_eq!(s.journal, base.join("state/journal.jsonl"));
        let SourceSettings::Git {
            branch,
            token,
            allowed_signers,
            allow_rewind,
            ..
        } = &s.source
        else {
            panic!("{:?}", s.source)
        };
        assert_eq!(branch, "main");
        assert_eq!(token, &Some(SecretRef::File(base.join("secrets/token"))));
        assert_eq!(allowed_signers.as_deref(), Some(&*base.join("signers")));
        assert!(allow_rewind);
        // The controller's own token (and signers file) is never a manifest's secret.
        std::fs::create_dir_all(base.join("secrets")).unwrap();
        std::fs::write(base.join("secrets/token"), "t").unwrap();
        std::fs::write(base.join("signers"), "s").unwrap();
        let p = s.secret_policy().unwrap();
        for own in ["secrets/token", "secrets/../signers"] {
            assert!(
                matches!(
                    p.resolve(&SecretRef::File(base.join(own))),
                    Err(SecretError::NotAllowed(..))
                ),
                "{own}"
            );
        }
    }

    #[test]
    fn the_tls_key_is_relative_to_the_file_and_never_a_manifest_secret() {
        let (file, dir) = section(
            "controller:\n  dir: x\n  tls:\n    cert: tls/server.crt\n    key: tls/server.key\n",
        );
        let base = dir.path();
        let s = file.unwrap().resolve().unwrap();
        let tls = s.tls.clone().unwrap();
        assert_eq!(tls.cert, base.join("tls/server.crt"));
        assert_eq!(tls.key, base.join("tls/server.key"));
        std::fs::create_dir_all(base.join("tls")).unwrap();
        std::fs::write(&tls.key, "k").unwrap();
        std::fs::write(&tls.cert, "c").unwrap();
        let p = s.secret_policy().unwrap();
        for own in ["tls/server.key", "tls/../tls/server.key"] {
            assert!(
                matches!(
                    p.resolve(&SecretRef::File(base.join(own))),
                    Err(SecretError::NotAllowed(..))
                ),
                "{own}"
            );
        }
        // The certificate is public.
        assert!(p.resolve(&SecretRef::File(tls.cert)).is_ok());
        // Flags replace the file's pair; an unknown key is refused.
        let flags = ControllerConfig {
            tls: Some(TlsConfig {
                cert: "/etc/c".into(),
                key: "/etc/k".into(),
            }),
            ..Default::default()
        };
        let (file, _dir) = section("controller:\n  dir: x\n  tls: {cert: a, key: b}\n");
        let s = file.unwrap().overridden_by(flags).resolve().unwrap();
        assert_eq!(s.tls.map(|t| t.key), Some(PathBuf::from("/etc/k")));
        let e = section("controller:\n  tls: {cert: a, key: b, ca: c}\n")
            .0
            .unwrap_err();
        assert!(e.contains(":2:"), "{e}");
    }

    #[test]
    fn size_caps_and_the_age_identity_are_the_operators() {
        let s = ControllerConfig {
            dir: Some("d".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            (s.max_file_size, s.max_revision_size, s.age_identity),
            (32 << 20, 256 << 20, None)
        );
        let (file, dir) = section(
            "controller:\n  dir: x\n  max_file_size: 4KiB\n  max_revision_size: 1MiB\n  age_identity: keys/id.txt\n",
        );
        let flags = ControllerConfig {
            max_revision_size: Some("2MiB".parse().unwrap()),
            ..Default::default()
        };
        let s = file.unwrap().overridden_by(flags).resolve().unwrap();
        assert_eq!((s.max_file_size, s.max_revision_size), (4096, 2 << 20));
        assert_eq!(s.age_identity, Some(dir.path().join("keys/id.txt")));
        let e = section("controller:\n  dir: x\n  max_file_size: 1000\n")
            .0
            .unwrap_err();
        assert!(e.contains(":3:") && e.contains("1000 has no unit"), "{e}");
    }

    #[test]
    fn bad_values_are_errors_with_their_line() {
        let e = section("controller:\n  dir: x\n  interval: 60\n")
            .0
            .unwrap_err();
        assert!(e.contains(":3:"), "{e}");
        assert!(e.contains("no unit"), "{e}");
        let e = section("controller:\n  listen: localhost\n").0.unwrap_err();
        assert!(e.contains(":2:"), "{e}");
        assert_eq!(
            ControllerConfig::default().resolve(),
            Err(ControllerError::NoSource)
        );
        let both = ControllerConfig {
            dir: Some("d".into()),
            repo: Some("file:///r".into()),
            ..Default::default()
        };
        assert_eq!(both.resolve(), Err(ControllerError::TwoSources));
    }

    #[test]
    fn intervals_under_their_minimum_are_refused() {
        let with = |interval: u64, resync: u64| ControllerConfig {
            dir: Some("d".into()),
            interval: Some(HumanDuration::from_secs(interval)),
            resync_interval: Some(HumanDuration::from_secs(resync)),
            ..Default::default()
        };
        let e = with(0, 600).resolve().unwrap_err();
        assert_eq!(
            e.to_string(),
            "--interval (controller.interval) is 0s; it must be at least 1s"
        );
        let e = with(60, 9).resolve().unwrap_err();
        assert_eq!(
            e.to_string(),
            "--resync-interval (controller.resync_interval) is 9s; it must be at least 10s"
        );
        // The file's value is checked the same way as the flag's.
        let (file, _dir) = section("controller:\n  dir: x\n  resync_interval: 0s\n");
        assert!(matches!(
            file.unwrap().resolve(),
            Err(ControllerError::TooShort {
                key: "resync_interval",
                ..
            })
        ));
        let s = with(1, 10).resolve().unwrap();
        assert_eq!(
            (s.interval, s.resync_interval),
            (Duration::from_secs(1), Duration::from_secs(10))
        );
    }
}
