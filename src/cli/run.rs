//! `zonekeeper run`: flags over the `controller:` section -> a source and daemon settings.
//! Resolving them (defaults, which source) is `config::controller`'s; this file maps flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use zonekeeper::config::controller::{ControllerConfig, SourceSettings, TlsConfig, VerifyConfig};
use zonekeeper::config::operator::OperatorConfig;
use zonekeeper::config::{SecretPolicy, SecretRef};
use zonekeeper::controller::daemon::{self, DaemonSettings};
use zonekeeper::controller::reconcile::ReconcileOptions;
use zonekeeper::controller::revision::OperatorSide;
use zonekeeper::controller::scheduler::RetryTimes;
use zonekeeper::input::{HumanDuration, HumanSize};
use zonekeeper::source::dir::DirSource;
use zonekeeper::source::git::{GitSettings, GitSource};
use zonekeeper::source::Source;

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Git repository to follow (file://, git://, https://, ssh://).
    #[arg(long, conflicts_with = "dir")]
    pub repo: Option<String>,
    /// Branch to follow [default: main].
    #[arg(long)]
    pub branch: Option<String>,
    /// Directory inside the repository that holds zonekeeper.yaml.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// Follow a local directory instead of a repository (reloaded on every change).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where the repository cache and the audit journal live [default: ./zonekeeper-state].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Address of the HTTP server (/metrics, /healthz, /readyz, /status, /hooks/git)
    /// [default: 127.0.0.1:9353].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS only (TLS 1.2 and 1.3) with this PEM certificate chain; needs --tls-key.
    /// Without both, the listener speaks plain HTTP.
    #[arg(long, requires = "tls_key", value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC) of --tls-cert; needs --tls-cert. A controller
    /// credential: no manifest's file: secret may name it.
    #[arg(long, requires = "tls_cert", value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// Webhook secret, as env:NAME, file:PATH or age:PATH. Without one, every webhook call gets 401.
    #[arg(long)]
    pub webhook_secret: Option<String>,
    /// Bearer token that /status and /metrics require, as env:NAME or file:PATH (Prometheus:
    /// `authorization: {credentials_file: ...}`). /healthz and /readyz stay open.
    #[arg(long)]
    pub status_token: Option<String>,
    /// HTTPS token for the repository, as env:NAME, file:PATH or age:PATH.
    #[arg(long)]
    pub token: Option<String>,
    /// SSH private key for ssh:// repositories.
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// Accept only commits signed by a key in this allowed-signers file (git's format).
    #[arg(long)]
    pub allowed_signers: Option<PathBuf>,
    /// Accept a branch head that does not descend from the last one taken (after a
    /// deliberate force-push or rollback), and write zones whose revision record names a
    /// newer or unrelated revision. Refused by default: an older revision's manifests would
    /// delete newer records.
    #[arg(long)]
    pub allow_rewind: bool,
    /// How often to fetch, e.g. 60s, 5m [default: 60s; jittered +-10%].
    #[arg(long)]
    pub interval: Option<HumanDuration>,
    /// How often to re-plan every zone to catch drift, e.g. 10m [default: 10m].
    #[arg(long)]
    pub resync_interval: Option<HumanDuration>,
    /// Zones reconciled at the same time [default: 4].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// The most one zone read or write may take, retries and rate-limit waits included,
    /// e.g. 5m [default: 5m]. Changes not sent by then fail as transient and the zone is
    /// retried later.
    #[arg(long)]
    pub deadline: Option<HumanDuration>,
    /// Audit journal (JSON lines) [default: <state-dir>/journal.jsonl].
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// The operator's age identity file (as `age -i` takes), to decrypt the repository's
    /// age: secrets [default: $ZONEKEEPER_AGE_IDENTITY]. Manifests can never read it.
    #[arg(long)]
    pub age_identity: Option<PathBuf>,
    /// Largest input file read, and written into a snapshot, e.g. 32MiB [default: 32MiB].
    /// A manifest over it is refused; the revision in force stays.
    #[arg(long)]
    pub max_file_size: Option<HumanSize>,
    /// Largest total of one revision's manifest files (.yaml, .yml, .age) written into a
    /// snapshot, e.g. 256MiB [default: 256MiB]. A larger revision is refused whole; the
    /// revision in force stays.
    #[arg(long)]
    pub max_revision_size: Option<HumanSize>,
}

