//! The Prometheus text exposition format: `# HELP` and `# TYPE` lines, samples with their
//! labels, cumulative histogram buckets, seconds as exact decimals.

use std::fmt::Write as _;

use super::families::FAMILIES;
use super::loop_stats::{Buckets, EVENT_BOUNDS, TURN_BOUNDS_NS};
use super::Snapshot;

/// Renders `snapshots` (one per reactor) in the Prometheus text exposition format. With more
/// than one reactor every sample carries a `reactor` label.
pub fn render(snapshots: &[Snapshot], out: &mut String) {
    let reactor_label = |i: usize| (snapshots.len() > 1).then(|| format!("reactor=\"{i}\""));
    for family in FAMILIES {
        header(out, family.name, family.kind, family.help);
        for (i, snap) in snapshots.iter().enumerate() {
            for (label, value) in (family.rows)(snap) {
                let labels = join_labels(reactor_label(i).as_deref(), &label);
                let _ = writeln!(out, "{}{labels} {value}", family.name);
            }
        }
    }
    header(
        out,
        "reactor_loop_events_per_turn",
        "histogram",
        "Events returned by one poll call.",
    );
    for (i, snap) in snapshots.iter().enumerate() {
        let events = &snap.loop_stats.events;
        write_histogram(
            out,
            "reactor_loop_events_per_turn",
            reactor_label(i).as_deref(),
            &EVENT_BOUNDS.map(|b| b.to_string()),
            events,
            &events.sum.to_string(),
        );
    }
    header(
        out,
        "reactor_loop_turn_duration_seconds",
        "histogram",
        "Time from poll returning to the next poll call: the loop's lag behind its events.",
    );
    for (i, snap) in snapshots.iter().enumerate() {
        let turns = &snap.loop_stats.turn_ns;
        write_histogram(
            out,
            "reactor_loop_turn_duration_seconds",
            reactor_label(i).as_deref(),
            &TURN_BOUNDS_NS.map(seconds),
            turns,
            &seconds(turns.sum),
        );
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `{a,b}`, `{a}` or nothing.
fn join_labels(first: Option<&str>, second: &str) -> String {
    match (first, second.is_empty()) {
        (None, true) => String::new(),
        (None, false) => format!("{{{second}}}"),
        (Some(f), true) => format!("{{{f}}}"),
        (Some(f), false) => format!("{{{f},{second}}}"),
    }
}

fn write_histogram<const N: usize>(
    out: &mut String,
    name: &str,
    reactor: Option<&str>,
    bounds: &[String; N],
    buckets: &Buckets<N>,
    sum: &str,
) {
    let mut cumulative = 0;
    for (bound, count) in bounds.iter().zip(buckets.counts) {
        cumulative += count;
        let labels = join_labels(reactor, &format!("le=\"{bound}\""));
        let _ = writeln!(out, "{name}_bucket{labels} {cumulative}");
    }
    let total = buckets.count();
    let labels = join_labels(reactor, "le=\"+Inf\"");
    let _ = writeln!(out, "{name}_bucket{labels} {total}");
    let labels = join_labels(reactor, "");
    let _ = writeln!(out, "{name}_sum{labels} {sum}");
    let _ = writeln!(out, "{name}_count{labels} {total}");
}

/// Nanoseconds as a decimal number of seconds, exactly (`2500000` → `0.0025`).
pub(super) fn seconds(ns: u64) -> String {
    let (whole, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:09}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}
