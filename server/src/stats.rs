//! The server's counters: connections by outcome, bytes and datagrams, errors by kind.
//!
//! Plain integers owned by the poll loop (no atomics, no locks: one thread owns them), logged
//! every `--stats-interval`, served as JSON on `GET /stats`, and summed across reactor threads
//! at exit.

use std::fmt;

use crate::tls::TlsStats;

/// Why a TCP connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side and everything owed was sent.
    PeerClosed,
    /// The peer reset the connection (ECONNRESET, EPIPE).
    Reset,
    /// Another socket error.
    Error,
    /// No traffic for `--idle-timeout`.
    IdleTimeout,
    /// The peer did not read its output for `--write-timeout`.
    WriteTimeout,
    /// HTTP: request headers not complete within `--header-timeout`.
    HeaderTimeout,
    /// HTTP: request body not complete within `--body-timeout`.
    BodyTimeout,
    /// The protocol decided to close (HTTP `Connection: close`, a malformed request, ...).
    Protocol,
    /// Closed by the graceful shutdown (drained or drain timeout).
    Shutdown,
    /// HTTPS: the TLS handshake did not finish within `--tls-handshake-timeout`.
    TlsHandshakeTimeout,
    /// HTTPS: the peer's TLS input was refused (a fatal alert was sent).
    TlsError,
}

impl CloseReason {
    /// Every reason, in the order they are reported.
    pub const ALL: [CloseReason; 11] = [
        Self::PeerClosed,
        Self::Reset,
        Self::Error,
        Self::IdleTimeout,
        Self::WriteTimeout,
        Self::HeaderTimeout,
        Self::BodyTimeout,
        Self::Protocol,
        Self::Shutdown,
        Self::TlsHandshakeTimeout,
        Self::TlsError,
    ];

    /// The field naming this reason's close count in structured log lines.
    pub fn field_name(self) -> &'static str {
        match self {
            Self::PeerClosed => "closed_peer_closed",
            Self::Reset => "closed_reset",
            Self::Error => "closed_error",
            Self::IdleTimeout => "closed_idle_timeout",
            Self::WriteTimeout => "closed_write_timeout",
            Self::HeaderTimeout => "closed_header_timeout",
            Self::BodyTimeout => "closed_body_timeout",
            Self::Protocol => "closed_protocol",
            Self::Shutdown => "closed_shutdown",
            Self::TlsHandshakeTimeout => "closed_tls_handshake_timeout",
            Self::TlsError => "closed_tls_error",
        }
    }

    /// Stable snake_case name used in logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::PeerClosed => "peer_closed",
            Self::Reset => "reset",
            Self::Error => "error",
            Self::IdleTimeout => "idle_timeout",
            Self::WriteTimeout => "write_timeout",
            Self::HeaderTimeout => "header_timeout",
            Self::BodyTimeout => "body_timeout",
            Self::Protocol => "protocol",
            Self::Shutdown => "shutdown",
            Self::TlsHandshakeTimeout => "tls_handshake_timeout",
            Self::TlsError => "tls_error",
        }
    }
}

/// The HTTP status codes the server sends, in the order they are reported; a response with any
/// other code is counted in the last slot of [`Stats::http_status`] (`code="other"`).
pub const HTTP_STATUS_CODES: [u16; 12] =
    [200, 400, 404, 405, 408, 413, 414, 417, 431, 501, 503, 505];

/// Slot of `code` in [`Stats::http_status`].
pub fn http_status_slot(code: u16) -> usize {
    HTTP_STATUS_CODES
        .iter()
        .position(|&c| c == code)
        .unwrap_or(HTTP_STATUS_CODES.len())
}

