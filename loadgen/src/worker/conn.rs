//! The per-connection state machine of a byte stream (TCP echo or HTTP), without a socket.
//!
//! Events go in (connect started, established, failed; bytes accepted by the kernel; bytes
//! received; end of stream; time passing) and decisions come out (bytes to write, requests
//! sent / answered / orphaned, reported as [`ConnEvent`]s), in the style of quinn-proto's
//! `Connection`. The transport in [`super::stream`] only moves bytes between this and a socket,
//! so everything here is unit-tested without the network.

use std::collections::VecDeque;

use super::rxstamp::Arrival;
use crate::workload::{Completion, StreamError, StreamSession};

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No socket; (re)connect at `retry_at`.
    Down {
        /// Monotonic time of the next attempt.
        retry_at: u64,
    },
    /// `connect()` issued at `since`, not yet established.
    Connecting {
        /// Monotonic time the attempt began.
        since: u64,
    },
    /// TCP established at `since`, the TLS handshake under way (https targets).
    Handshaking {
        /// Monotonic time the handshake began.
        since: u64,
    },
    /// Established (and, over TLS, the handshake done): carries requests.
    Up,
}

/// One request on a connection, from submission to its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// Intended send time (open loop) or submission time (closed loop).
    pub intended: u64,
    /// When the loop noticed it was due (open loop; = `intended` in closed loop): the
    /// server's share of the latency counts from here.
    pub noticed: u64,
    /// When the write carrying its last byte began; 0 while unsent.
    pub sent: u64,
    /// Stream offset just past its last byte.
    pub end: u64,
}

/// How a connection ended, which decides what happens to its unanswered requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The server closed politely, or we replaced the connection: resend them (open loop).
    Quiet,
    /// Reset, truncation or verification failure: they are errors.
    Broken,
    /// The connection never came up: the failed connect is the error (counted by kind), not
    /// the request, and it is not resent.
    Unconnected,
}

/// What happened to a request, in the order it happened; the worker drains these after each
/// call and records them, tests compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnEvent {
    /// The last byte of the request went to the kernel in a write that began at `at`.
    Sent {
        /// The request.
        f: InFlight,
        /// When the write began.
        at: u64,
    },
    /// The request was answered at `at` (with an HTTP status when there is one).
    Answered {
        /// The request.
        f: InFlight,
        /// HTTP status.
        status: Option<u16>,
        /// Arrival of the answer's last byte (never before the send).
        at: u64,
    },
    /// The connection ended under the request.
    Orphaned {
        /// The request.
        f: InFlight,
        /// How the connection ended.
        ending: Ending,
    },
}

/// What the stream said after some received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Keep going.
    Open,
    /// The server announced it closes after a response: close quietly now.
    Closing,
}

/// The protocol and framing state of one stream connection.
#[derive(Debug)]
pub struct StreamConn {
    phase: Phase,
    session: StreamSession,
    out: Vec<u8>,
    out_pos: usize,
    written: u64,
    enqueued: u64,
    inflight: VecDeque<InFlight>,
    unsent: usize,
    next_seq: u64,
    done: Vec<Completion>,
    events: VecDeque<ConnEvent>,
    one_shot: bool,
}

impl StreamConn {
    /// A connection that is down and due to connect at once; sequence numbers start at
    /// `seq_base`; room for `pipeline` requests is reserved up front (no allocation later).
    pub fn new(session: StreamSession, seq_base: u64, pipeline: usize) -> StreamConn {
        StreamConn {
            phase: Phase::Down { retry_at: 0 },
            session,
            out: Vec::with_capacity(4096),
            out_pos: 0,
            written: 0,
            enqueued: 0,
            inflight: VecDeque::with_capacity(pipeline),
            unsent: 0,
            next_seq: seq_base,
            done: Vec::with_capacity(pipeline.max(8)),
            events: VecDeque::with_capacity(2 * pipeline.max(8)),
            one_shot: false,
        }
    }

    /// The same connection in connection-per-request mode: a request is submitted while it
    /// is down (the caller then connects, and the bytes go out once established), and once
    /// every submitted request is answered and verified it asks to be closed.
    pub fn per_request(mut self) -> StreamConn {
        self.one_shot = true;
        self
    }

