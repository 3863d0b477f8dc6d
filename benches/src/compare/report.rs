//! `report.md`, `report.json` and the SVG charts from an [`Outcome`].

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::plan::Profile;
use super::process::Pinning;
use super::results::Summary;
use super::runner::{Outcome, Row, ScenarioResult};
use super::svg::{self, format_value, BarPanel, CurvePanel};

/// The machine the comparison ran on, as far as `/proc` tells.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Memory in GiB.
    pub memory_gib: f64,
}

impl Machine {
    /// Reads `/proc/cpuinfo`, `/proc/sys/kernel/osrelease` and `/proc/meminfo`.
    pub fn probe(cores: usize) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let mem_kib =
            super::process::parse_status_kib(&read("/proc/meminfo"), "MemTotal:").unwrap_or(0);
        Machine {
            cpu,
            cores,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            memory_gib: mem_kib as f64 / (1024.0 * 1024.0),
        }
    }
}

/// Everything the report says, also written as `report.json`.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// The command line that produced it.
    pub command: String,
    /// Machine facts.
    pub machine: Machine,
    /// Core pinning.
    pub pinning: &'a Pinning,
    /// Durations and repeats.
    pub profile: &'a Profile,
    /// The measurements.
    pub outcome: &'a Outcome,
    /// Every failure (empty on success).
    pub failures: Vec<String>,
}

/// Writes report.md, report.json and the charts into `dir`; returns the markdown.
pub fn write_all(report: &Report, dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    let md = markdown(report);
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))
    };
    write("report.md", &md)?;
    write("report.json", &serde_json::to_string_pretty(report)?)?;
    let names: Vec<String> = report
        .outcome
        .designs
        .iter()
        .map(|d| d.name.clone())
        .collect();
    write(
        "throughput.svg",
        &bar_chart(
            report.outcome,
            &names,
            "Requests per second (median)",
            "",
            |s| s.rps.median,
        ),
    )?;
    write(
        "cpu_per_request.svg",
        &bar_chart(
            report.outcome,
            &names,
            "Server CPU time per request, µs (median; lower is better)",
            "µs",
            |s| s.cpu_us_per_request.median,
        ),
    )?;
    write("latency.svg", &latency_chart(report.outcome, &names))?;
    Ok(md)
}

fn bar_chart(
    outcome: &Outcome,
    names: &[String],
    title: &str,
    unit: &str,
    value: fn(&Summary) -> f64,
) -> String {
    let panels: Vec<BarPanel> = outcome
        .scenarios
        .iter()
        .map(|s| BarPanel {
            title: s.scenario.title.to_string(),
            bars: s
                .rows
                .iter()
                .map(|r| {
                    (
                        design_index(names, &r.design),
                        r.design.clone(),
                        r.summary.as_ref().map_or(f64::NAN, value),
                    )
                })
                .collect(),
        })
        .collect();
    svg::bar_panels(title, unit, &panels)
}

fn latency_chart(outcome: &Outcome, names: &[String]) -> String {
    let panels: Vec<CurvePanel> = outcome
        .scenarios
        .iter()
        .map(|s| CurvePanel {
            title: s.scenario.title.to_string(),
            curves: s
                .rows
                .iter()
                .filter_map(|r| {
                    Some((
                        design_index(names, &r.design),
                        r.design.clone(),
                        r.summary.as_ref()?.latency_us.points().to_vec(),
                    ))
                })
                .collect(),
        })
        .collect();
    svg::curve_panels(
        "Latency percentiles, µs (median of repeats, log scale)",
        &panels,
    )
}

fn design_index(names: &[String], name: &str) -> usize {
    names.iter().position(|n| n == name).unwrap_or(0)
}

/// The whole markdown report.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let p = report.profile;
    let m = &report.machine;
    let _ = writeln!(md, "# Server design comparison\n");
    let _ = writeln!(md, "- Command: `{}`", report.command);
    let _ = writeln!(
        md,
        "- Machine: {}, {} CPU(s), {:.0} GiB, Linux {}",
        m.cpu, m.cores, m.memory_gib, m.kernel
    );
    let _ = writeln!(md, "- Pinning: {}", report.pinning.describe());
    let _ = writeln!(
        md,
        "- Profile `{}`: per scenario and design a {:.1} s warm-up (discarded), then {} measured runs of {:.1} s; \
         tables give the median with min–max of req/s in brackets, latencies are medians over the runs",
        p.name,
        p.warmup.as_secs_f64(),
        p.repeats,
        p.duration.as_secs_f64()
    );
    let _ = writeln!(md, "- Designs:");
    for d in &report.outcome.designs {
        let _ = writeln!(md, "  - `{}`: {}", d.name, d.about);
    }
    let _ = writeln!(md, "\n{}\n", READING);
    overview(&mut md, report.outcome);
    for s in &report.outcome.scenarios {
        scenario_table(&mut md, s);
    }
    let _ = writeln!(md, "## Charts\n\n![throughput](throughput.svg)\n\n![server CPU per request](cpu_per_request.svg)\n\n![latency percentiles](latency.svg)\n");
    if report.failures.is_empty() {
        let _ = writeln!(
            md,
            "## Result\n\nAll designs started, every run verified its echoes, no request errors."
        );
    } else {
        let _ = writeln!(md, "## Failures\n");
        for f in &report.failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    md
}

