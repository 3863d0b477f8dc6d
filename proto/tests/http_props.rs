//! Property tests for the HTTP session: arbitrary bytes and mutated request streams, fed in
//! arbitrary splits under arbitrary output budgets, never panic, never buffer without bound, and
//! always end in responses and/or a close; valid streams give the same output however they are
//! split or paused.

use proptest::prelude::*;
use reactor_proto::http::{
    DateCache, HttpEnv, HttpLimits, HttpSession, NoStats, Step, UNLIMITED_BUDGET,
};

/// Small limits so that random inputs reach them often.
fn small_limits() -> HttpLimits {
    HttpLimits {
        max_request_line: 96,
        max_header_bytes: 256,
        max_headers: 8,
        max_body_bytes: 64,
        ..HttpLimits::default()
    }
}

struct Outcome {
    out: Vec<u8>,
    closed: bool,
}

/// Feed `input` cut at `cuts` with `budget`, flushing (clearing into the transcript) and resuming
/// after every pause, checking the buffering bound after every call; then half-close.
fn drive(input: &[u8], cuts: &[usize], budget: usize, limits: &HttpLimits) -> Outcome {
    // A fixed date: two drives compared byte for byte must not straddle a second boundary.
    let date = DateCache::new(std::time::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777));
    let env = HttpEnv {
        date: &date,
        stats: &NoStats,
        limits,
        budget: &UNLIMITED_BUDGET,
        now: 0,
    };
    let mut session = HttpSession::new();
    let mut transcript = Vec::new();
    let mut out = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    bounds.push(0);
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut closed = false;
    for window in bounds.windows(2) {
        let chunk = &input[window[0]..window[1]];
        let mut step = session.on_input(chunk, &mut out, &env, budget);
        check_bound(&session, limits, chunk.len());
        check_output_bound(&out, budget, limits);
        while step == Step::Paused {
            transcript.append(&mut out);
            step = session.resume(&mut out, &env, budget);
            check_bound(&session, limits, chunk.len());
            check_output_bound(&out, budget, limits);
        }
        if step == Step::CloseAfterFlush {
            closed = true;
            assert!(!session.has_buffered_input());
            break;
        }
    }
    if !closed && !session.on_peer_closed() {
        loop {
            transcript.append(&mut out);
            match session.resume(&mut out, &env, budget) {
                Step::Paused => continue,
                Step::CloseAfterFlush => break,
                Step::Continue => panic!("resume after a half-close must end in a close"),
            }
        }
    }
    assert!(session.is_closed() && !session.has_buffered_input());
    assert_eq!(session.heap_bytes(), 0);
    transcript.append(&mut out);
    Outcome {
        out: transcript,
        closed,
    }
}

/// An unfinished request never holds more than the limits allow; a paused session holds at most
/// what it was last given plus one unfinished request.
fn check_bound(session: &HttpSession, limits: &HttpLimits, chunk: usize) {
    let bound = if session.is_paused() {
        chunk + limits.max_request_bytes()
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
}

/// One call's output overshoots the budget by at most one response (plus a `100 Continue`).
fn check_output_bound(out: &[u8], budget: usize, limits: &HttpLimits) {
    let largest_response = limits.max_body_bytes + 512;
    assert!(
        out.len() <= budget.saturating_add(largest_response),
        "{} bytes of output for a budget of {budget}",
        out.len()
    );
}

/// Split the output into responses using each head's `Content-Length`, knowing which requests
/// were `HEAD`. Returns the status codes.
fn statuses(mut out: &[u8], head_requests: &[bool]) -> Vec<u16> {
    let mut codes = Vec::new();
    while !out.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(len)) = response.parse(out) else {
            panic!("not a response: {:?}", String::from_utf8_lossy(out));
        };
        let code = response.code.unwrap_or_default();
        let content_length = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        let is_head = code != 100 && head_requests.get(codes.len()).copied().unwrap_or(false);
        let body = if code == 100 || is_head {
            0
        } else {
            content_length
        };
        out = &out[len + body..];
        if code != 100 {
            codes.push(code);
        }
    }
    codes
}