/// Resolves flags over the config file's `controller:` section and runs the daemon.
pub async fn run(
    config_path: &std::path::Path,
    explicit_config: bool,
    octodns_config: Option<&std::path::Path>,
    a: RunArgs,
) -> anyhow::Result<()> {
    let operator = if config_path.exists() {
        OperatorConfig::load(config_path)
            .map_err(|d| anyhow::anyhow!("invalid configuration:\n{d}"))?
    } else if explicit_config {
        bail!("{}: file not found", config_path.display());
    } else {
        OperatorConfig::default()
    };
    let file = operator.controller.clone();
    // Secret flags are parsed here, not by clap, so a pasted secret is never echoed.
    let here = std::path::Path::new(".");
    let secret_ref = |flag: Option<String>, what: &str| -> anyhow::Result<Option<SecretRef>> {
        flag.map(|s| SecretRef::parse(&s, here).with_context(|| format!("--{what}")))
            .transpose()
    };
    let flags = ControllerConfig {
        repo: a.repo,
        branch: a.branch,
        path: a.path,
        dir: a.dir,
        state_dir: a.state_dir,
        listen: a.listen,
        tls: a
            .tls_cert
            .zip(a.tls_key)
            .map(|(cert, key)| TlsConfig { cert, key }),
        webhook_secret: secret_ref(a.webhook_secret, "webhook-secret")?,
        status_token: secret_ref(a.status_token, "status-token")?,
        token: secret_ref(a.token, "token")?,
        ssh_key: a.ssh_key,
        interval: a.interval,
        resync_interval: a.resync_interval,
        concurrency: a.concurrency,
        deadline: a.deadline,
        journal: a.journal,
        verify: a
            .allowed_signers
            .map(|allowed_signers| VerifyConfig { allowed_signers }),
        allow_rewind: a.allow_rewind.then_some(true),
        allowed_secrets: None,
        age_identity: a.age_identity,
        max_file_size: a.max_file_size,
        max_revision_size: a.max_revision_size,
    };
    let merged = file.overridden_by(flags);
    // Also for a directory source: it guards zones' revision records.
    let allow_rewind = merged.allow_rewind.unwrap_or(false);
    let c = merged.resolve()?;
    // Before anything is created: a certificate that cannot serve stops the start here.
    let tls = c
        .tls
        .as_ref()
        .map(|t| zonekeeper::http::tls::ServerTls::load(&t.cert, &t.key))
        .transpose()?;
    // One cap for the whole process, set before any manifest is read.
    zonekeeper::input::set_max_input_bytes(c.max_file_size);
    // The controller's own secrets may be `age:` files beside the operator's config too.
    let own = match c
        .age_identity
        .clone()
        .or_else(zonekeeper::secret::age_identity_from_env)
    {
        Some(id) => SecretPolicy::default().with_age_identity(id),
        None => SecretPolicy::default(),
    };
    let resolve =
        |r: &Option<SecretRef>, what: &str| -> anyhow::Result<Option<zonekeeper::config::Secret>> {
            r.as_ref()
                .map(|r| own.resolve(r).with_context(|| what.to_string()))
                .transpose()
        };
    std::fs::create_dir_all(&c.state_dir)
        .with_context(|| format!("cannot create {}", c.state_dir.display()))?;
    // Held until the process ends: a second daemon on this directory is refused.
    let _lock = zonekeeper::controller::lock::StateLock::acquire(&c.state_dir)?;
    let source: Arc<dyn Source> = match &c.source {
        SourceSettings::Dir(dir) => Arc::new(DirSource::new(
            dir.clone(),
            c.state_dir.join("dir-snapshots"),
        )?),
        SourceSettings::Git {
            url,
            branch,
            path,
            token,
            ssh_key,
            allowed_signers,
            allow_rewind,
        } => Arc::new(GitSource::new(GitSettings {
            url: url.clone(),
            branch: branch.clone(),
            path: path.clone(),
            cache_dir: c.state_dir.join("git"),
            token: resolve(token, "token")?,
            ssh_key: ssh_key.clone(),
            allowed_signers: allowed_signers.clone(),
            allow_rewind: *allow_rewind,
            // The journal may be on another volume than the cache: an emptied cache must
            // not let a force-pushed old commit through.
            last_applied: zonekeeper::telemetry::journal::last_applied_commit(
                &c.journal,
                is_commit_id,
            )
            .with_context(|| format!("cannot read the audit journal {}", c.journal.display()))?,
            max_file_bytes: c.max_file_size,
            max_revision_bytes: c.max_revision_size,
        })?),
    };
    // Manifests come from git: they may resolve only the secrets the operator allows, and
    // never the controller's own credentials.
    let mut secrets = c.secret_policy()?;
    if let SourceSettings::Dir(dir) = &c.source {
        // The daemon loads a copy; the followed directory itself is the repository too.
        secrets = secrets.deny_files_under(std::fs::canonicalize(dir)?);
    }
    let operator = operator_side(operator, octodns_config, &c.source)?;
    let settings = DaemonSettings {
        listen: c.listen,
        tls,
        interval: c.interval,
        resync_interval: c.resync_interval,
        concurrency: c.concurrency,
        journal: c.journal.clone(),
        webhook_secret: resolve(&c.webhook_secret, "webhook-secret")?,
        status_token: resolve(&c.status_token, "status-token")?,
        reconcile: ReconcileOptions::with_deadline(c.deadline),
        zone_retry: RetryTimes {
            min: Duration::from_secs(5),
            max: Duration::from_secs(300),
        },
        secrets,
        operator,
        allow_rewind,
    };
    daemon::run(source, settings, shutdown_signal()).await?;
    eprintln!("zonekeeper: stopped");
    Ok(())
}

