//! What a thread measures, and the one rule that decides whether an event counts.
//!
//! **The rule:** an event is measured when its time is at or after the start of measurement
//! (the end of warm-up). A request's time is its intended send time, whatever happens to it
//! later (sent, answered, timed out, broken), so a request belongs wholly to warm-up or wholly
//! to the measurement; every other event (bytes moved, a connect, a wake-up) is timed when it
//! happens. Before the load starts `measure_start` is `u64::MAX`, so nothing counts.
//!
//! Every recording the engine does goes through [`Book`], which applies [`Book::measures`];
//! nothing else reads `measure_start`.

use std::fmt::Display;

use super::conn::InFlight;
use super::pacer::PaceLog;
use crate::stats::{ConnectFailure, Handshake, HandshakeFailure, Recorder};

/// One thread's measurements of the current interval, and its first error.
#[derive(Debug)]
pub struct Book {
    /// What was measured since the last interval was handed over.
    pub rec: Recorder,
    measure_start: u64,
    first_error: Option<String>,
}

impl Book {
    /// A book that measures nothing until [`Book::start_measuring_at`].
    pub fn new() -> Book {
        Book {
            rec: Recorder::default(),
            measure_start: u64::MAX,
            first_error: None,
        }
    }

    /// Measurement begins at `start` (after warm-up).
    pub fn start_measuring_at(&mut self, start: u64) {
        self.measure_start = start;
    }

    /// When measurement began (`u64::MAX` before the load starts).
    pub fn measure_start(&self) -> u64 {
        self.measure_start
    }

    /// The load has started (warm-up included).
    pub fn running(&self) -> bool {
        self.measure_start != u64::MAX
    }

    /// THE rule: an event at `at` (a request: its intended time) is measured.
    #[inline]
    pub fn measures(&self, at: u64) -> bool {
        at >= self.measure_start
    }

    /// Keep the first error message; later ones are not even formatted.
    pub fn note(&mut self, e: impl Display) {
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }

    /// Hand over the first error (for the collector).
    pub fn take_first_error(&mut self) -> Option<String> {
        self.first_error.take()
    }

    /// The last byte of request `f` went out in a write that began at `at`.
    pub fn sent(&mut self, f: &InFlight, at: u64) {
        if self.measures(f.intended) {
            self.rec.counters.sent += 1;
            self.rec
                .hist
                .send_lag
                .saturating_record(at.saturating_sub(f.intended).max(1));
        }
    }

    /// Request `f` was answered at `at`, with an HTTP status when there is one.
    pub fn answered(&mut self, f: &InFlight, status: Option<u16>, at: u64) {
        if self.measures(f.intended) {
            self.rec.response(f.intended, f.noticed, f.sent, at);
            if let Some(code) = status {
                self.rec.status(code);
            }
        }
    }

    /// A datagram request intended at `intended` went out at `at` with `bytes` bytes.
    pub fn datagram_sent(&mut self, intended: u64, at: u64, bytes: usize) {
        if self.measures(intended) {
            let c = &mut self.rec.counters;
            c.sent += 1;
            c.udp.sent += 1;
            c.bytes_sent += bytes as u64;
            self.rec
                .hist
                .send_lag
                .saturating_record(at.saturating_sub(intended).max(1));
        }
    }

    /// A datagram's echo came back, matched to its request, at `at`.
    pub fn datagram_answered(&mut self, f: &InFlight, bytes: usize, reordered: bool, at: u64) {
        if self.measures(f.intended) {
            let c = &mut self.rec.counters;
            c.udp.received += 1;
            c.bytes_received += bytes as u64;
            c.udp.reordered += u64::from(reordered);
            self.rec.response(f.intended, f.noticed, f.sent, at);
        }
    }

    /// The connection broke under request `f` (a reset or truncation).
    pub fn broken(&mut self, f: &InFlight) {
        if self.measures(f.intended) {
            self.rec.counters.errors.reset += 1;
        }
    }

    /// Request `f` timed out at `now`: an error, its latency kept.
    pub fn timed_out(&mut self, f: &InFlight, now: u64) {
        if self.measures(f.intended) {
            self.rec.timeout(f.intended, f.noticed, f.sent, now);
        }
    }

    /// A due request never got a connection: it timed out in the backlog at `now`.
    pub fn timed_out_unsent(&mut self, intended: u64, noticed: u64, now: u64) {
        if self.measures(intended) {
            self.rec.timeout_unsent(intended, noticed, now);
        }
    }

    /// A due request was still waiting for a connection when the run ended at `now`.
    pub fn unsent_at_end(&mut self, intended: u64, noticed: u64, now: u64) {
        if self.measures(intended) {
            self.rec.unsent(intended, noticed, now);
        }
    }

