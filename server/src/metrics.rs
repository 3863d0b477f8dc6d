//! Prometheus metrics: what the counters say, plus what only an event loop can tell (turns,
//! events per turn, time per turn, timers pending, output queued).
//!
//! Each reactor owns its numbers as plain integers (no atomics on the hot path). At most every
//! [`PUBLISH_EVERY_MS`], at the start of a turn (so a scrape that woke an idle loop sees fresh
//! numbers), it copies them into its slot of the shared [`Metrics`]; `GET /metrics`, answered
//! by whichever reactor accepted the scrape, renders every slot. So counters are at most
//! [`PUBLISH_EVERY_MS`] old, and recording costs a few integer adds per turn.
//!
//! The process's own series (`process_*`, `reactor_build_info`) follow, read at each scrape
//! ([`crate::process_metrics`]).
//!
//! [`render`] is a pure function of the snapshots: the exposition format (`# HELP`, `# TYPE`,
//! `_total` counters, `_bytes`/`_seconds` units, cumulative histogram buckets) is unit-tested
//! without sockets and checked by `promtool` in CI.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::stats::{CloseReason, Stats, HTTP_STATUS_CODES};
use crate::tls::{self, TlsFailure};

/// How often a busy reactor publishes its numbers, in milliseconds.
pub const PUBLISH_EVERY_MS: u64 = 100;

/// Upper bounds of the events-per-turn histogram (`poll` returns at most 1024 events).
const EVENT_BOUNDS: [u64; 11] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024];
/// Upper bounds of the turn-duration histogram, in nanoseconds (5 µs to 1 s).
const TURN_BOUNDS_NS: [u64; 14] = [
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
    25_000_000,
    100_000_000,
    250_000_000,
    1_000_000_000,
];

/// A histogram with fixed upper bounds: one count per bucket (not cumulative) plus the sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets<const N: usize> {
    /// Observations at most `bounds[i]` (and above `bounds[i - 1]`); the last slot is `+Inf`.
    counts: [u64; N],
    overflow: u64,
    sum: u64,
}

impl<const N: usize> Default for Buckets<N> {
    fn default() -> Self {
        Self {
            counts: [0; N],
            overflow: 0,
            sum: 0,
        }
    }
}

impl<const N: usize> Buckets<N> {
    fn observe(&mut self, bounds: &[u64; N], value: u64) {
        self.sum = self.sum.saturating_add(value);
        match bounds.iter().position(|&b| value <= b) {
            Some(i) => self.counts[i] += 1,
            None => self.overflow += 1,
        }
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.overflow
    }

    fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.overflow += other.overflow;
        self.sum = self.sum.saturating_add(other.sum);
    }
}

/// What the poll loop records about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Turns of the loop (one `poll` each).
    pub turns: u64,
    events: Buckets<{ EVENT_BOUNDS.len() }>,
    turn_ns: Buckets<{ TURN_BOUNDS_NS.len() }>,
}

impl LoopStats {
    /// Records one turn: the events `poll` returned and the time spent handling them (from
    /// `poll` returning to the next `poll` call: the loop's lag).
    pub fn record_turn(&mut self, events: usize, busy: Duration) {
        self.turns += 1;
        self.events.observe(&EVENT_BOUNDS, events as u64);
        let ns = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.turn_ns.observe(&TURN_BOUNDS_NS, ns);
    }

    /// Adds another reactor's loop numbers.
    pub fn add(&mut self, other: &LoopStats) {
        self.turns += other.turns;
        self.events.add(&other.events);
        self.turn_ns.add(&other.turn_ns);
    }
}

/// One reactor's numbers at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The counters also served on `/stats`.
    pub stats: Stats,
    /// The loop's own numbers.
    pub loop_stats: LoopStats,
    /// Timer entries pending (live and not yet purged).
    pub timers_pending: u64,
    /// Output bytes queued for peers that have not taken them yet.
    pub output_queued_bytes: u64,
}

/// Every reactor's latest [`Snapshot`], one slot each, shared by the reactor threads.
#[derive(Debug)]
pub struct Metrics {
    slots: Vec<Mutex<Snapshot>>,
}

impl Metrics {
    /// Slots for `reactors` reactors.
    pub fn new(reactors: usize) -> Self {
        Self {
            slots: (0..reactors.max(1))
                .map(|_| Mutex::new(Snapshot::default()))
                .collect(),
        }
    }

    /// Replaces reactor `index`'s snapshot.
    pub fn publish(&self, index: usize, snapshot: &Snapshot) {
        if let Some(slot) = self.slots.get(index) {
            // A poisoned slot only means a reactor panicked mid-copy; the data is plain numbers.
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.clone_from(snapshot);
        }
    }

    /// Appends the exposition text for every reactor to `out`.
    pub fn render(&self, out: &mut Vec<u8>) {
        let snapshots: Vec<Snapshot> = self
            .slots
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        let mut text = String::with_capacity(8 * 1024);
        render(&snapshots, &mut text);
        crate::process_metrics::render(
            &crate::process_metrics::ProcessSample::read(),
            reactor_cli::PACKAGE_VERSION,
            reactor_cli::COMMIT,
            &mut text,
        );
        out.extend_from_slice(text.as_bytes());
    }
}

