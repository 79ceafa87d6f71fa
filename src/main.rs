//! The `zonekeeper` command. Parses arguments, sets up logging, runs one command and maps
//! its result to an exit code. `anyhow` lives only here.

mod cli;

// mimalloc: parsing a big zone allocates millions of small strings on all cores at once;
// glibc's allocator measurably slows that down (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        // clap exits 2 on a usage error, which `plan --detailed-exitcode` uses for "changes
        // present": a typo in CI must read as an error (1). --help and --version exit 0.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    cli::init_logging(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    };
    cli::bench::report_peak_rss();
    code
}