/// The operator's side of every revision: its providers and limits, and where a
/// repository's own providers resolve relative paths (never inside a snapshot).
///
/// # Errors
/// The operator's file carries `zones:`/`defaults:` and is not the followed directory's
/// own zonekeeper.yaml.
/// `octodns_config` (`--octodns-config`, else the operator's `octodns:`) names the
/// octoDNS configuration of a repository without zonekeeper.yaml.
fn operator_side(
    op: OperatorConfig,
    octodns_config: Option<&std::path::Path>,
    source: &SourceSettings,
) -> anyhow::Result<OperatorSide> {
    let octodns = super::octodns_of(octodns_config, &op);
    let followed_file = match source {
        SourceSettings::Dir(dir) => Some(dir.join("zonekeeper.yaml")),
        SourceSettings::Git { .. } => None,
    };
    let same = |a: &std::path::Path, b: &std::path::Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    // A local directory configured by its own file, or by none: it holds everything, and
    // its providers' paths are its own (the daemon loads a snapshot copy of it).
    if let (Some(followed), SourceSettings::Dir(dir)) = (&followed_file, source) {
        if op.file.as_deref().is_none_or(|f| same(f, followed)) {
            if octodns.is_some() {
                bail!("--octodns-config needs the operator's --config, with the providers octoDNS's targets map to (outside the followed directory)");
            }
            return Ok(OperatorSide {
                config: None,
                provider_base: Some(std::fs::canonicalize(dir)?),
                octodns: None,
            });
        }
    }
    op.only_operator_sections()
        .map_err(|d| anyhow::anyhow!("invalid configuration:\n{d}"))?;
    let provider_base = match (&op.file, source) {
        (Some(f), _) => Some(zonekeeper::config::base_dir_of(f)),
        (None, SourceSettings::Dir(dir)) => Some(std::fs::canonicalize(dir)?),
        (None, SourceSettings::Git { .. }) => Some(std::env::current_dir()?),
    };
    if !op.defines_providers() {
        tracing::warn!("providers come from the followed repository's zonekeeper.yaml: whoever can merge there decides where credentials are sent. Define them in the operator's --config file instead (docs/security.md, \"Moving providers to the operator\")");
    }
    if octodns.is_some() && !op.defines_providers() {
        bail!("a repository read through its octoDNS configuration takes its providers from the operator's --config: define `providers:` there");
    }
    Ok(OperatorSide {
        config: Some(Arc::new(op)),
        provider_base,
        octodns,
    })
}

/// A git commit id (SHA-1 or SHA-256, hex): the journal also holds `local` and `dir:`
/// revisions, which say nothing about a repository's history.
fn is_commit_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
