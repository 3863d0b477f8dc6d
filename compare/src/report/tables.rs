//! The report's per-scenario and per-curve markdown tables: one row per design, ranked by
//! server CPU per request.

use std::fmt::Write;

use crate::charts::format_value;
use crate::measurement::results::Spread;
use crate::measurement::{Row, ScenarioResult};
use crate::plan::Proto;

pub(super) fn curve_table(md: &mut String, id: &str, title: &str, points: &[&ScenarioResult]) {
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

pub(super) fn scenario_table(md: &mut String, s: &ScenarioResult) {
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
