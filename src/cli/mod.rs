//! Command-line interface: the clap definitions (the `--help` text lives here) and one
//! function per command.

pub mod bench;
pub mod run;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use zonekeeper::apply::ApplyOptions;
use zonekeeper::config::{Config, SecretPolicy};
use zonekeeper::controller::{self, RunError};
use zonekeeper::manifest::{self, render as yaml_render, schema};
use zonekeeper::model::Fqdn;
use zonekeeper::plan::render;
use zonekeeper::plan::Plan;

const ABOUT: &str =
    "Keeps DNS zones exactly as a repository of octoDNS-format YAML manifests says.";

const LONG_ABOUT: &str = "\
Keeps DNS zones exactly as a repository of octoDNS-format YAML manifests says.

zonekeeper reads zonekeeper.yaml (providers, and the zones to keep on them) and one octoDNS
YAML file per zone, compares them with what each provider serves, and makes a plan of RRset
changes that `apply` carries out. Plans are checked against safety thresholds and can be
pinned by their hash, so what was reviewed is what is applied.

Typical use:
  zonekeeper validate                       # check every file; contacts nothing
  zonekeeper plan                           # what would change, per zone and target
  zonekeeper plan --format markdown         # the same as a pull-request comment
  zonekeeper apply --plan-hash <hash>       # apply exactly the reviewed plan
  zonekeeper import --provider p --zone z   # start from what a provider has today";

#[derive(Parser, Debug)]
#[command(name = "zonekeeper", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "ZONEKEEPER_CONFIG",
        default_value = "zonekeeper.yaml"
    )]
    pub config: PathBuf,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More log output (-v info, -vv debug). RUST_LOG overrides.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// Output formats of `zonekeeper plan`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// A diff per zone and target, coloured on a terminal.
    Text,
    /// A pull-request comment: a summary table, the diff in a collapsible block, the hash.
    Markdown,
    /// Machine-readable; see the README for the fields.
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller: follow a git repository (or a directory) and keep every zone
    /// as its newest valid revision says.
    ///
    /// Fetches every --interval (and at once on a valid POST /hooks/git), re-plans the zones
    /// whose files changed, re-plans every zone every --resync-interval to catch drift, and
    /// applies what is safe. A revision whose manifests do not validate is never applied: the
    /// last good one stays in force. Plans over the safety thresholds wait for a human.
    /// Serves /metrics, /healthz, /readyz, /status. Stops cleanly on SIGTERM/SIGINT.
    ///
    /// With --config FILE, the file's `controller:` section supplies these settings (flags
    /// win); providers and zones always come from the followed repository's zonekeeper.yaml.
    Run(Box<run::RunArgs>),
    /// Check the configuration and every zone file. Contacts no provider.
    ///
    /// Every problem is reported with its file, line and record; the exit code is 1 when
    /// there is any.
    Validate,
    /// Show the changes `apply` would make, per zone and target.
    ///
    /// Exit codes: 0 success; 1 error. With --detailed-exitcode: 0 no changes, 2 changes
    /// present, 1 error.
    Plan(PlanArgs),
    /// Make every target match the manifests.
    ///
    /// Refuses plans over the safety thresholds (or changing a zone's apex NS) unless
    /// --force; with --plan-hash, refuses unless the plan is exactly the reviewed one. After
    /// writing, every zone is read back and re-planned to prove it converged.
    Apply(ApplyArgs),
    /// Write a zone as a provider holds it today, as an octoDNS YAML zone file.
    ///
    /// Import, point the config at the file, and `plan` shows no changes.
    Import(ImportArgs),
    /// Measure validate and plan on generated zones; prints a Markdown table.
    ///
    /// Each job runs three times in a child process; the median wall time and that run's
    /// peak resident memory are reported. The figures in BENCHMARKS.md come from this.
    Bench {
        /// Zone sizes in records.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
        sizes: Vec<usize>,
        /// Keep the generated files here instead of a temporary directory.
        #[arg(long)]
        workdir: Option<PathBuf>,
    },
    /// Print a JSON Schema (for editors and CI).
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value_t = SchemaKind::Config)]
        which: SchemaKind,
    },
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Only this zone (trailing dot optional).
    #[arg(long, short = 'z')]
    pub zone: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when the plan has changes, 0 when it has none (1 stays "error").
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Markdown only: cut diffs so the comment stays under this many bytes (GitHub's
    /// comment limit is 65536).
    #[arg(long, default_value_t = 60_000)]
    pub max_bytes: usize,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Only this zone (trailing dot optional).
    #[arg(long, short = 'z')]
    pub zone: Option<String>,
    /// Apply only if the plan's hash is this one (from `plan`); otherwise change nothing.
    #[arg(long)]
    pub plan_hash: Option<String>,
    /// Apply plans over the safety thresholds and apex NS changes.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The provider to read from (a name under `providers:`).
    #[arg(long, short = 'p')]
    pub provider: String,
    /// The zone to read.
    #[arg(long, short = 'z')]
    pub zone: String,
    /// Where to write the YAML (`-` for standard output).
    #[arg(long, short = 'o', default_value = "-")]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SchemaKind {
    /// zonekeeper.yaml
    Config,
    /// An octoDNS YAML zone file.
    Zone,
}

