//! `compare`: runs every server design through the same load and writes the report.
//!
//! Normally started by `scripts/compare.sh`, which builds everything in release mode first.
//! Exits non-zero when a design fails to start, an echo is not verified or a request errors;
//! never because of speed.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use reactor_designs::compare::plan::{self, Profile};
use reactor_designs::compare::process::{available_cores, Pinning};
use reactor_designs::compare::report::{self, Machine, Report};
use reactor_designs::compare::runner::{self, Setup};

/// Compare the server designs under the same load (see scripts/compare.sh).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Short runs (about two minutes in all): what CI runs.
    #[arg(long)]
    quick: bool,
    /// Where the report, charts, raw JSON and logs go.
    #[arg(long, default_value = "target/compare")]
    out: PathBuf,
    /// Directory with the release binaries.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// The load generator (default: reactor-loadgen in --bin-dir).
    #[arg(long)]
    loadgen: Option<PathBuf>,
    /// Only these designs (comma-separated names, e.g. reactor,threads).
    #[arg(long, value_delimiter = ',')]
    designs: Vec<String>,
    /// Only these scenarios (comma-separated ids, e.g. tcp-64b-1c,http-64c).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Do not pin server and generator to separate cores.
    #[arg(long)]
    no_pin: bool,
    /// Measured runs per scenario and design (overrides the profile).
    #[arg(long)]
    repeats: Option<usize>,
    /// Length of each measured run in milliseconds (overrides the profile).
    #[arg(long, value_name = "MS")]
    duration_ms: Option<u64>,
    /// Length of the warm-up run in milliseconds (overrides the profile).
    #[arg(long, value_name = "MS")]
    warmup_ms: Option<u64>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("compare: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether the comparison passed (no failures).
fn run(cli: Cli) -> anyhow::Result<bool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("installing signals")?;
    }
    reactor_designs::raise_fd_limit();
    let profile = profile(&cli);
    let cores = available_cores();
    let pinning = if cli.no_pin {
        Pinning::shared(&cores)
    } else {
        Pinning::split(&cores)
    };
    let reactor = cli.bin_dir.join("reactor-server");
    let designs: Vec<_> = plan::designs(
        &cli.bin_dir,
        offers_flag(&reactor, "--threads"),
        cli.bin_dir.join("design-uring").exists(),
    )
    .into_iter()
    .filter(|d| cli.designs.is_empty() || cli.designs.contains(&d.name))
    .collect();
    let scenarios: Vec<_> = plan::scenarios()
        .into_iter()
        .filter(|s| cli.scenarios.is_empty() || cli.scenarios.iter().any(|id| id == s.id))
        .collect();
    anyhow::ensure!(!designs.is_empty(), "no design selected");
    anyhow::ensure!(!scenarios.is_empty(), "no scenario selected");
    let loadgen = cli
        .loadgen
        .clone()
        .unwrap_or_else(|| cli.bin_dir.join("reactor-loadgen"));
    anyhow::ensure!(
        loadgen.exists(),
        "no load generator at {}",
        loadgen.display()
    );
    eprintln!(
        "compare: {} designs × {} scenarios, profile {}; {}",
        designs.len(),
        scenarios.len(),
        profile.name,
        pinning.describe()
    );
    let setup = Setup {
        loadgen,
        out_dir: cli.out.clone(),
        pinning,
        profile,
    };
    let _ = std::fs::remove_dir_all(cli.out.join("runs"));
    let outcome = runner::run(&setup, &designs, &scenarios, &stop)?;
    let report = Report {
        command: std::env::var("COMPARE_COMMAND")
            .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" ")),
        machine: Machine::probe(cores.len()),
        pinning: &setup.pinning,
        profile: &setup.profile,
        failures: outcome.all_failures(),
        outcome: &outcome,
    };
    let md = report::write_all(&report, &cli.out)?;
    println!("{md}");
    eprintln!("compare: report in {}", cli.out.join("report.md").display());
    for f in &report.failures {
        eprintln!("compare: FAILED: {f}");
    }
    Ok(report.failures.is_empty())
}

fn profile(cli: &Cli) -> Profile {
    let mut p = if cli.quick {
        Profile::quick()
    } else {
        Profile::full()
    };
    if let Some(n) = cli.repeats {
        p.repeats = n.max(1);
    }
    if let Some(ms) = cli.duration_ms {
        p.duration = Duration::from_millis(ms);
    }
    if let Some(ms) = cli.warmup_ms {
        p.warmup = Duration::from_millis(ms);
    }
    p
}

/// Whether `bin --help` mentions `flag` (how optional server features are discovered).
fn offers_flag(bin: &std::path::Path, flag: &str) -> bool {
    Command::new(bin)
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(flag))
        .unwrap_or(false)
}