const READING: &str = "How to read this: **limit** says which side ran out of CPU during the run (≥85% of its \
cores busy): `generator` means req/s is the load generator's ceiling, not the server's, so compare those designs by \
**server CPU µs/request** (server user+system CPU time over the measured run, from /proc/PID/stat, divided by the \
requests completed; it includes connection setup and teardown). `neither` means neither side was busy: \
wake-ups, scheduling or the design's own waiting bound the rate. **other load** is CPU time other processes \
(not the server or generator) took on the measured cores during the run, from /proc/stat: above 10% the row is \
noisy. Rows are ranked by server CPU per request, lowest first. \
Latency is measured by the generator from each request's intended send time. Server peak RSS is VmHWM, reset \
before each scenario.";

fn overview(md: &mut String, outcome: &Outcome) {
    let _ = writeln!(md, "## Overview: median req/s · server CPU µs/request\n");
    let _ = write!(md, "| design |");
    for s in &outcome.scenarios {
        let _ = write!(md, " {} |", s.scenario.id);
    }
    let _ = write!(md, "\n|---|");
    for _ in &outcome.scenarios {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
    for d in &outcome.designs {
        let _ = write!(md, "| {} |", d.name);
        for s in &outcome.scenarios {
            let cell = s
                .rows
                .iter()
                .find(|r| r.design == d.name)
                .and_then(|r| r.summary.as_ref())
                .map_or("–".into(), |x| {
                    format!(
                        "{} · {}",
                        format_value(x.rps.median, ""),
                        format_value(x.cpu_us_per_request.median, "")
                    )
                });
            let _ = write!(md, " {cell} |");
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md);
}

fn scenario_table(md: &mut String, s: &ScenarioResult) {
    let sc = &s.scenario;
    let _ = writeln!(md, "## {}\n", sc.title);
    let mut line = format!("`{}`: {}; {} connection(s)", sc.id, sc.why, sc.conns);
    if sc.size > 0 {
        let _ = write!(line, ", {} B payload", sc.size);
    }
    match s.rate {
        Some(rate) => {
            let _ = write!(
                line,
                ", open loop at {rate:.0} req/s offered to every design"
            );
        }
        None => line.push_str(", closed loop"),
    }
    let _ = writeln!(md, "{line}.\n");
    let _ = writeln!(md, "| # | design | req/s (min–max) | p50 µs | p99 µs | p99.9 µs | max µs | server CPU µs/req | server CPU | gen CPU | other load | server peak RSS | errors | limit |");
    let _ = writeln!(
        md,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut rows: Vec<&Row> = s.rows.iter().collect();
    rows.sort_by(|a, b| rank_key(a).total_cmp(&rank_key(b)));
    for (n, r) in rows.iter().enumerate() {
        let _ = writeln!(md, "{}", table_row(n + 1, r));
    }
    let notes: Vec<String> = s
        .rows
        .iter()
        .flat_map(|r| {
            r.notes
                .iter()
                .chain(&r.failures)
                .map(move |n| format!("- `{}`: {n}", r.design))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(md, "\n{}", notes.join("\n"));
    }
    let _ = writeln!(md);
}

fn rank_key(r: &Row) -> f64 {
    r.summary
        .as_ref()
        .map(|s| s.cpu_us_per_request.median)
        .filter(|v| v.is_finite())
        .unwrap_or(f64::INFINITY)
}

fn table_row(rank: usize, r: &Row) -> String {
    let rss = r
        .peak_rss_kib
        .map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    let Some(s) = &r.summary else {
        return format!(
            "| {rank} | {} | failed | | | | | | | | | {rss} | | |",
            r.design
        );
    };
    let us = |v: f64| format_value(v, "");
    format!(
        "| {rank} | {} | {} ({}–{}) | {} | {} | {} | {} | {} | {:.0}% | {:.0}% | {:.0}% | {rss} | {} | {} |",
        r.design,
        group(s.rps.median),
        group(s.rps.min),
        group(s.rps.max),
        us(s.latency_us.p50),
        us(s.latency_us.p99),
        us(s.latency_us.p999),
        us(s.latency_us.max),
        us(s.cpu_us_per_request.median),
        s.server_util * 100.0,
        s.gen_util * 100.0,
        s.other_util * 100.0,
        s.errors + s.verify_failures,
        s.limit.label(),
    )
}

/// 1234567.8 → "1,234,568".
fn group(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(1_234_567.8), "1,234,568");
        assert_eq!(group(999.0), "999");
        assert_eq!(group(f64::NAN), "n/a");
    }
}
