//! The rows a verdict compares: from this run's outcome, or from an earlier `report.json`.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::{Figures, KeyedRow};
use crate::measurement::Outcome;

/// The measured rows of this run (their valid repeats).
pub fn rows_of(outcome: &Outcome) -> Vec<KeyedRow> {
    outcome
        .scenarios
        .iter()
        .flat_map(|s| {
            s.rows.iter().filter_map(move |r| {
                r.summary.as_ref()?;
                let valid: Vec<_> = r.samples.iter().filter(|x| x.counts()).collect();
                Some(KeyedRow {
                    scenario: s.scenario.id.clone(),
                    design: r.design.clone(),
                    figures: Figures {
                        cpu_us_per_request: valid.iter().map(|x| x.cpu_us_per_request()).collect(),
                        p99_us: valid.iter().map(|x| x.gen.latency_us.p99).collect(),
                        syscalls_per_request: r.summary.as_ref()?.syscalls_per_request,
                        ctx_switches_per_request: r.summary.as_ref()?.ctx_switches_per_request,
                    },
                })
            })
        })
        .collect()
}

/// The measured rows of an earlier `report.json`.
pub fn load(path: &Path) -> anyhow::Result<Vec<KeyedRow>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    rows_of_json(&v).with_context(|| format!("{} is not a compare report.json", path.display()))
}

/// [`load`] on parsed JSON: each row's samples, those the generator marked invalid (or that
/// were taken under heavy outside load) left out.
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
            .context("a scenario without an id")?;
        for r in s
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(design) = r.get("design").and_then(Value::as_str) else {
                continue;
            };
            let Some(summary) = r.get("summary").filter(|s| !s.is_null()) else {
                continue;
            };
            let count = |k: &str| summary.get(k).and_then(Value::as_f64);
            let mut figures = Figures {
                cpu_us_per_request: Vec::new(),
                p99_us: Vec::new(),
                syscalls_per_request: count("syscalls_per_request"),
                ctx_switches_per_request: count("ctx_switches_per_request"),
            };
            for x in r
                .get("samples")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let counts = x.pointer("/gen/valid").and_then(Value::as_bool) == Some(true)
                    && x.get("noisy").and_then(Value::as_bool) != Some(true);
                if !counts {
                    continue;
                }
                let requests = num(x.pointer("/gen/requests"));
                let cpu = num(x.get("server_cpu_s"));
                figures.cpu_us_per_request.push(if requests > 0.0 {
                    cpu * 1e6 / requests
                } else {
                    f64::NAN
                });
                figures.p99_us.push(num(x.pointer("/gen/latency_us/p99")));
            }
            out.push(KeyedRow {
                scenario: id.to_string(),
                design: design.to_string(),
                figures,
            });
        }
    }
    Ok(out)
}

fn num(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(f64::NAN)
}
