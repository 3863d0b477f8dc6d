//! Runs every scenario against every design and collects the samples.
//!
//! All designs are started once, up front, on the server cores (an idle design costs nothing);
//! then each scenario runs against each design in turn: a discarded warm-up, then the measured
//! repeats. The server's CPU time is read from `/proc/PID/stat` just before and just after each
//! measured run, its peak RSS is reset per scenario, and the generator's CPU time comes from
//! `wait4`. Every process started here is killed by PID when it is no longer needed, on errors
//! and on SIGINT/SIGTERM too.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;

use super::plan::{Design, Load, Profile, Proto, Scenario};
use super::process::{self, Pinning, Server};
use super::results::{secs, GenReport, Sample, Summary};

/// Where things are and how to pin them.
pub struct Setup {
    /// The load generator binary.
    pub loadgen: PathBuf,
    /// Output directory (raw JSON and logs go below it).
    pub out_dir: PathBuf,
    /// Core sets.
    pub pinning: Pinning,
    /// Durations and repeats.
    pub profile: Profile,
}

/// One design's results in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Design name.
    pub design: String,
    /// The summary, when at least one measured run finished.
    pub summary: Option<Summary>,
    /// Server peak RSS during the scenario, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Whether the peak RSS was reset before the scenario (false: peak since the design started).
    pub peak_rss_per_scenario: bool,
    /// The measured runs.
    pub samples: Vec<Sample>,
    /// What went wrong (start, run, errors, verification). Any entry fails the comparison.
    pub failures: Vec<String>,
    /// Things worth knowing that do not fail the comparison (UDP loss, invalid self-check).
    pub notes: Vec<String>,
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

/// Everything the comparison measured.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The designs that were started (or tried).
    pub designs: Vec<Design>,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Failures outside any one scenario (a design that did not start, a bad exit).
    pub failures: Vec<String>,
    /// Exit code of each design after SIGTERM (the contract says 0).
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
    stop: &AtomicBool,
) -> anyhow::Result<Outcome> {
    let logs = setup.out_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut outcome = Outcome {
        designs: designs.to_vec(),
        scenarios: Vec::new(),
        failures: Vec::new(),
        exits: Vec::new(),
    };
    let mut running: Vec<(Design, Server)> = Vec::new();
    for design in designs {
        eprintln!("compare: starting {}", design.name);
        match start_design(design, &setup.pinning.server, &logs, stop) {
            Ok(server) => running.push((design.clone(), server)),
            Err(e) if stop.load(Ordering::Relaxed) => return Err(e),
            Err(e) => outcome
                .failures
                .push(format!("{} failed to start: {e:#}", design.name)),
        }
    }
    for scenario in scenarios {
        let rate = match scenario.load {
            Load::Closed => None,
            Load::OpenDerived { from, share } => Some(derive_rate(&outcome.scenarios, from, share)),
        };
        let mut result = ScenarioResult {
            scenario: scenario.clone(),
            rate,
            rows: Vec::new(),
        };
        for (design, server) in running.iter_mut() {
            if stop.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            eprintln!("compare: {} / {}", scenario.id, design.name);
            let row = run_row(setup, design, server, scenario, rate, stop);
            if stop.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            result.rows.push(row);
        }
        outcome.scenarios.push(result);
    }
    for (design, server) in running {
        let code = server.terminate(Duration::from_secs(3));
        if code != Some(0) {
            outcome.failures.push(format!(
                "{} did not exit 0 on SIGTERM (exit code {code:?})",
                design.name
            ));
        }
        outcome.exits.push((design.name, code));
    }
    Ok(outcome)
}

fn start_design(
    design: &Design,
    cores: &[usize],
    logs: &Path,
    stop: &AtomicBool,
) -> anyhow::Result<Server> {
    let mut args = design.args.clone();
    for proto in [Proto::Tcp, Proto::Udp, Proto::Http] {
        args.push(format!("--{}", proto.name()));
        args.push("127.0.0.1:0".into());
    }
    Server::start(
        &design.bin,
        &args,
        &["tcp", "udp", "http"],
        cores,
        &logs.join(format!("{}.stderr", design.name)),
        Duration::from_secs(15),
        stop,
    )
}

/// The open-loop rate: `share` of the slowest design's median req/s in scenario `from`
/// (so every design can sustain it), rounded down to a multiple of 100, at least 1,000.
fn derive_rate(done: &[ScenarioResult], from: &str, share: f64) -> f64 {
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
    ((slowest * share / 100.0).floor() * 100.0).max(1_000.0)
}

