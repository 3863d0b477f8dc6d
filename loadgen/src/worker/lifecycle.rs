//! Connection slots and their lifecycle: connect (all at set-up, or one per request), notice
//! the connect complete or fail, close, reconnect after a pause, time out what waited too long.
//!
//! Which request goes on a connection once it is up or free is not decided here but by the
//! load discipline ([`super::discipline`]); what a change of state means for the measurement
//! is [`super::measure`]'s.

use std::fmt::Display;
use std::io;
use std::time::Duration;

use mio::{Events, Token};

use super::conn::{Ending, InFlight, Phase};
use super::datagram::DatagramSlot;
use super::engine::{Worker, TIMER};
use super::stream::StreamSlot;
use super::tls::Handshaking;
use super::Msg;
use crate::clock::now_ns;
use crate::stats::{new_histogram, ConnectFailure, Handshake, HandshakeFailure};

/// Pause before reconnecting after a failure.
const RECONNECT_BACKOFF_NS: u64 = 10_000_000;

/// One connection of either transport.
pub(super) enum Slot {
    Stream(Box<StreamSlot>),
    Datagram(Box<DatagramSlot>),
}

impl Slot {
    pub(super) fn is_up(&self) -> bool {
        match self {
            Slot::Stream(s) => s.conn.is_up(),
            Slot::Datagram(d) => d.up,
        }
    }

    pub(super) fn in_flight(&self) -> usize {
        match self {
            Slot::Stream(s) => s.conn.in_flight(),
            Slot::Datagram(d) => d.tracker.in_flight(),
        }
    }

    fn is_connecting(&self) -> bool {
        matches!(self, Slot::Stream(s) if matches!(s.conn.phase(), Phase::Connecting { .. } | Phase::Handshaking { .. }))
    }

    /// Can take one more request: a free pipeline slot on an established connection, or, one
    /// connection per request, no connection at all (the request brings its own).
    pub(super) fn can_take(&self, pipeline: usize, per_request: bool) -> bool {
        match self {
            Slot::Stream(s) if per_request => s.conn.is_idle(),
            _ => self.is_up() && self.in_flight() < pipeline,
        }
    }
}

impl Worker {
    /// Set-up phase: connect everything, wait for the results, report them.
    pub(super) fn connect_all(&mut self) {
        if self.per_request {
            // Every request brings its own connection; there is nothing to set up.
            let _ = self.tx.send(Msg::Connected {
                up: 0,
                failures: 0,
                first_error: None,
                connect: Box::new(new_histogram()),
                handshakes: Box::default(),
            });
            return;
        }
        let deadline = now_ns() + self.plan.connect_timeout_ns;
        for idx in 0..self.slots.len() {
            // Each connection is timed from its own connect(), and the ones that completed
            // meanwhile are noticed before the next is issued: a connect's time is not the
            // time it took to issue all the others.
            self.start_connect(idx, now_ns());
            if !self.collect_connects(Duration::ZERO) {
                break;
            }
        }
        while self.slots.iter().any(Slot::is_connecting) {
            let now = now_ns();
            if now >= deadline {
                for idx in 0..self.slots.len() {
                    self.give_up_if_connecting(idx, now);
                }
                break;
            }
            let wait = Duration::from_nanos((deadline - now).min(10_000_000));
            if !self.collect_connects(wait) {
                break;
            }
        }
        let up = self.slots.iter().filter(|s| s.is_up()).count();
        let _ = self.tx.send(Msg::Connected {
            up,
            failures: self.setup_connect_failures,
            first_error: self.book.take_first_error(),
            connect: Box::new(std::mem::replace(
                &mut self.setup_connect_hist,
                new_histogram(),
            )),
            handshakes: Box::new(std::mem::take(&mut self.setup_handshakes)),
        });
    }

