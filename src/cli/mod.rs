//! Command-line interface: the clap definitions (the `--help` text lives here) and one
//! function per command.

pub mod bench;
pub mod run;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use std::sync::Arc;
use zonekeeper::config::controller::ControllerConfig;
use zonekeeper::config::operator::OperatorConfig;
use zonekeeper::config::{Config, SecretPolicy};
use zonekeeper::controller::load::load_manifests;
use zonekeeper::controller::reconcile::{
    apply_planned, JournalSink, Outcome, ReconcileOptions, ZoneReport,
};
use zonekeeper::controller::{self, PlannedZone, RunError};
use zonekeeper::input::{Diagnostic, Diagnostics};
use zonekeeper::manifest::{render as yaml_render, schema};
use zonekeeper::model::Fqdn;
use zonekeeper::plan::render;
use zonekeeper::plan::Plan;

use zonekeeper::controller::domains::{
    reconcile_domain, DomainOptions, DomainOutcome, DomainReport,
};
use zonekeeper::provider::{BuildContext, CallObserver, NoObserver};
use zonekeeper::telemetry::journal::{Journal, LastApplies};
use zonekeeper::telemetry::metrics::Metrics;

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
  zonekeeper import --provider p --zone z   # start from what a provider has today

Exit codes: 0 success; 1 error, including a usage error (an unknown flag or a bad value);
`plan --detailed-exitcode` 2 changes present; `apply` 3 a target waits for a human.";

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

    /// The operator's configuration: `providers:` (addresses, directories, credentials),
    /// `guard_rails:` (the loosest policy and thresholds a zone may declare) and
    /// `controller:` (the journal). With it, --config is the repository's zonekeeper.yaml
    /// and may name providers only in its zones' `targets:`. For CI jobs that plan a pull
    /// request: keep this file out of the repository. (`run` takes it as --config.)
    #[arg(long, global = true, env = "ZONEKEEPER_OPERATOR_CONFIG")]
    pub operator_config: Option<PathBuf>,

    /// For a repository made for octoDNS alone (no zonekeeper.yaml): its octoDNS
    /// configuration, relative to the repository's root (the directory of --config for
    /// one-shot commands; the followed repository, or its --path, for `run`). Its zones
    /// are managed with the operator's providers, octoDNS targets mapped by the operator's
    /// `octodns.targets` (else by name); the octoDNS file's providers and credentials are
    /// never used. Needs the operator's configuration; overrides its `octodns.config`.
    #[arg(long, global = true, value_name = "PATH")]
    pub octodns_config: Option<PathBuf>,

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
    /// and domains (domains/*.yaml: registrar settings) whose files changed, re-plans all of
    /// them every --resync-interval to catch drift, and applies what is safe. A revision whose manifests do not validate is never applied: the
    /// last good one stays in force. Plans over the safety thresholds wait for a human.
    /// Serves /metrics, /healthz, /readyz, /status. Stops cleanly on SIGTERM/SIGINT.
    ///
    /// --config FILE is the operator's configuration: its `controller:` section supplies
    /// these settings (flags win), its `providers:` the DNS hosts and registrars with their
    /// credentials, its `guard_rails:` the loosest policy and thresholds any zone may
    /// declare. Zones come from the followed repository's zonekeeper.yaml, which then names
    /// providers only (a `providers:` section there refuses the revision). Without providers
    /// in --config, the repository's own are used (a warning: whoever can merge decides where
    /// credentials go), with relative paths taken from --config's directory or the working
    /// directory, never from inside the repository.
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
    /// Make every zone's targets, and every domain's registrar settings, match the
    /// manifests.
    ///
    /// Takes the same path as the daemon, zone by zone and target by target: read, plan,
    /// gate, apply, read back and re-plan to prove it converged. A target whose plan is over
    /// the safety thresholds (or changes a zone's apex NS) is left alone unless --force; a
    /// plan that undoes all of a zone's last apply (read from the journal) does not count
    /// those changes toward the thresholds. A zone with policy `warn` is only reported.
    /// With --plan-hash nothing at all is applied unless the plan is exactly the reviewed
    /// one. Every write is journaled in the audit journal (--journal), the same JSON lines
    /// the daemon writes: an intent before each provider call, the outcomes after. Writes a
    /// killed earlier run left without outcomes are first concluded from a read of their
    /// zones (reads only).
    ///
    /// Exit codes: 0 every target in sync (or drift under policy warn); 1 a read, write or
    /// verification failed; 3 a target waits for a human (unsafe plan, or a zone missing on
    /// a target that cannot create zones). Other targets are applied in every case.
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
        /// Only write the generated cases into --workdir (zone YAML, zonekeeper.yaml, and an
        /// octoDNS config for `scripts/bench-compare-octodns.sh`); time nothing.
        #[arg(long, requires = "workdir")]
        generate_only: bool,
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
    /// comment limit is 65536); every diff keeps its first lines and says how many were cut.
    #[arg(long, default_value_t = 60_000)]
    pub max_bytes: usize,
    /// Audit journal to read the zones' most recent applies from (a plan undoing all of one
    /// does not count those changes toward the thresholds, as in `apply`); only read, a
    /// missing file is an empty journal [default: as for `apply`].
    #[arg(long, env = "ZONEKEEPER_JOURNAL")]
    pub journal: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Only this zone (trailing dot optional).
    #[arg(long, short = 'z')]
    pub zone: Option<String>,
    /// Apply only if the plan's hash is this one (from `plan`; the full hash or its first 12
    /// or more hex digits); otherwise change nothing and exit 1.
    #[arg(long)]
    pub plan_hash: Option<String>,
    /// Apply plans over the safety thresholds and apex NS changes.
    #[arg(long)]
    pub force: bool,
    /// The most one zone read or write may take, retries and rate-limit waits included
    /// (e.g. 90s, 5m). Changes not sent by then fail as transient.
    #[arg(long, default_value = "5m")]
    pub deadline: zonekeeper::input::HumanDuration,
    /// Also write the run's metrics (Prometheus text format: requests, retries, 429s,
    /// outcomes) to this file, for node_exporter's textfile collector.
    #[arg(long)]
    pub metrics_file: Option<PathBuf>,
    /// Audit journal (JSON lines: intents and outcomes of changes) [default: the config's
    /// `controller.journal`, else `<controller.state_dir>/journal.jsonl`, else
    /// `zonekeeper-state/journal.jsonl` beside the config file].
    #[arg(long, env = "ZONEKEEPER_JOURNAL")]
    pub journal: Option<PathBuf>,
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
    /// A domain manifest (`domains/<domain>.yaml`).
    Domain,
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
    let files = Files {
        config: args.config.clone(),
        operator: args.operator_config.clone(),
        octodns: args.octodns_config.clone(),
    };
    if files.octodns.is_some()
        && files.operator.is_none()
        && !matches!(args.command, Command::Run(_))
    {
        bail!("--octodns-config needs --operator-config: the providers octoDNS's targets map to are the operator's");
    }
    match args.command {
        Command::Validate => validate(&files),
        Command::Run(r) => {
            let explicit = args.config != std::path::Path::new("zonekeeper.yaml");
            // `run` reads the operator's file as --config (it follows the repository's).
            let (config, explicit) = match (args.operator_config, explicit) {
                (Some(_), true) => bail!(
                    "run: give the operator's configuration once, as --config (or --operator-config), not both"
                ),
                (Some(op), false) => (op, true),
                (None, explicit) => (args.config, explicit),
            };
            run::run(&config, explicit, args.octodns_config.as_deref(), *r).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(p) => plan(&files, p).await,
        Command::Apply(a) => apply(&files, a).await,
        Command::Import(i) => import(&files, i).await,
        Command::Bench {
            sizes,
            workdir,
            generate_only,
        } => {
            print!("{}", bench::run(&sizes, workdir, generate_only)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { which } => {
            let v = match which {
                SchemaKind::Config => zonekeeper::config::schema::config_schema(),
                SchemaKind::Zone => schema::zone_schema(),
                SchemaKind::Domain => zonekeeper::manifest::domain::schema(),
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configuration files a one-shot command reads.
pub struct Files {
    /// zonekeeper.yaml: the repository's (or, alone, everything).
    pub config: PathBuf,
    /// `--operator-config`: the operator's providers, guard-rail limits and `controller:`.
    pub operator: Option<PathBuf>,
    /// `--octodns-config`: the octoDNS configuration of a repository without
    /// zonekeeper.yaml, relative to the directory of `config`.
    pub octodns: Option<PathBuf>,
}

/// The checked configuration: `--config` alone, or under `--operator-config` (providers
/// and guard-rail limits from the operator; relative paths of a repository's own providers
/// taken from the operator's directory).
fn load_config(files: &Files) -> Result<Config, RunError> {
    let Some(op_path) = &files.operator else {
        return Config::load(&files.config).map_err(RunError::Config);
    };
    let op = OperatorConfig::load(op_path).map_err(RunError::Config)?;
    if let Some(octo) = octodns_of(files.octodns.as_deref(), &op) {
        // A repository made for octoDNS alone: its root is where zonekeeper.yaml would be.
        if files.config.exists() {
            let by = if files.octodns.is_some() {
                "--octodns-config".to_string()
            } else {
                format!("`octodns:` in {}", op_path.display())
            };
            return Err(RunError::Config(Diagnostics(vec![Diagnostic::file(
                &files.config,
                format!("the repository has its own zonekeeper.yaml, and the octoDNS configuration named by {by} is for a repository without one: name it in this file's `octodns:` instead"),
            )])));
        }
        op.only_operator_sections().map_err(RunError::Config)?;
        let root = zonekeeper::config::base_dir_of(&files.config);
        let base = zonekeeper::config::base_dir_of(op_path);
        let named_in = files.octodns.is_none().then_some(op_path.as_path());
        return Config::load_octodns(&root, &octo, &op, &base, named_in).map_err(RunError::Config);
    }
    let same = matches!(
        (op_path.canonicalize(), files.config.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    );
    if same {
        return Config::load(&files.config).map_err(RunError::Config);
    }
    op.only_operator_sections().map_err(RunError::Config)?;
    let base = zonekeeper::config::base_dir_of(op_path);
    Config::load_under(&files.config, &op, &base).map_err(RunError::Config)
}

/// The octoDNS configuration of a repository without zonekeeper.yaml: `--octodns-config`
/// (with the operator's target mapping), else the operator's `octodns:`.
pub fn octodns_of(
    flag: Option<&std::path::Path>,
    op: &OperatorConfig,
) -> Option<zonekeeper::config::octodns::RawOctodns> {
    match flag {
        Some(p) => Some(zonekeeper::config::octodns::RawOctodns::from_flag(
            p,
            op.octodns
                .as_ref()
                .map(|o| o.targets.clone())
                .unwrap_or_default(),
        )),
        None => op.octodns.clone(),
    }
}

fn zone_arg(zone: &Option<String>, config: &Config) -> anyhow::Result<Option<Fqdn>> {
    let Some(z) = zone else { return Ok(None) };
    let f = Fqdn::parse(z).with_context(|| format!("invalid --zone {z:?}"))?;
    if config.zone(&f).is_none() {
        bail!(RunError::UnknownZone(f));
    }
    Ok(Some(f))
}

fn validate(files: &Files) -> anyhow::Result<ExitCode> {
    let config = load_config(files)?;
    // Zone and domain manifest problems are reported together.
    let (manifests, domains) = match (
        load_manifests(&config, None),
        controller::domains::load_domains(&config),
    ) {
        (Ok(m), Ok(d)) => (m, d),
        (m, d) => {
            let mut all = m.err().unwrap_or_default();
            all.0.extend(d.err().unwrap_or_default().0);
            bail!(RunError::Manifest(all));
        }
    };
    // A settings block for a provider type zonekeeper does not have is kept by octoDNS's
    // rules (ignored), but is most often a typo (`cloudfare:`): say so.
    let known = zonekeeper::provider::registry::PROVIDER_TYPES;
    for (zc, m) in &manifests {
        let mut unknown: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (key, blocks) in &m.settings {
            for kind in blocks.keys().filter(|k| !known.contains(&k.as_str())) {
                unknown.entry(kind).or_default().push(key.to_string());
            }
        }
        for (kind, records) in unknown {
            eprintln!(
                "warning: {}: `octodns: {{{kind}: ...}}` on {} record(s) (first: {}): zonekeeper has no provider type {kind:?} (known: {}), so these settings are ignored; a typo?",
                zc.file.display(),
                records.len(),
                records[0],
                known.join(", ")
            );
        }
    }
    let records: usize = manifests.iter().map(|(_, m)| m.zone.record_count()).sum();
    let rrsets: usize = manifests.iter().map(|(_, m)| m.zone.len()).sum();
    println!(
        "ok: {} zone(s), {rrsets} RRset(s), {records} record(s), {} provider(s), {} domain(s)",
        manifests.len(),
        config.providers.len(),
        domains.len()
    );
    std::mem::forget(manifests); // see `plan`
    Ok(ExitCode::SUCCESS)
}

/// Everything a one-shot `plan` or `apply` has read and planned.
struct OneShot {
    config: Config,
    ctx: BuildContext,
    providers: controller::Providers,
    plan: Plan,
    zones: Vec<PlannedZone>,
    /// Why the domains could not be planned (a registrar down, a domain it does not hold):
    /// `plan` stops on it, `apply` still applies the zones and then fails.
    domain_error: Option<controller::domains::DomainError>,
}

/// Loads the config, builds the providers (secrets from the environment's policy, the
/// transports reporting to `observer`), reads and plans every zone (or only `--zone`), and
/// every domain unless `--zone` is given.
async fn make_plan(
    files: &Files,
    zone: &Option<String>,
    opts: &ReconcileOptions,
    observer: Arc<dyn CallObserver>,
) -> anyhow::Result<OneShot> {
    let config = load_config(files)?;
    let only = zone_arg(zone, &config)?;
    let secrets = SecretPolicy::from_env().context("ZONEKEEPER_ALLOWED_SECRETS")?;
    let ctx = BuildContext {
        retry: opts.apply.retry.clone(),
        observer,
        ..BuildContext::new(secrets)
    };
    let providers = controller::build_providers(&config, &ctx)?;
    let (mut plan, zones) = controller::plan_configured(
        &config,
        only.as_ref(),
        &providers,
        &opts.apply.retry,
        opts.last_applies.as_deref(),
    )
    .await?;
    // `--zone` narrows the plan to that zone; domains are planned otherwise.
    let mut domain_error = None;
    if only.is_none() {
        let dopts = DomainOptions {
            retry: opts.apply.retry.clone(),
            observer: ctx.observer.clone(),
            ..DomainOptions::default()
        };
        match controller::domains::plan_configured(&config, &ctx, &dopts).await {
            Ok(d) => plan.domains = d,
            // Reading a domain failed (a registrar down, a domain it does not hold): the
            // zones go ahead, the run fails at the end.
            Err(e @ controller::domains::DomainError::Read { .. }) => domain_error = Some(e),
            // Invalid manifests or configuration: nothing at all is applied.
            Err(e) => return Err(e.into()),
        }
    }
    Ok(OneShot {
        config,
        ctx,
        providers,
        plan,
        zones,
        domain_error,
    })
}

async fn plan(files: &Files, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let OneShot {
        plan,
        zones: planned,
        domain_error,
        ..
    } = make_plan(
        files,
        &args.zone,
        &ReconcileOptions {
            last_applies: Some(read_last_applies(&journal_path(
                files,
                args.journal.clone(),
            )?)?),
            ..ReconcileOptions::default()
        },
        Arc::new(NoObserver),
    )
    .await?;
    if let Some(e) = planned.iter().find_map(PlannedZone::read_error) {
        bail!(e);
    }
    if let Some(e) = domain_error {
        bail!(e);
    }
    // The process ends next; freeing a 100k-record zone record by record costs more than
    // the diff did.
    std::mem::forget(planned);
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

/// Where `apply` journals (and `plan` reads the last applies): the flag, else the
/// `controller:` section of the operator's file (else of the config file), else
/// `zonekeeper-state/journal.jsonl` beside that file.
fn journal_path(files: &Files, flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p);
    }
    let config_path = files.operator.as_deref().unwrap_or(&files.config);
    let c = ControllerConfig::load(config_path)
        .map_err(|d| anyhow::anyhow!("invalid configuration:\n{d}"))?;
    let base = config_path.parent().unwrap_or(std::path::Path::new("."));
    Ok(c.journal.unwrap_or_else(|| {
        c.state_dir
            .unwrap_or_else(|| base.join("zonekeeper-state"))
            .join("journal.jsonl")
    }))
}

/// The most recent apply of every zone and target in the journal at `path` (streamed;
/// a missing file is an empty journal).
fn read_last_applies(path: &std::path::Path) -> anyhow::Result<Arc<std::sync::Mutex<LastApplies>>> {
    let last = LastApplies::read(path)
        .with_context(|| format!("cannot read the audit journal {}", path.display()))?;
    Ok(Arc::new(std::sync::Mutex::new(last)))
}

async fn apply(files: &Files, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let journal_file = journal_path(files, args.journal.clone())?;
    let journal = Journal::open(&journal_file)
        .with_context(|| format!("cannot open the audit journal {}", journal_file.display()))?;
    let journal = Arc::new(std::sync::Mutex::new(journal));
    let metrics = Arc::new(Metrics::new()?);
    let mut opts = ReconcileOptions {
        force: args.force,
        journal: Some(JournalSink {
            journal: journal.clone(),
            revision: "local".into(),
        }),
        last_applies: Some(read_last_applies(&journal_file)?),
        ..ReconcileOptions::with_deadline(args.deadline.get())
    };
    opts.apply.observer = metrics.clone();
    if let Some(path) = &args.metrics_file {
        // Found out now, not after everything was applied.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    let OneShot {
        config,
        ctx,
        providers,
        mut plan,
        zones: planned,
        domain_error,
    } = make_plan(files, &args.zone, &opts, metrics.clone()).await?;
    // Writes an earlier run left interrupted (killed during a call) are concluded before
    // anything is written: recovery reads the zones as the interrupted run left them.
    match controller::recover::recover_interrupted(
        &journal,
        config.zones.iter().map(|z| &z.name),
        &providers,
        &opts.apply.retry,
    )
    .await
    {
        Ok(r) if r.is_empty() => {}
        Ok(r) => eprintln!("zonekeeper: audit journal: {r}"),
        Err(e) => eprintln!(
            "zonekeeper: warning: cannot conclude interrupted writes: {}",
            controller::chain(&e)
        ),
    }
    if let Some(expected) = &args.plan_hash {
        controller::check_plan_hash(&plan, expected)?;
    }
    print!("{}", render::text(&plan, std::io::stdout().is_terminal()));
    let domain_plans = std::mem::take(&mut plan.domains);
    let paired = controller::pair_plans(plan, &planned);
    let mut worst = Outcome::Success;
    for (pz, targets) in planned.iter().zip(paired) {
        let report = apply_planned(&pz.config, &pz.manifest, &providers, targets, &opts).await;
        print_report(&report);
        report.record(&metrics);
        worst = worst.max(report.outcome());
    }
    if !domain_plans.is_empty() {
        let specs = controller::domains::load_domains(&config).map_err(RunError::Manifest)?;
        let registrars = controller::domains::build_registrars(&config, &ctx)?;
        for dp in &domain_plans {
            let (Some(spec), Some(registrar)) = (
                specs.iter().find(|s| s.domain == dp.domain),
                registrars.get(&dp.registrar),
            ) else {
                continue;
            };
            // What was printed (and hashed) is what is applied, or nothing.
            let dopts = DomainOptions {
                force: args.force,
                expect_hash: Some(dp.hash()),
                retry: opts.apply.retry.clone(),
                observer: metrics.clone(),
            };
            let report = reconcile_domain(registrar.as_ref(), spec, &dopts).await;
            let entries = controller::domains::journal_entries(&report, "local");
            // As for zones: a journal failure is reported loudly, never stops the run
            // (what was applied is applied; stopping would only hide the rest).
            if let Ok(mut j) = journal.lock() {
                if let Err(e) = j.append(&entries) {
                    tracing::error!(error = %e, journal = %journal_file.display(), "cannot write the audit journal");
                    eprintln!(
                        "zonekeeper: cannot write the audit journal {}: {e}",
                        journal_file.display()
                    );
                }
            }
            print_domain_report(&report);
            metrics.record_domain(
                report.domain.as_str(),
                report.outcome.as_str(),
                report.plan.as_ref().and_then(|p| p.expires),
            );
            worst = worst.max(report.outcome.outcome());
        }
    }
    if let Some(e) = &domain_error {
        // The zones were applied; the domains could not even be planned.
        println!("FAILED: domains: {}", controller::chain(e));
        worst = worst.max(Outcome::Failed);
    }
    if let Some(path) = &args.metrics_file {
        metrics
            .write_textfile(path)
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    if worst != Outcome::Success {
        eprintln!(
            "zonekeeper: not every target is in sync ({}); see above",
            worst.as_str()
        );
    }
    Ok(ExitCode::from(worst.exit_code()))
}

/// One line for a domain's reconcile, then its failed changes.
fn print_domain_report(report: &DomainReport) {
    let head = format!("domain {} at {}", report.domain, report.registrar);
    match report.outcome {
        DomainOutcome::InSync => match report.plan.as_ref().map(|p| &p.unsupported) {
            Some(u) if !u.is_empty() => println!(
                "in sync except what the registrar cannot do: {head} ({})",
                u.iter()
                    .map(|x| x.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => println!("in sync: {head}"),
        },
        DomainOutcome::Applied => println!(
            "applied {} change(s) to {head}; verified in sync",
            report.ok_count()
        ),
        DomainOutcome::Unsafe => {
            println!("not applied: {head} is unsafe (review, then apply --force)")
        }
        DomainOutcome::PlanChanged => {
            println!("not applied: {head} changed since it was planned; plan again")
        }
        other => {
            let err = report
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            println!("FAILED: {head}: {} {err}", other.as_str());
            for (c, e) in report.failed() {
                println!("  failed: {}: {e}", c.field().as_str());
            }
        }
    }
}

/// One line per target of a zone's reconcile, then its failed changes.
fn print_report(report: &ZoneReport) {
    for t in &report.targets {
        let head = format!("{} on {}", report.zone, t.target);
        match t.outcome {
            Outcome::Success => match &t.apply {
                Some(a) => println!(
                    "applied {} change(s) to {head} in {} call(s); verified in sync",
                    a.ok_count(),
                    a.calls
                ),
                None => println!("in sync: {head}"),
            },
            Outcome::Drift => println!(
                "not applied: {head} has policy warn ({} change(s) of drift)",
                t.drift.missing + t.drift.extra + t.drift.changed
            ),
            Outcome::Unsafe => println!(
                "not applied: {head} is unsafe (review, then apply --force): {}",
                t.unsafe_reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Outcome::Blocked => println!("not applied: {head}: the zone does not exist there and the provider cannot create it"),
            Outcome::Failed => {
                let err = t
                    .error
                    .as_ref()
                    .map(|e| controller::chain(e))
                    .unwrap_or_default();
                match &t.apply {
                    Some(a) => println!(
                        "FAILED: {head}: applied {} of {} change(s) in {} call(s): {err}",
                        a.ok_count(),
                        a.results.len(),
                        a.calls
                    ),
                    None => println!("FAILED: {head}: {err}"),
                }
                for (c, o) in t.apply.iter().flat_map(|a| a.failed()) {
                    if let Err(e) = o {
                        println!("  failed: {} {}: {e}", c.op().as_str(), c.key());
                    }
                }
            }
        }
    }
}

async fn import(files: &Files, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(files)?;
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
    let provider = zonekeeper::provider::registry::build(
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
    // The daemon's revision record is not a record of the zone's own.
    let mut live = live;
    live.zone
        .remove(&zonekeeper::controller::record::key(&zone));
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
