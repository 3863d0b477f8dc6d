//! Comparing a run with an earlier one (`--baseline OLD/report.json`): for every
//! design × scenario row present in both, the ratio of server CPU per request and of p99
//! latency, and a verdict that calls a change only when it is larger than the threshold AND
//! outside the spread of both runs (the min–max ranges over the repeats do not overlap).

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::charts::format_value;
use crate::measurement::results::Spread;
use crate::measurement::Outcome;

/// The two figures a verdict looks at, for one design in one scenario.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    /// Server CPU µs per request over the repeats.
    pub cpu_us_per_request: Spread,
    /// p99 latency over the repeats, µs.
    pub p99_us: Spread,
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
pub enum Verdict {
    /// Worse by more than the threshold, and outside both runs' spread.
    Regression,
    /// Better by more than the threshold, and outside both runs' spread.
    Improvement,
    /// Within the threshold or within the noise.
    Same,
}

impl Verdict {
    /// The word used in the report.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Same => "same",
        }
    }
}

/// One figure compared: old and new spread, new/old ratio of the medians, verdict.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Change {
    /// The baseline's spread.
    pub old: Spread,
    /// This run's spread.
    pub new: Spread,
    /// new median / old median.
    pub ratio: f64,
    /// What it amounts to.
    pub verdict: Verdict,
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
    /// The row's verdict: a regression in either figure, else an improvement in either, else same.
    pub verdict: Verdict,
}

/// The baseline section of a report.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineComparison {
    /// The baseline file.
    pub path: String,
    /// Smallest relative change that can count (e.g. 0.1 for 10%).
    pub threshold: f64,
    /// Rows present in both runs.
    pub rows: Vec<Compared>,
    /// Rows only in the baseline (designs or scenarios since removed or skipped).
    pub only_in_baseline: Vec<String>,
}

impl BaselineComparison {
    /// Whether any row regressed.
    pub fn has_regression(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regression)
    }
}

/// Judges one figure where higher is worse.
pub fn judge(old: Spread, new: Spread, threshold: f64) -> Change {
    let ratio = new.median / old.median;
    // From zero to more is a change too (ratio infinite); zero to zero is not.
    let comparable = old.median.is_finite() && new.median.is_finite() && !ratio.is_nan();
    let verdict = if !comparable {
        Verdict::Same
    } else if ratio > 1.0 + threshold && new.min > old.max {
        Verdict::Regression
    } else if ratio < 1.0 - threshold && new.max < old.min {
        Verdict::Improvement
    } else {
        Verdict::Same
    };
    Change {
        old,
        new,
        ratio,
        verdict,
    }
}

/// Compares every row of `new` that `old` also has.
pub fn compare(
    path: &str,
    old: &[KeyedRow],
    new: &[KeyedRow],
    threshold: f64,
) -> BaselineComparison {
    let mut rows = Vec::new();
    for n in new {
        let Some(o) = old
            .iter()
            .find(|o| o.scenario == n.scenario && o.design == n.design)
        else {
            continue;
        };
        let cpu = judge(
            o.figures.cpu_us_per_request,
            n.figures.cpu_us_per_request,
            threshold,
        );
        let p99 = judge(o.figures.p99_us, n.figures.p99_us, threshold);
        let verdict = if cpu.verdict == Verdict::Regression || p99.verdict == Verdict::Regression {
            Verdict::Regression
        } else if cpu.verdict == Verdict::Improvement || p99.verdict == Verdict::Improvement {
            Verdict::Improvement
        } else {
            Verdict::Same
        };
        rows.push(Compared {
            scenario: n.scenario.clone(),
            design: n.design.clone(),
            cpu,
            p99,
            verdict,
        });
    }
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
        threshold,
        rows,
        only_in_baseline,
    }
}

/// The measured rows of this run.
pub fn rows_of(outcome: &Outcome) -> Vec<KeyedRow> {
    outcome
        .scenarios
        .iter()
        .flat_map(|s| {
            s.rows.iter().filter_map(move |r| {
                let sum = r.summary.as_ref()?;
                Some(KeyedRow {
                    scenario: s.scenario.id.clone(),
                    design: r.design.clone(),
                    figures: Figures {
                        cpu_us_per_request: sum.cpu_us_per_request,
                        p99_us: sum.p99_us,
                    },
                })
            })
        })
        .collect()
}

/// The measured rows of an earlier `report.json`. Reports from before `p99_us` existed give
/// their median p99 as a spread of one value.
pub fn load(path: &Path) -> anyhow::Result<Vec<KeyedRow>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    rows_of_json(&v).with_context(|| format!("{} is not a compare report.json", path.display()))
}

/// [`load`] on parsed JSON.
pub fn rows_of_json(v: &Value) -> anyhow::Result<Vec<KeyedRow>> {
    let scenarios = v
        .pointer("/outcome/scenarios")
        .and_then(Value::as_array)
        .context("no outcome.scenarios")?;
    let mut out = Vec::new();
    for s in scenarios {
        let id = s
            .pointer("/scenario/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for r in s
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(design), Some(sum)) =
                (r.get("design").and_then(Value::as_str), r.get("summary"))
            else {
                continue;
            };
            if sum.is_null() {
                continue;
            }
            let p99 = match sum.get("p99_us") {
                Some(p) if p.is_object() => spread(p),
                _ => {
                    let one = num(sum.pointer("/latency_us/p99"));
                    Spread {
                        median: one,
                        min: one,
                        max: one,
                    }
                }
            };
            out.push(KeyedRow {
                scenario: id.to_string(),
                design: design.to_string(),
                figures: Figures {
                    cpu_us_per_request: spread(
                        sum.get("cpu_us_per_request").unwrap_or(&Value::Null),
                    ),
                    p99_us: p99,
                },
            });
        }
    }
    Ok(out)
}