/// Counters of one reactor.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted (echo and HTTP).
    pub accepted: u64,
    /// Connections accepted and closed at once because `--max-conns` was reached.
    pub rejected_max_conns: u64,
    /// Times accept failed for lack of descriptors (EMFILE/ENFILE) and accepting was paused.
    pub accept_fd_exhausted: u64,
    /// Other accept errors.
    pub accept_errors: u64,
    /// Connections open now.
    pub active: u64,
    /// Connections closed, indexed like [`CloseReason::ALL`].
    pub closed: [u64; CloseReason::ALL.len()],
    /// TCP bytes read.
    pub tcp_bytes_in: u64,
    /// TCP bytes written.
    pub tcp_bytes_out: u64,
    /// HTTP responses sent (every final status, errors included).
    pub http_responses: u64,
    /// HTTP responses by status, indexed like [`HTTP_STATUS_CODES`] plus one slot for others.
    pub http_status: [u64; HTTP_STATUS_CODES.len() + 1],
    /// UDP datagrams received.
    pub udp_datagrams_in: u64,
    /// UDP datagrams sent back.
    pub udp_datagrams_out: u64,
    /// UDP payload bytes received.
    pub udp_bytes_in: u64,
    /// UDP payload bytes sent back.
    pub udp_bytes_out: u64,
    /// Datagrams larger than the buffer or `--max-datagram`, dropped instead of echoed.
    pub udp_oversized: u64,
    /// Datagrams dropped because the send queue was full.
    pub udp_queue_dropped: u64,
    /// Replies that could not be sent at once (the send buffer was full, `WouldBlock`, or
    /// earlier replies were still queued): queued, or dropped when the queue was full.
    pub udp_send_blocked: u64,
    /// Datagrams whose send failed with an error other than "would block".
    pub udp_send_errors: u64,
    /// UDP receive errors other than "would block".
    pub udp_recv_errors: u64,
    /// HTTPS: handshakes, TLS failures, versions.
    pub tls: TlsStats,
}

impl Stats {
    /// Records a closed connection.
    pub fn record_close(&mut self, reason: CloseReason) {
        self.active = self.active.saturating_sub(1);
        self.closed[reason as usize] += 1;
    }

    /// Connections closed for `reason`.
    pub fn closed_for(&self, reason: CloseReason) -> u64 {
        self.closed[reason as usize]
    }

    /// Adds another reactor's counters (for the process-wide summary).
    pub fn add(&mut self, other: &Stats) {
        self.accepted += other.accepted;
        self.rejected_max_conns += other.rejected_max_conns;
        self.accept_fd_exhausted += other.accept_fd_exhausted;
        self.accept_errors += other.accept_errors;
        self.active += other.active;
        for (mine, theirs) in self.closed.iter_mut().zip(other.closed) {
            *mine += theirs;
        }
        self.tcp_bytes_in += other.tcp_bytes_in;
        self.tcp_bytes_out += other.tcp_bytes_out;
        self.http_responses += other.http_responses;
        for (mine, theirs) in self.http_status.iter_mut().zip(other.http_status) {
            *mine += theirs;
        }
        self.udp_datagrams_in += other.udp_datagrams_in;
        self.udp_datagrams_out += other.udp_datagrams_out;
        self.udp_bytes_in += other.udp_bytes_in;
        self.udp_bytes_out += other.udp_bytes_out;
        self.udp_oversized += other.udp_oversized;
        self.udp_queue_dropped += other.udp_queue_dropped;
        self.udp_send_blocked += other.udp_send_blocked;
        self.udp_send_errors += other.udp_send_errors;
        self.udp_recv_errors += other.udp_recv_errors;
        self.tls.add(&other.tls);
    }

    /// Every counter as a `(field, value)` pair with a stable snake_case name: the keys of
    /// structured (JSON) log lines.
    pub fn fields(&self) -> Vec<(&'static str, u64)> {
        let mut fields = vec![
            ("conns_accepted", self.accepted),
            ("conns_active", self.active),
            ("conns_rejected_max_conns", self.rejected_max_conns),
        ];
        fields.extend(
            CloseReason::ALL
                .iter()
                .map(|r| (r.field_name(), self.closed_for(*r))),
        );
        fields.extend([
            ("tcp_bytes_in", self.tcp_bytes_in),
            ("tcp_bytes_out", self.tcp_bytes_out),
            ("http_responses", self.http_responses),
            ("udp_datagrams_in", self.udp_datagrams_in),
            ("udp_datagrams_out", self.udp_datagrams_out),
            ("udp_bytes_in", self.udp_bytes_in),
            ("udp_bytes_out", self.udp_bytes_out),
            ("udp_oversized", self.udp_oversized),
            ("udp_queue_dropped", self.udp_queue_dropped),
            ("errors_accept_fd_exhausted", self.accept_fd_exhausted),
            ("errors_accept", self.accept_errors),
            ("errors_udp_send", self.udp_send_errors),
            ("errors_udp_recv", self.udp_recv_errors),
        ]);
        fields
    }