    /// Set-up: wait up to `wait` for connects to complete and take note of them; false when
    /// polling failed.
    fn collect_connects(&mut self, wait: Duration) -> bool {
        if let Err(e) = self.poll.poll(&mut self.events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                self.book.note(format_args!("poll failed: {e}"));
                return false;
            }
        }
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter().filter(|e| e.token() != TIMER) {
            let idx = event.token().0;
            match self.slots.get(idx) {
                Some(Slot::Stream(s)) if matches!(s.conn.phase(), Phase::Handshaking { .. }) => {
                    self.drive_handshake(idx)
                }
                _ => self.check_connected(idx, now_ns()),
            }
        }
        self.events = events;
        true
    }

    /// Begin connecting connection `idx` (UDP sockets are up at once).
    pub(super) fn start_connect(&mut self, idx: usize, now: u64) {
        self.connecting = true;
        let addr = self.plan.addr;
        let local = if self.per_request {
            self.sources.next_addr()
        } else {
            None
        };
        let registry = self.poll.registry();
        let result = match &mut self.slots[idx] {
            Slot::Stream(s) => s.connect(addr, local, registry, Token(idx), now),
            Slot::Datagram(d) => d.open(addr, registry, Token(idx)),
        };
        match result {
            Ok(()) if self.slots[idx].is_up() => self.on_up(idx, now),
            Ok(()) => {}
            Err(e) => self.connect_failed(idx, now, ConnectFailure::of(&e), e),
        }
    }

    /// A connecting socket signalled: find out whether it is connected.
    pub(super) fn check_connected(&mut self, idx: usize, now: u64) {
        let per_request = self.per_request;
        let Some(Slot::Stream(s)) = self.slots.get_mut(idx) else {
            return;
        };
        match s.check_connected(now, !per_request, self.tls.as_ref()) {
            Ok(Some(took)) => {
                if self.book.running() {
                    self.book.connected(took, now);
                } else {
                    self.setup_connect_hist.saturating_record(took);
                }
                if self.slots[idx].is_up() {
                    self.on_up(idx, now);
                } else {
                    // TLS: the ClientHello goes out at once.
                    self.drive_handshake(idx);
                }
            }
            Ok(None) => {}
            Err(e) => self.connect_failed(idx, now, ConnectFailure::of(&e), e),
        }
    }

    fn connect_timed_out(&mut self, idx: usize, now: u64) {
        self.connect_failed(idx, now, ConnectFailure::TimedOut, "connect timed out");
    }

    /// Set-up ran out of time: a connection still connecting or handshaking has failed.
    fn give_up_if_connecting(&mut self, idx: usize, now: u64) {
        match &self.slots[idx] {
            Slot::Stream(s) => match s.conn.phase() {
                Phase::Connecting { .. } => self.connect_timed_out(idx, now),
                Phase::Handshaking { .. } => self.handshake_timed_out(idx, now),
                _ => {}
            },
            Slot::Datagram(_) => {}
        }
    }

    /// A TLS connection's socket signalled while it is handshaking: move the handshake on.
    /// Done, the connection carries requests; failed, it is a failed connection attempt.
    pub(super) fn drive_handshake(&mut self, idx: usize) {
        let Some(Slot::Stream(s)) = self.slots.get_mut(idx) else {
            return;
        };
        match s.handshake(&mut self.scratch) {
            Handshaking::Pending => {}
            Handshaking::Done(negotiated) => {
                let now = now_ns();
                let took = s.conn.established(now).unwrap_or(1);
                let h = Handshake { took, ..negotiated };
                if self.book.running() {
                    self.book.handshake(&h, now);
                } else {
                    self.setup_handshakes.hist.saturating_record(took);
                    self.setup_handshakes.counts.completed(&h);
                }
                self.on_up(idx, now);
            }
            Handshaking::Failed(why, message) => self.handshake_failed(idx, now_ns(), why, message),
        }
    }

    fn handshake_timed_out(&mut self, idx: usize, now: u64) {
        let message = "TLS handshake timed out (--connect-timeout)";
        self.handshake_failed(idx, now, HandshakeFailure::TimedOut, message);
    }

    /// A TLS handshake failed: counted by `why`, and as a failed connection attempt.
    fn handshake_failed(
        &mut self,
        idx: usize,
        now: u64,
        why: HandshakeFailure,
        message: impl Display,
    ) {
        if self.book.running() {
            self.book.handshake_failed(why, now);
        } else {
            self.setup_handshakes.counts.failed(why);
        }
        self.connect_failed(idx, now, ConnectFailure::TlsHandshake, message);
    }

    /// A connection attempt failed: counted by `kind`, never as a latency. Long-lived
    /// connections retry after a pause; one connection per request frees its slot for the
    /// next request (closed loop: at the next housekeeping, so a target that refuses at once
    /// is not retried in a tight loop).
    fn connect_failed(&mut self, idx: usize, now: u64, kind: ConnectFailure, why: impl Display) {
        self.setup_connect_failures += u64::from(!self.book.running());
        self.book.connect_failed(kind, now);
        if kind == ConnectFailure::NoLocalAddress {
            self.book.note(format_args!(
                "no local address for a new connection (out of source ports): {why}"
            ));
        } else {
            self.book.note(why);
        }
        let per_request = self.per_request;
        let retry_at = if per_request {
            now
        } else {
            now + RECONNECT_BACKOFF_NS
        };
        let registry = self.poll.registry();
        match &mut self.slots[idx] {
            Slot::Stream(s) => {
                s.drop_socket(registry, !per_request);
                s.conn.close(Ending::Unconnected, retry_at);
            }
            Slot::Datagram(d) => d.drop_socket(registry),
        }
        self.settle(idx);
        if per_request {
            self.connection_gone(idx);
        }
    }

    /// Drop stream connection `idx`; its unanswered requests are errors or get resent, per
    /// `ending`; a quiet close reconnects at once.
    pub(super) fn close(&mut self, idx: usize, ending: Ending, now: u64) {
        let per_request = self.per_request;
        let backoff = if ending == Ending::Quiet || per_request {
            0
        } else {
            RECONNECT_BACKOFF_NS
        };
        let registry = self.poll.registry();
        let Slot::Stream(s) = &mut self.slots[idx] else {
            return;
        };
        s.drop_socket(registry, !per_request);
        s.conn.close(ending, now + backoff);
        self.settle(idx);
        if per_request {
            self.after_one_shot_close(idx, ending, now);
        } else if backoff == 0 && !self.draining {
            self.start_connect(idx, now);
        }
    }

    /// Tend every connection: time out requests, reconnect, give up slow connects. Returns
    /// the requests still outstanding.
    pub(super) fn tend_connections(&mut self, now: u64) -> usize {
        let cutoff = now.saturating_sub(self.plan.timeout_ns);
        let connect_cutoff = now.saturating_sub(self.plan.connect_timeout_ns);
        let mut outstanding = 0;
        let mut connecting = false;
        for idx in 0..self.slots.len() {
            match &self.slots[idx] {
                Slot::Stream(s) => match s.conn.phase() {
                    Phase::Down { .. } if self.per_request => self.idle_one_shot(idx, now),
                    Phase::Down { retry_at } if retry_at <= now && !self.draining => {
                        self.start_connect(idx, now)
                    }
                    Phase::Connecting { since } if since < connect_cutoff => {
                        self.connect_timed_out(idx, now)
                    }
                    Phase::Handshaking { since } if since < connect_cutoff => {
                        self.handshake_timed_out(idx, now)
                    }
                    Phase::Up => self.expire(idx, cutoff, now),
                    _ => {}
                },
                Slot::Datagram(d) if d.up => self.expire(idx, cutoff, now),
                Slot::Datagram(_) => {}
            }
            outstanding += self.slots[idx].in_flight();
            connecting |= self.slots[idx].is_connecting();
        }
        self.connecting = connecting;
        if let Some(p) = self.pacer.as_mut() {
            let mut expired = false;
            while let Some(due) = p.expire_before(cutoff) {
                self.book.timed_out_unsent(due.intended, due.noticed, now);
                expired = true;
            }
            if expired {
                self.book
                    .note("request timed out waiting for a free connection");
            }
        }
        outstanding
    }

    /// Time out the oldest request(s) of connection `idx` sent before `cutoff`.
    fn expire(&mut self, idx: usize, cutoff: u64, now: u64) {
        match &mut self.slots[idx] {
            Slot::Stream(s) => {
                let Some(f) = s.conn.expired(cutoff) else {
                    return;
                };
                self.book.timed_out(&f, now);
                self.book.note("request timed out");
                // The stream is out of step now; start over on a fresh connection.
                self.close(idx, Ending::Quiet, now);
            }
            Slot::Datagram(d) => {
                let mut freed = 0;
                while let Some(lost) = d.tracker.expire_before(cutoff) {
                    freed += 1;
                    let f = InFlight {
                        intended: lost.intended,
                        noticed: lost.noticed,
                        sent: lost.sent,
                        end: 0,
                    };
                    self.book.datagram_lost(&f, now);
                }
                self.slots_freed(idx, freed);
            }
        }
    }
}
