//! The outputs: `report.md`, `report.json`, the SVG charts and `report.html` (all of it in one
//! self-contained page), from an [`Outcome`].

pub mod html;
pub mod ratios;

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::baseline::{self, BaselineComparison};
use crate::charts::{self, format_value, Bar, BarPanel, CurvePanel, LinePanel};
use crate::measurement::results::{Percentiles, Spread, Summary};
use crate::measurement::{Outcome, Row, ScenarioResult};
use crate::plan::{Profile, Proto};
use crate::processes::Pinning;

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
    /// Idle CPUs were held polling, not halting (`--idle-poll` or another process's request).
    pub idle_poll: bool,
}

impl Machine {
    /// Reads `/proc/cpuinfo`, `/proc/sys/kernel/osrelease` and `/proc/meminfo`; `idle_poll`
    /// as found when the comparison began.
    pub fn probe(cores: usize, idle_poll: bool) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let mem_kib =
            crate::processes::procfs::parse_status_kib(&read("/proc/meminfo"), "MemTotal:")
                .unwrap_or(0);
        Machine {
            cpu,
            cores,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            memory_gib: mem_kib as f64 / (1024.0 * 1024.0),
            idle_poll,
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
    /// Why system-call and context-switch counts are missing, when they are.
    pub perf_note: Option<String>,
    /// The measurements.
    pub outcome: &'a Outcome,
    /// The comparison with `--baseline`, when given.
    pub baseline: Option<&'a BaselineComparison>,
    /// Every failure (empty on success).
    pub failures: Vec<String>,
}

/// The chart files, their titles and what they show (also used by the HTML report).
pub const CHARTS: [(&str, &str); 5] = [
    ("throughput.svg", "throughput"),
    ("cpu_per_request.svg", "server CPU per request"),
    ("latency.svg", "latency percentiles"),
    ("curve_latency.svg", "latency against offered load"),
    (
        "curve_cpu.svg",
        "server CPU per request against offered load",
    ),
];

/// Writes report.md, report.json, the charts and report.html into `dir`; returns the markdown.
pub fn write_all(report: &Report, dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    let md = markdown(report);
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))
    };
    write("report.md", &md)?;
    write("report.json", &serde_json::to_string_pretty(report)?)?;
    let charts = charts_of(report.outcome);
    for (name, svg) in &charts {
        write(name, svg)?;
    }
    write("report.html", &html::page(&md, &charts))?;
    Ok(md)
}

/// Every chart as (file name, SVG text); the curve charts only when curves ran.
pub fn charts_of(outcome: &Outcome) -> Vec<(&'static str, String)> {
    let names: Vec<String> = outcome.designs.iter().map(|d| d.name.clone()).collect();
    let left_out = left_out_note(outcome);
    let mut out = vec![
        (
            "throughput.svg",
            bar_chart(
                outcome,
                &names,
                &format!("Requests per second (median, 95% interval){left_out}"),
                "",
                |s| s.rps,
            ),
        ),
        (
            "cpu_per_request.svg",
            bar_chart(
                outcome,
                &names,
                &format!(
                    "Server CPU time per request, µs (median, 95% interval; lower is better){left_out}"
                ),
                "µs",
                |s| s.cpu_us_per_request,
            ),
        ),
        ("latency.svg", latency_chart(outcome, &names, &left_out)),
    ];
    if !curves(outcome).is_empty() {
        out.push((
            "curve_latency.svg",
            curve_latency_chart(outcome, &names, &left_out),
        ));
        out.push(("curve_cpu.svg", curve_cpu_chart(outcome, &names, &left_out)));
    }
    out
}

/// What the charts leave out, for their titles: runs that did not count (every chart draws
/// valid repeats only) and rows with none at all.
fn left_out_note(outcome: &Outcome) -> String {
    let rows = outcome.scenarios.iter().flat_map(|s| &s.rows);
    let (mut invalid, mut noisy, mut empty) = (0, 0, 0);
    for sum in rows.filter_map(|r| r.summary.as_ref()) {
        invalid += sum.invalid_runs;
        noisy += sum.noisy_runs;
        empty += usize::from(sum.valid_runs == 0);
    }
    if invalid + noisy == 0 {
        return String::new();
    }
    format!(
        "; left out: {invalid} invalid and {noisy} noisy run(s){}",
        if empty > 0 {
            format!(", {empty} row(s) with no valid run (no mark)")
        } else {
            String::new()
        }
    )
}