fn num(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn spread(v: &Value) -> Spread {
    Spread {
        median: num(v.get("median")),
        min: num(v.get("min")),
        max: num(v.get("max")),
    }
}

/// The markdown section.
pub fn markdown(b: &BaselineComparison) -> String {
    let mut md = String::new();
    let count = |v: Verdict| b.rows.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(md, "## Against the baseline\n");
    let _ = writeln!(
        md,
        "Baseline `{}`. A change counts only when it is larger than {:.0}% **and** the min–max ranges \
         of the two runs do not overlap; otherwise it is `same`. Ratios are new/old of the medians \
         (above 1: slower or costlier). {} regression(s), {} improvement(s), {} same.\n",
        b.path,
        b.threshold * 100.0,
        count(Verdict::Regression),
        count(Verdict::Improvement),
        count(Verdict::Same)
    );
    let _ = writeln!(md, "| scenario | design | CPU µs/req old → new (min–max) | CPU ratio | p99 µs old → new (min–max) | p99 ratio | verdict |");
    let _ = writeln!(md, "|---|---|---|---:|---|---:|---|");
    let show = |c: &Change| {
        format!(
            "{} ({}–{}) → {} ({}–{})",
            format_value(c.old.median, ""),
            format_value(c.old.min, ""),
            format_value(c.old.max, ""),
            format_value(c.new.median, ""),
            format_value(c.new.min, ""),
            format_value(c.new.max, "")
        )
    };
    for r in &b.rows {
        let verdict = match r.verdict {
            Verdict::Same => "same".to_string(),
            v => format!("**{}**", v.label()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2}× | {} | {:.2}× | {verdict} |",
            r.scenario,
            r.design,
            show(&r.cpu),
            r.cpu.ratio,
            show(&r.p99),
            r.p99.ratio
        );
    }
    if !b.only_in_baseline.is_empty() {
        let _ = writeln!(
            md,
            "\nOnly in the baseline (not compared): {}.",
            b.only_in_baseline.join(", ")
        );
    }
    let _ = writeln!(md);
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(median: f64, min: f64, max: f64) -> Spread {
        Spread { median, min, max }
    }

    #[test]
    fn a_change_counts_only_above_the_threshold_and_outside_both_spreads() {
        assert_eq!(
            judge(s(5.0, 4.8, 5.2), s(8.0, 7.5, 8.5), 0.1).verdict,
            Verdict::Regression
        );
        assert_eq!(
            judge(s(8.0, 7.5, 8.5), s(5.0, 4.8, 5.2), 0.1).verdict,
            Verdict::Improvement
        );
        // Large change, but the ranges overlap: noise.
        assert_eq!(
            judge(s(5.0, 4.0, 9.0), s(8.0, 7.5, 8.5), 0.1).verdict,
            Verdict::Same
        );
        // Outside the spread but below the threshold.
        assert_eq!(
            judge(s(5.0, 4.99, 5.01), s(5.2, 5.19, 5.21), 0.1).verdict,
            Verdict::Same
        );
        // Nothing to compare against.
        assert_eq!(
            judge(s(f64::NAN, f64::NAN, f64::NAN), s(5.0, 5.0, 5.0), 0.1).verdict,
            Verdict::Same
        );
    }

    fn row(design: &str, cpu: Spread, p99: Spread) -> KeyedRow {
        KeyedRow {
            scenario: "tcp".into(),
            design: design.into(),
            figures: Figures {
                cpu_us_per_request: cpu,
                p99_us: p99,
            },
        }
    }

    #[test]
    fn rows_take_the_worst_figure_and_unmatched_rows_are_listed() {
        let old = vec![
            row("reactor", s(5.0, 4.9, 5.1), s(100.0, 90.0, 110.0)),
            row("gone", s(5.0, 4.9, 5.1), s(100.0, 90.0, 110.0)),
        ];
        let new = vec![
            row("reactor", s(3.0, 2.9, 3.1), s(300.0, 290.0, 310.0)),
            row("new", s(1.0, 1.0, 1.0), s(1.0, 1.0, 1.0)),
        ];
        let b = compare("old.json", &old, &new, 0.1);
        assert_eq!(b.rows.len(), 1);
        assert_eq!(b.rows[0].cpu.verdict, Verdict::Improvement);
        assert_eq!(b.rows[0].verdict, Verdict::Regression, "p99 tripled");
        assert!(b.has_regression());
        assert_eq!(b.only_in_baseline, ["tcp / gone"]);
        assert!(markdown(&b).contains("**regression**"));
    }

    #[test]
    fn the_same_figures_are_same() {
        let rows = vec![row("reactor", s(5.0, 4.9, 5.1), s(100.0, 90.0, 110.0))];
        let b = compare("old.json", &rows, &rows, 0.1);
        assert_eq!(b.rows[0].verdict, Verdict::Same);
        assert!(!b.has_regression());
    }

    #[test]
    fn old_reports_without_a_p99_spread_still_load() {
        let v = serde_json::json!({"outcome": {"scenarios": [{"scenario": {"id": "a"}, "rows": [
            {"design": "x", "summary": {"cpu_us_per_request": {"median": 5.0, "min": 4.0, "max": 6.0},
                                        "latency_us": {"p99": 80.0}}},
            {"design": "y", "summary": null}
        ]}]}});
        let rows = rows_of_json(&v).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].figures.p99_us.min, 80.0);
        assert!(rows_of_json(&serde_json::json!({})).is_err());
    }
}
