//! The per-connection state machine of a byte stream (TCP echo or HTTP), without a socket.
//!
//! Events go in (connect started, established, failed; bytes accepted by the kernel; bytes
//! received; end of stream; time passing) and decisions come out (bytes to write, requests
//! sent / answered / orphaned, reported through [`Outcomes`]), in the style of quinn-proto's
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
mod tests {
    use super::*;
    use crate::workload::http::HttpClient;
    use crate::workload::tcp::EchoStream;

    #[derive(Default)]
    struct Log {
        sent: Vec<(u64, u64)>,
        answered: Vec<(u64, Option<u16>, u64)>,
        orphaned: Vec<(u64, Ending)>,
    }

    impl Log {
        /// Call `f` on the connection, then drain what it reports.
        fn after<T>(&mut self, c: &mut StreamConn, f: impl FnOnce(&mut StreamConn) -> T) -> T {
            let result = f(c);
            while let Some(e) = c.poll_event() {
                match e {
                    ConnEvent::Sent { f, at } => self.sent.push((f.intended, at)),
                    ConnEvent::Answered { f, status, at } => {
                        self.answered.push((f.intended, status, at))
                    }
                    ConnEvent::Orphaned { f, ending } => self.orphaned.push((f.intended, ending)),
                }
            }
            result
        }
    }

    fn echo() -> StreamConn {
        StreamConn::new(StreamSession::Echo(EchoStream::new()), 0, 4)
    }

    fn up(c: &mut StreamConn) {
        c.connecting(100);
        assert_eq!(c.established(350), Some(250));
        assert!(c.is_up());
    }

    #[test]
    fn connecting_then_established_reports_the_connect_time() {
        let mut c = echo();
        assert_eq!(c.phase(), Phase::Down { retry_at: 0 });
        assert_eq!(c.established(5), None, "not connecting");
        up(&mut c);
    }

    #[test]
    fn over_tls_the_connect_and_the_handshake_are_timed_apart() {
        let mut c = echo();
        c.submit(1, 1, 64);
        c.connecting(100);
        assert_eq!(c.handshaking(350), Some(250));
        assert_eq!(c.phase(), Phase::Handshaking { since: 350 });
        assert!(!c.is_up(), "requests wait for the handshake");
        assert_eq!(c.handshaking(400), None, "not connecting any more");
        assert_eq!(c.established(1_350), Some(1_000));
        assert!(c.is_up());
    }

    #[test]
    fn a_request_is_sent_when_its_last_byte_is_written() {
        let mut c = echo();
        up(&mut c);
        let mut log = Log::default();
        c.submit(1_000, 1_000, 64);
        c.submit(2_000, 2_000, 64);
        assert_eq!(c.pending().len(), 128);
        log.after(&mut c, |c| c.wrote(63, 5_000));
        assert!(log.sent.is_empty(), "one byte of the first is still queued");
        log.after(&mut c, |c| c.wrote(65, 6_000));
        assert_eq!(log.sent, vec![(1_000, 6_000), (2_000, 6_000)]);
        assert!(c.pending().is_empty());
    }