/// The scenarios that are not curve points (the bar and percentile charts, the overview).
fn plain(outcome: &Outcome) -> impl Iterator<Item = &ScenarioResult> {
    outcome
        .scenarios
        .iter()
        .filter(|s| s.scenario.curve.is_none())
}

/// The curves that ran: (id, title, their points in order).
fn curves(outcome: &Outcome) -> Vec<(String, String, Vec<&ScenarioResult>)> {
    let mut out: Vec<(String, String, Vec<&ScenarioResult>)> = Vec::new();
    for s in &outcome.scenarios {
        let Some(c) = &s.scenario.curve else { continue };
        match out.iter_mut().find(|(id, _, _)| *id == c.curve) {
            Some(entry) => entry.2.push(s),
            None => out.push((c.curve.clone(), c.title.clone(), vec![s])),
        }
    }
    out
}

fn bar_chart(
    outcome: &Outcome,
    names: &[String],
    title: &str,
    unit: &str,
    value: fn(&Summary) -> Spread,
) -> String {
    let panels: Vec<BarPanel> = plain(outcome)
        .map(|s| BarPanel {
            title: s.scenario.title.to_string(),
            bars: s
                .rows
                .iter()
                .filter(|r| r.skipped.is_none())
                .map(|r| {
                    let spread = r.summary.as_ref().map(value);
                    Bar {
                        index: design_index(names, &r.design),
                        name: r.design.clone(),
                        value: spread.map_or(f64::NAN, |x| x.median),
                        interval: spread.filter(|x| x.n > 1).map(|x| (x.ci_low, x.ci_high)),
                    }
                })
                .collect(),
        })
        .collect();
    charts::bar_panels(title, unit, &panels)
}

fn latency_chart(outcome: &Outcome, names: &[String], left_out: &str) -> String {
    let panels: Vec<CurvePanel> = plain(outcome)
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
    charts::curve_panels(
        &format!("Latency percentiles, µs (median of valid repeats, log scale){left_out}"),
        &panels,
    )
}

/// Per design, (offered rate, value) over a curve's points.
fn series(
    points: &[&ScenarioResult],
    names: &[String],
    value: &dyn Fn(&Summary) -> f64,
) -> Vec<charts::Series> {
    names
        .iter()
        .filter_map(|name| {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|s| {
                    let row = s.rows.iter().find(|r| &r.design == name)?;
                    Some((s.rate?, value(row.summary.as_ref()?)))
                })
                .collect();
            (!pts.is_empty()).then(|| (design_index(names, name), name.clone(), pts))
        })
        .collect()
}

fn curve_latency_chart(outcome: &Outcome, names: &[String], left_out: &str) -> String {
    type Pick = fn(&Percentiles) -> f64;
    let pick: [(&str, Pick); 3] = [
        ("p50", |p| p.p50),
        ("p99", |p| p.p99),
        ("p99.9", |p| p.p999),
    ];
    let mut panels = Vec::new();
    for (_, title, points) in curves(outcome) {
        for (label, f) in pick {
            panels.push(LinePanel {
                title: format!("{label}: {}", short(&title)),
                x_unit: "req/s".into(),
                y_unit: "µs".into(),
                log_y: true,
                series: series(&points, names, &|s| f(&s.latency_us)),
            });
        }
    }
    charts::line_panels(
        &format!(
            "Latency against offered load (open loop, same rates for every design; µs, log \
             scale; valid repeats only){left_out}"
        ),
        &panels,
    )
}

fn curve_cpu_chart(outcome: &Outcome, names: &[String], left_out: &str) -> String {
    let panels: Vec<LinePanel> = curves(outcome)
        .into_iter()
        .map(|(_, title, points)| LinePanel {
            title: short(&title),
            x_unit: "req/s".into(),
            y_unit: "µs".into(),
            log_y: false,
            series: series(&points, names, &|s| s.cpu_us_per_request.median),
        })
        .collect();
    charts::line_panels(
        &format!(
            "Server CPU per request against offered load (µs, median of valid repeats; lower \
             is cheaper){left_out}"
        ),
        &panels,
    )
}