pub fn init_logging(args: &Cli) {
    // A daemon says what it does; one-shot commands only warn.
    let quiet = if matches!(args.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    let default = match args.verbose {
        0 => quiet,
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match args.log_format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub async fn run(args: Cli) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Validate => validate(&args.config),
        Command::Run(r) => {
            let explicit = args.config != std::path::Path::new("zonekeeper.yaml");
            run::run(&args.config, explicit, *r).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(p) => plan(&args.config, p).await,
        Command::Apply(a) => apply(&args.config, a).await,
        Command::Import(i) => import(&args.config, i).await,
        Command::Bench { sizes, workdir } => {
            print!("{}", bench::run(&sizes, workdir)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { which } => {
            let v = match which {
                SchemaKind::Config => schema::config_schema(),
                SchemaKind::Zone => schema::zone_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load_config(path: &std::path::Path) -> Result<Config, RunError> {
    Config::load(path).map_err(RunError::Config)
}

fn zone_arg(zone: &Option<String>, config: &Config) -> anyhow::Result<Option<Fqdn>> {
    let Some(z) = zone else { return Ok(None) };
    let f = Fqdn::parse(z).with_context(|| format!("invalid --zone {z:?}"))?;
    if config.zone(&f).is_none() {
        bail!(RunError::UnknownZone(f));
    }
    Ok(Some(f))
}

fn validate(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = load_config(path)?;
    let manifests = manifest::load_all(&config, None).map_err(RunError::Manifest)?;
    let records: usize = manifests.iter().map(|(_, m)| m.zone.record_count()).sum();
    let rrsets: usize = manifests.iter().map(|(_, m)| m.zone.len()).sum();
    println!(
        "ok: {} zone(s), {rrsets} RRset(s), {records} record(s), {} provider(s)",
        manifests.len(),
        config.providers.len()
    );
    std::mem::forget(manifests); // see `plan`
    Ok(ExitCode::SUCCESS)
}

async fn make_plan(
    path: &std::path::Path,
    zone: &Option<String>,
) -> anyhow::Result<(Plan, controller::Loaded, controller::Providers)> {
    let config = load_config(path)?;
    let only = zone_arg(zone, &config)?;
    let secrets = SecretPolicy::from_env().map_err(|source| RunError::Secret {
        provider: "(allowed secrets)".into(),
        source,
    })?;
    let providers = controller::build_providers(&config, &secrets)?;
    let (plan, manifests) = controller::plan_configured(&config, only.as_ref(), &providers).await?;
    Ok((plan, manifests, providers))
}

async fn plan(path: &std::path::Path, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let (plan, manifests, _) = make_plan(path, &args.zone).await?;
    // The process ends next; freeing a 100k-record zone record by record costs more than
    // the diff did.
    std::mem::forget(manifests);
    match args.format {
        Format::Text => print!("{}", render::text(&plan, std::io::stdout().is_terminal())),
        Format::Markdown => print!("{}", render::markdown(&plan, args.max_bytes)),
        Format::Json => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            render::json(&plan, &mut out)?;
            std::io::Write::write_all(&mut out, b"\n")?;
        }
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

async fn apply(path: &std::path::Path, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let (plan, manifests, providers) = make_plan(path, &args.zone).await?;
    if let Some(expected) = &args.plan_hash {
        let actual = plan.hash();
        if !actual.eq_ignore_ascii_case(expected) {
            bail!(RunError::PlanHashMismatch {
                expected: expected.clone(),
                actual,
            });
        }
    }
    print!("{}", render::text(&plan, std::io::stdout().is_terminal()));
    let applied = controller::apply_all(
        &plan,
        &manifests,
        &providers,
        args.force,
        &ApplyOptions::default(),
    )
    .await?;
    let mut failed = false;
    for a in &applied {
        let fails: Vec<_> = a.report.failed().collect();
        println!(
            "applied {} of {} change(s) to {} on {} in {} call(s); {}",
            a.report.ok_count(),
            a.report.results.len(),
            a.zone,
            a.target,
            a.report.calls,
            if a.remaining == 0 {
                "verified in sync".to_string()
            } else {
                format!("{} change(s) still pending after re-reading", a.remaining)
            }
        );
        for (c, o) in &fails {
            if let Err(e) = o {
                println!("  failed: {} {}: {e}", c.op().as_str(), c.key());
            }
        }
        failed |= !fails.is_empty() || a.remaining != 0;
    }
    for z in plan
        .zones
        .iter()
        .filter(|z| !z.changes.is_empty() && !z.writes())
    {
        println!(
            "not applied: {} on {} has policy warn ({} change(s) of drift)",
            z.zone,
            z.target,
            z.changes.len()
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn import(path: &std::path::Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(path)?;
    let zone =
        Fqdn::parse(&args.zone).with_context(|| format!("invalid --zone {:?}", args.zone))?;
    let pc = config
        .providers
        .get(&args.provider)
        .ok_or_else(|| RunError::UnknownProvider(args.provider.clone()))?;
    let secret_error = |source| RunError::Secret {
        provider: pc.name.clone(),
        source,
    };
    let secrets = SecretPolicy::from_env().map_err(secret_error)?;
    let provider = zonekeeper::provider::build(
        &pc.name,
        &pc.settings,
        &zonekeeper::provider::BuildContext::new(secrets),
    )
    .map_err(secret_error)?;
    let live = provider
        .read_zone(&zone)
        .await
        .map_err(|source| RunError::Read {
            provider: pc.name.clone(),
            zone: zone.clone(),
            source,
        })?;
    if !live.exists {
        bail!("provider {:?} has no zone {zone}", args.provider);
    }
    let yaml = yaml_render::zone_to_yaml(&live.zone, provider.kind());
    if args.output.as_os_str() == "-" {
        print!("{yaml}");
    } else {
        if args.output.exists() && !args.force {
            bail!(
                "{} exists; use --force to overwrite it",
                args.output.display()
            );
        }
        std::fs::write(&args.output, yaml)
            .with_context(|| format!("cannot write {}", args.output.display()))?;
        eprintln!(
            "wrote {} RRset(s) of {zone} to {}",
            live.zone.len(),
            args.output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
