//! The measurement loop: start every design, run every scenario against every design that can
//! take it, and collect the samples.
//!
//! All designs are started once, up front, on the server cores (an idle design costs nothing);
//! then each scenario runs against every design: a discarded warm-up each, then the measured
//! repeats with the designs interleaved within each repeat ([`scenario`]). The server's CPU time (its whole process tree, user and system apart) is read from
//! `/proc` just before and just after each measured run, its peak RSS is reset per scenario, and
//! the generator's CPU time comes from `wait4`. Every process started here is killed by PID when
//! it is no longer needed, on errors and on SIGINT/SIGTERM too.
//!
//! - [`loadgen`]: one generator invocation;
//! - [`perf`]: system calls and context switches, counted in one extra run per row (so the
//!   tracing cost never touches the measured CPU figures);
//! - [`results`]: one run's numbers and the summary over repeats;
//! - `sampling`: one run with the server's CPU read around it, one counted by perf;
//! - `row_checks`: a row's summary turned into failures and notes;
//! - [`scenario`]: one scenario, designs interleaved, invalid or noisy repeats retried.

pub mod loadgen;
pub mod perf;
pub mod results;
mod row_checks;
mod sampling;
pub mod scenario;

pub(crate) use row_checks::check_summary;
pub(crate) use sampling::{count_kernel, measure_once};

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::bail;
use serde::Serialize;

use crate::plan::{CleanExit, Design, Disabled, Load, Profile, Proto, Scenario};
use crate::processes::{Ended, Pinning, Places, RunCert, Server, StartError};
use results::{Sample, Summary};

/// Where things are and how to pin them.
pub struct Setup {
    /// The load generator binary.
    pub loadgen: PathBuf,
    /// `{bin_dir}` for the designs.
    pub bin_dir: PathBuf,
    /// `{peers}` for the designs.
    pub peers: PathBuf,
    /// Output directory (raw JSON, logs and temp dirs go below it).
    pub out_dir: PathBuf,
    /// Core sets.
    pub pinning: Pinning,
    /// Durations and repeats.
    pub profile: Profile,
    /// Count system calls and context switches with perf (when it works here).
    pub perf: bool,
    /// Share of the measured cores others may take before a repeat counts as noisy.
    pub max_outside_load: f64,
}

/// Where the loop is: row `row` of `rows` (measured rows only), in scenario `scenario` of
/// `scenarios` (1-based).
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// The row now starting.
    pub row: usize,
    /// Rows to measure in all.
    pub rows: usize,
    /// The scenario now running.
    pub scenario: usize,
    /// Scenarios in all.
    pub scenarios: usize,
}

/// What the loop tells whoever watches it (the progress bar).
pub trait Progress {
    /// A design is being started.
    fn starting(&self, design: &str);
    /// A measured row begins.
    fn row(&self, at: Position, scenario: &str, design: &str);
}

/// A progress sink that says nothing.
pub struct Silent;

impl Progress for Silent {
    fn starting(&self, _: &str) {}
    fn row(&self, _: Position, _: &str, _: &str) {}
}

/// One design's results in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Design name.
    pub design: String,
    /// Why the design did not run this scenario (it does not serve the protocol, or its
    /// limits rule it out); nothing else in the row is set then.
    pub skipped: Option<String>,
    /// The summary, when at least one measured run finished.
    pub summary: Option<Summary>,
    /// Server peak RSS during the scenario, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Whether the peak RSS was reset before the scenario (false: peak since the design started).
    pub peak_rss_per_scenario: bool,
    /// The measured runs.
    pub samples: Vec<Sample>,
    /// What went wrong (run, errors, verification). Any entry fails the comparison.
    pub failures: Vec<String>,
    /// Things worth knowing that do not fail the comparison (UDP loss, invalid self-check).
    pub notes: Vec<String>,
}

impl Row {
    pub(crate) fn new(design: &str) -> Row {
        Row {
            design: design.to_string(),
            skipped: None,
            summary: None,
            peak_rss_kib: None,
            peak_rss_per_scenario: false,
            samples: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// One scenario's results over all designs.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The offered rate for open-loop scenarios, req/s.
    pub rate: Option<f64>,
    /// One row per design that was running.
    pub rows: Vec<Row>,
}

/// A design that was not run at all, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedDesign {
    /// Its name.
    pub name: String,
    /// Why (e.g. "`nginx` not found (not installed?)").
    pub reason: String,
}

/// Everything the comparison measured.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The designs that ran.
    pub designs: Vec<Design>,
    /// The exact argv each design ran with.
    pub argv: Vec<(String, Vec<String>)>,
    /// Optional designs that were not installed.
    pub skipped_designs: Vec<SkippedDesign>,
    /// Scenarios switched off in the scenarios file.
    pub disabled_scenarios: Vec<Disabled>,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Failures outside any one scenario (a design that did not start, a bad exit).
    pub failures: Vec<String>,
    /// Exit code of each design after its stop signal (None: ended by a signal, or killed).
    pub exits: Vec<(String, Option<i32>)>,
}

