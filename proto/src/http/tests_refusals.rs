//! Session tests for refusals that must close whichever read finds them, the head bytes the
//! buffer budget refuses, and the routes a monitoring listener serves.

use super::*;

const BIG: usize = usize::MAX;
const CHUNKED_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

struct Env {
    date: DateCache,
    limits: HttpLimits,
    budget: BufferBudget,
}

impl Env {
    fn new(limits: HttpLimits, budget: usize) -> Self {
        Self {
            date: DateCache::default(),
            limits,
            budget: BufferBudget::new(budget),
        }
    }

    fn env(&self) -> HttpEnv<'_> {
        HttpEnv {
            date: &self.date,
            stats: &NoStats,
            limits: &self.limits,
            budget: &self.budget,
            now: 0,
        }
    }
}

fn status(out: &[u8]) -> &str {
    std::str::from_utf8(out.get(9..12).unwrap_or_default()).unwrap_or_default()
}

/// Every refusal of a chunked body (malformed size line, body over the limit, body over the
/// buffer budget, bad trailer) says `Connection: close`, and the step says close too, also
/// when the head came in an earlier read.
#[test]
fn a_chunked_refusal_in_a_later_read_closes() {
    let limits = HttpLimits {
        max_body_bytes: 64,
        ..HttpLimits::default()
    };
    let big_chunk = format!("41\r\n{}\r\n", "x".repeat(65));
    for (later, budget, code) in [
        (&b"5 hello\r\nhello\r\n"[..], usize::MAX, "400"),
        (big_chunk.as_bytes(), usize::MAX, "413"),
        (b"10\r\n0123456789abcdef\r\n", 1024, "503"),
        (b"0\r\nno colon here\r\n\r\n", usize::MAX, "400"),
    ] {
        let fixture = Env::new(limits.clone(), budget);
        let env = fixture.env();
        let mut session = HttpSession::new();
        let mut out = Vec::new();
        assert_eq!(
            session.on_input(CHUNKED_HEAD, &mut out, &env, BIG),
            Step::Continue
        );
        assert!(out.is_empty());
        let step = session.on_input(later, &mut out, &env, BIG);
        let text = String::from_utf8_lossy(&out);
        assert_eq!(
            (status(&out), step),
            (code, Step::CloseAfterFlush),
            "{text}"
        );
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(session.is_closed());
    }
}

/// Bytes of an unfinished head are booked in the buffer budget, so they are refused by it:
/// `503` and close, in the read that carried the head's start or in a later one.
#[test]
fn head_bytes_beyond_the_buffer_budget_get_503() {
    let fixture = Env::new(HttpLimits::default(), 64);
    let env = fixture.env();
    let partial = b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ";
    let filler = [b'a'; 40];
    // In one read.
    let mut out = Vec::new();
    let first = [&partial[..], &filler].concat();
    let step = HttpSession::new().on_input(&first, &mut out, &env, BIG);
    assert_eq!((status(&out), step), ("503", Step::CloseAfterFlush));
    // Growing across reads: the start fits, the rest does not.
    let mut session = HttpSession::new();
    out.clear();
    assert_eq!(
        session.on_input(partial, &mut out, &env, BIG),
        Step::Continue
    );
    fixture.budget.settle(0, session.buffered_commitment());
    let step = session.on_input(&filler, &mut out, &env, BIG);
    assert_eq!((status(&out), step), ("503", Step::CloseAfterFlush));
    // A head that fits is served as before.
    let roomy = Env::new(HttpLimits::default(), 1 << 20);
    out.clear();
    let mut session = HttpSession::new();
    let _ = session.on_input(partial, &mut out, &roomy.env(), BIG);
    let step = session.on_input(b"a\r\n\r\n", &mut out, &roomy.env(), BIG);
    assert_eq!((status(&out), step), ("200", Step::Continue));
}

/// A monitoring session serves `/metrics` and `/healthz`, and nothing else.
#[test]
fn a_monitoring_session_serves_metrics_and_healthz_only() {
    let fixture = Env::new(HttpLimits::default(), usize::MAX);
    let env = fixture.env();
    let answer = |request: &[u8]| {
        let mut out = Vec::new();
        let _ = HttpSession::monitoring_only().on_input(request, &mut out, &env, BIG);
        status(&out).to_owned()
    };
    assert_eq!(answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "200");
    assert_eq!(answer(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), "200");
    assert_eq!(answer(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), "200");
    for other in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    ] {
        assert_eq!(answer(other), "404", "{}", String::from_utf8_lossy(other));
    }
    let mut out = Vec::new();
    let echo = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
    let _ = HttpSession::new().on_input(echo, &mut out, &env, BIG);
    assert_eq!(status(&out), "200");
}