    /// A datagram request timed out at `now` and counts as lost.
    pub fn datagram_lost(&mut self, f: &InFlight, now: u64) {
        if self.measures(f.intended) {
            self.rec.counters.udp.lost += 1;
        }
        self.timed_out(f, now);
    }

    /// A request noticed due at `noticed` got a connection at `now`.
    pub fn waited_for_connection(&mut self, intended: u64, noticed: u64, now: u64) {
        if self.measures(intended) {
            let waited = now.saturating_sub(noticed);
            self.rec.hist.conn_wait.saturating_record(waited.max(1));
        }
    }

    /// A connection came up at `now` after `took` ns of connecting.
    pub fn connected(&mut self, took: u64, now: u64) {
        if self.measures(now) {
            self.rec.hist.connect.saturating_record(took);
            self.rec.counters.connects += 1;
        }
    }

    /// A TLS handshake completed at `now`.
    pub fn handshake(&mut self, h: &Handshake, now: u64) {
        if self.measures(now) {
            self.rec.hist.handshake.saturating_record(h.took.max(1));
            self.rec.counters.tls.completed(h);
        }
    }

    /// A TLS handshake failed at `now` this way (the connect failure is counted apart).
    pub fn handshake_failed(&mut self, why: HandshakeFailure, now: u64) {
        if self.measures(now) {
            self.rec.counters.tls.failed(why);
        }
    }

    /// A connection attempt failed at `now` this way.
    pub fn connect_failed(&mut self, kind: ConnectFailure, now: u64) {
        if self.measures(now) {
            self.rec.counters.errors.connect += 1;
            self.rec.counters.errors.connect_kinds.count(kind);
        }
    }

    /// A datagram socket reported an earlier ICMP error at `at` (for a send: the request's
    /// intended time); counted as a connect error, with no kind.
    pub fn connect_failed_quietly(&mut self, at: u64) {
        if self.measures(at) {
            self.rec.counters.errors.connect += 1;
        }
    }

    /// The server's answer failed verification at `now`.
    pub fn verify_failed(&mut self, now: u64) {
        if self.measures(now) {
            self.rec.counters.errors.verify += 1;
        }
    }

    /// A datagram came back again, or after its request timed out.
    pub fn datagram_extra(&mut self, duplicate: bool, now: u64) {
        if self.measures(now) {
            let udp = &mut self.rec.counters.udp;
            if duplicate {
                udp.duplicated += 1;
            } else {
                udp.late += 1;
            }
        }
    }

    /// `n` bytes went to the kernel at `now`.
    pub fn bytes_sent(&mut self, n: u64, now: u64) {
        if self.measures(now) {
            self.rec.counters.bytes_sent += n;
        }
    }

    /// `n` bytes came from the kernel at `now`.
    pub fn bytes_received(&mut self, n: u64, now: u64) {
        if self.measures(now) {
            self.rec.counters.bytes_received += n;
        }
    }
}

impl PaceLog for Book {
    fn noticed(&mut self, intended: u64, lateness: u64) {
        if self.measures(intended) {
            self.rec.counters.due += 1;
            self.rec
                .hist
                .schedule_lateness
                .saturating_record(lateness.max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(intended: u64) -> InFlight {
        InFlight {
            intended,
            noticed: intended,
            sent: intended + 5,
            end: 0,
        }
    }

    #[test]
    fn nothing_counts_before_the_load_starts() {
        let mut b = Book::new();
        assert!(!b.running());
        b.answered(&request(1), Some(200), 10);
        b.bytes_sent(100, 10);
        assert_eq!(b.rec.counters.requests, 0);
        assert_eq!(b.rec.counters.bytes_sent, 0);
    }

    #[test]
    fn a_request_belongs_to_the_side_of_its_intended_time() {
        let mut b = Book::new();
        b.start_measuring_at(1_000);
        // Intended during warm-up, answered after it: not measured.
        b.answered(&request(999), None, 2_000);
        assert_eq!(b.rec.counters.requests, 0);
        b.answered(&request(1_000), Some(500), 2_000);
        assert_eq!(b.rec.counters.requests, 1);
        assert_eq!(b.rec.counters.errors.http_status, 1);
        b.broken(&request(5));
        assert_eq!(b.rec.counters.errors.reset, 0);
    }

    #[test]
    fn the_first_error_is_kept() {
        let mut b = Book::new();
        b.note("one");
        b.note("two");
        assert_eq!(b.take_first_error().as_deref(), Some("one"));
        assert_eq!(b.take_first_error(), None);
    }
}
