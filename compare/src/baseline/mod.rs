//! Verdicts against a baseline, in one of two ways:
//!
//! - **against a baseline build in the same run** (`--baseline-build DIR`, [`paired`]): each
//!   design runs beside its twin from DIR, the two interleaved in every repeat, and each
//!   repeat's figure is divided by its twin's from the same repeat. The machine's drift between
//!   runs (30% here) cancels out of every ratio; the verdict's test is the one-sided Wilcoxon
//!   signed-rank test over the pairs' log ratios. This is the way to trust on a shared machine.
//! - **against an earlier run** (`--baseline OLD/report.json`): for every design × scenario row
//!   present in both, the ratio of the medians over the valid repeats, and a one-sided
//!   Mann–Whitney rank test between the two groups of repeats. Any drift of the machine between
//!   the runs is read as a change.
//!
//! Either way a figure is a regression when its ratio exceeds 1 + threshold **and** the test
//! puts the chance of the new repeats ranking that far above the old ones by luck at or below
//! [`ALPHA`]: a figure is called a regression falsely at most 1% of the time, whatever the
//! distribution of its repeats (for two runs: as long as the machine's noise did not change
//! between them). When the interval straddles the threshold and the test cannot decide, the
//! verdict is `unclear`, with the repeats that would likely resolve it. Invalid repeats never
//! enter.

mod load;
mod markdown;
pub mod paired;

pub use load::{load, rows_of, rows_of_json};
pub use markdown::markdown;

use serde::Serialize;

use crate::stats::{self, Estimate};

/// Per-figure false-alarm rate of a regression (or improvement) verdict.
pub const ALPHA: f64 = 0.01;

/// Smallest change of a counted figure (system calls, context switches per request) that
/// counts. Counts depend on how the kernel batched events, which moves with timing: the reactor
/// over HTTP at 64 connections gave 2.13 to 2.36 system calls per request between identical
/// runs (up to 10%), while one extra call per response adds 40% or more.
pub const COUNT_THRESHOLD: f64 = 0.2;

/// A figure that can decide a verdict (`--gate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Gate {
    /// Server CPU µs per request (timed: rank test over the repeats).
    Cpu,
    /// p99 latency (timed: rank test over the repeats; the figure a busy neighbour moves most).
    P99,
    /// Server system calls per request (counted by perf in one run per row: threshold only).
    Syscalls,
    /// Server context switches per request (counted likewise).
    CtxSwitches,
}

impl Gate {
    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Gate::Cpu => "cpu",
            Gate::P99 => "p99",
            Gate::Syscalls => "syscalls",
            Gate::CtxSwitches => "ctx-switches",
        }
    }
}

/// The per-repeat values a verdict looks at, for one design in one scenario (valid repeats).
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Server CPU µs per request, one per valid repeat.
    pub cpu_us_per_request: Vec<f64>,
    /// p99 latency, µs, one per valid repeat.
    pub p99_us: Vec<f64>,
    /// Server system calls per request, where perf counted them.
    pub syscalls_per_request: Option<f64>,
    /// Server context switches per request, where perf counted them.
    pub ctx_switches_per_request: Option<f64>,
}

/// One row of a report, keyed by scenario id and design name.
#[derive(Debug, Clone, Serialize)]
pub struct KeyedRow {
    /// Scenario id.
    pub scenario: String,
    /// Design name.
    pub design: String,
    /// Its figures.
    pub figures: Figures,
}

/// What a change amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Movement {
    /// Worse by more than the threshold, and the rank test says it is not luck.
    Regression,
    /// Better by more than the threshold, and the rank test says it is not luck.
    Improvement,
    /// The interval reaches past the threshold but the test cannot decide: more repeats needed.
    Unclear,
    /// Within the threshold.
    Same,
}

impl Movement {
    /// The word used in the report.
    pub fn label(self) -> &'static str {
        match self {
            Movement::Regression => "regression",
            Movement::Improvement => "improvement",
            Movement::Unclear => "unclear",
            Movement::Same => "same",
        }
    }
}

