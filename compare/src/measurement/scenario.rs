//! One scenario against every running design, the designs interleaved within each repeat.
//!
//! Each design gets its warm-up first; then repeat 1 runs against every design, then repeat 2
//! (in the reverse order), and so on, so that a slow phase of the machine (another build, a
//! neighbour) lands on all designs alike instead of on whichever one happened to be measured
//! then; a design and its baseline twin (`--baseline-build`) are compared repeat by repeat. A repeat that the
//! generator marks invalid or that ran under heavy outside load is retried at once, at most
//! [`MAX_RETRIES`] times per design and scenario; it stays in the row (and in the report's
//! counts) but never enters a figure.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::bail;

use super::loadgen::LoadgenRun;
use super::results::{Cores, GenReport, Summary};
use super::{check_summary, count_kernel, measure_once, Position, Progress, Row, Setup};
use crate::plan::{Design, Scenario};
use crate::processes::{RunCert, Server};

/// Extra runs per design and scenario that may replace repeats that did not count.
pub const MAX_RETRIES: usize = 2;

/// A design taking part in the scenario.
struct Active<'a> {
    design: &'a Design,
    server: &'a mut Server,
    row: Row,
    dir: PathBuf,
    target: std::net::SocketAddr,
    unmeasured: Vec<GenReport>,
    retries_left: usize,
}

impl Active<'_> {
    fn loadgen(
        &self,
        setup: &Setup,
        scenario: &Scenario,
        rate: Option<f64>,
        label: &str,
        duration: Duration,
        stop: &AtomicBool,
    ) -> anyhow::Result<(GenReport, crate::processes::Finished)> {
        let json = self.dir.join(format!("{}-{label}.json", self.design.name));
        LoadgenRun {
            bin: &setup.loadgen,
            scenario,
            target: self.target,
            rate,
            duration,
            threads: setup.pinning.generator.len().min(scenario.conns).max(1),
            cores: &setup.pinning.generator,
            cacert: RunCert::dir(&setup.out_dir).join("cert.pem"),
        }
        .run(&json, stop)
    }
}

/// Where the progress bar is, shared over scenarios.
pub struct Counter<'p> {
    /// The sink.
    pub progress: &'p dyn Progress,
    /// Rows started so far.
    pub row: usize,
    /// Rows in all.
    pub rows: usize,
    /// This scenario's 1-based index.
    pub scenario: usize,
    /// Scenarios in all.
    pub scenarios: usize,
}

/// Runs `scenario` against every design in `running`; one row per design, in their order.
/// Returns Err only when interrupted.
pub fn run(
    setup: &Setup,
    running: &mut [(Design, Server)],
    scenario: &Scenario,
    rate: Option<f64>,
    counter: &mut Counter,
    stop: &AtomicBool,
) -> anyhow::Result<Vec<Row>> {
    let mut rows: Vec<Option<Row>> = Vec::new();
    let mut active: Vec<(usize, Active)> = Vec::new();
    for (index, (design, server)) in running.iter_mut().enumerate() {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let mut row = Row::new(&design.name);
        if let Some(reason) = design.cannot_run(scenario) {
            row.skipped = Some(reason);
            rows.push(Some(row));
            continue;
        }
        counter.row += 1;
        let at = Position {
            row: counter.row,
            rows: counter.rows,
            scenario: counter.scenario,
            scenarios: counter.scenarios,
        };
        counter.progress.row(at, &scenario.id, &design.name);
        row.peak_rss_per_scenario = server.reset_peak_rss();
        let dir = setup.out_dir.join("runs").join(&scenario.id);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            row.failures
                .push(format!("creating {}: {e}", dir.display()));
            rows.push(Some(row));
            continue;
        }
        let Some(target) = server.addrs.get(&scenario.proto).copied() else {
            row.failures.push("service not ready".into());
            rows.push(Some(row));
            continue;
        };
        let mut a = Active {
            design,
            server,
            row,
            dir,
            target,
            unmeasured: Vec::new(),
            retries_left: MAX_RETRIES,
        };
        match a.loadgen(setup, scenario, rate, "warmup", setup.profile.warmup, stop) {
            Ok((g, _)) => a.unmeasured.push(g),
            Err(e) => a.row.failures.push(format!("warm-up: {e:#}")),
        }
        rows.push(None);
        active.push((index, a));
    }
    let measured_cores = setup.pinning.all_cores();
    for i in 0..setup.profile.repeats {
        // Every other repeat runs the designs in reverse, so no design is always the one
        // measured right after another's load (a pair's order effect cancels out).
        let order: Vec<usize> = if i % 2 == 0 {
            (0..active.len()).collect()
        } else {
            (0..active.len()).rev().collect()
        };
        for k in order {
            let a = &mut active[k].1;
            if stop.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            let mut label = i.to_string();
            loop {
                if !a.server.is_running() {
                    break;
                }
                let measured =
                    measure_once(a.server, &measured_cores, setup.max_outside_load, || {
                        a.loadgen(setup, scenario, rate, &label, setup.profile.duration, stop)
                    });
                match measured {
                    Ok(mut sample) => {
                        sample.repeat = i;
                        let counts = sample.counts();
                        a.row.samples.push(sample);
                        if counts || a.retries_left == 0 || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        a.retries_left -= 1;
                        label = format!("{i}-retry{}", MAX_RETRIES - a.retries_left);
                    }
                    Err(e) => {
                        a.row.failures.push(format!("run {label}: {e:#}"));
                        break;
                    }
                }
            }
        }
    }
    for (index, mut a) in active {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        finish(setup, &mut a, scenario, rate, &measured_cores, stop);
        rows[index] = Some(a.row);
    }
    Ok(rows.into_iter().flatten().collect())
}

/// The perf run, the server's health and peak memory, the summary and its judgement.
fn finish(
    setup: &Setup,
    a: &mut Active,
    scenario: &Scenario,
    rate: Option<f64>,
    measured_cores: &[usize],
    stop: &AtomicBool,
) {
    let mut kernel = None;
    if setup.perf && a.server.is_running() && !stop.load(Ordering::Relaxed) {
        let perf_dir = a.dir.join(format!("{}-perf", a.design.name));
        let counted = count_kernel(a.server, &perf_dir, || {
            a.loadgen(setup, scenario, rate, "perf", setup.profile.duration, stop)
        });
        match counted {
            Ok((counts, gen)) => {
                kernel = Some((counts, gen.requests));
                a.unmeasured.push(gen);
            }
            Err(e) => a.row.notes.push(format!("perf run: {e:#}")),
        }
    }
    if !a.server.is_running() {
        a.row
            .failures
            .push("server exited during the scenario".into());
        return;
    }
    a.row.peak_rss_kib = a.server.peak_rss_kib().ok();
    if a.row.samples.is_empty() {
        return;
    }
    let cores = Cores {
        server: setup.pinning.server.len(),
        generator: setup.pinning.generator.len(),
        all: measured_cores.len(),
    };
    let unmeasured: Vec<&GenReport> = a.unmeasured.iter().collect();
    let summary = Summary::of(&a.row.samples, &unmeasured, kernel, cores, rate.is_some());
    check_summary(&summary, scenario, &mut a.row.failures, &mut a.row.notes);
    a.row.summary = Some(summary);
}
