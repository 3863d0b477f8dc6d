//! `compare`: runs every design through the same load and writes the report (see the crate
//! documentation and `scripts/compare.sh`).
//!
//! Exit status: 0 when everything that ran passed; 1 when a design failed to start, an echo was
//! not verified or a request errored; 3 with `--fail-on-regression` when the baseline
//! comparison found a regression; 2 on a usage or file error. Never fails because of speed alone.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use reactor_cli::idle_poll;
use reactor_compare::baseline;
use reactor_compare::measurement::{self, perf, Setup};
use reactor_compare::plan::{
    self, designs, placeholders, scenarios, Design, Load, Profile, Scenario,
};
use reactor_compare::processes::conntrack::LoopbackTracking;
use reactor_compare::processes::{available_cores, Pinning};
use reactor_compare::progress::Shown;
use reactor_compare::report::{self, Machine, Report};

/// Compare server designs under the same load: the built-in designs and real peers from
/// compare/designs.toml, plus your own (--designs-file), through the scenarios of
/// compare/scenarios.toml.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Exit status: 0 passed; 1 a failure (start, errors, verification); \
2 usage or file error; 3 a regression with --fail-on-regression."
)]
struct Cli {
    /// Short runs (a few minutes in all): what CI runs.
    #[arg(long)]
    quick: bool,
    /// Where the report, charts, raw JSON and logs go.
    #[arg(long, default_value = "target/compare")]
    out: PathBuf,
    /// Directory with the release binaries (`{bin_dir}` in designs files).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// The load generator (default: reactor-loadgen in --bin-dir).
    #[arg(long)]
    loadgen: Option<PathBuf>,
    /// A TOML file of more designs; an entry named like a built-in one replaces it. Repeatable.
    #[arg(long, value_name = "PATH")]
    designs_file: Vec<PathBuf>,
    /// A TOML file of more scenarios and curves; the same id replaces one. Repeatable.
    #[arg(long, value_name = "PATH")]
    scenarios_file: Vec<PathBuf>,
    /// Only these designs (comma-separated names, e.g. reactor,threads).
    #[arg(long, value_delimiter = ',')]
    designs: Vec<String>,
    /// Only these scenarios (comma-separated ids; a curve point brings its base scenario).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Print the designs, scenarios and placeholders, and exit.
    #[arg(long)]
    list: bool,
    /// Do not pin server and generator to separate cores.
    #[arg(long)]
    no_pin: bool,
    /// Measured runs per scenario and design (overrides the profile; with --baseline-build
    /// the default is 15: its test needs 7 pairs, and a verdict must survive a stray one).
    #[arg(long)]
    repeats: Option<usize>,
    /// Length of each measured run in milliseconds (overrides the profile).
    #[arg(long, value_name = "MS")]
    duration_ms: Option<u64>,
    /// Length of the warm-up run in milliseconds (overrides the profile).
    #[arg(long, value_name = "MS")]
    warmup_ms: Option<u64>,
    /// An earlier report.json to compare every common design × scenario row against (the
    /// machine's drift between the two runs reads as a change: prefer --baseline-build).
    #[arg(long, value_name = "REPORT_JSON", conflicts_with = "baseline_build")]
    baseline: Option<PathBuf>,
    /// A directory with a baseline build's binaries: every selected design that runs from
    /// {bin_dir} also runs from DIR as NAME@baseline, beside it in every repeat, and each
    /// repeat is compared with its twin's (the machine's drift cancels out).
    #[arg(long, value_name = "DIR")]
    baseline_build: Option<PathBuf>,
    /// Noise threshold: smallest change, in percent, that the baseline comparison can call a
    /// regression or improvement (the rank test over the repeats must also reject chance at
    /// 1%).
    #[arg(long, default_value_t = 3.0, value_name = "PCT")]
    threshold: f64,
    /// Exit 3 when the baseline comparison finds a regression.
    #[arg(long)]
    fail_on_regression: bool,
    /// The figures whose verdicts decide a row's (comma-separated): cpu and p99 by a rank test
    /// over the repeats, syscalls and ctx-switches (perf counts per request) by the threshold.
    /// Counted figures are the ones a busy neighbour cannot move much.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu,p99")]
    gate: Vec<baseline::Gate>,
    /// Do not count system calls and context switches with perf (saves one run per row).
    #[arg(long)]
    no_perf: bool,
    /// Keep idle CPUs polling instead of halting for the whole comparison, through the
    /// kernel's PM QoS (needs root): wake-ups, the servers' and the generator's alike, get
    /// cheaper and more punctual where a halt is expensive, as on a VM. The report says so.
    #[arg(long)]
    idle_poll: bool,
    /// A repeat during which other processes (and the hypervisor) took more than this share
    /// of the measured cores, in percent, counts as taken under heavy outside load: it is kept
    /// out of every figure and retried (at most twice per design and scenario). 100 keeps all.
    #[arg(long, default_value_t = 25.0, value_name = "PCT")]
    max_outside_load: f64,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("compare: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !cli.fail_on_regression || cli.baseline.is_some() || cli.baseline_build.is_some(),
        "--fail-on-regression needs --baseline or --baseline-build"
    );
    let profile = profile(&cli);
    let (mut designs, selected, disabled) = plan_of(&cli, profile.name)?;
    let baseline_build = match &cli.baseline_build {
        Some(dir) => Some(
            std::fs::canonicalize(dir)
                .with_context(|| format!("--baseline-build {}", dir.display()))?,
        ),
        None => None,
    };
    if let Some(dir) = &baseline_build {
        designs = baseline::paired::with_twins(designs, dir)?;
    }
    if cli.list {
        list(&designs, &selected);
        return Ok(ExitCode::SUCCESS);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("installing signals")?;
    }
    // Children (the designs under test) inherit the raised limit.
    reactor_cli::raise_fd_limit();
    let _idle_poll = idle_poll::hold_if(cli.idle_poll).context("--idle-poll")?;
    let idle_polling = idle_poll::in_force();
    let old_rows = match &cli.baseline {
        Some(path) => Some(baseline::load(path)?),
        None => None,
    };
    let cores = available_cores();
    let pinning = if cli.no_pin {
        Pinning::shared(&cores)
    } else {
        Pinning::split(&cores)
    };
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
        selected.len(),
        profile.name,
        pinning.describe()
    );
    let loopback_tracking = LoopbackTracking::probe();
    if let Some(t) = &loopback_tracking {
        eprintln!("compare: note: {}", t.describe());
    }
    let (perf, perf_note) = perf_plan(cli.no_perf);
    let setup = Setup {
        loadgen,
        bin_dir: cli.bin_dir.clone(),
        peers: cli.out.join("peers"),
        out_dir: cli.out.clone(),
        pinning,
        profile,
        perf,
        max_outside_load: cli.max_outside_load / 100.0,
    };
    let _ = std::fs::remove_dir_all(cli.out.join("runs"));
    measurement::write_peers(&setup.peers).context("writing the peer scripts")?;
    let shown = Shown::for_stderr();
    let outcome = measurement::run(&setup, &designs, &selected, &disabled, &shown, &stop);
    shown.finish();
    let outcome = outcome?;
    let comparison = match (old_rows, &baseline_build) {
        (Some(old), _) => {
            let path = cli
                .baseline
                .as_deref()
                .map_or(String::new(), |p| p.display().to_string());
            Some(baseline::compare(
                &path,
                &old,
                &baseline::rows_of(&outcome),
                cli.threshold / 100.0,
                &cli.gate,
            ))
        }
        (None, Some(dir)) => Some(baseline::paired::compare_twins(
            &dir.display().to_string(),
            &outcome,
            cli.threshold / 100.0,
            &cli.gate,
        )),
        (None, None) => None,
    };
    let report = Report {
        command: std::env::var("COMPARE_COMMAND")
            .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" ")),
        machine: Machine::probe(cores.len(), idle_polling, loopback_tracking),
        pinning: &setup.pinning,
        profile: &setup.profile,
        perf_note: Some(perf_note),
        failures: outcome.all_failures(),
        outcome: &outcome,
        baseline: comparison.as_ref(),
    };
    let md = report::write_all(&report, &cli.out)?;
    println!("{md}");
    eprintln!("compare: report in {}", cli.out.join("report.md").display());
    for f in &report.failures {
        eprintln!("compare: FAILED: {f}");
    }
    if !report.failures.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    if let Some(b) = &comparison {
        for r in b
            .rows
            .iter()
            .filter(|r| r.verdict == baseline::Movement::Regression)
        {
            eprintln!(
                "compare: REGRESSION: {} / {}: CPU/request {:.2}×, p99 {:.2}×",
                r.scenario, r.design, r.cpu.ratio.value, r.p99.ratio.value
            );
        }
        if cli.fail_on_regression && b.has_regression() {
            return Ok(ExitCode::from(3));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The designs and scenarios selected by the files and filters.
fn plan_of(
    cli: &Cli,
    profile: &str,
) -> anyhow::Result<(Vec<Design>, Vec<Scenario>, Vec<plan::Disabled>)> {
    let mut all = designs::parse_built_in()?;
    for d in &mut all {
        d.source = "built-in".into();
    }
    for path in &cli.designs_file {
        all = designs::merge(all, designs::load(path)?);
    }
    for name in &cli.designs {
        anyhow::ensure!(
            all.iter().any(|d| &d.name == name),
            "no design named `{name}` (see --list)"
        );
    }
    let chosen: Vec<Design> = all
        .into_iter()
        .filter(|d| cli.designs.is_empty() || cli.designs.contains(&d.name))
        .collect();
    let mut files = vec![scenarios::parse(
        "compare/scenarios.toml (built in)",
        scenarios::BUILT_IN,
    )?];
    for path in &cli.scenarios_file {
        files.push(scenarios::load(path)?);
    }
    let plan = scenarios::select(&files, profile)?;
    for id in &cli.scenarios {
        anyhow::ensure!(
            plan.run.iter().any(|s| &s.id == id),
            "no scenario `{id}` in profile {profile} (see --list)"
        );
    }
    let wanted = |s: &Scenario| {
        cli.scenarios.is_empty()
            || cli.scenarios.contains(&s.id)
            || plan.run.iter().any(|o| {
                cli.scenarios.contains(&o.id)
                    && matches!(&o.load, Load::OpenDerived { from, .. } if *from == s.id)
            })
    };
    let selected: Vec<Scenario> = plan.run.iter().filter(|s| wanted(s)).cloned().collect();
    anyhow::ensure!(!chosen.is_empty(), "no design selected");
    anyhow::ensure!(!selected.is_empty(), "no scenario selected");
    Ok((chosen, selected, plan.disabled))
}

fn list(designs: &[Design], scenarios: &[Scenario]) {
    println!("Designs:");
    for d in designs {
        let serves: Vec<&str> = d.serves.iter().map(|p| p.name()).collect();
        let limit = d
            .max_conns
            .map_or(String::new(), |m| format!(", max {m} conn(s)"));
        let optional = if d.optional { ", optional" } else { "" };
        println!(
            "  {:<14} [{}{limit}{optional}] {}",
            d.name,
            serves.join(","),
            d.about
        );
        println!("  {:<14} $ {}", "", d.command.join(" "));
    }
    println!("Scenarios:");
    for s in scenarios {
        let load = match &s.load {
            Load::Closed => "closed loop".to_string(),
            Load::Fixed { rate } => format!("open loop at {rate} req/s"),
            Load::OpenDerived { from, share } => {
                format!("open loop at {:.0}% of {from}", share * 100.0)
            }
        };
        println!(
            "  {:<20} {} ({}, {} conn(s), {load})",
            s.id,
            s.title,
            s.proto.name(),
            s.conns
        );
    }
    println!("Placeholders:");
    for (name, what) in placeholders::KNOWN {
        println!("  {{{name}}}: {what}");
    }
}

/// Whether perf counts system calls here, and the report's note on it.
fn perf_plan(disabled: bool) -> (bool, String) {
    if disabled {
        return (false, "not counted (--no-perf)".into());
    }
    match perf::check() {
        Ok(()) => (
            true,
            "counted by `perf stat -e raw_syscalls:sys_enter,context-switches -p PID` over one extra run \
             of the same load and length after the measured runs (tracing slows every system call, so it \
             stays out of the CPU figures)"
                .into(),
        ),
        Err(why) => (false, format!("columns left out: {why}")),
    }
}

fn profile(cli: &Cli) -> Profile {
    let mut p = if cli.quick {
        Profile::quick()
    } else {
        Profile::full()
    };
    if let Some(n) = cli.repeats {
        p.repeats = n.max(1);
    } else if cli.baseline_build.is_some() {
        // The signed-rank test needs 7 pairs to reach its 1% at all; 15 let a verdict stand
        // with a pair or two leaning the other way.
        p.repeats = p
            .repeats
            .max(baseline::paired::pairs_for_a_verdict(baseline::ALPHA));
    }
    if let Some(ms) = cli.duration_ms {
        p.duration = Duration::from_millis(ms);
    }
    if let Some(ms) = cli.warmup_ms {
        p.warmup = Duration::from_millis(ms);
    }
    p
}