/// One figure compared.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Change {
    /// The baseline's median with its interval.
    pub old: Estimate,
    /// This run's median with its interval.
    pub new: Estimate,
    /// new median / old median, with its interval (above 1: worse).
    pub ratio: Estimate,
    /// Rank test: chance of the new repeats ranking this far above the old by luck.
    pub p_worse: f64,
    /// Rank test: chance of them ranking this far below by luck.
    pub p_better: f64,
    /// What it amounts to.
    pub verdict: Movement,
    /// For `unclear`: repeats per side that would likely resolve it.
    pub repeats_needed: Option<usize>,
}

/// One counted figure compared (one perf run on each side: no repeats, so a threshold only;
/// counts are not timed, so a busy neighbour moves them little).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CountChange {
    /// The baseline's count per request.
    pub old: f64,
    /// This run's.
    pub new: f64,
    /// new / old.
    pub ratio: f64,
    /// Regression or improvement beyond the threshold, else same.
    pub verdict: Movement,
}

/// Assesses a counted figure where higher is worse; None when either side was not counted.
pub fn assess_count(old: Option<f64>, new: Option<f64>, threshold: f64) -> Option<CountChange> {
    let (old, new) = (old?, new?);
    let ratio = new / old;
    let verdict = if ratio > 1.0 + threshold {
        Movement::Regression
    } else if ratio < 1.0 - threshold {
        Movement::Improvement
    } else {
        Movement::Same
    };
    Some(CountChange {
        old,
        new,
        ratio,
        verdict,
    })
}

/// One design × scenario compared.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    /// Scenario id.
    pub scenario: String,
    /// Design name.
    pub design: String,
    /// Server CPU per request.
    pub cpu: Change,
    /// p99 latency.
    pub p99: Change,
    /// System calls per request, where both runs counted them.
    pub syscalls: Option<CountChange>,
    /// Context switches per request, where both runs counted them.
    pub ctx_switches: Option<CountChange>,
    /// The row's verdict over the gated figures: a regression in any, else an improvement in
    /// any, else unclear in any, else same.
    pub verdict: Movement,
}

impl Compared {
    /// The verdict of one figure, None where it was not measured on both sides.
    pub fn verdict_of(&self, gate: Gate) -> Option<Movement> {
        match gate {
            Gate::Cpu => Some(self.cpu.verdict),
            Gate::P99 => Some(self.p99.verdict),
            Gate::Syscalls => self.syscalls.map(|c| c.verdict),
            Gate::CtxSwitches => self.ctx_switches.map(|c| c.verdict),
        }
    }
}

/// The baseline section of a report.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineComparison {
    /// The baseline: an earlier report's path, or the baseline build's directory.
    pub path: String,
    /// The baseline build ran in this run, each repeat paired with its twin's.
    pub paired: bool,
    /// Smallest relative change that can count (e.g. 0.03 for 3%).
    pub threshold: f64,
    /// Per-figure false-alarm rate.
    pub alpha: f64,
    /// The figures that decide verdicts.
    pub gates: Vec<Gate>,
    /// Rows present in both runs.
    pub rows: Vec<Compared>,
    /// Rows only in the baseline (designs or scenarios since removed or skipped).
    pub only_in_baseline: Vec<String>,
}

impl BaselineComparison {
    /// Whether any row regressed.
    pub fn has_regression(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Movement::Regression)
    }
}

/// Assesses one figure where higher is worse, from the repeats of each run (two independent
/// groups: Mann–Whitney).
pub fn assess(old: &[f64], new: &[f64], threshold: f64, alpha: f64) -> Change {
    let ratio = stats::ratio_ci(old, new);
    let p_worse = stats::mann_whitney_greater(old, new);
    let p_better = stats::mann_whitney_greater(new, old);
    decide(
        old,
        new,
        ratio,
        (p_worse, p_better),
        threshold,
        alpha,
        false,
    )
}

