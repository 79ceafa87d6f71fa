//! `zonekeeper run`: flags and the `controller:` section -> a source and daemon settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use zonekeeper::config::{ControllerConfig, SecretRef};
use zonekeeper::controller::daemon::{self, DaemonSettings};
use zonekeeper::controller::reconcile::ReconcileOptions;
use zonekeeper::controller::scheduler::RetryTimes;
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
    pub listen: Option<String>,
    /// Webhook secret, as env:NAME or file:PATH. Without one, every webhook call gets 401.
    #[arg(long)]
    pub webhook_secret: Option<String>,
    /// HTTPS token for the repository, as env:NAME or file:PATH.
    #[arg(long)]
    pub token: Option<String>,
    /// SSH private key for ssh:// repositories.
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// Accept only commits signed by a key in this allowed-signers file (git's format).
    #[arg(long)]
    pub allowed_signers: Option<PathBuf>,
    /// Accept a branch head that does not descend from the last one taken (after a
    /// deliberate force-push or rollback). Refused by default: an older revision's manifests
    /// would delete newer records.
    #[arg(long)]
    pub allow_rewind: bool,
    /// How often to fetch, e.g. 60s, 5m [default: 60s; jittered +-10%].
    #[arg(long)]
    pub interval: Option<String>,
    /// How often to re-plan every zone to catch drift, e.g. 10m [default: 10m].
    #[arg(long)]
    pub resync_interval: Option<String>,
    /// Zones reconciled at the same time [default: 4].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Audit journal (JSON lines) [default: <state-dir>/journal.jsonl].
    #[arg(long)]
    pub journal: Option<PathBuf>,
}

fn duration(s: Option<&str>, default: Duration, what: &str) -> anyhow::Result<Duration> {
    match s {
        None => Ok(default),
        Some(s) => humantime::parse_duration(s)
            .with_context(|| format!("invalid {what} {s:?} (examples: 30s, 5m, 1h)")),
    }
}

/// Resolves flags over the config file's `controller:` section and runs the daemon.
pub async fn run(
    config_path: &std::path::Path,
    explicit_config: bool,
    a: RunArgs,
) -> anyhow::Result<()> {
    let file = if config_path.exists() {
        ControllerConfig::load(config_path)
            .map_err(|d| anyhow::anyhow!("invalid configuration:\n{d}"))?
    } else if explicit_config {
        bail!("{}: file not found", config_path.display());
    } else {
        ControllerConfig::default()
    };
    let here = std::path::Path::new(".");
    let secret_ref = |flag: Option<String>,
                      cfg: Option<SecretRef>,
                      what: &str|
     -> anyhow::Result<Option<SecretRef>> {
        Ok(match flag {
            Some(s) => Some(SecretRef::parse(&s, here).with_context(|| format!("--{what}"))?),
            None => cfg,
        })
    };
    let token_ref = secret_ref(a.token.clone(), file.token.clone(), "token")?;
    let webhook_ref = secret_ref(
        a.webhook_secret.clone(),
        file.webhook_secret.clone(),
        "webhook-secret",
    )?;
    let resolve =
        |r: &Option<SecretRef>, what: &str| -> anyhow::Result<Option<zonekeeper::config::Secret>> {
            r.as_ref()
                .map(|r| r.resolve().with_context(|| what.to_string()))
                .transpose()
        };
    let state_dir = a
        .state_dir
        .or(file.state_dir)
        .unwrap_or_else(|| PathBuf::from("zonekeeper-state"));
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let listen: SocketAddr = a
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:9353".into())
        .parse()
        .context("invalid --listen address (example: 127.0.0.1:9353)")?;
    let source: Arc<dyn Source> = match (a.dir.or(file.dir), a.repo.or(file.repo)) {
        (Some(dir), None) => Arc::new(DirSource::new(dir)?),
        (None, Some(url)) => Arc::new(GitSource::new(GitSettings {
            url,
            branch: a.branch.or(file.branch).unwrap_or_else(|| "main".into()),
            path: a.path.or(file.path),
            cache_dir: state_dir.join("git"),
            token: resolve(&token_ref, "token")?,
            ssh_key: a.ssh_key.or(file.ssh_key),
            allowed_signers: a.allowed_signers.or(file.verify.map(|v| v.allowed_signers)),
            allow_rewind: a.allow_rewind || file.allow_rewind.unwrap_or(false),
        })?),
        (Some(_), Some(_)) => bail!("give either a repository (--repo) or a directory (--dir), not both"),
        (None, None) => bail!("nothing to follow: give --repo URL or --dir PATH (or `controller: {{repo: ...}}` in --config)"),
    };
    // Manifests come from git: they may resolve only the secrets the operator allows, and
    // never the controller's own credentials.
    let mut secrets = match file.allowed_secrets.as_deref() {
        Some(list) => zonekeeper::config::SecretPolicy::allowing(list)?,
        None => zonekeeper::config::SecretPolicy::from_env()?,
    };
    for own in [&webhook_ref, &token_ref].into_iter().flatten() {
        secrets = secrets.deny(own.clone());
    }
    let settings = DaemonSettings {
        listen,
        interval: duration(
            a.interval.as_deref().or(file.interval.as_deref()),
            Duration::from_secs(60),
            "--interval",
        )?,
        resync_interval: duration(
            a.resync_interval
                .as_deref()
                .or(file.resync_interval.as_deref()),
            Duration::from_secs(600),
            "--resync-interval",
        )?,
        concurrency: a.concurrency.or(file.concurrency).unwrap_or(4).max(1),
        journal: a
            .journal
            .or(file.journal)
            .unwrap_or_else(|| state_dir.join("journal.jsonl")),
        webhook_secret: resolve(&webhook_ref, "webhook-secret")?,
        reconcile: ReconcileOptions::default(),
        zone_retry: RetryTimes {
            min: Duration::from_secs(5),
            max: Duration::from_secs(300),
        },
        secrets,
    };
    daemon::run(source, settings, shutdown_signal()).await?;
    eprintln!("zonekeeper: stopped");
    Ok(())
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