/// One design in one scenario: warm-up, repeats, summary. Failures are recorded, not returned.
fn run_row(
    setup: &Setup,
    design: &Design,
    server: &mut Server,
    scenario: &Scenario,
    rate: Option<f64>,
    stop: &AtomicBool,
) -> Row {
    let mut row = Row {
        design: design.name.clone(),
        summary: None,
        peak_rss_kib: None,
        peak_rss_per_scenario: server.reset_peak_rss(),
        samples: Vec::new(),
        failures: Vec::new(),
        notes: Vec::new(),
    };
    let dir = setup.out_dir.join("runs").join(scenario.id);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        row.failures
            .push(format!("creating {}: {e}", dir.display()));
        return row;
    }
    let Some(target) = server.addrs.get(scenario.proto.name()).copied() else {
        row.failures.push("service not announced".into());
        return row;
    };
    let run = |label: &str, duration: Duration| {
        let json = dir.join(format!("{}-{label}.json", design.name));
        let cmd = LoadgenRun {
            scenario,
            target,
            rate,
            duration,
            threads: setup.pinning.generator.len().min(scenario.conns).max(1),
        };
        cmd.run(setup, &json, stop)
    };
    let warmup = match run("warmup", setup.profile.warmup) {
        Ok(g) => Some(g),
        Err(e) => {
            row.failures.push(format!("warm-up: {e:#}"));
            None
        }
    };
    let measured_cores = setup.pinning.all_cores();
    for i in 0..setup.profile.repeats {
        if stop.load(Ordering::Relaxed) || !server.is_running() {
            break;
        }
        let busy_before = process::cores_busy(&measured_cores).unwrap_or_default();
        let before = server.cpu_time();
        let result = run(&i.to_string(), setup.profile.duration);
        let after = server.cpu_time();
        let busy = process::cores_busy(&measured_cores)
            .unwrap_or_default()
            .saturating_sub(busy_before);
        match (result, before, after) {
            (Ok((gen, finished)), Ok(before), Ok(after)) => {
                let server_cpu = after.saturating_sub(before);
                row.samples.push(Sample {
                    gen,
                    server_cpu_s: secs(server_cpu),
                    gen_cpu_s: secs(finished.cpu),
                    wall_s: secs(finished.wall),
                    other_cpu_s: secs(busy.saturating_sub(server_cpu + finished.cpu)),
                })
            }
            (Err(e), _, _) => row.failures.push(format!("run {i}: {e:#}")),
            (_, Err(e), _) | (_, _, Err(e)) => row
                .failures
                .push(format!("run {i}: reading server CPU: {e:#}")),
        }
    }
    if !server.is_running() {
        row.failures
            .push("server exited during the scenario".into());
        return row;
    }
    row.peak_rss_kib = server.peak_rss_kib().ok();
    if !row.samples.is_empty() {
        let summary = Summary::of(
            &row.samples,
            warmup.as_ref().map(|(g, _)| g),
            setup.pinning.server.len(),
            setup.pinning.generator.len(),
            measured_cores.len(),
            rate.is_some(),
        );
        judge(&summary, scenario, &mut row.failures, &mut row.notes);
        row.summary = Some(summary);
    }
    row
}

/// Other processes' share of the measured cores above which a row gets a noise note.
const OTHER_LOAD_NOTE: f64 = 0.1;

/// Turns a summary into failures (errors, unverified echoes, nothing done) and notes.
fn judge(
    summary: &Summary,
    scenario: &Scenario,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if summary.errors > 0 {
        failures.push(format!("{} request errors", summary.errors));
    }
    if summary.verify_failures > 0 {
        failures.push(format!(
            "{} responses failed verification",
            summary.verify_failures
        ));
    }
    if summary.rps.min.is_nan() || summary.rps.min <= 0.0 {
        failures.push("a run completed no requests".into());
    }
    if scenario.proto == Proto::Udp && summary.udp_lost > 0 {
        notes.push(format!("{} datagrams lost", summary.udp_lost));
    }
    if summary.other_util > OTHER_LOAD_NOTE {
        notes.push(format!(
            "other processes kept {:.0}% of the measured cores busy: numbers are noisy",
            summary.other_util * 100.0
        ));
    }
    if summary.invalid_runs > 0 {
        let first = summary
            .first_invalid_reason
            .as_deref()
            .unwrap_or("no reason given");
        notes.push(format!(
            "generator self-check marked {} run(s) invalid, e.g. {first}",
            summary.invalid_runs
        ));
    }
}

/// One invocation of the load generator.
struct LoadgenRun<'a> {
    scenario: &'a Scenario,
    target: std::net::SocketAddr,
    rate: Option<f64>,
    duration: Duration,
    threads: usize,
}

impl LoadgenRun<'_> {
    /// `reactor-loadgen <proto> <target> -c N -t T -d D [--size S] [--rate R] --json PATH`.
    fn args(&self, json: &Path) -> Vec<String> {
        let s = self.scenario;
        let target = match s.proto {
            Proto::Http => format!("http://{}/", self.target),
            Proto::Tcp | Proto::Udp => self.target.to_string(),
        };
        let mut args = vec![
            s.proto.name().to_string(),
            target,
            "-c".into(),
            s.conns.to_string(),
            "-t".into(),
            self.threads.to_string(),
            "-d".into(),
            format!("{}ms", self.duration.as_millis()),
            // A slow answer is a latency to report, not an error: the comparison fails on
            // errors, and must never fail on speed.
            "--timeout".into(),
            "5s".into(),
            "--connect-timeout".into(),
            "5s".into(),
        ];
        if s.proto != Proto::Http {
            args.extend(["--size".into(), s.size.to_string()]);
        }
        if let Some(rate) = self.rate {
            args.extend(["--rate".into(), format!("{rate:.0}")]);
        }
        args.extend(["--json".into(), json.display().to_string()]);
        args
    }

    fn run(
        &self,
        setup: &Setup,
        json: &Path,
        stop: &AtomicBool,
    ) -> anyhow::Result<(GenReport, process::Finished)> {
        let _ = std::fs::remove_file(json);
        let log = json.with_extension("log");
        let mut cmd =
            process::pinned_command(&setup.loadgen, &self.args(json), &setup.pinning.generator);
        cmd.stdin(Stdio::null())
            .stdout(File::create(&log)?)
            .stderr(File::create(log.with_extension("stderr"))?);
        let timeout = self.duration + Duration::from_secs(30);
        let finished = process::run_bounded(cmd, timeout, stop)?;
        if finished.code != Some(0) {
            bail!(
                "load generator exited with {:?}: {}",
                finished.code,
                tail(&log.with_extension("stderr"))
            );
        }
        let text =
            std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))?;
        Ok((GenReport::from_json(&value), finished))
    }
}

/// The last line of a log file, for error messages.
fn tail(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().last().map(str::to_string))
        .unwrap_or_default()
}
