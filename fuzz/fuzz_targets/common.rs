#![allow(dead_code)]
//! Shared by the targets: a fixed environment and a driver that feeds a session in splits.

use std::time::{Duration, UNIX_EPOCH};

use reactor_proto::http::{
    DateCache, HttpEnv, HttpLimits, HttpSession, NoStats, Step, UNLIMITED_BUDGET,
};

/// Small limits, so the fuzzer reaches every limit with short inputs.
pub fn small_limits() -> HttpLimits {
    HttpLimits {
        max_request_line: 96,
        max_header_bytes: 256,
        max_headers: 8,
        max_body_bytes: 128,
        ..HttpLimits::default()
    }
}

/// A fixed date: outputs are compared byte for byte.
pub fn date() -> DateCache {
    DateCache::new(UNIX_EPOCH + Duration::from_secs(784_111_777))
}

/// What one drive produced.
pub struct Drive {
    pub out: Vec<u8>,
    pub responses: usize,
    pub closed: bool,
}

/// Feed `input` cut at `cuts` (positions, any order) with output budget `budget`, checking the
/// session's bounds after every call, then half-close and finish.
pub fn drive(input: &[u8], cuts: &[usize], budget: usize, limits: &HttpLimits) -> Drive {
    let date = date();
    let env = HttpEnv {
        date: &date,
        stats: &NoStats,
        limits,
        budget: &UNLIMITED_BUDGET,
        now: 0,
    };
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(0);
    points.push(input.len());
    points.sort_unstable();
    points.dedup();
    let mut session = HttpSession::new();
    let mut transcript = Vec::new();
    let mut out = Vec::new();
    let mut closed = false;
    let mut responses = 0usize;
    let mut count = |session: &HttpSession, before: u16| {
        responses += usize::from(session.responses().wrapping_sub(before));
    };
    for pair in points.windows(2) {
        let piece = &input[pair[0]..pair[1]];
        let before = session.responses();
        let mut step = session.on_input(piece, &mut out, &env, budget);
        count(&session, before);
        loop {
            check_bounds(&session, limits, piece.len(), &out, budget);
            transcript.append(&mut out);
            match step {
                Step::Paused => {
                    let before = session.responses();
                    step = session.resume(&mut out, &env, budget);
                    count(&session, before);
                }
                Step::Continue => break,
                Step::CloseAfterFlush => {
                    closed = true;
                    break;
                }
            }
        }
        if closed {
            // Nothing more may come out of a closed session.
            let mut late = Vec::new();
            assert_eq!(
                session.on_input(
                    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                    &mut late,
                    &env,
                    budget
                ),
                Step::CloseAfterFlush
            );
            assert!(late.is_empty(), "output after close");
            break;
        }
    }
    if !closed && !session.on_peer_closed() {
        loop {
            transcript.append(&mut out);
            let before = session.responses();
            let step = session.resume(&mut out, &env, budget);
            count(&session, before);
            match step {
                Step::Paused => continue,
                Step::CloseAfterFlush => break,
                Step::Continue => panic!("resume after a half-close must end in a close"),
            }
        }
    }
    transcript.append(&mut out);
    assert!(session.is_closed() && !session.has_buffered_input());
    assert_eq!(session.heap_bytes(), 0, "a closed session holds no heap");
    assert_eq!(session.buffered_commitment(), 0);
    Drive {
        out: transcript,
        responses,
        closed,
    }
}

fn check_bounds(
    session: &HttpSession,
    limits: &HttpLimits,
    piece: usize,
    out: &[u8],
    budget: usize,
) {
    let bound = if session.is_paused() {
        piece + limits.max_request_bytes()
    } else {
        limits.max_request_bytes()
    };
    assert!(
        session.buffered_len() <= bound,
        "buffered {} > {bound}",
        session.buffered_len()
    );
    if !session.has_buffered_input() {
        assert_eq!(session.heap_bytes(), 0, "idle sessions hold no heap");
    }
    // One call overshoots the budget by at most one response and a `100 Continue`.
    let largest = limits.max_body_bytes + 512;
    assert!(
        out.len() <= budget.saturating_add(largest),
        "{} bytes for budget {budget}",
        out.len()
    );
}

/// Upper bound on the requests in `input` that could be complete: every complete head ends in an
/// empty line, so each needs a `\n\n` or `\n\r\n`. Each answer but a final error needs one.
pub fn complete_heads_at_most(input: &[u8]) -> usize {
    (0..input.len())
        .filter(|&i| {
            input[i] == b'\n'
                && (input[i + 1..].starts_with(b"\n") || input[i + 1..].starts_with(b"\r\n"))
        })
        .count()
}

/// Split the first `u64` of the input into parameters: cut points and an output budget.
pub fn params(data: &[u8]) -> (Vec<usize>, usize, &[u8]) {
    if data.len() < 9 {
        return (Vec::new(), usize::MAX, data);
    }
    let cuts: Vec<usize> = data[..8].iter().map(|&b| usize::from(b) * 7).collect();
    let budget = match data[8] % 4 {
        0 => usize::MAX,
        n => usize::from(n) * 100,
    };
    (cuts, budget, &data[9..])
}