    /// Connection-per-request: down with nothing in flight, so it can take the next request.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Down { .. }) && self.inflight.is_empty()
    }

    /// The next thing that happened to a request, oldest first.
    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        self.events.pop_front()
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// True when it can carry requests.
    pub fn is_up(&self) -> bool {
        self.phase == Phase::Up
    }

    /// Requests submitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// A `connect()` was issued at `now`.
    pub fn connecting(&mut self, now: u64) {
        self.phase = Phase::Connecting { since: now };
    }

    /// The connection is established at `now`; returns how long connecting took, if it was
    /// connecting. Over TLS this is called once the handshake is done, and returns how long
    /// the handshake took (the connect was timed by [`StreamConn::handshaking`]).
    pub fn established(&mut self, now: u64) -> Option<u64> {
        let (Phase::Connecting { since } | Phase::Handshaking { since }) = self.phase else {
            return None;
        };
        self.phase = Phase::Up;
        Some(now.saturating_sub(since).max(1))
    }

    /// TCP is established at `now` and a TLS handshake begins; returns how long connecting
    /// took, if it was connecting. Requests wait until [`StreamConn::established`].
    pub fn handshaking(&mut self, now: u64) -> Option<u64> {
        let Phase::Connecting { since } = self.phase else {
            return None;
        };
        self.phase = Phase::Handshaking { since: now };
        Some(now.saturating_sub(since).max(1))
    }

    /// Queue one request of `size` payload bytes intended at `intended`, noticed due at
    /// `noticed`.
    pub fn submit(&mut self, intended: u64, noticed: u64, size: usize) {
        let before = self.out.len();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.session.encode_request(seq, size, &mut self.out);
        self.enqueued += (self.out.len() - before) as u64;
        self.inflight.push_back(InFlight {
            intended,
            noticed,
            sent: 0,
            end: self.enqueued,
        });
        self.unsent += 1;
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// The kernel took `n` bytes in a write that began at `began`: stamp every request whose
    /// last byte is now out.
    pub fn wrote(&mut self, n: usize, began: u64) {
        self.out_pos += n;
        self.written += n as u64;
        let first = self.inflight.len() - self.unsent;
        for f in self.inflight.range_mut(first..) {
            if f.end > self.written {
                break;
            }
            f.sent = began;
            self.unsent -= 1;
            self.events.push_back(ConnEvent::Sent { f: *f, at: began });
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// Bytes arrived (`at`): complete the oldest requests they answer.
    pub fn received(&mut self, data: &[u8], at: Arrival) -> Result<Received, StreamError> {
        self.done.clear();
        let result = self.session.on_bytes(data, &mut self.done);
        let closes = self.done.iter().any(|c| c.closes);
        let surplus = self.complete(at);
        result?;
        surplus?;
        let finished = self.one_shot && self.inflight.is_empty() && self.unsent == 0;
        Ok(if closes || finished {
            Received::Closing
        } else {
            Received::Open
        })
    }

    /// The server closed its side at `now`; says whether that was polite (every request it
    /// was sent is answered) or broke requests in the middle.
    pub fn eof(&mut self, now: u64) -> Ending {
        self.done.clear();
        let result = self.session.on_eof(&mut self.done);
        let polite = result.is_ok() && self.done.len() == self.inflight.len();
        let _ = self.complete(Arrival::read_at(now));
        if polite {
            Ending::Quiet
        } else {
            Ending::Broken
        }
    }

    /// Answer the oldest requests with the responses framed; a response with no request
    /// left to answer is an error (a server answering twice, or unasked).
    fn complete(&mut self, at: Arrival) -> Result<(), StreamError> {
        for c in self.done.drain(..) {
            let Some(f) = self.inflight.pop_front() else {
                return Err(StreamError::SurplusResponse);
            };
            self.events.push_back(ConnEvent::Answered {
                f,
                status: c.status,
                at: at.after_send(f.sent),
            });
        }
        Ok(())
    }

    /// The oldest request's answer failed verification: it is settled (as that one error)
    /// and leaves the connection, so closing it does not count it again.
    pub fn drop_oldest(&mut self) -> Option<InFlight> {
        let f = self.inflight.pop_front()?;
        if f.sent == 0 {
            self.unsent = self.unsent.saturating_sub(1);
        }
        Some(f)
    }

    /// The oldest request, if it was intended before `cutoff` and is still unanswered: it
    /// timed out (counted from its intended send time: in open loop a request waiting for
    /// its bytes to go out is waiting all the same), and the stream is out of step, so the
    /// caller closes the connection.
    pub fn expired(&mut self, cutoff: u64) -> Option<InFlight> {
        let f = *self.inflight.front()?;
        if f.intended >= cutoff {
            return None;
        }
        self.inflight.pop_front();
        Some(f)
    }

    /// Drop the connection; unanswered requests are orphaned per `ending` (newest first, so a
    /// resend queue that pushes to its front keeps their order). Down until `retry_at`.
    pub fn close(&mut self, ending: Ending, retry_at: u64) {
        self.session.reset();
        self.out.clear();
        self.out_pos = 0;
        self.written = 0;
        self.enqueued = 0;
        self.unsent = 0;
        while let Some(f) = self.inflight.pop_back() {
            self.events.push_back(ConnEvent::Orphaned { f, ending });
        }
        self.phase = Phase::Down { retry_at };
    }
}

#[cfg(test)]
mod tests;
