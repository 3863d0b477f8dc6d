//! The outputs: `report.md`, `report.json`, the SVG charts and `report.html` (all of it in one
//! self-contained page), from an [`Outcome`].

mod chart_set;
pub mod html;
pub mod ratios;
mod tables;

pub use chart_set::charts_of;
pub use tables::group;

use chart_set::{curves, plain};
use tables::{curve_table, scenario_table};

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::baseline::{self, BaselineComparison};
use crate::charts::format_value;
use crate::measurement::Outcome;
use crate::plan::Profile;
use crate::processes::conntrack::LoopbackTracking;
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
    /// Netfilter's table, where it tracks loopback connections (see
    /// [`LoopbackTracking`](crate::processes::conntrack::LoopbackTracking)).
    pub loopback_tracking: Option<LoopbackTracking>,
}

impl Machine {
    /// Reads `/proc/cpuinfo`, `/proc/sys/kernel/osrelease` and `/proc/meminfo`; `idle_poll`
    /// and `loopback_tracking` as found when the comparison began.
    pub fn probe(
        cores: usize,
        idle_poll: bool,
        loopback_tracking: Option<LoopbackTracking>,
    ) -> Machine {
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
            loopback_tracking,
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
    if let Some(t) = &m.loopback_tracking {
        let _ = writeln!(md, "- Network: {}", t.describe());
    }
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
    outcome_section(&mut md, report);
    ratios::section(&mut md, o, &plain(o).collect::<Vec<_>>());
    if let Some(b) = report.baseline {
        md.push_str(&baseline::markdown(b));
    }
    let curves = curves(o);
    let _ = writeln!(md, "## Charts\n\n![throughput](throughput.svg)\n\n![server CPU per request](cpu_per_request.svg)\n\n![latency percentiles](latency.svg)\n");
    if !curves.is_empty() {
        let _ = writeln!(md, "![latency against offered load](curve_latency.svg)\n\n![server CPU per request against offered load](curve_cpu.svg)\n");
    }
    overview(&mut md, o);
    for s in plain(o) {
        scenario_table(&mut md, s);
    }
    if !curves.is_empty() {
        let _ = writeln!(md, "## Cost and latency against load\n\n{CURVES}\n");
        for (id, title, points) in &curves {
            curve_table(&mut md, id, title, points);
        }
        let _ = writeln!(md, "### Every point of the curves\n");
        for s in curves.iter().flat_map(|c| &c.2) {
            scenario_table(&mut md, s);
        }
    }
    md
}

/// Whether everything ran: one line, or the failures, each naming its row.
fn outcome_section(md: &mut String, report: &Report) {
    if report.failures.is_empty() {
        let _ = writeln!(
            md,
            "## Result\n\nAll designs that were run started, every run verified its echoes, no request errors.\n"
        );
    } else {
        let _ = writeln!(md, "## Failures\n");
        for f in &report.failures {
            let _ = writeln!(md, "- {f}");
        }
        let _ = writeln!(md);
    }
}

const READING: &str = "How to read this: **limit** says which side ran out of CPU during the run (≥85% of its \
cores busy): `generator` means req/s is the load generator's ceiling, not the server's, so compare those designs by \
**server CPU µs/request** (server user+system CPU time over the measured run, from the CPU-time clocks of the server \
and its child processes, to the nanosecond, divided by the requests completed; it includes connection setup and \
teardown). **user** and **sys** split it (from /proc/PID/stat's 10 ms ticks): user time is what the design's own code \
costs, system time is the kernel working on its behalf. \
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
    let _ = writeln!(
        md,
        "## Overview: median req/s · server CPU µs/request\n\n{READING}\n"
    );
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

#[cfg(test)]
mod tests;
