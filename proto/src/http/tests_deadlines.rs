//! The session's own header and body deadlines, driven by the time given with each call.

use super::*;
use crate::http::deadline::NO_DEADLINE;
use std::time::{Duration, UNIX_EPOCH};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const POST_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n";
const BIG: usize = usize::MAX;
/// Header timeout of the fixture, in ms.
const HEADERS_MS: Millis = 100;
/// Body timeout of the fixture, in ms.
const BODY_MS: Millis = 300;

struct Clocked {
    date: DateCache,
    limits: HttpLimits,
}

impl Clocked {
    fn new() -> Self {
        Self::with_timeouts(HEADERS_MS, BODY_MS)
    }

    fn with_timeouts(headers_ms: Millis, body_ms: Millis) -> Self {
        Self {
            date: DateCache::new(UNIX_EPOCH),
            limits: HttpLimits {
                header_timeout: Duration::from_millis(headers_ms),
                body_timeout: Duration::from_millis(body_ms),
                ..HttpLimits::default()
            },
        }
    }

    fn at(&self, now: Millis) -> HttpEnv<'_> {
        HttpEnv {
            date: &self.date,
            stats: &NoStats,
            limits: &self.limits,
            budget: &UNLIMITED_BUDGET,
            now,
        }
    }

    /// Bytes in at `now`; returns the output.
    fn input(&self, session: &mut HttpSession, now: Millis, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = session.on_input(input, &mut out, &self.at(now), BIG);
        out
    }

    /// The clock reached `now`: returns what expired and the output.
    fn tick(&self, session: &mut HttpSession, now: Millis) -> (Option<Deadline>, Vec<u8>) {
        let mut out = Vec::new();
        let expired = session.handle_timeout(&mut out, &self.at(now));
        (expired, out)
    }
}

fn is_408_close(out: &[u8]) -> bool {
    let text = String::from_utf8_lossy(out);
    text.starts_with("HTTP/1.1 408 Request Timeout\r\n") && text.contains("Connection: close\r\n")
}

#[test]
fn an_idle_connection_runs_no_deadline() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    assert_eq!(session.poll_timeout(), None);
    let out = c.input(&mut session, 5, GET);
    assert!(out.starts_with(b"HTTP/1.1 200"));
    // Keep-alive between requests is the idle timeout's business, not a header deadline.
    assert_eq!(session.poll_timeout(), None);
    assert_eq!(c.tick(&mut session, Millis::MAX), (None, Vec::new()));
    assert!(!session.is_closed());
}

#[test]
fn a_head_that_never_completes_gets_408_at_its_deadline_however_it_trickles() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 10, b"GET / HT");
    assert_eq!(session.poll_timeout(), Some(10 + HEADERS_MS));
    // More head bytes do not move the deadline: it covers the whole head.
    let _ = c.input(&mut session, 50, b"TP/1.1\r\n");
    let _ = c.input(&mut session, 90, b"Host: x\r\n");
    assert_eq!(session.poll_timeout(), Some(10 + HEADERS_MS));
    // A timer that fires early changes nothing.
    assert_eq!(
        c.tick(&mut session, 10 + HEADERS_MS - 1),
        (None, Vec::new())
    );
    let (expired, out) = c.tick(&mut session, 10 + HEADERS_MS);
    assert_eq!(expired, Some(Deadline::Headers));
    assert!(is_408_close(&out), "{}", String::from_utf8_lossy(&out));
    assert!(session.is_closed() && session.poll_timeout().is_none());
    // Once closed, nothing more expires.
    assert_eq!(c.tick(&mut session, Millis::MAX), (None, Vec::new()));
}

#[test]
fn a_complete_head_starts_the_body_deadline_which_a_trickle_does_not_extend() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, b"POST /echo HTTP/1.1\r\n");
    assert_eq!(session.poll_timeout(), Some(HEADERS_MS));
    let _ = c.input(&mut session, 60, b"Host: x\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(session.waiting_for(), Some(Deadline::Body));
    assert_eq!(session.poll_timeout(), Some(60 + BODY_MS));
    // The header deadline no longer applies.
    assert_eq!(c.tick(&mut session, HEADERS_MS), (None, Vec::new()));
    for (now, byte) in [(100, b"a"), (200, b"b"), (300, b"c")] {
        let out = c.input(&mut session, now, byte);
        assert!(out.is_empty());
    }
    assert_eq!(session.poll_timeout(), Some(60 + BODY_MS));
    let (expired, out) = c.tick(&mut session, 60 + BODY_MS);
    assert_eq!(expired, Some(Deadline::Body));
    assert!(is_408_close(&out));
}