/// A curve title up to its colon ("TCP echo 64 B, 64 connections").
fn short(title: &str) -> String {
    title.split(':').next().unwrap_or(title).to_string()
}

fn design_index(names: &[String], name: &str) -> usize {
    names.iter().position(|n| n == name).unwrap_or(0)
}

/// The whole markdown report.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let p = report.profile;
    let m = &report.machine;
    let o = report.outcome;
    let _ = writeln!(md, "# Server design comparison\n");
    let _ = writeln!(md, "- Command: `{}`", report.command);
    let _ = writeln!(
        md,
        "- Machine: {}, {} CPU(s), {:.0} GiB, Linux {}{}",
        m.cpu,
        m.cores,
        m.memory_gib,
        m.kernel,
        if m.idle_poll {
            "; idle CPUs held polling, not halting (`--idle-poll`)"
        } else {
            ""
        }
    );
    let _ = writeln!(md, "- Pinning: {}", report.pinning.describe());
    let _ = writeln!(
        md,
        "- Profile `{}`: per scenario and design a {:.1} s warm-up (discarded), then {} measured runs of {:.1} s, \
         the designs taking turns within each repeat; a run the generator marks invalid, or taken under heavy outside \
         load, is retried (at most twice per row) and never enters a figure: **valid runs** counts those that did. \
         Tables give medians over the valid runs, with the median's 95% bootstrap interval in brackets",
        p.name,
        p.warmup.as_secs_f64(),
        p.repeats,
        p.duration.as_secs_f64()
    );
    let _ = writeln!(md, "- Designs:");
    for d in &o.designs {
        let from = if d.source == "built-in" {
            String::new()
        } else {
            format!(" (from `{}`)", d.source)
        };
        let _ = writeln!(md, "  - `{}`: {}{from}", d.name, d.about);
    }
    for s in &o.skipped_designs {
        let _ = writeln!(md, "- Skipped `{}`: {}", s.name, s.reason);
    }
    for d in &o.disabled_scenarios {
        let _ = writeln!(
            md,
            "- Scenario `{}` is switched off in the scenarios file: {}",
            d.id, d.note
        );
    }
    if let Some(note) = &report.perf_note {
        let _ = writeln!(md, "- System calls and context switches: {note}");
    }
    let _ = writeln!(md, "\n{}\n", READING);
    overview(&mut md, o);
    ratios::section(&mut md, o, &plain(o).collect::<Vec<_>>());
    if let Some(b) = report.baseline {
        md.push_str(&baseline::markdown(b));
    }
    for s in plain(o) {
        scenario_table(&mut md, s);
    }
    let curves = curves(o);
    if !curves.is_empty() {
        let _ = writeln!(md, "## Cost and latency against load\n\n{CURVES}\n");
        for (id, title, points) in &curves {
            curve_table(&mut md, id, title, points);
        }
        let _ = writeln!(md, "![latency against offered load](curve_latency.svg)\n\n![server CPU per request against offered load](curve_cpu.svg)\n");
        let _ = writeln!(md, "### Every point of the curves\n");
        for s in curves.iter().flat_map(|c| &c.2) {
            scenario_table(&mut md, s);
        }
    }
    let _ = writeln!(md, "## Charts\n\n![throughput](throughput.svg)\n\n![server CPU per request](cpu_per_request.svg)\n\n![latency percentiles](latency.svg)\n");
    if report.failures.is_empty() {
        let _ = writeln!(
            md,
            "## Result\n\nAll designs that were run started, every run verified its echoes, no request errors."
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
**server CPU µs/request** (server user+system CPU time over the measured run, from /proc/PID/stat of the server and \
its child processes, divided by the requests completed; it includes connection setup and teardown). **user** and \
**sys** split it: user time is what the design's own code costs, system time is the kernel working on its behalf. \
`neither` means neither side was busy: wake-ups, scheduling or the design's own waiting bound the rate. **other load** \
is CPU time other processes (not the server or generator) took on the measured cores during the run, from /proc/stat: \
above 10% the row is noisy. Rows are ranked by server CPU per request, lowest first; a design that cannot take a \
scenario gets a row that says why. Latency is measured by the generator from each request's intended send time. \
Server peak RSS is VmHWM, reset before each scenario.";

const CURVES: &str = "Open-loop runs at fixed shares of the slowest design's median req/s in the closed-loop \
scenario named, the same offered rates for every design. A latency line that bends up (the \"hockey stick\") \
shows where a design's queueing begins; a CPU-per-request line that falls as the rate rises shows a design \
that gets cheaper per request under load (more work per wake-up).";

fn overview(md: &mut String, outcome: &Outcome) {
    let _ = writeln!(md, "## Overview: median req/s · server CPU µs/request\n");
    let _ = write!(md, "| design |");
    for s in plain(outcome) {
        let _ = write!(md, " {} |", s.scenario.id);
    }
    let _ = write!(md, "\n|---|");
    for _ in plain(outcome) {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
    for d in &outcome.designs {
        let _ = write!(md, "| {} |", d.name);
        for s in plain(outcome) {
            let row = s.rows.iter().find(|r| r.design == d.name);
            let cell = match row {
                Some(r) if r.skipped.is_some() => "skipped".to_string(),
                Some(r) => r.summary.as_ref().map_or("failed".into(), |x| {
                    format!(
                        "{} · {}",
                        format_value(x.rps.median, ""),
                        format_value(x.cpu_us_per_request.median, "")
                    )
                }),
                None => "–".into(),
            };
            let _ = write!(md, " {cell} |");
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md);
}

fn curve_table(md: &mut String, id: &str, title: &str, points: &[&ScenarioResult]) {
    let _ = writeln!(md, "### {title}\n");
    let from = match points.first().map(|p| &p.scenario.load) {
        Some(crate::plan::Load::OpenDerived { from, .. }) => from.clone(),
        _ => "?".into(),
    };
    let _ = writeln!(md, "Curve `{id}`, rates derived from `{from}`. Per design and offered rate: p50 / p99 / p99.9 µs · server CPU µs/request.\n");
    let mut designs: Vec<&str> = Vec::new();
    for p in points {
        for r in &p.rows {
            if r.skipped.is_none() && !designs.contains(&r.design.as_str()) {
                designs.push(&r.design);
            }
        }
    }
    let _ = write!(md, "| design |");
    for p in points {
        let share = p.scenario.curve.as_ref().map_or(0.0, |c| c.share * 100.0);
        let _ = write!(
            md,
            " {share:.0}%: {} req/s |",
            group(p.rate.unwrap_or(f64::NAN))
        );
    }
    let _ = write!(md, "\n|---|");
    for _ in points {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
    for d in designs {
        let _ = write!(md, "| {d} |");
        for p in points {
            let cell = p
                .rows
                .iter()
                .find(|r| r.design == d)
                .and_then(|r| r.summary.as_ref())
                .map_or("–".into(), |s| {
                    let v = |x| format_value(x, "");
                    format!(
                        "{} / {} / {} · {}",
                        v(s.latency_us.p50),
                        v(s.latency_us.p99),
                        v(s.latency_us.p999),
                        v(s.cpu_us_per_request.median)
                    )
                });
            let _ = write!(md, " {cell} |");
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md);
}

/// Which optional columns a scenario's table needs.
struct Columns {
    kernel: bool,
    connections: bool,
    handshakes: bool,
}

fn scenario_table(md: &mut String, s: &ScenarioResult) {
    let sc = &s.scenario;
    let _ = writeln!(md, "#### {}\n", sc.title);
    let mut line = format!("`{}`: {}; {} connection(s)", sc.id, sc.why, sc.conns);
    if sc.size > 0 && !sc.proto.is_http() {
        let _ = write!(line, ", {} B payload", sc.size);
    }
    if sc.connect_per_request {
        line.push_str(", a new connection per request");
    }
    let per_handshake = sc.proto == Proto::Https && sc.connect_per_request;
    if sc.proto == Proto::Https {
        line.push_str(match (sc.connect_per_request, sc.tls_resume) {
            (true, true) => {
                ", TLS with session resumption (server CPU per request is per handshake)"
            }
            (true, false) => {
                ", TLS with a full handshake every time (server CPU per request is per handshake)"
            }
            (false, _) => ", TLS (one handshake per connection, then keep-alive)",
        });
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
    let sums = || s.rows.iter().filter_map(|r| r.summary.as_ref());
    let cols = Columns {
        kernel: sums().any(|x| x.syscalls_per_request.is_some()),
        connections: sums().any(|x| x.cpu_us_per_connection.is_some()),
        handshakes: sums().any(|x| x.handshakes.is_some()),
    };
    let cpu = if per_handshake {
        "server CPU µs/req = µs/handshake [95% CI]"
    } else {
        "server CPU µs/req [95% CI]"
    };
    let mut head = format!("| # | design | valid runs | req/s [95% CI] | p50 µs | p99 µs | p99.9 µs | max µs | {cpu} | user µs | sys µs |");
    let mut rule = String::from("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    if cols.kernel {
        head.push_str(" syscalls/req | ctx sw/req |");
        rule.push_str("---:|---:|");
    }
    if cols.connections {
        head.push_str(" server CPU µs/conn | connect p50/p99 µs |");
        rule.push_str("---:|---:|");
    }
    if cols.handshakes {
        head.push_str(" TLS handshakes full / resumed |");
        rule.push_str("---:|");
    }
    head.push_str(" server CPU | gen CPU | other load | server peak RSS | errors | limit |");
    rule.push_str("---:|---:|---:|---:|---:|---|");
    let _ = writeln!(md, "{head}\n{rule}");
    let mut rows: Vec<&Row> = s.rows.iter().filter(|r| r.skipped.is_none()).collect();
    rows.sort_by(|a, b| rank_key(a).total_cmp(&rank_key(b)));
    for (n, r) in rows.iter().enumerate() {
        let _ = writeln!(md, "{}", table_row(n + 1, r, &cols));
    }
    for r in s.rows.iter().filter(|r| r.skipped.is_some()) {
        let _ = writeln!(
            md,
            "| – | {} | skipped: {} |",
            r.design,
            r.skipped.as_deref().unwrap_or("")
        );
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

fn table_row(rank: usize, r: &Row, cols: &Columns) -> String {
    let rss = r
        .peak_rss_kib
        .map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    let Some(s) = &r.summary else {
        return format!(
            "| {rank} | {} | 0 | failed | | | | | | | | {rss} | | |",
            r.design
        );
    };
    let us = |v: f64| format_value(v, "");
    let opt = |v: Option<f64>| v.map_or("n/a".into(), us);
    let with_ci = |x: &Spread, f: &dyn Fn(f64) -> String| {
        if x.n > 1 {
            format!("{} [{}–{}]", f(x.median), f(x.ci_low), f(x.ci_high))
        } else {
            f(x.median)
        }
    };
    let mut row = format!(
        "| {rank} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} |",
        r.design,
        s.valid_runs,
        r.samples.len(),
        with_ci(&s.rps, &group),
        us(s.latency_us.p50),
        us(s.latency_us.p99),
        us(s.latency_us.p999),
        us(s.latency_us.max),
        with_ci(&s.cpu_us_per_request, &us),
        us(s.user_us_per_request),
        us(s.sys_us_per_request),
    );
    if cols.kernel {
        let _ = write!(
            row,
            " {} | {} |",
            opt(s.syscalls_per_request),
            opt(s.ctx_switches_per_request)
        );
    }
    if cols.connections {
        let connect = s
            .connect_us
            .map_or("n/a".into(), |c| format!("{} / {}", us(c.p50), us(c.p99)));
        let _ = write!(
            row,
            " {} | {connect} |",
            opt(s.cpu_us_per_connection.map(|c| c.median))
        );
    }
    if cols.handshakes {
        let shakes = s.handshakes.map_or("n/a".into(), |h| {
            format!("{} / {}", group(h.full as f64), group(h.resumed as f64))
        });
        let _ = write!(row, " {shakes} |");
    }
    let _ = write!(
        row,
        " {:.0}% | {:.0}% | {:.0}% | {rss} | {} | {} |",
        s.server_util * 100.0,
        s.gen_util * 100.0,
        s.other_util * 100.0,
        s.errors + s.verify_failures,
        s.limit.label(),
    );
    row
}

/// 1234567.8 → "1,234,568".
pub fn group(v: f64) -> String {
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

    #[test]
    fn curve_titles_shorten_at_the_colon() {
        assert_eq!(short("TCP 64c: latency"), "TCP 64c");
        assert_eq!(short("plain"), "plain");
    }
}