/// Assesses one figure where higher is worse from pairs: `old[i]` and `new[i]` were measured
/// in the same repeat. The ratio is the median of the pairs' ratios; the test is the
/// signed-rank test on their logarithms.
pub fn assess_pairs(old: &[f64], new: &[f64], threshold: f64, alpha: f64) -> Change {
    let ratios: Vec<f64> = old
        .iter()
        .zip(new)
        .map(|(o, n)| n / o)
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let negated: Vec<f64> = logs.iter().map(|l| -l).collect();
    let p_worse = stats::signed_rank_greater(&logs);
    let p_better = stats::signed_rank_greater(&negated);
    let ratio = stats::median_ci(&ratios);
    decide(old, new, ratio, (p_worse, p_better), threshold, alpha, true)
}

/// The verdict from a ratio and the test's two one-sided p values.
fn decide(
    old: &[f64],
    new: &[f64],
    ratio: Estimate,
    (p_worse, p_better): (f64, f64),
    threshold: f64,
    alpha: f64,
    paired: bool,
) -> Change {
    let (up, down) = (1.0 + threshold, 1.0 - threshold);
    // Zero to zero is no change; NaN (nothing to compare) is none either.
    let comparable = ratio.value.is_finite() || ratio.value == f64::INFINITY;
    let mut repeats_needed = None;
    let verdict = if !comparable {
        Movement::Same
    } else if ratio.value > up && p_worse <= alpha {
        Movement::Regression
    } else if ratio.value < down && p_better <= alpha {
        Movement::Improvement
    } else if ratio.high > up || ratio.low < down {
        let bound = if ratio.value >= 1.0 { up } else { down };
        repeats_needed = stats::repeats_to_resolve(&ratio, bound, alpha, paired);
        Movement::Unclear
    } else {
        Movement::Same
    };
    Change {
        old: stats::median_ci(old),
        new: stats::median_ci(new),
        ratio,
        p_worse,
        p_better,
        verdict,
        repeats_needed,
    }
}

/// One row compared: its figures' changes and the verdict over the gated ones. `paired`: the
/// figures' repeats are aligned pairs ([`assess_pairs`]), else independent groups.
fn compared(
    key: (&str, &str),
    o: &Figures,
    n: &Figures,
    (threshold, gates): (f64, &[Gate]),
    paired: bool,
) -> Compared {
    let assess_figure = if paired { assess_pairs } else { assess };
    let mut row = Compared {
        scenario: key.0.to_string(),
        design: key.1.to_string(),
        cpu: assess_figure(
            &o.cpu_us_per_request,
            &n.cpu_us_per_request,
            threshold,
            ALPHA,
        ),
        p99: assess_figure(&o.p99_us, &n.p99_us, threshold, ALPHA),
        syscalls: assess_count(
            o.syscalls_per_request,
            n.syscalls_per_request,
            COUNT_THRESHOLD,
        ),
        ctx_switches: assess_count(
            o.ctx_switches_per_request,
            n.ctx_switches_per_request,
            COUNT_THRESHOLD,
        ),
        verdict: Movement::Same,
    };
    let gated: Vec<Movement> = gates.iter().filter_map(|g| row.verdict_of(*g)).collect();
    row.verdict = [
        Movement::Regression,
        Movement::Improvement,
        Movement::Unclear,
    ]
    .into_iter()
    .find(|v| gated.contains(v))
    .unwrap_or(Movement::Same);
    row
}

/// Compares every row of `new` that `old` (an earlier run) also has.
pub fn compare(
    path: &str,
    old: &[KeyedRow],
    new: &[KeyedRow],
    threshold: f64,
    gates: &[Gate],
) -> BaselineComparison {
    let rows = new
        .iter()
        .filter_map(|n| {
            let o = old
                .iter()
                .find(|o| o.scenario == n.scenario && o.design == n.design)?;
            Some(compared(
                (&n.scenario, &n.design),
                &o.figures,
                &n.figures,
                (threshold, gates),
                false,
            ))
        })
        .collect();
    let only_in_baseline = old
        .iter()
        .filter(|o| {
            !new.iter()
                .any(|n| n.scenario == o.scenario && n.design == o.design)
        })
        .map(|o| format!("{} / {}", o.scenario, o.design))
        .collect();
    BaselineComparison {
        path: path.to_string(),
        paired: false,
        threshold,
        alpha: ALPHA,
        gates: gates.to_vec(),
        rows,
        only_in_baseline,
    }
}

#[cfg(test)]
mod tests;