/// One valid request, with whether it is a `HEAD`, and its expected status.
fn valid_request() -> impl Strategy<Value = (Vec<u8>, bool, u16)> {
    let body = proptest::collection::vec(any::<u8>(), 0..64);
    let extra = proptest::option::of("[A-Za-z-]{1,12}: [ -~]{0,20}");
    (0..9usize, body, extra).prop_map(|(kind, body, extra)| {
        let extra = extra
            .map(|h| format!("{}\r\n", h.trim_end()))
            .unwrap_or_default();
        let bare = |line: &str| format!("{line} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").into_bytes();
        // An extra header may itself be a Content-Length, Connection, ...: keep those out.
        let lowered = extra.to_ascii_lowercase();
        let framing = [
            "content-length",
            "connection",
            "transfer-encoding",
            "expect",
            "host",
        ];
        let extra_ok = !framing.iter().any(|h| lowered.starts_with(h));
        let (bytes, is_head, status) = match kind {
            0 => (bare("GET /"), false, 200),
            1 => (bare("HEAD /"), true, 200),
            2 => (bare("GET /healthz"), false, 200),
            3 => (bare("GET /stats?x=1"), false, 200),
            4 => (bare("GET /missing"), false, 404),
            5 => (bare("DELETE /"), false, 501),
            6 => (bare("POST /"), false, 405),
            7 => {
                // The same body, chunked in pieces of up to 7 bytes, with an extension.
                let mut bytes = format!(
                    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{extra}\r\n"
                )
                .into_bytes();
                for piece in body.chunks(7) {
                    bytes.extend_from_slice(format!("{:x};p=1\r\n", piece.len()).as_bytes());
                    bytes.extend_from_slice(piece);
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
                (bytes, false, 200)
            }
            _ => {
                let mut bytes = format!(
                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{extra}\r\n",
                    body.len()
                )
                .into_bytes();
                bytes.extend_from_slice(&body);
                (bytes, false, 200)
            }
        };
        if extra_ok {
            (bytes, is_head, status)
        } else {
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), false, 200)
        }
    })
}

fn valid_stream() -> impl Strategy<Value = (Vec<u8>, Vec<bool>, Vec<u16>)> {
    proptest::collection::vec(valid_request(), 1..24).prop_map(|requests| {
        let mut bytes = Vec::new();
        let mut heads = Vec::new();
        let mut codes = Vec::new();
        for (request, is_head, code) in requests {
            bytes.extend_from_slice(&request);
            heads.push(is_head);
            codes.push(code);
        }
        (bytes, heads, codes)
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 1..400usize).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *mutation {
        Mutation::Flip(i, b) if !bytes.is_empty() => {
            let i = at(i, bytes.len());
            bytes[i] ^= b | 1;
        }
        Mutation::Insert(i, b) => bytes.insert(at(i, bytes.len() + 1), b),
        Mutation::Delete(i) if !bytes.is_empty() => {
            bytes.remove(at(i, bytes.len()));
        }
        Mutation::Duplicate(i, n) if !bytes.is_empty() => {
            let start = at(i, bytes.len());
            let end = (start + n).min(bytes.len());
            let copy = bytes[start..end].to_vec();
            bytes.splice(start..start, copy);
        }
        _ => {}
    }
}

fn budget() -> impl Strategy<Value = usize> {
    prop_oneof![Just(usize::MAX), 1..2048usize]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_end_closed(
        input in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..32),
        budget in budget(),
    ) {
        let outcome = drive(&input, &cuts, budget, &small_limits());
        if !outcome.out.is_empty() {
            prop_assert!(outcome.out.starts_with(b"HTTP/1.1 "));
        }
    }

    #[test]
    fn http_looking_noise_never_panics(
        lines in proptest::collection::vec(
            "(GET|POST|HEAD|PUT) /[a-z?=]{0,12} HTTP/1\\.[01]|[A-Za-z-]{1,10}: ?[ -~]{0,12}|Content-Length: [0-9]{1,3}|Connection: (close|keep-alive)|Transfer-Encoding: chunked|Expect: 100-continue|",
            0..40,
        ),
        line_end in prop_oneof![Just("\r\n"), Just("\n")],
        cuts in proptest::collection::vec(any::<usize>(), 0..32),
        budget in budget(),
    ) {
        let input = lines.join(line_end).into_bytes();
        let outcome = drive(&input, &cuts, budget, &small_limits());
        if !outcome.out.is_empty() {
            prop_assert!(outcome.out.starts_with(b"HTTP/1.1 "));
        }
    }

    #[test]
    fn mutated_streams_never_panic_and_end_closed(
        (stream, _, _) in valid_stream(),
        mutations in proptest::collection::vec(mutation(), 1..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..32),
        budget in budget(),
    ) {
        let mut input = stream;
        for m in &mutations {
            apply(&mut input, m);
        }
        let outcome = drive(&input, &cuts, budget, &small_limits());
        if !outcome.out.is_empty() {
            prop_assert!(outcome.out.starts_with(b"HTTP/1.1 "));
        }
    }

    #[test]
    fn valid_streams_are_answered_the_same_however_split(
        (input, heads, codes) in valid_stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..32),
        budget in budget(),
    ) {
        let limits = HttpLimits::default();
        let whole = drive(&input, &[], usize::MAX, &limits);
        prop_assert!(!whole.closed);
        prop_assert_eq!(statuses(&whole.out, &heads), codes);
        let split = drive(&input, &cuts, budget, &limits);
        prop_assert!(!split.closed);
        prop_assert_eq!(split.out, whole.out);
    }
}