#[test]
fn a_body_that_arrives_in_time_is_answered_and_stops_the_deadline() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, POST_HEAD);
    let _ = c.input(&mut session, 10, b"ab");
    let out = c.input(&mut session, BODY_MS - 1, b"cd");
    assert!(out.starts_with(b"HTTP/1.1 200") && out.ends_with(b"abcd"));
    assert_eq!(session.poll_timeout(), None);
    assert_eq!(c.tick(&mut session, BODY_MS), (None, Vec::new()));
}

#[test]
fn a_chunked_body_runs_the_body_deadline() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab";
    let _ = c.input(&mut session, 7, head);
    assert_eq!(session.waiting_for(), Some(Deadline::Body));
    assert_eq!(session.poll_timeout(), Some(7 + BODY_MS));
    let (expired, out) = c.tick(&mut session, 7 + BODY_MS);
    assert_eq!(expired, Some(Deadline::Body));
    assert!(is_408_close(&out));
}

#[test]
fn each_pipelined_request_gets_its_own_deadline() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, b"GET / HTTP/1.1\r\nHo");
    assert_eq!(session.poll_timeout(), Some(HEADERS_MS));
    // The head completes, is answered, and the next request starts in the same read.
    let out = c.input(&mut session, 90, b"st: x\r\n\r\nGET / HT");
    assert!(out.starts_with(b"HTTP/1.1 200"));
    assert_eq!(session.poll_timeout(), Some(90 + HEADERS_MS));
    // A body's deadline likewise belongs to its own request.
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, POST_HEAD);
    let out = c.input(&mut session, 200, &[&b"abcd"[..], POST_HEAD].concat());
    assert!(out.starts_with(b"HTTP/1.1 200"));
    assert_eq!(session.poll_timeout(), Some(200 + BODY_MS));
}

#[test]
fn a_head_request_that_times_out_gets_no_body() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, b"HEAD / HTTP/1.1\r\n");
    let (expired, out) = c.tick(&mut session, HEADERS_MS);
    assert_eq!(expired, Some(Deadline::Headers));
    assert!(out.starts_with(b"HTTP/1.1 408") && out.ends_with(b"\r\n\r\n"));
}

#[test]
fn a_zero_timeout_runs_no_deadline() {
    let c = Clocked::with_timeouts(0, 0);
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, b"GET / HT");
    assert_eq!(session.poll_timeout(), None);
    let _ = c.input(
        &mut session,
        1,
        b"TP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n",
    );
    assert_eq!(session.waiting_for(), Some(Deadline::Body));
    assert_eq!(session.poll_timeout(), None);
    assert_eq!(c.tick(&mut session, Millis::MAX), (None, Vec::new()));
}

#[test]
fn a_paused_session_waits_for_its_caller_not_the_clock() {
    let c = Clocked::new();
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    let input = [GET.repeat(3), b"GET / HT".to_vec()].concat();
    assert_eq!(
        session.on_input(&input, &mut out, &c.at(0), 1),
        Step::Paused
    );
    assert_eq!(session.poll_timeout(), None);
    // Output backpressure lasts as long as the peer does not read: no 408 for it.
    assert_eq!(c.tick(&mut session, Millis::MAX), (None, Vec::new()));
    let step = session.resume(&mut out, &c.at(500), BIG);
    assert_eq!(step, Step::Continue);
    assert_eq!(session.poll_timeout(), Some(500 + HEADERS_MS));
}

