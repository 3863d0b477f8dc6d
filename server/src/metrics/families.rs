//! The catalogue of metric families read from a reactor's [`Snapshot`]: each family's name,
//! type, help line and how to read its samples.

use super::Snapshot;
use crate::stats::{CloseReason, HTTP_STATUS_CODES};
use crate::tls::{self, TlsFailure};

/// A metric family's name, type and help line, and how to read its value from a snapshot.
pub(super) struct Family {
    pub(super) name: &'static str,
    pub(super) kind: &'static str,
    pub(super) help: &'static str,
    /// `(extra label, value)` rows for one snapshot.
    pub(super) rows: fn(&Snapshot) -> Vec<(String, u64)>,
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

/// Every family, in the order they are rendered.
pub(super) const FAMILIES: &[Family] = &[
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