impl Outcome {
    /// Every failure, global and per row, each with its place.
    pub fn all_failures(&self) -> Vec<String> {
        let mut all = self.failures.clone();
        for s in &self.scenarios {
            for r in &s.rows {
                all.extend(
                    r.failures
                        .iter()
                        .map(|f| format!("{} / {}: {f}", s.scenario.id, r.design)),
                );
            }
        }
        all
    }
}

/// Runs `scenarios` against `designs`. Returns Err only when interrupted.
pub fn run(
    setup: &Setup,
    designs: &[Design],
    scenarios: &[Scenario],
    disabled: &[Disabled],
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> anyhow::Result<Outcome> {
    let logs = setup.out_dir.join("logs");
    let tmp_root = setup.out_dir.join("tmp");
    std::fs::create_dir_all(&logs)?;
    let tls_dir = RunCert::dir(&setup.out_dir);
    let tls = if designs.iter().any(|d| d.serves.contains(&Proto::Https)) {
        Some(RunCert::generate_in(&tls_dir)?)
    } else {
        None
    };
    let mut outcome = Outcome {
        designs: Vec::new(),
        argv: Vec::new(),
        skipped_designs: Vec::new(),
        disabled_scenarios: disabled.to_vec(),
        scenarios: Vec::new(),
        failures: Vec::new(),
        exits: Vec::new(),
    };
    let places = Places {
        bin_dir: &setup.bin_dir,
        peers: &setup.peers,
        tmp_root: &tmp_root,
        logs: &logs,
        tls: tls.as_ref(),
    };
    let mut running: Vec<(Design, Server)> = Vec::new();
    for design in designs {
        progress.starting(&design.name);
        let started = Server::start(
            design,
            &places,
            &setup.pinning.server,
            Duration::from_secs(15),
            stop,
        );
        match started {
            Ok(server) => {
                outcome
                    .argv
                    .push((design.name.clone(), server.argv.clone()));
                outcome.designs.push(design.clone());
                running.push((design.clone(), server));
            }
            Err(StartError::Interrupted) => bail!("interrupted"),
            Err(StartError::Missing(reason)) if design.optional => {
                outcome.skipped_designs.push(SkippedDesign {
                    name: design.name.clone(),
                    reason,
                })
            }
            Err(e) => outcome
                .failures
                .push(format!("{} failed to start: {e}", design.name)),
        }
    }
    let rows: usize = scenarios
        .iter()
        .map(|s| {
            running
                .iter()
                .filter(|(d, _)| d.cannot_run(s).is_none())
                .count()
        })
        .sum();
    let mut counter = scenario::Counter {
        progress,
        row: 0,
        rows,
        scenario: 0,
        scenarios: scenarios.len(),
    };
    for (scenario_index, scenario) in scenarios.iter().enumerate() {
        let rate = match &scenario.load {
            Load::Closed => None,
            Load::Fixed { rate } => Some(*rate),
            Load::OpenDerived { from, share } => {
                Some(derive_rate(&outcome.scenarios, from, *share))
            }
        };
        counter.scenario = scenario_index + 1;
        let rows = scenario::run(setup, &mut running, scenario, rate, &mut counter, stop)?;
        outcome.scenarios.push(ScenarioResult {
            scenario: scenario.clone(),
            rate,
            rows,
        });
    }
    for (design, server) in running {
        let ended = server.terminate(design.stop_signal.number(), Duration::from_secs(3));
        let clean = match design.clean_exit {
            CleanExit::Zero => ended == Ended::Exited(0),
            CleanExit::Stopped => ended != Ended::Killed,
        };
        if !clean {
            outcome.failures.push(format!(
                "{} did not stop cleanly on {} ({}; clean_exit = \"{}\")",
                design.name,
                design.stop_signal.name(),
                ended.describe(),
                match design.clean_exit {
                    CleanExit::Zero => "zero",
                    CleanExit::Stopped => "stopped",
                }
            ));
        }
        outcome.exits.push((design.name, ended.code()));
    }
    let _ = std::fs::remove_dir_all(&tmp_root);
    let _ = std::fs::remove_dir_all(&tls_dir);
    Ok(outcome)
}

/// The open-loop rate: `share` of the slowest design's median req/s in scenario `from`
/// (so every design can sustain it), rounded down to a multiple of 100, at least 100.
pub fn derive_rate(done: &[ScenarioResult], from: &str, share: f64) -> f64 {
    let slowest = done
        .iter()
        .filter(|s| s.scenario.id == from)
        .flat_map(|s| &s.rows)
        .filter_map(|r| r.summary.as_ref().map(|s| s.rps.median))
        .filter(|r| r.is_finite() && *r > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !slowest.is_finite() {
        return 1_000.0;
    }
    ((slowest * share / 100.0).floor() * 100.0).max(100.0)
}

/// Where the bundled peer scripts are written (`{peers}`).
pub fn write_peers(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    for (name, text) in PEERS {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// The peer scripts compiled into the binary, so `compare` works from any directory.
const PEERS: [(&str, &str); 2] = [
    ("seed_echo.py", include_str!("../../peers/seed_echo.py")),
    ("seed_http.py", include_str!("../../peers/seed_http.py")),
];