    #[test]
    fn echoed_bytes_answer_requests_in_order() {
        let mut c = echo();
        up(&mut c);
        let mut log = Log::default();
        c.submit(1, 1, 64);
        c.submit(2, 2, 64);
        let wire = c.pending().to_vec();
        log.after(&mut c, |c| c.wrote(wire.len(), 10));
        assert_eq!(
            log.after(&mut c, |c| c.received(&wire[..100], Arrival::read_at(20))),
            Ok(Received::Open)
        );
        assert_eq!(log.answered, vec![(1, None, 20)]);
        assert_eq!(
            log.after(&mut c, |c| c.received(&wire[100..], Arrival::read_at(30))),
            Ok(Received::Open)
        );
        assert_eq!(log.answered.len(), 2);
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn a_wrong_byte_is_an_error_and_close_orphans_the_rest_newest_first() {
        let mut c = echo();
        up(&mut c);
        let mut log = Log::default();
        c.submit(1, 1, 64);
        c.submit(2, 2, 64);
        let mut wire = c.pending().to_vec();
        log.after(&mut c, |c| c.wrote(wire.len(), 10));
        wire[20] ^= 0xFF;
        let err = log
            .after(&mut c, |c| c.received(&wire, Arrival::read_at(20)))
            .unwrap_err();
        assert!(err.is_verification());
        log.after(&mut c, |c| c.close(Ending::Broken, 99));
        assert_eq!(log.orphaned, vec![(2, Ending::Broken), (1, Ending::Broken)]);
        assert_eq!(c.phase(), Phase::Down { retry_at: 99 });
        assert!(c.pending().is_empty());
    }

    #[test]
    fn eof_mid_request_is_broken_and_eof_when_idle_is_quiet() {
        let mut c = echo();
        up(&mut c);
        let mut log = Log::default();
        assert_eq!(log.after(&mut c, |c| c.eof(5)), Ending::Quiet);
        c.submit(1, 1, 64);
        let wire = c.pending().to_vec();
        log.after(&mut c, |c| c.wrote(wire.len(), 10));
        assert_eq!(log.after(&mut c, |c| c.eof(20)), Ending::Broken);
    }

    #[test]
    fn the_oldest_request_expires_by_its_intended_time() {
        let mut c = echo();
        up(&mut c);
        let mut log = Log::default();
        c.submit(1, 1, 64);
        let n = c.pending().len();
        log.after(&mut c, |c| c.wrote(n, 500));
        assert_eq!(c.expired(1), None, "timed from the intended time");
        assert_eq!(c.expired(2).map(|f| f.intended), Some(1));
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn an_http_close_announcement_asks_to_close_quietly() {
        let request: std::sync::Arc<[u8]> = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice().into();
        let mut c = StreamConn::new(StreamSession::Http(HttpClient::new(request, false)), 0, 2);
        up(&mut c);
        let mut log = Log::default();
        c.submit(7, 7, 0);
        let n = c.pending().len();
        log.after(&mut c, |c| c.wrote(n, 10));
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        assert_eq!(
            log.after(&mut c, |c| c.received(reply, Arrival::read_at(20))),
            Ok(Received::Closing)
        );
        assert_eq!(log.answered, vec![(7, Some(200), 20)]);
    }

    #[test]
    fn a_response_with_no_request_outstanding_is_an_error() {
        let request: std::sync::Arc<[u8]> = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice().into();
        let mut c = StreamConn::new(StreamSession::Http(HttpClient::new(request, false)), 0, 2);
        up(&mut c);
        let mut log = Log::default();
        c.submit(7, 7, 0);
        let n = c.pending().len();
        log.after(&mut c, |c| c.wrote(n, 10));
        let one = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let two = [one.as_slice(), one.as_slice()].concat();
        let got = log.after(&mut c, |c| c.received(&two, Arrival::read_at(20)));
        assert_eq!(got, Err(StreamError::SurplusResponse));
        assert_eq!(
            log.answered,
            vec![(7, Some(200), 20)],
            "the first is an answer"
        );
    }

    #[test]
    fn a_stamp_from_before_the_send_is_not_the_arrival() {
        let mut c = StreamConn::new(StreamSession::Echo(EchoStream::new()), 0, 1);
        let mut log = Log::default();
        c.submit(1_000, 1_000, 16);
        let wire = c.pending().to_vec();
        log.after(&mut c, |c| c.wrote(wire.len(), 2_000));
        let stepped = Arrival {
            stamp: 1_500,
            read: 2_400,
        };
        log.after(&mut c, |c| c.received(&wire, stepped)).unwrap();
        assert_eq!(
            log.answered,
            vec![(1_000, None, 2_400)],
            "timed at the read, not at the send or the stamp"
        );
    }

    fn one_shot_echo() -> StreamConn {
        StreamConn::new(StreamSession::Echo(EchoStream::new()), 0, 1).per_request()
    }

    #[test]
    fn per_request_queues_while_down_and_asks_to_close_once_answered() {
        let mut c = one_shot_echo();
        let mut log = Log::default();
        assert!(c.is_idle());
        c.submit(1_000, 1_000, 64);
        assert!(!c.is_idle(), "a request is waiting for its connection");
        assert_eq!(
            c.pending().len(),
            64,
            "bytes wait until the connect completes"
        );
        c.connecting(1_100);
        assert_eq!(c.established(1_400), Some(300));
        let wire = c.pending().to_vec();
        log.after(&mut c, |c| c.wrote(wire.len(), 1_500));
        assert_eq!(log.sent, vec![(1_000, 1_500)]);
        assert_eq!(
            log.after(&mut c, |c| c.received(&wire[..10], Arrival::read_at(1_600))),
            Ok(Received::Open)
        );
        assert!(
            log.answered.is_empty(),
            "answered only once the whole echo is verified"
        );
        assert_eq!(
            log.after(&mut c, |c| c.received(&wire[10..], Arrival::read_at(1_700))),
            Ok(Received::Closing)
        );
        assert_eq!(log.answered, vec![(1_000, None, 1_700)]);
        log.after(&mut c, |c| c.close(Ending::Quiet, 1_700));
        assert!(log.orphaned.is_empty());
        assert!(
            c.is_idle(),
            "ready for the next request on a fresh connection"
        );
    }

    #[test]
    fn per_request_a_wrong_echo_is_not_a_close_but_an_error() {
        let mut c = one_shot_echo();
        let mut log = Log::default();
        c.submit(1, 1, 64);
        up(&mut c);
        let mut wire = c.pending().to_vec();
        log.after(&mut c, |c| c.wrote(wire.len(), 10));
        wire[63] ^= 1;
        assert!(log
            .after(&mut c, |c| c.received(&wire, Arrival::read_at(20)))
            .unwrap_err()
            .is_verification());
        assert!(log.answered.is_empty());
    }

    #[test]
    fn per_request_eof_before_the_answer_is_broken_and_a_failed_connect_is_unconnected() {
        let mut c = one_shot_echo();
        let mut log = Log::default();
        c.submit(1, 1, 64);
        up(&mut c);
        let n = c.pending().len();
        log.after(&mut c, |c| c.wrote(n, 10));
        assert_eq!(log.after(&mut c, |c| c.eof(20)), Ending::Broken);
        log.after(&mut c, |c| c.close(Ending::Broken, 20));
        c.submit(2, 2, 64);
        c.connecting(30);
        log.after(&mut c, |c| c.close(Ending::Unconnected, 40));
        assert_eq!(
            log.orphaned,
            vec![(1, Ending::Broken), (2, Ending::Unconnected)]
        );
        assert!(c.is_idle());
    }

    #[test]
    fn per_request_http_answer_without_length_completes_at_the_server_close() {
        let request: std::sync::Arc<[u8]> =
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .as_slice()
                .into();
        let session = StreamSession::Http(HttpClient::new(request, false));
        let mut c = StreamConn::new(session, 0, 1).per_request();
        let mut log = Log::default();
        c.submit(5, 5, 0);
        up(&mut c);
        let n = c.pending().len();
        log.after(&mut c, |c| c.wrote(n, 10));
        let reply = b"HTTP/1.0 200 OK\r\nContent-type: text/html\r\n\r\nHello, client!";
        assert_eq!(
            log.after(&mut c, |c| c.received(reply, Arrival::read_at(20))),
            Ok(Received::Open)
        );
        assert_eq!(log.after(&mut c, |c| c.eof(30)), Ending::Quiet);
        assert_eq!(log.answered, vec![(5, Some(200), 30)]);
    }
}
