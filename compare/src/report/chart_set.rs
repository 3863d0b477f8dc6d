//! The report's SVG charts: which scenarios and curves each one draws, and the note on the
//! repeats left out of them.

use crate::charts::{self, Bar, BarPanel, CurvePanel, LinePanel};
use crate::measurement::results::{Percentiles, Spread, Summary};
use crate::measurement::{Outcome, ScenarioResult};

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
pub(super) fn left_out_note(outcome: &Outcome) -> String {
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
pub(super) fn plain(outcome: &Outcome) -> impl Iterator<Item = &ScenarioResult> {
    outcome
        .scenarios
        .iter()
        .filter(|s| s.scenario.curve.is_none())
}

/// The curves that ran: (id, title, their points in order).
pub(super) fn curves(outcome: &Outcome) -> Vec<(String, String, Vec<&ScenarioResult>)> {
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
pub(super) fn short(title: &str) -> String {
    title.split(':').next().unwrap_or(title).to_string()
}

fn design_index(names: &[String], name: &str) -> usize {
    names.iter().position(|n| n == name).unwrap_or(0)
}