#[test]
fn peer_close_and_drain_stop_the_deadline() {
    let c = Clocked::new();
    for end in [HttpSession::on_peer_closed, HttpSession::begin_drain] {
        let mut session = HttpSession::new();
        let _ = c.input(&mut session, 0, b"GET / HT");
        assert!(session.poll_timeout().is_some());
        assert!(end(&mut session));
        assert_eq!(session.poll_timeout(), None);
        assert_eq!(c.tick(&mut session, Millis::MAX), (None, Vec::new()));
    }
}

#[test]
fn timeouts_round_up_to_whole_milliseconds() {
    assert_eq!(duration_to_millis(Duration::from_micros(1)), 1);
    assert_eq!(duration_to_millis(Duration::from_millis(7)), 7);
    assert_eq!(duration_to_millis(Duration::ZERO), 0);
    let c = Clocked {
        limits: HttpLimits {
            header_timeout: Duration::from_micros(10),
            ..HttpLimits::default()
        },
        ..Clocked::new()
    };
    let mut session = HttpSession::new();
    let _ = c.input(&mut session, 0, b"GET / HT");
    assert_eq!(session.poll_timeout(), Some(1));
}

/// The deadline rule stated plainly, as a reference for the session's cheaper bookkeeping: after
/// a call, a deadline starts when the wait changed, a response was written, or none ran; it
/// stops when nothing is awaited; otherwise it keeps running.
struct ReferenceDeadline {
    deadline: Option<Millis>,
}

impl ReferenceDeadline {
    fn after_call(
        &mut self,
        before: (Option<Deadline>, u16),
        session: &HttpSession,
        now: Millis,
        limits: &HttpLimits,
    ) {
        let after = (session.waiting_for(), session.responses());
        self.deadline = match after.0 {
            None => None,
            Some(wait) if after != before || self.deadline.is_none() => {
                Some(wait.due(now, limits)).filter(|&due| due != NO_DEADLINE)
            }
            Some(_) => self.deadline,
        };
    }
}

const CHUNKED_POST: &[u8] =
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";

/// A stream of pipelined requests of every kind a deadline cares about: bodiless, with a body,
/// chunked, and one that is never finished.
fn deadline_stream(kinds: &[u8]) -> Vec<u8> {
    let mut stream = Vec::new();
    for kind in kinds {
        stream.extend_from_slice(match kind % 4 {
            0 => GET,
            1 => b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabcdef",
            2 => CHUNKED_POST,
            _ => b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        });
    }
    stream
}

proptest::proptest! {
    /// Over any split of any such stream, at any pace, under any output budget (pauses
    /// included), and through expiries, the session's deadline is the reference rule's.
    #[test]
    fn the_deadline_follows_the_reference_rule(
        kinds in proptest::collection::vec(0u8..4, 1..8),
        cuts in proptest::collection::vec((1usize..40, 0u64..150), 1..40),
        budget in 1usize..400,
    ) {
        let c = Clocked::new();
        let stream = deadline_stream(&kinds);
        let mut session = HttpSession::new();
        let mut reference = ReferenceDeadline { deadline: None };
        let (mut at, mut now, mut out) = (0, 0, Vec::new());
        for (len, pause) in cuts.iter().copied().chain(std::iter::repeat((64, 10))) {
            if at >= stream.len() || session.is_closed() {
                break;
            }
            now += pause;
            let before = (session.waiting_for(), session.responses());
            match session.handle_timeout(&mut out, &c.at(now)) {
                Some(_) => {
                    reference.deadline = None;
                    proptest::prop_assert!(session.is_closed());
                }
                None => proptest::prop_assert_eq!(
                    (session.waiting_for(), session.responses()), before
                ),
            }
            let chunk = &stream[at..stream.len().min(at + len)];
            at += chunk.len();
            let before = (session.waiting_for(), session.responses());
            let mut step = session.on_input(chunk, &mut out, &c.at(now), budget);
            reference.after_call(before, &session, now, &c.limits);
            proptest::prop_assert_eq!(session.poll_timeout(), reference.deadline);
            while step == Step::Paused {
                out.clear();
                let before = (session.waiting_for(), session.responses());
                step = session.resume(&mut out, &c.at(now), budget);
                reference.after_call(before, &session, now, &c.limits);
                proptest::prop_assert_eq!(session.poll_timeout(), reference.deadline);
            }
            out.clear();
        }
    }
}