    /// The counters as a JSON object (served on `GET /stats`).
    pub fn to_json(&self) -> serde_json::Value {
        let closed: serde_json::Map<String, serde_json::Value> = CloseReason::ALL
            .iter()
            .map(|r| (r.name().to_owned(), self.closed_for(*r).into()))
            .collect();
        let mut by_status: serde_json::Map<String, serde_json::Value> = HTTP_STATUS_CODES
            .iter()
            .map(|c| c.to_string())
            .chain(["other".to_owned()])
            .zip(self.http_status)
            .filter(|(_, n)| *n > 0)
            .map(|(code, n)| (code, n.into()))
            .collect();
        by_status.sort_keys();
        serde_json::json!({
            "connections": {
                "accepted": self.accepted,
                "active": self.active,
                "rejected_max_conns": self.rejected_max_conns,
                "closed": closed,
            },
            "errors": {
                "accept_fd_exhausted": self.accept_fd_exhausted,
                "accept": self.accept_errors,
                "udp_send": self.udp_send_errors,
                "udp_recv": self.udp_recv_errors,
            },
            "tcp": { "bytes_in": self.tcp_bytes_in, "bytes_out": self.tcp_bytes_out },
            "http": { "responses": self.http_responses, "by_status": by_status },
            "udp": {
                "datagrams_in": self.udp_datagrams_in,
                "datagrams_out": self.udp_datagrams_out,
                "bytes_in": self.udp_bytes_in,
                "bytes_out": self.udp_bytes_out,
                "oversized": self.udp_oversized,
                "queue_dropped": self.udp_queue_dropped,
                "send_blocked": self.udp_send_blocked,
            },
            "tls": self.tls.to_json(),
        })
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conns accepted={} active={} rejected={} closed[",
            self.accepted, self.active, self.rejected_max_conns
        )?;
        for (i, reason) in CloseReason::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{}={}", reason.name(), self.closed_for(*reason))?;
        }
        write!(
            f,
            "] tcp in={}B out={}B http responses={} udp in={} out={} oversized={} queue_dropped={} \
             errors accept_fd={} accept={} udp_send={} udp_recv={}",
            self.tcp_bytes_in,
            self.tcp_bytes_out,
            self.http_responses,
            self.udp_datagrams_in,
            self.udp_datagrams_out,
            self.udp_oversized,
            self.udp_queue_dropped,
            self.accept_fd_exhausted,
            self.accept_errors,
            self.udp_send_errors,
            self.udp_recv_errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_moves_active_to_reason() {
        let mut s = Stats {
            accepted: 2,
            active: 2,
            ..Default::default()
        };
        s.record_close(CloseReason::IdleTimeout);
        assert_eq!(s.active, 1);
        assert_eq!(s.closed_for(CloseReason::IdleTimeout), 1);
        assert_eq!(s.to_json()["connections"]["closed"]["idle_timeout"], 1);
    }

    #[test]
    fn every_field_is_named_once() {
        let s = Stats::default();
        let mut names: Vec<&str> = s.fields().iter().map(|(n, _)| *n).collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total, "duplicate field names");
        assert!(names.contains(&"closed_idle_timeout"));
    }

    #[test]
    fn add_sums_every_counter() {
        let mut a = Stats {
            tcp_bytes_in: 5,
            ..Default::default()
        };
        a.record_close(CloseReason::Reset);
        let mut total = Stats::default();
        total.add(&a);
        total.add(&a);
        assert_eq!(total.tcp_bytes_in, 10);
        assert_eq!(total.closed_for(CloseReason::Reset), 2);
    }
}