/// A metric family's name, type and help line, and how to read its value from a snapshot.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    /// `(extra label, value)` rows for one snapshot.
    rows: fn(&Snapshot) -> Vec<(String, u64)>,
}

fn one(value: u64) -> Vec<(String, u64)> {
    vec![(String::new(), value)]
}

fn tls_reasons(counts: &[u64]) -> Vec<(String, u64)> {
    TlsFailure::ALL
        .iter()
        .zip(counts)
        .map(|(r, n)| (format!("reason=\"{}\"", r.name()), *n))
        .collect()
}

fn labelled(name: &str, pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs
        .iter()
        .map(|(label, v)| (format!("{name}=\"{label}\""), *v))
        .collect()
}

const FAMILIES: &[Family] = &[
    Family {
        name: "reactor_connections_accepted_total",
        kind: "counter",
        help: "TCP connections accepted (echo and HTTP).",
        rows: |s| one(s.stats.accepted),
    },
    Family {
        name: "reactor_connections_rejected_total",
        kind: "counter",
        help: "Connections accepted and closed at once because --max-conns was reached.",
        rows: |s| one(s.stats.rejected_max_conns),
    },
    Family {
        name: "reactor_connections_closed_total",
        kind: "counter",
        help: "Connections closed, by reason.",
        rows: |s| {
            CloseReason::ALL
                .iter()
                .map(|r| (format!("reason=\"{}\"", r.name()), s.stats.closed_for(*r)))
                .collect()
        },
    },
    Family {
        name: "reactor_connections_active",
        kind: "gauge",
        help: "Connections open now.",
        rows: |s| one(s.stats.active),
    },
    Family {
        name: "reactor_tcp_received_bytes_total",
        kind: "counter",
        help: "TCP bytes read from peers.",
        rows: |s| one(s.stats.tcp_bytes_in),
    },
    Family {
        name: "reactor_tcp_sent_bytes_total",
        kind: "counter",
        help: "TCP bytes written to peers.",
        rows: |s| one(s.stats.tcp_bytes_out),
    },
    Family {
        name: "reactor_http_responses_total",
        kind: "counter",
        help: "HTTP responses sent, by status code (every final status, errors included).",
        rows: |s| {
            let codes = HTTP_STATUS_CODES.iter().map(|c| format!("code=\"{c}\""));
            codes
                .chain(["code=\"other\"".to_owned()])
                .zip(s.stats.http_status)
                .collect()
        },
    },
    Family {
        name: "reactor_udp_received_datagrams_total",
        kind: "counter",
        help: "UDP datagrams received.",
        rows: |s| one(s.stats.udp_datagrams_in),
    },
    Family {
        name: "reactor_udp_sent_datagrams_total",
        kind: "counter",
        help: "UDP datagrams echoed back.",
        rows: |s| one(s.stats.udp_datagrams_out),
    },
    Family {
        name: "reactor_udp_received_bytes_total",
        kind: "counter",
        help: "UDP payload bytes received.",
        rows: |s| one(s.stats.udp_bytes_in),
    },
    Family {
        name: "reactor_udp_sent_bytes_total",
        kind: "counter",
        help: "UDP payload bytes echoed back.",
        rows: |s| one(s.stats.udp_bytes_out),
    },
    Family {
        name: "reactor_udp_dropped_datagrams_total",
        kind: "counter",
        help: "UDP datagrams dropped instead of echoed, by reason.",
        rows: |s| {
            labelled(
                "reason",
                &[
                    ("oversized", s.stats.udp_oversized),
                    ("queue_full", s.stats.udp_queue_dropped),
                ],
            )
        },
    },
    Family {
        name: "reactor_errors_total",
        kind: "counter",
        help: "Socket errors, by kind (accept_fd_exhausted: accepting paused for lack of descriptors).",
        rows: |s| {
            labelled(
                "kind",
                &[
                    ("accept_fd_exhausted", s.stats.accept_fd_exhausted),
                    ("accept", s.stats.accept_errors),
                    ("udp_send", s.stats.udp_send_errors),
                    ("udp_recv", s.stats.udp_recv_errors),
                ],
            )
        },
    },
    Family {
        name: "reactor_tls_handshakes_total",
        kind: "counter",
        help: "HTTPS: TLS handshakes completed, by kind (full, or resumed from a ticket or session ID).",
        rows: |s| {
            labelled(
                "kind",
                &[
                    ("full", s.stats.tls.handshakes_full),
                    ("resumed", s.stats.tls.handshakes_resumed),
                ],
            )
        },
    },
    Family {
        name: "reactor_tls_handshake_failures_total",
        kind: "counter",
        help: "HTTPS: TLS handshakes that did not complete, by reason.",
        rows: |s| tls_reasons(&s.stats.tls.handshake_failures),
    },
    Family {
        name: "reactor_tls_record_errors_total",
        kind: "counter",
        help: "HTTPS: established TLS connections closed for bad TLS input, by reason.",
        rows: |s| tls_reasons(&s.stats.tls.record_errors),
    },
    Family {
        name: "reactor_tls_versions_total",
        kind: "counter",
        help: "HTTPS: TLS handshakes completed, by negotiated protocol version.",
        rows: |s| {
            tls::stats::VERSIONS
                .iter()
                .zip(s.stats.tls.versions)
                .map(|((name, _), n)| (format!("version=\"{name}\""), n))
                .collect()
        },
    },
    Family {
        name: "reactor_loop_turns_total",
        kind: "counter",
        help: "Turns of the poll loop (one poll call each).",
        rows: |s| one(s.loop_stats.turns),
    },
    Family {
        name: "reactor_timers_pending",
        kind: "gauge",
        help: "Timer entries in the loop's heap.",
        rows: |s| one(s.timers_pending),
    },
    Family {
        name: "reactor_output_queued_bytes",
        kind: "gauge",
        help: "Output bytes queued for peers that have not read them yet.",
        rows: |s| one(s.output_queued_bytes),
    },
];

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
fn seconds(ns: u64) -> String {
    let (whole, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:09}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        s.stats.accepted = 3;
        s.stats.record_close(CloseReason::IdleTimeout);
        s.loop_stats.record_turn(0, Duration::from_micros(3));
        s.loop_stats.record_turn(5, Duration::from_millis(2));
        s.loop_stats.record_turn(5000, Duration::from_secs(3));
        s.timers_pending = 7;
        s.stats
            .tls
            .record_handshake(true, Some(rustls::ProtocolVersion::TLSv1_3));
        s.stats
            .tls
            .record_handshake(true, Some(rustls::ProtocolVersion::TLSv1_3));
        s.stats.tls.record_failure(TlsFailure::Timeout, true);
        s
    }

    fn rendered(snapshots: &[Snapshot]) -> String {
        let mut text = String::new();
        render(snapshots, &mut text);
        text
    }

    #[test]
    fn every_family_has_help_and_type_and_conventional_names() {
        let text = rendered(&[snapshot()]);
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let parts: Vec<&str> = line.split(' ').collect();
            let (name, kind) = (parts[2], parts[3]);
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} lacks HELP"
            );
            assert!(name.starts_with("reactor_"), "{name}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name}");
            }
        }
        assert!(text.contains("reactor_connections_accepted_total 3\n"));
        assert!(text.contains("reactor_connections_closed_total{reason=\"idle_timeout\"} 1\n"));
        assert!(text.contains("reactor_timers_pending 7\n"));
        assert!(text.contains("reactor_tls_handshakes_total{kind=\"resumed\"} 2\n"));
        assert!(text.contains("reactor_tls_handshake_failures_total{reason=\"timeout\"} 1\n"));
        assert!(text.contains("reactor_tls_versions_total{version=\"1.3\"} 2\n"));
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let text = rendered(&[snapshot()]);
        assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"0\"} 1\n"));
        assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"8\"} 2\n"));
        assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"1024\"} 2\n"));
        assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("reactor_loop_events_per_turn_count 3\n"));
        assert!(text.contains("reactor_loop_events_per_turn_sum 5005\n"));
        assert!(text.contains("reactor_loop_turn_duration_seconds_bucket{le=\"0.000005\"} 1\n"));
        assert!(text.contains("reactor_loop_turn_duration_seconds_bucket{le=\"0.0025\"} 2\n"));
        assert!(text.contains("reactor_loop_turn_duration_seconds_sum 3.002003\n"));
    }

    #[test]
    fn several_reactors_are_labelled_apart() {
        let text = rendered(&[snapshot(), Snapshot::default()]);
        assert!(text.contains("reactor_connections_accepted_total{reactor=\"0\"} 3\n"));
        assert!(text.contains("reactor_connections_accepted_total{reactor=\"1\"} 0\n"));
        assert!(text
            .contains("reactor_connections_closed_total{reactor=\"1\",reason=\"shutdown\"} 0\n"));
        assert!(text.contains("reactor_loop_turns_total{reactor=\"0\"} 3\n"));
        assert!(text.contains("reactor_loop_events_per_turn_count{reactor=\"1\"} 0\n"));
        // Each family's HELP/TYPE appears once, not once per reactor.
        assert_eq!(text.matches("# TYPE reactor_loop_turns_total").count(), 1);
    }

    #[test]
    fn published_snapshots_are_what_render_shows() {
        let metrics = Metrics::new(2);
        metrics.publish(1, &snapshot());
        metrics.publish(9, &snapshot()); // no such reactor: ignored
        let mut out = Vec::new();
        metrics.render(&mut out);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("reactor_timers_pending{reactor=\"1\"} 7\n"));
        assert!(text.contains("reactor_timers_pending{reactor=\"0\"} 0\n"));
    }

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(2_500_000), "0.0025");
        assert_eq!(seconds(1_000_000_000), "1");
        assert_eq!(seconds(5_000), "0.000005");
    }
}
